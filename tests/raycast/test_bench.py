"""Smoke test of the ray casting benchmark on a small twin."""

import math

import numpy as np

from twin_gym.bench import raycast


def test_bench_scene_poses_and_hits():
    scene = raycast.build_bench_scene(256, seed=1)
    assert scene.shape == (256, 256)
    assert scene.has_structures
    directions_b = raycast.lidar_directions_b(4, 32)
    pose_sets = raycast.make_pose_sets(scene, 2, directions_b, seed=1, channels=4)
    assert [p.name for p in pose_sets] == ["rover", "drone"]
    for pose_set in pose_sets:
        assert pose_set.origins_w.shape == (2 * 128, 3)
        fan_origins, fan_directions = pose_set.fans()
        assert fan_directions.shape == (2 * 32, 4, 3)
        # The fans hold the same rays, only in another order.
        np.testing.assert_array_equal(
            pose_set.from_fans(fan_directions[..., 2]), pose_set.directions_w[:, 2]
        )
        np.testing.assert_array_equal(
            pose_set.from_fans(np.repeat(fan_origins[:, 0], 4)),
            pose_set.origins_w[:, 0],
        )
        casts = raycast.twin_gym_casts(scene, pose_set, 200.0)
        fan_range = pose_set.from_fans(casts["fans"]())
        ray_range = casts["rays"]()
        times = raycast.best_times(casts, 2)
        assert set(times) == {"fans", "rays"}
        assert all(0.0 < seconds < math.inf for seconds in times.values())
        assert np.isfinite(ray_range).any()
        np.testing.assert_array_equal(np.isfinite(fan_range), np.isfinite(ray_range))
        hit = np.isfinite(ray_range)
        np.testing.assert_allclose(fan_range[hit], ray_range[hit], rtol=0, atol=1e-9)
    ground = scene.height_at(
        pose_sets[0].positions_w[:, 0], pose_sets[0].positions_w[:, 1]
    )
    np.testing.assert_allclose(pose_sets[0].positions_w[:, 2] - ground, 1.5, atol=1e-4)


def test_best_times_take_turns():
    calls = []
    times = raycast.best_times(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, 3
    )
    assert calls == ["a", "b"] * 3
    assert set(times) == {"a", "b"}
