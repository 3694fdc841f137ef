"""Open DEM sources: raster files that GDAL reads and bundled sample data."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
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
FLAT_PREFIX = "flat:"
FLAT_PIXELS = 64
"""Pixels along each side of the raster behind ``flat:HEIGHT``; the heights
are constant, so any size gives the same twin."""
JACKSBORO_SAMPLE = "jacksboro_fault_dem.npz"


@dataclass(frozen=True)
class OpenedDem:
    """A single-band DEM opened for reading."""

    dataset: DatasetReader
    """The rasterio dataset, whose band 1 contains the heights."""
    identity: dict[str, Any]
    """Path, size and modification time of the file behind the dataset."""
    label: str
    """Name of the source in messages."""
    tiles: tuple[DatasetReader, ...] = field(default=())
    """Every tile of a mosaic, the first being ``dataset``; empty for a single
    file."""

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """Source-CRS (left, bottom, right, top) of the raster or the mosaic."""
        from twin_gym.terrain.mosaic import footprint_bounds, mosaic_bounds

        if self.tiles:
            return mosaic_bounds(self.tiles)
        dataset = self.dataset
        return footprint_bounds(dataset.transform, dataset.width, dataset.height)


DemSource = str | Path | Sequence[str | Path]
"""A DEM path, a ``matplotlib:NAME`` sample, or a sequence of tile paths."""


@contextlib.contextmanager
def open_dem(
    source: DemSource,
    aoi: tuple[float, float, float, float] | None = None,
    aoi_crs: str = "EPSG:4326",
) -> Iterator[OpenedDem]:
    """Open a DEM by path, a mosaic of tiles, or matplotlib's sample DEM.

    Args:
        source: A raster path; ``matplotlib:NAME`` for a sample DEM that
            matplotlib installs; or a list of raster paths, the tiles of one
            mosaic, which must share a CRS; or ``flat:HEIGHT`` for flat
            ground at HEIGHT metres over ``aoi``.
        aoi: Extent of flat ground as (left, bottom, right, top).
        aoi_crs: CRS of ``aoi``.

    Raises:
        InputError: A path does not exist, is not a raster that rasterio
            reads, or has more than one band, or tiles differ in CRS.
    """
    if not isinstance(source, str | Path):
        with _open_tiles([Path(str(p)) for p in source]) as opened:
            yield opened
        return
    text = str(source)
    if text.startswith(FLAT_PREFIX):
        with _open_flat(text, aoi, aoi_crs) as opened:
            yield opened
        return
    if text.startswith(MATPLOTLIB_PREFIX):
        with _open_matplotlib_sample(text[len(MATPLOTLIB_PREFIX) :]) as opened:
            yield opened
        return

    path = Path(text).expanduser()
    with _open_raster(path) as dataset:
        yield OpenedDem(dataset, source_identity(path), str(path))


@contextlib.contextmanager
def _open_raster(path: Path) -> Iterator[DatasetReader]:
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
        yield dataset


@contextlib.contextmanager
def _open_tiles(paths: list[Path]) -> Iterator[OpenedDem]:
    if not paths:
        raise InputError("the list of DEM tiles is empty; give at least one path")
    label = f"mosaic of {len(paths)} tiles ({paths[0].name}, ...)"
    with contextlib.ExitStack() as stack:
        tiles = tuple(stack.enter_context(_open_raster(p.expanduser())) for p in paths)
        first_crs = tiles[0].crs
        for path, tile in zip(paths, tiles, strict=True):
            if tile.crs != first_crs:
                raise InputError(
                    f"tile {path} is in {tile.crs} but {paths[0]} is in "
                    f"{first_crs}; tiles of one mosaic must share a CRS, so "
                    "reproject them first (gdalwarp)"
                )
        identity = {"tiles": [source_identity(p.expanduser()) for p in paths]}
        yield OpenedDem(tiles[0], identity, label, tiles)


@contextlib.contextmanager
def _open_flat(
    text: str, aoi: tuple[float, float, float, float] | None, aoi_crs: str
) -> Iterator[OpenedDem]:
    try:
        height = float(text[len(FLAT_PREFIX) :])
    except ValueError:
        height = float("nan")
    if not np.isfinite(height):
        raise InputError(
            f"{text!r} is not flat ground; write flat:HEIGHT with HEIGHT in "
            "metres, such as flat:12.5"
        )
    if aoi is None or aoi_crs == "source":
        raise InputError(
            f"{text} needs an area: set build.aoi, and build.aoi_crs to a CRS "
            "such as EPSG:4326"
        )
    # A margin beyond the area keeps the grid's edge cells, whose corners
    # reach past the area once reprojected, on valid ground.
    margin_x = 0.05 * (aoi[2] - aoi[0])
    margin_y = 0.05 * (aoi[3] - aoi[1])
    left, bottom = aoi[0] - margin_x, aoi[1] - margin_y
    right, top = aoi[2] + margin_x, aoi[3] + margin_y
    profile = {
        "driver": "GTiff",
        "width": FLAT_PIXELS,
        "height": FLAT_PIXELS,
        "count": 1,
        "dtype": "float32",
        "crs": aoi_crs,
        "transform": from_origin(
            left, top, (right - left) / FLAT_PIXELS, (top - bottom) / FLAT_PIXELS
        ),
    }
    heights = np.full((FLAT_PIXELS, FLAT_PIXELS), height, dtype=np.float32)
    with MemoryFile() as memory_file:
        with memory_file.open(**profile) as writer:
            writer.write(heights, 1)
        with memory_file.open() as dataset:
            identity = {"flat_height_m": height, "aoi": list(aoi), "aoi_crs": aoi_crs}
            yield OpenedDem(dataset, identity, f"flat ground at {height:g} m")


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
    and ``ymax``, where ``ymin`` contains the northern edge and ``ymax`` the
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
