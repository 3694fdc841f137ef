"""Export of a scene's terrain and structure columns as a triangle mesh.

The mesh lets general-purpose ray tracers (Embree through trimesh or Open3D)
trace the same surface as :class:`~twin_gym.raycast.scene.RaycastScene`, for
oracle tests and benchmarks. Moving shapes are not exported.
"""

import numpy as np

__all__ = ["surface_mesh"]

_BOX_FACES = np.array(
    [
        # Top (z = top), wound counter-clockwise seen from above.
        [4, 5, 6],
        [4, 6, 7],
        # Walls: south (y0), east (x1), north (y1), west (x0).
        [0, 1, 5],
        [0, 5, 4],
        [1, 2, 6],
        [1, 6, 5],
        [2, 3, 7],
        [2, 7, 6],
        [3, 0, 4],
        [3, 4, 7],
    ],
    dtype=np.int64,
)
"""Triangles of one column box over corners 0-3 at the bottom and 4-7 at the
top, each ring ordered (x0, y0), (x1, y0), (x1, y1), (x0, y1)."""

COLUMN_BASE_DEPTH = 1.0
"""Depth in metres of a column box's bottom below the lowest terrain height
among its cell and the eight neighbours, which keeps the walls closed down
into the terrain solid."""


def _terrain_mesh(scene):
    rows, cols = scene.shape
    col_index, row_index = np.meshgrid(np.arange(cols), np.arange(rows))
    vertices = np.column_stack(
        [
            scene.x_first + col_index.ravel() * scene.cell_size,
            scene.y_first - row_index.ravel() * scene.cell_size,
            scene.heights.astype(np.float64).ravel(),
        ]
    )
    corner = (row_index[:-1, :-1] * cols + col_index[:-1, :-1]).ravel()
    east = corner + 1
    south = corner + cols
    south_east = south + 1
    # The fixed diagonal runs from (r, c) to (r + 1, c + 1).
    upper = np.column_stack([corner, east, south_east])
    lower = np.column_stack([corner, south_east, south])
    return vertices, np.concatenate([upper, lower])


def _column_meshes(scene, vertex_offset):
    rows, cols = scene.shape
    cells = np.argwhere(scene.structure_heights > 0.0)
    if cells.size == 0:
        return np.empty((0, 3)), np.empty((0, 3), dtype=np.int64)
    heights = scene.heights.astype(np.float64)
    padded = np.pad(heights, 1, mode="edge")
    lowest = np.min(
        [
            padded[1 + dr : rows + 1 + dr, 1 + dc : cols + 1 + dc]
            for dr in (-1, 0, 1)
            for dc in (-1, 0, 1)
        ],
        axis=0,
    )
    row, col = cells[:, 0], cells[:, 1]
    x_min, y_min, x_max, y_max = scene.bounds
    half = 0.5 * scene.cell_size
    x_centre = scene.x_first + col * scene.cell_size
    y_centre = scene.y_first - row * scene.cell_size
    x0 = np.maximum(x_centre - half, x_min)
    x1 = np.minimum(x_centre + half, x_max)
    y0 = np.maximum(y_centre - half, y_min)
    y1 = np.minimum(y_centre + half, y_max)
    top = heights[row, col] + scene.structure_heights[row, col].astype(np.float64)
    bottom = lowest[row, col] - COLUMN_BASE_DEPTH
    ring_x = np.column_stack([x0, x1, x1, x0])
    ring_y = np.column_stack([y0, y0, y1, y1])
    corners = np.stack(
        [
            np.concatenate([ring_x, ring_x], axis=1),
            np.concatenate([ring_y, ring_y], axis=1),
            np.concatenate(
                [np.repeat(bottom[:, None], 4, 1), np.repeat(top[:, None], 4, 1)],
                axis=1,
            ),
        ],
        axis=-1,
    )
    starts = vertex_offset + 8 * np.arange(len(cells))
    faces = (starts[:, None, None] + _BOX_FACES[None]).reshape(-1, 3)
    return corners.reshape(-1, 3), faces


def surface_mesh(scene):
    """Return the terrain triangles and column boxes of a scene as one mesh.

    Terrain triangles follow the scene's fixed diagonal. Each column is a box
    over its footprint, clipped to the hull like the scene's columns, from
    ``COLUMN_BASE_DEPTH`` below the lowest nearby terrain height up to its
    top, without a bottom face. The union of these surfaces bounds the
    scene's solid, so for a ray starting outside the solid and above the
    hull, the first mesh hit is the scene's hit. Rays that enter the hull
    through its side below the surface differ, because the mesh has no side
    walls.

    Args:
        scene: A :class:`~twin_gym.raycast.scene.RaycastScene`.

    Returns:
        ``(vertices, faces)``: vertex coordinates in the local world frame in
        metres, shape (n_vertices, 3), float64, and vertex indices of each
        triangle, shape (n_faces, 3), int64. Terrain triangles come first,
        two per quad (all upper triangles, then all lower ones).
    """
    terrain_vertices, terrain_faces = _terrain_mesh(scene)
    column_vertices, column_faces = _column_meshes(scene, len(terrain_vertices))
    vertices = np.concatenate([terrain_vertices, column_vertices])
    faces = np.concatenate([terrain_faces, column_faces])
    return vertices, faces
