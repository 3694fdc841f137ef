"""Single-beam rangefinder fixed to the body, such as a laser altimeter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin_gym._frames import rotate_body_to_world, validate_poses
from twin_gym.errors import InputError
from twin_gym.sensors.base import RateTimer, SensorHooks
from twin_gym.sensors.rangefinder.config import RangefinderConfig

__all__ = ["RangeReading", "Rangefinder"]


@dataclass
class RangeReading:
    """One reading per agent.

    Attributes:
        stamp_s: Simulation time of the reading, seconds.
        range: Range with noise in metres, shape (n_agents,), float64,
            clamped to ``[min_range, max_range]``.
        valid: Whether the surface lay within the range limits, shape
            (n_agents,), bool.
    """

    stamp_s: float
    range: np.ndarray
    valid: np.ndarray


class Rangefinder:
    """Rangefinder whose beam turns with the body (unlike a gimballed one).

    Args:
        config: Range limits, mounting, rate and noise.
        seed: Seed of the noise generator ``np_random``.
    """

    def __init__(self, config=None, seed=None):
        self.config = RangefinderConfig() if config is None else config
        if not isinstance(self.config, RangefinderConfig):
            raise InputError(
                f"config must be a RangefinderConfig, got {type(self.config).__name__}."
            )
        self.hooks = SensorHooks()
        self.timer = RateTimer(self.config.update_hz)
        self.np_random = np.random.default_rng(seed)

    def measure(self, scene, pos_w, quat_wb, time_s=0.0):
        """Measure the range along the beam from each agent's pose.

        Returns:
            The reading after the output hooks, or None when a hook skips it.
        """
        if not self.hooks.allow(time_s):
            return None
        config = self.config
        pos, quat = validate_poses(pos_w, quat_wb)
        sensor_pos, sensor_quat = config.mount.sensor_poses_w(pos, quat)
        beam_w = rotate_body_to_world(sensor_quat, np.array([[1.0, 0.0, 0.0]]))[:, 0]
        hits = scene.cast(sensor_pos, beam_w, config.max_range)
        ranges = hits.range.copy()
        if config.range_noise_std > 0.0:
            ranges[hits.hit] += self.np_random.normal(
                0.0, config.range_noise_std, int(hits.hit.sum())
            )
        valid = hits.hit & (ranges >= config.min_range)
        reading = RangeReading(
            stamp_s=float(time_s),
            range=np.clip(
                np.where(hits.hit, ranges, config.max_range),
                config.min_range,
                config.max_range,
            ),
            valid=valid,
        )
        return self.hooks.apply(reading)
