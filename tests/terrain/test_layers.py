"""Tests of vector layers on synthetic grids worked out by hand."""

import os

import numpy as np
import pyogrio.raw
import pytest
import shapely
from synthetic import square, write_dem, write_geojson

from twin_gym.errors import InputError
from twin_gym.terrain.build import build_twin
from twin_gym.terrain.classes import SurfaceClass
from twin_gym.terrain.layers import LayerSpec
from twin_gym.terrain.lengths import parse_length

UTM31 = "urn:ogc:def:crs:EPSG::32631"
LEFT, TOP = 500_000.0, 4_900_000.0
# 1 m cells in the DEM's own CRS, so every cell of the twin is a DEM pixel.
SAME_GRID = {"cell_size": 1.0, "working_crs": "EPSG:32631", "fill_max_pixels": 0}


@pytest.fixture
def sloped_dem(tmp_path):
    """A 100 x 100 m DEM in UTM 31N rising 0.1 m per metre eastward from 50 m."""
    cols = np.arange(100)
    heights = np.tile(50.0 + 0.1 * (cols + 0.5), (100, 1)).astype(np.float32)
    return write_dem(tmp_path / "sloped.tif", heights)


def cell(twin, x, y):
    """Return the (row, col) of the cell containing UTM point (x, y)."""
    col, row = ~twin.transform @ (x, y)
    return int(row), int(col)


def build_with(dem, *layers, **options):
    return build_twin(
        dem, use_cache=False, layers=tuple(layers), **{**SAME_GRID, **options}
    )


@pytest.mark.parametrize(
    ("value", "metres"),
    [
        (12, 12.0),
        (12.5, 12.5),
        ("12", 12.0),
        ("12 m", 12.0),
        ("12m", 12.0),
        ("12,5 m", 12.5),
        ("40 ft", 12.192),
        ("40'", 12.192),
        ("12'6\"", 3.81),
        (" 7 metres ", 7.0),
    ],
)
def test_parse_length(value, metres):
    assert parse_length(value) == pytest.approx(metres)


@pytest.mark.parametrize("value", ["tall", "12 storeys", "-3", "0", "", True, "nan"])
def test_parse_length_rejects(value):
    with pytest.raises(ValueError):
        parse_length(value)


def test_parse_length_bare_number_in_feet():
    assert parse_length("10", default_unit_m=0.3048) == pytest.approx(3.048)


def test_height_rules(tmp_path, sloped_dem):
    features = [
        (square(LEFT + 10, TOP - 20, 10), {"height": "12 m"}),
        (square(LEFT + 30, TOP - 20, 10), {"height": "40 ft"}),
        (square(LEFT + 50, TOP - 20, 10), {"building:levels": "4"}),
        (square(LEFT + 70, TOP - 20, 10), {}),
        (square(LEFT + 10, TOP - 60, 10), {"height": 9.5}),
    ]
    layer = write_geojson(tmp_path / "b.geojson", features, crs=UTM31)

    twin = build_with(sloped_dem, LayerSpec("buildings", str(layer)))

    report = twin.metadata["layers"][0]
    heights = {fid: (rule, h) for fid, rule, h in report["buildings"]}
    assert heights["1"] == ("height", pytest.approx(12.0))
    assert heights["2"] == ("height", pytest.approx(12.192))
    assert heights["3"] == ("levels", pytest.approx(12.0))
    assert heights["4"] == ("default", pytest.approx(6.0))
    assert heights["5"] == ("height", pytest.approx(9.5))
    assert report["rules"] == {"height": 3, "levels": 1, "default": 1}
    assert report["height_range_m"] == pytest.approx([6.0, 12.192])


def test_roof_flat_on_lowest_ground(tmp_path, sloped_dem):
    layer = write_geojson(
        tmp_path / "b.geojson",
        [(square(LEFT + 20, TOP - 40, 10), {"height": 10})],
        crs=UTM31,
    )

    twin = build_with(sloped_dem, LayerSpec("buildings", str(layer)))

    rows, cols = np.nonzero(twin.structure_heights)
    top_row, left_col = cell(twin, LEFT + 20.5, TOP - 30.5)
    assert (rows.min(), rows.max()) == (top_row, top_row + 9)
    assert (cols.min(), cols.max()) == (left_col, left_col + 9)
    tops = twin.heights[rows, cols] + twin.structure_heights[rows, cols]
    # The lowest cell centre under the footprint is at x = 20.5 m: 50 + 2.05 m.
    np.testing.assert_allclose(tops, 50.0 + 2.05 + 10.0, atol=1e-4)
    row = top_row + 5
    assert twin.structure_heights[row, left_col] == pytest.approx(10.0, abs=1e-4)
    assert twin.structure_heights[row, left_col + 9] == pytest.approx(9.1, abs=1e-4)
    assert (twin.classes[rows, cols] == SurfaceClass.BUILDING).all()
    assert twin.classes[row, left_col + 10] == SurfaceClass.GROUND


def test_courtyard_and_multipolygon(tmp_path, sloped_dem):
    outer = [[LEFT + 10, TOP - 40], [LEFT + 40, TOP - 40], [LEFT + 40, TOP - 10]]
    outer += [[LEFT + 10, TOP - 10], [LEFT + 10, TOP - 40]]
    hole = [[LEFT + 20, TOP - 30], [LEFT + 30, TOP - 30], [LEFT + 30, TOP - 20]]
    hole += [[LEFT + 20, TOP - 20], [LEFT + 20, TOP - 30]]
    multi = {
        "type": "MultiPolygon",
        "coordinates": [
            square(LEFT + 60, TOP - 20, 5)["coordinates"],
            square(LEFT + 80, TOP - 20, 5)["coordinates"],
        ],
    }
    features = [
        ({"type": "Polygon", "coordinates": [outer, hole]}, {"height": 8}),
        (multi, {"height": 5}),
    ]
    layer = write_geojson(tmp_path / "b.geojson", features, crs=UTM31)

    twin = build_with(sloped_dem, LayerSpec("buildings", str(layer)))

    assert twin.classes[cell(twin, LEFT + 25, TOP - 25)] == SurfaceClass.GROUND
    assert twin.structure_heights[cell(twin, LEFT + 25, TOP - 25)] == 0
    assert twin.classes[cell(twin, LEFT + 15, TOP - 25)] == SurfaceClass.BUILDING
    assert twin.classes[cell(twin, LEFT + 62, TOP - 17)] == SurfaceClass.BUILDING
    assert twin.classes[cell(twin, LEFT + 82, TOP - 17)] == SurfaceClass.BUILDING
    assert twin.classes[cell(twin, LEFT + 72, TOP - 17)] == SurfaceClass.GROUND
    # 30 x 30 m less the 10 x 10 m courtyard, plus two 5 x 5 m parts.
    assert (twin.classes == SurfaceClass.BUILDING).sum() == 800 + 50


def test_small_footprint_needs_all_touched(tmp_path, sloped_dem):
    # A 0.3 m square inside one cell, clear of its centre.
    layer = write_geojson(
        tmp_path / "b.geojson",
        [(square(LEFT + 10.6, TOP - 10.9, 0.3), {"height": 4})],
        crs=UTM31,
    )

    centres = build_with(sloped_dem, LayerSpec("buildings", str(layer)))
    touched = build_with(
        sloped_dem, LayerSpec("buildings", str(layer), all_touched=True)
    )

    report = centres.metadata["layers"][0]
    assert report["placed"] == 0
    assert report["skipped"][0][0] == "1"
    assert "covers no cell centre" in report["skipped"][0][1]
    assert touched.metadata["layers"][0]["placed"] == 1
    assert (touched.classes == SurfaceClass.BUILDING).sum() == 1


def test_unknown_height_string(tmp_path, sloped_dem):
    features = [
        (square(LEFT + 10, TOP - 20, 10), {"height": "tall", "building:levels": 2})
    ]
    layer = write_geojson(tmp_path / "b.geojson", features, crs=UTM31)

    twin = build_with(sloped_dem, LayerSpec("buildings", str(layer)))
    with pytest.raises(InputError) as caught:
        build_with(sloped_dem, LayerSpec("buildings", str(layer), on_invalid="fail"))

    report = twin.metadata["layers"][0]
    assert report["buildings"] == [["1", "levels", 6.0]]
    assert report["warnings"][0][0] == "1"
    assert "'tall'" in report["warnings"][0][1]
    message = str(caught.value)
    assert "b.geojson" in message
    assert "feature 1" in message
    assert "'tall'" in message


def test_invalid_geometry(tmp_path, sloped_dem):
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [
                [LEFT + 10, TOP - 10],
                [LEFT + 20, TOP - 20],
                [LEFT + 20, TOP - 10],
                [LEFT + 10, TOP - 20],
                [LEFT + 10, TOP - 10],
            ]
        ],
    }
    features = [(bowtie, {}), (square(LEFT + 50, TOP - 50, 10), {})]
    layer = write_geojson(tmp_path / "b.geojson", features, crs=UTM31)

    twin = build_with(sloped_dem, LayerSpec("buildings", str(layer)))
    with pytest.raises(InputError, match=r"b\.geojson: feature 1: invalid geometry"):
        build_with(sloped_dem, LayerSpec("buildings", str(layer), on_invalid="fail"))

    report = twin.metadata["layers"][0]
    assert report["placed"] == 1
    assert report["skipped"][0][0] == "1"
    assert "Self-intersection" in report["skipped"][0][1]


def test_empty_layer(tmp_path, sloped_dem):
    layer = write_geojson(tmp_path / "empty.geojson", [], crs=UTM31)

    twin = build_with(sloped_dem, LayerSpec("water", str(layer)))
    with pytest.raises(InputError, match=r"empty\.geojson: the layer has no features"):
        build_with(sloped_dem, LayerSpec("water", str(layer), on_invalid="fail"))

    assert twin.metadata["layers"][0]["skipped"] == [["*", "the layer has no features"]]


def test_layer_outside_dem(tmp_path, sloped_dem):
    far = square(LEFT + 5_000, TOP - 5_000, 10)
    layer = write_geojson(tmp_path / "far.geojson", [(far, {})], crs=UTM31)

    twin = build_with(sloped_dem, LayerSpec("vegetation", str(layer)))
    with pytest.raises(InputError, match=r"far\.geojson: no feature overlaps"):
        build_with(sloped_dem, LayerSpec("vegetation", str(layer), on_invalid="fail"))

    skipped = twin.metadata["layers"][0]["skipped"]
    assert ["1", "outside the twin's grid"] in skipped
    assert (twin.classes == SurfaceClass.VEGETATION).sum() == 0


@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
def test_layer_without_crs(tmp_path, sloped_dem):
    layer = tmp_path / "no_crs.gpkg"
    geometry = shapely.box(LEFT + 10, TOP - 20, LEFT + 20, TOP - 10)
    pyogrio.raw.write(
        layer,
        np.array([shapely.to_wkb(geometry)], dtype=object),
        field_data=[],
        fields=[],
        geometry_type="Polygon",
        crs=None,
        driver="GPKG",
    )

    with pytest.raises(InputError, match=r"no_crs\.gpkg has no CRS; .*crs"):
        build_with(sloped_dem, LayerSpec("buildings", str(layer)))
    twin = build_with(sloped_dem, LayerSpec("buildings", str(layer), crs="EPSG:32631"))

    assert twin.metadata["layers"][0]["placed"] == 1
    assert twin.classes[cell(twin, LEFT + 15, TOP - 15)] == SurfaceClass.BUILDING


def test_road_width_from_lanes_and_tags(tmp_path, sloped_dem):
    # Lanes inside a nested "tags" object, as OSM exports write them.
    line = {
        "type": "LineString",
        "coordinates": [[LEFT, TOP - 50.5], [LEFT + 100, TOP - 50.5]],
    }
    features = [(line, {"tags": {"highway": "service", "lanes": "2"}})]
    layer = write_geojson(tmp_path / "roads.geojson", features, crs=UTM31)

    twin = build_with(sloped_dem, LayerSpec("roads", str(layer)))

    row, col = cell(twin, LEFT + 50.5, TOP - 50.5)
    column = twin.classes[:, col] == SurfaceClass.ROAD
    # 2 lanes of 3.5 m centred on a cell centre cover that cell and 3 each side.
    assert np.flatnonzero(column).tolist() == list(range(row - 3, row + 4))


def test_burn_order(tmp_path, sloped_dem):
    park = write_geojson(
        tmp_path / "park.geojson", [(square(LEFT, TOP - 100, 100), {})], crs=UTM31
    )
    line = {
        "type": "LineString",
        "coordinates": [[LEFT, TOP - 50.5], [LEFT + 100, TOP - 50.5]],
    }
    road = write_geojson(
        tmp_path / "road.geojson", [(line, {"width": "3 m"})], crs=UTM31
    )
    house = write_geojson(
        tmp_path / "house.geojson", [(square(LEFT + 40, TOP - 55, 10), {})], crs=UTM31
    )

    twin = build_with(
        sloped_dem,
        LayerSpec("buildings", str(house)),
        LayerSpec("roads", str(road)),
        LayerSpec("vegetation", str(park)),
    )

    assert twin.classes[cell(twin, LEFT + 10, TOP - 10)] == SurfaceClass.VEGETATION
    assert twin.classes[cell(twin, LEFT + 10, TOP - 50.5)] == SurfaceClass.ROAD
    assert twin.classes[cell(twin, LEFT + 45, TOP - 50.5)] == SurfaceClass.BUILDING
    kinds = [report["kind"] for report in twin.metadata["layers"]]
    assert kinds == ["buildings", "roads", "vegetation"]


def test_structures_skip_no_data_cells(tmp_path):
    heights = np.full((50, 50), 20.0, dtype=np.float32)
    heights[:, 25:] = -9999.0
    dem = write_dem(tmp_path / "half.tif", heights, nodata=-9999.0)
    features = [
        (square(LEFT + 30, TOP - 20, 10), {"height": 5}),
        (square(LEFT + 20, TOP - 20, 10), {"height": 5}),
    ]
    layer = write_geojson(tmp_path / "b.geojson", features, crs=UTM31)

    twin = build_with(dem, LayerSpec("buildings", str(layer)))

    report = twin.metadata["layers"][0]
    assert report["placed"] == 1
    assert report["skipped"] == [["1", "stands only on cells without terrain data"]]
    # Building 1 covers 100 no-data cells; building 2 covers 50 on each side.
    assert report["cells_on_no_data"] == 150
    assert not twin.structure_heights[~twin.valid].any()
    assert (twin.classes[~twin.valid] == SurfaceClass.NO_DATA).all()


def test_layer_edit_rebuilds(tmp_path, sloped_dem):
    layer = write_geojson(
        tmp_path / "b.geojson",
        [(square(LEFT + 10, TOP - 20, 10), {"height": 4})],
        crs=UTM31,
    )
    spec = LayerSpec("buildings", str(layer))
    first = build_twin(sloped_dem, layers=(spec,), **SAME_GRID)
    write_geojson(
        tmp_path / "b.geojson",
        [(square(LEFT + 10, TOP - 20, 10), {"height": 9})],
        crs=UTM31,
    )
    stat = layer.stat()
    os.utime(layer, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))

    second = build_twin(sloped_dem, layers=(spec,), **SAME_GRID)

    assert first.structure_heights.max() == pytest.approx(4.0, abs=0.01)
    assert second.structure_heights.max() == pytest.approx(9.0, abs=0.01)


def test_failed_layer_writes_no_twin(tmp_path, sloped_dem, isolated_cache):
    layer = write_geojson(tmp_path / "empty.geojson", [], crs=UTM31)
    before = set(isolated_cache.glob("*")) if isolated_cache.exists() else set()

    with pytest.raises(InputError):
        build_twin(
            sloped_dem,
            layers=(LayerSpec("water", str(layer), on_invalid="fail"),),
            **SAME_GRID,
        )

    after = set(isolated_cache.glob("*")) if isolated_cache.exists() else set()
    assert after == before


def test_unknown_layer_kind():
    with pytest.raises(InputError, match="layer kind 'trees'"):
        LayerSpec("trees", "x.geojson")
