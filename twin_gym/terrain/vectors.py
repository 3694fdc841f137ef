"""Read vector layers (GeoJSON, GeoPackage, Shapefile, OSM) as features in a CRS."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pyogrio.errors
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from twin_gym.errors import InputError

logger = logging.getLogger(__name__)

OSM_SUFFIXES = (".osm", ".pbf", ".osm.pbf", ".osm.bz2", ".osm.gz", ".o5m")
"""File name endings that :mod:`twin_gym.terrain.osm` reads through osmium."""


@dataclass(frozen=True)
class Feature:
    """One feature of a vector layer, in the twin's working CRS."""

    fid: str
    """The feature's id: its ``id`` attribute when it has one, else the
    file's feature id (for OSM, ``way/123`` or ``relation/456``)."""
    geometry: shapely.Geometry
    """Geometry in the working CRS, metres."""
    tags: Mapping[str, Any] = field(default_factory=dict)
    """Attributes, with keys in lower case. Attributes that hold a JSON
    object (such as a nested ``tags`` member) are merged in as well."""


@dataclass(frozen=True)
class ReadLayer:
    """The features of a layer file, and those that could not be read."""

    features: list[Feature]
    """Features with a non-empty geometry, reprojected."""
    unreadable: list[tuple[str, str]]
    """(feature id, reason) of features without a usable geometry."""
    src_crs: str
    """Name of the CRS the file's coordinates are in."""


def is_osm(path: Path) -> bool:
    """Return whether ``path`` names an OpenStreetMap file by its suffix."""
    return path.name.lower().endswith(OSM_SUFFIXES)


def read_vector_file(
    path: Path,
    dst_crs: CRS,
    *,
    crs: str | None = None,
    where: str | None = None,
) -> ReadLayer:
    """Read a GDAL vector file and reproject its geometries to ``dst_crs``.

    GDAL's GeoJSON driver reads a legacy ``crs`` member such as
    ``urn:ogc:def:crs:EPSG::32734`` as the layer's CRS, and RFC 7946 files
    without one as lon/lat.

    Args:
        path: GeoJSON, GeoPackage, Shapefile or any format GDAL reads; the
            first layer is read.
        dst_crs: CRS of the twin.
        crs: CRS of the coordinates; overrides the file's CRS, and is
            required when the file has none.
        where: OGR SQL filter on attributes, such as ``"class = 'river'"``.

    Raises:
        InputError: The file cannot be read or has no CRS and none is given.
    """
    try:
        meta, fids, geometries, values = pyogrio.raw.read(
            path, where=where, return_fids=True
        )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as error:
        raise InputError(
            f"cannot read {path} as a vector layer ({error}); give a GeoJSON, "
            "GeoPackage or Shapefile, or check the where filter"
        ) from None
    src_crs = _layer_crs(path, crs, meta.get("crs"))
    names = [str(name) for name in meta["fields"]]
    id_column = _id_column(names)

    features: list[Feature] = []
    unreadable: list[tuple[str, str]] = []
    parsed = shapely.from_wkb(geometries, on_invalid="ignore")
    parsed = reproject_geometries(parsed, src_crs, dst_crs)
    for index, geometry in enumerate(parsed):
        tags = _tags(names, values, index)
        fid = str(tags[id_column]) if id_column is not None else str(fids[index])
        if geometry is None or shapely.is_empty(geometry):
            unreadable.append((fid, "no geometry"))
            continue
        features.append(Feature(fid, geometry, tags))
    logger.info("read %d features from %s (%s)", len(features), path, src_crs.name)
    return ReadLayer(features, unreadable, src_crs.name)


def _layer_crs(path: Path, override: str | None, declared: str | None) -> CRS:
    text = override if override is not None else declared
    if text is None:
        raise InputError(
            f"{path} has no CRS; name the CRS of its coordinates with the "
            'layer\'s crs key, for example crs = "EPSG:4326"'
        )
    try:
        return CRS.from_user_input(text)
    except CRSError:
        raise InputError(
            f"layer crs {text!r} of {path} is not a CRS that pyproj knows; "
            "give an EPSG code such as EPSG:4326"
        ) from None


def _id_column(names: list[str]) -> str | None:
    lower = [name.lower() for name in names]
    for candidate in ("id", "osm_id", "fid", "objectid"):
        if candidate in lower:
            return candidate
    return None


def _tags(names: list[str], values: list[np.ndarray], index: int) -> dict[str, Any]:
    """Return one feature's attributes with lower-case keys, JSON objects merged."""
    tags: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    for name, column in zip(names, values, strict=True):
        value = column[index]
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and np.isnan(value):
            value = None
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                document = json.loads(value)
            except json.JSONDecodeError:
                document = None
            if isinstance(document, dict):
                nested.update({str(k).lower(): v for k, v in document.items()})
        tags[name.lower()] = value
    # Flat columns win over nested members of the same name.
    return {**nested, **tags}


def reproject_geometries(
    geometries: np.ndarray, src_crs: CRS, dst_crs: CRS
) -> np.ndarray:
    """Return shapely geometries (any shape, None allowed) moved to ``dst_crs``."""
    if src_crs == dst_crs:
        return geometries
    transformer = Transformer.from_crs(src_crs, dst_crs, always_xy=True)

    def transform(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometries, transform)
