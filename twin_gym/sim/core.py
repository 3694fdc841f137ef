"""Simulation core: batched quadrotors under velocity control over terrain.

``DroneSim.step`` advances every agent by one control period, which is
``physics_hz / control_hz`` physics steps, in one numba call. At every physics
step the velocity controller computes rotor commands, RK4 advances the body
and ``_resolve_terrain_contact`` checks the terrain.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit, prange

from twin_gym.dynamics._kernels import (
    CONTROLLER_STATE_SIZE,
    P_CONTACT_RADIUS,
    SCRATCH_ROWS,
    STATE_SIZE,
    rk4_step,
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
    """

    crashed: np.ndarray
    contact_speed: np.ndarray
    out_of_map: np.ndarray


@njit(cache=True)
def _terrain_height(heights, x_first, y_first, cell_size, use_plane, x, y):
    if use_plane:
        return 0.0
    return surface_height(heights, x_first, y_first, cell_size, x, y)


@njit(cache=True)
def _resolve_terrain_contact(
    x, prev_x, prev_clearance, p, heights, x_first, y_first, cell_size, use_plane
):
    """Check terrain contact after one physics step and apply it to ``x``.

    Contact means a clearance (pos z minus surface height) below the contact
    radius, and it is a crash for now. The state moves back to the linearly
    interpolated point on the segment from ``prev_x`` where the clearance
    equals the contact radius, and the body stops: velocity, body rates and
    rotor speeds become 0.

    Returns:
        (code, clearance, contact_speed): code is CONTACT_NONE, CONTACT_CRASH
        or CONTACT_OFF_MAP, clearance the new clearance in m (NaN off the map),
        contact_speed the speed in m/s at contact (0 without contact).
    """
    height = _terrain_height(
        heights, x_first, y_first, cell_size, use_plane, x[0], x[1]
    )
    if math.isnan(height):
        return CONTACT_OFF_MAP, math.nan, 0.0
    clearance = x[2] - height
    radius = p[P_CONTACT_RADIUS]
    if clearance >= radius:
        return CONTACT_NONE, clearance, 0.0

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
    for j in range(3, 6):
        x[j] = 0.0
    for j in range(10, STATE_SIZE):
        x[j] = 0.0
    return CONTACT_CRASH, clearance, math.sqrt(speed_sq)


@njit(cache=True)
def _write_pose(pose_history, i, k, t, x):
    pose_history[i, k, 0] = t
    for j in range(3):
        pose_history[i, k, 1 + j] = x[j]
    for j in range(4):
        pose_history[i, k, 4 + j] = x[6 + j]


@njit(cache=True)
def _advance_agent(
    i,
    state,
    setpoints,
    controller_state,
    params_array,
    gains_array,
    wind_w,
    dt,
    substeps,
    t0,
    heights,
    x_first,
    y_first,
    cell_size,
    use_plane,
    crashed,
    contact_speed,
    out_of_map,
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
    height = _terrain_height(
        heights, x_first, y_first, cell_size, use_plane, x[0], x[1]
    )
    clearance = x[2] - height
    for k in range(1, substeps + 1):
        for j in range(STATE_SIZE):
            prev_x[j] = x[j]
        velocity_control(
            x,
            setpoints[i],
            controller_state[i],
            p,
            gains_array[i],
            dt,
            rot,
            work,
            rotor_cmd,
        )
        rk4_step(x, rotor_cmd, p, wind_w[i], dt, scratch, rot)
        code, clearance, speed = _resolve_terrain_contact(
            x, prev_x, clearance, p, heights, x_first, y_first, cell_size, use_plane
        )
        _write_pose(pose_history, i, k, t0 + k * dt, x)
        if code == CONTACT_OFF_MAP:
            out_of_map[i] = True
        elif code == CONTACT_CRASH:
            crashed[i] = True
            contact_speed[i] = speed
            for rest in range(k + 1, substeps + 1):
                _write_pose(pose_history, i, rest, t0 + rest * dt, x)
            return


@njit(cache=True, parallel=True)
def _advance_parallel(
    state,
    setpoints,
    controller_state,
    params_array,
    gains_array,
    wind_w,
    dt,
    substeps,
    t0,
    heights,
    x_first,
    y_first,
    cell_size,
    use_plane,
    crashed,
    contact_speed,
    out_of_map,
    pose_history,
):
    for i in prange(state.shape[0]):
        _advance_agent(
            i,
            state,
            setpoints,
            controller_state,
            params_array,
            gains_array,
            wind_w,
            dt,
            substeps,
            t0,
            heights,
            x_first,
            y_first,
            cell_size,
            use_plane,
            crashed,
            contact_speed,
            out_of_map,
            pose_history,
        )


@njit(cache=True)
def _advance_serial(
    state,
    setpoints,
    controller_state,
    params_array,
    gains_array,
    wind_w,
    dt,
    substeps,
    t0,
    heights,
    x_first,
    y_first,
    cell_size,
    use_plane,
    crashed,
    contact_speed,
    out_of_map,
    pose_history,
):
    for i in range(state.shape[0]):
        _advance_agent(
            i,
            state,
            setpoints,
            controller_state,
            params_array,
            gains_array,
            wind_w,
            dt,
            substeps,
            t0,
            heights,
            x_first,
            y_first,
            cell_size,
            use_plane,
            crashed,
            contact_speed,
            out_of_map,
            pose_history,
        )


def _check_rate(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise InputError(f"{name} must be a finite rate in Hz > 0, got {value!r}")
    return value


class DroneSim:
    """Batched quadrotors under velocity-setpoint control over a terrain.

    Attributes:
        params: Quadrotor parameters shared by all agents.
        gains: Velocity controller gains.
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
        contact_speed: Speed in m/s at that first contact, shape (num_agents,).
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
                ``twin_gym.raycast._surface.surface_height``, or None for an
                unbounded ground plane at z = 0.
            gains: Velocity controller gains, or None for the defaults.
            parallel: Whether ``step`` spreads agents over numba's threads.
                None picks threads from ``PARALLEL_MIN_AGENTS`` agents on.

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
        self._out_of_map = np.zeros(self.num_agents, dtype=np.bool_)
        self.pose_history = np.zeros((self.num_agents, substeps + 1, POSE_SIZE))
        self._step_count = 0
        self.reset(np.zeros((self.num_agents, 3)))

    def _set_terrain(self, terrain: object | None) -> None:
        if terrain is None:
            self._use_plane = True
            self._heights = np.zeros((2, 2), dtype=np.float32)
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

        self._use_plane = False
        self._heights = heights
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

        Resetting clears the crash flags, the contact speeds and the controller
        state (integral and velocity reference) of those agents. ``time_s``
        restarts only when every agent is reset.

        Args:
            pos_w: Positions in the world frame in m, shape (n, 3), where n is
                num_agents or ``len(agent_ids)``.
            yaw: Headings in rad counter-clockwise from east, shape (n,), or
                None for 0.
            agent_ids: Indices of the agents to reset, shape (n,), or None for
                all agents.
        """
        if agent_ids is None:
            ids = np.arange(self.num_agents)
        else:
            ids = np.asarray(agent_ids, dtype=np.int64).reshape(-1)
            if ids.size and (ids.min() < 0 or ids.max() >= self.num_agents):
                raise InputError(
                    f"agent_ids must lie in [0, {self.num_agents}), got {ids}"
                )
        pos_w = np.asarray(pos_w, dtype=np.float64)
        if pos_w.shape != (ids.size, 3):
            raise InputError(
                f"pos_w must have shape ({ids.size}, 3), got {pos_w.shape}"
            )
        if not np.all(np.isfinite(pos_w)):
            raise InputError("pos_w must be finite")
        self.state[ids] = hover_state(self.params, pos_w, yaw)
        self._controller_state[ids] = 0.0
        self.crashed[ids] = False
        self.contact_speed[ids] = 0.0
        self._out_of_map[ids] = False
        if ids.size == self.num_agents:
            self._step_count = 0
            self.pose_history[:] = 0.0
        t = self.time_s
        for k in range(self.substeps + 1):
            self.pose_history[ids, k, 0] = t
            self.pose_history[ids, k, 1:4] = self.state[ids, 0:3]
            self.pose_history[ids, k, 4:8] = self.state[ids, 6:10]

    def step(self, velocity_setpoints: np.ndarray) -> StepResult:
        """Advance all agents by one control period.

        Args:
            velocity_setpoints: ``(vx, vy, vz, yaw_rate)`` per agent, world
                frame, m/s and rad/s, shape (num_agents, 4). Non-finite entries
                are rejected.

        Returns:
            Copies of the crash flags, contact speeds and out-of-map flags.
        """
        setpoints = np.ascontiguousarray(velocity_setpoints, dtype=np.float64)
        if setpoints.shape != (self.num_agents, 4):
            raise InputError(
                f"velocity_setpoints must have shape ({self.num_agents}, 4), got "
                f"{setpoints.shape}"
            )
        if not np.all(np.isfinite(setpoints)):
            raise InputError("velocity_setpoints must be finite")
        wind_w = np.ascontiguousarray(self.wind_w, dtype=np.float64)
        if wind_w.shape != (self.num_agents, 3):
            raise InputError(
                f"wind_w must have shape ({self.num_agents}, 3), got {wind_w.shape}"
            )
        kernel = _advance_parallel if self.parallel else _advance_serial
        kernel(
            self.state,
            setpoints,
            self._controller_state,
            self._params_array,
            self._gains_array,
            wind_w,
            self.dt,
            self.substeps,
            self.time_s,
            self._heights,
            self._x_first,
            self._y_first,
            self._cell_size,
            self._use_plane,
            self.crashed,
            self.contact_speed,
            self._out_of_map,
            self.pose_history,
        )
        self._step_count += 1
        return StepResult(
            crashed=self.crashed.copy(),
            contact_speed=self.contact_speed.copy(),
            out_of_map=self._out_of_map.copy(),
        )
