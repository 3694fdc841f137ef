"""Tests that the map example in the README is a valid map."""

import re
from pathlib import Path

from twin_gym.maps import load_map

ROOT = Path(__file__).resolve().parents[2]


def test_readme_map_example_loads(tmp_path):
    readme = (ROOT / "README.md").read_text()
    example = re.search(r"```toml\n(.*?)```", readme, flags=re.DOTALL).group(1)
    map_file = tmp_path / "my_town.toml"
    map_file.write_text(example)

    definition = load_map(map_file)

    assert definition.name == "my_town"
    assert definition.source == str(tmp_path / "data/dtm.tif")
    kinds = [layer.kind for layer in definition.options["layers"]]
    assert kinds == ["buildings", "roads"]
    assert definition.options["layers"][0].height_field == "HEIGHT"
    assert definition.options["layers"][1].source == str(
        tmp_path / "data/roads.osm.pbf"
    )
