"""Per-process memo of built twins and their ray casting scenes."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from twin_gym.maps import load_map
from twin_gym.raycast.scene import RaycastScene
from twin_gym.terrain.twin import TerrainTwin


@dataclass(frozen=True, eq=False)
class LoadedMap:
    """A twin with the structures environments derive from it once."""

    twin: TerrainTwin
    """The terrain twin."""
    scene: RaycastScene
    """Ray casting scene over the twin's surface."""
    spawn_cells: np.ndarray
    """Flat indices of cells that are valid with every cell within
    ``spawn_clearance_m`` valid too, int64; spawns and goals use only these."""


@functools.lru_cache(maxsize=4)
def load_twin_map(map_name: str, spawn_clearance_m: float = 60.0) -> LoadedMap:
    """Build or load the twin of ``map_name`` once per process.

    Vector environments in one process share the arrays, which are never
    written after the build.
    """
    twin = load_map(map_name).build()
    scene = RaycastScene(
        twin.heights,
        twin.classes,
        twin.valid,
        twin.x_first,
        twin.y_first,
        twin.cell_size,
    )
    radius = max(1, int(np.ceil(spawn_clearance_m / twin.cell_size)))
    structure = ndimage.generate_binary_structure(2, 1)
    clear = ndimage.binary_erosion(
        twin.valid, structure=structure, iterations=radius, border_value=0
    )
    return LoadedMap(twin, scene, np.flatnonzero(clear))
