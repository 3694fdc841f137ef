"""Shared fixtures: real GIS test data and an isolated twin cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Return the folder of real GIS test files that sits beside the checkout.

    A user's clone has no such folder, so tests that need it skip there. With
    ``CI`` set they fail instead, so CI never skips them silently.
    """
    if not (SHARED_DATA / "README.md").is_file():
        message = f"real GIS test data not found at {SHARED_DATA}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI is set, so this is an error)")
        pytest.skip(message)
    return SHARED_DATA


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch) -> Path:
    """Point the twin cache at a per-session temporary folder."""
    folder = tmp_path_factory.getbasetemp() / "twin-cache"
    monkeypatch.setenv("TWIN_GYM_CACHE_DIR", str(folder))
    return folder
