"""Build a :class:`TerrainTwin` from a single-band DEM in any CRS."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import rasterio.fill
import rasterio.warp
import rasterio.windows
from pyproj import CRS, Proj, Transformer
from pyproj.exceptions import CRSError
from rasterio.transform import from_origin
from scipy import ndimage

from twin_gym.errors import InputError
from twin_gym.terrain import cache
from twin_gym.terrain.burn import Grids, apply_layers
from twin_gym.terrain.generated import GENERATED_PREFIX
from twin_gym.terrain.layers import LayerSpec
from twin_gym.terrain.mosaic import read_mosaic, read_single
from twin_gym.terrain.sources import DemSource, OpenedDem, open_dem
from twin_gym.terrain.surface import (
    VERTICAL_UNIT_M,
    add_dsm_structures,
    dsm_identity,
    vertical_unit_m,
    warp_to_grid,
)
from twin_gym.terrain.twin import TerrainTwin, ground_classes
from twin_gym.terrain.working_crs import choose_working_crs

logger = logging.getLogger(__name__)

MAX_CELLS = 400_000_000
"""Largest grid a build accepts (1.6 GB of float32 heights)."""

ResamplingName = Literal["bilinear", "cubic", "nearest"]
VerticalUnit = Literal["auto", "m", "ft", "us-ft"]


@dataclass(frozen=True)
class BuildOptions:
    """Options that turn a DEM into a twin. Every field is part of the cache key."""

    cell_size: float = 30.0
    """Edge of the twin's square cells in metres."""
    working_crs: str = "local-tm"
    """``"local-tm"`` (transverse Mercator centred on the area of interest,
    scale factor 1), ``"utm"`` (the local UTM zone) or any projected CRS that
    pyproj accepts, such as ``"EPSG:32631"``."""
    src_crs: str | None = None
    """CRS of the source, used when the file has none; overrides the file's
    CRS when given."""
    aoi: tuple[float, float, float, float] | None = None
    """Area of interest as (left, bottom, right, top); the whole raster when
    None."""
    aoi_crs: str = "EPSG:4326"
    """CRS of ``aoi``: ``"EPSG:4326"`` for lon/lat, ``"source"`` for the
    source CRS, or any CRS that pyproj accepts."""
    fill_max_pixels: float = 10.0
    """Largest distance, in source pixels, over which holes in the source are
    filled by ``rasterio.fill.fillnodata``; cells farther from data stay
    invalid."""
    resampling: ResamplingName = "bilinear"
    """Resampling used to reproject the heights."""
    vertical_datum: str | None = None
    """Name of the heights' vertical datum when the source does not state
    it. Heights are never transformed between vertical datums."""
    src_nodata: float | None = None
    """No-data value of the source, replacing the file's own. Use it for
    rasters that declare none or the wrong one. NaN is always no data."""
    vertical_unit: VerticalUnit = "auto"
    """Unit of the source heights: ``"m"``, ``"ft"`` (international foot),
    ``"us-ft"`` (US survey foot), or ``"auto"`` for the unit of a compound
    CRS's vertical axis, else metres. Twins store metres."""
    dsm: str | None = None
    """Path of a surface model (DSM) of the same area, in any CRS. Where the
    DSM is more than ``structure_threshold`` above the terrain, the
    cell gets a structure of that height and the building class."""
    structure_threshold: float = 2.5
    """Least DSM height above the terrain, in metres, that counts as a
    structure."""
    layers: tuple[LayerSpec, ...] = ()
    """Vector layers of buildings, roads, water and vegetation to place on
    the terrain, burned in the order vegetation, water, roads, buildings."""

    def __post_init__(self) -> None:
        for name in ("cell_size", "fill_max_pixels", "structure_threshold"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InputError(f"{name} must be a number, got {value!r}")
        if self.aoi is not None and not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in self.aoi
        ):
            raise InputError(
                f"aoi must be four numbers (left, bottom, right, top), got {self.aoi}"
            )
        if not (math.isfinite(self.cell_size) and self.cell_size > 0):
            raise InputError(
                f"cell_size must be a positive number of metres, got {self.cell_size}"
            )
        if self.resampling not in ("bilinear", "cubic", "nearest"):
            raise InputError(
                "resampling must be bilinear, cubic or nearest, "
                f"got {self.resampling!r}"
            )
        if self.fill_max_pixels < 0:
            raise InputError(
                f"fill_max_pixels must be >= 0, got {self.fill_max_pixels}"
            )
        if self.vertical_unit not in VERTICAL_UNIT_M and self.vertical_unit != "auto":
            raise InputError(
                "vertical_unit must be auto, "
                f"{', '.join(VERTICAL_UNIT_M)}, got {self.vertical_unit!r}"
            )
        if not (
            math.isfinite(self.structure_threshold) and self.structure_threshold > 0
        ):
            raise InputError(
                "structure_threshold must be a positive number of metres, "
                f"got {self.structure_threshold}"
            )
        if not all(isinstance(layer, LayerSpec) for layer in self.layers):
            raise InputError("layers must be LayerSpec values")
        if self.aoi is not None:
            if len(self.aoi) != 4 or not all(math.isfinite(v) for v in self.aoi):
                raise InputError(
                    "aoi must be four numbers (left, bottom, right, top), "
                    f"got {self.aoi}"
                )
            left, bottom, right, top = self.aoi
            if not (left < right and bottom < top):
                raise InputError(
                    f"aoi {self.aoi} is empty; give (left, bottom, right, top) "
                    "with left < right and bottom < top"
                )

    def cache_params(self) -> dict:
        """Return the options as a JSON-ready dict for the cache key.

        Tuples become lists, as they do when a twin's metadata is saved and
        loaded, so a loaded twin's options equal a fresh build's.
        """
        return json.loads(json.dumps(dataclasses.asdict(self)))


def build_twin(
    source: DemSource, *, use_cache: bool = True, **options: object
) -> TerrainTwin:
    """Build a terrain twin from a DEM, or load it from the cache.

    Args:
        source: Path to a single-band raster that rasterio opens, a list of
            such paths (tiles of one mosaic, in one CRS),
            ``"matplotlib:jacksboro_fault_dem.npz"`` for matplotlib's sample
            DEM, or ``"flat:HEIGHT"`` for flat ground at HEIGHT metres over
            the ``aoi`` option's area.
        use_cache: Load a twin built earlier with the same source and options
            and store a new build; False builds afresh and stores nothing.
        **options: Fields of :class:`BuildOptions`.

    Raises:
        InputError: The source or an option is invalid; the message names
            the value and the fix.
    """
    try:
        build_options = BuildOptions(**options)  # type: ignore[arg-type]
    except TypeError as error:
        raise InputError(f"invalid build option: {error}") from None

    with open_dem(source, build_options.aoi, build_options.aoi_crs) as opened:
        params = build_options.cache_params()
        if build_options.layers:
            # Layer files are sources too: editing one must rebuild the twin.
            params["layer_files"] = [
                _layer_identity(layer) for layer in build_options.layers
            ]
        if build_options.dsm is not None:
            params["dsm_file"] = dsm_identity(build_options.dsm)
        key = cache.cache_key(opened.identity, params)
        cache_path = cache.cache_dir() / f"{key}.npz"
        if use_cache and cache_path.exists():
            try:
                # Mapping makes a cached twin of any size load at once.
                twin = TerrainTwin.load(str(cache_path), mmap=True)
            except (
                OSError,
                ValueError,
                KeyError,
                EOFError,
                zipfile.BadZipFile,
            ) as error:
                logger.warning(
                    "ignoring unreadable cached twin %s: %s", cache_path, error
                )
            else:
                logger.info("loaded cached twin %s", cache_path)
                return twin
        twin = _build(opened, build_options)

    if use_cache:
        try:
            cache.write_atomic(cache_path, twin.save)
        except OSError as error:
            # The twin itself is fine; only the next build will be slower.
            logger.warning("could not cache the twin at %s: %s", cache_path, error)
        else:
            logger.info("cached twin at %s", cache_path)
    return twin


def _layer_identity(layer: LayerSpec) -> dict:
    if layer.source.startswith(GENERATED_PREFIX):
        # A generated layer depends only on its source string and the
        # package version, and both are in the key already.
        return {"generated": layer.source}
    path = Path(layer.source).expanduser()
    if not path.is_file():
        raise InputError(f"{layer.kind} layer not found: {path}; check the path")
    return cache.source_identity(path)


def _build(opened: OpenedDem, options: BuildOptions) -> TerrainTwin:
    dataset = opened.dataset
    src_crs = _source_crs(opened, options)
    aoi_src = _aoi_in_source(opened, src_crs, options)

    geodetic = src_crs.geodetic_crs
    to_geodetic = Transformer.from_crs(src_crs, geodetic, always_xy=True)
    lon_min, lat_min, lon_max, lat_max = to_geodetic.transform_bounds(
        *aoi_src, densify_pts=21
    )
    anchor = (0.5 * (lon_min + lon_max), 0.5 * (lat_min + lat_max))
    working = choose_working_crs(options.working_crs, src_crs, anchor)

    to_working = Transformer.from_crs(geodetic, working, always_xy=True)
    origin_xy = tuple(float(v) for v in to_working.transform(*anchor))
    left, bottom, right, top = Transformer.from_crs(
        src_crs, working, always_xy=True
    ).transform_bounds(*aoi_src, densify_pts=21)
    if options.aoi is not None and options.aoi_crs != "source":
        # The box of a box grows with the rotation between the two CRSs, so
        # the AOI's own box in the working CRS bounds the grid as well.
        aoi_crs = _parse_crs(options.aoi_crs, "aoi_crs")
        aoi_left, aoi_bottom, aoi_right, aoi_top = Transformer.from_crs(
            aoi_crs, working, always_xy=True
        ).transform_bounds(*options.aoi, densify_pts=21)
        left, bottom = max(left, aoi_left), max(bottom, aoi_bottom)
        right, top = min(right, aoi_right), min(top, aoi_top)
    dst_transform, dst_shape = _snap_grid(
        (left, bottom, right, top), origin_xy, options.cell_size, opened.label
    )

    # Read the source under the whole grid, because the grid's corners reach
    # beyond aoi_src where the working CRS is rotated against the source CRS.
    rows, cols = dst_shape
    grid_left, grid_top = dst_transform.c, dst_transform.f
    grid_src = Transformer.from_crs(working, src_crs, always_xy=True).transform_bounds(
        grid_left,
        grid_top - rows * options.cell_size,
        grid_left + cols * options.cell_size,
        grid_top,
        densify_pts=21,
    )
    src_heights, src_transform, filled = _read_source(opened, grid_src, options)
    unit_m = vertical_unit_m(options.vertical_unit, src_crs)
    if unit_m != 1.0:
        src_heights *= np.float32(unit_m)
    heights = np.full(dst_shape, np.nan, dtype=np.float32)
    warp_to_grid(
        src_heights,
        src_transform,
        src_crs,
        heights,
        dst_transform,
        working,
        options.resampling,
    )
    del src_heights
    valid = np.isfinite(heights)
    if not valid.any():
        raise InputError(
            f"{opened.label} has no valid heights in the area of interest; "
            "pick an area that the DEM covers with data"
        )
    _fill_invalid_with_nearest(heights, valid)

    grids = Grids(
        heights=heights,
        valid=valid,
        classes=ground_classes(valid),
        structure_heights=np.zeros(dst_shape, dtype=np.float32),
        transform=dst_transform,
        crs=working,
    )
    dsm_report = None
    if options.dsm is not None:
        dsm_report = add_dsm_structures(
            grids,
            options.dsm,
            options.structure_threshold,
            options.resampling,
            src_crs,
            unit_m,
        )
    reports = apply_layers(grids, options.layers)

    factors = Proj(working).get_factors(*anchor)
    twin = TerrainTwin(
        heights=heights,
        valid=valid,
        classes=grids.classes,
        structure_heights=grids.structure_heights,
        transform=dst_transform,
        crs_wkt=working.to_wkt(),
        origin_xy=origin_xy,
        anchor_lonlat=anchor,
        convergence_deg=float(factors.meridian_convergence),
        scale_factor=float(factors.meridional_scale),
        vertical_datum=_vertical_datum(opened, src_crs, options),
        metadata={
            "source": opened.label,
            "source_crs": src_crs.name,
            "source_res": list(dataset.res),
            "source_nodata": _source_nodata(dataset, options),
            "vertical_unit_m": unit_m,
            "filled_source_pixels": int(filled),
            "options": options.cache_params(),
            "layers": [report.to_dict() for report in reports],
            **({"dsm": dsm_report} if dsm_report is not None else {}),
        },
    )
    logger.info(
        "built %s x %s twin from %s (%.1f%% no data)",
        dst_shape[1],
        dst_shape[0],
        opened.label,
        100 * twin.no_data_fraction(),
    )
    return twin


def _source_crs(opened: OpenedDem, options: BuildOptions) -> CRS:
    if options.src_crs is not None:
        crs = _parse_crs(options.src_crs, "src_crs")
    elif opened.dataset.crs is None:
        raise InputError(
            f"{opened.label} has no CRS; name the CRS it is in with src_crs "
            "(--src-crs on the command line), for example EPSG:32631"
        )
    else:
        try:
            crs = CRS.from_user_input(opened.dataset.crs.to_wkt())
        except CRSError:
            crs = None
        if crs is None or not (crs.is_geographic or crs.is_projected):
            raise InputError(
                f"{opened.label} has no usable CRS (it declares "
                f"{opened.dataset.crs.to_wkt()[:60]!r}); name the CRS it is in "
                "with src_crs (--src-crs on the command line)"
            )
    if not (crs.is_geographic or crs.is_projected):
        raise InputError(
            f"src_crs {options.src_crs!r} is neither geographic nor projected; "
            "give a CRS such as EPSG:4326 or a UTM zone"
        )
    return crs


def _parse_crs(text: str, field: str) -> CRS:
    try:
        return CRS.from_user_input(text)
    except CRSError:
        raise InputError(
            f"{field} {text!r} is not a CRS that pyproj knows; "
            "give an EPSG code such as EPSG:4326, a PROJ string or WKT"
        ) from None


def _aoi_in_source(
    opened: OpenedDem, src_crs: CRS, options: BuildOptions
) -> tuple[float, float, float, float]:
    """Return the area of interest, clipped to the raster, in the source CRS."""
    data_bounds = opened.bounds
    if options.aoi is None:
        return data_bounds
    if options.aoi_crs == "source":
        aoi_src = options.aoi
    else:
        aoi_crs = _parse_crs(options.aoi_crs, "aoi_crs")
        aoi_src = Transformer.from_crs(
            aoi_crs, src_crs, always_xy=True
        ).transform_bounds(*options.aoi, densify_pts=21)
    left = max(aoi_src[0], data_bounds[0])
    bottom = max(aoi_src[1], data_bounds[1])
    right = min(aoi_src[2], data_bounds[2])
    top = min(aoi_src[3], data_bounds[3])
    if not (left < right and bottom < top):
        rounded = tuple(round(v, 6) for v in data_bounds)
        raise InputError(
            f"area of interest {options.aoi} ({options.aoi_crs}) does not overlap "
            f"{opened.label}, whose bounds are {rounded} "
            "in the source CRS; pick an area inside them"
        )
    return (left, bottom, right, top)


def _snap_grid(
    bounds: tuple[float, float, float, float],
    origin_xy: tuple[float, float],
    cell_size: float,
    label: str,
):
    """Return the north-up transform and (rows, cols) of a grid covering bounds.

    Cell edges fall on whole multiples of ``cell_size`` from the origin, so two
    builds with the same anchor share a lattice.
    """
    left, bottom, right, top = bounds
    ox, oy = origin_xy
    grid_left = ox + math.floor((left - ox) / cell_size) * cell_size
    grid_top = oy + math.ceil((top - oy) / cell_size) * cell_size
    cols = math.ceil((right - grid_left) / cell_size)
    rows = math.ceil((grid_top - bottom) / cell_size)
    if rows < 2 or cols < 2:
        raise InputError(
            f"the area of interest of {label} is smaller than 2 x 2 cells of "
            f"{cell_size} m; use a smaller cell_size or a larger area"
        )
    if rows * cols > MAX_CELLS:
        raise InputError(
            f"a {cols} x {rows} grid at {cell_size} m is larger than {MAX_CELLS} "
            "cells; use a larger cell_size or a smaller area of interest"
        )
    return from_origin(grid_left, grid_top, cell_size, cell_size), (rows, cols)


def _read_source(
    opened: OpenedDem, bounds: tuple[float, float, float, float], options: BuildOptions
) -> tuple[np.ndarray, object, int]:
    """Read the source window around source-CRS bounds as float32, NaN for no data.

    Holes narrower than ``fill_max_pixels`` are filled first. Returns the
    heights, the window's transform and the number of filled pixels.
    """
    if opened.tiles:
        read = read_mosaic(opened.tiles, bounds, opened.label)
    else:
        read = read_single(opened.dataset, bounds)
    if read is None:
        raise InputError(
            f"{opened.label} does not cover the area of interest; "
            "pick an area inside the DEM"
        )
    band, window_transform = read
    # The reader returns float32 already, so this takes the data without a copy.
    heights = np.asarray(np.ma.getdata(band), dtype=np.float32)
    valid = np.isfinite(heights)
    if options.src_nodata is not None:
        # The user's value replaces the file's mask, which may mark nothing.
        valid &= heights != np.float32(options.src_nodata)
    else:
        valid &= ~np.ma.getmaskarray(band)
    del band
    if not valid.any():
        raise InputError(
            f"{opened.label} is all no data in the area of interest; "
            "check its nodata value or pick another area"
        )
    heights[~valid] = np.nan

    filled = 0
    if options.fill_max_pixels > 0 and not valid.all():
        # Pixels the fill cannot reach keep their NaN, so nothing unreached
        # turns into a made-up height.
        heights = rasterio.fill.fillnodata(
            heights,
            mask=valid.astype(np.uint8),
            max_search_distance=options.fill_max_pixels,
            smoothing_iterations=0,
        )
        filled = int((np.isfinite(heights) & ~valid).sum())
    return heights, window_transform, filled


def _fill_invalid_with_nearest(heights: np.ndarray, valid: np.ndarray) -> None:
    """Give invalid cells the height of the nearest valid cell, in place."""
    if valid.all():
        return
    # int32 indices halve the memory of scipy's default int64 ones.
    indices = np.empty((2, *valid.shape), dtype=np.int32)
    ndimage.distance_transform_edt(
        ~valid, return_distances=False, return_indices=True, indices=indices
    )
    invalid = ~valid
    heights[invalid] = heights[indices[0][invalid], indices[1][invalid]]


def _source_nodata(dataset, options: BuildOptions) -> float | None:
    if options.src_nodata is not None:
        return float(options.src_nodata)
    return None if dataset.nodata is None else float(dataset.nodata)


def _vertical_datum(opened: OpenedDem, src_crs: CRS, options: BuildOptions) -> str:
    if options.vertical_datum:
        return options.vertical_datum
    for sub_crs in src_crs.sub_crs_list:
        if sub_crs.is_vertical:
            return sub_crs.name
    tags = opened.dataset.tags()
    for key in ("DTED_VerticalDatum", "VERTICAL_DATUM", "VERT_DATUM"):
        if key in tags:
            return tags[key]
    return "unknown"
