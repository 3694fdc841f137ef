"""Numba kernels for batched quadrotor dynamics and the velocity controller.

State rows follow the layout in ``twin_gym.dynamics.quadrotor``: ``pos_w[0:3]``,
``vel_w[3:6]``, ``quat_wb[6:10]`` (w, x, y, z), ``rate_b[10:13]`` and
``rotor_speed[13:17]``. World frame ENU, body frame FLU, SI units.

In the X frame (``P_FRAME`` = ``FRAME_X``) rotor ``i`` sits on a body diagonal at
``(ROTOR_X_SIGN[i], ROTOR_Y_SIGN[i]) * d`` with ``d = arm_length / sqrt(2)``:
0 front-left, 1 rear-left, 2 rear-right, 3 front-right. In the + frame
(``FRAME_PLUS``) rotor ``i`` sits on a body axis at
``(PLUS_X_SIGN[i], PLUS_Y_SIGN[i]) * arm_length``: 0 front, 1 left, 2 rear,
3 right. ``ROTOR_SPIN[i]`` is +1 for a rotor that turns counter-clockwise seen
from above, and its drag torque on the body is ``-ROTOR_SPIN[i] * k_m * w^2``
about body z.
"""

import math

import numpy as np
from numba import njit, prange

GRAVITY = 9.80665
"""Standard gravity in m/s^2."""

STATE_SIZE = 17
BODY_STATE_SIZE = 13
"""Leading state entries that RK4 integrates. Rotor speeds use the exact lag."""

# Columns of one row of ``params_array``, written by ``QuadrotorParams.to_array``.
P_MASS = 0
P_INERTIA_XX = 1
P_INERTIA_YY = 2
P_INERTIA_ZZ = 3
P_ARM_LENGTH = 4
P_THRUST_COEFFICIENT = 5
P_TORQUE_COEFFICIENT = 6
P_MOTOR_TIME_CONSTANT = 7
P_ROTOR_SPEED_MIN = 8
P_ROTOR_SPEED_MAX = 9
P_DRAG_LINEAR = 10  # three columns: body x, y, z
P_DRAG_QUADRATIC = 13  # three columns: body x, y, z
P_CONTACT_RADIUS = 16
P_FRAME = 17  # FRAME_X or FRAME_PLUS
P_BATTERY_CAPACITY = 18  # J; 0 means no battery model
P_BATTERY_VOLTAGE_FULL = 19
P_BATTERY_VOLTAGE_EMPTY = 20
P_BATTERY_RESISTANCE = 21
P_POWER_EFFICIENCY = 22
P_TOUCHDOWN_SPEED = 23
P_TOUCHDOWN_TILT = 24
NUM_PARAMS = 25

FRAME_X = 0.0
FRAME_PLUS = 1.0

# Columns of one row of ``gains_array``, written by
# ``VelocityControllerGains.to_array``.
G_VEL_P_XY = 0
G_VEL_P_Z = 1
G_VEL_I_XY = 2
G_VEL_I_Z = 3
G_VEL_INTEGRAL_LIMIT = 4
G_MAX_TILT = 5
G_MAX_ACCEL_UP = 6
G_MAX_ACCEL_DOWN = 7
G_ATTITUDE_P = 8
G_MAX_TILT_RATE = 9
G_RATE_P_XY = 10
G_RATE_P_Z = 11
G_MAX_YAW_RATE = 12
G_REF_ACCEL_XY = 13
G_REF_ACCEL_Z = 14
G_REF_BANDWIDTH = 15
NUM_GAINS = 16

# Columns of one row of the controller state, all in the world frame: the
# integrated velocity error, the velocity reference and its acceleration.
C_VEL_INTEGRAL = 0
C_VEL_REF = 3
C_ACCEL_REF = 6
CONTROLLER_STATE_SIZE = 9

ROTOR_X_SIGN = (1.0, -1.0, -1.0, 1.0)
ROTOR_Y_SIGN = (1.0, 1.0, -1.0, -1.0)
ROTOR_SPIN = (1.0, -1.0, 1.0, -1.0)
PLUS_X_SIGN = (1.0, 0.0, -1.0, 0.0)
PLUS_Y_SIGN = (0.0, 1.0, 0.0, -1.0)


@njit(cache=True, inline="always")
def rotor_position(p, i):
    """Return the body (x, y) of rotor ``i`` in m for parameter row ``p``."""
    if p[P_FRAME] == FRAME_PLUS:
        arm = p[P_ARM_LENGTH]
        return PLUS_X_SIGN[i] * arm, PLUS_Y_SIGN[i] * arm
    d = p[P_ARM_LENGTH] / math.sqrt(2.0)
    return ROTOR_X_SIGN[i] * d, ROTOR_Y_SIGN[i] * d


@njit(cache=True)
def rotor_power(rotor_speed, p):
    """Return the shaft power in W that the rotors absorb, ``sum k_m w^3``."""
    power = 0.0
    for i in range(4):
        w = abs(rotor_speed[i])
        power += p[P_TORQUE_COEFFICIENT] * w * w * w
    return power


@njit(cache=True, inline="always")
def _rotation_matrix(qw, qx, qy, qz, out):
    """Write the world-from-body rotation of a possibly unnormalised quaternion."""
    s = 2.0 / (qw * qw + qx * qx + qy * qy + qz * qz)
    out[0, 0] = 1.0 - s * (qy * qy + qz * qz)
    out[0, 1] = s * (qx * qy - qw * qz)
    out[0, 2] = s * (qx * qz + qw * qy)
    out[1, 0] = s * (qx * qy + qw * qz)
    out[1, 1] = 1.0 - s * (qx * qx + qz * qz)
    out[1, 2] = s * (qy * qz - qw * qx)
    out[2, 0] = s * (qx * qz - qw * qy)
    out[2, 1] = s * (qy * qz + qw * qx)
    out[2, 2] = 1.0 - s * (qx * qx + qy * qy)


@njit(cache=True)
def _rotor_speed_at(rotor_speed0, rotor_cmd, time_constant, elapsed, out):
    """Write the exact first-order-lag rotor speeds ``elapsed`` seconds ahead."""
    if time_constant <= 0.0:
        for i in range(4):
            out[i] = rotor_cmd[i]
        return
    decay = math.exp(-elapsed / time_constant)
    for i in range(4):
        out[i] = rotor_cmd[i] + (rotor_speed0[i] - rotor_cmd[i]) * decay


@njit(cache=True, inline="always")
def _axis_drag(rot, vx_w, vy_w, vz_w, p, axis):
    """Return the drag force in N along one body axis for a world velocity."""
    v_b = rot[0, axis] * vx_w + rot[1, axis] * vy_w + rot[2, axis] * vz_w
    return -(
        p[P_DRAG_LINEAR + axis] * v_b + p[P_DRAG_QUADRATIC + axis] * abs(v_b) * v_b
    )


@njit(cache=True)
def _body_derivative(x, rotor_speed, p, wind_w, rot, out):
    """Write d/dt of the 13 rigid-body entries of state ``x``.

    ``rot`` is a (3, 3) scratch array. The quaternion need not be normalised
    because RK4 stages leave the unit sphere slightly.
    """
    qw = x[6]
    qx = x[7]
    qy = x[8]
    qz = x[9]
    _rotation_matrix(qw, qx, qy, qz, rot)

    k_f = p[P_THRUST_COEFFICIENT]
    k_m = p[P_TORQUE_COEFFICIENT]
    thrust = 0.0
    torque_x = 0.0
    torque_y = 0.0
    torque_z = 0.0
    for i in range(4):
        w2 = rotor_speed[i] * rotor_speed[i]
        rotor_thrust = k_f * w2
        arm_x, arm_y = rotor_position(p, i)
        thrust += rotor_thrust
        torque_x += arm_y * rotor_thrust
        torque_y -= arm_x * rotor_thrust
        torque_z -= ROTOR_SPIN[i] * k_m * w2

    # Drag acts per body axis on the air-relative velocity.
    air_x = x[3] - wind_w[0]
    air_y = x[4] - wind_w[1]
    air_z = x[5] - wind_w[2]
    drag_b0 = _axis_drag(rot, air_x, air_y, air_z, p, 0)
    drag_b1 = _axis_drag(rot, air_x, air_y, air_z, p, 1)
    drag_b2 = _axis_drag(rot, air_x, air_y, air_z, p, 2)
    force_b2 = drag_b2 + thrust

    inv_mass = 1.0 / p[P_MASS]
    out[0] = x[3]
    out[1] = x[4]
    out[2] = x[5]
    out[3] = (
        rot[0, 0] * drag_b0 + rot[0, 1] * drag_b1 + rot[0, 2] * force_b2
    ) * inv_mass
    out[4] = (
        rot[1, 0] * drag_b0 + rot[1, 1] * drag_b1 + rot[1, 2] * force_b2
    ) * inv_mass
    out[5] = (
        rot[2, 0] * drag_b0 + rot[2, 1] * drag_b1 + rot[2, 2] * force_b2
    ) * inv_mass - GRAVITY

    # Quaternion kinematics: dq/dt = 0.5 * q (x) (0, rate_b).
    wx = x[10]
    wy = x[11]
    wz = x[12]
    out[6] = 0.5 * (-qx * wx - qy * wy - qz * wz)
    out[7] = 0.5 * (qw * wx + qy * wz - qz * wy)
    out[8] = 0.5 * (qw * wy - qx * wz + qz * wx)
    out[9] = 0.5 * (qw * wz + qx * wy - qy * wx)

    # Euler's equations for a diagonal inertia tensor.
    ixx = p[P_INERTIA_XX]
    iyy = p[P_INERTIA_YY]
    izz = p[P_INERTIA_ZZ]
    out[10] = (torque_x - (izz - iyy) * wy * wz) / ixx
    out[11] = (torque_y - (ixx - izz) * wz * wx) / iyy
    out[12] = (torque_z - (iyy - ixx) * wx * wy) / izz


@njit(cache=True)
def _clamp_rotor_cmd(rotor_cmd, p, out):
    lo = p[P_ROTOR_SPEED_MIN]
    hi = p[P_ROTOR_SPEED_MAX]
    for i in range(4):
        out[i] = min(max(rotor_cmd[i], lo), hi)


SCRATCH_ROWS = 7
"""Rows of the per-agent scratch array that ``rk4_step`` needs."""


@njit(cache=True)
def rk4_step(x, rotor_cmd, p, wind_w, dt, scratch, rot):
    """Advance one state row ``x`` (17,) by ``dt`` seconds in place.

    The rigid body uses classic RK4 with the rotor speeds evaluated from the
    exact solution of the first-order motor lag at each stage time, so the lag
    has no step-size stability limit. The quaternion is renormalised after the
    step. ``scratch`` is a (SCRATCH_ROWS, 17) float64 work array and ``rot`` a
    (3, 3) one.
    """
    cmd = scratch[0, :4]
    w0 = scratch[0, 4:8]
    w_stage = scratch[0, 8:12]
    x0 = scratch[1]
    stage = scratch[2]
    k1 = scratch[3]
    k2 = scratch[4]
    k3 = scratch[5]
    k4 = scratch[6]

    _clamp_rotor_cmd(rotor_cmd, p, cmd)
    tau = p[P_MOTOR_TIME_CONSTANT]
    for i in range(4):
        w0[i] = x[13 + i]
    for j in range(BODY_STATE_SIZE):
        x0[j] = x[j]

    _rotor_speed_at(w0, cmd, tau, 0.0, w_stage)
    _body_derivative(x0, w_stage, p, wind_w, rot, k1)

    for j in range(BODY_STATE_SIZE):
        stage[j] = x0[j] + 0.5 * dt * k1[j]
    _rotor_speed_at(w0, cmd, tau, 0.5 * dt, w_stage)
    _body_derivative(stage, w_stage, p, wind_w, rot, k2)

    for j in range(BODY_STATE_SIZE):
        stage[j] = x0[j] + 0.5 * dt * k2[j]
    _body_derivative(stage, w_stage, p, wind_w, rot, k3)

    for j in range(BODY_STATE_SIZE):
        stage[j] = x0[j] + dt * k3[j]
    _rotor_speed_at(w0, cmd, tau, dt, w_stage)
    _body_derivative(stage, w_stage, p, wind_w, rot, k4)

    for j in range(BODY_STATE_SIZE):
        x[j] = x0[j] + dt / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j])
    for i in range(4):
        x[13 + i] = w_stage[i]

    norm = math.sqrt(x[6] * x[6] + x[7] * x[7] + x[8] * x[8] + x[9] * x[9])
    for j in range(6, 10):
        x[j] /= norm


@njit(cache=True)
def _step_agent(state, rotor_cmd, params_array, wind_w, dt, num_steps, i):
    scratch = np.empty((SCRATCH_ROWS, STATE_SIZE))
    rot = np.empty((3, 3))
    x = state[i]
    for _ in range(num_steps):
        rk4_step(x, rotor_cmd[i], params_array[i], wind_w[i], dt, scratch, rot)


@njit(cache=True, parallel=True)
def step_quadrotors_parallel(state, rotor_cmd, params_array, wind_w, dt, num_steps):
    """Advance every agent by ``num_steps`` RK4 steps in place, threads over agents.

    Args:
        state: Agent states, shape (num_agents, 17), float64, layout as above.
        rotor_cmd: Commanded rotor speeds in rad/s, shape (num_agents, 4),
            float64, clamped to the rotor speed limits. Held for all steps.
        params_array: Parameter rows, shape (num_agents, NUM_PARAMS), float64.
        wind_w: Wind velocity in the world frame in m/s, shape (num_agents, 3).
        dt: Physics step in seconds.
        num_steps: Number of physics steps.
    """
    for i in prange(state.shape[0]):
        _step_agent(state, rotor_cmd, params_array, wind_w, dt, num_steps, i)


@njit(cache=True)
def step_quadrotors(state, rotor_cmd, params_array, wind_w, dt, num_steps):
    """Advance every agent by ``num_steps`` RK4 steps in place on one thread.

    Arguments as in ``step_quadrotors_parallel``.
    """
    for i in range(state.shape[0]):
        _step_agent(state, rotor_cmd, params_array, wind_w, dt, num_steps, i)


@njit(cache=True)
def mix_rotor_speeds(thrust, torque_x, torque_y, torque_z, p, work, out):
    """Write rotor speed commands (4,) in rad/s for a wrench request.

    Saturation keeps roll and pitch torque first: their differential part is
    scaled down only if its spread exceeds the rotor thrust range, then the
    collective thrust shifts to fit it, and yaw torque is scaled last.

    Args:
        thrust: Requested collective thrust along body z, in N.
        torque_x: Requested body x torque in N m.
        torque_y: Requested body y torque in N m.
        torque_z: Requested body z torque in N m.
        p: One parameter row, shape (NUM_PARAMS,).
        work: Scratch array, shape (8,) or longer, float64.
        out: Output rotor speeds, shape (4,), float64.
    """
    k_f = p[P_THRUST_COEFFICIENT]
    torque_ratio = p[P_TORQUE_COEFFICIENT] / k_f
    thrust_min = k_f * p[P_ROTOR_SPEED_MIN] ** 2
    thrust_max = k_f * p[P_ROTOR_SPEED_MAX] ** 2

    # The rows of the mixer (thrust, torque x, torque y, torque z) are
    # orthogonal for both frames, so the inverse is the transpose with each
    # row divided by its squared norm.
    # For the X frame this is 0.25 * (sign_y tau_x - sign_x tau_y) / d, for
    # the + frame (arm_y tau_x - arm_x tau_y) / (2 arm^2).
    tilt_part = work[0:4]
    yaw_part = work[4:8]
    if p[P_FRAME] == FRAME_PLUS:
        arm = p[P_ARM_LENGTH]
        for i in range(4):
            tilt_part[i] = (
                0.5 * (PLUS_Y_SIGN[i] * torque_x - PLUS_X_SIGN[i] * torque_y) / arm
            )
    else:
        d = p[P_ARM_LENGTH] / math.sqrt(2.0)
        for i in range(4):
            tilt_part[i] = (
                0.25 * (ROTOR_Y_SIGN[i] * torque_x - ROTOR_X_SIGN[i] * torque_y) / d
            )
    for i in range(4):
        yaw_part[i] = -0.25 * ROTOR_SPIN[i] * torque_z / torque_ratio

    tilt_max = tilt_part.max()
    tilt_min = tilt_part.min()
    span = thrust_max - thrust_min
    if tilt_max - tilt_min > span:
        scale = span / (tilt_max - tilt_min)
        for i in range(4):
            tilt_part[i] *= scale
        tilt_max *= scale
        tilt_min *= scale

    base = 0.25 * thrust
    base = min(max(base, thrust_min - tilt_min), thrust_max - tilt_max)

    yaw_scale = 1.0
    for i in range(4):
        level = base + tilt_part[i]
        if yaw_part[i] > 0.0:
            yaw_scale = min(yaw_scale, (thrust_max - level) / yaw_part[i])
        elif yaw_part[i] < 0.0:
            yaw_scale = min(yaw_scale, (thrust_min - level) / yaw_part[i])
    yaw_scale = max(yaw_scale, 0.0)

    for i in range(4):
        rotor_thrust = base + tilt_part[i] + yaw_scale * yaw_part[i]
        rotor_thrust = min(max(rotor_thrust, thrust_min), thrust_max)
        out[i] = math.sqrt(rotor_thrust / k_f)


@njit(cache=True)
def _update_reference(setpoint, ctrl_state, gains, dt):
    """Advance the velocity reference one step toward the setpoint.

    The reference is a critically damped second-order filter of the setpoint
    with its acceleration clamped. Its acceleration starts and ends smoothly,
    so the attitude lag behind the acceleration feedforward causes little
    overshoot, and the tracking error stays small so the integral barely
    winds up.
    """
    bandwidth = gains[G_REF_BANDWIDTH]
    for j in range(3):
        jerk = (
            bandwidth * bandwidth * (setpoint[j] - ctrl_state[C_VEL_REF + j])
            - 2.0 * bandwidth * ctrl_state[C_ACCEL_REF + j]
        )
        ctrl_state[C_ACCEL_REF + j] += dt * jerk
    ax = ctrl_state[C_ACCEL_REF]
    ay = ctrl_state[C_ACCEL_REF + 1]
    horizontal = math.sqrt(ax * ax + ay * ay)
    if horizontal > gains[G_REF_ACCEL_XY]:
        scale = gains[G_REF_ACCEL_XY] / horizontal
        ctrl_state[C_ACCEL_REF] *= scale
        ctrl_state[C_ACCEL_REF + 1] *= scale
    limit_z = gains[G_REF_ACCEL_Z]
    az = min(max(ctrl_state[C_ACCEL_REF + 2], -limit_z), limit_z)
    ctrl_state[C_ACCEL_REF + 2] = az
    for j in range(3):
        ctrl_state[C_VEL_REF + j] += dt * ctrl_state[C_ACCEL_REF + j]


@njit(cache=True)
def velocity_control(x, setpoint, ctrl_state, p, gains, dt, rot, work, out):
    """Write rotor speed commands (4,) that track a velocity setpoint.

    Cascade: a velocity reference follows the setpoint through a second-order
    filter with limited acceleration. The reference acceleration, PI on the
    reference error and a drag feedforward give the desired acceleration,
    which sets the thrust vector under a tilt limit. The tilt error drives a P
    attitude loop that outputs body-rate commands, a P rate loop with
    gyroscopic compensation outputs torques, and the mixer turns the
    collective thrust and torques into rotor speeds.

    Args:
        x: Agent state, shape (17,), float64.
        setpoint: ``(vx, vy, vz, yaw_rate)`` in m/s (world) and rad/s, shape (4,).
        ctrl_state: Controller state, shape (CONTROLLER_STATE_SIZE,), float64,
            columns ``C_*``, updated in place. Zeros for an agent at rest.
        p: One parameter row, shape (NUM_PARAMS,).
        gains: One gains row, shape (NUM_GAINS,).
        dt: Time in s since the previous update (the physics step).
        rot: Scratch array, shape (3, 3).
        work: Scratch array, shape (8,) or longer, float64.
        out: Output rotor speeds in rad/s, shape (4,).
    """
    mass = p[P_MASS]
    _rotation_matrix(x[6], x[7], x[8], x[9], rot)

    _update_reference(setpoint, ctrl_state, gains, dt)
    accel = work[0:3]
    for j in range(3):
        accel[j] = ctrl_state[C_ACCEL_REF + j]

    limit = gains[G_VEL_INTEGRAL_LIMIT]
    for j in range(3):
        error = ctrl_state[C_VEL_REF + j] - x[3 + j]
        integral = ctrl_state[C_VEL_INTEGRAL + j] + error * dt
        integral = min(max(integral, -limit), limit)
        ctrl_state[C_VEL_INTEGRAL + j] = integral
        if j < 2:
            accel[j] += gains[G_VEL_P_XY] * error + gains[G_VEL_I_XY] * integral
        else:
            accel[j] += gains[G_VEL_P_Z] * error + gains[G_VEL_I_Z] * integral

    # Feedforward of the modelled drag at the ground velocity, because the
    # controller has no wind estimate. The integral term absorbs the rest.
    drag_b0 = _axis_drag(rot, x[3], x[4], x[5], p, 0)
    drag_b1 = _axis_drag(rot, x[3], x[4], x[5], p, 1)
    drag_b2 = _axis_drag(rot, x[3], x[4], x[5], p, 2)
    for j in range(3):
        drag_w = rot[j, 0] * drag_b0 + rot[j, 1] * drag_b1 + rot[j, 2] * drag_b2
        accel[j] -= drag_w / mass

    accel[2] = min(max(accel[2], -gains[G_MAX_ACCEL_DOWN]), gains[G_MAX_ACCEL_UP])
    force_x = mass * accel[0]
    force_y = mass * accel[1]
    force_z = mass * (accel[2] + GRAVITY)

    # Tilt limit: shorten the horizontal force and keep the vertical one, so
    # the altitude stays constant while the horizontal response saturates.
    horizontal = math.sqrt(force_x * force_x + force_y * force_y)
    horizontal_max = force_z * math.tan(gains[G_MAX_TILT])
    if horizontal > horizontal_max:
        scale = horizontal_max / horizontal
        force_x *= scale
        force_y *= scale

    # Collective thrust is the desired force projected on the current body z.
    thrust = force_x * rot[0, 2] + force_y * rot[1, 2] + force_z * rot[2, 2]
    thrust = max(thrust, 0.0)

    # Reduced attitude error: rotation taking body z onto the desired thrust
    # direction, expressed in the body frame. Its body z part is zero.
    norm = math.sqrt(force_x * force_x + force_y * force_y + force_z * force_z)
    dx = force_x / norm
    dy = force_y / norm
    dz = force_z / norm
    bx = rot[0, 2]
    by = rot[1, 2]
    bz = rot[2, 2]
    ex = by * dz - bz * dy
    ey = bz * dx - bx * dz
    ez = bx * dy - by * dx
    sin_angle = math.sqrt(ex * ex + ey * ey + ez * ez)
    cos_angle = bx * dx + by * dy + bz * dz
    angle = math.atan2(sin_angle, cos_angle)
    gain = gains[G_ATTITUDE_P] * (angle / sin_angle if sin_angle > 1e-12 else 1.0)
    max_tilt_rate = gains[G_MAX_TILT_RATE]
    rate_cmd_x = gain * (rot[0, 0] * ex + rot[1, 0] * ey + rot[2, 0] * ez)
    rate_cmd_y = gain * (rot[0, 1] * ex + rot[1, 1] * ey + rot[2, 1] * ez)
    rate_cmd_x = min(max(rate_cmd_x, -max_tilt_rate), max_tilt_rate)
    rate_cmd_y = min(max(rate_cmd_y, -max_tilt_rate), max_tilt_rate)

    # Choose the body z rate so that the world z component of the angular
    # velocity, rot[2, :] . rate_b, equals the requested yaw rate.
    max_yaw_rate = gains[G_MAX_YAW_RATE]
    yaw_rate = min(max(setpoint[3], -max_yaw_rate), max_yaw_rate)
    rate_cmd_z = yaw_rate
    if rot[2, 2] > 0.2:
        rate_cmd_z = (yaw_rate - rot[2, 0] * rate_cmd_x - rot[2, 1] * rate_cmd_y) / rot[
            2, 2
        ]

    rate_control(x, thrust, rate_cmd_x, rate_cmd_y, rate_cmd_z, p, gains, work, out)


@njit(cache=True)
def rate_control(x, thrust, rate_cmd_x, rate_cmd_y, rate_cmd_z, p, gains, work, out):
    """Write rotor speed commands (4,) for a collective thrust and body rates.

    A P loop on the body-rate error with gyroscopic compensation gives the
    torques, and ``mix_rotor_speeds`` turns thrust and torques into rotor
    speeds.

    Args:
        x: Agent state, shape (17,), float64.
        thrust: Collective thrust along body z in N.
        rate_cmd_x: Body x (roll) rate command in rad/s.
        rate_cmd_y: Body y (pitch) rate command in rad/s.
        rate_cmd_z: Body z (yaw) rate command in rad/s.
        p: One parameter row, shape (NUM_PARAMS,).
        gains: One gains row, shape (NUM_GAINS,); reads the rate gains.
        work: Scratch array, shape (8,) or longer, float64.
        out: Output rotor speeds in rad/s, shape (4,).
    """
    ixx = p[P_INERTIA_XX]
    iyy = p[P_INERTIA_YY]
    izz = p[P_INERTIA_ZZ]
    wx = x[10]
    wy = x[11]
    wz = x[12]
    torque_x = ixx * gains[G_RATE_P_XY] * (rate_cmd_x - wx) + (izz - iyy) * wy * wz
    torque_y = iyy * gains[G_RATE_P_XY] * (rate_cmd_y - wy) + (ixx - izz) * wz * wx
    torque_z = izz * gains[G_RATE_P_Z] * (rate_cmd_z - wz) + (iyy - ixx) * wx * wy
    mix_rotor_speeds(thrust, torque_x, torque_y, torque_z, p, work, out)
