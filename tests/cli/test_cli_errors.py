"""Tests of twin-gym build and info on bad input, and of one good build."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from twin_gym.cli import main
from twin_gym.terrain.twin import TerrainTwin

PYSHEDS = "pysheds/dem.tif"
WHITEBOX = "whitebox/DEM.tif"
LANDLAB = "landlab-asc/SRTMGL3_40.09_-105.56_40.21_-105.44.asc"
ERROR_PREFIX = "twin-gym build: error: "


def write_geotiff(path, heights, crs="EPSG:4326", nodata=None):
    """Write ``heights`` (bands, rows, cols) as a GeoTIFF near Fort Worth."""
    profile = {
        "driver": "GTiff",
        "width": heights.shape[2],
        "height": heights.shape[1],
        "count": heights.shape[0],
        "dtype": heights.dtype.name,
        "transform": from_origin(-97.4, 32.7, 0.001, 0.001),
        "nodata": nodata,
    }
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(heights)
    return path


def text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("elevation: 120 m\n")
    return path


def raster_without_crs(tmp_path):
    heights = np.ones((1, 16, 16), dtype=np.float32)
    return write_geotiff(tmp_path / "no_crs.tif", heights, crs=None)


def all_nodata_raster(tmp_path):
    heights = np.full((1, 16, 16), -32768, dtype=np.int16)
    return write_geotiff(tmp_path / "all_nodata.tif", heights, nodata=-32768)


def three_band_raster(tmp_path):
    heights = np.ones((3, 16, 16), dtype=np.uint8)
    return write_geotiff(tmp_path / "rgb.tif", heights)


def folder(tmp_path):
    path = tmp_path / "dem_folder"
    path.mkdir()
    return path


def missing_file(tmp_path):
    return tmp_path / "missing.tif"


def assert_one_line_error(code, captured, *expected):
    lines = captured.err.splitlines()

    assert code == 2
    assert len(lines) == 1, captured.err
    assert lines[0].startswith(ERROR_PREFIX)
    for text in expected:
        assert text in lines[0]
    assert "Traceback" not in captured.err
    assert captured.out == ""


def assert_nothing_written(cache_folder, output):
    assert not output.exists()
    assert not cache_folder.exists() or list(cache_folder.iterdir()) == []


@pytest.mark.parametrize(
    ("make_target", "expected"),
    [
        (missing_file, ["missing.tif", "not found"]),
        (folder, ["dem_folder", "folder"]),
        (text_file, ["notes.txt", "cannot read"]),
        (raster_without_crs, ["no_crs.tif", "no CRS", "--src-crs"]),
        (all_nodata_raster, ["all_nodata.tif", "no data"]),
        (three_band_raster, ["rgb.tif", "3 bands"]),
    ],
    ids=["missing", "folder", "text", "no-crs", "all-nodata", "multi-band"],
)
def test_build_bad_file(tmp_path, cache_folder, capsys, make_target, expected):
    target = make_target(tmp_path)
    output = tmp_path / "out.npz"

    code = main(["build", str(target), "-o", str(output)])

    assert_one_line_error(code, capsys.readouterr(), *expected)
    assert_nothing_written(cache_folder, output)


def test_build_missing_relative_path(tmp_path, cache_folder, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)

    code = main(["build", "missing.tif", "-o", "out.npz"])

    assert_one_line_error(code, capsys.readouterr(), "DEM not found", "missing.tif")
    assert_nothing_written(cache_folder, tmp_path / "out.npz")


def test_build_unknown_map(tmp_path, cache_folder, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)

    code = main(["build", "atlantis"])

    assert_one_line_error(code, capsys.readouterr(), "atlantis", "jacksboro")
    assert_nothing_written(cache_folder, tmp_path / "out.npz")


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        (WHITEBOX, [], ["DEM.tif", "no usable CRS", "--src-crs"]),
        (LANDLAB, [], ["SRTMGL3_40.09", "no CRS", "--src-crs"]),
        (PYSHEDS, ["--aoi", "10", "10", "11", "11"], ["(10.0, 10.0, 11.0, 11.0)"]),
        (PYSHEDS, ["--aoi", "0", "0", "1", "1", "--aoi-crs", "source"], ["(0.0, 0.0"]),
        (PYSHEDS, ["--src-crs", "EPSG:999999"], ["EPSG:999999"]),
        (
            PYSHEDS,
            ["--aoi-crs", "EPSG:999999", "--aoi", "0", "0", "1", "1"],
            ["EPSG:999999"],
        ),
        (PYSHEDS, ["--working-crs", "EPSG:4326"], ["EPSG:4326", "not projected"]),
        (PYSHEDS, ["--working-crs", "nowhere"], ["'nowhere'"]),
        (PYSHEDS, ["--cell-size", "-5"], ["cell_size", "-5"]),
        (PYSHEDS, ["--cell-size", "100000"], ["dem.tif", "no valid heights"]),
        (PYSHEDS, ["--fill-max-pixels", "-1"], ["fill_max_pixels", "-1"]),
        (PYSHEDS, ["--aoi", "-97.3", "32.6", "-97.4", "32.7"], ["empty"]),
    ],
    ids=[
        "local-cs",
        "ascii-no-crs",
        "aoi-outside",
        "aoi-outside-source",
        "bad-src-crs",
        "bad-aoi-crs",
        "geographic-working-crs",
        "unknown-working-crs",
        "negative-cell-size",
        "huge-cell-size",
        "negative-fill",
        "empty-aoi",
    ],
)
def test_build_bad_input(
    shared_data, tmp_path, cache_folder, capsys, name, options, expected
):
    output = tmp_path / "out.npz"

    code = main(["build", str(shared_data / name), "-o", str(output), *options])

    assert_one_line_error(code, capsys.readouterr(), *expected)
    assert_nothing_written(cache_folder, output)


def test_info_truncated_twin(shared_data, tmp_path, cache_folder, capsys):
    twin_file = tmp_path / "out.npz"
    assert (
        main(
            [
                "build",
                str(shared_data / PYSHEDS),
                "--cell-size",
                "500",
                "-o",
                str(twin_file),
            ]
        )
        == 0
    )
    data = twin_file.read_bytes()
    twin_file.write_bytes(data[: len(data) // 2])
    capsys.readouterr()

    code = main(["info", str(twin_file)])

    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert code == 2
    assert len(lines) == 1
    assert lines[0].startswith("twin-gym info: error: ")
    assert "out.npz" in lines[0]
    assert "Traceback" not in captured.err


def test_build_then_info(shared_data, tmp_path, cache_folder, capsys):
    output = tmp_path / "out.npz"

    code = main(
        ["build", str(shared_data / PYSHEDS), "--cell-size", "120", "-o", str(output)]
    )

    captured = capsys.readouterr()
    assert code == 0
    assert captured.err == ""
    assert f"wrote {output}" in captured.out
    assert output.is_file()
    twin = TerrainTwin.load(str(output))
    rows, cols = twin.shape

    code = main(["info", str(output)])

    captured = capsys.readouterr()
    assert code == 0
    assert captured.err == ""
    lines = {
        line.split()[0]: line.split(None, 1)[1] for line in captured.out.splitlines()
    }
    assert lines["size"] == f"{cols} x {rows} cells"
    assert lines["cell_size_m"] == "120.0"
    assert lines["crs"].startswith("Local transverse Mercator")
    assert "bounds" in lines
    assert "height_range_m" in lines

    code = main(["info", str(output), "--json"])

    facts = json.loads(capsys.readouterr().out)
    assert code == 0
    # The twin keeps the name of the map it was built from, here the DEM's.
    assert facts["name"] == "dem"
    assert facts["size"] == f"{cols} x {rows} cells"
    assert facts["cell_size_m"] == 120.0
    assert facts["bounds"] == pytest.approx(list(twin.bounds), abs=1e-3)
    low, high = facts["height_range_m"]
    # The DEM's heights run from 147 to 298 m.
    assert 147.0 <= low < high <= 298.0
    assert facts["anchor_lonlat"][0] == pytest.approx(-97.332, abs=1e-3)
    assert facts["anchor_lonlat"][1] == pytest.approx(32.672, abs=1e-3)


def run_console(args, tmp_path):
    """Run twin-gym in a fresh interpreter, as the console script does."""
    env = {**os.environ, "TWIN_GYM_CACHE_DIR": str(tmp_path / "cache")}
    command = [
        sys.executable,
        "-c",
        "import sys; from twin_gym.cli import main; sys.exit(main())",
        *args,
    ]
    return subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )


def test_console_error_one_line(tmp_path):
    target = text_file(tmp_path)

    result = run_console(["build", str(target)], tmp_path)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(ERROR_PREFIX)
    assert result.stdout == ""


def test_console_local_cs_one_line(shared_data, tmp_path):
    result = run_console(["build", str(shared_data / WHITEBOX)], tmp_path)

    assert result.returncode == 2
    assert result.stderr.splitlines() == [result.stderr.strip()]
