"""Tests of the LiDAR model: presets, noise, intensity, point clouds, motion."""

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from twin_gym.errors import InputError
from twin_gym.raycast.scene import RaycastScene
from twin_gym.sensors import MountPose, PoseRecorder, SpinningLidar, SpinningLidarConfig
from twin_gym.sensors.lidar import LIDAR_PRESETS

from scenes import IDENTITY, flat_scene, wall_scene  # isort: skip


@pytest.mark.parametrize("model", sorted(LIDAR_PRESETS))
def test_preset_flat_plane_analytic_ranges(model):
    config = SpinningLidarConfig.preset(model, range_noise_std=0.0, azimuth_steps=64)
    lidar = SpinningLidar(config)
    scan = lidar.measure(flat_scene(height=2.0), [[0.0, 0.0, 12.0]], IDENTITY)
    for channel, elevation in enumerate(np.radians(config.elevations_deg)):
        expected = 10.0 / math.sin(-elevation) if elevation < 0.0 else math.inf
        if expected > config.max_range:
            assert not scan.valid[0, channel].any(), f"channel {channel}"
            continue
        np.testing.assert_allclose(scan.range[0, channel], expected, rtol=1e-12)
        np.testing.assert_allclose(scan.points_w[0, channel, :, 2], 2.0, atol=1e-9)


def test_preset_vertical_tables():
    vlp16 = SpinningLidarConfig.preset("VLP-16")
    np.testing.assert_allclose(vlp16.elevations_deg, np.arange(-15, 16, 2))
    hdl32 = SpinningLidarConfig.preset("HDL-32E")
    assert hdl32.channels == 32
    assert hdl32.elevations_deg[0] == pytest.approx(-30.67)
    assert hdl32.elevations_deg[-1] == pytest.approx(10.67)
    for model, channels in (("OS1-64", 64), ("OS1-128", 128)):
        config = SpinningLidarConfig.preset(model)
        assert config.channels == channels
        assert config.elevations_deg.min() == -22.5
        assert config.elevations_deg.max() == 22.5
    with pytest.raises(InputError, match="unknown LiDAR preset 'HDL-64'"):
        SpinningLidarConfig.preset("HDL-64")


def test_custom_elevation_table():
    config = SpinningLidarConfig(
        channels=3, elevation_table_deg=(-10.0, -45.0, 5.0), azimuth_steps=8
    )
    np.testing.assert_array_equal(config.elevations_deg, [-10.0, -45.0, 5.0])
    with pytest.raises(InputError, match="has 2 angles but channels is 3"):
        SpinningLidarConfig(channels=3, elevation_table_deg=(-10.0, 0.0))


def test_range_noise_matches_std():
    config = SpinningLidarConfig.preset("VLP-16", azimuth_steps=900)
    lidar = SpinningLidar(config, seed=1)
    scan = lidar.measure(flat_scene(), [[0.0, 0.0, 5.0]], IDENTITY)
    elevations = np.radians(config.elevations_deg)
    expected = 5.0 / np.sin(-elevations)
    errors = (scan.range[0] - expected[:, None])[scan.valid[0]]
    assert errors.size > 5000
    assert abs(errors.mean()) < 0.003
    assert errors.std() == pytest.approx(0.03, rel=0.05)


def test_intensity_follows_incidence_and_class():
    config = SpinningLidarConfig(
        channels=2,
        elevation_table_deg=(-30.0, -60.0),
        azimuth_steps=4,
        range_noise_std=0.0,
    )
    lidar = SpinningLidar(config)
    scan = lidar.measure(flat_scene(classes=1), [[0.0, 0.0, 5.0]], IDENTITY)
    road = config.reflectivity[1]
    # On flat ground the incidence cosine is the sine of the depression angle.
    np.testing.assert_allclose(scan.intensity[0, 0], road * 0.5, rtol=1e-12)
    np.testing.assert_allclose(
        scan.intensity[0, 1], road * math.sin(math.radians(60.0)), rtol=1e-12
    )


def test_dropout_and_intensity_threshold():
    config = SpinningLidarConfig(
        channels=4,
        vertical_fov_deg=(-60.0, -30.0),
        azimuth_steps=1000,
        dropout_probability=0.25,
        range_noise_std=0.0,
    )
    scan = SpinningLidar(config, seed=2).measure(
        flat_scene(), [[0.0, 0.0, 5.0]], IDENTITY
    )
    assert scan.valid.mean() == pytest.approx(0.75, abs=0.02)
    assert (scan.range[~scan.valid] == 0.0).all()
    assert np.isnan(scan.points_w[~scan.valid]).all()
    water = SpinningLidarConfig(
        channels=4,
        vertical_fov_deg=(-60.0, -30.0),
        azimuth_steps=16,
        min_intensity=0.06,
    )
    dark = SpinningLidar(water).measure(flat_scene(classes=3), [[0, 0, 5.0]], IDENTITY)
    assert not dark.valid.any()


def test_points_in_sensor_and_world_frames():
    mount = MountPose(pos_b=(0.5, 0.0, 0.2), quat_bs=(0.0, 1.0, 0.0, 0.0))
    config = SpinningLidarConfig(
        channels=4,
        vertical_fov_deg=(10.0, 40.0),
        azimuth_steps=32,
        range_noise_std=0.0,
        mount=mount,
    )
    # Rolled upside down, the upward beams look at the ground.
    scan = SpinningLidar(config).measure(flat_scene(), [[1.0, 2.0, 10.0]], IDENTITY)
    assert scan.valid.all()
    np.testing.assert_allclose(scan.points_w[..., 2], 0.0, atol=1e-9)
    sensor_origin = np.array([1.5, 2.0, 10.2])
    # Rotating 180 degrees about x flips y and z of sensor-frame points.
    world_from_sensor = scan.points_s * [1.0, -1.0, -1.0] + sensor_origin
    np.testing.assert_allclose(world_from_sensor, scan.points_w, atol=1e-9)
    np.testing.assert_allclose(
        np.linalg.norm(scan.points_s, axis=-1), scan.range, rtol=1e-12
    )


def test_timestamps_per_azimuth_step():
    config = SpinningLidarConfig(azimuth_steps=100, update_hz=20.0)
    scan = SpinningLidar(config).measure(flat_scene(), [[0, 0, 5.0]], IDENTITY, 3.0)
    assert scan.stamp_s == 3.0
    np.testing.assert_allclose(scan.timestamps_s[0, 0], 3.0 + np.arange(100) / 2000.0)
    assert (scan.timestamps_s[0] == scan.timestamps_s[0, :1]).all()


def moving_history(speed, duration, start_x=0.0, z=5.0, samples=11):
    """Pose history of a body flying east at ``speed`` m/s, shape (1, k, 8)."""
    t = np.linspace(0.0, duration, samples)
    history = np.zeros((1, samples, 8))
    history[0, :, 0] = t
    history[0, :, 1] = start_x + speed * t
    history[0, :, 3] = z
    history[0, :, 4] = 1.0
    return history


@pytest.mark.parametrize("distortion", [True, False], ids=["rolling", "static"])
def test_rolling_scan_distortion(distortion):
    config = SpinningLidarConfig(
        channels=1,
        vertical_fov_deg=(0.0, 0.0),
        azimuth_steps=8,
        update_hz=10.0,
        range_noise_std=0.0,
        motion_distortion=distortion,
    )
    lidar = SpinningLidar(config)
    history = moving_history(speed=20.0, duration=0.1)
    scene = wall_scene(wall_x=30.5)
    scan = lidar.measure(scene, [[0.0, 0.0, 5.0]], IDENTITY, 0.0, history)
    # Step 0 fires east at t = 0; the wall is 30.5 m away.
    assert scan.range[0, 0, 0] == pytest.approx(30.5, abs=1e-9)
    np.testing.assert_allclose(scan.points_w[0, 0, 0, 0], 30.5, atol=1e-9)
    # Step 7 fires 45 degrees south of east at t = 87.5 ms.
    fired_from = 20.0 * 0.0875 if distortion else 0.0
    expected = (30.5 - fired_from) * math.sqrt(2.0)
    assert scan.range[0, 0, 7] == pytest.approx(expected, abs=1e-9)
    # The world points always lie on the wall, whatever pose fired them.
    assert scan.points_w[0, 0, 7, 0] == pytest.approx(30.5, abs=1e-9)


def test_pose_recorder_spans_steps():
    recorder = PoseRecorder(duration_s=0.12)
    for step in range(4):
        history = moving_history(10.0, 0.05, samples=6)
        history[0, :, 0] += 0.05 * step
        history[0, :, 1] += 0.5 * step
        recorder.append(history)
    times = recorder.history[0, :, 0]
    assert np.all(np.diff(times) > 0)
    assert times[-1] == pytest.approx(0.2)
    assert times[0] >= 0.2 - 0.12 - 1e-12


def test_pose_history_checks():
    lidar = SpinningLidar(SpinningLidarConfig(channels=1, azimuth_steps=8))
    history = moving_history(10.0, 0.1)
    reversed_rows = history[:, ::-1]
    empty = history[:, :0]
    zero_quaternion = history.copy()
    zero_quaternion[0, 3, 4:8] = 0.0
    long_quaternion = history.copy()
    long_quaternion[0, 5, 4] = 5.0
    cases = [
        (reversed_rows, "times must not decrease"),
        (empty, "k >= 1"),
        (zero_quaternion, "agent 0 row 3 has norm 0"),
        (long_quaternion, "agent 0 row 5 has norm 5"),
    ]
    for bad, message in cases:
        with pytest.raises(InputError, match=message):
            lidar.measure(flat_scene(), [[0, 0, 5.0]], IDENTITY, 0.0, bad)
        with pytest.raises(InputError, match=message):
            PoseRecorder(duration_s=1.0).append(bad)


def test_pose_recorder_rejects_bool_duration():
    with pytest.raises(InputError, match="duration_s"):
        PoseRecorder(duration_s=True)


def test_hooks_act_on_output_and_timing():
    lidar = SpinningLidar(SpinningLidarConfig(range_noise_std=0.0))

    def attenuate(scan):
        scan.intensity = scan.intensity * 0.5
        return scan

    lidar.hooks.after_output.append(attenuate)
    lidar.hooks.before_update.append(lambda time_s: time_s < 1.0)
    scan = lidar.measure(flat_scene(), [[0, 0, 5.0]], IDENTITY, 0.5)
    reference = SpinningLidar(SpinningLidarConfig(range_noise_std=0.0)).measure(
        flat_scene(), [[0, 0, 5.0]], IDENTITY, 0.5
    )
    np.testing.assert_allclose(scan.intensity, 0.5 * reference.intensity)
    assert lidar.measure(flat_scene(), [[0, 0, 5.0]], IDENTITY, 1.5) is None


def test_scan_keeps_ideal_ranges_with_noise_config():
    config = SpinningLidarConfig(range_noise_std=0.5, dropout_probability=0.5)
    ranges = SpinningLidar(config).scan(flat_scene(), [[0, 0, 10.0]], IDENTITY)
    expected = SpinningLidar(SpinningLidarConfig(range_noise_std=0.0)).scan(
        flat_scene(), [[0, 0, 10.0]], IDENTITY
    )
    np.testing.assert_array_equal(ranges, expected)


def test_lidar_on_sim_clock_with_recorded_poses():
    from twin_gym.dynamics import DELIVERY_QUADROTOR
    from twin_gym.sim import DroneSim

    sim = DroneSim(DELIVERY_QUADROTOR, num_agents=1, physics_hz=200.0, control_hz=20.0)
    sim.reset(np.array([[0.0, 0.0, 10.0]]))
    config = SpinningLidarConfig(
        channels=4,
        vertical_fov_deg=(-60.0, -30.0),
        azimuth_steps=64,
        range_noise_std=0.0,
        update_hz=10.0,
    )
    lidar = SpinningLidar(config)
    recorder = PoseRecorder(duration_s=0.2)
    scene = flat_scene()
    scans = []
    for _ in range(8):
        sim.step(np.array([[2.0, 0.0, 0.0, 0.0]]))
        recorder.append(sim.pose_history)
        if lidar.timer.due(sim.time_s):
            start_s = sim.time_s - 1.0 / config.update_hz
            scans.append(
                lidar.measure(
                    scene,
                    sim.state[:, 0:3],
                    sim.state[:, 6:10],
                    start_s,
                    recorder.history,
                )
            )
    # The first check takes the update due at time 0, then one per 0.1 s.
    ends = [round(scan.stamp_s + 0.1, 3) for scan in scans]
    assert ends == [0.05, 0.1, 0.2, 0.3, 0.4]
    for scan in scans:
        assert scan.valid.all()
        np.testing.assert_allclose(scan.points_w[..., 2], 0.0, atol=1e-9)
        assert np.all(np.diff(scan.timestamps_s[0, 0]) > 0.0)


def relief_scene(seed=4, size=160):
    """Rolling hills at 1 m with a few tall columns, centred on the origin."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    heights = 6.0 * np.sin(x / 17.0) * np.cos(y / 11.0) + rng.normal(0, 0.1, x.shape)
    structures = np.where(rng.random(x.shape) < 0.03, rng.uniform(3, 20, x.shape), 0.0)
    return RaycastScene(
        heights,
        rng.integers(0, 6, x.shape).astype(np.uint8),
        np.ones(x.shape, bool),
        -size / 2,
        size / 2,
        1.0,
        structure_heights=structures,
    )


@pytest.mark.parametrize("tilt_deg", [0.0, 8.0], ids=["level", "tilted"])
def test_scan_measure_match_single_rays(tilt_deg):
    # Level, each azimuth step is cast as one fan; tilted, ray by ray.
    scene = relief_scene()
    config = SpinningLidarConfig.preset("VLP-16", range_noise_std=0.0)
    lidar = SpinningLidar(config)
    half = math.radians(tilt_deg) / 2.0
    quat = np.array([[math.cos(half), math.sin(half), 0.0, 0.0]])
    pos = np.array([[3.0, -2.0, float(scene.height_at(3.0, -2.0)) + 1.8]])
    ranges = lidar.scan(scene, pos, quat)[0]
    history = moving_history(speed=15.0, duration=0.1, start_x=-1.0, z=pos[0, 2])
    history[0, :, 4:8] = quat[0]
    scan = lidar.measure(scene, pos, quat, 0.0, history)

    rotation = Rotation.from_quat(quat[0], scalar_first=True).as_matrix()
    expected = scene.cast(
        np.repeat(pos, len(lidar.directions_b), axis=0),
        lidar.directions_b @ rotation.T,
        config.max_range,
    )
    want = np.where(expected.hit, expected.range, config.max_range).reshape(lidar.shape)
    np.testing.assert_allclose(ranges, want, rtol=0.0, atol=1e-5)
    assert (ranges < config.max_range).mean() > 0.3

    # The moving revolution fires step s from x = start + speed * t(s).
    times = lidar.firing_offsets_s()
    origins = np.column_stack(
        [-1.0 + 15.0 * times, np.zeros_like(times), np.full_like(times, pos[0, 2])]
    )
    directions = lidar.directions_b.reshape(*lidar.shape, 3) @ rotation.T
    moving = scene.cast(
        np.tile(origins, (lidar.shape[0], 1)),
        directions.reshape(-1, 3),
        config.max_range,
    )
    # Dropout and the intensity threshold only remove returns.
    hit = scan.valid[0].ravel()
    assert hit.mean() > 0.3
    np.testing.assert_array_equal(moving.hit[hit], True)
    np.testing.assert_allclose(
        scan.range[0].ravel()[hit], moving.range[hit], rtol=0.0, atol=1e-9
    )
