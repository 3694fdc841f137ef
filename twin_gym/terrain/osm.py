"""Read buildings, roads, water and vegetation from OpenStreetMap XML or PBF.

osmium (pyosmium) parses the file, keeps node locations and assembles areas
from closed ways and multipolygon relations. A relation whose member ways are
missing from the extract yields no area, and is reported as skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import shapely
from pyproj import CRS

from twin_gym.errors import InputError
from twin_gym.terrain.vectors import Feature, ReadLayer, reproject_geometries

logger = logging.getLogger(__name__)

OSM_CRS = "EPSG:4326"

WATER_AREAS = {
    "natural": {"water", "bay", "wetland"},
    "waterway": {"riverbank", "dock"},
    "landuse": {"reservoir", "basin"},
    "leisure": {"swimming_pool"},
}
WATER_LINES = {"waterway": {"river", "stream", "canal", "ditch", "drain"}}
VEGETATION_AREAS = {
    "landuse": {"forest", "grass", "meadow", "orchard", "vineyard", "allotments"},
    "natural": {"wood", "scrub", "grassland", "heath"},
    "leisure": {"park", "garden"},
}


def _matches(tags: dict[str, str], table: dict[str, set[str]]) -> bool:
    return any(tags.get(key) in values for key, values in table.items())


def _is_area_kind(kind: str, tags: dict[str, str]) -> bool:
    if kind == "buildings":
        return tags.get("building", "no") != "no"
    if kind == "roads":
        return "highway" in tags and tags.get("area") == "yes"
    if kind == "water":
        return _matches(tags, WATER_AREAS)
    return _matches(tags, VEGETATION_AREAS)


def _is_line_kind(kind: str, tags: dict[str, str]) -> bool:
    if kind == "roads":
        return "highway" in tags and tags.get("area") != "yes"
    if kind == "water":
        return _matches(tags, WATER_LINES)
    return False


def read_osm_file(path: Path, kind: str, dst_crs: CRS) -> ReadLayer:
    """Read the features of one layer kind from an OSM file.

    Buildings are areas tagged ``building``; roads are ways tagged
    ``highway`` (as areas where ``area=yes``); water is areas tagged as in
    :data:`WATER_AREAS` and waterways as in :data:`WATER_LINES`; vegetation
    is areas tagged as in :data:`VEGETATION_AREAS`. Nodes are ignored. Node
    locations outside the extract's ``<bounds>`` are used as they are.

    Args:
        path: ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file.
        kind: ``"buildings"``, ``"roads"``, ``"water"`` or ``"vegetation"``.
        dst_crs: CRS of the twin.

    Raises:
        InputError: osmium is not installed or cannot parse the file.
    """
    try:
        import osmium
        from osmium.geom import WKBFactory
    except ImportError:
        raise InputError(
            f"reading {path} needs osmium; install twin_gym[osm]"
        ) from None

    factory = WKBFactory()
    wkbs: list[bytes] = []
    fids: list[str] = []
    tag_dicts: list[dict[str, str]] = []
    unreadable: list[tuple[str, str]] = []
    area_relations: set[int] = set()
    area_ways: set[int] = set()
    assembled: set[tuple[bool, int]] = set()
    try:
        processor = osmium.FileProcessor(str(path)).with_locations().with_areas()
        for entity in processor:
            if entity.is_relation():
                tags = dict(entity.tags)
                if tags.get("type") == "multipolygon" and _is_area_kind(kind, tags):
                    area_relations.add(entity.id)
                continue
            if entity.is_area():
                tags = dict(entity.tags)
                if not _is_area_kind(kind, tags):
                    continue
                fid = _area_fid(entity)
                assembled.add((entity.from_way(), entity.orig_id()))
                try:
                    wkbs.append(factory.create_multipolygon(entity))
                except RuntimeError as error:
                    unreadable.append((fid, f"invalid area: {error}"))
                    continue
                fids.append(fid)
                tag_dicts.append(tags)
            elif entity.is_way():
                tags = dict(entity.tags)
                if _is_area_kind(kind, tags):
                    area_ways.add(entity.id)
                if not _is_line_kind(kind, tags):
                    continue
                fid = f"way/{entity.id}"
                try:
                    wkbs.append(factory.create_linestring(entity))
                except (osmium.InvalidLocationError, RuntimeError) as error:
                    unreadable.append(
                        (fid, f"way has nodes missing from the file ({error})")
                    )
                    continue
                fids.append(fid)
                tag_dicts.append(tags)
    except RuntimeError as error:
        raise InputError(
            f"cannot read {path} as OpenStreetMap data ({error}); give an "
            ".osm, .osm.bz2 or .osm.pbf file"
        ) from None

    reported = {fid for fid, _ in unreadable}
    for relation_id in sorted(area_relations):
        fid = f"relation/{relation_id}"
        if (False, relation_id) not in assembled and fid not in reported:
            reason = "incomplete multipolygon: member ways are missing from the file"
            unreadable.append((fid, reason))
    for way_id in sorted(area_ways):
        fid = f"way/{way_id}"
        if (True, way_id) not in assembled and fid not in reported:
            unreadable.append((fid, "way is not a closed ring, so it has no area"))

    geometries = shapely.from_wkb(np.array(wkbs, dtype=object), on_invalid="ignore")
    geometries = reproject_geometries(geometries, CRS.from_user_input(OSM_CRS), dst_crs)
    features = [
        Feature(fid, geometry, tags)
        for fid, geometry, tags in zip(fids, geometries, tag_dicts, strict=True)
        if geometry is not None
    ]
    logger.info("read %d %s from %s", len(features), kind, path)
    return ReadLayer(features, unreadable, OSM_CRS)


def _area_fid(area) -> str:
    kind = "way" if area.from_way() else "relation"
    return f"{kind}/{area.orig_id()}"
