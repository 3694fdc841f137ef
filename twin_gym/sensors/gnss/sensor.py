"""GNSS receiver: longitude, latitude and height of the true position, with noise."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin_gym._frames import validate_positions
from twin_gym.errors import InputError
from twin_gym.sensors.base import RateTimer, SensorHooks
from twin_gym.sensors.gnss.config import GnssConfig

__all__ = ["Gnss", "GnssFix"]


@dataclass
class GnssFix:
    """One fix per agent; arrays have shape (n_agents,).

    Attributes:
        stamp_s: Simulation time of the fix, seconds.
        fix: Whether the receiver has a fix, bool.
        lon: Longitude in degrees on the twin's geodetic datum, NaN without
            a fix.
        lat: Latitude in degrees, NaN without a fix.
        height: Height in metres in the twin's vertical datum, NaN without a
            fix.
    """

    stamp_s: float
    fix: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    height: np.ndarray


class Gnss:
    """GNSS receiver that converts local positions through the twin's CRS.

    Args:
        twin: The :class:`~twin_gym.terrain.twin.TerrainTwin` whose
            ``local_to_lonlat`` (pyproj) gives the geodetic position.
        config: Rate, noise and fix loss.
        seed: Seed of the noise generator ``np_random``.
    """

    def __init__(self, twin, config=None, seed=None):
        if not hasattr(twin, "local_to_lonlat"):
            raise InputError(f"twin must be a TerrainTwin, got {type(twin).__name__}.")
        self.twin = twin
        self.config = GnssConfig() if config is None else config
        if not isinstance(self.config, GnssConfig):
            raise InputError(
                f"config must be a GnssConfig, got {type(self.config).__name__}."
            )
        self.hooks = SensorHooks()
        self.timer = RateTimer(self.config.update_hz)
        self.np_random = np.random.default_rng(seed)

    def measure(self, pos_w, time_s=0.0):
        """Return a fix for each agent's true local position.

        Args:
            pos_w: Antenna positions in the local world frame in metres,
                shape (n_agents, 3).
            time_s: Simulation time of the fix, seconds.

        Returns:
            The fix after the output hooks, or None when a hook skips it.
        """
        if not self.hooks.allow(time_s):
            return None
        pos = validate_positions(pos_w)
        config = self.config
        n = len(pos)
        noisy = pos + self.np_random.normal(0.0, 1.0, (n, 3)) * [
            config.horizontal_noise_std,
            config.horizontal_noise_std,
            config.vertical_noise_std,
        ]
        lon, lat, height = self.twin.local_to_lonlat(
            noisy[:, 0], noisy[:, 1], noisy[:, 2]
        )
        fix = self.np_random.random(n) >= config.fix_loss_probability
        result = GnssFix(
            stamp_s=float(time_s),
            fix=fix,
            lon=np.where(fix, lon, np.nan),
            lat=np.where(fix, lat, np.nan),
            height=np.where(fix, height, np.nan),
        )
        return self.hooks.apply(result)
