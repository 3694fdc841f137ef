"""IMU: specific force and angular rate with white noise and bias random walk."""

from twin_gym.sensors.imu.config import ImuConfig
from twin_gym.sensors.imu.sensor import GRAVITY, Imu, ImuSample

__all__ = ["GRAVITY", "Imu", "ImuConfig", "ImuSample"]
