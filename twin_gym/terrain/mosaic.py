"""Read the part of a DEM, or of a mosaic of DEM tiles, that a twin needs.

A single file is read through one window. Tiles are merged with
``rasterio.merge.merge`` on the first tile's pixel lattice, only over the
window, so a twin built from tiles equals one built from the file they were
cut from. Where tiles overlap, the first tile with a valid pixel wins, so a
nodata pixel of one tile never hides the value of another.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import rasterio.merge
import rasterio.windows
from affine import Affine
from rasterio.enums import MaskFlags
from rasterio.io import DatasetReader

from twin_gym.errors import InputError

MARGIN_PX = 2
"""Pixels read beyond the area, so bilinear and cubic kernels are fed."""


def footprint_bounds(transform: Affine, width: int, height: int) -> tuple:
    """Return (left, bottom, right, top) of a raster's corners for any transform.

    Unlike ``DatasetReader.bounds``, this holds for south-up and rotated
    transforms as well as north-up ones.
    """
    cols = np.array([0, width, width, 0])
    rows = np.array([0, 0, height, height])
    xs, ys = transform @ (cols, rows)
    return (float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))


def mosaic_bounds(tiles: Sequence[DatasetReader]) -> tuple:
    """Return the union of the tiles' bounds as (left, bottom, right, top)."""
    boxes = [footprint_bounds(t.transform, t.width, t.height) for t in tiles]
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def window_around(
    bounds: tuple, transform: Affine, width: int, height: int
) -> rasterio.windows.Window | None:
    """Return the pixel window that covers ``bounds`` with a margin, clipped.

    The edges of ``bounds`` are sampled densely and mapped through the
    inverse transform, so rotated and south-up rasters get the right window.
    Returns None where the bounds miss the raster.
    """
    left, bottom, right, top = bounds
    steps = np.linspace(0.0, 1.0, 21)
    xs = np.concatenate(
        [
            left + steps * (right - left),
            np.full(21, right),
            right - steps * (right - left),
            np.full(21, left),
        ]
    )
    ys = np.concatenate(
        [
            np.full(21, top),
            top - steps * (top - bottom),
            np.full(21, bottom),
            bottom + steps * (top - bottom),
        ]
    )
    cols, rows = ~transform @ (xs, ys)
    col_start = max(math.floor(cols.min()) - MARGIN_PX, 0)
    row_start = max(math.floor(rows.min()) - MARGIN_PX, 0)
    col_stop = min(math.ceil(cols.max()) + MARGIN_PX, width)
    row_stop = min(math.ceil(rows.max()) + MARGIN_PX, height)
    if col_stop <= col_start or row_stop <= row_start:
        return None
    return rasterio.windows.Window(
        col_start, row_start, col_stop - col_start, row_stop - row_start
    )


def read_single(
    dataset: DatasetReader, bounds: tuple
) -> tuple[np.ma.MaskedArray, Affine] | None:
    """Read band 1 under ``bounds`` with a margin as float32.

    Returns the masked band and its transform, or None where the bounds miss
    the raster.
    """
    window = window_around(bounds, dataset.transform, dataset.width, dataset.height)
    if window is None:
        return None
    data = dataset.read(1, window=window, out_dtype="float32")
    flags = dataset.mask_flag_enums[0]
    if MaskFlags.all_valid in flags:
        mask = np.zeros(data.shape, dtype=bool)
    elif MaskFlags.nodata in flags:
        # The nodata mask is data == nodata, so comparing here saves GDAL a
        # second pass over the window.
        mask = data == np.float32(dataset.nodata)
    else:
        mask = dataset.read_masks(1, window=window) == 0
    return np.ma.MaskedArray(data, mask=mask), dataset.window_transform(window)


def read_mosaic(
    tiles: Sequence[DatasetReader], bounds: tuple, label: str
) -> tuple[np.ma.MaskedArray, Affine] | None:
    """Merge the tiles under ``bounds`` on the first tile's lattice.

    Raises:
        InputError: A tile is rotated or south-up, which ``rasterio.merge``
            does not support.
    """
    first = tiles[0]
    for tile in tiles:
        if tile.transform.b != 0 or tile.transform.d != 0 or tile.transform.e >= 0:
            raise InputError(
                f"tile {tile.name} of {label} is not north-up; mosaics need "
                "north-up tiles, so warp it first (gdalwarp) or build from it alone"
            )
    res_x, res_y = first.transform.a, -first.transform.e
    union = mosaic_bounds(tiles)
    # A lattice through the first tile's origin, stretched over every tile.
    lattice_left = (
        first.transform.c + math.floor((union[0] - first.transform.c) / res_x) * res_x
    )
    lattice_top = (
        first.transform.f + math.ceil((union[3] - first.transform.f) / res_y) * res_y
    )
    width = math.ceil((union[2] - lattice_left) / res_x - 1e-9)
    height = math.ceil((lattice_top - union[1]) / res_y - 1e-9)
    lattice = Affine(res_x, 0.0, lattice_left, 0.0, -res_y, lattice_top)
    window = window_around(bounds, lattice, width, height)
    if window is None:
        return None
    left, bottom, right, top = rasterio.windows.bounds(window, lattice)
    merged, transform = rasterio.merge.merge(
        list(tiles),
        bounds=(left, bottom, right, top),
        res=(res_x, res_y),
        dtype="float32",
        masked=True,
    )
    return merged[0], transform
