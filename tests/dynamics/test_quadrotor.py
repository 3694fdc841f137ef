"""Physics checks of the batched quadrotor model.

Expected values come from closed-form physics (hover balance, free fall,
terminal velocity, Euler's equations), not from earlier runs of the code.
"""

import dataclasses
import math

import numpy as np
import pytest

from twin_gym.dynamics import (
    DELIVERY_QUADROTOR,
    QuadrotorParams,
    _kernels,
    get_preset,
    hover_state,
    step_quadrotors,
)
from twin_gym.errors import InputError

G = 9.80665
P = DELIVERY_QUADROTOR
NO_DRAG = {"drag_linear": (0.0, 0.0, 0.0), "drag_quadratic": (0.0, 0.0, 0.0)}


def stopped_rotor_params(**changes):
    return dataclasses.replace(P, rotor_speed_min=0.0, **changes)


def state_at(pos_w, rotor_speed):
    state = hover_state(P, np.array([pos_w], dtype=float))
    state[:, 13:17] = rotor_speed
    return state


def test_hover_thrust_equals_weight():
    w = P.hover_rotor_speed
    assert 4 * P.thrust_coefficient * w**2 == pytest.approx(P.mass * G, rel=1e-12)


def test_hover_holds_position_10s():
    state = hover_state(P, np.array([[1.0, -2.0, 30.0]]), yaw=np.array([0.7]))
    start = state.copy()
    cmd = np.full((1, 4), P.hover_rotor_speed)
    step_quadrotors(state, cmd, P, dt=0.005, num_steps=2000)
    assert np.abs(state[0, 0:3] - start[0, 0:3]).max() < 1e-9
    assert np.abs(state[0, 3:6]).max() < 1e-9
    assert np.abs(state[0, 6:10] - start[0, 6:10]).max() < 1e-12
    assert np.abs(state[0, 10:13]).max() < 1e-12


def test_free_fall_matches_closed_form():
    params = stopped_rotor_params(**NO_DRAG)
    state = state_at([0.0, 0.0, 100.0], 0.0)
    dt = 0.01
    steps = 300
    step_quadrotors(state, np.zeros((1, 4)), params, dt=dt, num_steps=steps)
    t = dt * steps
    drop = 100.0 - state[0, 2]
    assert drop == pytest.approx(0.5 * G * t * t, rel=1e-9)
    assert state[0, 5] == pytest.approx(-G * t, rel=1e-9)
    assert np.abs(state[0, 0:2]).max() == 0.0


@pytest.mark.parametrize("dt", [0.01, 0.005])
def test_terminal_velocity_quadratic_drag(dt):
    c_quad = 0.12
    params = stopped_rotor_params(
        drag_linear=(0.0, 0.0, 0.0), drag_quadratic=(0.06, 0.06, c_quad)
    )
    state = state_at([0.0, 0.0, 1000.0], 0.0)
    step_quadrotors(state, np.zeros((1, 4)), params, dt=dt, num_steps=round(20.0 / dt))
    expected = math.sqrt(params.mass * G / c_quad)
    assert -state[0, 5] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("dt", [0.01, 0.005])
def test_terminal_velocity_linear_and_quadratic(dt):
    c_lin = 0.3
    c_quad = 0.12
    params = stopped_rotor_params(
        drag_linear=(0.25, 0.25, c_lin), drag_quadratic=(0.06, 0.06, c_quad)
    )
    state = state_at([0.0, 0.0, 1000.0], 0.0)
    step_quadrotors(state, np.zeros((1, 4)), params, dt=dt, num_steps=round(20.0 / dt))
    weight = params.mass * G
    expected = (-c_lin + math.sqrt(c_lin**2 + 4 * c_quad * weight)) / (2 * c_quad)
    assert -state[0, 5] == pytest.approx(expected, rel=1e-9)


def test_drag_follows_air_velocity():
    """A falling body in steady wind ends up drifting at the wind speed."""
    params = stopped_rotor_params()
    state = state_at([0.0, 0.0, 1000.0], 0.0)
    wind_w = np.array([[4.0, -3.0, 0.0]])
    step_quadrotors(
        state, np.zeros((1, 4)), params, dt=0.02, wind_w=wind_w, num_steps=10000
    )
    assert state[0, 3] == pytest.approx(4.0, abs=1e-6)
    assert state[0, 4] == pytest.approx(-3.0, abs=1e-6)


@pytest.mark.parametrize("dt", [0.005, 0.0025])
def test_yaw_torque_gives_tau_over_izz(dt):
    params = dataclasses.replace(P, motor_time_constant=0.0)
    w_low = 550.0
    w_high = 650.0
    # Rotors 0 and 2 spin counter-clockwise, 1 and 3 clockwise.
    cmd = np.array([[w_low, w_high, w_low, w_high]])
    torque_z = 2 * params.torque_coefficient * (w_high**2 - w_low**2)
    state = state_at([0.0, 0.0, 100.0], cmd[0])
    steps = round(0.5 / dt)
    step_quadrotors(state, cmd, params, dt=dt, num_steps=steps)
    expected_rate = torque_z / params.inertia[2] * dt * steps
    assert state[0, 12] == pytest.approx(expected_rate, rel=1e-9)
    assert abs(state[0, 10]) < 1e-12
    assert abs(state[0, 11]) < 1e-12


def test_roll_torque_gives_tau_over_ixx():
    params = dataclasses.replace(P, motor_time_constant=0.0)
    w_low = 590.0
    w_high = 610.0
    # Left rotors (0 front-left, 1 rear-left) push harder: positive roll.
    # Each side holds one clockwise and one counter-clockwise rotor, so the
    # yaw torques cancel.
    cmd = np.array([[w_high, w_high, w_low, w_low]])
    d = params.arm_length / math.sqrt(2)
    torque_x = 2 * d * params.thrust_coefficient * (w_high**2 - w_low**2)
    state = state_at([0.0, 0.0, 100.0], cmd[0])
    dt = 0.001
    step_quadrotors(state, cmd, params, dt=dt)
    assert state[0, 10] == pytest.approx(torque_x / params.inertia[0] * dt, rel=1e-9)
    assert abs(state[0, 11]) < 1e-12
    assert abs(state[0, 12]) < 1e-12


def test_motor_lag_is_first_order():
    tau = P.motor_time_constant
    state = state_at([0.0, 0.0, 100.0], 300.0)
    cmd = np.full((1, 4), 900.0)
    dt = tau / 8
    step_quadrotors(state, cmd, P, dt=dt, num_steps=8)
    expected = 900.0 + (300.0 - 900.0) * math.exp(-1.0)
    np.testing.assert_allclose(state[0, 13:17], expected, rtol=1e-12)


def test_rotor_command_clamped_to_limits():
    params = dataclasses.replace(P, motor_time_constant=0.0)
    state = state_at([0.0, 0.0, 100.0], 600.0)
    cmd = np.array([[5000.0, -10.0, 600.0, 50.0]])
    step_quadrotors(state, cmd, params, dt=0.005)
    expected = [P.rotor_speed_max, P.rotor_speed_min, 600.0, P.rotor_speed_min]
    np.testing.assert_array_equal(state[0, 13:17], expected)


def tumbling_run(dt, params=P, duration=1.0):
    """Run an asymmetric command that spins, tilts and translates the body."""
    state = hover_state(params, np.array([[0.0, 0.0, 50.0]]), yaw=np.array([0.3]))
    state[0, 3:6] = [2.0, -1.0, 0.5]
    state[0, 10:13] = [0.5, -0.3, 0.8]
    state[0, 13:17] = [400.0, 700.0, 550.0, 650.0]
    cmd = np.array([[640.0, 560.0, 600.0, 620.0]])
    step_quadrotors(
        state,
        cmd,
        params,
        dt=dt,
        wind_w=np.array([[3.0, 1.0, 0.0]]),
        num_steps=round(duration / dt),
    )
    return state[0]


def test_halving_dt_converges_fourth_order():
    # Quadratic drag is left out because |v| v has a kink at v = 0, which
    # lowers the observed order where a body velocity changes sign.
    params = dataclasses.replace(P, drag_quadratic=(0.0, 0.0, 0.0))
    coarse = tumbling_run(0.01, params)
    fine = tumbling_run(0.005, params)
    reference = tumbling_run(0.000625, params)
    coarse_error = np.abs(coarse[0:13] - reference[0:13]).max()
    fine_error = np.abs(fine[0:13] - reference[0:13]).max()
    # RK4 error scales with dt^4: halving dt divides it by about 16.
    assert fine_error < coarse_error / 12
    assert coarse_error < 1e-5


def test_halving_dt_with_full_drag_is_small():
    coarse = tumbling_run(0.005)
    fine = tumbling_run(0.0025)
    # Over 1 s at 200 Hz the position moves by well under a micrometre.
    assert np.abs(fine[0:3] - coarse[0:3]).max() < 1e-6
    assert np.abs(fine[3:13] - coarse[3:13]).max() < 1e-5


def test_quaternion_stays_unit():
    final = tumbling_run(0.005, duration=3.0)
    assert np.linalg.norm(final[6:10]) == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("parallel", [False, True])
def test_batch_rows_are_independent(parallel):
    states = np.vstack([hover_state(P, np.array([[0.0, 0.0, 50.0]]))] * 3)
    states[1, 10] = 0.4
    cmd = np.array([[600.0] * 4, [640.0, 560.0, 600.0, 620.0], [600.0] * 4])
    single = states[1:2].copy()
    step_quadrotors(states, cmd, P, dt=0.005, num_steps=50, parallel=parallel)
    step_quadrotors(single, cmd[1:2], P, dt=0.005, num_steps=50)
    np.testing.assert_allclose(states[1], single[0], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(states[0], states[2])


def mixed_wrench(thrust, torque, params):
    """Return the wrench that the mixer's rotor speeds produce in the model."""
    params = dataclasses.replace(params, motor_time_constant=0.0)
    speeds = np.empty(4)
    _kernels.mix_rotor_speeds(
        thrust, torque[0], torque[1], torque[2], params.to_array(), np.empty(8), speeds
    )
    state = state_at([0.0, 0.0, 100.0], speeds)
    dt = 1e-4
    step_quadrotors(state, speeds[None, :], params, dt=dt)
    inertia = np.array(params.inertia)
    produced_torque = state[0, 10:13] / dt * inertia
    produced_thrust = params.thrust_coefficient * np.sum(speeds**2)
    return speeds, produced_thrust, produced_torque


def test_mixer_reproduces_feasible_wrench():
    thrust = 20.0
    torque = np.array([0.3, -0.2, 0.05])
    speeds, produced_thrust, produced_torque = mixed_wrench(thrust, torque, P)
    assert produced_thrust == pytest.approx(thrust, rel=1e-9)
    np.testing.assert_allclose(produced_torque, torque, rtol=1e-4, atol=1e-6)


def test_mixer_keeps_roll_torque_at_full_thrust():
    torque = np.array([0.5, 0.0, 0.4])
    speeds, produced_thrust, produced_torque = mixed_wrench(P.max_thrust, torque, P)
    assert speeds.max() <= P.rotor_speed_max
    assert speeds.min() >= P.rotor_speed_min
    assert produced_torque[0] == pytest.approx(torque[0], rel=1e-4)
    assert produced_thrust < P.max_thrust
    # Yaw is the first axis given up under saturation.
    assert abs(produced_torque[2]) < torque[2]


def test_mixer_stays_within_limits_at_zero_thrust():
    torque = np.array([-0.4, 0.3, -0.2])
    speeds, produced_thrust, produced_torque = mixed_wrench(0.0, torque, P)
    assert speeds.min() >= P.rotor_speed_min
    np.testing.assert_allclose(produced_torque[0:2], torque[0:2], rtol=1e-4)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mass", -1.0),
        ("mass", math.nan),
        ("arm_length", 0.0),
        ("thrust_coefficient", 0.0),
        ("motor_time_constant", -0.01),
        ("rotor_speed_min", -5.0),
        ("contact_radius", 0.0),
    ],
)
def test_params_reject_invalid_field(field, value):
    with pytest.raises(InputError, match=field):
        dataclasses.replace(P, **{field: value})


def test_params_reject_bad_triples():
    with pytest.raises(InputError, match="inertia"):
        dataclasses.replace(P, inertia=(0.02, 0.02))
    with pytest.raises(InputError, match="drag_quadratic"):
        dataclasses.replace(P, drag_quadratic=(0.1, -0.1, 0.1))


def test_params_reject_speed_range():
    with pytest.raises(InputError, match="rotor_speed_max"):
        dataclasses.replace(P, rotor_speed_min=1000.0, rotor_speed_max=900.0)


def test_params_reject_unable_to_hover():
    with pytest.raises(InputError, match="cannot hover"):
        dataclasses.replace(P, mass=20.0)


def test_preset_lookup():
    assert get_preset("delivery") is DELIVERY_QUADROTOR
    with pytest.raises(InputError, match="not found"):
        get_preset("blimp")


def test_delivery_preset_is_plausible():
    assert 1.5 <= P.mass <= 2.0
    assert 1.8 <= P.max_thrust / (P.mass * G) <= 4.0
    assert isinstance(P, QuadrotorParams)


def test_step_rejects_bad_shapes():
    state = hover_state(P, np.zeros((2, 3)))
    with pytest.raises(InputError, match="rotor_cmd"):
        step_quadrotors(state, np.zeros((1, 4)), P, dt=0.01)
    with pytest.raises(InputError, match="dt"):
        step_quadrotors(state, np.zeros((2, 4)), P, dt=0.0)
    with pytest.raises(InputError, match="state"):
        step_quadrotors(state[:, :13].copy(), np.zeros((2, 4)), P, dt=0.01)
