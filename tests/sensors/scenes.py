"""Analytic scenes shared by the sensor tests."""

import numpy as np

from twin_gym.raycast.scene import RaycastScene

IDENTITY = np.array([[1.0, 0.0, 0.0, 0.0]])


def flat_scene(height=0.0, half_width=200.0, cell=4.0, classes=0, structures=None):
    """Flat ground at ``height`` over x, y in [-half_width, half_width]."""
    n = int(2 * half_width / cell) + 1
    return RaycastScene(
        np.full((n, n), height),
        np.full((n, n), classes, np.uint8),
        np.ones((n, n), bool),
        -half_width,
        half_width,
        cell,
        structure_heights=structures,
    )


def wall_scene(wall_x, height=0.0, wall_height=50.0, cell=1.0, half_width=100.0):
    """Flat ground with a building wall facing west at ``wall_x`` (cells east of it)."""
    n = int(2 * half_width / cell) + 1
    structures = np.zeros((n, n))
    x = -half_width + np.arange(n) * cell
    structures[:, x - 0.5 * cell >= wall_x] = wall_height
    classes = np.zeros((n, n), np.uint8)
    classes[:, x - 0.5 * cell >= wall_x] = 2
    return RaycastScene(
        np.full((n, n), height),
        classes,
        np.ones((n, n), bool),
        -half_width,
        half_width,
        cell,
        structure_heights=structures,
    )
