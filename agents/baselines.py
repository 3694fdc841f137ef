"""Baseline policies: a scripted delivery controller and random actions."""

from __future__ import annotations

import math
from typing import Protocol

import gymnasium as gym
import numpy as np

from twin_gym.envs.drone_delivery import OBSERVATION_LAYOUT, DroneDeliveryEnv


class Policy(Protocol):
    """Anything that maps one observation to one action."""

    name: str

    def reset(self, seed: int) -> None:
        """Start a new episode; ``seed`` seeds any randomness of the policy."""

    def act(self, observation: np.ndarray) -> np.ndarray:
        """Return the action for ``observation``."""


class RandomPolicy:
    """Uniformly random actions from the action space, seeded per episode."""

    name = "random"

    def __init__(self, action_space: gym.spaces.Space) -> None:
        self.action_space = action_space

    def reset(self, seed: int) -> None:
        """Reseed the action space so each episode's actions are reproducible."""
        self.action_space.seed(seed)

    def act(self, observation: np.ndarray) -> np.ndarray:
        """Return a random action."""
        return self.action_space.sample()


class ScriptedDeliveryController:
    """Terrain-following flight to the goal from the observation alone.

    The controller flies toward the goal's horizontal position while holding
    ``cruise_clearance`` metres above the highest terrain that the rangefinder
    and the forward half of the LiDAR see, slows when the clearance shrinks,
    and descends onto the delivery point once it is within ``approach_radius``.

    Args:
        env: A :class:`DroneDeliveryEnv` (wrapped or not), for the action
            limits and the LiDAR beam layout.
        cruise_clearance: Height to keep above the terrain ahead, metres.
        approach_radius: Horizontal distance at which the descent starts,
            metres.
    """

    name = "scripted"

    def __init__(
        self,
        env: gym.Env,
        cruise_clearance: float = 30.0,
        approach_radius: float = 25.0,
    ) -> None:
        base = env.unwrapped
        if not isinstance(base, DroneDeliveryEnv):
            raise TypeError(f"expected a DroneDeliveryEnv, got {type(base).__name__}")
        self.action_scale = base.action_scale
        self.directions_b = np.asarray(base.lidar.directions_b, dtype=np.float64)
        self.cruise_clearance = cruise_clearance
        self.approach_radius = approach_radius

    def reset(self, seed: int) -> None:
        """The controller is deterministic; nothing to reset."""

    def act(self, observation: np.ndarray) -> np.ndarray:
        """Return the scaled velocity setpoint for ``observation``."""
        layout = OBSERVATION_LAYOUT
        goal = observation[layout.goal_rel_w].astype(np.float64)
        height = float(observation[layout.height_above_ground][0])
        ranges = observation[layout.lidar_start :].astype(np.float64)
        quat = observation[layout.quat_wb].astype(np.float64)
        max_horizontal, _, max_vertical, _ = self.action_scale

        horizontal = goal[:2]
        distance = float(np.hypot(*horizontal))
        heading = horizontal / max(distance, 1e-6)

        if distance > self.approach_radius:
            rise_ahead = self._terrain_rise_ahead(ranges, quat, heading, height)
            climb_needed = max(self.cruise_clearance - height, rise_ahead)
            vertical = np.clip(0.8 * climb_needed, -max_vertical, max_vertical)
            # Slow down while the terrain ahead is closer than the clearance.
            speed_factor = np.clip(
                1.0 - climb_needed / self.cruise_clearance, 0.15, 1.0
            )
            speed = min(max_horizontal, 0.4 * distance) * speed_factor
        else:
            vertical = np.clip(0.6 * goal[2], -max_vertical, max_vertical)
            if height < 3.0:
                vertical = max(vertical, 0.5)
            speed = min(max_horizontal, 0.6 * distance)
        velocity = np.array([heading[0] * speed, heading[1] * speed, vertical, 0.0])
        return np.clip(velocity / self.action_scale, -1.0, 1.0).astype(np.float32)

    def _terrain_rise_ahead(
        self, ranges: np.ndarray, quat: np.ndarray, heading: np.ndarray, height: float
    ) -> float:
        """Return how far the drone must climb to clear the terrain ahead, metres.

        Each LiDAR return whose horizontal direction lies within 60 degrees of
        the heading gives a terrain point; the result is the largest height of
        those points relative to the drone plus the clearance, minus the
        clearance the drone already has over the ground below it.
        """
        directions_w = _rotate(quat, self.directions_b)
        hit = ranges < ranges.max() - 1e-3
        horizontal = directions_w[:, :2]
        norms = np.linalg.norm(horizontal, axis=1)
        ahead = (horizontal @ heading) > math.cos(math.radians(60.0)) * norms
        useful = hit & ahead & (norms > 1e-6)
        if not useful.any():
            return -math.inf
        rise = float(np.max(ranges[useful] * directions_w[useful, 2]))
        return rise + self.cruise_clearance


def _rotate(quat: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Rotate body vectors (n, 3) into the world by a scalar-first quaternion."""
    w, x, y, z = quat / np.linalg.norm(quat)
    rotation = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )
    return vectors @ rotation.T
