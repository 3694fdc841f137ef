"""Tests of the max-height pyramid: the plain walk's hits in fewer steps."""

import math

import numpy as np
import pytest

from twin_gym.raycast._kernels import PYRAMID_LEVELS
from twin_gym.raycast._pyramid import build_pyramid
from twin_gym.raycast.scene import RaycastScene

from raycast_reference import (  # isort: skip
    assert_same_hits,
    hilly_scene,
    random_rays,
)


def lidar_rays(scene, positions, channels=32, steps=256):
    """Return rays of a spinning LiDAR (-30 to +15 degrees) at each position."""
    elevation = np.radians(np.linspace(-30.0, 15.0, channels))[:, None]
    azimuth = np.linspace(0.0, 2.0 * math.pi, steps, endpoint=False)[None, :]
    directions = np.stack(
        np.broadcast_arrays(
            np.cos(elevation) * np.cos(azimuth),
            np.cos(elevation) * np.sin(azimuth),
            np.sin(elevation),
        ),
        axis=-1,
    ).reshape(-1, 3)
    origins = np.repeat(positions, len(directions), axis=0)
    return origins, np.tile(directions, (len(positions), 1))


def test_pyramid_levels_hold_block_maxima():
    rng = np.random.default_rng(3)
    heights = rng.normal(0.0, 5.0, (70, 45)).astype(np.float32)
    structure_heights = np.where(rng.random((70, 45)) < 0.1, 7.5, 0.0)
    levels = build_pyramid(heights, structure_heights)
    assert len(levels) == PYRAMID_LEVELS
    assert levels[0].shape == (69, 2 * 44)
    terrain_max, column_max = levels[0][:, 0::2], levels[0][:, 1::2]
    terrain = heights.astype(np.float64)
    tops = np.where(structure_heights > 0.0, terrain + structure_heights, -np.inf)
    for r, c in [(0, 0), (10, 20), (68, 43), (33, 0)]:
        for grid, values in ((terrain_max, terrain), (column_max, tops)):
            corners = values[r : r + 2, c : c + 2].max()
            assert grid[r, c] >= corners
            assert grid[r, c] <= np.nextafter(np.float32(corners), np.float32(np.inf))
    assert np.isneginf(column_max).any()
    solid_max = np.maximum(terrain_max, column_max)
    for level in range(1, PYRAMID_LEVELS):
        size = 4**level
        expected_shape = (-(-69 // size), -(-44 // size))
        assert levels[level].shape == expected_shape
        assert levels[level][0, 0] == solid_max[:size, :size].max()
        last = solid_max[
            (expected_shape[0] - 1) * size :, (expected_shape[1] - 1) * size :
        ]
        assert levels[level][-1, -1] == last.max()


@pytest.mark.parametrize("seed", range(3))
def test_pyramid_gives_the_same_hits(seed):
    rng = np.random.default_rng(seed)
    rows, cols = rng.integers(150, 300, 2)
    with_pyramid = hilly_scene(rng, rows, cols)
    plain = RaycastScene(
        with_pyramid.heights,
        with_pyramid.classes,
        with_pyramid.valid,
        with_pyramid.x_first,
        with_pyramid.y_first,
        with_pyramid.cell_size,
        structure_heights=with_pyramid.structure_heights,
        use_pyramid=False,
    )
    origins, directions, max_ranges = random_rays(rng, with_pyramid, 3000)
    # Drone and rover poses sweep long rays across many blocks.
    positions = np.array([[0.0, 0.0, 60.0], [30.5, -20.25, 2.0], [-70.0, 40.0, 30.0]])
    lidar_origins, lidar_directions = lidar_rays(with_pyramid, positions)
    origins = np.concatenate([origins, lidar_origins])
    directions = np.concatenate([directions, lidar_directions])
    max_ranges = np.concatenate([max_ranges, np.full(len(lidar_origins), 200.0)])
    fast = with_pyramid.cast(origins, directions, max_ranges)
    slow = plain.cast(origins, directions, max_ranges)
    # Skips change where each quad's span starts by rounding, so ranges may
    # differ by that much.
    assert_same_hits(
        with_pyramid, fast, slow, origins, directions, ("with the pyramid", "without")
    )
    assert fast.hit.sum() > 1000


@pytest.mark.parametrize(
    ("height", "max_ratio"), [(40.0, 0.2), (1.5, 0.6)], ids=["drone", "rover"]
)
def test_pyramid_cuts_walk_steps(height, max_ratio):
    rng = np.random.default_rng(11)
    scene = hilly_scene(rng, 512, 512)
    ground = float(scene.height_at(3.25, -7.5))
    origins, directions = lidar_rays(scene, np.array([[3.25, -7.5, ground + height]]))
    plain = scene.walk_steps(origins, directions, 200.0, use_pyramid=False)
    skipping = scene.walk_steps(origins, directions, 200.0, use_pyramid=True)
    ratio = skipping.sum() / plain.sum()
    assert ratio < max_ratio, f"steps with pyramid / without = {ratio:.3f}"
