"""Vector layers of a twin: what each layer is and how it was placed.

A layer is a file of buildings, roads, water or vegetation. :class:`LayerSpec`
describes how to read it, and :class:`LayerReport` records what the build did
with each feature. :mod:`twin_gym.terrain.burn` places the features on the grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from twin_gym.errors import InputError
from twin_gym.terrain.classes import SurfaceClass

LayerKind = Literal["buildings", "roads", "water", "vegetation"]
LAYER_KINDS: tuple[str, ...] = ("buildings", "roads", "water", "vegetation")

KIND_CLASS = {
    "buildings": SurfaceClass.BUILDING,
    "roads": SurfaceClass.ROAD,
    "water": SurfaceClass.WATER,
    "vegetation": SurfaceClass.VEGETATION,
}
BURN_ORDER = ("vegetation", "water", "roads", "buildings")
"""Order in which kinds are burned: a later kind overwrites an earlier one
on the cells they share, so a road crosses a park and a building sits on a
road."""

DEFAULT_WIDTH_M = {"roads": 6.0, "water": 3.0}
"""Width given to a line without a width or lane attribute, metres."""


@dataclass(frozen=True)
class LayerSpec:
    """How to read one vector layer and place it on a twin."""

    kind: LayerKind
    """Kind of feature in the layer: buildings, roads, water or vegetation."""
    source: str
    """Path of a GeoJSON, GeoPackage, Shapefile or OpenStreetMap file
    (``.osm``, ``.osm.bz2``, ``.osm.pbf``)."""
    crs: str | None = None
    """CRS of the coordinates, required when the file has none and
    overriding the file's CRS when given."""
    where: str | None = None
    """OGR SQL filter on attributes, such as ``"subtype = 'river'"``;
    not used for OpenStreetMap files."""
    height_field: str = "height"
    """Attribute with the building height: a number in ``height_unit`` or a
    string with a unit, such as ``"12 m"`` or ``"40 ft"``. Case-insensitive."""
    height_unit: Literal["m", "ft"] = "m"
    """Unit of bare numbers in ``height_field`` and ``width_field``."""
    levels_field: str = "building:levels"
    """Attribute with the number of storeys, used when there is no height."""
    storey_height: float = 3.0
    """Height of one storey in metres."""
    default_height: float = 6.0
    """Height in metres of a building with neither height nor levels (two
    storeys of 3 m)."""
    width_field: str = "width"
    """Attribute with the width of a road or waterway line."""
    lanes_field: str = "lanes"
    """Attribute with the number of lanes of a road without a width."""
    lane_width: float = 3.5
    """Width of one lane in metres."""
    default_width: float | None = None
    """Width of a line with neither width nor lanes, in metres. None means
    6 m for roads and 3 m for water."""
    all_touched: bool = False
    """Place a feature on every cell it touches. False places it on the
    cells whose centre it covers, so a footprint keeps its area on average
    but one smaller than a cell may cover no centre and is reported."""
    on_invalid: Literal["skip", "fail"] = "skip"
    """``"skip"`` leaves out invalid features and reports them, and
    ``"fail"`` stops the build at the first one with an error naming it."""

    def __post_init__(self) -> None:
        if self.kind not in LAYER_KINDS:
            raise InputError(
                f"layer kind {self.kind!r} of {self.source} is unknown; use one "
                f"of {', '.join(LAYER_KINDS)}"
            )
        if self.on_invalid not in ("skip", "fail"):
            raise InputError(
                f"on_invalid of layer {self.source} must be skip or fail, "
                f"got {self.on_invalid!r}"
            )
        if self.height_unit not in ("m", "ft"):
            raise InputError(
                f"height_unit of layer {self.source} must be m or ft, "
                f"got {self.height_unit!r}"
            )
        lengths = {
            "storey_height": self.storey_height,
            "default_height": self.default_height,
            "lane_width": self.lane_width,
            "default_width": self.default_width,
        }
        for name, value in lengths.items():
            if value is not None and not (math.isfinite(value) and value > 0):
                raise InputError(
                    f"{name} of layer {self.source} must be a positive number "
                    f"of metres, got {value}"
                )

    @property
    def line_width(self) -> float:
        """Width of a line without attributes, metres."""
        if self.default_width is not None:
            return self.default_width
        return DEFAULT_WIDTH_M.get(self.kind, 3.0)


@dataclass
class LayerReport:
    """Outcome of placing one layer's features in a build."""

    kind: str
    """Layer kind."""
    source: str
    """Path of the layer file."""
    features: int = 0
    """Features in the file, readable or not."""
    placed: int = 0
    """Features placed on at least one cell."""
    cells: int = 0
    """Cells that the layer's class covers after the burn."""
    cells_on_no_data: int = 0
    """Cells that features cover but that have no valid terrain, so they
    were left out."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(feature id, reason) of each feature that was not placed."""
    warnings: list[tuple[str, str]] = field(default_factory=list)
    """(feature id, message) of placed features with a questionable
    attribute, such as a height string that fell back to another rule."""
    rules: dict[str, int] = field(default_factory=dict)
    """Buildings only: how many heights came from each rule (``height``,
    ``levels``, ``default``)."""
    height_range_m: tuple[float, float] | None = None
    """Buildings only: lowest and highest placed building, metres above
    ground."""
    buildings: list[tuple[str, str, float]] = field(default_factory=list)
    """Buildings only: (feature id, rule, height in metres) of each placed
    building."""

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready values."""
        # Built by hand: dataclasses.asdict deep-copies every tuple, which
        # takes a second for a layer of 50,000 buildings.
        return {
            "kind": self.kind,
            "source": self.source,
            "features": self.features,
            "placed": self.placed,
            "cells": self.cells,
            "cells_on_no_data": self.cells_on_no_data,
            "skipped": [list(item) for item in self.skipped],
            "warnings": [list(item) for item in self.warnings],
            "rules": dict(self.rules),
            "height_range_m": (
                None if self.height_range_m is None else list(self.height_range_m)
            ),
            "buildings": [list(item) for item in self.buildings],
        }


def layer_spec_from_dict(document: dict[str, Any], label: str) -> LayerSpec:
    """Return a :class:`LayerSpec` from a map's ``[[layers]]`` table.

    Raises:
        InputError: A key is unknown or a required key is missing.
    """
    known = set(LayerSpec.__dataclass_fields__)
    unknown = set(document) - known
    if unknown:
        raise InputError(
            f"{label}: unknown keys {sorted(unknown)} in [[layers]]; valid keys: "
            f"{', '.join(sorted(known))}"
        )
    for key in ("kind", "source"):
        if key not in document:
            raise InputError(f'{label}: a [[layers]] table needs {key} = "..."')
    return LayerSpec(**document)
