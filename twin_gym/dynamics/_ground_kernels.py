"""Numba kernels of the single-track ground-vehicle model.

State rows follow ``twin_gym.dynamics.ground_vehicle``: ``pos_w[0:3]``,
``yaw[3]``, ``vel_b[4:6]``, ``yaw_rate[6]``, ``steer_angle[7]``, ``pitch[8]``,
``roll[9]``. World frame ENU, body frame FLU, SI units, radians.

Forces, per physics step of length ``dt``:

- Longitudinal: drive ``throttle * min(F_max, P_max / |v_x|)`` limited to
  ``mu`` times the driven wheels' normal load; air drag
  ``0.5 rho C_d A v_x |v_x|``; the slope's gravity component
  ``-m g sin(pitch)``; and Coulomb-type resistance
  ``min(brake * F_brake + C_rr N, mu N)`` against the motion (or, at rest,
  against the other forces up to that magnitude, so a parked vehicle stays).
- Lateral (dynamic model): each axle's force is Pacejka's magic formula
  ``F_y = -D sin(C atan(B a - E (B a - atan(B a))))`` in the slip angle ``a``
  of its wheel, with the peak ``D`` the friction left after the axle's
  longitudinal force, ``sqrt((mu F_z)^2 - F_x^2)`` (friction ellipse). The
  formula is from H. B. Pacejka, Tire and Vehicle Dynamics (Butterworth-
  Heinemann). Gravity adds ``-g sin(roll) cos(pitch)`` along body y.
- Kinematic model: no lateral slip; the derivatives of ``v_y = l_r r`` and
  ``r = v_x tan(delta) / L`` follow from those of ``v_x`` and ``delta``.

RK4 integrates ``x, y, yaw, v_x, v_y, yaw_rate`` with the steering angle
taken from its exact rate-limited path at each stage. The surface (slope,
friction, rolling resistance) is sampled at the start of each step and held
for it, so on curved terrain the slope lags by one step.
"""

import math

import numpy as np
from numba import njit

from twin_gym.dynamics._kernels import GRAVITY
from twin_gym.raycast._surface import surface_height

AIR_DENSITY = 1.225
"""Air density in kg/m^3 (ISA sea level)."""

STATE_SIZE = 10
S_X = 0
S_Y = 1
S_Z = 2
S_YAW = 3
S_VX = 4
S_VY = 5
S_YAW_RATE = 6
S_STEER = 7
S_PITCH = 8
S_ROLL = 9

# Columns of a parameter row, written by ``GroundVehicleParams.to_array``.
V_MASS = 0
V_YAW_INERTIA = 1
V_WHEELBASE = 2
V_CG_TO_FRONT = 3
V_TRACK_WIDTH = 4
V_CG_HEIGHT = 5
V_MAX_STEER_ANGLE = 6
V_MAX_STEER_RATE = 7
V_MAX_DRIVE_FORCE = 8
V_MAX_DRIVE_POWER = 9
V_MAX_BRAKE_FORCE = 10
V_DRAG_AREA = 11
V_DRIVEN_AXLES = 12  # 0 front, 1 rear, 2 all
V_TYRE_B = 13
V_TYRE_C = 14
V_TYRE_E = 15
V_KINEMATIC_SPEED = 16
V_DYNAMIC_SPEED = 17
NUM_PARAMS = 18

# Columns of the traction table, one row per uint8 surface class.
T_FRICTION = 0
T_ROLLING = 1
T_BLOCKED = 2

# Columns of the per-step surface record written by ``sample_surface``.
F_Z = 0
F_PITCH = 1
F_ROLL = 2
F_FRICTION = 3
F_ROLLING = 4
# Derived once per step so that the four RK4 stages need no trigonometry of
# the slope: cos(pitch), cos(roll), gravity along body x and y (m/s^2), and
# the front axle's and the driven wheels' shares of the normal load.
F_COS_PITCH = 5
F_COS_ROLL = 6
F_GRAVITY_X = 7
F_GRAVITY_Y = 8
F_FRONT_SHARE = 9
F_DRIVEN_SHARE = 10
SURFACE_SIZE = 11

SURFACE_OK = 0
SURFACE_BLOCKED = 1
SURFACE_OFF_MAP = 2


@njit(cache=True)
def driven_load_fraction(p, pitch):
    """Return the driven wheels' share of the normal load on a slope.

    Moments about the rear contact give the front share
    ``(l_r - h tan(pitch)) / L``, clipped to [0, 1].
    """
    mode = p[V_DRIVEN_AXLES]
    if mode == 2.0:
        return 1.0
    length = p[V_WHEELBASE]
    rear_arm = length - p[V_CG_TO_FRONT]
    front = (rear_arm - p[V_CG_HEIGHT] * math.tan(pitch)) / length
    front = min(max(front, 0.0), 1.0)
    return front if mode == 0.0 else 1.0 - front


@njit(cache=True)
def can_climb(p, slope, friction, rolling_resistance):
    """Return whether full drive keeps a crawl speed up ``slope`` rad."""
    mass = p[V_MASS]
    need = mass * GRAVITY * (math.sin(slope) + rolling_resistance * math.cos(slope))
    grip = friction * driven_load_fraction(p, slope) * mass * GRAVITY * math.cos(slope)
    return need <= min(p[V_MAX_DRIVE_FORCE], grip)


@njit(cache=True, inline="always")
def steer_at(steer0, steer_cmd, rate, elapsed):
    """Return (angle, rate) of the rate-limited steering ``elapsed`` s ahead."""
    change = steer_cmd - steer0
    reach = rate * elapsed
    if change > reach:
        return steer0 + reach, rate
    if change < -reach:
        return steer0 - reach, -rate
    # The command is reached within ``elapsed``, so the rate is 0 from then.
    return steer_cmd, 0.0


@njit(cache=True, inline="always")
def magic_formula(slip, b, c, e):
    """Return the normalised magic-formula force sin(C atan(B a - E(...)))."""
    bx = b * slip
    return math.sin(c * math.atan(bx - e * (bx - math.atan(bx))))


@njit(cache=True)
def derivative(s, steer, steer_rate, throttle, brake, direction, p, surface, out):
    """Write d/dt of the integrated state ``s = [x, y, yaw, v_x, v_y, r]``.

    Returns ``(accel_x, active, resist, blend)``: the longitudinal
    acceleration in m/s^2, the net drive, drag and slope force in N, the
    resistance magnitude in N, and the weight in [0, 1] of the dynamic model.

    Args:
        s: Integrated state, shape (6,), float64.
        steer: Steering angle in rad at this stage.
        steer_rate: Steering rate in rad/s at this stage.
        throttle: Drive command in [-1, 1]; negative drives backward.
        brake: Brake command in [0, 1].
        direction: Sign of v_x at the start of the step (+1, -1, or 0 at
            rest). The resistance opposes it for the whole step, because a
            sign that flipped between RK4 stages would cancel the stages.
        p: Parameter row, shape (NUM_PARAMS,).
        surface: Surface record, shape (SURFACE_SIZE,).
        out: Output derivative, shape (6,).
    """
    yaw = s[2]
    vx = s[3]
    vy = s[4]
    yaw_rate = s[5]
    mass = p[V_MASS]
    length = p[V_WHEELBASE]
    front_arm = p[V_CG_TO_FRONT]
    rear_arm = length - front_arm
    friction = surface[F_FRICTION]
    cos_pitch = surface[F_COS_PITCH]
    cos_roll = surface[F_COS_ROLL]
    gravity_x = surface[F_GRAVITY_X]
    gravity_y = surface[F_GRAVITY_Y]
    normal = mass * GRAVITY * cos_pitch * cos_roll

    # Drive force, limited by power above the base speed and by the grip of
    # the driven wheels.
    drive_max = p[V_MAX_DRIVE_FORCE]
    speed = abs(vx)
    if speed * drive_max > p[V_MAX_DRIVE_POWER]:
        drive_max = p[V_MAX_DRIVE_POWER] / speed
    grip_drive = friction * surface[F_DRIVEN_SHARE] * normal
    drive = throttle * min(drive_max, grip_drive)
    drag = 0.5 * AIR_DENSITY * p[V_DRAG_AREA] * vx * speed
    active = drive - drag + mass * gravity_x
    resist = min(
        brake * p[V_MAX_BRAKE_FORCE] + surface[F_ROLLING] * normal, friction * normal
    )
    if direction > 0.0:
        accel_x = (active - resist) / mass
    elif direction < 0.0:
        accel_x = (active + resist) / mass
    elif abs(active) <= resist:
        accel_x = 0.0
    else:
        accel_x = (active - math.copysign(resist, active)) / mass

    tan_steer = math.tan(steer)
    cos_steer = math.cos(steer)
    sin_steer = math.sin(steer)
    steer_term = steer_rate * vx / (cos_steer * cos_steer) + tan_steer * accel_x
    kin_vy = rear_arm / length * steer_term
    kin_yaw = steer_term / length

    low = p[V_KINEMATIC_SPEED]
    blend = min(max((speed - low) / (p[V_DYNAMIC_SPEED] - low), 0.0), 1.0)
    dyn_vx = 0.0
    dyn_vy = 0.0
    dyn_yaw = 0.0
    if blend > 0.0:
        # Axle loads with the slope's load transfer. Each axle's longitudinal
        # tyre force takes part of its friction (friction ellipse).
        front_load = normal * surface[F_FRONT_SHARE]
        rear_load = normal - front_load
        tyre_x = mass * accel_x - mass * gravity_x + drag
        b = p[V_TYRE_B]
        c = p[V_TYRE_C]
        e = p[V_TYRE_E]

        # Drive acts on the driven axles; brake and rolling resistance share
        # the load.
        mode = p[V_DRIVEN_AXLES]
        if mode == 0.0:
            front_drive = drive
        elif mode == 1.0:
            front_drive = 0.0
        else:
            front_drive = drive * front_load / normal
        front_limit = friction * front_load
        front_x = front_drive + (tyre_x - drive) * front_load / normal
        front_peak = math.sqrt(max(front_limit * front_limit - front_x * front_x, 0.0))
        lateral_front = vy + front_arm * yaw_rate
        along = vx * cos_steer + lateral_front * sin_steer
        across = -vx * sin_steer + lateral_front * cos_steer
        slip_front = math.atan2(across, abs(along))
        force_front = -front_peak * magic_formula(slip_front, b, c, e)

        rear_limit = friction * rear_load
        rear_x = tyre_x - front_x
        rear_peak = math.sqrt(max(rear_limit * rear_limit - rear_x * rear_x, 0.0))
        slip_rear = math.atan2(vy - rear_arm * yaw_rate, abs(vx))
        force_rear = -rear_peak * magic_formula(slip_rear, b, c, e)

        dyn_vx = -force_front * sin_steer / mass + vy * yaw_rate
        dyn_vy = (force_front * cos_steer + force_rear) / mass - vx * yaw_rate
        dyn_vy += gravity_y
        dyn_yaw = (front_arm * force_front * cos_steer - rear_arm * force_rear) / p[
            V_YAW_INERTIA
        ]

    cos_yaw = math.cos(yaw)
    sin_yaw = math.sin(yaw)
    ground_x = vx * cos_pitch
    ground_y = vy * cos_roll
    out[0] = ground_x * cos_yaw - ground_y * sin_yaw
    out[1] = ground_x * sin_yaw + ground_y * cos_yaw
    out[2] = yaw_rate
    out[3] = accel_x + blend * dyn_vx
    out[4] = (1.0 - blend) * kin_vy + blend * dyn_vy
    out[5] = (1.0 - blend) * kin_yaw + blend * dyn_yaw
    return accel_x, active, resist, blend


@njit(cache=True)
def _cell_of(x, y, x_first, y_first, cell_size, rows, cols):
    col = int(math.floor((x - x_first) / cell_size + 0.5))
    row = int(math.floor((y_first - y) / cell_size + 0.5))
    if 0 <= row < rows and 0 <= col < cols:
        return row, col
    return -1, -1


@njit(cache=True)
def sample_surface(
    x,
    y,
    yaw,
    p,
    heights,
    structures,
    classes,
    x_first,
    y_first,
    cell_size,
    use_plane,
    table,
    out,
):
    """Write the surface under the vehicle into ``out`` and return its status.

    The four wheel contacts sit at ``+-l_f`` / ``-l_r`` along the heading and
    ``+-track / 2`` across it. Pitch and roll are the slopes between the
    axle and side mid-points, z the height of the plane through them under
    the centre of mass, friction and rolling resistance the means over the
    wheels' cells. A wheel on a blocked class or on a structure's footprint
    is blocked; a wheel off the map is off the map.

    Returns:
        SURFACE_OK, SURFACE_BLOCKED or SURFACE_OFF_MAP.
    """
    length = p[V_WHEELBASE]
    front_arm = p[V_CG_TO_FRONT]
    half_track = 0.5 * p[V_TRACK_WIDTH]
    cos_yaw = math.cos(yaw)
    sin_yaw = math.sin(yaw)
    rows, cols = heights.shape
    front = 0.0
    rear = 0.0
    left = 0.0
    right = 0.0
    friction = 0.0
    rolling = 0.0
    status = SURFACE_OK
    # Wheel order: front-left, front-right, rear-left, rear-right.
    for k in range(4):
        along = front_arm if k < 2 else front_arm - length
        across = half_track if k % 2 == 0 else -half_track
        wx = x + along * cos_yaw - across * sin_yaw
        wy = y + along * sin_yaw + across * cos_yaw
        if use_plane:
            friction += table[0, T_FRICTION]
            rolling += table[0, T_ROLLING]
            continue
        height = surface_height(heights, x_first, y_first, cell_size, wx, wy)
        row, col = _cell_of(wx, wy, x_first, y_first, cell_size, rows, cols)
        if math.isnan(height) or row < 0:
            return SURFACE_OFF_MAP
        if k < 2:
            front += 0.5 * height
        else:
            rear += 0.5 * height
        if k % 2 == 0:
            left += 0.5 * height
        else:
            right += 0.5 * height
        surface_class = classes[row, col]
        if table[surface_class, T_BLOCKED] > 0.0 or structures[row, col] > 0.0:
            status = SURFACE_BLOCKED
        friction += table[surface_class, T_FRICTION]
        rolling += table[surface_class, T_ROLLING]
    pitch = math.atan2(front - rear, length)
    roll = math.atan2(left - right, 2.0 * half_track)
    out[F_PITCH] = pitch
    out[F_ROLL] = roll
    out[F_Z] = rear + (length - front_arm) / length * (front - rear)
    out[F_FRICTION] = 0.25 * friction
    out[F_ROLLING] = 0.25 * rolling
    cos_pitch = math.cos(pitch)
    out[F_COS_PITCH] = cos_pitch
    out[F_COS_ROLL] = math.cos(roll)
    out[F_GRAVITY_X] = -GRAVITY * math.sin(pitch)
    out[F_GRAVITY_Y] = -GRAVITY * math.sin(roll) * cos_pitch
    front_share = (length - front_arm - p[V_CG_HEIGHT] * math.tan(pitch)) / length
    out[F_FRONT_SHARE] = min(max(front_share, 0.0), 1.0)
    out[F_DRIVEN_SHARE] = driven_load_fraction(p, pitch)
    return status


@njit(cache=True)
def rolls_over(vx, yaw_rate, p, surface):
    """Return whether the lateral load exceeds the static stability factor.

    The tyres must supply ``m (v_x r + g sin(roll) cos(pitch))`` sideways
    against a normal load ``m g cos(roll) cos(pitch)``. A rigid vehicle tips
    when their ratio exceeds ``track / (2 h)``; at rest this is a roll angle
    above ``atan(track / (2 h))``.
    """
    cos_pitch = surface[F_COS_PITCH]
    lateral = vx * yaw_rate - surface[F_GRAVITY_Y]
    normal = GRAVITY * surface[F_COS_ROLL] * cos_pitch
    factor = 0.5 * p[V_TRACK_WIDTH] / p[V_CG_HEIGHT]
    return abs(lateral) > factor * normal


INTEGRATOR_RK4 = 0
INTEGRATOR_EULER = 1


@njit(cache=True)
def vehicle_step(x, command, p, surface, dt, integrator, work):
    """Advance one state row ``x`` (10,) by ``dt`` seconds on a held surface.

    ``integrator`` is INTEGRATOR_RK4 (classic RK4, the default everywhere)
    or INTEGRATOR_EULER (explicit Euler, first order, for comparisons with
    simulators that use it).

    Args:
        x: Vehicle state, shape (10,), updated in place except z, pitch and
            roll, which the caller sets from the surface after the step.
        command: ``(steer_angle, throttle, brake)``: steering command in rad
            (clamped to the maximum), drive in [-1, 1], brake in [0, 1].
        p: Parameter row, shape (NUM_PARAMS,).
        surface: Surface record at the start of the step, shape
            (SURFACE_SIZE,).
        dt: Physics step in s.
        integrator: INTEGRATOR_RK4 or INTEGRATOR_EULER.
        work: Scratch array, shape (6, 6), float64.
    """
    max_steer = p[V_MAX_STEER_ANGLE]
    steer_cmd = min(max(command[0], -max_steer), max_steer)
    throttle = min(max(command[1], -1.0), 1.0)
    brake = min(max(command[2], 0.0), 1.0)
    rate = p[V_MAX_STEER_RATE]
    steer0 = x[S_STEER]

    s0 = work[0]
    stage = work[1]
    k1 = work[2]
    k2 = work[3]
    k3 = work[4]
    k4 = work[5]
    s0[0] = x[S_X]
    s0[1] = x[S_Y]
    s0[2] = x[S_YAW]
    s0[3] = x[S_VX]
    s0[4] = x[S_VY]
    s0[5] = x[S_YAW_RATE]

    direction = np.sign(s0[3])
    steer, steer_rate = steer_at(steer0, steer_cmd, rate, 0.0)
    _, active, resist, _ = derivative(
        s0, steer, steer_rate, throttle, brake, direction, p, surface, k1
    )
    if integrator == INTEGRATOR_EULER:
        steer, steer_rate = steer_at(steer0, steer_cmd, rate, dt)
        for j in range(6):
            stage[j] = s0[j] + dt * k1[j]
    else:
        steer, steer_rate = steer_at(steer0, steer_cmd, rate, 0.5 * dt)
        for j in range(6):
            stage[j] = s0[j] + 0.5 * dt * k1[j]
        derivative(stage, steer, steer_rate, throttle, brake, direction, p, surface, k2)
        for j in range(6):
            stage[j] = s0[j] + 0.5 * dt * k2[j]
        derivative(stage, steer, steer_rate, throttle, brake, direction, p, surface, k3)
        steer, steer_rate = steer_at(steer0, steer_cmd, rate, dt)
        for j in range(6):
            stage[j] = s0[j] + dt * k3[j]
        derivative(stage, steer, steer_rate, throttle, brake, direction, p, surface, k4)
        for j in range(6):
            stage[j] = s0[j] + dt / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j])

    # Coulomb resistance: a speed that crosses zero stops there, unless the
    # other forces overcome the resistance at rest.
    # NOTE: the position still integrates the overshoot past zero, an error
    # of at most a dt^2 / 2 once per stop.
    vx = stage[3]
    if s0[3] != 0.0 and vx * s0[3] <= 0.0:
        if abs(active) <= resist:
            vx = 0.0
    x[S_X] = stage[0]
    x[S_Y] = stage[1]
    x[S_YAW] = stage[2]
    x[S_VX] = vx
    x[S_STEER] = steer
    if abs(vx) <= p[V_KINEMATIC_SPEED]:
        # Fully kinematic: no lateral slip, so v_y and r follow from v_x.
        yaw_rate = vx * math.tan(steer) / p[V_WHEELBASE]
        x[S_YAW_RATE] = yaw_rate
        x[S_VY] = (p[V_WHEELBASE] - p[V_CG_TO_FRONT]) * yaw_rate
    else:
        x[S_VY] = stage[4]
        x[S_YAW_RATE] = stage[5]
