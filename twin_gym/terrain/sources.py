"""Open DEM sources: raster files that GDAL reads and bundled sample data."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.io import DatasetReader, MemoryFile
from rasterio.transform import from_origin

from twin_gym.errors import InputError
from twin_gym.terrain.cache import source_identity

logger = logging.getLogger(__name__)

MATPLOTLIB_PREFIX = "matplotlib:"
JACKSBORO_SAMPLE = "jacksboro_fault_dem.npz"


@dataclass(frozen=True)
class OpenedDem:
    """A single-band DEM opened for reading."""

    dataset: DatasetReader
    """The rasterio dataset; band 1 holds the heights."""
    identity: dict[str, Any]
    """Path, size and modification time of the file behind the dataset."""
    label: str
    """How messages name the source."""


@contextlib.contextmanager
def open_dem(source: str | Path) -> Iterator[OpenedDem]:
    """Open a DEM by path, or matplotlib's sample DEM as ``matplotlib:NAME``.

    Raises:
        InputError: The path does not exist, is not a raster that rasterio
            reads, or has more than one band.
    """
    text = str(source)
    if text.startswith(MATPLOTLIB_PREFIX):
        with _open_matplotlib_sample(text[len(MATPLOTLIB_PREFIX) :]) as opened:
            yield opened
        return

    path = Path(text).expanduser()
    if not path.exists():
        raise InputError(f"DEM not found: {path}; check the path")
    if path.is_dir():
        raise InputError(f"DEM path is a folder: {path}; give a raster file")
    try:
        dataset = rasterio.open(path)
    except RasterioIOError as error:
        raise InputError(
            f"cannot read {path} as a raster ({_first_line(error)}); "
            "give a DEM in a format GDAL reads, such as GeoTIFF"
        ) from None
    with dataset:
        if dataset.count != 1:
            raise InputError(
                f"{path} has {dataset.count} bands; a DEM needs exactly one, "
                "so extract the height band first (gdal_translate -b N)"
            )
        yield OpenedDem(dataset, source_identity(path), str(path))


@contextlib.contextmanager
def _open_matplotlib_sample(name: str) -> Iterator[OpenedDem]:
    if name != JACKSBORO_SAMPLE:
        raise InputError(
            f"unknown matplotlib sample DEM {name!r}; the one supported is "
            f"{MATPLOTLIB_PREFIX}{JACKSBORO_SAMPLE}"
        )
    import matplotlib.cbook

    path = Path(matplotlib.cbook.get_sample_data(name, asfileobj=False))
    heights, transform = jacksboro_raster(path)
    profile = {
        "driver": "GTiff",
        "width": heights.shape[1],
        "height": heights.shape[0],
        "count": 1,
        "dtype": heights.dtype.name,
        "crs": "EPSG:4326",
        "transform": transform,
    }
    with MemoryFile() as memory_file:
        with memory_file.open(**profile) as writer:
            writer.write(heights, 1)
        with memory_file.open() as dataset:
            yield OpenedDem(
                dataset, source_identity(path), f"{MATPLOTLIB_PREFIX}{name}"
            )


def jacksboro_raster(path: Path) -> tuple[np.ndarray, Any]:
    """Read matplotlib's Jacksboro fault DEM and georeference it.

    The file stores an int16 grid of 3 arc-second cells with row 0 at the
    north edge, and the edges of its extent as ``xmin``, ``xmax``, ``ymin``
    and ``ymax``, where ``ymin`` holds the northern edge and ``ymax`` the
    southern one. Taking the larger of the two as the top edge gives the
    right transform either way.

    Returns:
        The heights in metres, shape (344, 403), int16, and the affine
        transform in EPSG:4326 degrees.
    """
    with np.load(path) as data:
        heights = np.array(data["elevation"])
        dx, dy = float(data["dx"]), float(data["dy"])
        west = float(data["xmin"])
        north = max(float(data["ymin"]), float(data["ymax"]))
        south = min(float(data["ymin"]), float(data["ymax"]))
    rows, cols = heights.shape
    # The stored extent must match the grid, or the sample has changed shape.
    if abs((north - south) / dy - rows) > 1e-6 or abs(cols * dx) <= 0:
        raise InputError(f"{path}: extent does not match a {rows} x {cols} grid")
    return heights, from_origin(west, north, dx, dy)


def _first_line(error: Exception) -> str:
    return (
        str(error).strip().splitlines()[0]
        if str(error).strip()
        else type(error).__name__
    )
