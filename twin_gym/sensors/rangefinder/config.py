"""Configuration of the single-beam rangefinder."""

from __future__ import annotations

from dataclasses import dataclass, field

from twin_gym.errors import InputError
from twin_gym.sensors.base import MountPose, check_positive

__all__ = ["RangefinderConfig"]

POINTING_DOWN = MountPose(quat_bs=(0.7071067811865476, 0.0, 0.7071067811865476, 0.0))
"""Mount that turns sensor +x to body -z (a 90 degree pitch), for altimeters."""


@dataclass(frozen=True)
class RangefinderConfig:
    """Range limits, mounting, rate and noise of a single-beam rangefinder.

    The beam points along sensor +x. Range limits and noise follow the
    Garmin LIDAR-Lite v3 datasheet: 40 m range and +-2.5 cm accuracy above
    1 m, used as the noise standard deviation. The 100 Hz rate is a
    representative setting.

    Attributes:
        max_range: Maximum range in metres, > 0; farther surfaces read
            ``max_range`` with ``valid`` False.
        min_range: Minimum range in metres, >= 0; nearer surfaces read
            ``min_range`` with ``valid`` False.
        mount: Pose of the sensor on the body. Default: pointing down.
        update_hz: Readings per second, > 0.
        range_noise_std: Standard deviation of Gaussian range noise, metres.
    """

    max_range: float = 40.0
    min_range: float = 0.05
    mount: MountPose = field(default_factory=lambda: POINTING_DOWN)
    update_hz: float = 100.0
    range_noise_std: float = 0.025

    def __post_init__(self):
        check_positive("max_range", self.max_range)
        check_positive("min_range", self.min_range, allow_zero=True)
        if self.min_range >= self.max_range:
            raise InputError(
                f"min_range {self.min_range} must be below max_range {self.max_range}."
            )
        if not isinstance(self.mount, MountPose):
            raise InputError(f"mount must be a MountPose, got {self.mount!r}.")
        check_positive("update_hz", self.update_hz)
        check_positive("range_noise_std", self.range_noise_std, allow_zero=True)
