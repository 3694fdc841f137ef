"""Configuration of the GNSS receiver model."""

from __future__ import annotations

from dataclasses import dataclass

from twin_gym.sensors.base import check_positive, check_probability

__all__ = ["GnssConfig"]


@dataclass(frozen=True)
class GnssConfig:
    """Rate, noise and fix loss of a GNSS receiver.

    Defaults are representative of a single-frequency receiver without
    corrections, not one unit's datasheet.

    Attributes:
        update_hz: Fixes per second, > 0.
        horizontal_noise_std: Standard deviation of the east and north errors
            in metres, >= 0.
        vertical_noise_std: Standard deviation of the height error in metres,
            >= 0.
        fix_loss_probability: Probability that an update has no fix, in
            [0, 1]. Hooks can model outages that depend on place or time.
    """

    update_hz: float = 5.0
    horizontal_noise_std: float = 1.5
    vertical_noise_std: float = 3.0
    fix_loss_probability: float = 0.0

    def __post_init__(self):
        check_positive("update_hz", self.update_hz)
        check_positive("horizontal_noise_std", self.horizontal_noise_std, True)
        check_positive("vertical_noise_std", self.vertical_noise_std, True)
        check_probability("fix_loss_probability", self.fix_loss_probability)
