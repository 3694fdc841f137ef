"""Tests of the planar scanner, depth camera, rangefinder, IMU, GNSS and timing."""

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from twin_gym.errors import InputError
from twin_gym.raycast.scene import RaycastScene
from twin_gym.sensors import (
    DepthCamera,
    DepthCameraConfig,
    Gnss,
    GnssConfig,
    Imu,
    ImuConfig,
    MountPose,
    PlanarScanner,
    PlanarScannerConfig,
    Rangefinder,
    RangefinderConfig,
    RateTimer,
    SpinningLidarConfig,
)
from twin_gym.sensors.imu import GRAVITY

from scenes import IDENTITY, flat_scene, wall_scene  # isort: skip


def quat(rotation):
    return rotation.as_quat(scalar_first=True)[None]


# --- Planar scanner -----------------------------------------------------------


def test_planar_scanner_sees_wall_analytically():
    config = PlanarScannerConfig(range_noise_std=0.0)
    scan = PlanarScanner(config).measure(wall_scene(10.5), [[0.0, 0.0, 2.0]], IDENTITY)
    angles = np.radians(config.angles_deg)
    facing = np.abs(angles) < math.radians(60.0)
    np.testing.assert_allclose(
        scan.range[0, facing], 10.5 / np.cos(angles[facing]), rtol=1e-12
    )
    np.testing.assert_allclose(scan.points_w[0, facing, 0], 10.5, atol=1e-9)
    assert (scan.surface_class[0, facing] == 2).all()
    behind = np.abs(angles) > math.radians(100.0)
    assert not scan.valid[0, behind].any()
    assert (scan.range[0, behind] == config.max_range).all()
    assert config.beams == 1081
    assert config.angles_deg[1] - config.angles_deg[0] == pytest.approx(0.25)


# --- Depth camera ---------------------------------------------------------------


def test_depth_camera_flat_wall_depth_is_constant():
    config = DepthCameraConfig(width=40, height=30, depth_noise_coefficient=0.0)
    frame = DepthCamera(config).measure(wall_scene(6.5), [[0.0, 0.0, 10.0]], IDENTITY)
    assert frame.depth.shape == (1, 30, 40)
    # Depth along the optical axis to a plane facing the camera is constant.
    np.testing.assert_allclose(frame.depth, 6.5, rtol=1e-6)
    assert (frame.semantic == 2).all()


def test_depth_camera_image_axes_and_ground():
    mount = MountPose(
        quat_bs=tuple(quat(Rotation.from_euler("y", 30, degrees=True))[0])
    )
    config = DepthCameraConfig(
        width=8, height=6, depth_noise_coefficient=0.0, mount=mount
    )
    frame = DepthCamera(config).measure(flat_scene(), [[0.0, 0.0, 2.0]], IDENTITY)
    # Pitched 30 degrees down: lower rows see nearer ground.
    column = frame.depth[0, :, 4]
    assert np.all(np.diff(column[column > 0]) < 0)
    assert (frame.semantic[0][frame.depth[0] > 0] == 0).all()
    with pytest.raises(InputError, match="horizontal_fov_deg must be < 180"):
        DepthCameraConfig(horizontal_fov_deg=180.0)


def test_depth_camera_noise_grows_with_depth_squared():
    config = DepthCameraConfig(width=64, height=48, depth_noise_coefficient=0.01)
    frame = DepthCamera(config, seed=0).measure(
        wall_scene(4.5), [[0.0, 0.0, 10.0]], IDENTITY
    )
    assert frame.depth.std() == pytest.approx(0.01 * 4.5**2, rel=0.05)


# --- Rangefinder ------------------------------------------------------------------


def test_rangefinder_tilts_with_body():
    config = RangefinderConfig(range_noise_std=0.0)
    sensor = Rangefinder(config)
    level = sensor.measure(flat_scene(1.0), [[0.0, 0.0, 11.0]], IDENTITY)
    assert level.range[0] == pytest.approx(10.0, abs=1e-12)
    assert level.valid[0]
    tilted = quat(Rotation.from_euler("x", 60, degrees=True))
    reading = sensor.measure(flat_scene(1.0), [[0.0, 0.0, 11.0]], tilted)
    assert reading.range[0] == pytest.approx(20.0, abs=1e-9)
    far = sensor.measure(flat_scene(1.0), [[0.0, 0.0, 100.0]], IDENTITY)
    assert not far.valid[0]
    assert far.range[0] == config.max_range


# --- IMU ---------------------------------------------------------------------------


def quiet_imu(**fields):
    config = ImuConfig(
        accel_noise_density=0.0,
        accel_bias_random_walk=0.0,
        gyro_noise_density=0.0,
        gyro_bias_random_walk=0.0,
        **fields,
    )
    return Imu(config)


def test_level_imu_at_rest_reads_plus_g_up():
    sample = quiet_imu().measure(IDENTITY, np.zeros((1, 3)), np.zeros((1, 3)))
    np.testing.assert_allclose(sample.specific_force, [[0.0, 0.0, GRAVITY]])
    np.testing.assert_allclose(sample.angular_velocity, 0.0)


def test_tilted_and_accelerating_imu():
    rotation = Rotation.from_euler("xyz", [20, -35, 70], degrees=True)
    accel_w = np.array([[1.0, -2.0, 3.0]])
    rate_b = np.array([[0.1, 0.2, -0.3]])
    sample = quiet_imu().measure(quat(rotation), accel_w, rate_b)
    expected = rotation.inv().apply(accel_w[0] - [0.0, 0.0, -GRAVITY])
    np.testing.assert_allclose(sample.specific_force[0], expected, atol=1e-12)
    np.testing.assert_allclose(sample.angular_velocity, rate_b)
    # Free fall reads zero specific force.
    falling = quiet_imu().measure(quat(rotation), [[0, 0, -GRAVITY]], np.zeros((1, 3)))
    np.testing.assert_allclose(falling.specific_force, 0.0, atol=1e-12)


def test_imu_noise_and_bias_random_walk():
    config = ImuConfig(update_hz=100.0)
    agents = 4000
    imu = Imu(config, num_agents=agents, seed=3)
    rest = (np.tile([1.0, 0, 0, 0], (agents, 1)), np.zeros((agents, 3)))
    samples = [imu.measure(rest[0], rest[1], rest[1]) for _ in range(100)]
    first = samples[0].angular_velocity
    assert first.std() == pytest.approx(config.gyro_noise_density * 10.0, rel=0.05)
    # After 1 s the gyro bias has spread by the random walk times sqrt(1 s).
    assert imu.gyro_bias.std() == pytest.approx(config.gyro_bias_random_walk, rel=0.05)
    assert imu.accel_bias.std() == pytest.approx(
        config.accel_bias_random_walk, rel=0.05
    )


def test_imu_on_hovering_sim_reads_plus_g():
    from twin_gym.dynamics import DELIVERY_QUADROTOR
    from twin_gym.sim import DroneSim

    sim = DroneSim(DELIVERY_QUADROTOR, num_agents=1)
    sim.reset(np.array([[0.0, 0.0, 10.0]]))
    imu = quiet_imu()
    imu.measure_state(sim.state, sim.time_s)
    for _ in range(5):
        sim.step(np.zeros((1, 4)))
    sample = imu.measure_state(sim.state, sim.time_s)
    np.testing.assert_allclose(sample.specific_force[0], [0, 0, GRAVITY], atol=0.05)


def test_imu_input_checks():
    imu = Imu(num_agents=3, seed=0)
    rest = np.zeros((3, 3))
    level = np.tile([1.0, 0.0, 0.0, 0.0], (3, 1))
    with pytest.raises(InputError, match=r"quat_wb must have shape \(3, 4\)"):
        imu.measure([[1.0, 0.0, 0.0, 0.0]], rest, rest)
    with pytest.raises(InputError, match=r"got \(2, 4\)"):
        imu.measure(level[:2], rest, rest)
    not_finite = rest.copy()
    not_finite[1, 0] = np.nan
    with pytest.raises(InputError, match="accel_w must be finite, but agent 1"):
        imu.measure(level, not_finite, rest)
    with pytest.raises(InputError, match="rate_b must be finite, but agent 1"):
        imu.measure(level, rest, not_finite)
    with pytest.raises(InputError, match=r"state must have shape \(n_agents, 17\)"):
        imu.measure_state(np.zeros(17), 0.0)


# --- GNSS ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jacksboro_twin():
    from twin_gym.terrain.build import build_twin

    return build_twin(
        "matplotlib:jacksboro_fault_dem.npz",
        use_cache=False,
        cell_size=90.0,
        aoi=(-84.3, 36.55, -84.2, 36.62),
    )


def test_gnss_of_origin_is_anchor(jacksboro_twin):
    config = GnssConfig(horizontal_noise_std=0.0, vertical_noise_std=0.0)
    fix = Gnss(jacksboro_twin, config).measure([[0.0, 0.0, 123.0]])
    assert fix.fix[0]
    assert fix.lon[0] == pytest.approx(jacksboro_twin.anchor_lonlat[0], abs=1e-9)
    assert fix.lat[0] == pytest.approx(jacksboro_twin.anchor_lonlat[1], abs=1e-9)
    assert fix.height[0] == 123.0


def test_gnss_noise_and_fix_loss(jacksboro_twin):
    config = GnssConfig(fix_loss_probability=0.2)
    gnss = Gnss(jacksboro_twin, config, seed=4)
    fix = gnss.measure(np.zeros((5000, 3)))
    assert (~fix.fix).mean() == pytest.approx(0.2, abs=0.02)
    assert np.isnan(fix.lon[~fix.fix]).all()
    x, y, z = jacksboro_twin.lonlat_to_local(fix.lon[fix.fix], fix.lat[fix.fix])
    assert np.std(x) == pytest.approx(1.5, rel=0.05)
    assert np.std(y) == pytest.approx(1.5, rel=0.05)
    assert np.std(fix.height[fix.fix]) == pytest.approx(3.0, rel=0.05)


def test_gnss_names_bad_position(jacksboro_twin):
    gnss = Gnss(jacksboro_twin)
    with pytest.raises(InputError, match=r"agent 1 has \[0.0, inf, 0.0\]"):
        gnss.measure([[0.0, 0.0, 0.0], [0.0, np.inf, 0.0]])
    with pytest.raises(InputError, match=r"pos_w must have shape \(n_agents, 3\)"):
        gnss.measure([0.0, 0.0, 0.0])


# --- Timing ---------------------------------------------------------------------------


def test_rate_timer_on_sim_clock():
    timer = RateTimer(10.0)
    control_dt = 1.0 / 30.0
    fired = [step for step in range(31) if timer.due(step * control_dt)]
    # A 10 Hz sensor on a 30 Hz clock fires every third step.
    assert fired == [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    fast = RateTimer(100.0)
    assert [fast.due(k * 0.05) for k in range(3)] == [True, True, True]
    with pytest.raises(InputError, match="update_hz must be a finite number > 0"):
        RateTimer(0.0)
    for time_s in (math.nan, math.inf):
        with pytest.raises(InputError, match="time_s must be a finite number"):
            timer.due(time_s)


def test_counts_accept_numpy_integers():
    count = np.int64(8)
    makers = {
        "width": lambda value: DepthCameraConfig(width=value),
        "beams": lambda value: PlanarScannerConfig(beams=value),
        "channels": lambda value: SpinningLidarConfig(channels=value),
        "num_agents": lambda value: Imu(num_agents=value),
    }
    for name, make in makers.items():
        make(count)
        for bad in (True, 2.0, 0):
            with pytest.raises(InputError, match=f"{name} must be an integer >= 1"):
                make(bad)


def test_mount_pose_rejects_non_sequences():
    with pytest.raises(InputError, match="pos_b must be 3 finite metres"):
        MountPose(pos_b=1.0)
    with pytest.raises(InputError, match="quat_bs must be a unit quaternion"):
        MountPose(quat_bs=None)


@pytest.mark.parametrize("pitch_deg", [0.0, 20.0], ids=["level", "pitched"])
def test_depth_camera_matches_ray_by_ray(pitch_deg):
    # Level, each image column is cast as one fan; pitched, ray by ray.
    rng = np.random.default_rng(2)
    y, x = np.mgrid[0:120, 0:120]
    heights = 4.0 * np.sin(x / 9.0) * np.cos(y / 13.0)
    structures = np.where(rng.random(x.shape) < 0.05, rng.uniform(2, 15, x.shape), 0.0)
    scene = RaycastScene(
        heights,
        rng.integers(0, 6, x.shape).astype(np.uint8),
        np.ones(x.shape, bool),
        -60.0,
        60.0,
        1.0,
        structure_heights=structures,
    )
    config = DepthCameraConfig(
        width=48, height=36, depth_noise_coefficient=0.0, max_range=60.0
    )
    camera = DepthCamera(config)
    half = math.radians(pitch_deg) / 2.0
    quat = np.array([[math.cos(half), 0.0, math.sin(half), 0.0]])
    pos = np.array([[-20.0, 5.0, float(scene.height_at(-20.0, 5.0)) + 3.0]])
    frame = camera.measure(scene, pos, quat)

    rotation = Rotation.from_quat(quat[0], scalar_first=True).as_matrix()
    rays_w = camera.rays_s @ rotation.T
    lengths = np.linalg.norm(camera.rays_s, axis=1)
    hits = scene.cast(
        np.repeat(pos, len(rays_w), axis=0), rays_w, config.max_range * lengths
    )
    depth = np.where(hits.hit, hits.range / lengths, 0.0).reshape(36, 48)
    depth[depth < config.min_range] = 0.0
    np.testing.assert_allclose(frame.depth[0], depth, rtol=1e-6, atol=1e-5)
    semantic = np.where(depth > 0, hits.surface_class.reshape(36, 48), 255)
    np.testing.assert_array_equal(frame.semantic[0], semantic)
    assert (frame.depth[0] > 0).mean() > 0.3
