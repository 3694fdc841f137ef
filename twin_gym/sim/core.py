"""Simulation core: batched quadrotors over a terrain twin.

``DroneSim.step`` advances every agent by one control period, which is
``physics_hz / control_hz`` physics steps, in one numba call. At every physics
step the control mode turns the command into rotor speed commands, the battery
caps them, RK4 advances the body, the battery integrates the energy drawn, and
``_resolve_terrain_contact`` checks the terrain and its structures.
"""

import math
from typing import Literal, NamedTuple

import numpy as np
from numba import njit, prange

from twin_gym.dynamics._kernels import (
    CONTROLLER_STATE_SIZE,
    P_BATTERY_CAPACITY,
    P_BATTERY_RESISTANCE,
    P_BATTERY_VOLTAGE_EMPTY,
    P_BATTERY_VOLTAGE_FULL,
    P_CONTACT_RADIUS,
    P_MOTOR_TIME_CONSTANT,
    P_POWER_EFFICIENCY,
    P_ROTOR_SPEED_MAX,
    P_ROTOR_SPEED_MIN,
    P_TOUCHDOWN_SPEED,
    P_TOUCHDOWN_TILT,
    SCRATCH_ROWS,
    STATE_SIZE,
    _rotor_speed_at,
    rate_control,
    rk4_step,
    rotor_power,
    velocity_control,
)
from twin_gym.dynamics.controller import VelocityControllerGains, gains_rows
from twin_gym.dynamics.quadrotor import (
    PARALLEL_MIN_AGENTS,
    QuadrotorParams,
    hover_state,
    params_rows,
)
from twin_gym.errors import InputError
from twin_gym.raycast._surface import surface_height

POSE_SIZE = 8
"""Columns of one pose_history entry: t, pos_w (3), quat_wb (4)."""

CONTACT_NONE = 0
CONTACT_CRASH = 1
CONTACT_OFF_MAP = 2
CONTACT_LANDED = 3
CONTACT_RESTING = 4

MODE_VELOCITY = 0
MODE_ROTOR_SPEED = 1
MODE_THRUST_RATES = 2
CONTROL_MODES = ("velocity", "rotor_speed", "thrust_rates")
"""Command layouts of ``DroneSim.step``, indexed by the kernel's mode code."""


class StepResult(NamedTuple):
    """Per-agent outcome of ``DroneSim.step``.

    Attributes:
        crashed: Whether the agent has touched the terrain since its last
            reset, shape (num_agents,), bool.
        contact_speed: Speed in m/s at the first terrain contact since the last
            reset, 0 without contact, shape (num_agents,), float64.
        out_of_map: Whether the terrain height was undefined (NaN) under the
            agent after any physics step of this control step, shape
            (num_agents,), bool. Contact is not checked there.
        landed: Whether the agent rests on the surface after a touchdown
            within its touchdown speed and tilt, shape (num_agents,), bool.
            It lifts off again when its thrust exceeds its weight.
        energy_used_j: Energy drawn from each battery since the last reset,
            J, shape (num_agents,), float64; 0 for presets without a battery.
    """

    crashed: np.ndarray
    contact_speed: np.ndarray
    out_of_map: np.ndarray
    landed: np.ndarray
    energy_used_j: np.ndarray


@njit(cache=True)
def _terrain_height(heights, structures, x_first, y_first, cell_size, use_plane, x, y):
    """Return the top of terrain and structures at local (x, y), NaN off the map.

    A structure is a flat-topped column over its cell's square footprint, so
    inside that footprint the top is the larger of the terrain surface and
    ``heights + structures`` of the cell.
    """
    if use_plane:
        return 0.0
    height = surface_height(heights, x_first, y_first, cell_size, x, y)
    if math.isnan(height):
        return height
    rows, cols = heights.shape
    col = int(math.floor((x - x_first) / cell_size + 0.5))
    row = int(math.floor((y_first - y) / cell_size + 0.5))
    if 0 <= row < rows and 0 <= col < cols and structures[row, col] > 0.0:
        height = max(height, np.float64(heights[row, col] + structures[row, col]))
    return height


@njit(cache=True)
def _tilt_cosine(qw, qx, qy, qz):
    """Return the cosine of the angle between body z and world z."""
    norm_sq = qw * qw + qx * qx + qy * qy + qz * qz
    return 1.0 - 2.0 * (qx * qx + qy * qy) / norm_sq


@njit(cache=True)
def _resolve_terrain_contact(
    x,
    prev_x,
    prev_clearance,
    p,
    heights,
    structures,
    x_first,
    y_first,
    cell_size,
    use_plane,
    resting,
    allow_landing,
):
    """Check surface contact after one physics step and apply it to ``x``.

    Contact means a clearance (pos z minus the top of terrain or structure)
    below the contact radius. The state moves back to the linearly
    interpolated point on the segment from ``prev_x`` where the clearance
    equals the contact radius. If ``allow_landing`` and the speed there is at
    most the touchdown speed and the tilt at most the touchdown tilt, it is a
    landing: velocity and body rates become 0, attitude and rotor speeds stay.
    Otherwise it is a crash and velocity, body rates and rotor speeds become
    0. A body already ``resting`` after a landing stays on the surface at its
    previous position and attitude until its thrust lifts it.

    Returns:
        (code, clearance, contact_speed): code is one of the ``CONTACT_*``
        values, clearance the new clearance in m (NaN off the map),
        contact_speed the speed in m/s at contact (0 without a new contact).
    """
    height = _terrain_height(
        heights, structures, x_first, y_first, cell_size, use_plane, x[0], x[1]
    )
    if math.isnan(height):
        return CONTACT_OFF_MAP, math.nan, 0.0
    clearance = x[2] - height
    radius = p[P_CONTACT_RADIUS]
    if clearance >= radius:
        return CONTACT_NONE, clearance, 0.0

    if resting:
        for j in range(10):
            x[j] = prev_x[j]
        for j in range(3, 6):
            x[j] = 0.0
        for j in range(10, 13):
            x[j] = 0.0
        return CONTACT_RESTING, prev_clearance, 0.0

    # Fraction of the step at which the clearance crossed the radius. A start
    # already inside the radius or off the map gives the nearest end point.
    fraction = 1.0
    if not math.isnan(prev_clearance):
        drop = prev_clearance - clearance
        fraction = (prev_clearance - radius) / drop if drop > 0.0 else 0.0
        fraction = min(max(fraction, 0.0), 1.0)
    speed_sq = 0.0
    for j in range(3):
        x[j] = prev_x[j] + fraction * (x[j] - prev_x[j])
        vel = prev_x[3 + j] + fraction * (x[3 + j] - prev_x[3 + j])
        speed_sq += vel * vel
    speed = math.sqrt(speed_sq)
    tilt_cos = _tilt_cosine(x[6], x[7], x[8], x[9])
    for j in range(3, 6):
        x[j] = 0.0
    for j in range(10, 13):
        x[j] = 0.0
    if (
        allow_landing
        and speed <= p[P_TOUCHDOWN_SPEED]
        and tilt_cos >= math.cos(p[P_TOUCHDOWN_TILT])
    ):
        return CONTACT_LANDED, radius, speed
    for j in range(13, STATE_SIZE):
        x[j] = 0.0
    return CONTACT_CRASH, clearance, speed


@njit(cache=True)
def _battery_voltage(p, energy_used, electrical_power):
    """Return the terminal voltage in V at a power draw, and the OCV in V.

    The open-circuit voltage falls linearly with the energy drawn. The
    terminal voltage solves ``V = V_oc - R P / V``; above the pack's maximum
    power ``V_oc^2 / (4 R)`` it is ``V_oc / 2``, the maximum-power point.
    An empty pack gives 0 V.
    """
    capacity = p[P_BATTERY_CAPACITY]
    if energy_used >= capacity:
        return 0.0, 0.0
    full = p[P_BATTERY_VOLTAGE_FULL]
    empty = p[P_BATTERY_VOLTAGE_EMPTY]
    open_circuit = empty + (full - empty) * (1.0 - energy_used / capacity)
    discriminant = (
        open_circuit * open_circuit - 4.0 * p[P_BATTERY_RESISTANCE] * electrical_power
    )
    if discriminant <= 0.0:
        return 0.5 * open_circuit, open_circuit
    return 0.5 * (open_circuit + math.sqrt(discriminant)), open_circuit


@njit(cache=True)
def _apply_battery_limit(rotor_cmd, p, voltage):
    """Clamp rotor commands to the speed the terminal voltage allows.

    The highest rotor speed scales with the terminal voltage,
    ``rotor_speed_max * V / voltage_full``.
    """
    lo = p[P_ROTOR_SPEED_MIN]
    cap = p[P_ROTOR_SPEED_MAX] * voltage / p[P_BATTERY_VOLTAGE_FULL]
    cap = max(cap, lo)
    for i in range(4):
        rotor_cmd[i] = min(max(rotor_cmd[i], lo), cap)


@njit(cache=True)
def _drain_battery(prev_x, rotor_cmd, p, dt, energy_used, work):
    """Return (energy drawn in J over one step, terminal voltage in V after it).

    The shaft power ``sum k_m w^3`` is integrated over the step by Simpson's
    rule on the exact motor-lag rotor speeds. The pack delivers
    ``shaft power / power_efficiency`` at its terminal voltage and loses
    ``I^2 R`` inside, so the energy drawn is ``V_oc * I * dt``.
    """
    w0 = work[0:4]
    w_mid = work[4:8]
    for i in range(4):
        w0[i] = prev_x[13 + i]
    tau = p[P_MOTOR_TIME_CONSTANT]
    shaft_start = rotor_power(w0, p)
    _rotor_speed_at(w0, rotor_cmd, tau, 0.5 * dt, w_mid)
    shaft_mid = rotor_power(w_mid, p)
    _rotor_speed_at(w0, rotor_cmd, tau, dt, w_mid)
    shaft_end = rotor_power(w_mid, p)
    shaft = (shaft_start + 4.0 * shaft_mid + shaft_end) / 6.0
    electrical = shaft / p[P_POWER_EFFICIENCY]
    voltage, open_circuit = _battery_voltage(p, energy_used, electrical)
    if voltage <= 0.0:
        return 0.0, 0.0
    drawn = open_circuit * electrical / voltage * dt
    after, _ = _battery_voltage(p, energy_used + drawn, electrical)
    return drawn, after


@njit(cache=True)
def _write_pose(pose_history, i, k, t, x):
    pose_history[i, k, 0] = t
    for j in range(3):
        pose_history[i, k, 1 + j] = x[j]
    for j in range(4):
        pose_history[i, k, 4 + j] = x[6 + j]


@njit(cache=True)
def _rotor_commands(x, command, mode, ctrl_state, p, gains, dt, rot, work, out):
    """Write rotor speed commands (4,) in rad/s for one command row."""
    if mode == MODE_VELOCITY:
        velocity_control(x, command, ctrl_state, p, gains, dt, rot, work, out)
    elif mode == MODE_ROTOR_SPEED:
        for j in range(4):
            out[j] = command[j]
    else:
        rate_control(
            x, command[0], command[1], command[2], command[3], p, gains, work, out
        )


@njit(cache=True)
def _advance_agent(
    i,
    state,
    commands,
    mode,
    controller_state,
    params_array,
    gains_array,
    wind_w,
    dt,
    substeps,
    t0,
    heights,
    structures,
    x_first,
    y_first,
    cell_size,
    use_plane,
    allow_landing,
    crashed,
    contact_speed,
    out_of_map,
    landed,
    energy_used,
    voltage,
    pose_history,
):
    x = state[i]
    p = params_array[i]
    _write_pose(pose_history, i, 0, t0, x)
    out_of_map[i] = False
    if crashed[i]:
        for k in range(1, substeps + 1):
            _write_pose(pose_history, i, k, t0 + k * dt, x)
        return

    scratch = np.empty((SCRATCH_ROWS, STATE_SIZE))
    rot = np.empty((3, 3))
    work = np.empty(8)
    rotor_cmd = np.empty(4)
    prev_x = np.empty(STATE_SIZE)
    has_battery = p[P_BATTERY_CAPACITY] > 0.0
    height = _terrain_height(
        heights, structures, x_first, y_first, cell_size, use_plane, x[0], x[1]
    )
    clearance = x[2] - height
    for k in range(1, substeps + 1):
        for j in range(STATE_SIZE):
            prev_x[j] = x[j]
        _rotor_commands(
            x,
            commands[i],
            mode,
            controller_state[i],
            p,
            gains_array[i],
            dt,
            rot,
            work,
            rotor_cmd,
        )
        if has_battery:
            _apply_battery_limit(rotor_cmd, p, voltage[i])
        rk4_step(x, rotor_cmd, p, wind_w[i], dt, scratch, rot)
        if has_battery:
            drawn, voltage[i] = _drain_battery(
                prev_x, rotor_cmd, p, dt, energy_used[i], work
            )
            energy_used[i] += drawn
        code, clearance, speed = _resolve_terrain_contact(
            x,
            prev_x,
            clearance,
            p,
            heights,
            structures,
            x_first,
            y_first,
            cell_size,
            use_plane,
            landed[i],
            allow_landing,
        )
        _write_pose(pose_history, i, k, t0 + k * dt, x)
        if code == CONTACT_OFF_MAP:
            out_of_map[i] = True
            landed[i] = False
        elif code == CONTACT_NONE:
            landed[i] = False
        elif code == CONTACT_LANDED:
            landed[i] = True
            contact_speed[i] = speed
        elif code == CONTACT_CRASH:
            crashed[i] = True
            landed[i] = False
            contact_speed[i] = speed
            for rest in range(k + 1, substeps + 1):
                _write_pose(pose_history, i, rest, t0 + rest * dt, x)
            return


@njit(cache=True, parallel=True)
def _advance_parallel(
    state,
    commands,
    mode,
    controller_state,
    params_array,
    gains_array,
    wind_w,
    dt,
    substeps,
    t0,
    heights,
    structures,
    x_first,
    y_first,
    cell_size,
    use_plane,
    allow_landing,
    crashed,
    contact_speed,
    out_of_map,
    landed,
    energy_used,
    voltage,
    pose_history,
):
    for i in prange(state.shape[0]):
        _advance_agent(
            i,
            state,
            commands,
            mode,
            controller_state,
            params_array,
            gains_array,
            wind_w,
            dt,
            substeps,
            t0,
            heights,
            structures,
            x_first,
            y_first,
            cell_size,
            use_plane,
            allow_landing,
            crashed,
            contact_speed,
            out_of_map,
            landed,
            energy_used,
            voltage,
            pose_history,
        )


@njit(cache=True)
def _advance_serial(
    state,
    commands,
    mode,
    controller_state,
    params_array,
    gains_array,
    wind_w,
    dt,
    substeps,
    t0,
    heights,
    structures,
    x_first,
    y_first,
    cell_size,
    use_plane,
    allow_landing,
    crashed,
    contact_speed,
    out_of_map,
    landed,
    energy_used,
    voltage,
    pose_history,
):
    for i in range(state.shape[0]):
        _advance_agent(
            i,
            state,
            commands,
            mode,
            controller_state,
            params_array,
            gains_array,
            wind_w,
            dt,
            substeps,
            t0,
            heights,
            structures,
            x_first,
            y_first,
            cell_size,
            use_plane,
            allow_landing,
            crashed,
            contact_speed,
            out_of_map,
            landed,
            energy_used,
            voltage,
            pose_history,
        )


def _check_rate(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise InputError(f"{name} must be a finite rate in Hz > 0, got {value!r}")
    return value


class DroneSim:
    """Batched quadrotors over a terrain, commanded in one of three modes.

    ``control_mode`` sets what one row of ``step``'s commands means:

    - ``"velocity"``: ``(vx, vy, vz, yaw_rate)``, world frame (ENU), m/s and
      rad/s, tracked by the cascaded controller of
      ``twin_gym.dynamics.controller``.
    - ``"rotor_speed"``: the four rotor speed commands in rad/s, rotor order
      of the frame, clamped to the rotor limits.
    - ``"thrust_rates"``: collective thrust along body z in N and body rates
      ``(p, q, r)`` about body x, y, z (FLU) in rad/s, tracked by the P rate
      loop with the gains' ``rate_p_xy`` and ``rate_p_z``.

    Attributes:
        params: Quadrotor parameters shared by all agents at reset.
        gains: Velocity controller gains (the rate gains serve the
            ``"thrust_rates"`` mode too).
        control_mode: One of ``CONTROL_MODES``.
        allow_landing: Whether a gentle touchdown is a landing. If False every
            contact is a crash.
        num_agents: Number of agents.
        physics_hz: Physics (and controller) rate in Hz.
        parallel: Whether ``step`` spreads agents over numba's threads.
        control_hz: Rate of ``step`` calls in Hz.
        substeps: Physics steps per control step, ``physics_hz / control_hz``.
        dt: Physics step in s.
        state: Agent states, shape (num_agents, 17), float64, layout in
            ``twin_gym.dynamics.quadrotor``.
        wind_w: Wind velocity in the world frame in m/s, shape (num_agents, 3),
            float64, 0 unless the caller writes it.
        crashed: Whether each agent touched the terrain since its last reset,
            shape (num_agents,), bool.
        contact_speed: Speed in m/s at the last touchdown or crash, shape
            (num_agents,).
        landed: Whether each agent rests on the surface after a landing,
            shape (num_agents,), bool.
        energy_used_j: Energy drawn from each battery since its reset, J,
            shape (num_agents,); stays 0 without a battery model.
        battery_voltage: Terminal voltage of each battery after the last
            physics step, V, shape (num_agents,); 0 without a battery model.
        pose_history: Poses of the last step, shape (num_agents, substeps + 1,
            8), float64, rows ``[t, pos_w (3), quat_wb (4)]`` at the start of
            the step and after each physics step.
        time_s: Simulated time in s since the last full reset.
    """

    def __init__(
        self,
        params: QuadrotorParams,
        num_agents: int,
        physics_hz: float = 200.0,
        control_hz: float = 20.0,
        terrain: object | None = None,
        gains: VelocityControllerGains | None = None,
        parallel: bool | None = None,
        control_mode: Literal["velocity", "rotor_speed", "thrust_rates"] = ("velocity"),
        allow_landing: bool = True,
    ) -> None:
        """Create the simulation with every agent hovering at the origin.

        Args:
            params: Quadrotor parameters shared by all agents.
            num_agents: Number of agents, >= 1.
            physics_hz: Physics rate in Hz.
            control_hz: Control rate in Hz. ``physics_hz / control_hz`` must be
                a whole number.
            terrain: Object with ``heights`` (2D, m), ``x_first``, ``y_first``
                and ``cell_size`` (m) as read by
                ``twin_gym.raycast._surface.surface_height``, and optionally
                ``structure_heights`` (same shape, m above ``heights``), or
                None for an unbounded ground plane at z = 0.
            gains: Velocity controller gains, or None for the defaults.
            parallel: Whether ``step`` spreads agents over numba's threads.
                None picks threads from ``PARALLEL_MIN_AGENTS`` agents on.
            control_mode: Meaning of the commands, see the class docstring.
            allow_landing: Whether a touchdown within the preset's touchdown
                speed and tilt is a landing rather than a crash.

        Raises:
            InputError: On an invalid argument. The message names it.
        """
        if not isinstance(params, QuadrotorParams):
            raise InputError(
                f"params must be a QuadrotorParams, got {type(params).__name__}"
            )
        if isinstance(num_agents, bool) or not isinstance(num_agents, int | np.integer):
            raise InputError(f"num_agents must be an int, got {num_agents!r}")
        if num_agents < 1:
            raise InputError(f"num_agents must be >= 1, got {num_agents}")
        if control_mode not in CONTROL_MODES:
            raise InputError(
                f"control_mode must be one of {CONTROL_MODES}, got {control_mode!r}"
            )
        physics_hz = _check_rate("physics_hz", physics_hz)
        control_hz = _check_rate("control_hz", control_hz)
        ratio = physics_hz / control_hz
        substeps = round(ratio)
        if substeps < 1 or abs(ratio - substeps) > 1e-9 * ratio:
            raise InputError(
                f"physics_hz / control_hz must be a whole number >= 1, got "
                f"{physics_hz} / {control_hz} = {ratio}. Pick rates such as "
                "200 and 20"
            )

        self.params = params
        self.gains = gains if gains is not None else VelocityControllerGains()
        self.control_mode = control_mode
        self._mode = CONTROL_MODES.index(control_mode)
        self.allow_landing = bool(allow_landing)
        self.num_agents = int(num_agents)
        self.physics_hz = physics_hz
        self.control_hz = control_hz
        self.substeps = substeps
        self.dt = 1.0 / physics_hz
        if parallel is None:
            parallel = self.num_agents >= PARALLEL_MIN_AGENTS
        self.parallel = bool(parallel)
        self._set_terrain(terrain)

        self._params_array = params_rows(params, self.num_agents)
        self._gains_array = gains_rows(self.gains, self.num_agents)
        self.wind_w = np.zeros((self.num_agents, 3))
        self.state = np.zeros((self.num_agents, STATE_SIZE))
        self._controller_state = np.zeros((self.num_agents, CONTROLLER_STATE_SIZE))
        self.crashed = np.zeros(self.num_agents, dtype=np.bool_)
        self.contact_speed = np.zeros(self.num_agents)
        self.landed = np.zeros(self.num_agents, dtype=np.bool_)
        self.energy_used_j = np.zeros(self.num_agents)
        self.battery_voltage = np.zeros(self.num_agents)
        self._out_of_map = np.zeros(self.num_agents, dtype=np.bool_)
        self.pose_history = np.zeros((self.num_agents, substeps + 1, POSE_SIZE))
        self._step_count = 0
        self.reset(np.zeros((self.num_agents, 3)))

    def _set_terrain(self, terrain: object | None) -> None:
        if terrain is None:
            self._use_plane = True
            self._heights = np.zeros((2, 2), dtype=np.float32)
            self._structures = np.zeros((2, 2), dtype=np.float32)
            self._x_first = 0.0
            self._y_first = 0.0
            self._cell_size = 1.0
            return

        missing = [
            name
            for name in ("heights", "x_first", "y_first", "cell_size")
            if not hasattr(terrain, name)
        ]
        if missing:
            raise InputError(
                f"terrain is missing attribute(s) {missing}. Pass an object with "
                "heights, x_first, y_first and cell_size, or None for a plane"
            )

        heights = np.ascontiguousarray(terrain.heights, dtype=np.float32)
        if heights.ndim != 2 or heights.shape[0] < 2 or heights.shape[1] < 2:
            raise InputError(
                f"terrain.heights must be 2D with at least 2 rows and 2 columns, "
                f"got shape {heights.shape}"
            )
        cell_size = float(terrain.cell_size)
        if not (math.isfinite(cell_size) and cell_size > 0.0):
            raise InputError(f"terrain.cell_size must be > 0 m, got {cell_size!r}")

        structures = getattr(terrain, "structure_heights", None)
        if structures is None:
            structures = np.zeros(heights.shape, dtype=np.float32)
        structures = np.ascontiguousarray(structures, dtype=np.float32)
        if structures.shape != heights.shape:
            raise InputError(
                f"terrain.structure_heights must have the shape of heights "
                f"{heights.shape}, got {structures.shape}"
            )

        self._use_plane = False
        self._heights = heights
        self._structures = structures
        self._x_first = float(terrain.x_first)
        self._y_first = float(terrain.y_first)
        self._cell_size = cell_size

    @property
    def time_s(self) -> float:
        """Simulated time in s since the last reset of all agents."""
        return self._step_count * self.substeps * self.dt

    def reset(
        self,
        pos_w: np.ndarray,
        yaw: np.ndarray | None = None,
        agent_ids: np.ndarray | None = None,
    ) -> None:
        """Place agents at rest, level, with rotors at hover speed.

        Resetting clears the crash and landing flags, the contact speeds, the
        controller state (integral and velocity reference) and the energy used
        of those agents, recharges their batteries and puts back a dropped
        payload. ``time_s`` restarts only when every agent is reset.

        Args:
            pos_w: Positions in the world frame in m, shape (n, 3), where n is
                num_agents or ``len(agent_ids)``.
            yaw: Headings in rad counter-clockwise from east, shape (n,), or
                None for 0.
            agent_ids: Indices of the agents to reset, shape (n,), or None for
                all agents.
        """
        ids = self._agent_ids(agent_ids)
        pos_w = np.asarray(pos_w, dtype=np.float64)
        if pos_w.shape != (ids.size, 3):
            raise InputError(
                f"pos_w must have shape ({ids.size}, 3), got {pos_w.shape}"
            )
        if not np.all(np.isfinite(pos_w)):
            raise InputError("pos_w must be finite")
        self.state[ids] = hover_state(self.params, pos_w, yaw)
        self._params_array[ids] = self.params.to_array()
        self._controller_state[ids] = 0.0
        self.crashed[ids] = False
        self.landed[ids] = False
        self.contact_speed[ids] = 0.0
        self.energy_used_j[ids] = 0.0
        battery = self.params.battery
        self.battery_voltage[ids] = 0.0 if battery is None else battery.voltage_full
        self._out_of_map[ids] = False
        if ids.size == self.num_agents:
            self._step_count = 0
            self.pose_history[:] = 0.0
        t = self.time_s
        for k in range(self.substeps + 1):
            self.pose_history[ids, k, 0] = t
            self.pose_history[ids, k, 1:4] = self.state[ids, 0:3]
            self.pose_history[ids, k, 4:8] = self.state[ids, 6:10]

    def drop_payload(self, agent_ids: np.ndarray | None = None) -> None:
        """Release the payload of the given agents, changing mass and inertia.

        The state (position, velocity, attitude, rates) is unchanged at the
        release, so a hovering agent accelerates upward until its controller
        reduces the thrust. ``reset`` puts the payload back.

        Args:
            agent_ids: Indices of the agents, shape (n,), or None for all.
        """
        ids = self._agent_ids(agent_ids)
        self._params_array[ids] = self.params.without_payload().to_array()

    def _agent_ids(self, agent_ids: np.ndarray | None) -> np.ndarray:
        if agent_ids is None:
            return np.arange(self.num_agents)
        ids = np.asarray(agent_ids, dtype=np.int64).reshape(-1)
        if ids.size and (ids.min() < 0 or ids.max() >= self.num_agents):
            raise InputError(f"agent_ids must lie in [0, {self.num_agents}), got {ids}")
        return ids

    def step(self, commands: np.ndarray) -> StepResult:
        """Advance all agents by one control period.

        Args:
            commands: One row per agent, shape (num_agents, 4), laid out as
                ``control_mode`` sets (see the class docstring). Non-finite
                entries are rejected.

        Returns:
            Copies of the crash flags, contact speeds, out-of-map flags,
            landing flags and energy used.
        """
        commands = np.ascontiguousarray(commands, dtype=np.float64)
        if commands.shape != (self.num_agents, 4):
            raise InputError(
                f"commands must have shape ({self.num_agents}, 4), got {commands.shape}"
            )
        if not np.all(np.isfinite(commands)):
            raise InputError("commands must be finite")
        wind_w = np.ascontiguousarray(self.wind_w, dtype=np.float64)
        if wind_w.shape != (self.num_agents, 3):
            raise InputError(
                f"wind_w must have shape ({self.num_agents}, 3), got {wind_w.shape}"
            )
        kernel = _advance_parallel if self.parallel else _advance_serial
        kernel(
            self.state,
            commands,
            self._mode,
            self._controller_state,
            self._params_array,
            self._gains_array,
            wind_w,
            self.dt,
            self.substeps,
            self.time_s,
            self._heights,
            self._structures,
            self._x_first,
            self._y_first,
            self._cell_size,
            self._use_plane,
            self.allow_landing,
            self.crashed,
            self.contact_speed,
            self._out_of_map,
            self.landed,
            self.energy_used_j,
            self.battery_voltage,
            self.pose_history,
        )
        self._step_count += 1
        return StepResult(
            crashed=self.crashed.copy(),
            contact_speed=self.contact_speed.copy(),
            out_of_map=self._out_of_map.copy(),
            landed=self.landed.copy(),
            energy_used_j=self.energy_used_j.copy(),
        )
