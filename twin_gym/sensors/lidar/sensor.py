"""Spinning LiDAR that scans the twin in a fixed grid of beams."""

from __future__ import annotations

import numpy as np

from twin_gym._frames import (
    interpolate_poses,
    rotate_body_to_world,
    rotation_matrices,
    validate_pose_history,
    validate_poses,
)
from twin_gym.errors import InputError
from twin_gym.raycast.scene import MISS_CLASS
from twin_gym.sensors.base import RateTimer, SensorHooks
from twin_gym.sensors.lidar.config import SpinningLidarConfig
from twin_gym.sensors.lidar.data import LidarScan

__all__ = ["SpinningLidar"]


class SpinningLidar:
    """Spinning LiDAR that returns range images, intensities and point clouds.

    :meth:`scan` gives the ideal range image that environments observe.
    :meth:`measure` models the unit: noise, intensity, dropout, point clouds
    with per-point timestamps and the rolling-scan distortion of a unit that
    moves during a revolution.

    Args:
        config: Beam pattern, mounting, rate and noise. Defaults to
            :class:`SpinningLidarConfig`.
        seed: Seed of the noise generator ``np_random``.

    Attributes:
        hooks: Callables run on each :meth:`measure` (see ``SensorHooks``).
        timer: Decides when an update is due on the simulation clock.
        np_random: Generator of range noise and dropout.
    """

    def __init__(self, config=None, seed=None):
        self.config = SpinningLidarConfig() if config is None else config
        if not isinstance(self.config, SpinningLidarConfig):
            raise InputError(
                f"config must be a SpinningLidarConfig, got "
                f"{type(self.config).__name__}."
            )
        elevation = np.radians(self.config.elevations_deg)[:, None]
        azimuth = np.radians(self.config.azimuths_deg)[None, :]
        directions_s = np.stack(
            np.broadcast_arrays(
                np.cos(elevation) * np.cos(azimuth),
                np.cos(elevation) * np.sin(azimuth),
                np.sin(elevation),
            ),
            axis=-1,
        )
        self._directions_s = directions_s
        mount_rotation = rotation_matrices(np.array([self.config.mount.quat_bs]))[0]
        directions_b = directions_s.reshape(-1, 3) @ mount_rotation.T
        directions_b.flags.writeable = False
        self._directions_b = directions_b
        # The same beams by azimuth step, each step's channels together: the
        # fans that RaycastScene.cast_fans walks in one pass when level.
        self._fan_directions_b = np.ascontiguousarray(
            directions_b.reshape(*self.shape, 3).transpose(1, 0, 2)
        ).reshape(-1, 3)
        self.hooks = SensorHooks()
        self.timer = RateTimer(self.config.update_hz)
        self.np_random = np.random.default_rng(seed)

    @property
    def directions_b(self):
        """Unit beam directions in the body frame (FLU), float64, read-only.

        The shape is (channels * azimuth_steps, 3). Row
        ``channel * azimuth_steps + step`` is the beam of that channel at that
        azimuth step. The mounting rotation is applied.
        """
        return self._directions_b

    @property
    def shape(self):
        """Shape ``(channels, azimuth_steps)`` of one agent's range image."""
        return self.config.channels, self.config.azimuth_steps

    def scan(self, scene, pos_w, quat_wb):
        """Cast every beam from each agent's pose and return the ideal ranges.

        All beams are cast from one pose, without noise or dropout.

        Args:
            scene: The :class:`~twin_gym.raycast.scene.RaycastScene` to scan.
            pos_w: Body origins in the local world frame in metres, shape
                (n_agents, 3).
            quat_wb: Body-to-world unit quaternions, scalar-first
                ``(w, x, y, z)``, shape (n_agents, 4).

        Returns:
            Ranges in metres, shape (n_agents, channels, azimuth_steps),
            float32. A beam without a hit reads ``config.max_range``. A sensor
            origin on or below the surface reads 0 on every beam.

        Raises:
            InputError: If a pose array has the wrong shape, a non-finite value
                or a quaternion that is not unit length.
        """
        pos, quat = validate_poses(pos_w, quat_wb)
        n_agents = pos.shape[0]
        channels, steps = self.shape
        sensor_pos, _ = self.config.mount.sensor_poses_w(pos, quat)
        directions_w = rotate_body_to_world(quat, self._fan_directions_b)
        hits = scene.cast_fans(
            np.repeat(sensor_pos, steps, axis=0),
            directions_w.reshape(n_agents * steps, channels, 3),
            self.config.max_range,
        )
        ranges = np.where(hits.hit, hits.range, self.config.max_range)
        ranges = ranges.astype(np.float32).reshape(n_agents, steps, channels)
        return np.ascontiguousarray(ranges.transpose(0, 2, 1))

    def firing_offsets_s(self):
        """Return each azimuth step's firing time after the revolution start, s."""
        steps = self.config.azimuth_steps
        return np.arange(steps) / (steps * self.config.update_hz)

    def _sensor_poses(self, pos, quat, time_s, pose_history):
        """Return sensor positions (n, steps, 3) and attitudes (n, steps, 4)."""
        n_agents = pos.shape[0]
        steps = self.config.azimuth_steps
        if pose_history is None or not self.config.motion_distortion:
            body_pos = np.repeat(pos[:, None], steps, axis=1)
            body_quat = np.repeat(quat[:, None], steps, axis=1)
        else:
            history = validate_pose_history(pose_history, n_agents)
            times = time_s + self.firing_offsets_s()
            body_pos = np.empty((n_agents, steps, 3))
            body_quat = np.empty((n_agents, steps, 4))
            for agent in range(n_agents):
                body_pos[agent], body_quat[agent] = interpolate_poses(
                    history[agent], times
                )
        flat_pos, flat_quat = self.config.mount.sensor_poses_w(
            body_pos.reshape(-1, 3), body_quat.reshape(-1, 4)
        )
        return flat_pos.reshape(n_agents, steps, 3), flat_quat.reshape(
            n_agents, steps, 4
        )

    def measure(self, scene, pos_w, quat_wb, time_s=0.0, pose_history=None):
        """Model one revolution that starts at ``time_s``.

        Each azimuth step fires at ``time_s + step / (azimuth_steps *
        update_hz)``. With ``pose_history`` and ``config.motion_distortion``
        it fires from the body pose interpolated at that time, so points
        that a real unit reports in its own moving frame show the rolling
        scan distortion. Without them every step fires from ``pos_w``,
        ``quat_wb``.

        Args:
            scene: The :class:`~twin_gym.raycast.scene.RaycastScene` to scan.
            pos_w: Body origins at ``time_s`` in metres, shape (n_agents, 3).
            quat_wb: Body-to-world unit quaternions ``(w, x, y, z)`` at
                ``time_s``, shape (n_agents, 4).
            time_s: Simulation time of the first firing, seconds.
            pose_history: Body poses with rows ``[t, pos_w (3), quat_wb (4)]``
                and ascending ``t``, shape (n_agents, k, 8), such as
                ``DroneSim.pose_history`` or a ``PoseRecorder``'s history.
                Times outside it take the nearest stored pose. None for a
                static revolution.

        Returns:
            The scan after the output hooks, or None when a
            ``before_update`` hook skips this update.

        Raises:
            InputError: If a pose array or the pose history is invalid.
        """
        if not self.hooks.allow(time_s):
            return None
        pos, quat = validate_poses(pos_w, quat_wb)
        config = self.config
        n_agents = pos.shape[0]
        channels, steps = self.shape
        sensor_pos, sensor_quat = self._sensor_poses(pos, quat, time_s, pose_history)
        rotations = rotation_matrices(sensor_quat.reshape(-1, 4)).reshape(
            n_agents, steps, 3, 3
        )
        # Per agent a, step s and channel c: d_w = R_ws(a, s) @ d_s(c, s),
        # cast as one fan per azimuth step.
        fan_directions_w = np.einsum("asij,csj->asci", rotations, self._directions_s)
        hits = scene.cast_fans(
            sensor_pos.reshape(-1, 3),
            fan_directions_w.reshape(n_agents * steps, channels, 3),
            config.max_range,
        )
        shape = (n_agents, channels, steps)
        directions_w = fan_directions_w.transpose(0, 2, 1, 3)
        origins_w = np.broadcast_to(sensor_pos[:, None], directions_w.shape)

        def by_channel(values):
            values = values.reshape(n_agents, steps, channels, *values.shape[1:])
            return np.ascontiguousarray(np.swapaxes(values, 1, 2))

        valid = by_channel(hits.hit)
        ranges = by_channel(hits.range)
        classes = by_channel(hits.surface_class)
        normals = by_channel(hits.normal_w)

        if config.range_noise_std > 0.0:
            ranges[valid] += self.np_random.normal(
                0.0, config.range_noise_std, int(valid.sum())
            )
            # Noise cannot move a return behind the sensor.
            np.maximum(ranges, 0.0, out=ranges)
        reflectivity = np.array(config.reflectivity)
        cosine = np.clip(-np.einsum("acsi,acsi->acs", normals, directions_w), 0.0, 1.0)
        intensity = np.where(
            valid,
            reflectivity[np.where(valid, classes, 0)] * np.nan_to_num(cosine),
            0.0,
        )
        lost = intensity < config.min_intensity
        if config.dropout_probability > 0.0:
            lost |= self.np_random.random(shape) < config.dropout_probability
        valid &= ~lost

        ranges = np.where(valid, ranges, 0.0)
        intensity = np.where(valid, intensity, 0.0)
        classes = np.where(valid, classes, MISS_CLASS).astype(np.uint8)
        scale = np.where(valid, ranges, np.nan)[..., None]
        points_s = scale * self._directions_s[None]
        points_w = origins_w + scale * directions_w
        timestamps = np.broadcast_to(time_s + self.firing_offsets_s(), shape).copy()
        scan = LidarScan(
            stamp_s=float(time_s),
            valid=valid,
            range=ranges,
            intensity=intensity,
            surface_class=classes,
            points_s=points_s,
            points_w=points_w,
            timestamps_s=timestamps,
        )
        return self.hooks.apply(scan)
