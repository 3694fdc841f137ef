"""Simulation core for ground vehicles: batched bicycle models on a twin.

``RoverSim.step`` advances every vehicle by one control period, which is
``physics_hz / control_hz`` physics steps, in one numba call. At every physics
step the surface under the wheels sets slope, friction and rolling resistance,
RK4 advances the vehicle (``twin_gym.dynamics._ground_kernels``), and the new
surface sets z, pitch and roll and checks for blocked cells and rollover.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Literal, NamedTuple

import numpy as np
from numba import njit, prange

from twin_gym.dynamics import _ground_kernels as gk
from twin_gym.dynamics.ground_vehicle import (
    GroundVehicleParams,
    SurfaceTraction,
    traction_table,
)
from twin_gym.errors import InputError
from twin_gym.sim.core import POSE_SIZE
from twin_gym.terrain.classes import SurfaceClass

PARALLEL_MIN_VEHICLES = 64
"""Vehicle count from which ``RoverSim`` uses numba's thread pool by default,
as ``PARALLEL_MIN_AGENTS`` does for the drones."""


class RoverStepResult(NamedTuple):
    """Per-vehicle outcome of ``RoverSim.step``.

    Attributes:
        collided: Whether a wheel entered a blocked cell (water, building,
            obstacle, structure, no data) since the last reset, shape
            (num_vehicles,), bool. The vehicle stops where it was before.
        rolled_over: Whether the vehicle tipped over since the last reset,
            shape (num_vehicles,), bool.
        out_of_map: Whether a wheel left the map since the last reset, shape
            (num_vehicles,), bool. The vehicle stops where it was before.
    """

    collided: np.ndarray
    rolled_over: np.ndarray
    out_of_map: np.ndarray


@njit(cache=True)
def _write_pose(pose_history, i, k, t, x):
    """Write ``[t, pos_w, quat_wb]`` with quat_wb from yaw, pitch and roll."""
    # Body FLU with pitch positive nose up is a rotation by -pitch about y.
    half_yaw = 0.5 * x[gk.S_YAW]
    half_pitch = -0.5 * x[gk.S_PITCH]
    half_roll = 0.5 * x[gk.S_ROLL]
    cy = math.cos(half_yaw)
    sy = math.sin(half_yaw)
    cp = math.cos(half_pitch)
    sp = math.sin(half_pitch)
    cr = math.cos(half_roll)
    sr = math.sin(half_roll)
    pose_history[i, k, 0] = t
    pose_history[i, k, 1] = x[gk.S_X]
    pose_history[i, k, 2] = x[gk.S_Y]
    pose_history[i, k, 3] = x[gk.S_Z]
    pose_history[i, k, 4] = cr * cp * cy + sr * sp * sy
    pose_history[i, k, 5] = sr * cp * cy - cr * sp * sy
    pose_history[i, k, 6] = cr * sp * cy + sr * cp * sy
    pose_history[i, k, 7] = cr * cp * sy - sr * sp * cy


@njit(cache=True)
def _advance_vehicle(
    i,
    state,
    commands,
    params_array,
    table,
    dt,
    integrator,
    substeps,
    t0,
    heights,
    structures,
    classes,
    x_first,
    y_first,
    cell_size,
    use_plane,
    collided,
    rolled_over,
    out_of_map,
    pose_history,
):
    x = state[i]
    p = params_array[i]
    _write_pose(pose_history, i, 0, t0, x)
    if collided[i] or rolled_over[i] or out_of_map[i]:
        for k in range(1, substeps + 1):
            _write_pose(pose_history, i, k, t0 + k * dt, x)
        return
    work = np.empty((6, 6))
    surface = np.empty(gk.SURFACE_SIZE)
    after = np.empty(gk.SURFACE_SIZE)
    prev_x = np.empty(gk.STATE_SIZE)
    gk.sample_surface(
        x[gk.S_X],
        x[gk.S_Y],
        x[gk.S_YAW],
        p,
        heights,
        structures,
        classes,
        x_first,
        y_first,
        cell_size,
        use_plane,
        table,
        surface,
    )
    for k in range(1, substeps + 1):
        for j in range(gk.STATE_SIZE):
            prev_x[j] = x[j]
        gk.vehicle_step(x, commands[i], p, surface, dt, integrator, work)
        status = gk.sample_surface(
            x[gk.S_X],
            x[gk.S_Y],
            x[gk.S_YAW],
            p,
            heights,
            structures,
            classes,
            x_first,
            y_first,
            cell_size,
            use_plane,
            table,
            after,
        )
        if status != gk.SURFACE_OK:
            for j in range(gk.STATE_SIZE):
                x[j] = prev_x[j]
            for j in (gk.S_VX, gk.S_VY, gk.S_YAW_RATE):
                x[j] = 0.0
            if status == gk.SURFACE_BLOCKED:
                collided[i] = True
            else:
                out_of_map[i] = True
        else:
            for j in range(gk.SURFACE_SIZE):
                surface[j] = after[j]
            x[gk.S_Z] = surface[gk.F_Z]
            x[gk.S_PITCH] = surface[gk.F_PITCH]
            x[gk.S_ROLL] = surface[gk.F_ROLL]
            if gk.rolls_over(x[gk.S_VX], x[gk.S_YAW_RATE], p, surface):
                rolled_over[i] = True
                for j in (gk.S_VX, gk.S_VY, gk.S_YAW_RATE):
                    x[j] = 0.0
        _write_pose(pose_history, i, k, t0 + k * dt, x)
        if status != gk.SURFACE_OK or rolled_over[i]:
            for rest in range(k + 1, substeps + 1):
                _write_pose(pose_history, i, rest, t0 + rest * dt, x)
            return


@njit(cache=True, parallel=True)
def _advance_parallel(
    state,
    commands,
    params_array,
    table,
    dt,
    integrator,
    substeps,
    t0,
    heights,
    structures,
    classes,
    x_first,
    y_first,
    cell_size,
    use_plane,
    collided,
    rolled_over,
    out_of_map,
    pose_history,
):
    for i in prange(state.shape[0]):
        _advance_vehicle(
            i,
            state,
            commands,
            params_array,
            table,
            dt,
            integrator,
            substeps,
            t0,
            heights,
            structures,
            classes,
            x_first,
            y_first,
            cell_size,
            use_plane,
            collided,
            rolled_over,
            out_of_map,
            pose_history,
        )


@njit(cache=True)
def _advance_serial(
    state,
    commands,
    params_array,
    table,
    dt,
    integrator,
    substeps,
    t0,
    heights,
    structures,
    classes,
    x_first,
    y_first,
    cell_size,
    use_plane,
    collided,
    rolled_over,
    out_of_map,
    pose_history,
):
    for i in range(state.shape[0]):
        _advance_vehicle(
            i,
            state,
            commands,
            params_array,
            table,
            dt,
            integrator,
            substeps,
            t0,
            heights,
            structures,
            classes,
            x_first,
            y_first,
            cell_size,
            use_plane,
            collided,
            rolled_over,
            out_of_map,
            pose_history,
        )


def _check_rate(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value > 0.0):
        raise InputError(f"{name} must be a finite rate in Hz > 0, got {value!r}")
    return value


class RoverSim:
    """Batched ground vehicles driving over a terrain twin.

    Commands, one row per vehicle, shape (num_vehicles, 3):
    ``(steer_angle, throttle, brake)``: the steering angle command in rad
    (positive left, clamped to ``max_steer_angle`` and reached at
    ``max_steer_rate``), the drive command in [-1, 1] (negative drives
    backward) and the brake command in [0, 1].

    Attributes:
        params: Vehicle parameters shared by all vehicles.
        num_vehicles: Number of vehicles.
        physics_hz: Physics rate in Hz.
        control_hz: Rate of ``step`` calls in Hz.
        substeps: Physics steps per control step.
        dt: Physics step in s.
        parallel: Whether ``step`` spreads vehicles over numba's threads.
        integrator: ``"rk4"`` or ``"euler"``.
        state: Vehicle states, shape (num_vehicles, 10), float64, layout in
            ``twin_gym.dynamics.ground_vehicle``.
        collided: Whether each vehicle entered a blocked cell, bool.
        rolled_over: Whether each vehicle tipped over, bool.
        out_of_map: Whether each vehicle reached the map's edge, bool.
        pose_history: Poses of the last step, shape (num_vehicles,
            substeps + 1, 8), rows ``[t, pos_w (3), quat_wb (4)]``.
        time_s: Simulated time in s since the last full reset.
    """

    def __init__(
        self,
        params: GroundVehicleParams,
        num_vehicles: int,
        physics_hz: float = 100.0,
        control_hz: float = 10.0,
        terrain: object | None = None,
        traction: Mapping[SurfaceClass, SurfaceTraction] | None = None,
        parallel: bool | None = None,
        integrator: Literal["rk4", "euler"] = "rk4",
    ) -> None:
        """Create the simulation with every vehicle parked at the origin.

        Args:
            params: Vehicle parameters.
            num_vehicles: Number of vehicles, >= 1.
            physics_hz: Physics rate in Hz.
            control_hz: Control rate in Hz; ``physics_hz / control_hz`` must
                be a whole number.
            terrain: Object with ``heights`` (2D, m), ``x_first``,
                ``y_first``, ``cell_size`` (m) and optionally ``classes``
                (uint8 ``SurfaceClass`` values) and ``structure_heights``,
                or None for an unbounded GROUND plane at z = 0.
            traction: Traction per surface class replacing entries of
                ``DEFAULT_TRACTION``, or None.
            parallel: Whether to use numba's threads; None picks them from
                ``PARALLEL_MIN_VEHICLES`` vehicles on.
            integrator: ``"rk4"`` (classic RK4) or ``"euler"`` (explicit Euler,
                first order, for speed comparisons with simulators that use
                it at the same step).

        Raises:
            InputError: On an invalid argument. The message names it.
        """
        if not isinstance(params, GroundVehicleParams):
            raise InputError(
                f"params must be a GroundVehicleParams, got {type(params).__name__}"
            )
        if isinstance(num_vehicles, bool) or not isinstance(
            num_vehicles, int | np.integer
        ):
            raise InputError(f"num_vehicles must be an int, got {num_vehicles!r}")
        if num_vehicles < 1:
            raise InputError(f"num_vehicles must be >= 1, got {num_vehicles}")
        physics_hz = _check_rate("physics_hz", physics_hz)
        control_hz = _check_rate("control_hz", control_hz)
        ratio = physics_hz / control_hz
        substeps = round(ratio)
        if substeps < 1 or abs(ratio - substeps) > 1e-9 * ratio:
            raise InputError(
                f"physics_hz / control_hz must be a whole number >= 1, got "
                f"{physics_hz} / {control_hz} = {ratio}. Pick rates such as "
                "100 and 10"
            )
        if integrator not in ("rk4", "euler"):
            raise InputError(f"integrator must be 'rk4' or 'euler', got {integrator!r}")
        self.integrator = integrator
        self._integrator_code = (
            gk.INTEGRATOR_EULER if integrator == "euler" else gk.INTEGRATOR_RK4
        )
        self.params = params
        self.num_vehicles = int(num_vehicles)
        self.physics_hz = physics_hz
        self.control_hz = control_hz
        self.substeps = substeps
        self.dt = 1.0 / physics_hz
        if parallel is None:
            parallel = self.num_vehicles >= PARALLEL_MIN_VEHICLES
        self.parallel = bool(parallel)
        self._table = traction_table(traction)
        self._set_terrain(terrain)
        self._params_array = np.tile(params.to_array(), (self.num_vehicles, 1))
        self.state = np.zeros((self.num_vehicles, gk.STATE_SIZE))
        self.collided = np.zeros(self.num_vehicles, dtype=np.bool_)
        self.rolled_over = np.zeros(self.num_vehicles, dtype=np.bool_)
        self.out_of_map = np.zeros(self.num_vehicles, dtype=np.bool_)
        self.pose_history = np.zeros((self.num_vehicles, substeps + 1, POSE_SIZE))
        self._step_count = 0
        self.reset(np.zeros((self.num_vehicles, 2)))

    def _set_terrain(self, terrain: object | None) -> None:
        if terrain is None:
            self._use_plane = True
            self._heights = np.zeros((2, 2), dtype=np.float32)
            self._structures = np.zeros((2, 2), dtype=np.float32)
            self._classes = np.zeros((2, 2), dtype=np.uint8)
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
                "terrain.heights must be 2D with at least 2 rows and 2 columns, "
                f"got shape {heights.shape}"
            )
        cell_size = float(terrain.cell_size)
        if not (math.isfinite(cell_size) and cell_size > 0.0):
            raise InputError(f"terrain.cell_size must be > 0 m, got {cell_size!r}")

        layers = {}
        for name, dtype in (("classes", np.uint8), ("structure_heights", np.float32)):
            value = getattr(terrain, name, None)
            if value is None:
                value = np.zeros(heights.shape, dtype=dtype)
            value = np.ascontiguousarray(value, dtype=dtype)
            if value.shape != heights.shape:
                raise InputError(
                    f"terrain.{name} must have the shape of heights {heights.shape}, "
                    f"got {value.shape}"
                )
            layers[name] = value

        self._use_plane = False
        self._heights = heights
        self._classes = layers["classes"]
        self._structures = layers["structure_heights"]
        self._x_first = float(terrain.x_first)
        self._y_first = float(terrain.y_first)
        self._cell_size = cell_size

    @property
    def time_s(self) -> float:
        """Simulated time in s since the last reset of all vehicles."""
        return self._step_count * self.substeps * self.dt

    def reset(
        self,
        pos_xy: np.ndarray,
        yaw: np.ndarray | None = None,
        vehicle_ids: np.ndarray | None = None,
    ) -> None:
        """Park vehicles on the surface, wheels straight, and clear their flags.

        Args:
            pos_xy: Local (x, y) of the centres of mass in m, shape (n, 2),
                where n is num_vehicles or ``len(vehicle_ids)``.
            yaw: Headings in rad counter-clockwise from east, shape (n,), or
                None for 0.
            vehicle_ids: Indices of the vehicles to reset, or None for all.

        Raises:
            InputError: On a wrong shape or a position off the map.
        """
        if vehicle_ids is None:
            ids = np.arange(self.num_vehicles)
        else:
            ids = np.asarray(vehicle_ids, dtype=np.int64).reshape(-1)
            if ids.size and (ids.min() < 0 or ids.max() >= self.num_vehicles):
                raise InputError(
                    f"vehicle_ids must lie in [0, {self.num_vehicles}), got {ids}"
                )
        pos_xy = np.asarray(pos_xy, dtype=np.float64)
        if pos_xy.shape != (ids.size, 2) or not np.all(np.isfinite(pos_xy)):
            raise InputError(
                f"pos_xy must be finite with shape ({ids.size}, 2), got {pos_xy.shape}"
            )
        yaw = np.zeros(ids.size) if yaw is None else np.asarray(yaw, dtype=float)
        if yaw.shape != (ids.size,):
            raise InputError(f"yaw must have shape ({ids.size},), got {yaw.shape}")
        surface = np.empty(gk.SURFACE_SIZE)
        for row, index in enumerate(ids):
            x = self.state[index]
            x[:] = 0.0
            x[gk.S_X], x[gk.S_Y] = pos_xy[row]
            x[gk.S_YAW] = yaw[row]
            status = gk.sample_surface(
                x[gk.S_X],
                x[gk.S_Y],
                x[gk.S_YAW],
                self._params_array[index],
                self._heights,
                self._structures,
                self._classes,
                self._x_first,
                self._y_first,
                self._cell_size,
                self._use_plane,
                self._table,
                surface,
            )
            if status == gk.SURFACE_OFF_MAP:
                raise InputError(
                    f"vehicle {index} at {tuple(pos_xy[row])} has a wheel off the "
                    "map; place it further inside"
                )
            x[gk.S_Z] = surface[gk.F_Z]
            x[gk.S_PITCH] = surface[gk.F_PITCH]
            x[gk.S_ROLL] = surface[gk.F_ROLL]
        self.collided[ids] = False
        self.rolled_over[ids] = False
        self.out_of_map[ids] = False
        if ids.size == self.num_vehicles:
            self._step_count = 0
        t = self.time_s
        for index in ids:
            for k in range(self.substeps + 1):
                _write_pose(self.pose_history, index, k, t, self.state[index])

    def step(self, commands: np.ndarray) -> RoverStepResult:
        """Advance all vehicles by one control period.

        Args:
            commands: ``(steer_angle, throttle, brake)`` per vehicle in rad
                and the unit ranges [-1, 1] and [0, 1], shape
                (num_vehicles, 3). Non-finite entries are rejected.

        Returns:
            Copies of the collision, rollover and out-of-map flags.
        """
        commands = np.ascontiguousarray(commands, dtype=np.float64)
        if commands.shape != (self.num_vehicles, 3):
            raise InputError(
                f"commands must have shape ({self.num_vehicles}, 3), got "
                f"{commands.shape}"
            )
        if not np.all(np.isfinite(commands)):
            raise InputError("commands must be finite")
        kernel = _advance_parallel if self.parallel else _advance_serial
        kernel(
            self.state,
            commands,
            self._params_array,
            self._table,
            self.dt,
            self._integrator_code,
            self.substeps,
            self.time_s,
            self._heights,
            self._structures,
            self._classes,
            self._x_first,
            self._y_first,
            self._cell_size,
            self._use_plane,
            self.collided,
            self.rolled_over,
            self.out_of_map,
            self.pose_history,
        )
        self._step_count += 1
        return RoverStepResult(
            collided=self.collided.copy(),
            rolled_over=self.rolled_over.copy(),
            out_of_map=self.out_of_map.copy(),
        )
