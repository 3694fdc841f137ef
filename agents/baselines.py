"""Baseline policies: scripted drone and rover controllers, random actions."""

from __future__ import annotations

import math
from typing import Protocol

import gymnasium as gym
import numpy as np

from twin_gym.envs.drone_delivery import OBSERVATION_LAYOUT, DroneDeliveryEnv
from twin_gym.envs.rover_navigation import (
    PROBE_BEARINGS,
    PROBE_DISTANCES,
    ROVER_OBSERVATION_LAYOUT,
    RoverNavigationEnv,
)


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
        """Do nothing, because the controller is deterministic."""

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


class ScriptedRoverController:
    """Drive toward the goal along the gentlest clear bearing.

    Each step the controller scores the terrain probe's 12 bearings. A
    bearing is ruled out when one of its points is blocked or its slope
    exceeds ``max_slope_deg``. Otherwise it costs its angle from the goal
    plus ``slope_weight`` per radian of slope above ``comfortable_slope_deg``.
    It steers toward the cheapest bearing (or straight at the goal when the
    bearings beside the goal are clear), keeps ``cruise_speed`` with a P loop
    on the drive and brakes when faster, and slows in sharp turns.

    Args:
        env: A :class:`RoverNavigationEnv` (wrapped or not).
        cruise_speed: Target speed in m/s.
        max_slope_deg: Steepest slope along a bearing that it drives, degrees.
        comfortable_slope_deg: Slope below which a bearing costs nothing
            extra, degrees.
        slope_weight: Cost per radian of slope above the comfortable slope,
            in radians of heading error.
    """

    name = "scripted"

    def __init__(
        self,
        env: gym.Env,
        cruise_speed: float = 2.0,
        max_slope_deg: float = 22.0,
        comfortable_slope_deg: float = 10.0,
        slope_weight: float = 4.0,
    ) -> None:
        base = env.unwrapped
        if not isinstance(base, RoverNavigationEnv):
            raise TypeError(f"expected a RoverNavigationEnv, got {type(base).__name__}")
        self.max_steer = base.params.max_steer_angle
        self.cruise_speed = cruise_speed
        self.max_slope = math.radians(max_slope_deg)
        self.comfortable_slope = math.radians(comfortable_slope_deg)
        self.slope_weight = slope_weight
        self.bearings = 2.0 * math.pi * np.arange(PROBE_BEARINGS) / PROBE_BEARINGS
        self.bearings = np.where(
            self.bearings > math.pi, self.bearings - 2.0 * math.pi, self.bearings
        )

    def reset(self, seed: int) -> None:
        """Do nothing, because the controller is deterministic."""

    def act(self, observation: np.ndarray) -> np.ndarray:
        """Return the scaled (steer, drive, brake) action for ``observation``."""
        layout = ROVER_OBSERVATION_LAYOUT
        speed = float(observation[layout.vel_b][0])
        goal = observation[layout.goal_rel_b].astype(np.float64)
        goal_bearing = math.atan2(goal[1], goal[0])
        heading = self._choose_bearing(observation, goal_bearing)

        steer = float(np.clip(1.5 * heading / self.max_steer, -1.0, 1.0))
        target = self.cruise_speed
        if abs(heading) > math.radians(30.0):
            target = 0.5 * self.cruise_speed
        distance = float(np.hypot(goal[0], goal[1]))
        target = min(target, max(0.5, 0.5 * distance))
        drive = float(np.clip(2.0 * (target - speed), -1.0, 1.0))
        brake = -1.0
        if speed > target + 0.3:
            drive = 0.0
            brake = float(np.clip(2.0 * (speed - target) - 1.0, -1.0, 1.0))
        return np.array([steer, drive, brake], dtype=np.float32)

    def _choose_bearing(self, observation: np.ndarray, goal_bearing: float) -> float:
        """Return the heading change in rad to drive along, positive left."""
        layout = ROVER_OBSERVATION_LAYOUT
        count = len(PROBE_DISTANCES)
        heights = observation[layout.probe_height].reshape(PROBE_BEARINGS, count)
        blocked = observation[layout.probe_blocked].reshape(PROBE_BEARINGS, count)
        near, far = PROBE_DISTANCES[0], PROBE_DISTANCES[-1]
        slope = np.maximum(
            np.abs(heights[:, 0]) / near,
            np.abs(heights[:, -1] - heights[:, 0]) / (far - near),
        )
        slope = np.arctan(slope)
        error = np.abs(np.angle(np.exp(1j * (self.bearings - goal_bearing))))
        cost = error + self.slope_weight * np.maximum(slope - self.comfortable_slope, 0)
        cost[(blocked > 0.5).any(axis=1) | (slope > self.max_slope)] = np.inf
        # Drive straight at the goal when both bearings beside it are clear.
        beside = np.argsort(error)[:2]
        if np.all(np.isfinite(cost[beside])) and np.all(
            slope[beside] <= self.comfortable_slope
        ):
            return goal_bearing
        best = int(np.argmin(cost))
        if not np.isfinite(cost[best]):
            return goal_bearing
        return float(self.bearings[best])


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
