"""Quadrotor parameters, presets and the batched rigid-body step.

State array, one row per agent, float64, shape (num_agents, 17):

* ``pos_w[0:3]``: position of the centre of mass in the world frame (ENU), m.
* ``vel_w[3:6]``: velocity in the world frame, m/s.
* ``quat_wb[6:10]``: unit quaternion (w, x, y, z) that rotates body (FLU)
  vectors into the world frame.
* ``rate_b[10:13]``: angular velocity in the body frame, rad/s.
* ``rotor_speed[13:17]``: rotor speeds in rad/s, order front-left, rear-left,
  rear-right, front-right in the X frame and front, left, rear, right in the
  + frame.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from twin_gym.dynamics import _kernels
from twin_gym.dynamics._kernels import GRAVITY, NUM_PARAMS, STATE_SIZE
from twin_gym.errors import InputError

POS_W = slice(0, 3)
VEL_W = slice(3, 6)
QUAT_WB = slice(6, 10)
RATE_B = slice(10, 13)
ROTOR_SPEED = slice(13, 17)

PARALLEL_MIN_AGENTS = 64
"""Agent count from which the kernels use numba's thread pool by default.

On an idle 2-core Xeon VM the threaded simulation step ran about 2.5 times
faster than the serial one from 16 agents on. While other processes loaded
the same cores it ran 2 to 70 times slower than serial for 1 to 16 agents, so
small batches stay serial. The ``parallel`` arguments override this choice.
"""


def _check_positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0.0):
        raise InputError(
            f"QuadrotorParams.{name} must be a finite number > 0, got {value!r}"
        )


def _check_non_negative(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0.0):
        raise InputError(
            f"QuadrotorParams.{name} must be a finite number >= 0, got {value!r}"
        )


def _check_triple(name: str, value: tuple[float, float, float]) -> None:
    if len(value) != 3:
        raise InputError(
            f"QuadrotorParams.{name} must have 3 entries (body x, y, z), got {value!r}"
        )


@dataclass(frozen=True)
class BatteryParams:
    """A lithium-polymer battery pack with a linear open-circuit voltage.

    The open-circuit voltage falls linearly with the energy drawn, from
    ``voltage_full`` to ``voltage_empty``. The terminal voltage is the
    open-circuit voltage minus the drop across ``internal_resistance``, and
    the highest rotor speed scales with it (a motor's no-load speed is
    proportional to its voltage).

    Attributes:
        capacity_wh: Usable energy in Wh between full and empty.
        voltage_full: Open-circuit voltage of the full pack in V.
        voltage_empty: Open-circuit voltage of the empty pack in V.
        internal_resistance: Pack resistance in ohm.
        power_efficiency: Fraction of the electrical power that reaches the
            rotor shafts (motors and speed controllers together), in (0, 1].
    """

    capacity_wh: float
    voltage_full: float
    voltage_empty: float
    internal_resistance: float
    power_efficiency: float

    def __post_init__(self) -> None:
        for name in ("capacity_wh", "voltage_full", "voltage_empty"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise InputError(
                    f"BatteryParams.{name} must be a finite number > 0, got {value!r}"
                )
        if self.voltage_empty >= self.voltage_full:
            raise InputError(
                "BatteryParams.voltage_empty must be below voltage_full, got "
                f"{self.voltage_empty!r} >= {self.voltage_full!r}"
            )
        resistance = self.internal_resistance
        if not (math.isfinite(resistance) and resistance >= 0.0):
            raise InputError(
                "BatteryParams.internal_resistance must be a finite number >= 0, "
                f"got {resistance!r}"
            )
        if not 0.0 < self.power_efficiency <= 1.0:
            raise InputError(
                "BatteryParams.power_efficiency must lie in (0, 1], got "
                f"{self.power_efficiency!r}"
            )

    @property
    def capacity_j(self) -> float:
        """Usable energy in J."""
        return 3600.0 * self.capacity_wh


@dataclass(frozen=True)
class QuadrotorParams:
    """Physical parameters of a quadrotor in the X or + frame.

    Attributes:
        mass: Total mass in kg.
        inertia: Diagonal of the inertia tensor about the centre of mass,
            (Ixx, Iyy, Izz) in kg m^2 along the body FLU axes. Products of
            inertia are neglected.
        arm_length: Distance from the centre of mass to each rotor axis, in m.
            The rotors sit on the body diagonals, 45 degrees from body x.
        thrust_coefficient: k_f in N/(rad/s)^2, so one rotor's thrust along
            body z is ``k_f * w^2``.
        torque_coefficient: k_m in N m/(rad/s)^2, so one rotor's drag torque
            about body z is ``k_m * w^2``, opposite to its spin.
        motor_time_constant: Time constant in s of the first-order lag of each
            rotor speed towards its command. 0 makes rotors follow at once.
        rotor_speed_min: Lowest rotor speed in rad/s that a command can set.
        rotor_speed_max: Highest rotor speed in rad/s that a command can set.
        drag_linear: Linear drag coefficients in N/(m/s) along body x, y, z.
            The drag force on axis j is ``-(drag_linear[j] * v_j
            + drag_quadratic[j] * |v_j| * v_j)`` with ``v`` the body-frame
            air-relative velocity.
        drag_quadratic: Quadratic drag coefficients in N/(m/s)^2 along body
            x, y, z.
        contact_radius: Clearance in m between the centre of mass and the
            terrain surface below which the body touches the terrain.
        frame: ``"x"``: rotors on the body diagonals (front-left, rear-left,
            rear-right, front-right). ``"plus"``: rotors on the body axes
            (front, left, rear, right). ``arm_length`` is the distance from
            the centre of mass to each rotor axis in both.
        payload_mass: Mass in kg of a payload carried below the airframe,
            added to ``mass``. 0 for none. ``without_payload`` drops it.
        payload_offset: Distance in m of the payload's centre of mass below
            the airframe's, along body -z. The payload is a point mass.
        battery: Battery pack, or None for an unlimited supply at the voltage
            that ``rotor_speed_max`` is rated for.
        touchdown_speed: Highest speed in m/s at which a contact with the
            surface counts as a landing rather than a crash.
        touchdown_tilt: Largest angle in rad between body z and world z at
            which a contact counts as a landing.
    """

    mass: float
    inertia: tuple[float, float, float]
    arm_length: float
    thrust_coefficient: float
    torque_coefficient: float
    motor_time_constant: float
    rotor_speed_min: float
    rotor_speed_max: float
    drag_linear: tuple[float, float, float]
    drag_quadratic: tuple[float, float, float]
    contact_radius: float
    frame: Literal["x", "plus"] = "x"
    payload_mass: float = 0.0
    payload_offset: float = 0.0
    battery: BatteryParams | None = None
    touchdown_speed: float = 0.5
    touchdown_tilt: float = math.radians(15.0)

    def __post_init__(self) -> None:
        for name in ("inertia", "drag_linear", "drag_quadratic"):
            value = tuple(float(v) for v in getattr(self, name))
            _check_triple(name, value)
            object.__setattr__(self, name, value)
        _check_positive("mass", self.mass)
        for axis, value in zip("xyz", self.inertia, strict=True):
            _check_positive(f"inertia ({axis}{axis} entry)", value)
        _check_positive("arm_length", self.arm_length)
        _check_positive("thrust_coefficient", self.thrust_coefficient)
        _check_positive("torque_coefficient", self.torque_coefficient)
        _check_non_negative("motor_time_constant", self.motor_time_constant)
        _check_non_negative("rotor_speed_min", self.rotor_speed_min)
        _check_positive("rotor_speed_max", self.rotor_speed_max)
        if self.rotor_speed_max <= self.rotor_speed_min:
            raise InputError(
                "QuadrotorParams.rotor_speed_max must exceed rotor_speed_min, got "
                f"{self.rotor_speed_max!r} <= {self.rotor_speed_min!r}"
            )
        for name in ("drag_linear", "drag_quadratic"):
            for axis, value in zip("xyz", getattr(self, name), strict=True):
                _check_non_negative(f"{name} ({axis} entry)", value)
        _check_positive("contact_radius", self.contact_radius)
        if self.frame not in ("x", "plus"):
            raise InputError(
                f"QuadrotorParams.frame must be 'x' or 'plus', got {self.frame!r}"
            )
        _check_non_negative("payload_mass", self.payload_mass)
        _check_non_negative("payload_offset", self.payload_offset)
        if self.battery is not None and not isinstance(self.battery, BatteryParams):
            raise InputError(
                "QuadrotorParams.battery must be a BatteryParams or None, got "
                f"{type(self.battery).__name__}"
            )
        _check_non_negative("touchdown_speed", self.touchdown_speed)
        if not 0.0 <= self.touchdown_tilt < 0.5 * math.pi:
            raise InputError(
                "QuadrotorParams.touchdown_tilt must lie in [0, pi/2) rad, got "
                f"{self.touchdown_tilt!r}"
            )

        hover = self.hover_rotor_speed
        if not self.rotor_speed_min <= hover <= self.rotor_speed_max:
            raise InputError(
                f"QuadrotorParams cannot hover: the hover rotor speed {hover:.1f} "
                f"rad/s lies outside [rotor_speed_min, rotor_speed_max] = "
                f"[{self.rotor_speed_min}, {self.rotor_speed_max}]. Raise "
                "thrust_coefficient or rotor_speed_max, or lower mass."
            )

    @property
    def total_mass(self) -> float:
        """Mass in kg of the airframe and the payload."""
        return self.mass + self.payload_mass

    @property
    def total_inertia(self) -> tuple[float, float, float]:
        """Diagonal inertia in kg m^2 about the centre of mass with the payload.

        A point payload ``m_p`` a distance ``h`` below an airframe of mass
        ``m`` adds ``m m_p / (m + m_p) h^2`` about body x and y (parallel axis
        theorem about the shared centre of mass) and nothing about body z.
        """
        reduced_mass = self.mass * self.payload_mass / self.total_mass
        extra = reduced_mass * self.payload_offset**2
        return (self.inertia[0] + extra, self.inertia[1] + extra, self.inertia[2])

    @property
    def hover_rotor_speed(self) -> float:
        """Rotor speed in rad/s at which the four rotors carry the weight."""
        return math.sqrt(self.total_mass * GRAVITY / (4.0 * self.thrust_coefficient))

    def without_payload(self) -> "QuadrotorParams":
        """Return these parameters after the payload is dropped."""
        return replace(self, payload_mass=0.0, payload_offset=0.0)

    @property
    def max_thrust(self) -> float:
        """Collective thrust in N with every rotor at ``rotor_speed_max``."""
        return 4.0 * self.thrust_coefficient * self.rotor_speed_max**2

    def to_array(self) -> np.ndarray:
        """Pack the parameters into the row layout the kernels read.

        Returns:
            Shape (NUM_PARAMS,), float64, columns ``_kernels.P_*``.
        """
        row = np.zeros(NUM_PARAMS, dtype=np.float64)
        inertia = self.total_inertia
        row[_kernels.P_MASS] = self.total_mass
        row[_kernels.P_INERTIA_XX] = inertia[0]
        row[_kernels.P_INERTIA_YY] = inertia[1]
        row[_kernels.P_INERTIA_ZZ] = inertia[2]
        row[_kernels.P_ARM_LENGTH] = self.arm_length
        row[_kernels.P_THRUST_COEFFICIENT] = self.thrust_coefficient
        row[_kernels.P_TORQUE_COEFFICIENT] = self.torque_coefficient
        row[_kernels.P_MOTOR_TIME_CONSTANT] = self.motor_time_constant
        row[_kernels.P_ROTOR_SPEED_MIN] = self.rotor_speed_min
        row[_kernels.P_ROTOR_SPEED_MAX] = self.rotor_speed_max
        row[_kernels.P_DRAG_LINEAR : _kernels.P_DRAG_LINEAR + 3] = self.drag_linear
        row[_kernels.P_DRAG_QUADRATIC : _kernels.P_DRAG_QUADRATIC + 3] = (
            self.drag_quadratic
        )
        row[_kernels.P_CONTACT_RADIUS] = self.contact_radius
        row[_kernels.P_FRAME] = (
            _kernels.FRAME_PLUS if self.frame == "plus" else _kernels.FRAME_X
        )
        if self.battery is not None:
            row[_kernels.P_BATTERY_CAPACITY] = self.battery.capacity_j
            row[_kernels.P_BATTERY_VOLTAGE_FULL] = self.battery.voltage_full
            row[_kernels.P_BATTERY_VOLTAGE_EMPTY] = self.battery.voltage_empty
            row[_kernels.P_BATTERY_RESISTANCE] = self.battery.internal_resistance
            row[_kernels.P_POWER_EFFICIENCY] = self.battery.power_efficiency
        row[_kernels.P_TOUCHDOWN_SPEED] = self.touchdown_speed
        row[_kernels.P_TOUCHDOWN_TILT] = self.touchdown_tilt
        return row


# NOTE: representative estimates for a 1.8 kg delivery quadrotor of the
# 450-550 mm frame class with 10-11 inch propellers, not measured on one
# airframe. Hover is at about 600 rad/s, thrust-to-weight about 2.8.
DELIVERY_QUADROTOR = QuadrotorParams(
    mass=1.8,
    inertia=(0.02, 0.02, 0.035),
    arm_length=0.25,
    thrust_coefficient=1.225e-5,
    torque_coefficient=1.96e-7,
    motor_time_constant=0.04,
    rotor_speed_min=100.0,
    rotor_speed_max=1000.0,
    drag_linear=(0.25, 0.25, 0.3),
    drag_quadratic=(0.06, 0.06, 0.12),
    contact_radius=0.1,
)
"""Delivery quadrotor preset (1.8 kg, representative estimates), no payload
and no battery model."""

# NOTE: representative 4S 5000 mAh lithium-polymer pack (74 Wh, 4.2 to 3.5 V
# per cell under light load) and efficiency, not measured on one pack.
DELIVERY_BATTERY = BatteryParams(
    capacity_wh=74.0,
    voltage_full=16.8,
    voltage_empty=14.0,
    internal_resistance=0.02,
    power_efficiency=0.75,
)
"""4S 5000 mAh pack of the delivery quadrotor (representative)."""

DELIVERY_QUADROTOR_WITH_PAYLOAD = replace(
    DELIVERY_QUADROTOR,
    payload_mass=0.5,
    payload_offset=0.15,
    battery=DELIVERY_BATTERY,
)
"""The delivery quadrotor with a 0.5 kg parcel hung 0.15 m below its centre
of mass and a battery model: 2.3 kg in all, thrust-to-weight about 2.2."""

# Sources: mass, arm, k_f, k_m and thrust-to-weight are those of the cf2x
# model of gym-pybullet-drones (assets/cf2x.urdf: mass 0.027 kg, arm 0.0397 m,
# kf 3.16e-10 N/rpm^2, km 7.94e-12 N m/rpm^2, thrust2weight 2.25), which links
# Foerster (2015), "System Identification of the Crazyflie 2.0 Nano
# Quadrocopter", ETH Zurich. Converted with rpm = w * 60 / (2 pi). The
# inertia diag(1.4e-5, 1.4e-5, 2.17e-5) kg m^2 is the value commonly quoted
# with that model.
# NOTE: the motor time constant, drag coefficients and battery are
# representative estimates for a 27 g micro quadrotor, not identified values.
CRAZYFLIE_2 = QuadrotorParams(
    mass=0.027,
    inertia=(1.4e-5, 1.4e-5, 2.17e-5),
    arm_length=0.0397,
    thrust_coefficient=3.16e-10 * (60.0 / (2.0 * math.pi)) ** 2,
    torque_coefficient=7.94e-12 * (60.0 / (2.0 * math.pi)) ** 2,
    motor_time_constant=0.03,
    rotor_speed_min=0.0,
    # Thrust-to-weight 2.25: 4 k_f w_max^2 = 2.25 m g.
    rotor_speed_max=math.sqrt(
        2.25 * 0.027 * GRAVITY / (4.0 * 3.16e-10 * (60.0 / (2.0 * math.pi)) ** 2)
    ),
    drag_linear=(0.01, 0.01, 0.015),
    drag_quadratic=(0.003, 0.003, 0.005),
    contact_radius=0.02,
    battery=BatteryParams(
        capacity_wh=0.925,
        voltage_full=4.2,
        voltage_empty=3.5,
        internal_resistance=0.1,
        power_efficiency=0.6,
    ),
    touchdown_speed=0.5,
)
"""Crazyflie 2.x micro quadrotor (27 g, X frame) with a 250 mAh 1S pack."""

PRESETS: Mapping[str, QuadrotorParams] = {
    "delivery": DELIVERY_QUADROTOR,
    "delivery_payload": DELIVERY_QUADROTOR_WITH_PAYLOAD,
    "crazyflie": CRAZYFLIE_2,
}
"""Presets by name."""


def get_preset(name: str) -> QuadrotorParams:
    """Return the preset called ``name``.

    Raises:
        InputError: If no preset has that name.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise InputError(
            f"quadrotor preset {name!r} not found, choose one of {sorted(PRESETS)}"
        ) from None


def params_rows(params: QuadrotorParams | np.ndarray, num_agents: int) -> np.ndarray:
    """Return per-agent parameter rows for the kernels.

    Args:
        params: One parameter set shared by all agents, or rows already packed
            with ``to_array``, shape (num_agents, NUM_PARAMS).
        num_agents: Number of agents.

    Returns:
        Shape (num_agents, NUM_PARAMS), float64, C-contiguous.
    """
    if isinstance(params, QuadrotorParams):
        return np.tile(params.to_array(), (num_agents, 1))
    rows = np.ascontiguousarray(params, dtype=np.float64)
    if rows.shape != (num_agents, NUM_PARAMS):
        raise InputError(
            f"params rows must have shape ({num_agents}, {NUM_PARAMS}), got "
            f"{rows.shape}. Pack each QuadrotorParams with to_array()."
        )
    return rows


def yaw_quaternion(yaw: np.ndarray) -> np.ndarray:
    """Return level quaternions ``quat_wb`` for headings ``yaw``.

    Args:
        yaw: Heading in rad, counter-clockwise from east, shape (n,).

    Returns:
        Shape (n, 4), float64, scalar first.
    """
    half = 0.5 * np.asarray(yaw, dtype=np.float64)
    quat = np.zeros((half.shape[0], 4))
    quat[:, 0] = np.cos(half)
    quat[:, 3] = np.sin(half)
    return quat


def hover_state(
    params: QuadrotorParams, pos_w: np.ndarray, yaw: np.ndarray | None = None
) -> np.ndarray:
    """Return states at rest, level, with every rotor at hover speed.

    Args:
        params: Quadrotor parameters.
        pos_w: Positions in the world frame in m, shape (num_agents, 3).
        yaw: Headings in rad, shape (num_agents,), or None for 0 (facing east).

    Returns:
        Shape (num_agents, 17), float64.
    """
    pos_w = np.asarray(pos_w, dtype=np.float64)
    if pos_w.ndim != 2 or pos_w.shape[1] != 3:
        raise InputError(f"pos_w must have shape (num_agents, 3), got {pos_w.shape}")
    num_agents = pos_w.shape[0]
    if yaw is None:
        yaw = np.zeros(num_agents)
    yaw = np.asarray(yaw, dtype=np.float64)
    if yaw.shape != (num_agents,):
        raise InputError(f"yaw must have shape ({num_agents},), got {yaw.shape}")
    state = np.zeros((num_agents, STATE_SIZE))
    state[:, POS_W] = pos_w
    state[:, QUAT_WB] = yaw_quaternion(yaw)
    state[:, ROTOR_SPEED] = params.hover_rotor_speed
    return state


def step_quadrotors(
    state: np.ndarray,
    rotor_cmd: np.ndarray,
    params: QuadrotorParams | np.ndarray,
    dt: float,
    wind_w: np.ndarray | None = None,
    num_steps: int = 1,
    parallel: bool | None = None,
) -> None:
    """Advance quadrotor states in place under fixed rotor speed commands.

    Each step is one RK4 step of the rigid body with the exact first-order
    motor lag, followed by quaternion renormalisation. There is no terrain
    contact here (see ``twin_gym.sim.core``).

    Args:
        state: States, shape (num_agents, 17), float64, C-contiguous, updated
            in place.
        rotor_cmd: Commanded rotor speeds in rad/s, shape (num_agents, 4),
            clamped to the rotor speed limits and held for all steps.
        params: Shared parameters or packed rows, shape (num_agents, NUM_PARAMS).
        dt: Physics step in s.
        wind_w: Wind velocity in the world frame in m/s, shape (num_agents, 3),
            or None for still air.
        num_steps: Number of physics steps.
        parallel: Whether to spread agents over numba's threads. None picks
            threads from ``PARALLEL_MIN_AGENTS`` agents on.

    Raises:
        InputError: On a wrong shape, dtype or a non-positive ``dt``.
    """
    if not (
        isinstance(state, np.ndarray)
        and state.dtype == np.float64
        and state.ndim == 2
        and state.shape[1] == STATE_SIZE
        and state.flags.c_contiguous
    ):
        raise InputError(
            "state must be a C-contiguous float64 array of shape (num_agents, 17)"
        )
    num_agents = state.shape[0]
    rotor_cmd = np.ascontiguousarray(rotor_cmd, dtype=np.float64)
    if rotor_cmd.shape != (num_agents, 4):
        raise InputError(
            f"rotor_cmd must have shape ({num_agents}, 4), got {rotor_cmd.shape}"
        )
    if wind_w is None:
        wind_w = np.zeros((num_agents, 3))
    wind_w = np.ascontiguousarray(wind_w, dtype=np.float64)
    if wind_w.shape != (num_agents, 3):
        raise InputError(
            f"wind_w must have shape ({num_agents}, 3), got {wind_w.shape}"
        )
    if not (math.isfinite(dt) and dt > 0.0):
        raise InputError(f"dt must be a finite number of seconds > 0, got {dt!r}")
    if num_steps < 0:
        raise InputError(f"num_steps must be >= 0, got {num_steps}")
    rows = params_rows(params, num_agents)
    if parallel is None:
        parallel = num_agents >= PARALLEL_MIN_AGENTS
    kernel = _kernels.step_quadrotors_parallel if parallel else _kernels.step_quadrotors
    kernel(state, rotor_cmd, rows, wind_w, float(dt), int(num_steps))
