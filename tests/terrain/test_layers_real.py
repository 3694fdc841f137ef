"""Tests of vector layers from real files against independent readings."""

import bz2
import json
import xml.etree.ElementTree as ElementTree

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer
from synthetic import write_dem

from twin_gym.terrain.build import build_twin
from twin_gym.terrain.classes import SurfaceClass
from twin_gym.terrain.layers import LayerSpec

ALEXANDRIA_DTM = "alexandria-lidar/dtm.tif"
ALEXANDRIA_DSM = "alexandria-lidar/dsm.tif"
ALEXANDRIA_BUILDINGS = "alexandria-lidar/buildings.geojson"
BANGKOK_DEM = "bangkok-overture/dem.tif"
BANGKOK_WATER = "bangkok-overture/water.geojson"
CPUT_ROADS = "cput-roads/roads-cput_proj.geojson"
PLANET = "osm-extracts/planet_10.068_48.135_10.071_48.137.osm"
OAKLAND = "osm-extracts/West-Oakland.osm.bz2"


def cell_at_lonlat(twin, lon, lat):
    x, y, _ = twin.lonlat_to_local(np.asarray(lon), np.asarray(lat))
    return twin.cell_of(x, y)


def flat_dem_over(tmp_path, name, bounds, crs, res, height=100.0):
    """Write a flat DEM that covers ``bounds`` with one pixel of margin."""
    left, bottom, right, top = bounds
    cols = int(np.ceil((right - left) / res)) + 2
    rows = int(np.ceil((top - bottom) / res)) + 2
    heights = np.full((rows, cols), height, dtype=np.float32)
    return write_dem(
        tmp_path / name, heights, crs=crs, left=left - res, top=top + res, res=res
    )


@pytest.fixture(scope="module")
def alexandria(shared_data):
    spec = LayerSpec(
        "buildings", str(shared_data / ALEXANDRIA_BUILDINGS), height_field="HEIGHT"
    )
    return build_twin(
        shared_data / ALEXANDRIA_DTM, use_cache=False, cell_size=1.0, layers=(spec,)
    )


def test_alexandria_every_building_placed(alexandria):
    report = alexandria.metadata["layers"][0]

    assert report["features"] == 84
    assert report["placed"] == 84
    assert report["skipped"] == []
    # Two footprints have HEIGHT null and take the default height.
    assert report["rules"] == {"height": 82, "default": 2}
    assert report["height_range_m"] == pytest.approx([3.86, 17.53], abs=0.01)


def test_alexandria_heights_match_attribute(shared_data, alexandria):
    with open(shared_data / ALEXANDRIA_BUILDINGS) as stream:
        document = json.load(stream)
    expected = [feature["properties"]["HEIGHT"] for feature in document["features"]]
    report = alexandria.metadata["layers"][0]
    by_fid = {fid: height for fid, rule, height in report["buildings"]}

    # GDAL numbers GeoJSON features from 0 when they carry no id.
    for index, height in enumerate(expected):
        if height is not None:
            assert by_fid[str(index)] == pytest.approx(height, abs=1e-4)
        else:
            assert by_fid[str(index)] == pytest.approx(6.0)


def test_alexandria_roofs_match_dsm(shared_data, alexandria):
    """Roofs agree with the lidar DSM, which the build never reads."""
    with open(shared_data / ALEXANDRIA_BUILDINGS) as stream:
        document = json.load(stream)
    with rasterio.open(shared_data / ALEXANDRIA_DSM) as dsm:
        to_dsm = Transformer.from_crs("EPSG:4326", dsm.crs, always_xy=True)
        dsm_heights = dsm.read(1)
        errors = []
        for feature in document["features"]:
            if feature["properties"]["HEIGHT"] is None:
                continue
            footprint = shapely.geometry.shape(feature["geometry"])
            point = footprint.representative_point()
            row, col = cell_at_lonlat(alexandria, point.x, point.y)
            top = alexandria.heights[row, col] + alexandria.structure_heights[row, col]
            assert alexandria.classes[row, col] == SurfaceClass.BUILDING
            x, y = to_dsm.transform(point.x, point.y)
            dsm_row, dsm_col = dsm.index(x, y)
            errors.append(top - dsm_heights[dsm_row, dsm_col])
    errors = np.abs(errors)
    # Roof shapes, parapets and the lowest-ground base spread single points.
    assert np.median(errors) < 1.5
    assert np.percentile(errors, 90) < 4.0


def test_alexandria_structure_tops_flat(alexandria):
    tops = alexandria.heights + alexandria.structure_heights
    on_buildings = alexandria.structure_heights > 0

    assert (alexandria.classes[on_buildings] == SurfaceClass.BUILDING).all()
    assert tops[on_buildings].max() < 22.2 + 17.6
    assert (alexandria.structure_heights[~on_buildings] == 0).all()


@pytest.fixture(scope="module")
def bangkok(shared_data):
    spec = LayerSpec("water", str(shared_data / BANGKOK_WATER))
    return build_twin(
        shared_data / BANGKOK_DEM, use_cache=False, cell_size=10.0, layers=(spec,)
    )


def test_bangkok_points_and_outside_not_placed(shared_data, bangkok):
    with open(shared_data / BANGKOK_WATER) as stream:
        document = json.load(stream)
    with rasterio.open(shared_data / BANGKOK_DEM) as dem:
        dem_box = shapely.box(*dem.bounds)
    outside = [
        f["properties"]["id"]
        for f in document["features"]
        if not shapely.geometry.shape(f["geometry"]).intersects(dem_box)
    ]
    report = bangkok.metadata["layers"][0]
    skipped = dict(map(tuple, report["skipped"]))
    reasons = list(skipped.values())

    assert report["features"] == 162
    assert sum(reason.startswith("Point cannot") for reason in reasons) == 3
    assert len(outside) == 4
    for fid in outside:
        assert fid in skipped


def test_bangkok_water_cells(shared_data, bangkok):
    with open(shared_data / BANGKOK_WATER) as stream:
        document = json.load(stream)
    with rasterio.open(shared_data / BANGKOK_DEM) as dem:
        valid = dem.read_masks(1) > 0
        checked = 0
        for feature in document["features"]:
            geometry = shapely.geometry.shape(feature["geometry"])
            # About 600 square metres and more: six cells of 10 m or more.
            if geometry.geom_type != "Polygon" or geometry.area < 5e-8:
                continue
            point = geometry.representative_point()
            if not dem.bounds.left < point.x < dem.bounds.right:
                continue
            if not dem.bounds.bottom < point.y < dem.bounds.top:
                continue
            dem_row, dem_col = dem.index(point.x, point.y)
            # Only points well inside valid terrain: the warp blurs edges.
            if not valid[
                max(dem_row - 2, 0) : dem_row + 3, max(dem_col - 2, 0) : dem_col + 3
            ].all():
                continue
            row, col = cell_at_lonlat(bangkok, point.x, point.y)
            fid = feature["properties"]["id"]
            assert bangkok.classes[row, col] == SurfaceClass.WATER, fid
            checked += 1
    assert checked >= 5


def test_bangkok_canals_buffered(bangkok):
    report = bangkok.metadata["layers"][0]
    placed_lines = report["placed"]

    assert placed_lines > 40
    assert report["cells"] == (bangkok.classes == SurfaceClass.WATER).sum()


def test_cput_roads_legacy_crs(shared_data, tmp_path):
    """The layer's UTM 34S coordinates come only from its legacy crs member."""
    path = shared_data / CPUT_ROADS
    dem = flat_dem_over(
        tmp_path,
        "cape_town.tif",
        (281287.3, 6242462.2, 282555.9, 6243292.5),
        "EPSG:32734",
        10.0,
    )

    twin = build_twin(
        dem,
        use_cache=False,
        cell_size=1.0,
        layers=(LayerSpec("roads", str(path)),),
    )

    with open(path) as stream:
        document = json.load(stream)
    to_lonlat = Transformer.from_crs("EPSG:32734", "EPSG:4326", always_xy=True)
    report = twin.metadata["layers"][0]
    assert report["features"] == 106
    assert report["placed"] == 106
    for feature in document["features"]:
        if feature["geometry"]["type"] != "LineString":
            continue
        (x0, y0), (x1, y1) = feature["geometry"]["coordinates"][:2]
        lon, lat = to_lonlat.transform((x0 + x1) / 2, (y0 + y1) / 2)
        assert twin.classes[cell_at_lonlat(twin, lon, lat)] == SurfaceClass.ROAD


def test_cput_lanes_from_nested_tags(shared_data, tmp_path):
    path = shared_data / CPUT_ROADS
    with open(path) as stream:
        document = json.load(stream)
    engineering_way = next(
        f for f in document["features"] if f["properties"]["id"] == 34953479
    )
    assert engineering_way["properties"]["tags"]["lanes"] == "2"
    line = shapely.geometry.shape(engineering_way["geometry"])
    dem = flat_dem_over(tmp_path, "cput.tif", line.bounds, "EPSG:32734", 5.0)
    spec = LayerSpec("roads", str(path), where="id = 34953479")

    twin = build_twin(dem, use_cache=False, cell_size=0.5, layers=(spec,))

    # Two lanes of 3.5 m: the road covers 7 m x length, plus round caps.
    area = (twin.classes == SurfaceClass.ROAD).sum() * 0.25
    expected = line.buffer(3.5).area
    assert area == pytest.approx(expected, rel=0.03)


def osm_elements(path):
    opener = bz2.open if str(path).endswith(".bz2") else open
    with opener(path, "rb") as stream:
        return ElementTree.parse(stream).getroot()


def osm_tags(element):
    return {tag.get("k"): tag.get("v") for tag in element.findall("tag")}


def test_osm_planet_buildings(shared_data, tmp_path):
    path = shared_data / PLANET
    root = osm_elements(path)
    lons = [float(node.get("lon")) for node in root.findall("node")]
    lats = [float(node.get("lat")) for node in root.findall("node")]
    dem = flat_dem_over(
        tmp_path,
        "bavaria.tif",
        (min(lons), min(lats), max(lons), max(lats)),
        "EPSG:4326",
        0.0002,
    )
    layers = (
        LayerSpec("buildings", str(path)),
        LayerSpec("roads", str(path)),
    )

    twin = build_twin(dem, use_cache=False, cell_size=1.0, layers=layers)

    buildings, roads = twin.metadata["layers"]
    heights = {fid: (rule, h) for fid, rule, h in buildings["buildings"]}
    skipped = dict(map(tuple, buildings["skipped"]))
    assert buildings["features"] == 34
    assert skipped["relation/318560"].startswith("incomplete multipolygon")
    for way in root.findall("way"):
        tags = osm_tags(way)
        fid = f"way/{way.get('id')}"
        if "building" not in tags or fid not in heights:
            continue
        if "building:levels" in tags:
            expected = ("levels", 3.0 * float(tags["building:levels"]))
        else:
            expected = ("default", 6.0)
        assert heights[fid] == (expected[0], pytest.approx(expected[1]))
    assert buildings["placed"] + len(buildings["skipped"]) == 34
    assert roads["placed"] >= 10
    assert (twin.classes == SurfaceClass.ROAD).any()


def test_osm_oakland_bz2_outside_bounds(shared_data, tmp_path):
    path = shared_data / OAKLAND
    root = osm_elements(path)
    building_ways = [w for w in root.findall("way") if "building" in osm_tags(w)]
    lons = [float(node.get("lon")) for node in root.findall("node")]
    lats = [float(node.get("lat")) for node in root.findall("node")]
    dem = flat_dem_over(
        tmp_path,
        "oakland.tif",
        (min(lons), min(lats), max(lons), max(lats)),
        "EPSG:4326",
        0.0005,
    )

    twin = build_twin(
        dem, use_cache=False, cell_size=2.0, layers=(LayerSpec("buildings", str(path)),)
    )

    report = twin.metadata["layers"][0]
    assert len(building_ways) == 23
    assert report["features"] == 23
    assert report["placed"] == 23
    assert report["rules"] == {"levels": 2, "default": 21}
    nodes = {n.get("id"): n for n in root.findall("node")}
    for way in building_ways:
        refs = [nd.get("ref") for nd in way.findall("nd")]
        ring = [(float(nodes[r].get("lon")), float(nodes[r].get("lat"))) for r in refs]
        point = shapely.Polygon(ring).representative_point()
        row, col = cell_at_lonlat(twin, point.x, point.y)
        assert twin.classes[row, col] == SurfaceClass.BUILDING, way.get("id")


def test_osm_pbf_equals_xml(shared_data, tmp_path):
    import osmium

    xml_path = shared_data / PLANET
    pbf_path = tmp_path / "planet.osm.pbf"
    with osmium.SimpleWriter(str(pbf_path)) as writer:
        for entity in osmium.FileProcessor(str(xml_path)):
            writer.add(entity)
    dem = flat_dem_over(
        tmp_path, "bavaria.tif", (10.064, 48.132, 10.075, 48.140), "EPSG:4326", 0.0005
    )

    from_xml = build_twin(
        dem,
        use_cache=False,
        cell_size=1.0,
        layers=(LayerSpec("buildings", str(xml_path)),),
    )
    from_pbf = build_twin(
        dem,
        use_cache=False,
        cell_size=1.0,
        layers=(LayerSpec("buildings", str(pbf_path)),),
    )

    xml_report = from_xml.metadata["layers"][0]
    pbf_report = from_pbf.metadata["layers"][0]
    assert pbf_report["buildings"] == xml_report["buildings"]
    assert pbf_report["skipped"] == xml_report["skipped"]
    np.testing.assert_array_equal(from_pbf.classes, from_xml.classes)
