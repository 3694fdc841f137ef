"""Drawing start and goal positions on a twin's allowed cells."""

from __future__ import annotations

import math

import numpy as np

from twin_gym.errors import InputError
from twin_gym.terrain.twin import TerrainTwin

MAX_DRAWS = 1000
"""Start and goal pairs tried before giving up."""


def draw_start_and_goal(
    np_random: np.random.Generator,
    twin: TerrainTwin,
    cells: np.ndarray,
    distance_range: tuple[float, float],
    map_name: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw a start cell and a goal at a random bearing and distance from it.

    The start is the centre of a cell drawn uniformly from ``cells``. The goal
    lies at a uniform bearing and a distance uniform in ``distance_range``,
    and it must fall on one of ``cells`` too.

    Args:
        np_random: The environment's random generator.
        twin: Twin whose grid the cells index.
        cells: Allowed cells as sorted flat indices into the grid, int64.
        distance_range: (min, max) start-to-goal distance in metres.
        map_name: Map name for error messages.

    Returns:
        Local (x, y) of the start and of the goal, metres, each shape (2,).

    Raises:
        InputError: No allowed cell, or no goal found in ``MAX_DRAWS`` tries.
    """
    if cells.size == 0:
        raise InputError(
            f"map {map_name!r} has no cell where an episode may start; "
            "use a larger area of interest or relax the start conditions"
        )
    rows, cols = twin.shape
    low, high = distance_range
    for _ in range(MAX_DRAWS):
        start = int(cells[np_random.integers(cells.size)])
        start_xy = np.array(twin.cell_centre(start // cols, start % cols))
        bearing = np_random.uniform(0.0, 2.0 * math.pi)
        distance = np_random.uniform(low, high)
        goal_xy = start_xy + distance * np.array([math.cos(bearing), math.sin(bearing)])
        row, col = twin.cell_of(goal_xy[0], goal_xy[1])
        if 0 <= row < rows and 0 <= col < cols:
            flat = int(row) * cols + int(col)
            index = np.searchsorted(cells, flat)
            if index < cells.size and cells[index] == flat:
                return start_xy, goal_xy
    raise InputError(
        f"could not place a goal {low}-{high} m from a start on map "
        f"{map_name!r}; use a smaller goal_distance_range"
    )
