"""Tests of DroneSim: controller step responses, terrain contact, bookkeeping."""

import math
from types import SimpleNamespace

import numpy as np
import pytest

from twin_gym.dynamics import DELIVERY_QUADROTOR
from twin_gym.errors import InputError
from twin_gym.sim import DroneSim, StepResult

P = DELIVERY_QUADROTOR


def run_setpoint(sim, setpoint, seconds):
    """Step with a constant setpoint; return the states after each step."""
    setpoints = np.tile(np.asarray(setpoint, dtype=float), (sim.num_agents, 1))
    states = []
    for _ in range(round(seconds * sim.control_hz)):
        sim.step(setpoints)
        states.append(sim.state.copy())
    return np.array(states)


def hovering_sim(num_agents=1, z=50.0, yaw=None, **kwargs):
    sim = DroneSim(P, num_agents, **kwargs)
    pos_w = np.zeros((num_agents, 3))
    pos_w[:, 2] = z
    sim.reset(pos_w, yaw=yaw)
    return sim


def planar_terrain(slope_x, slope_y=0.0, size=21, cell_size=2.0, x_first=-20.0):
    """Return a terrain whose surface is the plane z = slope_x x + slope_y y."""
    y_first = -x_first
    cols = x_first + cell_size * np.arange(size)
    rows = y_first - cell_size * np.arange(size)
    heights = slope_x * cols[None, :] + slope_y * rows[:, None]
    return SimpleNamespace(
        heights=heights.astype(np.float32),
        x_first=x_first,
        y_first=y_first,
        cell_size=cell_size,
    )


def test_zero_setpoint_holds_hover():
    sim = hovering_sim()
    states = run_setpoint(sim, [0.0, 0.0, 0.0, 0.0], 5.0)
    drift = np.abs(states[:, 0, 0:3] - [0.0, 0.0, 50.0]).max()
    assert drift < 1e-6


@pytest.mark.parametrize("heading", [0.0, 1.0])
@pytest.mark.parametrize("direction", [0.0, 0.75 * math.pi])
def test_horizontal_step_reaches_5mps(heading, direction):
    sim = hovering_sim(yaw=np.array([heading]))
    target = 5.0 * np.array([math.cos(direction), math.sin(direction)])
    states = run_setpoint(sim, [target[0], target[1], 0.0, 0.0], 6.0)
    vel_xy = states[:, 0, 3:5]
    along = vel_xy @ target / 5.0
    reached = np.flatnonzero(along >= 0.95 * 5.0)
    assert reached.size > 0
    assert (reached[0] + 1) / sim.control_hz <= 3.0
    after_3s = slice(round(3.0 * sim.control_hz), None)
    assert np.abs(vel_xy[after_3s] - target).max() < 0.25
    altitude_loss = 50.0 - states[:, 0, 2].min()
    assert altitude_loss < 1.0


def test_climb_setpoint_climbs_at_2mps():
    sim = hovering_sim()
    states = run_setpoint(sim, [0.0, 0.0, 2.0, 0.0], 5.0)
    vz = states[:, 0, 5]
    settled = slice(round(2.0 * sim.control_hz), None)
    assert np.abs(vz[settled] - 2.0).max() < 0.05
    climbed = states[-1, 0, 2] - states[round(3.0 * sim.control_hz) - 1, 0, 2]
    assert climbed == pytest.approx(4.0, abs=0.1)
    assert np.abs(states[:, 0, 0:2]).max() < 0.01


def test_yaw_rate_setpoint_turns_heading():
    sim = hovering_sim()
    states = run_setpoint(sim, [0.0, 0.0, 0.0, 0.5], 3.0)
    quat = states[:, 0, 6:10]
    yaw = np.unwrap(2 * np.arctan2(quat[:, 3], quat[:, 0]))
    # Heading change over the last 2 s, after the 1 s transient.
    turned = yaw[-1] - yaw[round(1.0 * sim.control_hz) - 1]
    assert turned == pytest.approx(1.0, abs=0.02)


def test_crash_on_flat_plane():
    sim = hovering_sim(z=3.0)
    result = None
    for _ in range(60):
        result = sim.step(np.array([[0.0, 0.0, -3.0, 0.0]]))
        if result.crashed[0]:
            break
    assert isinstance(result, StepResult)
    assert result.crashed[0]
    assert not result.out_of_map[0]
    assert result.contact_speed[0] == pytest.approx(3.0, abs=0.2)
    assert sim.state[0, 2] == pytest.approx(P.contact_radius, abs=1e-9)
    assert np.all(sim.state[0, 3:6] == 0.0)

    frozen = sim.state.copy()
    later = sim.step(np.array([[2.0, 0.0, 1.0, 0.0]]))
    np.testing.assert_array_equal(sim.state, frozen)
    assert later.crashed[0]
    assert later.contact_speed[0] == result.contact_speed[0]
    assert np.all(sim.pose_history[0, :, 1:4] == frozen[0, 0:3])


def test_crash_on_tilted_plane():
    slope = 0.5
    terrain = planar_terrain(slope_x=slope, slope_y=0.2)
    sim = DroneSim(P, 1, terrain=terrain)
    start_z = slope * -10.0 + 3.0
    sim.reset(np.array([[-10.0, 0.0, start_z]]))
    result = None
    for _ in range(200):
        result = sim.step(np.array([[3.0, 0.0, 0.0, 0.0]]))
        if result.crashed[0]:
            break
    assert result.crashed[0]
    x, y, z = sim.state[0, 0:3]
    surface = slope * x + 0.2 * y
    assert z - surface == pytest.approx(P.contact_radius, abs=1e-6)
    assert x > -10.0
    assert result.contact_speed[0] > 1.0


def test_out_of_map_flag():
    terrain = planar_terrain(slope_x=0.0, size=6, cell_size=2.0, x_first=-5.0)
    sim = DroneSim(P, 1, terrain=terrain)
    sim.reset(np.array([[0.0, 0.0, 10.0]]))
    first = sim.step(np.zeros((1, 4)))
    assert not first.out_of_map[0]
    result = first
    for _ in range(100):
        result = sim.step(np.array([[5.0, 0.0, 0.0, 0.0]]))
        if result.out_of_map[0]:
            break
    assert result.out_of_map[0]
    assert not result.crashed[0]
    assert sim.state[0, 0] > 5.0


def test_crashed_agent_frozen_while_others_fly():
    sim = DroneSim(P, 2)
    sim.reset(np.array([[0.0, 0.0, 0.5], [0.0, 0.0, 20.0]]))
    setpoints = np.array([[0.0, 0.0, -3.0, 0.0], [1.0, 0.0, 0.0, 0.0]])
    for _ in range(20):
        result = sim.step(setpoints)
    assert result.crashed.tolist() == [True, False]
    frozen = sim.state[0].copy()
    moving = sim.state[1].copy()
    sim.step(setpoints)
    np.testing.assert_array_equal(sim.state[0], frozen)
    assert sim.state[1, 0] > moving[0]


def test_reset_clears_crash_for_selected_agents():
    sim = DroneSim(P, 2, allow_landing=False)
    sim.reset(np.array([[0.0, 0.0, 0.05], [5.0, 0.0, 0.05]]))
    result = sim.step(np.zeros((2, 4)))
    assert result.crashed.all()
    sim.reset(np.array([[1.0, 2.0, 30.0]]), yaw=np.array([0.5]), agent_ids=[1])
    result = sim.step(np.zeros((2, 4)))
    assert result.crashed.tolist() == [True, False]
    assert result.contact_speed[1] == 0.0
    assert sim.state[1, 2] == pytest.approx(30.0, abs=1e-6)
    assert sim.state[1, 6] == pytest.approx(math.cos(0.25), abs=1e-9)


@pytest.mark.parametrize("parallel", [False, True])
def test_batched_agents_match_single_agent(parallel):
    setpoint = np.array([2.0, -1.0, 0.5, 0.3])
    single = hovering_sim(num_agents=1, parallel=False)
    many = hovering_sim(num_agents=40, parallel=parallel)
    run_setpoint(single, setpoint, 2.0)
    run_setpoint(many, setpoint, 2.0)
    np.testing.assert_allclose(
        many.state, np.repeat(single.state, 40, axis=0), atol=1e-9
    )


def test_pose_history_brackets_step():
    sim = hovering_sim(num_agents=3, physics_hz=240.0, control_hz=30.0)
    run_setpoint(sim, [1.0, 0.5, 0.2, 0.1], 0.5)
    before = sim.state.copy()
    time_before = sim.time_s
    sim.step(np.tile([2.0, -1.0, 1.0, 0.3], (3, 1)))
    history = sim.pose_history
    assert history.shape == (3, 9, 8)
    assert sim.substeps == 8
    np.testing.assert_array_equal(history[:, 0, 1:4], before[:, 0:3])
    np.testing.assert_array_equal(history[:, 0, 4:8], before[:, 6:10])
    np.testing.assert_array_equal(history[:, -1, 1:4], sim.state[:, 0:3])
    np.testing.assert_array_equal(history[:, -1, 4:8], sim.state[:, 6:10])
    times = history[0, :, 0]
    assert times[0] == pytest.approx(time_before)
    assert times[-1] == pytest.approx(sim.time_s)
    np.testing.assert_allclose(np.diff(times), 1.0 / 240.0)


@pytest.mark.parametrize(
    ("physics_hz", "control_hz"),
    [(200.0, 30.0), (100.0, 200.0), (0.0, 20.0), (200.0, -10.0), (math.nan, 20.0)],
)
def test_rates_must_divide(physics_hz, control_hz):
    with pytest.raises(InputError, match="_hz"):
        DroneSim(P, 1, physics_hz=physics_hz, control_hz=control_hz)


def test_rejects_bad_inputs():
    with pytest.raises(InputError, match="num_agents"):
        DroneSim(P, 0)
    with pytest.raises(InputError, match="terrain"):
        DroneSim(P, 1, terrain=SimpleNamespace(heights=np.zeros((3, 3))))
    sim = DroneSim(P, 2)
    with pytest.raises(InputError, match="commands"):
        sim.step(np.zeros((1, 4)))
    with pytest.raises(InputError, match="commands"):
        sim.step(np.full((2, 4), np.nan))
    with pytest.raises(InputError, match="control_mode"):
        DroneSim(P, 1, control_mode="attitude")
    with pytest.raises(InputError, match="pos_w"):
        sim.reset(np.zeros((3, 3)))


def test_time_advances_by_control_period():
    sim = hovering_sim(physics_hz=200.0, control_hz=20.0)
    assert sim.time_s == 0.0
    for _ in range(7):
        sim.step(np.zeros((1, 4)))
    assert sim.time_s == pytest.approx(0.35, abs=1e-12)
