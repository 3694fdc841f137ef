"""Physics checks of the ground-vehicle model on planar terrains.

Expected values come from closed-form mechanics (circle geometry, Coulomb
friction on an incline, rolling resistance, the static stability factor),
each at two physics rates to show that halving the step changes nothing
beyond the integrator's error bound.
"""

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest

from twin_gym.dynamics import _ground_kernels as gk
from twin_gym.dynamics.ground_vehicle import (
    FIELD_ROVER,
    PASSENGER_CAR,
    GroundVehicleParams,
    SurfaceTraction,
    get_preset,
)
from twin_gym.errors import InputError
from twin_gym.sim import RoverSim
from twin_gym.terrain.classes import SurfaceClass

G = 9.80665
ROVER = dataclasses.replace(FIELD_ROVER, drag_area=0.0)


def plane(slope_x=0.0, slope_y=0.0, half=60.0, cell_size=1.0, surface=0):
    """Return a terrain z = slope_x x + slope_y y with one surface class."""
    size = int(round(2 * half / cell_size)) + 1
    xs = -half + cell_size * np.arange(size)
    ys = half - cell_size * np.arange(size)
    heights = slope_x * xs[None, :] + slope_y * ys[:, None]
    return SimpleNamespace(
        heights=heights.astype(np.float32),
        classes=np.full((size, size), surface, dtype=np.uint8),
        structure_heights=np.zeros((size, size), dtype=np.float32),
        x_first=-half,
        y_first=half,
        cell_size=cell_size,
    )


def run(sim, command, seconds):
    commands = np.tile(np.asarray(command, dtype=float), (sim.num_vehicles, 1))
    states = []
    result = None
    for _ in range(round(seconds * sim.control_hz)):
        result = sim.step(commands)
        states.append(sim.state.copy())
    return np.array(states), result


@pytest.mark.parametrize("physics_hz", [100.0, 200.0])
def test_kinematic_turn_radius(physics_hz):
    traction = {SurfaceClass.GROUND: SurfaceTraction(0.6, 0.0)}
    sim = RoverSim(ROVER, 1, physics_hz=physics_hz, traction=traction)
    sim.reset(np.array([[0.0, 0.0]]), yaw=np.array([0.4]))
    steer = 0.3
    length = ROVER.wheelbase
    rear_arm = length - ROVER.cg_to_front
    speed = 0.4
    sim.state[0, gk.S_STEER] = steer
    sim.state[0, gk.S_VX] = speed
    sim.state[0, gk.S_YAW_RATE] = speed * math.tan(steer) / length
    sim.state[0, gk.S_VY] = rear_arm * sim.state[0, gk.S_YAW_RATE]
    states, _ = run(sim, [steer, 0.0, 0.0], 10.0)
    yaw = states[:, 0, gk.S_YAW]
    rear = states[:, 0, 0:2] - rear_arm * np.stack([np.cos(yaw), np.sin(yaw)], 1)
    radius = length / math.tan(steer)
    centre = np.array([-rear_arm * math.cos(0.4), -rear_arm * math.sin(0.4)])
    centre += radius * np.array([-math.sin(0.4), math.cos(0.4)])
    distance = np.linalg.norm(rear - centre, axis=1)
    # Without rolling resistance or drag the speed stays 0.4 m/s and RK4 on
    # a circle errs by O((r dt)^5) per step: far below 1e-9 m here.
    np.testing.assert_allclose(distance, radius, atol=1e-9)
    assert states[-1, 0, gk.S_VX] == pytest.approx(speed, abs=1e-12)
    assert yaw[-1] - 0.4 == pytest.approx(10.0 * speed / radius, rel=1e-9)


def slope_sim(tan_slope, physics_hz=100.0, friction=0.6, params=ROVER):
    traction = {SurfaceClass.GROUND: SurfaceTraction(friction, 0.05)}
    sim = RoverSim(
        params, 1, physics_hz=physics_hz, terrain=plane(tan_slope), traction=traction
    )
    sim.reset(np.array([[0.0, 0.0]]))
    return sim


@pytest.mark.parametrize("tan_slope", [0.5, 0.58])
def test_parked_below_friction_slope_stays(tan_slope):
    sim = slope_sim(tan_slope)
    assert sim.state[0, gk.S_PITCH] == pytest.approx(math.atan(tan_slope))
    states, _ = run(sim, [0.0, 0.0, 1.0], 5.0)
    assert np.all(states[:, 0, gk.S_X] == 0.0)
    assert np.all(states[:, 0, gk.S_VX] == 0.0)


@pytest.mark.parametrize("physics_hz", [100.0, 200.0])
@pytest.mark.parametrize("tan_slope", [0.62, 0.7])
def test_parked_above_friction_slope_slides(tan_slope, physics_hz):
    sim = slope_sim(tan_slope, physics_hz)
    states, _ = run(sim, [0.0, 0.0, 1.0], 4.0)
    # The float32 heights round the slope, so take the sampled one.
    theta = states[0, 0, gk.S_PITCH]
    # Locked wheels: a = g (sin t - mu cos t) down the slope, constant, so
    # RK4 is exact. The float32 heights wobble the sampled slope by about
    # 1e-7 relative from cell to cell, which bounds the error.
    accel = G * (math.sin(theta) - 0.6 * math.cos(theta))
    t = 4.0
    assert states[-1, 0, gk.S_VX] == pytest.approx(-accel * t, rel=1e-7)
    travelled = 0.5 * accel * t * t * math.cos(theta)
    assert states[-1, 0, gk.S_X] == pytest.approx(-travelled, rel=1e-7)
    assert states[-1, 0, gk.S_Z] == pytest.approx(-travelled * tan_slope, rel=1e-6)


@pytest.mark.parametrize("surface", [SurfaceClass.ROAD, SurfaceClass.VEGETATION])
def test_coasting_decelerates_by_rolling_resistance(surface):
    sim = RoverSim(ROVER, 1, terrain=plane(surface=surface))
    sim.reset(np.array([[0.0, 0.0]]))
    sim.state[0, gk.S_VX] = 0.45
    states, _ = run(sim, [0.0, 0.0, 0.0], 1.0)
    c_rr = {SurfaceClass.ROAD: 0.015, SurfaceClass.VEGETATION: 0.08}[surface]
    # v = v0 - C_rr g t until it stops, then it stays stopped.
    expected = np.maximum(0.45 - c_rr * G * 0.1 * np.arange(1, 11), 0.0)
    np.testing.assert_allclose(states[:, 0, gk.S_VX], expected, atol=1e-12)


@pytest.mark.parametrize("physics_hz", [100.0, 200.0])
def test_downhill_roll_accelerates(physics_hz):
    sim = slope_sim(-0.1, physics_hz)
    states, _ = run(sim, [0.0, 0.0, 0.0], 0.3)
    theta = -states[0, 0, gk.S_PITCH]
    accel = G * (math.sin(theta) - 0.05 * math.cos(theta))
    assert states[-1, 0, gk.S_VX] == pytest.approx(accel * 0.3, rel=1e-9)


@pytest.mark.parametrize("margin_deg", [-2.0, 2.0])
def test_max_climbable_slope(margin_deg):
    limit = ROVER.max_climbable_slope(0.6, 0.05)
    # Grip-limited: mu * cos t = sin t + C_rr cos t for all-wheel drive.
    assert math.tan(limit) == pytest.approx(0.6 - 0.05, rel=1e-9)
    theta = limit + math.radians(margin_deg)
    sim = slope_sim(math.tan(theta))
    states, _ = run(sim, [0.0, 1.0, 0.0], 3.0)
    if margin_deg < 0:
        assert states[-1, 0, gk.S_X] > 0.5
    else:
        # The wheels spin at the grip limit and rolling resistance keeps the
        # vehicle in place: stuck.
        assert states[-1, 0, gk.S_X] <= 0.0
        assert states[-1, 0, gk.S_VX] <= 0.0


@pytest.mark.parametrize("tan_roll", [1.1, 1.3])
def test_static_rollover_at_stability_factor(tan_roll):
    assert ROVER.static_stability_factor == pytest.approx(1.2)
    # High friction so that the tipping angle, not sliding, is the limit.
    traction = {SurfaceClass.GROUND: SurfaceTraction(2.0, 0.05)}
    sim = RoverSim(ROVER, 1, terrain=plane(slope_y=tan_roll), traction=traction)
    sim.reset(np.array([[0.0, 0.0]]))
    assert sim.state[0, gk.S_ROLL] == pytest.approx(math.atan(tan_roll))
    _, result = run(sim, [0.0, 0.0, 1.0], 0.2)
    assert result.rolled_over[0] == (tan_roll > 1.2)


def circle_run(friction, seconds=4.0):
    traction = {SurfaceClass.GROUND: SurfaceTraction(friction, 0.015)}
    sim = RoverSim(
        PASSENGER_CAR, 1, terrain=plane(half=400.0, cell_size=10.0), traction=traction
    )
    sim.reset(np.array([[0.0, 0.0]]))
    sim.state[0, gk.S_VX] = 20.0
    states = [sim.state.copy()]
    result = None
    for _ in range(round(seconds * sim.control_hz)):
        result = sim.step(np.array([[0.15, 0.3, 0.0]]))
        states.append(sim.state.copy())
    return np.array(states)[:, 0], result


def test_tyres_cap_acceleration_at_friction():
    states, result = circle_run(0.6)
    yaw = states[:, gk.S_YAW]
    vel_w = np.stack(
        [
            states[:, gk.S_VX] * np.cos(yaw) - states[:, gk.S_VY] * np.sin(yaw),
            states[:, gk.S_VX] * np.sin(yaw) + states[:, gk.S_VY] * np.cos(yaw),
        ],
        1,
    )
    accel = np.linalg.norm(np.diff(vel_w, axis=0), axis=1) / 0.1
    # Only tyre forces and drag act: |a| <= mu g + drag / m.
    drag = 0.5 * 1.225 * PASSENGER_CAR.drag_area * 20.0**2 / PASSENGER_CAR.mass
    assert accel.max() <= 0.6 * G + drag + 1e-6
    # A 0.15 rad steer at 20 m/s requests v^2 tan(d) / L = 22 m/s^2, so it skids.
    assert accel.max() > 0.5 * G
    assert not result.rolled_over[0]


def test_high_grip_turn_rolls_over():
    # With grip above the car's stability factor (1.41) the tyres can hold
    # the lateral acceleration at which it tips.
    _, result = circle_run(2.0)
    assert result.rolled_over[0]


def test_water_and_buildings_block():
    terrain = plane()
    # Cell columns are x = -60 + col, so column 70 spans x in [9.5, 10.5].
    terrain.classes[:, 70] = SurfaceClass.WATER
    terrain.structure_heights[:, 50] = 8.0  # a wall at x in [-10.5, -9.5]
    sim = RoverSim(ROVER, 2, terrain=terrain)
    sim.reset(np.zeros((2, 2)), yaw=np.array([0.0, math.pi]))
    states, result = run(sim, [0.0, 1.0, 0.0], 10.0)
    assert result.collided.tolist() == [True, True]
    front = ROVER.cg_to_front
    assert 9.5 - front - 0.06 < sim.state[0, gk.S_X] < 9.5 - front
    assert -9.5 + front < sim.state[1, gk.S_X] < -9.5 + front + 0.06
    assert np.all(sim.state[:, gk.S_VX] == 0.0)


def test_steering_rate_and_angle_limits():
    sim = RoverSim(ROVER, 1)
    sim.step(np.array([[1.0, 0.0, 0.0]]))
    assert sim.state[0, gk.S_STEER] == pytest.approx(ROVER.max_steer_rate * 0.1)
    run(sim, [1.0, 0.0, 0.0], 1.0)
    assert sim.state[0, gk.S_STEER] == pytest.approx(ROVER.max_steer_angle)


def test_pose_quaternion_matches_slope():
    sim = RoverSim(ROVER, 1, terrain=plane(0.3))
    sim.reset(np.array([[0.0, 0.0]]), yaw=np.array([0.0]))
    quat = sim.pose_history[0, -1, 4:8]
    w, x, y, z = quat
    # Body x in the world: the first column of the rotation matrix.
    body_x = np.array(
        [1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)]
    )
    np.testing.assert_allclose(body_x, np.array([1.0, 0.0, 0.3]) / math.hypot(1, 0.3))


def test_params_and_sim_reject_bad_input():
    with pytest.raises(InputError, match="cg_to_front"):
        dataclasses.replace(FIELD_ROVER, cg_to_front=2.0)
    with pytest.raises(InputError, match="driven_axles"):
        dataclasses.replace(FIELD_ROVER, driven_axles="middle")
    with pytest.raises(InputError, match="not found"):
        get_preset("tank")
    assert isinstance(get_preset("passenger_car"), GroundVehicleParams)
    sim = RoverSim(FIELD_ROVER, 2)
    with pytest.raises(InputError, match="commands"):
        sim.step(np.zeros((2, 2)))
    with pytest.raises(InputError, match="off the map"):
        RoverSim(FIELD_ROVER, 1, terrain=plane()).reset(np.array([[100.0, 0.0]]))


@pytest.mark.parametrize("parallel", [False, True])
def test_batched_vehicles_match_single(parallel):
    terrain = plane(0.1, 0.05)
    single = RoverSim(FIELD_ROVER, 1, terrain=terrain, parallel=False)
    many = RoverSim(FIELD_ROVER, 20, terrain=terrain, parallel=parallel)
    run(single, [0.2, 0.8, 0.0], 3.0)
    run(many, [0.2, 0.8, 0.0], 3.0)
    np.testing.assert_array_equal(many.state, np.repeat(single.state, 20, axis=0))


@pytest.mark.parametrize("physics_hz", [100.0, 200.0])
def test_euler_integrator_is_first_order(physics_hz):
    # Constant acceleration down a slope: Euler's velocity is exact and its
    # position lags the closed form by a t dt / 2 along the slope.
    sim = RoverSim(
        ROVER,
        1,
        physics_hz=physics_hz,
        terrain=plane(-0.1),
        traction={SurfaceClass.GROUND: SurfaceTraction(0.6, 0.05)},
        integrator="euler",
    )
    sim.reset(np.array([[0.0, 0.0]]))
    states, _ = run(sim, [0.0, 0.0, 0.0], 1.0)
    theta = -states[0, 0, gk.S_PITCH]
    accel = G * (math.sin(theta) - 0.05 * math.cos(theta))
    dt = 1.0 / physics_hz
    assert states[-1, 0, gk.S_VX] == pytest.approx(accel, rel=1e-7)
    lag = 0.5 * accel * dt * math.cos(theta)
    exact = 0.5 * accel * math.cos(theta)
    assert states[-1, 0, gk.S_X] == pytest.approx(exact - lag, rel=1e-7)
