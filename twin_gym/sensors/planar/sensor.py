"""2D planar scanner: one fan of beams in the sensor's x-y plane."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin_gym._frames import rotate_body_to_world, validate_poses
from twin_gym.errors import InputError
from twin_gym.sensors.base import RateTimer, SensorHooks
from twin_gym.sensors.planar.config import PlanarScannerConfig

__all__ = ["PlanarScan", "PlanarScanner"]


@dataclass
class PlanarScan:
    """One scan per agent; arrays have shape (n_agents, beams) (+3 for points).

    Attributes:
        stamp_s: Simulation time of the scan, seconds.
        valid: Whether each beam returned a point, bool.
        range: Range with noise in metres, float64; ``max_range`` where not
            valid, as planar scanners commonly report.
        surface_class: Class of the surface hit, uint8, 255 where not valid.
        points_s: Points in the sensor frame in metres, NaN where not valid.
        points_w: Points in the local world frame in metres, NaN where not
            valid.
    """

    stamp_s: float
    valid: np.ndarray
    range: np.ndarray
    surface_class: np.ndarray
    points_s: np.ndarray
    points_w: np.ndarray


class PlanarScanner:
    """2D scanner such as a Hokuyo or SICK unit, cast from one pose per scan.

    Args:
        config: Beam fan, mounting, rate and noise.
        seed: Seed of the noise generator ``np_random``.
    """

    def __init__(self, config=None, seed=None):
        self.config = PlanarScannerConfig() if config is None else config
        if not isinstance(self.config, PlanarScannerConfig):
            raise InputError(
                "config must be a PlanarScannerConfig, got "
                f"{type(self.config).__name__}."
            )
        angles = np.radians(self.config.angles_deg)
        self.directions_s = np.column_stack(
            [np.cos(angles), np.sin(angles), np.zeros_like(angles)]
        )
        self.hooks = SensorHooks()
        self.timer = RateTimer(self.config.update_hz)
        self.np_random = np.random.default_rng(seed)

    def measure(self, scene, pos_w, quat_wb, time_s=0.0):
        """Scan from each agent's pose at ``time_s``.

        Args:
            scene: The :class:`~twin_gym.raycast.scene.RaycastScene` to scan.
            pos_w: Body origins in metres, shape (n_agents, 3).
            quat_wb: Body-to-world unit quaternions ``(w, x, y, z)``, shape
                (n_agents, 4).
            time_s: Simulation time of the scan, seconds.

        Returns:
            The scan after the output hooks, or None when a hook skips it.
        """
        if not self.hooks.allow(time_s):
            return None
        config = self.config
        pos, quat = validate_poses(pos_w, quat_wb)
        sensor_pos, sensor_quat = config.mount.sensor_poses_w(pos, quat)
        directions_w = rotate_body_to_world(sensor_quat, self.directions_s)
        origins_w = np.broadcast_to(sensor_pos[:, None], directions_w.shape)
        hits = scene.cast(
            origins_w.reshape(-1, 3), directions_w.reshape(-1, 3), config.max_range
        )
        shape = directions_w.shape[:2]
        valid = hits.hit.reshape(shape).copy()
        ranges = hits.range.reshape(shape).copy()
        if config.range_noise_std > 0.0:
            ranges[valid] += self.np_random.normal(
                0.0, config.range_noise_std, int(valid.sum())
            )
            np.maximum(ranges, 0.0, out=ranges)
        if config.dropout_probability > 0.0:
            valid &= self.np_random.random(shape) >= config.dropout_probability
        scale = np.where(valid, ranges, np.nan)[..., None]
        scan = PlanarScan(
            stamp_s=float(time_s),
            valid=valid,
            range=np.where(valid, ranges, config.max_range),
            surface_class=np.where(
                valid, hits.surface_class.reshape(shape), 255
            ).astype(np.uint8),
            points_s=scale * self.directions_s[None],
            points_w=origins_w + scale * directions_w,
        )
        return self.hooks.apply(scan)
