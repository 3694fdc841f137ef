"""Configuration of the 2D planar scanner."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from twin_gym.errors import InputError
from twin_gym.sensors.base import (
    MountPose,
    check_count,
    check_positive,
    check_probability,
)

__all__ = ["PlanarScannerConfig"]


@dataclass(frozen=True)
class PlanarScannerConfig:
    """Beam fan, mounting, rate and noise of a 2D planar scanner.

    Defaults follow the Hokuyo UTM-30LX datasheet: 270 degree field of view
    at 0.25 degree steps (1081 beams), 30 m range and 25 ms per scan (40 Hz).
    Its accuracy of +-30 mm up to 10 m serves as the noise standard
    deviation.

    Attributes:
        fov_deg: Field of view in degrees, centred on sensor +x, in (0, 360].
        beams: Number of beams spread evenly over the field of view, >= 1;
            the first and last beams lie on its edges unless it is 360.
        max_range: Maximum range in metres, finite and > 0.
        mount: Pose of the sensor on the body; the scan plane is the
            sensor's x-y plane.
        update_hz: Scans per second, > 0.
        range_noise_std: Standard deviation of Gaussian range noise in
            metres, >= 0.
        dropout_probability: Probability that a return is lost, in [0, 1].
    """

    fov_deg: float = 270.0
    beams: int = 1081
    max_range: float = 30.0
    mount: MountPose = field(default_factory=MountPose)
    update_hz: float = 40.0
    range_noise_std: float = 0.03
    dropout_probability: float = 0.0

    def __post_init__(self):
        check_positive("fov_deg", self.fov_deg)
        if self.fov_deg > 360.0:
            raise InputError(f"fov_deg must be <= 360 degrees, got {self.fov_deg}.")
        check_count("beams", self.beams)
        check_positive("max_range", self.max_range)
        if not isinstance(self.mount, MountPose):
            raise InputError(f"mount must be a MountPose, got {self.mount!r}.")
        check_positive("update_hz", self.update_hz)
        check_positive("range_noise_std", self.range_noise_std, allow_zero=True)
        check_probability("dropout_probability", self.dropout_probability)

    @property
    def angles_deg(self):
        """Beam angles in degrees from sensor +x, counter-clockwise, shape (beams,)."""
        half = 0.5 * self.fov_deg
        if self.beams == 1:
            return np.zeros(1)
        if math.isclose(self.fov_deg, 360.0):
            return -180.0 + 360.0 * np.arange(self.beams) / self.beams
        return np.linspace(-half, half, self.beams)
