"""Tests of the spinning LiDAR, the downward rangefinder and their frame helpers."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from twin_gym._frames import rotate_body_to_world, validate_poses
from twin_gym.errors import InputError
from twin_gym.raycast.scene import RaycastScene
from twin_gym.sensors import DownwardRangefinder, SpinningLidar, SpinningLidarConfig

GROUND_Z = 3.0


def flat_scene(height=GROUND_Z, half_width=150.0, cell=2.0):
    n = int(2 * half_width / cell) + 1
    return RaycastScene(
        np.full((n, n), height, np.float32),
        np.zeros((n, n), np.uint8),
        np.ones((n, n), bool),
        -half_width,
        half_width,
        cell,
    )


def tilted_scene(a, b, c0, half_width=150.0, cell=2.0):
    n = int(2 * half_width / cell) + 1
    x = -half_width + np.arange(n) * cell
    y = half_width - np.arange(n) * cell
    heights = a * x[None, :] + b * y[:, None] + c0
    return RaycastScene(
        heights,
        np.zeros((n, n), np.uint8),
        np.ones((n, n), bool),
        -half_width,
        half_width,
        cell,
    )


IDENTITY = np.array([[1.0, 0.0, 0.0, 0.0]])


# --- Beam layout ------------------------------------------------------------


def test_default_config_is_small():
    config = SpinningLidarConfig()
    assert config.channels == 8
    assert config.azimuth_steps == 36
    assert config.vertical_fov_deg == (-30.0, 10.0)
    assert config.max_range == 100.0


def test_directions_b_layout():
    lidar = SpinningLidar(
        SpinningLidarConfig(channels=3, azimuth_steps=4, vertical_fov_deg=(-20, 20))
    )
    directions = lidar.directions_b
    assert directions.shape == (12, 3)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0)
    grid = directions.reshape(3, 4, 3)
    # The middle channel is level: azimuth 0 is +x, 90 degrees is +y (left).
    np.testing.assert_allclose(grid[1, 0], [1.0, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(grid[1, 1], [0.0, 1.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(grid[1, 2], [-1.0, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(grid[1, 3], [0.0, -1.0, 0.0], atol=1e-15)
    # Channels go from the lowest to the highest elevation.
    np.testing.assert_allclose(
        np.degrees(np.arcsin(grid[:, 0, 2])), [-20.0, 0.0, 20.0], atol=1e-12
    )
    assert not directions.flags.writeable


def test_single_channel_points_at_fov_centre():
    lidar = SpinningLidar(SpinningLidarConfig(channels=1, vertical_fov_deg=(-30, 10)))
    elevation = np.degrees(np.arcsin(lidar.directions_b[:, 2]))
    np.testing.assert_allclose(elevation, -10.0, atol=1e-12)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("channels", 0, "channels must be an integer >= 1"),
        ("channels", 2.0, "channels must be an integer >= 1"),
        ("channels", True, "channels must be an integer >= 1"),
        ("azimuth_steps", -3, "azimuth_steps must be an integer >= 1"),
        ("vertical_fov_deg", (10.0, -30.0), "min <= max"),
        ("vertical_fov_deg", (-100.0, 0.0), "-90 <= min"),
        ("vertical_fov_deg", (0.0, 1.0, 2.0), "vertical_fov_deg must be a"),
        ("vertical_fov_deg", ("low", 1.0), "vertical_fov_deg must be a"),
        ("max_range", 0.0, "max_range must be a finite number"),
        ("max_range", math.inf, "max_range must be a finite number"),
        ("max_range", math.nan, "max_range must be a finite number"),
        ("max_range", "far", "max_range must be a finite number"),
        ("motion_distortion", "no", "motion_distortion must be True or False"),
    ],
)
def test_config_rejects_invalid_field(field, value, match):
    with pytest.raises(InputError, match=match):
        SpinningLidarConfig(**{field: value})


def test_config_stores_fov_as_float_tuple():
    config = SpinningLidarConfig(vertical_fov_deg=[-15, 15])
    assert config.vertical_fov_deg == (-15.0, 15.0)
    assert hash(config) == hash(SpinningLidarConfig(vertical_fov_deg=(-15.0, 15.0)))


# --- Scans on analytic surfaces ----------------------------------------------


def test_flat_ground_matches_formula_for_every_channel():
    config = SpinningLidarConfig()
    lidar = SpinningLidar(config)
    height_above = 10.0
    pos_w = np.array([[0.0, 0.0, GROUND_Z + height_above]])
    ranges = lidar.scan(flat_scene(), pos_w, IDENTITY)
    assert ranges.shape == (1, 8, 36)
    assert ranges.dtype == np.float32

    elevations = np.radians(config.elevations_deg)
    checked_hits = 0
    for channel, elevation in enumerate(elevations):
        if elevation < 0.0:
            expected = height_above / math.sin(-elevation)
        else:
            expected = math.inf
        expected = min(expected, config.max_range)
        checked_hits += expected < config.max_range
        np.testing.assert_allclose(
            ranges[0, channel],
            np.full(36, expected),
            rtol=1e-6,
            err_msg=f"channel {channel} at {math.degrees(elevation):.2f} deg",
        )
    # Five channels hit within 100 m, the sixth (-1.4 deg) reads max_range.
    assert checked_hits == 5


def test_yaw_does_not_change_flat_ground_ranges():
    lidar = SpinningLidar()
    pos_w = np.array([[5.0, -7.0, GROUND_Z + 12.0]] * 2)
    yaw = Rotation.from_euler("z", 73.0, degrees=True).as_quat(scalar_first=True)
    quat_wb = np.stack([IDENTITY[0], yaw])
    ranges = lidar.scan(flat_scene(), pos_w, quat_wb)
    np.testing.assert_allclose(ranges[1], ranges[0], rtol=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    quat=st.tuples(*[st.floats(-1, 1)] * 4).filter(lambda q: np.linalg.norm(q) > 0.1),
    x=st.floats(-20, 20),
    y=st.floats(-20, 20),
    z=st.floats(8, 30),
)
def test_tilted_plane_scan_matches_scipy_rotation(quat, x, y, z):
    a, b, c0 = 0.1, -0.05, 1.0
    scene = tilted_scene(a, b, c0)
    config = SpinningLidarConfig(channels=4, azimuth_steps=8, max_range=60.0)
    lidar = SpinningLidar(config)
    quat_wb = np.array([quat]) / np.linalg.norm(quat)
    pos_w = np.array([[x, y, z]])
    ranges = lidar.scan(scene, pos_w, quat_wb)[0].ravel()

    # scipy 1.17 rejects read-only arrays, so it gets a copy.
    directions_w = Rotation.from_quat(quat_wb[0], scalar_first=True).apply(
        np.array(lidar.directions_b)
    )
    closing = directions_w[:, 2] - a * directions_w[:, 0] - b * directions_w[:, 1]
    with np.errstate(divide="ignore"):
        t = (a * x + b * y + c0 - z) / closing
    expected = np.where((closing < 0.0) & (t <= config.max_range), t, 60.0)
    np.testing.assert_allclose(ranges, expected, rtol=1e-5)


def test_agent_below_ground_reads_zero():
    lidar = SpinningLidar()
    ranges = lidar.scan(flat_scene(), [[0.0, 0.0, GROUND_Z - 1.0]], IDENTITY)
    np.testing.assert_array_equal(ranges, 0.0)


def test_agent_off_map_reads_max_range():
    lidar = SpinningLidar()
    ranges = lidar.scan(flat_scene(half_width=10.0), [[500.0, 0.0, 10.0]], IDENTITY)
    np.testing.assert_array_equal(ranges, 100.0)


def test_scan_batches_agents_independently():
    lidar = SpinningLidar(SpinningLidarConfig(channels=2, azimuth_steps=6))
    scene = flat_scene()
    pos_w = np.array([[0.0, 0.0, 13.0], [10.0, 4.0, 23.0], [0.0, 0.0, 13.0]])
    quat_wb = np.tile(IDENTITY, (3, 1))
    together = lidar.scan(scene, pos_w, quat_wb)
    assert together.shape == (3, 2, 6)
    for i in range(3):
        alone = lidar.scan(scene, pos_w[i : i + 1], quat_wb[i : i + 1])
        np.testing.assert_array_equal(together[i], alone[0])
    assert not np.array_equal(together[0], together[1])


@pytest.mark.parametrize(
    ("pos_w", "quat_wb", "match"),
    [
        (np.zeros((2, 2)), np.tile(IDENTITY, (2, 1)), "pos_w must have shape"),
        (np.zeros((2, 3)), IDENTITY, r"quat_wb must have shape \(2, 4\)"),
        (np.full((1, 3), np.nan), IDENTITY, "pos_w must be finite, but agent 0"),
        (np.zeros((1, 3)), np.array([[2.0, 0.0, 0.0, 0.0]]), "agent 0 has norm 2"),
        (np.zeros((1, 3)), np.zeros((1, 4)), "agent 0 has norm 0"),
    ],
)
def test_scan_rejects_invalid_pose(pos_w, quat_wb, match):
    with pytest.raises(InputError, match=match):
        SpinningLidar().scan(flat_scene(half_width=4.0), pos_w, quat_wb)


# --- Frame helpers --------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    quat=st.tuples(*[st.floats(-1, 1)] * 4).filter(lambda q: np.linalg.norm(q) > 0.1)
)
def test_rotate_body_to_world_matches_scipy(quat):
    quat_wb = np.array([quat]) / np.linalg.norm(quat)
    vectors_b = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.3, -0.4, 2.0]])
    rotated = rotate_body_to_world(quat_wb, vectors_b)
    expected = Rotation.from_quat(quat_wb[0], scalar_first=True).apply(vectors_b)
    np.testing.assert_allclose(rotated[0], expected, atol=1e-12)


def test_validate_poses_renormalises_small_drift():
    _, quat = validate_poses([[0.0, 0.0, 0.0]], [[1.0005, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(quat, [[1.0, 0.0, 0.0, 0.0]])


def test_yaw_quarter_turn_maps_forward_to_north():
    half = math.sqrt(0.5)
    rotated = rotate_body_to_world(np.array([[half, 0.0, 0.0, half]]), [[1, 0, 0]])
    np.testing.assert_allclose(rotated[0, 0], [0.0, 1.0, 0.0], atol=1e-15)


# --- Downward rangefinder -----------------------------------------------------------


def test_rangefinder_reads_height_above_ground():
    sensor = DownwardRangefinder()
    pos_w = np.array([[0.0, 0.0, 10.0], [20.0, -30.0, 150.0], [1.0, 1.0, 2.0]])
    ranges = sensor.measure(flat_scene(), pos_w)
    assert ranges.dtype == np.float32
    np.testing.assert_allclose(ranges, [7.0, 147.0, 0.0], rtol=1e-6)


def test_rangefinder_reads_tilted_plane():
    a, b, c0 = 0.2, 0.1, -4.0
    sensor = DownwardRangefinder(max_range=50.0)
    pos_w = np.array([[3.0, -2.0, 20.0]])
    ranges = sensor.measure(tilted_scene(a, b, c0), pos_w)
    assert ranges[0] == pytest.approx(20.0 - (a * 3.0 + b * -2.0 + c0), rel=1e-6)


def test_rangefinder_miss_reads_max_range():
    sensor = DownwardRangefinder()
    pos_w = np.array([[500.0, 0.0, 10.0], [0.0, 0.0, 300.0]])
    ranges = sensor.measure(flat_scene(), pos_w)
    np.testing.assert_array_equal(ranges, [200.0, 200.0])


@pytest.mark.parametrize("max_range", [0.0, -5.0, math.inf, math.nan, "far", True])
def test_rangefinder_rejects_invalid_max_range(max_range):
    with pytest.raises(InputError, match="max_range must be a finite number"):
        DownwardRangefinder(max_range=max_range)


def test_rangefinder_rejects_invalid_positions():
    scene = flat_scene(half_width=4.0)
    with pytest.raises(InputError, match="pos_w must have shape"):
        DownwardRangefinder().measure(scene, np.zeros(3))
    with pytest.raises(InputError, match="pos_w must be finite, but agent 1"):
        DownwardRangefinder().measure(scene, [[0.0, 0.0, 1.0], [0.0, np.inf, 1.0]])
