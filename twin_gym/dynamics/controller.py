"""Cascaded velocity-setpoint controller for the quadrotor model.

The setpoint is ``(vx, vy, vz, yaw_rate)``: a velocity in the world frame (ENU)
in m/s and a yaw rate about world z in rad/s. The cascade, run at every physics
step by ``twin_gym.sim.core``, is:

1. A velocity reference follows the setpoint through a critically damped
   second-order filter (``ref_bandwidth``) whose acceleration is clamped to
   ``ref_accel_xy`` horizontally and ``ref_accel_z`` vertically. The
   reference's acceleration, PI on the reference-minus-velocity error and a
   feedforward of the modelled body drag at the ground velocity give a desired
   acceleration. Its vertical part is clamped to
   ``[-max_accel_down, max_accel_up]``.
2. The desired force ``m * (a + g z)`` has its horizontal part shortened so
   that its tilt from vertical is at most ``max_tilt``. The collective thrust
   is that force projected on the current body z axis.
3. A P loop on the tilt error gives roll and pitch rate commands. The body z
   rate command makes the world z angular velocity equal the yaw rate setpoint.
4. A P loop on the body rates with gyroscopic compensation gives torques, and
   the mixer turns thrust and torques into rotor speeds. On saturation it keeps
   roll and pitch torque first, then thrust, then yaw torque.

The numba kernel is ``twin_gym.dynamics._kernels.velocity_control``.
"""

import math
from dataclasses import dataclass

import numpy as np

from twin_gym.dynamics import _kernels
from twin_gym.dynamics._kernels import (
    CONTROLLER_STATE_SIZE,
    GRAVITY,
    NUM_GAINS,
    STATE_SIZE,
)
from twin_gym.dynamics.quadrotor import QuadrotorParams, params_rows
from twin_gym.errors import InputError


@dataclass(frozen=True)
class VelocityControllerGains:
    """Gains and limits of the cascaded velocity controller.

    Attributes:
        vel_p_xy: Horizontal velocity P gain in (m/s^2)/(m/s).
        vel_p_z: Vertical velocity P gain in (m/s^2)/(m/s).
        vel_i_xy: Horizontal velocity I gain in (m/s^2)/m.
        vel_i_z: Vertical velocity I gain in (m/s^2)/m.
        vel_integral_limit: Bound on each component of the integrated velocity
            error, in m (anti-windup).
        max_tilt: Largest angle between the desired thrust and world z, in rad.
        max_accel_up: Largest commanded upward acceleration in m/s^2.
        max_accel_down: Largest commanded downward acceleration in m/s^2,
            below g so that the thrust stays positive.
        attitude_p: Tilt error P gain in (rad/s)/rad.
        max_tilt_rate: Bound on the roll and pitch rate commands in rad/s.
        rate_p_xy: Roll and pitch rate P gain in (rad/s^2)/(rad/s).
        rate_p_z: Yaw rate P gain in (rad/s^2)/(rad/s).
        max_yaw_rate: Bound on the yaw rate setpoint in rad/s.
        ref_accel_xy: Largest horizontal acceleration of the velocity
            reference in m/s^2.
        ref_accel_z: Largest vertical acceleration of the velocity reference
            in m/s^2.
        ref_bandwidth: Natural frequency of the reference filter in rad/s.
    """

    vel_p_xy: float = 3.0
    vel_p_z: float = 4.0
    vel_i_xy: float = 1.0
    vel_i_z: float = 2.0
    vel_integral_limit: float = 2.0
    max_tilt: float = math.radians(35.0)
    max_accel_up: float = 6.0
    max_accel_down: float = 6.0
    attitude_p: float = 8.0
    max_tilt_rate: float = 4.0
    rate_p_xy: float = 25.0
    rate_p_z: float = 8.0
    max_yaw_rate: float = 2.0
    ref_accel_xy: float = 4.0
    ref_accel_z: float = 3.0
    ref_bandwidth: float = 4.0

    def __post_init__(self) -> None:
        for field in (
            "vel_p_xy",
            "vel_p_z",
            "max_accel_up",
            "attitude_p",
            "max_tilt_rate",
            "rate_p_xy",
            "rate_p_z",
            "max_yaw_rate",
            "ref_accel_xy",
            "ref_accel_z",
            "ref_bandwidth",
        ):
            value = getattr(self, field)
            if not (math.isfinite(value) and value > 0.0):
                raise InputError(
                    f"VelocityControllerGains.{field} must be a finite number > 0, "
                    f"got {value!r}"
                )
        for field in ("vel_i_xy", "vel_i_z", "vel_integral_limit"):
            value = getattr(self, field)
            if not (math.isfinite(value) and value >= 0.0):
                raise InputError(
                    f"VelocityControllerGains.{field} must be a finite number >= 0, "
                    f"got {value!r}"
                )
        if not 0.0 < self.max_tilt < 0.5 * math.pi:
            raise InputError(
                "VelocityControllerGains.max_tilt must lie in (0, pi/2) rad, got "
                f"{self.max_tilt!r}"
            )
        if not 0.0 <= self.max_accel_down < GRAVITY:
            raise InputError(
                "VelocityControllerGains.max_accel_down must lie in [0, g) so that "
                f"the commanded thrust stays positive, got {self.max_accel_down!r}"
            )

    def to_array(self) -> np.ndarray:
        """Pack the gains into the row layout the kernels read.

        Returns:
            Shape (NUM_GAINS,), float64, columns ``_kernels.G_*``.
        """
        row = np.empty(NUM_GAINS, dtype=np.float64)
        row[_kernels.G_VEL_P_XY] = self.vel_p_xy
        row[_kernels.G_VEL_P_Z] = self.vel_p_z
        row[_kernels.G_VEL_I_XY] = self.vel_i_xy
        row[_kernels.G_VEL_I_Z] = self.vel_i_z
        row[_kernels.G_VEL_INTEGRAL_LIMIT] = self.vel_integral_limit
        row[_kernels.G_MAX_TILT] = self.max_tilt
        row[_kernels.G_MAX_ACCEL_UP] = self.max_accel_up
        row[_kernels.G_MAX_ACCEL_DOWN] = self.max_accel_down
        row[_kernels.G_ATTITUDE_P] = self.attitude_p
        row[_kernels.G_MAX_TILT_RATE] = self.max_tilt_rate
        row[_kernels.G_RATE_P_XY] = self.rate_p_xy
        row[_kernels.G_RATE_P_Z] = self.rate_p_z
        row[_kernels.G_MAX_YAW_RATE] = self.max_yaw_rate
        row[_kernels.G_REF_ACCEL_XY] = self.ref_accel_xy
        row[_kernels.G_REF_ACCEL_Z] = self.ref_accel_z
        row[_kernels.G_REF_BANDWIDTH] = self.ref_bandwidth
        return row


def gains_rows(gains: VelocityControllerGains, num_agents: int) -> np.ndarray:
    """Return the gains packed once per agent, shape (num_agents, NUM_GAINS)."""
    return np.tile(gains.to_array(), (num_agents, 1))


def compute_rotor_commands(
    state: np.ndarray,
    setpoints: np.ndarray,
    controller_state: np.ndarray,
    params: QuadrotorParams | np.ndarray,
    gains: VelocityControllerGains,
    dt: float,
) -> np.ndarray:
    """Run one controller update for each agent.

    ``twin_gym.sim.core.DroneSim`` calls the kernel directly at every physics
    step. This wrapper serves tests and callers that integrate on their own.

    Args:
        state: States, shape (num_agents, 17), float64.
        setpoints: ``(vx, vy, vz, yaw_rate)`` per agent in m/s (world frame)
            and rad/s, shape (num_agents, 4).
        controller_state: Integrated velocity error (m), velocity reference
            (m/s) and its acceleration (m/s^2), world frame, shape
            (num_agents, 9), float64, updated in place. Zeros for agents at
            rest.
        params: Shared parameters or packed rows, shape (num_agents, NUM_PARAMS).
        gains: Controller gains.
        dt: Time in s since the previous update, used by the integral term.

    Returns:
        Rotor speed commands in rad/s, shape (num_agents, 4), float64.
    """
    state = np.ascontiguousarray(state, dtype=np.float64)
    num_agents = state.shape[0]
    if state.shape != (num_agents, STATE_SIZE):
        raise InputError(f"state must have shape (num_agents, 17), got {state.shape}")
    setpoints = np.ascontiguousarray(setpoints, dtype=np.float64)
    if setpoints.shape != (num_agents, 4):
        raise InputError(
            f"setpoints must have shape ({num_agents}, 4), got {setpoints.shape}"
        )
    expected = (num_agents, CONTROLLER_STATE_SIZE)
    if controller_state.shape != expected or controller_state.dtype != np.float64:
        raise InputError(
            f"controller_state must be float64 of shape {expected}, got "
            f"{controller_state.dtype} {controller_state.shape}"
        )
    rows = params_rows(params, num_agents)
    gain_rows = gains_rows(gains, num_agents)
    rotor_cmd = np.empty((num_agents, 4))
    _compute_rotor_commands(
        state, setpoints, controller_state, rows, gain_rows, float(dt), rotor_cmd
    )
    return rotor_cmd


def _compute_rotor_commands(
    state, setpoints, controller_state, rows, gain_rows, dt, out
):
    rot = np.empty((3, 3))
    work = np.empty(8)
    for i in range(state.shape[0]):
        _kernels.velocity_control(
            state[i],
            setpoints[i],
            controller_state[i],
            rows[i],
            gain_rows[i],
            dt,
            rot,
            work,
            out[i],
        )
