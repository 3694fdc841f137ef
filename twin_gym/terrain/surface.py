"""Height units, the warp onto a twin's grid, and structures from a DSM."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import rasterio.warp
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling

from twin_gym.errors import InputError
from twin_gym.terrain import cache
from twin_gym.terrain.burn import Grids
from twin_gym.terrain.classes import SurfaceClass
from twin_gym.terrain.mosaic import read_single
from twin_gym.terrain.sources import open_dem

logger = logging.getLogger(__name__)

VERTICAL_UNIT_M = {"m": 1.0, "ft": 0.3048, "us-ft": 1200.0 / 3937.0}
"""Metres per unit of each ``vertical_unit`` choice other than ``"auto"``."""


WARP_THREADS = min(os.cpu_count() or 1, 8)
"""GDAL warp threads; the result does not depend on their number."""
WARP_MEMORY_MB = 256
"""GDAL warp chunk memory; larger chunks cut per-chunk overhead on large grids."""


def vertical_unit_m(unit: str, src_crs: CRS) -> float:
    """Return metres per source height unit.

    ``"auto"`` reads the unit of the vertical axis of a compound CRS and
    falls back to metres, because the unit of a horizontal CRS does not
    apply to heights.
    """
    if unit != "auto":
        return VERTICAL_UNIT_M[unit]
    for sub_crs in src_crs.sub_crs_list:
        if sub_crs.is_vertical and sub_crs.axis_info:
            return float(sub_crs.axis_info[0].unit_conversion_factor)
    return 1.0


def warp_to_grid(
    src_heights: np.ndarray,
    src_transform: Affine,
    src_crs: CRS,
    heights: np.ndarray,
    dst_transform: Affine,
    dst_crs: CRS,
    resampling: str,
) -> None:
    """Reproject float32 heights (NaN for no data) onto ``heights``, in place."""
    rasterio.warp.reproject(
        source=src_heights,
        destination=heights,
        src_transform=src_transform,
        src_crs=src_crs.to_wkt(),
        src_nodata=np.nan,
        dst_transform=dst_transform,
        dst_crs=dst_crs.to_wkt(),
        dst_nodata=np.nan,
        resampling=Resampling[resampling],
        num_threads=WARP_THREADS,
        warp_mem_limit=WARP_MEMORY_MB,
    )


def dsm_identity(path: str) -> dict[str, Any]:
    """Return the cache identity of a DSM file.

    Raises:
        InputError: The file does not exist.
    """
    dsm_path = Path(path).expanduser()
    if not dsm_path.is_file():
        raise InputError(f"DSM not found: {dsm_path}; check the dsm path")
    return cache.source_identity(dsm_path)


def add_dsm_structures(
    grids: Grids,
    dsm_path: str,
    threshold: float,
    resampling: str,
    default_crs: CRS,
    unit_m: float,
) -> dict[str, Any]:
    """Give cells where the DSM rises above the terrain a structure.

    The DSM is warped onto the twin's grid like the terrain. Where it is more
    than ``threshold`` metres above a valid cell, the cell's structure
    height is the difference and its class is building. Trees count as
    structures too, because a DSM cannot tell them from roofs.

    Args:
        grids: The twin's arrays, changed in place.
        dsm_path: Path of the DSM raster.
        threshold: Minimum height above terrain of a structure, metres.
        resampling: Resampling name used for the terrain.
        default_crs: CRS to assume when the DSM has none (the terrain's).
        unit_m: Metres per DSM height unit (the terrain's unit).

    Returns:
        The DSM report: path, threshold, structure cells and highest
        structure in metres.
    """
    rows, cols = grids.heights.shape
    left, top = grids.transform.c, grids.transform.f
    bottom = top + rows * grids.transform.e
    right = left + cols * grids.transform.a
    with open_dem(dsm_path) as opened:
        src_crs = (
            CRS.from_wkt(opened.dataset.crs.to_wkt())
            if opened.dataset.crs is not None
            else default_crs
        )
        dsm_bounds = rasterio.warp.transform_bounds(
            grids.crs.to_wkt(),
            src_crs.to_wkt(),
            left,
            bottom,
            right,
            top,
            densify_pts=21,
        )
        read = read_single(opened.dataset, dsm_bounds)
        if read is None:
            raise InputError(
                f"DSM {dsm_path} does not cover the twin; give a DSM of the "
                "same area as the DEM"
            )
        band, src_transform = read
    src_heights = np.ma.getdata(band).astype(np.float32) * np.float32(unit_m)
    src_heights[np.ma.getmaskarray(band)] = np.nan
    surface = np.full(grids.heights.shape, np.nan, dtype=np.float32)
    warp_to_grid(
        src_heights,
        src_transform,
        src_crs,
        surface,
        grids.transform,
        grids.crs,
        resampling,
    )
    above = surface - grids.heights
    structures = grids.valid & np.isfinite(above) & (above > threshold)
    grids.structure_heights[structures] = above[structures]
    grids.classes[structures] = SurfaceClass.BUILDING
    count = int(structures.sum())
    logger.info("%d structure cells from DSM %s", count, dsm_path)
    return {
        "source": str(dsm_path),
        "threshold_m": threshold,
        "cells": count,
        "max_height_m": float(above[structures].max()) if count else 0.0,
    }
