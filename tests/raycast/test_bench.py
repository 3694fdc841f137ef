"""Smoke test of the ray casting benchmark on a small twin."""

import numpy as np

from twin_gym.bench import raycast


def test_bench_scene_poses_and_hits():
    scene = raycast.build_bench_scene(256, seed=1)
    assert scene.shape == (256, 256)
    assert scene.has_structures
    directions_b = raycast.lidar_directions_b(4, 32)
    pose_sets = raycast.make_pose_sets(scene, 2, directions_b, seed=1)
    assert [p.name for p in pose_sets] == ["rover", "drone"]
    for pose_set in pose_sets:
        assert pose_set.origins_w.shape == (2 * 128, 3)
        seconds, hits = raycast.time_twin_gym(scene, pose_set, 200.0, 1, 1)
        assert seconds > 0.0
        assert hits.hit.any()
    ground = scene.height_at(
        pose_sets[0].positions_w[:, 0], pose_sets[0].positions_w[:, 1]
    )
    np.testing.assert_allclose(pose_sets[0].positions_w[:, 2] - ground, 1.5, atol=1e-4)
