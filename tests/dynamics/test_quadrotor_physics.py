"""Physics checks of frames, rotor failure, payload and battery.

Expected values come from closed-form rigid-body and circuit physics, each
with the error bound of the integrator and a check at half the step.
"""

import dataclasses
import math

import numpy as np
import pytest

from twin_gym.dynamics import _kernels, hover_state, step_quadrotors
from twin_gym.dynamics.quadrotor import (
    CRAZYFLIE_2,
    DELIVERY_QUADROTOR,
    DELIVERY_QUADROTOR_WITH_PAYLOAD,
    PRESETS,
    BatteryParams,
)
from twin_gym.errors import InputError
from twin_gym.sim import DroneSim

G = 9.80665
NO_DRAG = {"drag_linear": (0.0, 0.0, 0.0), "drag_quadratic": (0.0, 0.0, 0.0)}
PLUS = dataclasses.replace(DELIVERY_QUADROTOR, frame="plus", motor_time_constant=0.0)


def rotation_matrix(quat):
    rot = np.empty((3, 3))
    _kernels._rotation_matrix(*quat, rot)
    return rot


def test_plus_frame_roll_torque():
    # Rotor 1 sits on body +y and rotor 3 on body -y, both clockwise. With
    # w1^2 + w3^2 = 2 w_hover^2 the yaw torques cancel and
    # tau_x = L k_f (w1^2 - w3^2).
    w_hover = PLUS.hover_rotor_speed
    w1 = math.sqrt(w_hover**2 + 1e4)
    w3 = math.sqrt(w_hover**2 - 1e4)
    cmd = np.array([[w_hover, w1, w_hover, w3]])
    state = hover_state(PLUS, np.array([[0.0, 0.0, 50.0]]))
    state[0, 13:17] = cmd[0]
    dt = 1e-3
    step_quadrotors(state, cmd, PLUS, dt=dt)
    torque_x = (
        PLUS.arm_length * PLUS.thrust_coefficient * (cmd[0, 1] ** 2 - cmd[0, 3] ** 2)
    )
    assert state[0, 10] == pytest.approx(torque_x / PLUS.inertia[0] * dt, rel=1e-9)
    assert abs(state[0, 11]) < 1e-12
    assert abs(state[0, 12]) < 1e-12


@pytest.mark.parametrize("frame", ["x", "plus"])
def test_mixer_inverts_wrench_for_frame(frame):
    params = dataclasses.replace(DELIVERY_QUADROTOR, frame=frame)
    row = params.to_array()
    wrench = (params.mass * G, 0.3, -0.2, 0.05)
    speeds = np.empty(4)
    _kernels.mix_rotor_speeds(*wrench, row, np.empty(8), speeds)
    thrusts = params.thrust_coefficient * speeds**2
    torque = np.zeros(3)
    for i in range(4):
        arm_x, arm_y = _kernels.rotor_position(row, i)
        torque[0] += arm_y * thrusts[i]
        torque[1] -= arm_x * thrusts[i]
        torque[2] -= _kernels.ROTOR_SPIN[i] * params.torque_coefficient * speeds[i] ** 2
    assert thrusts.sum() == pytest.approx(wrench[0], rel=1e-12)
    np.testing.assert_allclose(torque, wrench[1:], rtol=1e-9)


def failed_rotor_run(dt, duration):
    params = dataclasses.replace(DELIVERY_QUADROTOR, rotor_speed_min=0.0, **NO_DRAG)
    params = dataclasses.replace(params, motor_time_constant=0.0)
    state = hover_state(params, np.array([[0.0, 0.0, 100.0]]))
    cmd = np.full((1, 4), params.hover_rotor_speed)
    cmd[0, 0] = 0.0
    state[0, 13:17] = cmd[0]
    step_quadrotors(state, cmd, params, dt=dt, num_steps=round(duration / dt))
    return params, state[0]


def test_rotor_failure_initial_accelerations():
    # Front-left rotor (counter-clockwise) stops: the thrust drops by a
    # quarter, the left side and the nose drop, and the remaining clockwise
    # pair yaws the body counter-clockwise.
    dt = 1e-4
    params, state = failed_rotor_run(dt, dt)
    w2 = params.hover_rotor_speed**2
    d = params.arm_length / math.sqrt(2.0)
    expected_rates = np.array(
        [
            -d * params.thrust_coefficient * w2 / params.inertia[0],
            d * params.thrust_coefficient * w2 / params.inertia[1],
            params.torque_coefficient * w2 / params.inertia[2],
        ]
    )
    # Gyroscopic coupling enters at second order in the rates, O(alpha^2 dt^2).
    np.testing.assert_allclose(state[10:13] / dt, expected_rates, rtol=1e-4)
    assert state[5] / dt == pytest.approx(-G / 4.0, rel=1e-3)


def test_rotor_failure_falls_toward_failed_rotor():
    params, state = failed_rotor_run(0.002, 0.2)
    _, fine = failed_rotor_run(0.001, 0.2)
    assert np.abs(state[0:13] - fine[0:13]).max() < 1e-6
    assert state[5] < 0.0
    # The body tips toward the failed front-left rotor and its thrust pushes
    # it that way: +x (front) and +y (left) at heading 0.
    assert state[0] > 0.0
    assert state[1] > 0.0
    assert state[12] > 0.0
    body_z_w = rotation_matrix(state[6:10])[:, 2]
    assert body_z_w[0] > 0.0
    assert body_z_w[1] > 0.0


def drop_sim(physics_hz, height, **changes):
    params = dataclasses.replace(
        DELIVERY_QUADROTOR, rotor_speed_min=0.0, **NO_DRAG, **changes
    )
    sim = DroneSim(
        params, 1, physics_hz=physics_hz, control_hz=20.0, control_mode="rotor_speed"
    )
    sim.reset(np.array([[0.0, 0.0, height]]))
    sim.state[0, 13:17] = 0.0
    return params, sim


@pytest.mark.parametrize("physics_hz", [200.0, 400.0])
def test_free_fall_until_contact(physics_hz):
    height = 20.0
    params, sim = drop_sim(physics_hz, height)
    times = []
    zs = []
    result = None
    for _ in range(60):
        result = sim.step(np.zeros((1, 4)))
        if result.crashed[0]:
            break
        times.extend(sim.pose_history[0, 1:, 0])
        zs.extend(sim.pose_history[0, 1:, 3])
    times = np.array(times)
    np.testing.assert_allclose(zs, height - 0.5 * G * times**2, atol=1e-9)
    fall = height - params.contact_radius
    contact_speed = math.sqrt(2.0 * G * fall)
    # Linear interpolation of the clearance inside one step misplaces the
    # crossing by at most g dt^2 / 8, so the speed by g^2 dt^2 / (8 v).
    dt = 1.0 / physics_hz
    bound = G * G * dt * dt / (8.0 * contact_speed) + 1e-9
    assert result.crashed[0]
    assert result.contact_speed[0] == pytest.approx(contact_speed, abs=bound)
    assert sim.state[0, 2] == pytest.approx(params.contact_radius, abs=1e-9)


def test_payload_inertia_by_parallel_axes():
    p = DELIVERY_QUADROTOR_WITH_PAYLOAD
    # Centre of mass of airframe (at 0) and payload (at -h).
    com = -p.payload_mass * p.payload_offset / (p.mass + p.payload_mass)
    extra = p.mass * com**2 + p.payload_mass * (p.payload_offset + com) ** 2
    assert p.total_inertia[0] == pytest.approx(p.inertia[0] + extra, rel=1e-12)
    assert p.total_inertia[2] == p.inertia[2]
    assert p.total_mass == pytest.approx(2.3)


@pytest.mark.parametrize("physics_hz", [200.0, 400.0])
def test_payload_drop_accelerates_upward(physics_hz):
    params = dataclasses.replace(
        DELIVERY_QUADROTOR_WITH_PAYLOAD, battery=None, **NO_DRAG
    )
    sim = DroneSim(
        params, 1, physics_hz=physics_hz, control_hz=20.0, control_mode="rotor_speed"
    )
    sim.reset(np.array([[0.0, 0.0, 50.0]]))
    hover = np.full((1, 4), params.hover_rotor_speed)
    sim.step(hover)
    assert abs(sim.state[0, 5]) < 1e-9
    sim.drop_payload()
    for _ in range(4):
        sim.step(hover)
    # Loaded hover thrust on the lighter airframe: a = g m_p / m.
    accel = G * params.payload_mass / params.mass
    assert sim.state[0, 5] == pytest.approx(accel * 0.2, rel=1e-9)
    sim.reset(np.array([[0.0, 0.0, 50.0]]))
    sim.step(hover)
    assert abs(sim.state[0, 5]) < 1e-9


def battery_hover(physics_hz, seconds, resistance):
    battery = BatteryParams(
        capacity_wh=74.0,
        voltage_full=16.8,
        voltage_empty=14.0,
        internal_resistance=resistance,
        power_efficiency=0.75,
    )
    params = dataclasses.replace(
        DELIVERY_QUADROTOR, battery=battery, motor_time_constant=0.0
    )
    sim = DroneSim(
        params, 1, physics_hz=physics_hz, control_hz=10.0, control_mode="rotor_speed"
    )
    sim.reset(np.array([[0.0, 0.0, 50.0]]))
    hover = np.full((1, 4), params.hover_rotor_speed)
    for _ in range(round(seconds * 10.0)):
        result = sim.step(hover)
    return params, sim, result


@pytest.mark.parametrize("physics_hz", [200.0, 400.0])
def test_hover_energy_is_rotor_power_times_time(physics_hz):
    params, sim, result = battery_hover(physics_hz, 10.0, resistance=0.0)
    shaft_power = 4.0 * params.torque_coefficient * params.hover_rotor_speed**3
    expected = shaft_power / params.battery.power_efficiency * 10.0
    assert abs(sim.state[0, 5]) < 1e-9
    assert result.energy_used_j[0] == pytest.approx(expected, rel=1e-9)


def test_hover_energy_includes_resistive_loss():
    params, sim, result = battery_hover(200.0, 10.0, resistance=0.05)
    electrical = (
        4.0 * params.torque_coefficient * params.hover_rotor_speed**3
    ) / params.battery.power_efficiency
    # The open-circuit voltage falls by under 0.1 % over 10 s, so the loss
    # I^2 R with I from V = V_oc - R P / V is constant within that.
    v_oc = params.battery.voltage_full
    voltage = 0.5 * (v_oc + math.sqrt(v_oc**2 - 4.0 * 0.05 * electrical))
    expected = v_oc * electrical / voltage * 10.0
    assert result.energy_used_j[0] == pytest.approx(expected, rel=2e-3)
    assert result.energy_used_j[0] > electrical * 10.0
    assert sim.battery_voltage[0] == pytest.approx(voltage, rel=2e-3)


def test_voltage_sag_caps_rotor_speed():
    params, sim, _ = battery_hover(200.0, 0.1, resistance=0.05)
    # Nearly empty: the open-circuit voltage is close to voltage_empty.
    sim.energy_used_j[0] = 0.99 * params.battery.capacity_j
    full = np.full((1, 4), params.rotor_speed_max)
    sim.step(full)
    voltage_before = sim.battery_voltage[0]
    sim.step(full)
    cap = params.rotor_speed_max * voltage_before / params.battery.voltage_full
    assert cap < 0.85 * params.rotor_speed_max
    assert np.all(sim.state[0, 13:17] <= cap + 1e-6)
    assert np.all(sim.state[0, 13:17] > 0.8 * cap)


def test_empty_battery_cannot_hover():
    params, sim, _ = battery_hover(200.0, 0.1, resistance=0.05)
    sim.energy_used_j[0] = params.battery.capacity_j
    sim.battery_voltage[0] = 0.0
    z_before = sim.state[0, 2]
    sim.step(np.full((1, 4), params.rotor_speed_max))
    # The rotors fall to their minimum speed at once (no motor lag here), whose
    # thrust is under 3 % of the weight: nearly free fall for 0.1 s.
    assert sim.state[0, 2] < z_before - 0.95 * 0.5 * G * 0.1**2
    assert np.all(sim.state[0, 13:17] == params.rotor_speed_min)


def test_gentle_touchdown_lands_and_lifts_off():
    sim = DroneSim(DELIVERY_QUADROTOR, 1)
    sim.reset(np.array([[0.0, 0.0, 1.5]]))
    result = None
    for _ in range(200):
        result = sim.step(np.array([[0.0, 0.0, -0.3, 0.0]]))
        if result.landed[0]:
            break
    assert result.landed[0]
    assert not result.crashed[0]
    assert result.contact_speed[0] == pytest.approx(0.3, abs=0.03)
    for _ in range(10):
        result = sim.step(np.array([[0.0, 0.0, -0.3, 0.0]]))
    assert result.landed[0]
    assert sim.state[0, 2] == pytest.approx(DELIVERY_QUADROTOR.contact_radius)
    for _ in range(20):
        result = sim.step(np.array([[0.0, 0.0, 1.0, 0.0]]))
    assert not result.landed[0]
    assert sim.state[0, 2] > 0.3


def test_tilted_touchdown_crashes():
    sim = DroneSim(DELIVERY_QUADROTOR, 1, control_mode="rotor_speed")
    sim.reset(np.array([[0.0, 0.0, 0.101]]))
    roll = math.radians(30.0)
    sim.state[0, 6:10] = [math.cos(roll / 2), math.sin(roll / 2), 0.0, 0.0]
    sim.state[0, 5] = -0.2
    result = sim.step(np.full((1, 4), DELIVERY_QUADROTOR.rotor_speed_min))
    assert result.crashed[0]
    assert not result.landed[0]
    assert result.contact_speed[0] < DELIVERY_QUADROTOR.touchdown_speed


def terrain_with_tower():
    from types import SimpleNamespace

    size = 21
    heights = np.zeros((size, size), dtype=np.float32)
    structures = np.zeros((size, size), dtype=np.float32)
    # Cell centres at x = -20 + 2 col, y = 20 - 2 row: column 15 is x = 10.
    structures[10, 15] = 10.0
    return SimpleNamespace(
        heights=heights,
        structure_heights=structures,
        x_first=-20.0,
        y_first=20.0,
        cell_size=2.0,
    )


def test_flying_into_structure_crashes():
    sim = DroneSim(DELIVERY_QUADROTOR, 1, terrain=terrain_with_tower())
    sim.reset(np.array([[0.0, 0.0, 5.0]]))
    result = None
    for _ in range(100):
        result = sim.step(np.array([[3.0, 0.0, 0.0, 0.0]]))
        if result.crashed[0]:
            break
    assert result.crashed[0]
    # The wall of the tower's cell is at x = 9.
    assert sim.state[0, 0] == pytest.approx(9.0, abs=0.05)
    assert result.contact_speed[0] > 2.0


def test_landing_on_roof():
    sim = DroneSim(DELIVERY_QUADROTOR, 1, terrain=terrain_with_tower())
    sim.reset(np.array([[10.0, 0.0, 12.0]]))
    result = None
    for _ in range(200):
        result = sim.step(np.array([[0.0, 0.0, -0.4, 0.0]]))
        if result.landed[0] or result.crashed[0]:
            break
    assert result.landed[0]
    assert sim.state[0, 2] == pytest.approx(10.0 + DELIVERY_QUADROTOR.contact_radius)


def test_thrust_rates_mode_tracks_thrust_and_yaw_rate():
    params = dataclasses.replace(DELIVERY_QUADROTOR, **NO_DRAG)
    sim = DroneSim(params, 1, control_mode="thrust_rates")
    sim.reset(np.array([[0.0, 0.0, 50.0]]))
    weight = params.mass * G
    for _ in range(20):
        sim.step(np.array([[weight, 0.0, 0.0, 0.0]]))
    assert np.abs(sim.state[0, 3:6]).max() < 1e-6
    for _ in range(20):
        sim.step(np.array([[2.0 * weight, 0.0, 0.0, 0.5]]))
    assert sim.state[0, 12] == pytest.approx(0.5, abs=1e-3)
    # Once the rotors settle (tau = 0.04 s) the climb acceleration is g.
    vz = sim.state[0, 5]
    sim.step(np.array([[2.0 * weight, 0.0, 0.0, 0.5]]))
    assert (sim.state[0, 5] - vz) / 0.05 == pytest.approx(G, rel=1e-3)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_stable_under_velocity_control(name):
    params = PRESETS[name]
    sim = DroneSim(params, 1, physics_hz=200.0, control_hz=20.0)
    sim.reset(np.array([[0.0, 0.0, 50.0]]))
    for _ in range(80):
        sim.step(np.array([[2.0, -1.0, 0.5, 0.3]]))
    assert np.linalg.norm(sim.state[0, 3:6] - [2.0, -1.0, 0.5]) < 0.05
    assert np.linalg.norm(sim.state[0, 6:10]) == pytest.approx(1.0, abs=1e-12)
    for _ in range(80):
        sim.step(np.zeros((1, 4)))
    assert np.abs(sim.state[0, 3:6]).max() < 0.05


def test_crazyflie_preset_values():
    rpm_to_rad = 60.0 / (2.0 * math.pi)
    assert CRAZYFLIE_2.mass == 0.027
    assert CRAZYFLIE_2.thrust_coefficient == pytest.approx(3.16e-10 * rpm_to_rad**2)
    assert CRAZYFLIE_2.max_thrust / (CRAZYFLIE_2.mass * G) == pytest.approx(2.25)


def test_battery_rejects_bad_values():
    with pytest.raises(InputError, match="voltage_empty"):
        BatteryParams(1.0, 4.2, 4.5, 0.1, 0.8)
    with pytest.raises(InputError, match="power_efficiency"):
        BatteryParams(1.0, 4.2, 3.5, 0.1, 1.5)
    with pytest.raises(InputError, match="frame"):
        dataclasses.replace(DELIVERY_QUADROTOR, frame="hex")
