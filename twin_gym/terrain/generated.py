"""Layers that twin_gym generates, for maps of places no package ships data for.

A layer source ``generated:NAME`` or ``generated:NAME?seed=N`` yields the
features of one of the layouts below, laid out around the twin's centre in
its working CRS. The layouts are plausible, not surveyed: use them to train
and test where real footprints are not at hand.

- ``industrial``: an estate of warehouses and sheds (8 to 20 m) in blocks
  between two-lane roads, with paved yards left as ground, a retention pond
  and tree belts along the edge.
- ``rural``: farmsteads of a house and barns (4 to 10 m) along a winding
  road and farm tracks, with woods and a pond.
"""

from __future__ import annotations

import math
from urllib.parse import parse_qs

import numpy as np
import shapely
import shapely.affinity

from twin_gym.errors import InputError
from twin_gym.terrain.vectors import Feature, ReadLayer

GENERATED_PREFIX = "generated:"
LAYOUTS = ("industrial", "rural")


def parse_generated(source: str) -> tuple[str, int]:
    """Return the layout name and seed of a ``generated:NAME?seed=N`` source.

    Raises:
        InputError: The layout is unknown or the seed is not an integer.
    """
    name, _, query = source[len(GENERATED_PREFIX) :].partition("?")
    if name not in LAYOUTS:
        raise InputError(
            f"unknown generated layout {name!r} in {source!r}; use one of "
            f"{', '.join(LAYOUTS)}"
        )
    seed_text = parse_qs(query).get("seed", ["0"])[0]
    try:
        seed = int(seed_text)
    except ValueError:
        raise InputError(
            f"seed {seed_text!r} in {source!r} is not an integer"
        ) from None
    return name, seed


def generate_layer(
    source: str, kind: str, bounds: tuple[float, float, float, float]
) -> ReadLayer:
    """Return the features of ``kind`` of a generated layout over ``bounds``.

    Args:
        source: ``generated:NAME`` or ``generated:NAME?seed=N``.
        kind: Layer kind: buildings, roads, water or vegetation.
        bounds: Working-CRS (left, bottom, right, top) of the twin, metres.
    """
    name, seed = parse_generated(source)
    rng = np.random.default_rng(seed)
    layout = _industrial(rng, bounds) if name == "industrial" else _rural(rng, bounds)
    features = [
        Feature(f"{kind}/{index}", geometry, tags)
        for index, (geometry, tags) in enumerate(layout[kind])
    ]
    return ReadLayer(features, [], "working CRS")


def _empty_layout() -> dict[str, list]:
    return {"buildings": [], "roads": [], "water": [], "vegetation": []}


def _industrial(rng: np.random.Generator, bounds: tuple) -> dict[str, list]:
    left, bottom, right, top = bounds
    layout = _empty_layout()
    block = 180.0
    road_width = 8.0
    xs = np.arange(left + block / 2, right - block / 2, block)
    ys = np.arange(bottom + block / 2, top - block / 2, block)
    for x in xs:
        layout["roads"].append(
            (shapely.LineString([(x, bottom), (x, top)]), {"lanes": "2"})
        )
    for y in ys:
        layout["roads"].append(
            (shapely.LineString([(left, y), (right, y)]), {"lanes": "2"})
        )
    for x0 in xs[:-1]:
        for y0 in ys[:-1]:
            if rng.random() < 0.1:
                pond = shapely.Point(x0 + block / 2, y0 + block / 2).buffer(block / 4)
                layout["water"].append((pond, {"natural": "water"}))
                continue
            _fill_block(
                rng, layout, x0 + road_width, y0 + road_width, block - 2 * road_width
            )
    belt = 25.0
    outer = shapely.box(left, bottom, right, top)
    inner = shapely.box(left + belt, bottom + belt, right - belt, top - belt)
    layout["vegetation"].append((outer.difference(inner), {"natural": "wood"}))
    return layout


def _fill_block(rng, layout, x0: float, y0: float, size: float) -> None:
    """Place one warehouse or two sheds in a block, leaving a yard around them."""
    margin = 10.0
    if rng.random() < 0.6:
        width = rng.uniform(0.5, 0.8) * size
        depth = rng.uniform(0.4, 0.7) * size
        footprint = shapely.box(
            x0 + margin, y0 + margin, x0 + margin + width, y0 + margin + depth
        )
        layout["buildings"].append(
            (footprint, {"height": f"{rng.uniform(10, 20):.1f} m"})
        )
        return
    half = size / 2
    for offset in (0.0, half):
        width = rng.uniform(0.5, 0.8) * (half - margin)
        footprint = shapely.box(
            x0 + offset + margin / 2,
            y0 + margin,
            x0 + offset + margin / 2 + width,
            y0 + margin + rng.uniform(0.4, 0.8) * size,
        )
        layout["buildings"].append(
            (footprint, {"building:levels": str(rng.integers(2, 5))})
        )


def _rural(rng: np.random.Generator, bounds: tuple) -> dict[str, list]:
    left, bottom, right, top = bounds
    width, height = right - left, top - bottom
    layout = _empty_layout()
    xs = np.linspace(left, right, 40)
    phase = rng.uniform(0, 2 * math.pi)
    ys = bottom + height * (
        0.5 + 0.15 * np.sin(2 * math.pi * (xs - left) / width + phase)
    )
    main_road = shapely.LineString(np.column_stack([xs, ys]))
    layout["roads"].append((main_road, {"highway": "secondary", "width": "6 m"}))
    for fraction in rng.uniform(0.1, 0.9, 6):
        farm = main_road.interpolate(fraction, normalized=True)
        side = rng.choice([-1.0, 1.0])
        length = rng.uniform(0.08, 0.2) * height
        yard = (farm.x, farm.y + side * length)
        layout["roads"].append(
            (
                shapely.LineString([(farm.x, farm.y), yard]),
                {"highway": "track", "width": "3 m"},
            )
        )
        _place_farmstead(rng, layout, yard)
    for _ in range(5):
        centre = (rng.uniform(left, right), rng.uniform(bottom, top))
        radius = rng.uniform(0.04, 0.1) * min(width, height)
        wood = shapely.Point(centre).buffer(radius, quad_segs=4)
        wood = shapely.affinity.scale(wood, rng.uniform(0.6, 1.6), 1.0)
        layout["vegetation"].append(
            (wood.difference(main_road.buffer(5)), {"natural": "wood"})
        )
    pond_centre = (rng.uniform(left, right), rng.uniform(bottom, top))
    pond = shapely.Point(pond_centre).buffer(0.02 * min(width, height))
    layout["water"].append((pond, {"natural": "water"}))
    return layout


def _place_farmstead(rng, layout, yard: tuple[float, float]) -> None:
    """Place a house and one to three barns around a farm yard."""
    x, y = yard
    house = shapely.box(x - 6, y + 8, x + 6, y + 18)
    layout["buildings"].append((house, {"building:levels": "2"}))
    for index in range(rng.integers(1, 4)):
        barn_x = x + 15 + index * 28
        barn = shapely.box(barn_x, y - 12, barn_x + rng.uniform(15, 25), y + 6)
        angle = rng.uniform(-20, 20)
        barn = shapely.affinity.rotate(barn, angle, origin=(x, y))
        layout["buildings"].append((barn, {"height": f"{rng.uniform(6, 10):.1f} m"}))
