"""Configuration of the IMU noise model."""

from __future__ import annotations

from dataclasses import dataclass, field

from twin_gym.errors import InputError
from twin_gym.sensors.base import MountPose, check_positive

__all__ = ["ImuConfig"]


@dataclass(frozen=True)
class ImuConfig:
    """Rate, mounting and noise of an accelerometer and gyroscope pair.

    Noise follows the usual continuous-time model of a MEMS IMU: white noise
    of a given density plus a bias that does a random walk. At ``update_hz``
    a sample's white noise has standard deviation ``density * sqrt(update_hz)``
    and the bias takes a step of ``random_walk / sqrt(update_hz)``. Defaults
    are representative of a consumer MEMS IMU, not one part's datasheet.

    Attributes:
        update_hz: Samples per second, > 0.
        mount: Pose of the IMU on the body. Its position is ignored, because
            the model has no lever-arm (centripetal) term.
        accel_noise_density: Accelerometer white noise, (m/s^2)/sqrt(Hz), >= 0.
        accel_bias_random_walk: Accelerometer bias random walk,
            (m/s^3)/sqrt(Hz), >= 0.
        gyro_noise_density: Gyroscope white noise, (rad/s)/sqrt(Hz), >= 0.
        gyro_bias_random_walk: Gyroscope bias random walk, (rad/s^2)/sqrt(Hz),
            >= 0.
    """

    update_hz: float = 200.0
    mount: MountPose = field(default_factory=MountPose)
    accel_noise_density: float = 2.0e-3
    accel_bias_random_walk: float = 3.0e-4
    gyro_noise_density: float = 2.0e-4
    gyro_bias_random_walk: float = 2.0e-5

    def __post_init__(self):
        check_positive("update_hz", self.update_hz)
        if not isinstance(self.mount, MountPose):
            raise InputError(f"mount must be a MountPose, got {self.mount!r}.")
        for name in (
            "accel_noise_density",
            "accel_bias_random_walk",
            "gyro_noise_density",
            "gyro_bias_random_walk",
        ):
            check_positive(name, getattr(self, name), allow_zero=True)
