"""Tests of twin files: memory-mapped loads equal plain loads."""

import zipfile

import numpy as np
import pytest

from twin_gym.terrain.build import build_twin
from twin_gym.terrain.twin import TerrainTwin

PYSHEDS = "pysheds/dem.tif"


@pytest.fixture
def twin_file(shared_data, tmp_path):
    twin = build_twin(shared_data / PYSHEDS, use_cache=False, cell_size=200.0)
    path = tmp_path / "twin.npz"
    twin.save(str(path))
    return path


def test_mmap_load_equals_load(twin_file):
    plain = TerrainTwin.load(str(twin_file))
    mapped = TerrainTwin.load(str(twin_file), mmap=True)

    for name in ("heights", "valid", "classes", "structure_heights"):
        np.testing.assert_array_equal(getattr(plain, name), getattr(mapped, name))
        assert type(getattr(mapped, name)) is np.ndarray
    assert mapped.metadata == plain.metadata
    assert mapped.transform == plain.transform


def test_mmap_load_copy_on_write(twin_file):
    mapped = TerrainTwin.load(str(twin_file), mmap=True)
    mapped.heights[0, 0] = -1.0

    again = TerrainTwin.load(str(twin_file))
    assert again.heights[0, 0] != -1.0


def test_mmap_load_truncated(twin_file):
    data = twin_file.read_bytes()
    twin_file.write_bytes(data[: len(data) // 2])

    with pytest.raises((ValueError, zipfile.BadZipFile)):
        TerrainTwin.load(str(twin_file), mmap=True)
