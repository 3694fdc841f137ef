"""Rover navigation on a terrain twin: drive from a start to a goal."""

from __future__ import annotations

import logging
import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from twin_gym.dynamics import _ground_kernels as gk
from twin_gym.dynamics.ground_vehicle import DEFAULT_TRACTION, get_preset
from twin_gym.envs.common.checks import check_task_arguments
from twin_gym.envs.common.render import TopDownCanvas
from twin_gym.envs.common.spawn import draw_start_and_goal
from twin_gym.envs.common.twins import load_twin_map
from twin_gym.maps import DEFAULT_MAP
from twin_gym.sim.rover import RoverSim

logger = logging.getLogger(__name__)

MAX_OBS_SPEED = 30.0
"""Body-velocity observations are clipped to this many m/s per axis."""
MAX_OBS_YAW_RATE = 10.0
"""Yaw-rate observations are clipped to this many rad/s."""
PROBE_BEARINGS = 12
"""Directions of the terrain probe, evenly spaced from the heading."""
PROBE_DISTANCES = (4.0, 12.0)
"""Distances of the terrain probe's points from the vehicle, metres."""


class RoverObservationLayout:
    """Slices of the flat observation vector, in order."""

    vel_b = slice(0, 2)
    yaw_rate = slice(2, 3)
    steer_angle = slice(3, 4)
    pitch_roll = slice(4, 6)
    goal_rel_b = slice(6, 9)
    probe_height = slice(9, 9 + PROBE_BEARINGS * len(PROBE_DISTANCES))
    probe_blocked = slice(
        9 + PROBE_BEARINGS * len(PROBE_DISTANCES),
        9 + 2 * PROBE_BEARINGS * len(PROBE_DISTANCES),
    )


ROVER_OBSERVATION_LAYOUT = RoverObservationLayout()


def probe_offsets_b() -> np.ndarray:
    """Return the probe points in the body frame, shape (points, 2), metres.

    Points are bearing-major: all distances of bearing 0 (straight ahead),
    then bearing 1 (30 degrees to the left), and so on counter-clockwise.
    """
    bearings = 2.0 * math.pi * np.arange(PROBE_BEARINGS) / PROBE_BEARINGS
    points = [
        (distance * math.cos(bearing), distance * math.sin(bearing))
        for bearing in bearings
        for distance in PROBE_DISTANCES
    ]
    return np.array(points)


class RoverNavigationEnv(gym.Env):
    """Drive a ground vehicle from a start to a goal across a real terrain twin.

    ## Description

    A small field rover (or, with ``vehicle="passenger_car"``, a car) is
    parked on the terrain twin of a real place (by default the Jacksboro
    fault area of Tennessee, built from a USGS DEM). It must drive to a goal
    some tens of metres away across the twin's hills. Its single-track model
    (``twin_gym.dynamics.ground_vehicle``) rides the surface: slopes pull it
    back, surface classes change its grip and rolling resistance, and water,
    buildings and cells without data block it.

    ## Action Space

    ``Box(-1, 1, (3,), float32)``:

    | index | action | unit after scaling |
    |---|---|---|
    | 0 | steering angle command, times ``max_steer_angle`` (positive left) | rad |
    | 1 | drive, negative backward | fraction of the maximum drive force |
    | 2 | brake, ``(a + 1) / 2`` | fraction of the maximum brake force |

    ## Observation Space

    ``Box(float32)`` of ``9 + 2 * 12 * 2 = 57`` values:

    | index | observation | unit | bounds |
    |---|---|---|---|
    | 0-1 | velocity along body x and y, clipped | m/s | +-30 |
    | 2 | yaw rate, clipped | rad/s | +-10 |
    | 3 | steering angle | rad | +-max_steer_angle |
    | 4-5 | pitch (nose up) and roll (left side up) | rad | +-pi/2 |
    | 6-8 | goal minus vehicle position (forward, left, up) | m | map extent |
    | 9-32 | surface height at the probe points minus the vehicle's | m | height span |
    | 33-56 | 1 where a probe point is blocked or off the map | - | 0 to 1 |

    Goal offsets are in the frame turned by the heading (forward, left, up).
    Blocked means water, a building, a structure or a cell without data.

    The probe points lie 4 m and 12 m from the vehicle at 12 bearings, 30
    degrees apart counter-clockwise from the heading, bearing-major.

    ## Rewards

    Per control step, each term is reported in ``info`` as ``reward_<term>``:

    - ``progress = progress_weight * (d_prev - d)``, with ``d`` the horizontal
      distance to the goal in metres;
    - ``time = -time_weight * dt`` with ``dt`` the control period in seconds;
    - ``failure = -failure_penalty`` when the vehicle rolls over, enters a
      blocked cell, leaves the map or is stuck;
    - ``goal = goal_bonus`` when it reaches the goal.

    ## Starting State

    At rest with straight wheels on a cell drawn uniformly from the cells whose
    surroundings within 60 m have elevation data and whose slope is at most
    ``max_start_slope_deg``, heading drawn uniformly. The goal lies at a
    uniformly drawn bearing and a distance drawn from
    ``goal_distance_range`` on such a cell.

    ## Episode End

    ``terminated`` when the vehicle is within ``goal_radius`` (horizontally)
    of the goal (``info["is_success"]`` is True) or fails.
    ``info["failure"]`` names the failure: ``"rolled_over"``, ``"collided"``
    (water, building, structure or no data), ``"out_of_map"`` or ``"stuck"``
    (slower than 0.1 m/s for ``stuck_seconds`` on a slope above 5 degrees
    while the drive command is at least half forward or backward).
    ``truncated`` after ``max_episode_seconds`` of simulated time.

    ## Arguments

    ``map_name`` (bundled map name or TOML path), ``render_mode``
    (``"rgb_array"`` or None), ``vehicle`` (``"field_rover"`` or
    ``"passenger_car"``), ``physics_hz``, ``control_hz``,
    ``max_episode_seconds``, ``goal_distance_range`` (metres),
    ``goal_radius`` (metres), ``max_start_slope_deg``, ``stuck_seconds``,
    ``progress_weight``, ``time_weight``, ``failure_penalty``, ``goal_bonus``.

    ## Version History

    - v0: first release.

    Example:
        >>> import gymnasium as gym
        >>> import twin_gym
        >>> env = gym.make("twin_gym/RoverNavigation-v0")
        >>> env.action_space
        Box(-1.0, 1.0, (3,), float32)
        >>> env.observation_space.shape
        (57,)
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        map_name: str = DEFAULT_MAP,
        render_mode: str | None = None,
        vehicle: str = "field_rover",
        physics_hz: float = 100.0,
        control_hz: float = 10.0,
        max_episode_seconds: float = 120.0,
        goal_distance_range: tuple[float, float] = (30.0, 80.0),
        goal_radius: float = 3.0,
        max_start_slope_deg: float = 15.0,
        stuck_seconds: float = 5.0,
        progress_weight: float = 1.0,
        time_weight: float = 0.1,
        failure_penalty: float = 100.0,
        goal_bonus: float = 100.0,
    ) -> None:
        check_task_arguments(
            render_mode,
            self.metadata["render_modes"],
            goal_distance_range,
            {
                "max_episode_seconds": max_episode_seconds,
                "goal_radius": goal_radius,
                "max_start_slope_deg": max_start_slope_deg,
                "stuck_seconds": stuck_seconds,
            },
        )
        low_goal, high_goal = goal_distance_range

        self.render_mode = render_mode
        self.map_name = map_name
        self.loaded = load_twin_map(map_name)
        self.twin = self.loaded.twin
        self.scene = self.loaded.scene
        self.params = get_preset(vehicle)
        self.sim = RoverSim(
            self.params,
            num_vehicles=1,
            physics_hz=physics_hz,
            control_hz=control_hz,
            terrain=self.twin,
        )
        self.control_dt = 1.0 / control_hz
        self.max_steps = int(round(max_episode_seconds * control_hz))
        self.stuck_steps = max(1, int(round(stuck_seconds * control_hz)))
        self.goal_distance_range = (float(low_goal), float(high_goal))
        self.goal_radius = float(goal_radius)
        self.weights = {
            "progress": progress_weight,
            "time": time_weight,
            "failure": failure_penalty,
            "goal": goal_bonus,
        }
        self._probe_b = probe_offsets_b()
        self._blocked_classes = np.array(
            [int(c) for c, t in DEFAULT_TRACTION.items() if t.blocked], dtype=np.uint8
        )
        self._start_cells = self._gentle_cells(math.radians(max_start_slope_deg))

        self.action_space = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        self.observation_space = self._observation_space()

        self._goal_w = np.zeros(3)
        self._distance = 0.0
        self._steps = 0
        self._slow_steps = 0
        self._path: list[np.ndarray] = []
        self._canvas: TopDownCanvas | None = None

    def _gentle_cells(self, max_slope: float) -> np.ndarray:
        """Return the spawn cells whose slope is at most ``max_slope`` rad."""
        grad_y, grad_x = np.gradient(self.twin.heights.astype(np.float64))
        slope = np.arctan(np.hypot(grad_x, grad_y) / self.twin.cell_size)
        gentle = slope.ravel()[self.loaded.spawn_cells] <= max_slope
        no_structure = self.twin.structure_heights.ravel()[self.loaded.spawn_cells] <= 0
        passable = ~np.isin(
            self.twin.classes.ravel()[self.loaded.spawn_cells], self._blocked_classes
        )
        return self.loaded.spawn_cells[gentle & no_structure & passable]

    def _observation_space(self) -> spaces.Box:
        x_min, y_min, x_max, y_max = self.twin.local_extent
        low_height, high_height = self.twin.height_range()
        span_xy = float(max(x_max - x_min, y_max - y_min))
        span_z = float(high_height - low_height) + 10.0
        points = len(self._probe_b)
        steer = self.params.max_steer_angle
        low = np.concatenate(
            [
                np.full(2, -MAX_OBS_SPEED),
                [-MAX_OBS_YAW_RATE, -steer, -0.5 * math.pi, -0.5 * math.pi],
                [-span_xy, -span_xy, -span_z],
                np.full(points, -span_z),
                np.zeros(points),
            ]
        )
        high = np.concatenate(
            [
                np.full(2, MAX_OBS_SPEED),
                [MAX_OBS_YAW_RATE, steer, 0.5 * math.pi, 0.5 * math.pi],
                [span_xy, span_xy, span_z],
                np.full(points, span_z),
                np.ones(points),
            ]
        )
        self._obs_low = low.astype(np.float32)
        self._obs_high = high.astype(np.float32)
        return spaces.Box(self._obs_low, self._obs_high, dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Park the vehicle at a new start and draw a new goal."""
        super().reset(seed=seed)
        start_xy, goal_xy = self._draw_start_and_goal()
        yaw = self.np_random.uniform(-math.pi, math.pi, size=1)
        self.sim.reset(start_xy[None, :], yaw=yaw)
        goal_ground = float(self.scene.height_at(goal_xy[:1], goal_xy[1:])[0])
        self._goal_w = np.array([goal_xy[0], goal_xy[1], goal_ground])
        self._distance = float(np.linalg.norm(self._goal_w[:2] - start_xy))
        self._steps = 0
        self._slow_steps = 0
        self._path = [start_xy.copy()]
        self._canvas = None
        return self._observation(), self._info(failure="", reached=False)

    def _draw_start_and_goal(self) -> tuple[np.ndarray, np.ndarray]:
        return draw_start_and_goal(
            self.np_random,
            self.twin,
            self._start_cells,
            self.goal_distance_range,
            self.map_name,
        )

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply steering, drive and brake for one control period."""
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        command = np.array(
            [
                action[0] * self.params.max_steer_angle,
                action[1],
                0.5 * (action[2] + 1.0),
            ]
        )
        result = self.sim.step(command[None, :])
        self._steps += 1

        state = self.sim.state[0]
        self._path.append(state[0:2].copy())
        distance = float(np.linalg.norm(self._goal_w[:2] - state[0:2]))
        failure = self._failure(result, state, action)
        reached = (not failure) and distance <= self.goal_radius

        terms = {
            "progress": self.weights["progress"] * (self._distance - distance),
            "time": -self.weights["time"] * self.control_dt,
            "failure": -self.weights["failure"] if failure else 0.0,
            "goal": self.weights["goal"] if reached else 0.0,
        }
        self._distance = distance
        terminated = bool(failure) or reached
        truncated = (not terminated) and self._steps >= self.max_steps
        info = self._info(failure=failure, reached=reached)
        for name, value in terms.items():
            info[f"reward_{name}"] = value
        return (
            self._observation(),
            float(sum(terms.values())),
            terminated,
            truncated,
            info,
        )

    def _failure(self, result, state: np.ndarray, action: np.ndarray) -> str:
        """Return the failure of this step as a name, or "" for none."""
        if result.rolled_over[0]:
            return "rolled_over"
        if result.collided[0]:
            return "collided"
        if result.out_of_map[0]:
            return "out_of_map"
        on_slope = abs(state[gk.S_PITCH]) > math.radians(5.0)
        trying = abs(action[1]) >= 0.5
        if abs(state[gk.S_VX]) < 0.1 and on_slope and trying:
            self._slow_steps += 1
        else:
            self._slow_steps = 0
        if self._slow_steps >= self.stuck_steps:
            return "stuck"
        return ""

    def _observation(self) -> np.ndarray:
        state = self.sim.state[0]
        yaw = state[gk.S_YAW]
        cos_yaw = math.cos(yaw)
        sin_yaw = math.sin(yaw)
        goal_rel = self._goal_w - state[0:3]
        goal_b = [
            cos_yaw * goal_rel[0] + sin_yaw * goal_rel[1],
            -sin_yaw * goal_rel[0] + cos_yaw * goal_rel[1],
            goal_rel[2],
        ]

        probe_x = (
            state[0] + cos_yaw * self._probe_b[:, 0] - sin_yaw * self._probe_b[:, 1]
        )
        probe_y = (
            state[1] + sin_yaw * self._probe_b[:, 0] + cos_yaw * self._probe_b[:, 1]
        )
        heights = self.scene.height_at(probe_x, probe_y)
        blocked = self._blocked(probe_x, probe_y) | ~np.isfinite(heights)
        height_rel = np.where(np.isfinite(heights), heights - state[gk.S_Z], 0.0)

        observation = np.concatenate(
            [
                state[gk.S_VX : gk.S_VY + 1],
                [state[gk.S_YAW_RATE], state[gk.S_STEER]],
                [state[gk.S_PITCH], state[gk.S_ROLL]],
                goal_b,
                height_rel,
                blocked.astype(np.float64),
            ]
        ).astype(np.float32)
        return np.clip(observation, self._obs_low, self._obs_high)

    def _blocked(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return whether each local point lies on a blocked cell or off the map."""
        rows, cols = self.twin.shape
        row, col = self.twin.cell_of(x, y)
        inside = (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
        row = np.clip(row, 0, rows - 1)
        col = np.clip(col, 0, cols - 1)
        blocked = np.isin(self.twin.classes[row, col], self._blocked_classes)
        blocked |= self.twin.structure_heights[row, col] > 0.0
        return blocked | ~inside

    def _info(self, failure: str, reached: bool) -> dict[str, Any]:
        state = self.sim.state[0]
        return {
            "is_success": reached,
            "crashed": bool(failure),
            "failure": failure,
            "distance_to_goal": self._distance,
            "time_s": self._steps * self.control_dt,
            "pos_w": state[0:3].copy(),
            "goal_w": self._goal_w.copy(),
        }

    def render(self) -> np.ndarray | None:
        """Return a top-down RGB picture of terrain, vehicle, path and goal."""
        if self.render_mode != "rgb_array":
            return None
        if self._canvas is None:
            start = self._path[0]
            center = 0.5 * (start + self._goal_w[:2])
            half = 0.5 * float(np.linalg.norm(self._goal_w[:2] - start)) + 40.0
            self._canvas = TopDownCanvas(self.scene, (center[0], center[1]), half)
        return self._canvas.draw(
            np.array(self._path), self._path[-1], self._goal_w[:2], self.goal_radius
        )
