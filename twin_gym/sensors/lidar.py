"""Spinning LiDAR that scans the terrain in a fixed grid of beams."""

import math
from dataclasses import dataclass

import numpy as np

from twin_gym.errors import InputError
from twin_gym.sensors._frames import rotate_body_to_world, validate_poses

__all__ = ["SpinningLidar", "SpinningLidarConfig"]


def _is_integer(value):
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, int | float | np.integer | np.floating) and not (
        isinstance(value, bool)
    )


@dataclass(frozen=True)
class SpinningLidarConfig:
    """Beam layout and range of a spinning LiDAR.

    The LiDAR sits at the body origin with its axes on the body axes.
    NOTE: a mounting pose is not modelled yet. It is meant to become extra
    fields of this config with defaults that keep the current behaviour.

    Attributes:
        channels: Number of beams stacked in elevation, >= 1.
        azimuth_steps: Number of firing directions per revolution, >= 1.
        vertical_fov_deg: ``(min, max)`` beam elevation in degrees above the
            body x-y plane, each in ``[-90, 90]`` with ``min <= max``. The
            channels are spaced evenly from min to max inclusive. A single
            channel points at the middle of the range.
        max_range: Maximum range in metres, finite and > 0. A beam without a
            hit within it reads ``max_range``.
    """

    channels: int = 8
    azimuth_steps: int = 36
    vertical_fov_deg: tuple[float, float] = (-30.0, 10.0)
    max_range: float = 100.0

    def __post_init__(self):
        for name in ("channels", "azimuth_steps"):
            value = getattr(self, name)
            if not _is_integer(value) or value < 1:
                raise InputError(f"{name} must be an integer >= 1, got {value!r}.")
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

    @property
    def elevations_deg(self):
        """Beam elevations in degrees, shape (channels,), float64, ascending."""
        low, high = self.vertical_fov_deg
        if self.channels == 1:
            return np.array([0.5 * (low + high)])
        return np.linspace(low, high, self.channels)

    @property
    def azimuths_deg(self):
        """Beam azimuths in degrees, shape (azimuth_steps,).

        Azimuth 0 is body +x and angles grow counter-clockwise seen from above.
        """
        return 360.0 * np.arange(self.azimuth_steps) / self.azimuth_steps


class SpinningLidar:
    """Spinning LiDAR that returns a range image per agent.

    Args:
        config: Beam layout and range. Defaults to :class:`SpinningLidarConfig`.
    """

    def __init__(self, config=None):
        self.config = SpinningLidarConfig() if config is None else config
        if not isinstance(self.config, SpinningLidarConfig):
            raise InputError(
                f"config must be a SpinningLidarConfig, got "
                f"{type(self.config).__name__}."
            )
        elevation = np.radians(self.config.elevations_deg)[:, None]
        azimuth = np.radians(self.config.azimuths_deg)[None, :]
        directions = np.stack(
            np.broadcast_arrays(
                np.cos(elevation) * np.cos(azimuth),
                np.cos(elevation) * np.sin(azimuth),
                np.sin(elevation),
            ),
            axis=-1,
        )
        directions_b = directions.reshape(-1, 3)
        directions_b.flags.writeable = False
        self._directions_b = directions_b

    @property
    def directions_b(self):
        """Unit beam directions in the body frame (FLU), float64, read-only.

        The shape is (channels * azimuth_steps, 3). Row
        ``channel * azimuth_steps + step`` is the beam of that channel at that
        azimuth step.
        """
        return self._directions_b

    @property
    def shape(self):
        """Shape ``(channels, azimuth_steps)`` of one agent's range image."""
        return self.config.channels, self.config.azimuth_steps

    def scan(self, scene, pos_w, quat_wb):
        """Cast every beam from each agent's pose and return the ranges.

        Args:
            scene: The :class:`~twin_gym.raycast.scene.RaycastScene` to scan.
            pos_w: Body origins in the local world frame in metres, shape
                (n_agents, 3).
            quat_wb: Body-to-world unit quaternions, scalar-first
                ``(w, x, y, z)``, shape (n_agents, 4).

        Returns:
            Ranges in metres, shape (n_agents, channels, azimuth_steps),
            float32. A beam without a hit reads ``config.max_range``. A body
            origin on or below the surface reads 0 on every beam.

        Raises:
            InputError: If a pose array has the wrong shape, a non-finite value
                or a quaternion that is not unit length.
        """
        pos, quat = validate_poses(pos_w, quat_wb)
        n_agents = pos.shape[0]
        n_beams = self._directions_b.shape[0]
        directions_w = rotate_body_to_world(quat, self._directions_b)
        origins_w = np.repeat(pos, n_beams, axis=0)
        hits = scene.cast(origins_w, directions_w.reshape(-1, 3), self.config.max_range)
        ranges = np.where(hits.hit, hits.range, self.config.max_range)
        return ranges.astype(np.float32).reshape((n_agents, *self.shape))
