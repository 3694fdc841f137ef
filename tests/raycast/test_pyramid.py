"""Tests of the max-height pyramid: the plain walk's hits in fewer steps."""

import math

import numpy as np
import pytest

from twin_gym.raycast._kernels import PYRAMID_LEVELS
from twin_gym.raycast._pyramid import build_pyramid
from twin_gym.raycast.scene import RaycastScene

from raycast_reference import (  # isort: skip
    is_tangent_touch,
    random_rays,
    scene_triangles,
)


def hilly_scene(rng, rows, cols, use_pyramid=True, buildings=0.02):
    """Return smooth hills with a few tall columns, 1 m cells."""
    y, x = np.mgrid[0:rows, 0:cols]
    heights = (
        20.0 * np.sin(x / 37.0) * np.cos(y / 23.0)
        + 0.02 * x
        + rng.normal(0.0, 0.2, (rows, cols))
    )
    structure_heights = np.where(
        rng.random((rows, cols)) < buildings, rng.uniform(3.0, 30.0, (rows, cols)), 0.0
    )
    return RaycastScene(
        heights,
        rng.integers(0, 6, (rows, cols)),
        np.ones((rows, cols), bool),
        -0.5 * cols,
        0.5 * rows,
        1.0,
        structure_heights=structure_heights,
        use_pyramid=use_pyramid,
    )


def on_face_edge(scene, point_w, tolerance=1e-9):
    """Return whether a hit point lies on an edge shared by two faces.

    Triangle edges are the grid lines and the quad diagonals; column walls
    stand on the half-cell lines.
    """
    u = (point_w[0] - scene.x_first) / scene.cell_size
    v = (scene.y_first - point_w[1]) / scene.cell_size

    def near_line(value, offset):
        shifted = value - offset
        return abs(shifted - round(shifted)) <= tolerance

    on_grid = near_line(u, 0.0) or near_line(v, 0.0)
    on_diagonal = abs((u - math.floor(u)) - (v - math.floor(v))) <= tolerance
    on_footprint = near_line(u, 0.5) or near_line(v, 0.5)
    return on_grid or on_diagonal or on_footprint


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
    # differ by that much. As in the reference tests, a ray aimed exactly at
    # a vertex that it only touches takes or skips the touch by one rounding
    # step. Any other difference fails.
    both_hit = fast.hit & slow.hit
    agree = ~fast.hit & ~slow.hit
    agree[both_hit] = np.abs(fast.range[both_hit] - slow.range[both_hit]) <= 1e-9
    differ = np.flatnonzero(~agree)
    triangles = scene_triangles(with_pyramid)
    for i in differ:
        t_first = min(fast.range[i], slow.range[i])
        assert is_tangent_touch(triangles, origins[i], directions[i], t_first), (
            f"ray {i}: {fast.range[i]} m with the pyramid, {slow.range[i]} m without"
        )
    assert len(differ) <= len(origins) // 1000
    same = np.setdiff1d(np.arange(len(origins)), differ)
    np.testing.assert_array_equal(fast.hit[same], slow.hit[same])
    np.testing.assert_allclose(
        fast.point_w[same], slow.point_w[same], rtol=0.0, atol=1e-9
    )
    # A hit on an edge that two faces share reports the face that the walk
    # reached first, which the same rounding decides.
    normals_equal = (fast.normal_w[same] == slow.normal_w[same]) | (
        np.isnan(fast.normal_w[same]) & np.isnan(slow.normal_w[same])
    )
    other_face = np.flatnonzero(
        ~normals_equal.all(axis=1)
        | (fast.surface_class[same] != slow.surface_class[same])
    )
    for i in same[other_face]:
        assert on_face_edge(with_pyramid, fast.point_w[i]), (
            f"ray {i} hits {fast.point_w[i]} with normal {fast.normal_w[i]} "
            f"and class {fast.surface_class[i]} with the pyramid, normal "
            f"{slow.normal_w[i]} and class {slow.surface_class[i]} without"
        )
    assert len(other_face) <= len(origins) // 100
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
