"""Tests of the twin cache: hits, keys, atomic writes and unreadable files."""

import logging
import os

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from twin_gym.terrain import build as build_module
from twin_gym.terrain import cache
from twin_gym.terrain.build import build_twin
from twin_gym.terrain.twin import TerrainTwin

PYSHEDS = "pysheds/dem.tif"
FAST = {"cell_size": 500.0}


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    """Point the cache at a folder that only this test writes to."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_ENV_VAR, str(folder))
    return folder


@pytest.fixture
def build_calls(monkeypatch):
    """Count calls of the private build step while keeping its behaviour."""
    calls = []
    real_build = build_module._build

    def counting_build(opened, options):
        calls.append(options)
        return real_build(opened, options)

    monkeypatch.setattr(build_module, "_build", counting_build)
    return calls


def cache_files(folder):
    """Return every file in the cache folder, hidden temporary files included."""
    if not folder.exists():
        return []
    return sorted(path for path in folder.iterdir() if path.is_file())


def write_small_dem(path, heights=None):
    """Write a 20 x 20 geographic GeoTIFF with a sloping surface."""
    if heights is None:
        heights = np.add.outer(np.arange(20.0), np.arange(20.0)).astype(np.float32)
    profile = {
        "driver": "GTiff",
        "width": heights.shape[1],
        "height": heights.shape[0],
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": from_origin(10.0, 46.0, 0.001, 0.001),
        "nodata": -9999.0,
    }
    with rasterio.open(path, "w", **profile) as dataset:
        dataset.write(heights, 1)


def assert_same_twin(first: TerrainTwin, second: TerrainTwin):
    np.testing.assert_array_equal(first.heights, second.heights)
    np.testing.assert_array_equal(first.valid, second.valid)
    np.testing.assert_array_equal(first.classes, second.classes)
    assert first.transform == second.transform
    assert first.crs_wkt == second.crs_wkt
    assert first.origin_xy == second.origin_xy
    assert first.anchor_lonlat == second.anchor_lonlat
    assert first.metadata == second.metadata


def test_second_build_loads_cache(shared_data, cache_folder, monkeypatch):
    first = build_twin(shared_data / PYSHEDS, **FAST)
    assert len(cache_files(cache_folder)) == 1

    def fail_build(opened, options):
        raise AssertionError("the second build should load the cached twin")

    monkeypatch.setattr(build_module, "_build", fail_build)
    second = build_twin(shared_data / PYSHEDS, **FAST)

    assert_same_twin(first, second)
    assert len(cache_files(cache_folder)) == 1


def test_cache_file_name_is_key(shared_data, cache_folder):
    build_twin(shared_data / PYSHEDS, **FAST)
    options = build_module.BuildOptions(**FAST)
    key = cache.cache_key(
        cache.source_identity(shared_data / PYSHEDS), options.cache_params()
    )

    assert cache_files(cache_folder) == [cache_folder / f"{key}.npz"]


@pytest.mark.parametrize(
    "changed",
    [
        {"cell_size": 400.0},
        {"working_crs": "utm"},
        {"aoi": (-97.45, 32.55, -97.25, 32.75)},
        {"resampling": "nearest"},
        {"fill_max_pixels": 3.0},
        {"vertical_datum": "EGM96"},
    ],
    ids=["cell-size", "working-crs", "aoi", "resampling", "fill", "vertical-datum"],
)
def test_option_change_rebuilds(shared_data, cache_folder, build_calls, changed):
    build_twin(shared_data / PYSHEDS, **FAST)
    build_twin(shared_data / PYSHEDS, **{**FAST, **changed})
    build_twin(shared_data / PYSHEDS, **FAST)
    build_twin(shared_data / PYSHEDS, **{**FAST, **changed})

    assert len(build_calls) == 2
    assert len(cache_files(cache_folder)) == 2


def test_touched_source_rebuilds(tmp_path, cache_folder, build_calls):
    source = tmp_path / "small.tif"
    write_small_dem(source)
    first = build_twin(source, cell_size=20.0)
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))

    second = build_twin(source, cell_size=20.0)

    assert len(build_calls) == 2
    assert len(cache_files(cache_folder)) == 2
    assert_same_twin(first, second)


def test_resized_source_rebuilds(tmp_path, cache_folder, build_calls):
    source = tmp_path / "small.tif"
    write_small_dem(source)
    first = build_twin(source, cell_size=20.0)
    stat = source.stat()
    # A larger grid changes the file size. The old modification time stays,
    # so only the size can tell the two files apart.
    write_small_dem(source, heights=np.full((25, 25), 123.0, dtype=np.float32))
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    second = build_twin(source, cell_size=20.0)

    assert len(build_calls) == 2
    assert not np.array_equal(first.heights, second.heights)
    assert np.allclose(second.heights, 123.0)


def test_key_depends_on_identity_and_params():
    identity = {"path": "/data/dem.tif", "size": 100, "mtime_ns": 1}
    params = build_module.BuildOptions().cache_params()
    key = cache.cache_key(identity, params)

    assert key == cache.cache_key(dict(identity), dict(params))
    assert key != cache.cache_key({**identity, "mtime_ns": 2}, params)
    assert key != cache.cache_key({**identity, "size": 101}, params)
    assert key != cache.cache_key({**identity, "path": "/data/other.tif"}, params)
    assert key != cache.cache_key(identity, {**params, "cell_size": 31.0})
    assert len(key) == 32
    assert int(key, 16) >= 0


def test_no_cache_writes_nothing(shared_data, cache_folder, build_calls):
    build_twin(shared_data / PYSHEDS, use_cache=False, **FAST)
    build_twin(shared_data / PYSHEDS, use_cache=False, **FAST)

    assert len(build_calls) == 2
    assert cache_files(cache_folder) == []


def test_no_cache_ignores_cached_twin(shared_data, cache_folder, build_calls):
    build_twin(shared_data / PYSHEDS, **FAST)
    build_twin(shared_data / PYSHEDS, use_cache=False, **FAST)

    assert len(build_calls) == 2


def test_failed_write_leaves_nothing(shared_data, cache_folder, monkeypatch, caplog):
    def failing_save(self, path):
        with open(path, "wb") as stream:
            stream.write(b"PK\x03\x04 partial")
        raise OSError("disk full")

    monkeypatch.setattr(TerrainTwin, "save", failing_save)

    with caplog.at_level(logging.WARNING, logger="twin_gym.terrain.build"):
        twin = build_twin(shared_data / PYSHEDS, **FAST)

    assert twin.valid.any()
    assert "disk full" in caplog.text
    assert cache_folder.is_dir()
    assert cache_files(cache_folder) == []


def test_write_atomic_keeps_old_file(tmp_path):
    target = tmp_path / "twin.npz"
    target.write_bytes(b"old content")

    def failing_write(path):
        with open(path, "wb") as stream:
            stream.write(b"new but incomplete")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.write_atomic(target, failing_write)

    assert target.read_bytes() == b"old content"
    assert sorted(tmp_path.iterdir()) == [target]


def test_write_atomic_replaces_file(tmp_path):
    target = tmp_path / "sub" / "twin.npz"
    target.parent.mkdir()
    target.write_bytes(b"old content")

    cache.write_atomic(target, lambda path: open(path, "wb").write(b"new content"))

    assert target.read_bytes() == b"new content"
    assert sorted(target.parent.iterdir()) == [target]


def test_write_atomic_creates_folder(tmp_path):
    target = tmp_path / "a" / "b" / "twin.npz"

    cache.write_atomic(target, lambda path: open(path, "wb").write(b"content"))

    assert target.read_bytes() == b"content"


def corrupt_truncated(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def corrupt_empty(path):
    path.write_bytes(b"")


def corrupt_text(path):
    path.write_bytes(b"this is not a twin\n" * 10)


def corrupt_missing_header(path):
    with open(path, "wb") as stream:
        np.savez(stream, heights=np.zeros((3, 3), dtype=np.float32))


def corrupt_bad_header(path):
    with open(path, "wb") as stream:
        np.savez(
            stream,
            heights=np.zeros((3, 3), dtype=np.float32),
            valid=np.ones((3, 3), dtype=bool),
            classes=np.zeros((3, 3), dtype=np.uint8),
            header=np.frombuffer(b"{not json", dtype=np.uint8),
        )


@pytest.mark.parametrize(
    "corrupt",
    [
        corrupt_truncated,
        corrupt_empty,
        corrupt_text,
        corrupt_missing_header,
        corrupt_bad_header,
    ],
    ids=["truncated", "empty", "text", "missing-header", "bad-header"],
)
def test_corrupt_cache_rebuilt(shared_data, cache_folder, build_calls, corrupt, caplog):
    first = build_twin(shared_data / PYSHEDS, **FAST)
    (cached,) = cache_files(cache_folder)
    corrupt(cached)

    second = build_twin(shared_data / PYSHEDS, **FAST)

    assert len(build_calls) == 2
    assert_same_twin(first, second)
    assert "ignoring unreadable cached twin" in caplog.text
    # The rebuild replaced the corrupt file with a readable one.
    assert cache_files(cache_folder) == [cached]
    assert_same_twin(first, TerrainTwin.load(str(cached)))
