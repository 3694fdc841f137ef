"""Place vector layers on a twin's grid with ``rasterio.features.rasterize``.

Buildings become flat-topped structures standing on the terrain: the roof
of a building of height ``H`` is at ``min(terrain under its cells) + H``,
which follows OpenStreetMap's definition of ``height`` as measured from the
lowest ground at the building. Roads, water and vegetation set the class
grid only. Cells whose terrain is not valid are left as they are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio.features
import rasterio.windows
import shapely
from affine import Affine
from pyproj import CRS

from twin_gym.errors import InputError
from twin_gym.terrain.generated import GENERATED_PREFIX, generate_layer
from twin_gym.terrain.layers import BURN_ORDER, KIND_CLASS, LayerReport, LayerSpec
from twin_gym.terrain.lengths import FOOT_M, parse_length
from twin_gym.terrain.vectors import Feature, ReadLayer, is_osm, read_vector_file

logger = logging.getLogger(__name__)

POLYGONAL = ("Polygon", "MultiPolygon")
LINEAR = ("LineString", "MultiLineString", "LinearRing")


@dataclass
class Grids:
    """The arrays of a twin that layers write into, all shape (rows, cols)."""

    heights: np.ndarray
    """Cell-centre terrain heights, metres, float32."""
    valid: np.ndarray
    """True where the terrain height is valid, bool."""
    classes: np.ndarray
    """:class:`~twin_gym.terrain.classes.SurfaceClass` values, uint8."""
    structure_heights: np.ndarray
    """Metres above ``heights`` of the structure on each cell, float32."""
    transform: Affine
    """Working-CRS transform of the grid."""
    crs: CRS
    """Working CRS."""


def apply_layers(grids: Grids, layers: tuple[LayerSpec, ...]) -> list[LayerReport]:
    """Burn every layer into ``grids`` in :data:`BURN_ORDER` and report each.

    Raises:
        InputError: A layer cannot be read, or a feature or layer is invalid
            and its ``on_invalid`` is ``"fail"``.
    """
    reports: dict[int, LayerReport] = {}
    ordered = sorted(range(len(layers)), key=lambda i: BURN_ORDER.index(layers[i].kind))
    for index in ordered:
        reports[index] = _apply_layer(grids, layers[index])
    for kind in set(layer.kind for layer in layers):
        cells = int((grids.classes == KIND_CLASS[kind]).sum())
        for index, layer in enumerate(layers):
            if layer.kind == kind:
                reports[index].cells = cells
    return [reports[index] for index in range(len(layers))]


def _apply_layer(grids: Grids, spec: LayerSpec) -> LayerReport:
    if spec.source.startswith(GENERATED_PREFIX):
        rows, cols = grids.heights.shape
        left, top = grids.transform.c, grids.transform.f
        bounds = (
            left,
            top + rows * grids.transform.e,
            left + cols * grids.transform.a,
            top,
        )
        read = generate_layer(spec.source, spec.kind, bounds)
        return _place_read_layer(grids, spec, read, spec.source)
    path = Path(spec.source).expanduser()
    if not path.is_file():
        raise InputError(f"{spec.kind} layer not found: {path}; check the path")
    if is_osm(path):
        from twin_gym.terrain.osm import read_osm_file

        read = read_osm_file(path, spec.kind, grids.crs)
    else:
        read = read_vector_file(path, grids.crs, crs=spec.crs, where=spec.where)
    return _place_read_layer(grids, spec, read, str(path))


def _place_read_layer(
    grids: Grids, spec: LayerSpec, read: ReadLayer, label: str
) -> LayerReport:
    report = LayerReport(spec.kind, label)
    report.features = len(read.features) + len(read.unreadable)
    for fid, reason in read.unreadable:
        _invalid(spec, report, fid, reason)
    if report.features == 0:
        _invalid_layer(spec, report, "the layer has no features")
        return report

    features = _usable_features(spec, read, report)
    inside = _inside_grid(grids, features, report)
    if not inside and features:
        _invalid_layer(spec, report, "no feature overlaps the DEM's area of interest")
    if spec.kind == "buildings":
        _burn_buildings(grids, spec, inside, report)
    else:
        _burn_surfaces(grids, spec, inside, report)
    logger.info(
        "placed %d of %d %s from %s (%d skipped)",
        report.placed,
        report.features,
        spec.kind,
        label,
        len(report.skipped),
    )
    return report


def _invalid(spec: LayerSpec, report: LayerReport, fid: str, reason: str) -> None:
    """Report an invalid feature, or raise where the layer does not allow skips."""
    if spec.on_invalid == "fail":
        raise InputError(
            f"{report.source}: feature {fid}: {reason}; fix the feature, or set "
            'on_invalid = "skip" on the layer to leave such features out'
        )
    report.skipped.append((fid, reason))


def _invalid_layer(spec: LayerSpec, report: LayerReport, reason: str) -> None:
    if spec.on_invalid == "fail":
        raise InputError(
            f"{report.source}: {reason}; check the file and the DEM, or set "
            'on_invalid = "skip" on the layer to build without it'
        )
    logger.warning("%s: %s", report.source, reason)
    report.skipped.append(("*", reason))


def _usable_features(
    spec: LayerSpec, read: ReadLayer, report: LayerReport
) -> list[Feature]:
    """Drop invalid geometries and geometry types the layer kind cannot use."""
    allowed = (
        POLYGONAL if spec.kind in ("buildings", "vegetation") else POLYGONAL + LINEAR
    )
    geometries = np.array([feature.geometry for feature in read.features])
    valid = shapely.is_valid(geometries) if len(geometries) else np.array([])
    usable = []
    for index, feature in enumerate(read.features):
        geometry_type = feature.geometry.geom_type
        if geometry_type not in allowed:
            # A type mismatch is a property of mixed layers, not an error.
            # A water layer may contain points of springs, for example.
            report.skipped.append(
                (
                    feature.fid,
                    f"{geometry_type} cannot be a {spec.kind} feature; it needs "
                    + ("a polygon" if len(allowed) == 2 else "a polygon or a line"),
                )
            )
            continue
        if not valid[index]:
            reason = shapely.is_valid_reason(feature.geometry)
            _invalid(spec, report, feature.fid, f"invalid geometry ({reason})")
            continue
        usable.append(feature)
    return usable


def _inside_grid(
    grids: Grids, features: list[Feature], report: LayerReport
) -> list[Feature]:
    rows, cols = grids.heights.shape
    left, top = grids.transform.c, grids.transform.f
    box = shapely.box(
        left, top + rows * grids.transform.e, left + cols * grids.transform.a, top
    )
    geometries = np.array([feature.geometry for feature in features])
    overlaps = shapely.intersects(box, geometries) if features else []
    inside = []
    for feature, overlap in zip(features, overlaps, strict=True):
        if overlap:
            inside.append(feature)
        else:
            report.skipped.append((feature.fid, "outside the twin's grid"))
    return inside


def _rasterize_labels(
    grids: Grids,
    geometries: list[shapely.Geometry],
    all_touched: bool,
    report: LayerReport,
) -> np.ndarray:
    """Return the 1-based index of the geometry on each cell, 0 for none.

    Where geometries overlap, the later one in the list wins. Cells without
    valid terrain get 0, and ``report.cells_on_no_data`` counts them.
    """
    labels = np.zeros(grids.heights.shape, dtype=np.int32)
    if geometries:
        rasterio.features.rasterize(
            zip(geometries, range(1, len(geometries) + 1), strict=True),
            out=labels,
            transform=grids.transform,
            all_touched=all_touched,
        )
    if not grids.valid.all():
        invalid = ~grids.valid
        report.cells_on_no_data += int(np.count_nonzero(labels[invalid]))
        labels[invalid] = 0
    return labels


def _cells_under(
    grids: Grids, geometry: shapely.Geometry, all_touched: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Return the cells a geometry covers and their validity, in its window.

    Only the window around the geometry is rasterized, so checking many
    small features on a large grid stays cheap.
    """
    rows, cols = grids.heights.shape
    left, bottom, right, top = shapely.bounds(geometry)
    window = rasterio.windows.from_bounds(
        left, bottom, right, top, transform=grids.transform
    )
    row_start = min(max(int(window.row_off) - 1, 0), rows)
    col_start = min(max(int(window.col_off) - 1, 0), cols)
    row_stop = min(max(int(window.row_off + window.height) + 2, 0), rows)
    col_stop = min(max(int(window.col_off + window.width) + 2, 0), cols)
    if row_stop <= row_start or col_stop <= col_start:
        empty = np.zeros((0, 0), dtype=bool)
        return empty, empty
    covered = rasterio.features.geometry_mask(
        [geometry],
        out_shape=(row_stop - row_start, col_stop - col_start),
        transform=grids.transform @ Affine.translation(col_start, row_start),
        all_touched=all_touched,
        invert=True,
    )
    return covered, grids.valid[row_start:row_stop, col_start:col_stop]


def _unplaced_reason(grids: Grids, geometry: shapely.Geometry, spec: LayerSpec) -> str:
    """Return why a feature that got no cell of its own was not placed."""
    touched, valid = _cells_under(grids, geometry, all_touched=True)
    if not touched.any():
        return "outside the twin's grid"
    if not (touched & valid).any():
        return "stands only on cells without terrain data"
    covered, _ = _cells_under(grids, geometry, spec.all_touched)
    if (covered & valid).any():
        return "every cell it covers belongs to a taller building"
    return (
        "covers no cell centre (smaller or narrower than a cell); set "
        "all_touched = true on the layer or use a smaller cell_size"
    )


def _burn_surfaces(
    grids: Grids, spec: LayerSpec, features: list[Feature], report: LayerReport
) -> None:
    unit_m = FOOT_M if spec.height_unit == "ft" else 1.0
    geometries = []
    for feature in features:
        geometry = feature.geometry
        if geometry.geom_type in LINEAR:
            width = _line_width(spec, feature, unit_m, report)
            geometry = shapely.buffer(geometry, width / 2)
        geometries.append(geometry)
    labels = _rasterize_labels(grids, geometries, spec.all_touched, report)
    cells_per_feature = np.bincount(labels.ravel(), minlength=len(features) + 1)
    grids.classes[labels > 0] = KIND_CLASS[spec.kind]
    for index, feature in enumerate(features):
        if cells_per_feature[index + 1] > 0:
            report.placed += 1
            continue
        # Features that overlap, such as roads at a junction, share cells.
        # One whose cells all went to later features is still placed.
        covered, valid = _cells_under(grids, geometries[index], spec.all_touched)
        if (covered & valid).any():
            report.placed += 1
        else:
            reason = _unplaced_reason(grids, geometries[index], spec)
            report.skipped.append((feature.fid, reason))


def _line_width(
    spec: LayerSpec, feature: Feature, unit_m: float, report: LayerReport
) -> float:
    width = feature.tags.get(spec.width_field.lower())
    if width is not None:
        try:
            return parse_length(width, unit_m)
        except ValueError as error:
            report.warnings.append((feature.fid, f"width: {error}"))
    lanes = feature.tags.get(spec.lanes_field.lower())
    if lanes is not None:
        try:
            count = float(str(lanes).split(";")[0])
        except ValueError:
            report.warnings.append((feature.fid, f"lanes {lanes!r} is not a number"))
        else:
            if count > 0:
                return count * spec.lane_width
    return spec.line_width


def building_height(spec: LayerSpec, feature: Feature) -> tuple[float, str, list[str]]:
    """Return a building's height in metres, the rule that gave it and warnings.

    The rules, in order: ``height_field`` (``"height"``); ``levels_field``
    times ``storey_height``; ``default_height``. A value that cannot be
    parsed falls through to the next rule with a warning.
    """
    unit_m = FOOT_M if spec.height_unit == "ft" else 1.0
    warnings = []
    height = feature.tags.get(spec.height_field.lower())
    if height is not None and height != "":
        try:
            return parse_length(height, unit_m), "height", warnings
        except ValueError as error:
            warnings.append(f"{spec.height_field}: {error}")
    levels = feature.tags.get(spec.levels_field.lower())
    if levels is not None and levels != "":
        try:
            count = float(str(levels).replace(",", "."))
        except ValueError:
            warnings.append(f"{spec.levels_field} {levels!r} is not a number")
        else:
            if count > 0:
                return count * spec.storey_height, "levels", warnings
            warnings.append(f"{spec.levels_field} {levels!r} is not positive")
    return spec.default_height, "default", warnings


def _burn_buildings(
    grids: Grids, spec: LayerSpec, features: list[Feature], report: LayerReport
) -> None:
    heights_m = np.empty(len(features))
    rules = []
    for index, feature in enumerate(features):
        height, rule, warnings = building_height(spec, feature)
        if warnings and spec.on_invalid == "fail":
            _invalid(spec, report, feature.fid, "; ".join(warnings))
        report.warnings.extend((feature.fid, text) for text in warnings)
        heights_m[index] = height
        rules.append(rule)

    # Taller buildings are burned last, so they win the cells two share.
    order = np.argsort(heights_m, kind="stable")
    geometries = [features[i].geometry for i in order]
    labels = _rasterize_labels(grids, geometries, spec.all_touched, report)
    count = len(features)
    # Buildings cover a small share of a large grid, so the work below runs
    # on the flat indices of covered cells, not on whole-grid masks.
    covered = np.flatnonzero(labels)
    covered_labels = labels.ravel()[covered]
    del labels
    cells_per_building = np.bincount(covered_labels, minlength=count + 1)[1:]
    if count == 0 or not cells_per_building.any():
        for rank, index in enumerate(order):
            reason = _unplaced_reason(grids, geometries[rank], spec)
            report.skipped.append((features[index].fid, reason))
        return

    ground = grids.heights.ravel()[covered]
    base = np.full(count + 1, np.inf)
    np.minimum.at(base, covered_labels, ground)
    base[~np.isfinite(base)] = 0.0
    roof = base + np.concatenate([[0.0], heights_m[order]])
    above = (roof[covered_labels] - ground).astype(np.float32)
    structure_heights = grids.structure_heights.reshape(-1)
    structure_heights[covered] = np.maximum(structure_heights[covered], above)
    grids.classes.reshape(-1)[covered] = KIND_CLASS["buildings"]

    placed_heights = []
    for rank, index in enumerate(order):
        feature = features[index]
        if cells_per_building[rank] == 0:
            reason = _unplaced_reason(grids, geometries[rank], spec)
            report.skipped.append((feature.fid, reason))
            continue
        report.placed += 1
        report.rules[rules[index]] = report.rules.get(rules[index], 0) + 1
        report.buildings.append((feature.fid, rules[index], float(heights_m[index])))
        placed_heights.append(heights_m[index])
    if placed_heights:
        report.height_range_m = (float(min(placed_heights)), float(max(placed_heights)))
