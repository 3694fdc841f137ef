"""Pinhole depth camera giving depth and semantic images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin_gym._frames import rotate_body_to_world, validate_poses
from twin_gym.errors import InputError
from twin_gym.sensors.base import RateTimer, SensorHooks
from twin_gym.sensors.depth_camera.config import DepthCameraConfig

__all__ = ["DepthCamera", "DepthFrame"]


@dataclass
class DepthFrame:
    """One frame per agent; images have shape (n_agents, height, width).

    Attributes:
        stamp_s: Simulation time of the frame, seconds.
        depth: Depth along the optical axis (sensor +x) in metres, float32,
            0 where invalid (no hit, or outside ``[min_range, max_range]``).
        semantic: :class:`SurfaceClass` of each pixel, uint8, 255 where
            invalid.
    """

    stamp_s: float
    depth: np.ndarray
    semantic: np.ndarray


class DepthCamera:
    """Pinhole depth camera that casts one ray per pixel centre.

    Args:
        config: Image size, field of view, mounting, rate and noise.
        seed: Seed of the noise generator ``np_random``.
    """

    def __init__(self, config=None, seed=None):
        self.config = DepthCameraConfig() if config is None else config
        if not isinstance(self.config, DepthCameraConfig):
            raise InputError(
                f"config must be a DepthCameraConfig, got {type(self.config).__name__}."
            )
        config = self.config
        col = np.arange(config.width) + 0.5 - 0.5 * config.width
        row = np.arange(config.height) + 0.5 - 0.5 * config.height
        right, down = np.meshgrid(col / config.focal_px, row / config.focal_px)
        # Pixel rays in the sensor frame with unit depth along +x.
        self.rays_s = np.stack([np.ones_like(right), -right, -down], axis=-1).reshape(
            -1, 3
        )
        # The same rays by image column. A column's rays share one vertical
        # half-plane when the camera is level, so RaycastScene.cast_fans
        # walks each column once.
        self._column_rays_s = np.ascontiguousarray(
            self.rays_s.reshape(config.height, config.width, 3).transpose(1, 0, 2)
        )
        self.hooks = SensorHooks()
        self.timer = RateTimer(config.update_hz)
        self.np_random = np.random.default_rng(seed)

    def measure(self, scene, pos_w, quat_wb, time_s=0.0):
        """Render a depth and a semantic image from each agent's pose.

        Args:
            scene: The :class:`~twin_gym.raycast.scene.RaycastScene` to view.
            pos_w: Body origins in metres, shape (n_agents, 3).
            quat_wb: Body-to-world unit quaternions ``(w, x, y, z)``, shape
                (n_agents, 4).
            time_s: Simulation time of the frame, seconds.

        Returns:
            The frame after the output hooks, or None when a hook skips it.
        """
        if not self.hooks.allow(time_s):
            return None
        config = self.config
        pos, quat = validate_poses(pos_w, quat_wb)
        sensor_pos, sensor_quat = config.mount.sensor_poses_w(pos, quat)
        n_agents = len(pos)
        height, width = config.height, config.width
        columns = self._column_rays_s
        directions_w = rotate_body_to_world(sensor_quat, columns.reshape(-1, 3))
        # A pixel ray of unit depth has length |ray|, so depth = range / length.
        lengths = np.linalg.norm(columns, axis=2)
        hits = scene.cast_fans(
            np.repeat(sensor_pos, width, axis=0),
            directions_w.reshape(n_agents * width, height, 3),
            np.tile(config.max_range * lengths, (n_agents, 1)),
        )
        depth = (hits.range.reshape(n_agents, width, height) / lengths).transpose(
            0, 2, 1
        )
        if config.depth_noise_coefficient > 0.0:
            finite = np.isfinite(depth)
            sigma = config.depth_noise_coefficient * depth[finite] ** 2
            depth[finite] += self.np_random.normal(0.0, 1.0, sigma.shape) * sigma
        valid = np.isfinite(depth) & (depth >= config.min_range)
        valid &= depth <= config.max_range
        frame = DepthFrame(
            stamp_s=float(time_s),
            depth=np.where(valid, depth, 0.0).astype(np.float32),
            semantic=np.where(
                valid,
                hits.surface_class.reshape(n_agents, width, height).transpose(0, 2, 1),
                255,
            ).astype(np.uint8),
        )
        return self.hooks.apply(frame)
