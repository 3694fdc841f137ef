"""Tests of twin-gym build with vector layers: the report and its errors."""

import json

import numpy as np
import rasterio
from rasterio.transform import from_origin

from twin_gym.cli import main

ALEXANDRIA_DTM = "alexandria-lidar/dtm.tif"
ALEXANDRIA_BUILDINGS = "alexandria-lidar/buildings.geojson"
BANGKOK_DEM = "bangkok-overture/dem.tif"
BANGKOK_WATER = "bangkok-overture/water.geojson"
ERROR_PREFIX = "twin-gym build: error: "


def write_map(path, dem, layers, cell_size=2.0):
    lines = [f'name = "{path.stem}"', "[dem]", f'source = "{dem}"', "[build]"]
    lines.append(f"cell_size = {cell_size}")
    for table in layers:
        lines.append("[[layers]]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in table.items())
    path.write_text("\n".join(lines) + "\n")
    return path


def test_build_reports_buildings(shared_data, tmp_path, cache_folder, capsys):
    map_file = write_map(
        tmp_path / "alexandria.toml",
        shared_data / ALEXANDRIA_DTM,
        [
            {
                "kind": "buildings",
                "source": str(shared_data / ALEXANDRIA_BUILDINGS),
                "height_field": "HEIGHT",
            }
        ],
    )
    report_file = tmp_path / "report.json"

    code = main(["build", str(map_file), "--report", str(report_file)])

    out = capsys.readouterr().out
    assert code == 0
    assert (
        "layer buildings: buildings.geojson: 84 features, 84 placed, 0 not placed"
        in out
    )
    assert "heights 3.86 to 17.53 m (2 by default, 82 by height)" in out
    report = json.loads(report_file.read_text())
    assert len(report[0]["buildings"]) == 84
    assert {rule for _, rule, _ in report[0]["buildings"]} == {"height", "default"}


def test_build_layer_relative_to_map(shared_data, tmp_path, cache_folder, capsys):
    folder = tmp_path / "city"
    folder.mkdir()
    (folder / "water.geojson").write_bytes((shared_data / BANGKOK_WATER).read_bytes())
    map_file = write_map(
        folder / "bangkok.toml",
        shared_data / BANGKOK_DEM,
        [{"kind": "water", "source": "water.geojson"}],
        cell_size=20.0,
    )

    code = main(["build", str(map_file)])

    out = capsys.readouterr().out
    assert code == 0
    assert "layer water: water.geojson: 162 features" in out
    assert "Point cannot be a water feature" in out
    assert "more; --report FILE writes them all" in out


def test_build_layer_option(shared_data, tmp_path, cache_folder, capsys):
    code = main(
        [
            "build",
            str(shared_data / ALEXANDRIA_DTM),
            "--cell-size",
            "1",
            "--layer",
            "buildings",
            str(shared_data / ALEXANDRIA_BUILDINGS),
        ]
    )

    out = capsys.readouterr().out
    assert code == 0
    # The default height_field "height" matches the file's HEIGHT column.
    assert "84 placed" in out
    assert "(2 by default, 82 by height)" in out


def write_bowtie_layer(path):
    ring = [[-77.053, 38.810], [-77.052, 38.811], [-77.052, 38.810], [-77.053, 38.811]]
    document = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": 7,
                "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]},
                "properties": {},
            }
        ],
    }
    path.write_text(json.dumps(document))
    return path


def test_strict_invalid_geometry_one_line(shared_data, tmp_path, cache_folder, capsys):
    layer = write_bowtie_layer(tmp_path / "bowtie.geojson")
    output = tmp_path / "out.npz"

    code = main(
        [
            "build",
            str(shared_data / ALEXANDRIA_DTM),
            "--layer",
            "buildings",
            str(layer),
            "--strict",
            "-o",
            str(output),
        ]
    )

    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith(ERROR_PREFIX)
    assert "bowtie.geojson: feature 7: invalid geometry" in lines[0]
    assert captured.out == ""
    assert not output.exists()
    assert not cache_folder.exists() or not list(cache_folder.iterdir())


def test_unknown_layer_kind_option(shared_data, tmp_path, cache_folder, capsys):
    code = main(
        ["build", str(shared_data / ALEXANDRIA_DTM), "--layer", "trees", "x.geojson"]
    )

    err = capsys.readouterr().err
    assert code == 2
    assert "--layer kind 'trees' is unknown" in err


def test_missing_layer_file(shared_data, tmp_path, cache_folder, capsys):
    code = main(
        [
            "build",
            str(shared_data / ALEXANDRIA_DTM),
            "--layer",
            "roads",
            str(tmp_path / "missing.geojson"),
        ]
    )

    err = capsys.readouterr().err
    assert code == 2
    assert "roads layer not found" in err
    assert "missing.geojson" in err


def test_layer_crs_missing_one_line(tmp_path, cache_folder, capsys):
    dem = tmp_path / "dem.tif"
    profile = {
        "driver": "GTiff",
        "width": 20,
        "height": 20,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:32631",
        "transform": from_origin(500_000, 4_900_000, 1.0, 1.0),
    }
    with rasterio.open(dem, "w", **profile) as dataset:
        dataset.write(np.ones((1, 20, 20), dtype=np.float32))
    layer = tmp_path / "no_crs.csv"
    ring = "500002 4899990,500008 4899990,500008 4899998,500002 4899998,500002 4899990"
    layer.write_text(f'WKT,height\n"POLYGON (({ring}))",5\n')

    code = main(
        ["build", str(dem), "--cell-size", "1", "--layer", "buildings", str(layer)]
    )

    err = capsys.readouterr().err
    assert code == 2
    assert "no_crs.csv has no CRS" in err


def test_info_shows_layers(shared_data, tmp_path, cache_folder, capsys):
    output = tmp_path / "alexandria.npz"
    main(
        [
            "build",
            str(shared_data / ALEXANDRIA_DTM),
            "--cell-size",
            "2",
            "--layer",
            "buildings",
            str(shared_data / ALEXANDRIA_BUILDINGS),
            "-o",
            str(output),
        ]
    )
    capsys.readouterr()

    code = main(["info", str(output)])

    out = capsys.readouterr().out
    assert code == 0
    assert f"source            {shared_data / ALEXANDRIA_DTM}" in out
    assert "layer buildings: buildings.geojson: 84 features" in out


def test_build_from_tiles(shared_data, tmp_path, cache_folder, capsys):
    tiles = [str(shared_data / "sf-tiles" / f"elevation{i}.tif") for i in (1, 2)]

    code = main(["build", *tiles, "--cell-size", "20"])

    out = capsys.readouterr().out
    assert code == 0
    assert "mosaic of 2 tiles (elevation1.tif, ...)" in out


def test_build_missing_tile(shared_data, tmp_path, cache_folder, capsys):
    tile = str(shared_data / "sf-tiles" / "elevation1.tif")

    code = main(["build", tile, str(tmp_path / "elevation3.tif")])

    err = capsys.readouterr().err
    assert code == 2
    assert "DEM tile not found" in err
    assert "elevation3.tif" in err
