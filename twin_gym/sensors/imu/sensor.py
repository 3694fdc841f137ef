"""IMU: specific force and angular rate from the true motion, with noise."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twin_gym._frames import (
    check_finite_rows,
    quaternion_multiply,
    rotation_matrices,
    validate_poses,
)
from twin_gym.errors import InputError
from twin_gym.sensors.base import RateTimer, SensorHooks, check_count
from twin_gym.sensors.imu.config import ImuConfig

__all__ = ["GRAVITY", "Imu", "ImuSample"]

GRAVITY = 9.80665
"""Standard gravity in m/s^2."""


@dataclass
class ImuSample:
    """One sample per agent, in the IMU frame.

    Attributes:
        stamp_s: Simulation time of the sample, seconds.
        specific_force: Accelerometer reading in m/s^2, shape (n_agents, 3):
            ``R_ws^T (accel_w - g_w)`` plus bias and noise, so a level IMU at
            rest reads ``+g`` on its up axis.
        angular_velocity: Gyroscope reading in rad/s, shape (n_agents, 3).
    """

    stamp_s: float
    specific_force: np.ndarray
    angular_velocity: np.ndarray


class Imu:
    """Accelerometer and gyroscope with white noise and random-walk biases.

    Args:
        config: Rate, mounting and noise.
        num_agents: Number of agents, each with its own biases, >= 1.
        seed: Seed of the noise generator ``np_random``.

    Attributes:
        accel_bias: Current accelerometer biases, m/s^2, shape (n_agents, 3).
        gyro_bias: Current gyroscope biases, rad/s, shape (n_agents, 3).
    """

    def __init__(self, config=None, num_agents=1, seed=None):
        self.config = ImuConfig() if config is None else config
        if not isinstance(self.config, ImuConfig):
            raise InputError(
                f"config must be an ImuConfig, got {type(self.config).__name__}."
            )
        check_count("num_agents", num_agents)
        self.num_agents = int(num_agents)
        self.accel_bias = np.zeros((num_agents, 3))
        self.gyro_bias = np.zeros((num_agents, 3))
        self.hooks = SensorHooks()
        self.timer = RateTimer(self.config.update_hz)
        self.np_random = np.random.default_rng(seed)
        self._previous_vel_w = None
        self._previous_time_s = None

    def measure(self, quat_wb, accel_w, rate_b, time_s=0.0):
        """Sample the IMU from the body's true attitude and motion.

        Args:
            quat_wb: Body-to-world unit quaternions ``(w, x, y, z)``, shape
                (n_agents, 4).
            accel_w: Linear acceleration in the world frame, m/s^2, shape
                (n_agents, 3); zeros at rest.
            rate_b: Body angular velocity in the body frame, rad/s, shape
                (n_agents, 3).
            time_s: Simulation time of the sample, seconds.

        Returns:
            The sample after the output hooks, or None when a hook skips it.
        """
        if not self.hooks.allow(time_s):
            return None
        config = self.config
        accel = np.asarray(accel_w, np.float64)
        rate = np.asarray(rate_b, np.float64)
        quat_shape = np.shape(quat_wb)
        if quat_shape != (self.num_agents, 4):
            raise InputError(
                f"quat_wb must have shape ({self.num_agents}, 4), one row per agent, "
                f"got {quat_shape}."
            )
        _, quat = validate_poses(np.zeros((self.num_agents, 3)), quat_wb)
        if accel.shape != (self.num_agents, 3) or rate.shape != (self.num_agents, 3):
            raise InputError(
                f"accel_w and rate_b must have shape ({self.num_agents}, 3), got "
                f"{accel.shape} and {rate.shape}."
            )
        check_finite_rows("accel_w", accel)
        check_finite_rows("rate_b", rate)
        quat_ws = quaternion_multiply(quat, np.array(self.config.mount.quat_bs))
        rot_ws = rotation_matrices(quat_ws)
        rot_bs = rotation_matrices(np.array([self.config.mount.quat_bs]))[0]
        gravity_w = np.array([0.0, 0.0, -GRAVITY])
        specific_force = np.einsum("aji,aj->ai", rot_ws, accel - gravity_w)
        angular_velocity = rate @ rot_bs

        root_hz = math.sqrt(config.update_hz)
        shape = (self.num_agents, 3)
        self.accel_bias += self.np_random.normal(
            0.0, config.accel_bias_random_walk / root_hz, shape
        )
        self.gyro_bias += self.np_random.normal(
            0.0, config.gyro_bias_random_walk / root_hz, shape
        )
        specific_force += self.accel_bias + self.np_random.normal(
            0.0, config.accel_noise_density * root_hz, shape
        )
        angular_velocity += self.gyro_bias + self.np_random.normal(
            0.0, config.gyro_noise_density * root_hz, shape
        )
        sample = ImuSample(float(time_s), specific_force, angular_velocity)
        return self.hooks.apply(sample)

    def measure_state(self, state, time_s):
        """Sample the IMU from ``DroneSim.state`` rows at ``time_s``.

        The acceleration is the velocity change since the previous call of
        this method divided by the elapsed time, so it is the mean over that
        interval. The first call assumes zero acceleration.

        Args:
            state: Quadrotor states, shape (n_agents, 17): ``vel_w`` in
                columns 3:6, ``quat_wb`` in 6:10 and ``rate_b`` in 10:13.
            time_s: Simulation time in seconds.
        """
        state = np.asarray(state, np.float64)
        if state.ndim != 2 or state.shape[1] != 17:
            raise InputError(
                "state must have shape (n_agents, 17) as DroneSim.state, got "
                f"{state.shape}."
            )
        vel_w = state[:, 3:6]
        if self._previous_vel_w is None or time_s <= self._previous_time_s:
            accel_w = np.zeros_like(vel_w)
        else:
            accel_w = (vel_w - self._previous_vel_w) / (time_s - self._previous_time_s)
        self._previous_vel_w = vel_w.copy()
        self._previous_time_s = float(time_s)
        return self.measure(state[:, 6:10], accel_w, state[:, 10:13], time_s)
