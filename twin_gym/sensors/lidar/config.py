"""Configuration of the spinning LiDAR: beam pattern, mounting, rate and noise."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from twin_gym.errors import InputError
from twin_gym.sensors.base import (
    MountPose,
    check_count,
    check_positive,
    check_probability,
)
from twin_gym.sensors.lidar.presets import LIDAR_PRESETS
from twin_gym.terrain.classes import SurfaceClass

__all__ = ["DEFAULT_REFLECTIVITY", "SpinningLidarConfig"]

DEFAULT_REFLECTIVITY = (0.25, 0.15, 0.35, 0.05, 0.45, 0.5, 0.25)
"""Representative diffuse reflectivity per :class:`SurfaceClass` (ground,
road, building, water, vegetation, obstacle, no data) at near infrared,
in [0, 1]. Not measured values; set your own for a calibrated model."""


def _is_real(value):
    return isinstance(value, int | float | np.integer | np.floating) and not (
        isinstance(value, bool)
    )


@dataclass(frozen=True)
class SpinningLidarConfig:
    """Beam pattern, mounting, rate and noise of a spinning LiDAR.

    Use :meth:`preset` for a real unit's vertical angle table and noise.
    ``SpinningLidar.scan`` reads only the beam pattern, the mounting pose and
    ``max_range``; ``SpinningLidar.measure`` uses every field.

    Attributes:
        channels: Number of beams stacked in elevation, >= 1. Must equal
            ``len(elevation_table_deg)`` when that is given.
        azimuth_steps: Number of firing directions per revolution, >= 1.
        vertical_fov_deg: ``(min, max)`` beam elevation in degrees above the
            sensor x-y plane, each in ``[-90, 90]`` with ``min <= max``. The
            channels are spaced evenly from min to max inclusive. A single
            channel points at the middle of the range. Ignored when
            ``elevation_table_deg`` is given.
        max_range: Maximum range in metres, finite and > 0. A beam without a
            hit within it reads ``max_range`` in ``scan``.
        elevation_table_deg: Custom elevation of each channel in degrees, in
            ``[-90, 90]``, any order, or None (default) for even spacing over
            ``vertical_fov_deg``.
        mount: Pose of the sensor on the body. Default: at the body origin
            with its axes on the body axes.
        update_hz: Revolutions per second, > 0. Default 10 Hz, the common
            setting of the preset units.
        range_noise_std: Standard deviation of Gaussian range noise in
            metres, >= 0. Default 0.03 m, the VLP-16 datasheet's typical
            accuracy.
        dropout_probability: Probability that a return is lost at random,
            in [0, 1]. Default 0.
        min_intensity: Returns with a lower intensity are lost, in [0, 1].
            Default 0, no threshold.
        reflectivity: Diffuse reflectivity per :class:`SurfaceClass` value,
            in [0, 1], 7 values. Default :data:`DEFAULT_REFLECTIVITY`.
        motion_distortion: Whether ``measure`` with a pose history casts each
            azimuth step from the pose at its own firing time, as a real unit
            does while moving. Default True; False casts the whole
            revolution from the pose at its start.
    """

    channels: int = 8
    azimuth_steps: int = 36
    vertical_fov_deg: tuple[float, float] = (-30.0, 10.0)
    max_range: float = 100.0
    elevation_table_deg: tuple[float, ...] | None = None
    mount: MountPose = field(default_factory=MountPose)
    update_hz: float = 10.0
    range_noise_std: float = 0.03
    dropout_probability: float = 0.0
    min_intensity: float = 0.0
    reflectivity: tuple[float, ...] = DEFAULT_REFLECTIVITY
    motion_distortion: bool = True

    def __post_init__(self):
        for name in ("channels", "azimuth_steps"):
            check_count(name, getattr(self, name))
        fov = self.vertical_fov_deg
        if (
            not isinstance(fov, tuple | list)
            or len(fov) != 2
            or not all(_is_real(angle) for angle in fov)
        ):
            raise InputError(
                f"vertical_fov_deg must be a (min, max) pair of degrees, got {fov!r}."
            )
        low, high = float(fov[0]), float(fov[1])
        if not (-90.0 <= low <= high <= 90.0):
            raise InputError(
                f"vertical_fov_deg must satisfy -90 <= min <= max <= 90 degrees, "
                f"got {fov!r}."
            )
        # Store a tuple of floats so the frozen config hashes and compares.
        object.__setattr__(self, "vertical_fov_deg", (low, high))
        if not _is_real(self.max_range) or not (
            math.isfinite(self.max_range) and self.max_range > 0.0
        ):
            raise InputError(
                f"max_range must be a finite number of metres > 0, got "
                f"{self.max_range!r}."
            )
        self._check_elevations()
        if not isinstance(self.mount, MountPose):
            raise InputError(f"mount must be a MountPose, got {self.mount!r}.")
        if not isinstance(self.motion_distortion, bool | np.bool_):
            raise InputError(
                f"motion_distortion must be True or False, got "
                f"{self.motion_distortion!r}."
            )
        check_positive("update_hz", self.update_hz)
        check_positive("range_noise_std", self.range_noise_std, allow_zero=True)
        check_probability("dropout_probability", self.dropout_probability)
        check_probability("min_intensity", self.min_intensity)
        reflectivity = tuple(self.reflectivity)
        if len(reflectivity) != len(SurfaceClass) or not all(
            _is_real(v) and 0.0 <= v <= 1.0 for v in reflectivity
        ):
            raise InputError(
                f"reflectivity must give {len(SurfaceClass)} values in [0, 1], one "
                f"per SurfaceClass, got {self.reflectivity!r}."
            )
        object.__setattr__(self, "reflectivity", tuple(float(v) for v in reflectivity))

    def _check_elevations(self):
        if self.elevation_table_deg is None:
            return
        table = tuple(self.elevation_table_deg)
        if not all(_is_real(v) and -90.0 <= v <= 90.0 for v in table):
            raise InputError(
                f"elevation_table_deg must contain degrees in [-90, 90], got {table!r}."
            )
        if len(table) != self.channels:
            raise InputError(
                f"elevation_table_deg has {len(table)} angles but channels is "
                f"{self.channels}; give one angle per channel."
            )
        object.__setattr__(self, "elevation_table_deg", tuple(float(v) for v in table))

    @classmethod
    def preset(cls, model, **overrides):
        """Return the config of a real unit, with any field overridden.

        Args:
            model: One of ``"VLP-16"``, ``"HDL-32E"``, ``"OS1-64"`` and
                ``"OS1-128"``; see ``presets.py`` for the sources.
            **overrides: Config fields to set instead of the preset's.

        Raises:
            InputError: If the model is unknown or an override is invalid.
        """
        if model not in LIDAR_PRESETS:
            raise InputError(
                f"unknown LiDAR preset {model!r}; use one of {sorted(LIDAR_PRESETS)}."
            )
        fields = dict(LIDAR_PRESETS[model])
        fields["channels"] = len(fields["elevation_table_deg"])
        config = cls(**fields)
        return replace(config, **overrides) if overrides else config

    @property
    def elevations_deg(self):
        """Beam elevations in degrees, shape (channels,), float64.

        Ascending for evenly spaced channels, in table order otherwise.
        """
        if self.elevation_table_deg is not None:
            return np.array(self.elevation_table_deg)
        low, high = self.vertical_fov_deg
        if self.channels == 1:
            return np.array([0.5 * (low + high)])
        return np.linspace(low, high, self.channels)

    @property
    def azimuths_deg(self):
        """Beam azimuths in degrees, shape (azimuth_steps,).

        Azimuth 0 is sensor +x and angles grow counter-clockwise seen from
        above, in firing order.
        """
        return 360.0 * np.arange(self.azimuth_steps) / self.azimuth_steps
