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
    open_cells: np.ndarray
    """Flat indices of the spawn cells with no structure within
    ``structure_clearance_m``, int64, sorted; a drone starting or delivering
    there is clear of walls and roofs."""


@functools.lru_cache(maxsize=4)
def load_twin_map(
    map_name: str, spawn_clearance_m: float = 60.0, structure_clearance_m: float = 15.0
) -> LoadedMap:
    """Build or load the twin of ``map_name`` once per process.

    Vector environments in one process share the arrays, which are never
    written after the build.
    """
    twin = load_map(map_name).build()
    # The scene contains the structures too, so sensors see buildings.
    scene = RaycastScene.from_twin(twin)
    radius = max(1, int(np.ceil(spawn_clearance_m / twin.cell_size)))
    structure = ndimage.generate_binary_structure(2, 1)
    clear = ndimage.binary_erosion(
        twin.valid, structure=structure, iterations=radius, border_value=0
    )
    structure_radius = int(np.ceil(structure_clearance_m / twin.cell_size))
    free = twin.structure_heights <= 0.0
    if structure_radius > 0:
        free = ndimage.binary_erosion(
            free, structure=structure, iterations=structure_radius, border_value=1
        )
    return LoadedMap(twin, scene, np.flatnonzero(clear), np.flatnonzero(clear & free))
