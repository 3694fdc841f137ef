"""Fixtures shared by the command-line tests."""

import pytest


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    """Point the cache at a folder that only this test writes to."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("TWIN_GYM_CACHE_DIR", str(folder))
    return folder
