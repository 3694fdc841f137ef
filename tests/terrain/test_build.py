"""Tests of build_twin against independent rasterio and pyproj reads of real DEMs."""

import math

import numpy as np
import pytest
import rasterio
from pyproj import CRS, Geod, Proj, Transformer
from scipy import ndimage

from twin_gym.errors import InputError
from twin_gym.terrain.build import build_twin
from twin_gym.terrain.twin import TerrainTwin

PYSHEDS = "pysheds/dem.tif"
BIGTUJUNGA = "bigtujunga/srtm_bigtujunga30m_utm11.tif"
ALEXANDRIA = "alexandria-lidar/dtm.tif"
BIG_HOLE = "srtm-ventoux/N44E005_big_hole.tif"
PHILONDENX = "philondenx-dtm/dtm_philondenx_32630_nan.tif"
WHITEBOX = "whitebox/DEM.tif"
LANDLAB = "landlab-asc/SRTMGL3_40.09_-105.56_40.21_-105.44.asc"

# Each case has cells smaller than the source pixels, so the warp upsamples and
# applies the plain 2 x 2 bilinear kernel (see test_heights_match_source).
UPSAMPLED_CASES = {
    "geographic": (PYSHEDS, {"cell_size": 30.0, "aoi": (-97.40, 32.62, -97.34, 32.68)}),
    "projected": (
        BIGTUJUNGA,
        {"cell_size": 20.0, "aoi": (-118.25, 34.28, -118.19, 34.33)},
    ),
    "nodata": (ALEXANDRIA, {"cell_size": 1.5}),
    "hole": (BIG_HOLE, {"cell_size": 60.0, "aoi": (5.20, 44.12, 5.36, 44.24)}),
    "nan": (PHILONDENX, {"cell_size": 0.75, "aoi": (-0.4215, 43.567, -0.4165, 43.570)}),
}

# GDAL's approximate transformer, which rasterio's reproject uses, maps each
# cell centre to the source with an error of up to 0.125 source pixel.
WARP_POSITION_ERROR_PX = 0.125
FLOAT32_SLACK_M = 1e-3


def source_heights(dataset) -> np.ndarray:
    """Read band 1 as float64 with NaN where the mask or the value is invalid."""
    band = dataset.read(1, masked=True)
    values = np.ma.getdata(band).astype(np.float64)
    values[np.ma.getmaskarray(band) | ~np.isfinite(values)] = np.nan
    return values


def source_pixel_coords(twin: TerrainTwin, dataset, rows, cols):
    """Map twin cell centres to fractional (col, row) source pixel coordinates.

    The path is independent of the build: local metres to lon/lat through the
    twin, then lon/lat to the source CRS through a fresh pyproj Transformer.
    """
    x, y = twin.cell_centre(rows, cols)
    lon, lat, _ = twin.local_to_lonlat(x, y)
    to_source = Transformer.from_crs(
        twin.crs.geodetic_crs, CRS.from_wkt(dataset.crs.to_wkt()), always_xy=True
    )
    sx, sy = to_source.transform(lon, lat)
    col, row = ~dataset.transform @ (np.asarray(sx), np.asarray(sy))
    return np.asarray(col), np.asarray(row)


def support_block(values: np.ndarray, col: np.ndarray, row: np.ndarray):
    """Return the 4 x 4 pixel block around each point and the point's offsets.

    The block spans one pixel beyond the 2 x 2 bilinear support on each side,
    so it also holds the support of a point moved by up to half a pixel.
    Returns the block (NaN-padded indices are clipped), whether the block lies
    inside the raster, and the fractional offsets (fx, fy) in the 2 x 2 cell.
    """
    height, width = values.shape
    u = col - 0.5
    v = row - 0.5
    c0 = np.floor(u).astype(np.int64)
    r0 = np.floor(v).astype(np.int64)
    inside = (r0 >= 1) & (r0 + 2 < height) & (c0 >= 1) & (c0 + 2 < width)
    offsets = np.arange(-1, 3)
    block_rows = np.clip(r0[:, None, None] + offsets[None, :, None], 0, height - 1)
    block_cols = np.clip(c0[:, None, None] + offsets[None, None, :], 0, width - 1)
    return values[block_rows, block_cols], inside, (u - c0, v - r0)


def bilinear_reference(values: np.ndarray, col: np.ndarray, row: np.ndarray):
    """Interpolate ``values`` bilinearly between pixel centres.

    Returns the interpolated heights, the largest difference between
    neighbouring pixels in the 4 x 4 block around each point, and whether that
    block lies inside the raster with every pixel valid.
    """
    block, inside, (fx, fy) = support_block(values, col, row)
    usable = inside & np.isfinite(block).all(axis=(1, 2))

    a00 = block[:, 1, 1]
    a01 = block[:, 1, 2]
    a10 = block[:, 2, 1]
    a11 = block[:, 2, 2]
    interpolated = (
        (1 - fy) * (1 - fx) * a00
        + (1 - fy) * fx * a01
        + fy * (1 - fx) * a10
        + fy * fx * a11
    )
    with np.errstate(invalid="ignore"):
        step_x = np.nanmax(np.abs(np.diff(block, axis=2)), axis=(1, 2), initial=0.0)
        step_y = np.nanmax(np.abs(np.diff(block, axis=1)), axis=(1, 2), initial=0.0)
    return interpolated, np.maximum(step_x, step_y), usable


def all_cells(twin: TerrainTwin):
    rows, cols = np.indices(twin.shape)
    return rows.ravel(), cols.ravel()


@pytest.mark.parametrize("case", sorted(UPSAMPLED_CASES))
def test_heights_match_source(shared_data, case):
    name, options = UPSAMPLED_CASES[case]
    twin = build_twin(shared_data / name, **options)
    rows, cols = all_cells(twin)

    with rasterio.open(shared_data / name) as dataset:
        values = source_heights(dataset)
        col, row = source_pixel_coords(twin, dataset, rows, cols)
    reference, step, usable = bilinear_reference(values, col, row)

    # Every twin cell is smaller than a source pixel, so GDAL's warper applies
    # the 2 x 2 bilinear kernel unscaled. The twin therefore samples the same
    # bilinear surface as the reference, at a point off by at most 0.125
    # source pixel in each axis. Along one axis that surface changes by at
    # most `step` (the largest neighbour difference in the block) per pixel.
    # So the two differ by at most 2 * 0.125 * step, plus float32 rounding.
    tolerance = 2 * WARP_POSITION_ERROR_PX * step + FLOAT32_SLACK_M
    twin_heights = twin.heights[rows, cols].astype(np.float64)
    error = np.abs(twin_heights - reference)

    assert usable.sum() > 5000
    assert twin.valid[rows[usable], cols[usable]].all()
    excess = error[usable] - tolerance[usable]
    worst = int(np.argmax(excess))
    assert excess[worst] <= 0, (
        f"cell {rows[usable][worst]}, {cols[usable][worst]}: "
        f"twin {twin_heights[usable][worst]:.3f} m, "
        f"source {reference[usable][worst]:.3f} m, "
        f"allowed {tolerance[usable][worst]:.3f} m"
    )


@pytest.mark.parametrize("case", sorted(UPSAMPLED_CASES))
def test_heights_finite(shared_data, case):
    name, options = UPSAMPLED_CASES[case]
    twin = build_twin(shared_data / name, **options)

    assert twin.heights.dtype == np.float32
    assert np.isfinite(twin.heights).all()
    assert twin.valid.dtype == np.bool_
    assert twin.valid.any()


def test_downsampled_heights_in_local_range(shared_data):
    cell_size = 250.0
    twin = build_twin(shared_data / PYSHEDS, cell_size=cell_size)
    rows, cols = all_cells(twin)

    with rasterio.open(shared_data / PYSHEDS) as dataset:
        values = source_heights(dataset)
        col, row = source_pixel_coords(twin, dataset, rows, cols)
    # 3 arc-seconds are 78 m east-west and 93 m north-south at this latitude.
    # When downsampling, GDAL widens the bilinear kernel to at most
    # cell_size / pixel size source pixels (3.2 here). Its weights are not
    # negative, so each twin height lies between the min and max of the source
    # pixels within that radius. One more pixel covers the 0.125-pixel
    # position error and the rounding to whole pixels.
    radius = math.ceil(cell_size / 78.0) + 1
    footprint = np.ones((2 * radius + 1, 2 * radius + 1), dtype=bool)
    low = ndimage.minimum_filter(values, footprint=footprint, mode="nearest")
    high = ndimage.maximum_filter(values, footprint=footprint, mode="nearest")

    height, width = values.shape
    pixel_col = np.floor(col).astype(np.int64)
    pixel_row = np.floor(row).astype(np.int64)
    inside = (
        (pixel_row >= radius)
        & (pixel_row < height - radius)
        & (pixel_col >= radius)
        & (pixel_col < width - radius)
    )
    pixel_row = pixel_row[inside]
    pixel_col = pixel_col[inside]
    twin_heights = twin.heights[rows[inside], cols[inside]]

    assert inside.sum() > 10000
    assert (twin_heights >= low[pixel_row, pixel_col] - FLOAT32_SLACK_M).all()
    assert (twin_heights <= high[pixel_row, pixel_col] + FLOAT32_SLACK_M).all()


@pytest.mark.parametrize(
    ("name", "options", "fill_max_pixels"),
    [
        (ALEXANDRIA, {"cell_size": 1.0}, 0.0),
        (BIG_HOLE, {"cell_size": 60.0, "aoi": (5.20, 44.12, 5.36, 44.24)}, 10.0),
        (PHILONDENX, {"cell_size": 1.0}, 10.0),
    ],
    ids=["nodata", "hole", "nan"],
)
def test_masked_source_invalid(shared_data, name, options, fill_max_pixels):
    twin = build_twin(shared_data / name, fill_max_pixels=fill_max_pixels, **options)
    rows, cols = all_cells(twin)

    with rasterio.open(shared_data / name) as dataset:
        values = source_heights(dataset)
        col, row = source_pixel_coords(twin, dataset, rows, cols)
    _, _, usable = bilinear_reference(values, col, row)
    if fill_max_pixels == 0:
        # Without filling, a cell is invalid when every pixel that the
        # bilinear kernel can reach from it is invalid.
        block, inside, _ = support_block(values, col, row)
        in_hole = inside & np.isnan(block).all(axis=(1, 2))
    else:
        # A source pixel farther than fill_max_pixels + 2 pixels from any
        # valid one is out of reach of both the filling and the kernel.
        reach = math.ceil(fill_max_pixels) + 2
        structure = np.ones((2 * reach + 1, 2 * reach + 1), dtype=bool)
        deep_hole = ndimage.binary_erosion(
            np.isnan(values), structure=structure, border_value=1
        )
        height, width = values.shape
        pixel_col = np.floor(col).astype(np.int64)
        pixel_row = np.floor(row).astype(np.int64)
        inside = (
            (pixel_row >= 0)
            & (pixel_row < height)
            & (pixel_col >= 0)
            & (pixel_col < width)
        )
        in_hole = np.zeros_like(inside)
        in_hole[inside] = deep_hole[pixel_row[inside], pixel_col[inside]]

    assert in_hole.sum() > 20
    assert not twin.valid[rows[in_hole], cols[in_hole]].any()
    assert twin.valid[rows[usable], cols[usable]].all()
    assert np.isfinite(twin.heights).all()
    # Invalid cells carry the height of a valid cell, not a made-up value.
    assert np.isin(twin.heights[~twin.valid], twin.heights[twin.valid]).all()


def test_nan_pixel_finite_heights(shared_data):
    twin = build_twin(shared_data / PHILONDENX, cell_size=1.0, fill_max_pixels=0.0)

    with rasterio.open(shared_data / PHILONDENX) as dataset:
        # The single NaN pixel sits at row 6, col 8 and is not masked by nodata.
        assert np.isnan(dataset.read(1)[6, 8])
        assert dataset.read_masks(1)[6, 8] == 255
        x, y = dataset.xy(6, 8)
        src_crs = CRS.from_wkt(dataset.crs.to_wkt())
    lon, lat = Transformer.from_crs(
        src_crs, twin.crs.geodetic_crs, always_xy=True
    ).transform(x, y)
    local_x, local_y, _ = twin.lonlat_to_local(lon, lat)
    row, col = twin.cell_of(local_x, local_y)
    window = twin.heights[row - 2 : row + 3, col - 2 : col + 3]

    assert window.shape == (5, 5)
    assert np.isfinite(window).all()
    assert (window > 200).all()


# --- Coordinates: round trips, anchor, scale and convergence -----------------


def test_round_trip_local_lonlat(shared_data):
    twin = build_twin(shared_data / BIGTUJUNGA, **UPSAMPLED_CASES["projected"][1])
    rng = np.random.default_rng(7)
    x_min, y_min, x_max, y_max = twin.local_extent
    x = rng.uniform(x_min, x_max, 200)
    y = rng.uniform(y_min, y_max, 200)
    z = rng.uniform(0, 3000, 200)

    lon, lat, height = twin.local_to_lonlat(x, y, z)
    x_back, y_back, z_back = twin.lonlat_to_local(lon, lat, height)

    assert np.abs(x_back - x).max() < 1e-3
    assert np.abs(y_back - y).max() < 1e-3
    np.testing.assert_array_equal(z_back, z)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        (PYSHEDS, UPSAMPLED_CASES["geographic"][1]),
        (BIGTUJUNGA, UPSAMPLED_CASES["projected"][1]),
        (ALEXANDRIA, {"cell_size": 5.0}),
    ],
    ids=["geographic", "utm-wgs84", "utm-nad83"],
)
def test_local_tm_matches_proj_string(shared_data, name, options):
    twin = build_twin(shared_data / name, **options)
    anchor_lon, anchor_lat = twin.anchor_lonlat
    ellipsoid = twin.crs.ellipsoid
    # The same projection written out by hand from its definition: transverse
    # Mercator, scale 1 and natural origin at the anchor.
    by_hand = CRS.from_proj4(
        f"+proj=tmerc +lat_0={anchor_lat!r} +lon_0={anchor_lon!r} +k=1 +x_0=0 "
        f"+y_0=0 +a={ellipsoid.semi_major_metre!r} +rf={ellipsoid.inverse_flattening!r}"
        " +units=m +no_defs"
    )
    to_lonlat = Transformer.from_crs(by_hand, by_hand.geodetic_crs, always_xy=True)
    rng = np.random.default_rng(3)
    x_min, y_min, x_max, y_max = twin.local_extent
    x = rng.uniform(x_min, x_max, 100)
    y = rng.uniform(y_min, y_max, 100)

    lon, lat, _ = twin.local_to_lonlat(x, y)
    expected_lon, expected_lat = to_lonlat.transform(
        x + twin.origin_xy[0], y + twin.origin_xy[1]
    )

    assert abs(twin.origin_xy[0]) < 1e-6
    assert abs(twin.origin_xy[1]) < 1e-6
    assert np.abs(lon - expected_lon).max() < 1e-9
    assert np.abs(lat - expected_lat).max() < 1e-9


def test_lonlat_matches_epsg4326(shared_data):
    twin = build_twin(shared_data / PYSHEDS, **UPSAMPLED_CASES["geographic"][1])
    to_wgs84 = Transformer.from_crs(twin.crs, "EPSG:4326", always_xy=True)
    rows = np.array([0, 10, 100, twin.shape[0] - 1])
    cols = np.array([0, 50, 150, twin.shape[1] - 1])
    x, y = twin.cell_centre(rows, cols)

    lon, lat, _ = twin.local_to_lonlat(x, y)
    expected_lon, expected_lat = to_wgs84.transform(
        x + twin.origin_xy[0], y + twin.origin_xy[1]
    )

    assert np.abs(lon - expected_lon).max() < 1e-9
    assert np.abs(lat - expected_lat).max() < 1e-9


def test_anchor_is_local_origin(shared_data):
    aoi = UPSAMPLED_CASES["projected"][1]["aoi"]
    twin = build_twin(shared_data / BIGTUJUNGA, cell_size=60.0, aoi=aoi)

    lon, lat, _ = twin.local_to_lonlat(0.0, 0.0)

    assert abs(lon - twin.anchor_lonlat[0]) < 1e-9
    assert abs(lat - twin.anchor_lonlat[1]) < 1e-9
    # The anchor is the centre of the area of interest.
    assert abs(twin.anchor_lonlat[0] - 0.5 * (aoi[0] + aoi[2])) < 1e-3
    assert abs(twin.anchor_lonlat[1] - 0.5 * (aoi[1] + aoi[3])) < 1e-3


def test_local_tm_scale_and_convergence(shared_data):
    twin = build_twin(
        shared_data / BIGTUJUNGA, cell_size=60.0, aoi=(-118.3, 34.24, -118.0, 34.4)
    )

    assert twin.scale_factor == pytest.approx(1.0, abs=1e-9)
    assert twin.convergence_deg == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("name", "options", "epsg"),
    [
        (
            BIGTUJUNGA,
            {"cell_size": 60.0, "aoi": (-118.25, 34.28, -118.15, 34.36)},
            32611,
        ),
        (PYSHEDS, {"cell_size": 250.0}, 32614),
        (ALEXANDRIA, {"cell_size": 5.0}, 26918),
    ],
    ids=["wgs84-zone11", "wgs84-zone14", "nad83-zone18"],
)
def test_utm_zone_and_factors(shared_data, name, options, epsg):
    twin = build_twin(shared_data / name, working_crs="utm", **options)
    lon, lat = twin.anchor_lonlat
    factors = Proj(CRS.from_epsg(epsg)).get_factors(lon, lat)

    assert twin.crs.to_epsg() == epsg
    assert twin.convergence_deg == pytest.approx(factors.meridian_convergence, abs=1e-9)
    assert twin.scale_factor == pytest.approx(factors.meridional_scale, abs=1e-12)


def test_utm_convergence_is_grid_north(shared_data):
    twin = build_twin(
        shared_data / BIGTUJUNGA,
        working_crs="utm",
        cell_size=60.0,
        aoi=(-118.25, 34.28, -118.15, 34.36),
    )
    lon, lat = twin.anchor_lonlat
    # Step 100 m due north along the meridian and measure, in grid
    # coordinates, the clockwise angle from grid north to that step.
    x0, y0, _ = twin.lonlat_to_local(lon, lat)
    x1, y1, _ = twin.lonlat_to_local(lon, lat + 0.0009)
    true_north_from_grid = math.degrees(math.atan2(x1 - x0, y1 - y0))

    # West of the central meridian (117 W) grid north turns west of true north.
    assert twin.convergence_deg < -0.5
    assert twin.convergence_deg == pytest.approx(-true_north_from_grid, abs=1e-4)
    # First-order formula: convergence = (lon - central meridian) * sin(lat).
    first_order = (lon + 117.0) * math.sin(math.radians(lat))
    assert twin.convergence_deg == pytest.approx(first_order, abs=1e-3)


@pytest.mark.parametrize(
    ("dx", "dy"),
    [(5000.0, 0.0), (0.0, 5000.0), (3535.5339, 3535.5339)],
    ids=["east", "north", "diagonal"],
)
def test_grid_metre_is_ground_metre(shared_data, dx, dy):
    twin = build_twin(
        shared_data / BIGTUJUNGA, cell_size=60.0, aoi=(-118.3, 34.24, -118.0, 34.4)
    )
    utm = build_twin(
        shared_data / BIGTUJUNGA,
        working_crs="utm",
        cell_size=60.0,
        aoi=(-118.3, 34.24, -118.0, 34.4),
    )
    geod = Geod(ellps="WGS84")

    def ground_distance(t: TerrainTwin) -> float:
        lon, lat, _ = t.local_to_lonlat(
            np.array([-dx / 2, dx / 2]), np.array([-dy / 2, dy / 2])
        )
        _, _, distance = geod.inv(lon[0], lat[0], lon[1], lat[1])
        return distance

    grid = math.hypot(dx, dy)

    assert abs(ground_distance(twin) - grid) / grid < 10e-6
    # UTM's scale of about 0.9997 here shows the check can tell the two apart.
    assert abs(ground_distance(utm) - grid) / grid > 100e-6


# --- Areas of interest ---------------------------------------------------------


def box_contains(outer, inner, margin=0.0) -> bool:
    return (
        outer[0] - margin <= inner[0]
        and outer[1] - margin <= inner[1]
        and inner[2] <= outer[2] + margin
        and inner[3] <= outer[3] + margin
    )


@pytest.mark.parametrize(
    ("name", "aoi", "aoi_crs"),
    [
        (PYSHEDS, (-97.40, 32.62, -97.30, 32.70), "EPSG:4326"),
        (BIGTUJUNGA, (-118.25, 34.28, -118.15, 34.36), "EPSG:4326"),
        (BIGTUJUNGA, (385000.0, 3795000.0, 395000.0, 3802000.0), "source"),
        (BIGTUJUNGA, (385000.0, 3795000.0, 395000.0, 3802000.0), "EPSG:32611"),
    ],
    ids=["lonlat-geographic", "lonlat-projected", "source", "named-crs"],
)
def test_aoi_clips_grid(shared_data, name, aoi, aoi_crs):
    cell_size = 60.0
    twin = build_twin(shared_data / name, cell_size=cell_size, aoi=aoi, aoi_crs=aoi_crs)
    with rasterio.open(shared_data / name) as dataset:
        src_crs = CRS.from_wkt(dataset.crs.to_wkt())
    aoi_crs_object = src_crs if aoi_crs == "source" else CRS.from_user_input(aoi_crs)
    aoi_box = Transformer.from_crs(
        aoi_crs_object, twin.crs, always_xy=True
    ).transform_bounds(*aoi, densify_pts=21)

    # The grid covers the AOI and overshoots it by less than one cell.
    assert box_contains(twin.bounds, aoi_box)
    assert box_contains(aoi_box, twin.bounds, margin=cell_size)


def test_aoi_partly_outside_clipped_to_raster(shared_data):
    # Only the south-west corner of this AOI overlaps the raster.
    twin = build_twin(
        shared_data / PYSHEDS, cell_size=90.0, aoi=(-97.22, 32.78, -97.0, 33.0)
    )
    with rasterio.open(shared_data / PYSHEDS) as dataset:
        raster_box = Transformer.from_crs(
            "EPSG:4326", twin.crs, always_xy=True
        ).transform_bounds(*dataset.bounds, densify_pts=21)

    assert box_contains(raster_box, twin.bounds, margin=90.0)
    assert twin.valid.mean() > 0.9


def test_aoi_outside_raster_rejected(shared_data):
    with pytest.raises(InputError, match="does not overlap"):
        build_twin(shared_data / PYSHEDS, aoi=(10.0, 10.0, 11.0, 11.0))


# --- Rasters without a CRS ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "src_crs", "anchor_box", "height_range"),
    [
        (WHITEBOX, "EPSG:32617", (-80.0, 43.0, -78.0, 45.0), (212.0, 1234.0)),
        (LANDLAB, "EPSG:4326", (-105.56, 40.09, -105.44, 40.21), (2186.0, 3345.0)),
    ],
    ids=["local-cs", "ascii-grid"],
)
def test_no_crs_needs_src_crs(shared_data, name, src_crs, anchor_box, height_range):
    with pytest.raises(InputError, match="src_crs"):
        build_twin(shared_data / name, cell_size=200.0)

    twin = build_twin(shared_data / name, cell_size=200.0, src_crs=src_crs)
    lon, lat = twin.anchor_lonlat
    low, high = twin.height_range()

    assert anchor_box[0] < lon < anchor_box[2]
    assert anchor_box[1] < lat < anchor_box[3]
    assert height_range[0] - 1 <= low < high <= height_range[1] + 1
    assert np.isfinite(twin.heights).all()
    assert twin.metadata["source_crs"] == CRS.from_user_input(src_crs).name


def test_src_crs_invalid_rejected(shared_data):
    with pytest.raises(InputError, match="not-a-crs"):
        build_twin(shared_data / WHITEBOX, cell_size=200.0, src_crs="not-a-crs")


def test_src_crs_vertical_rejected(shared_data):
    with pytest.raises(InputError, match="neither geographic nor projected"):
        build_twin(shared_data / WHITEBOX, cell_size=200.0, src_crs="EPSG:5773")
