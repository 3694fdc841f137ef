"""Tests of the default map, built from matplotlib's Jacksboro fault DEM."""

import matplotlib.cbook
import numpy as np
import pytest
from pyproj import Geod

from twin_gym.maps import DEFAULT_MAP, load_map

# Extent of the sample DEM in degrees, rounded outwards.
WEST, EAST = -84.414, -84.078
SOUTH, NORTH = 36.446, 36.733


@pytest.fixture(scope="module")
def jacksboro():
    """Return the default map's twin and the sample's own arrays.

    Built once without the cache: a module-scoped fixture runs before the
    per-test cache folder is set, so a cached build would land in the user's
    cache folder.
    """
    definition = load_map()
    twin = definition.build(use_cache=False)
    path = matplotlib.cbook.get_sample_data("jacksboro_fault_dem.npz", asfileobj=False)
    with np.load(path) as data:
        sample = {key: np.array(data[key]) for key in data.files}
    return definition, twin, sample


def bilinear(values, col, row):
    """Interpolate between pixel centres at fractional edge-based (col, row).

    Returns the heights and the largest difference between neighbouring
    pixels in the 4 x 4 block around each point.
    """
    u = np.asarray(col) - 0.5
    v = np.asarray(row) - 0.5
    c0 = np.floor(u).astype(np.int64)
    r0 = np.floor(v).astype(np.int64)
    fx = u - c0
    fy = v - r0
    offsets = np.arange(-1, 3)
    block = values[
        r0[:, None, None] + offsets[None, :, None], c0[:, None, None] + offsets
    ]
    block = block.astype(np.float64)
    interpolated = (
        (1 - fy) * (1 - fx) * block[:, 1, 1]
        + (1 - fy) * fx * block[:, 1, 2]
        + fy * (1 - fx) * block[:, 2, 1]
        + fy * fx * block[:, 2, 2]
    )
    step_x = np.abs(np.diff(block, axis=2)).max(axis=(1, 2))
    step_y = np.abs(np.diff(block, axis=1)).max(axis=(1, 2))
    return interpolated, np.maximum(step_x, step_y)


def test_default_map_definition():
    definition = load_map()

    assert DEFAULT_MAP == "jacksboro"
    assert definition.name == "jacksboro"
    assert definition.source == "matplotlib:jacksboro_fault_dem.npz"
    assert definition.options["src_crs"] == "EPSG:4326"
    assert definition.options["cell_size"] == 30.0


def test_anchor_inside_extent(jacksboro):
    _, twin, _ = jacksboro
    lon, lat = twin.anchor_lonlat

    assert WEST < lon < EAST
    assert SOUTH < lat < NORTH
    assert lon == pytest.approx(0.5 * (WEST + EAST), abs=1e-3)
    assert lat == pytest.approx(0.5 * (SOUTH + NORTH), abs=1e-3)


def test_heights_in_range(jacksboro):
    _, twin, _ = jacksboro
    low, high = twin.height_range()

    assert 236.0 <= low < high <= 1076.0
    assert high - low > 700.0
    assert np.isfinite(twin.heights).all()
    assert twin.valid.mean() > 0.99


def test_grid_size_matches_extent(jacksboro):
    _, twin, _ = jacksboro
    geod = Geod(ellps="WGS84")
    # The southern edge is the widest parallel of the extent, and the central
    # meridian is its shortest north-south line.
    _, _, width = geod.inv(-84.41375, 36.44625, -84.07791667, 36.44625)
    _, _, height = geod.inv(-84.246, 36.44625, -84.246, 36.73291667)
    rows, cols = twin.shape

    assert twin.cell_size == 30.0
    # The grid covers the extent and overshoots it by under two cells per
    # axis (one snapped edge on each side). The northern corners lie about
    # 13 m north of the parallel's point on the central meridian.
    assert width <= cols * twin.cell_size < width + 2 * twin.cell_size
    assert height <= rows * twin.cell_size < height + 2 * twin.cell_size + 15.0


def test_row_zero_is_north(jacksboro):
    _, twin, sample = jacksboro
    elevation = sample["elevation"]
    north = max(float(sample["ymin"]), float(sample["ymax"]))
    west = float(sample["xmin"])
    dx = float(sample["dx"])
    dy = float(sample["dy"])

    rows, cols = np.meshgrid(
        np.arange(20, twin.shape[0] - 20, 97), np.arange(20, twin.shape[1] - 20, 89)
    )
    rows = rows.ravel()
    cols = cols.ravel()
    x, y = twin.cell_centre(rows, cols)
    lon, lat, _ = twin.local_to_lonlat(x, y)
    sample_row = (north - lat) / dy
    sample_col = (lon - west) / dx
    reference, step = bilinear(elevation, sample_col, sample_row)
    twin_heights = twin.heights[rows, cols].astype(np.float64)

    # 30 m cells are smaller than the 3 arc-second pixels (74 m x 93 m), so
    # the twin samples the same bilinear surface as the reference. GDAL's
    # approximate transformer moves the point by at most 0.125 pixel per
    # axis, and along each axis the surface changes by at most `step` per
    # pixel.
    tolerance = 2 * 0.125 * step + 1e-3
    assert len(rows) > 100
    assert (np.abs(twin_heights - reference) <= tolerance).all()

    # Reading the sample south-up instead gives heights that are far off.
    flipped, _ = bilinear(elevation[::-1], sample_col, sample_row)
    assert np.abs(twin_heights - flipped).mean() > 50.0


def test_summit_position(jacksboro):
    _, twin, sample = jacksboro
    elevation = sample["elevation"]
    north = max(float(sample["ymin"]), float(sample["ymax"]))
    west = float(sample["xmin"])
    dx = float(sample["dx"])
    dy = float(sample["dy"])
    summit_row, summit_col = np.unravel_index(np.argmax(elevation), elevation.shape)
    # Pixel centre of the highest sample pixel, in lon/lat.
    summit_lon = west + (summit_col + 0.5) * dx
    summit_lat = north - (summit_row + 0.5) * dy

    twin_row, twin_col = np.unravel_index(np.argmax(twin.heights), twin.shape)
    x, y = twin.cell_centre(twin_row, twin_col)
    lon, lat, _ = twin.local_to_lonlat(x, y)

    # Within one sample pixel of each other.
    assert abs(lon - summit_lon) <= dx
    assert abs(lat - summit_lat) <= dy
