"""Drone delivery on a terrain twin: fly from a depot to a delivery point."""

from __future__ import annotations

import logging
import math
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from twin_gym.dynamics.quadrotor import get_preset
from twin_gym.envs.common.checks import check_task_arguments
from twin_gym.envs.common.render import TopDownCanvas
from twin_gym.envs.common.spawn import draw_start_and_goal
from twin_gym.envs.common.twins import load_twin_map
from twin_gym.errors import InputError
from twin_gym.maps import DEFAULT_MAP
from twin_gym.sensors.lidar import SpinningLidar, SpinningLidarConfig
from twin_gym.sensors.rangefinder import DownwardRangefinder
from twin_gym.sim.core import CONTROL_MODES, DroneSim

logger = logging.getLogger(__name__)

MAX_OBS_SPEED = 40.0
"""Velocity observations are clipped to this many m/s per axis."""
MAX_OBS_RATE = 20.0
"""Body-rate observations are clipped to this many rad/s per axis."""


class ObservationLayout:
    """Slices of the flat observation vector, in order."""

    vel_w = slice(0, 3)
    quat_wb = slice(3, 7)
    rate_b = slice(7, 10)
    height_above_ground = slice(10, 11)
    goal_rel_w = slice(11, 14)
    lidar_start = 14


OBSERVATION_LAYOUT = ObservationLayout()


class DroneDeliveryEnv(gym.Env):
    """Fly a quadrotor from a depot to a delivery point over a real terrain twin.

    ## Description

    A delivery quadrotor hovers 5 m above a depot on the terrain twin of a real
    place (by default the Jacksboro fault area of Tennessee, built from a USGS
    DEM). It must reach a delivery point 5 m above the ground some hundred
    metres away without touching the terrain. The twin's hills stand between
    the two in many episodes, so the drone has to climb over them.

    ## Action Space

    ``Box(-1, 1, (4,), float32)`` in every ``action_mode``. With the default
    ``action_mode="velocity"`` the action is a velocity setpoint scaled to the
    limits, tracked by the drone's cascaded controller at the physics rate:

    | index | action | unit after scaling |
    |---|---|---|
    | 0 | east velocity setpoint, times ``max_horizontal_speed`` | m/s |
    | 1 | north velocity setpoint, times ``max_horizontal_speed`` | m/s |
    | 2 | up velocity setpoint, times ``max_vertical_speed`` | m/s |
    | 3 | yaw-rate setpoint, times ``max_yaw_rate`` | rad/s |

    With ``action_mode="rotor_speed"`` entry ``i`` maps ``[-1, 1]`` linearly
    onto the rotor speed range ``[rotor_speed_min, rotor_speed_max]`` (rad/s)
    of rotor ``i`` (front-left, rear-left, rear-right, front-right). With
    ``action_mode="thrust_rates"`` entry 0 maps ``[-1, 1]`` onto a collective
    thrust of ``[0, max_thrust]`` (N) and entries 1-3 are body rates about
    body x, y, z (FLU) times ``max_body_rate`` (rad/s).

    ## Observation Space

    ``Box(float32)`` of ``14 + channels * azimuth_steps`` values:

    | index | observation | unit | bounds |
    |---|---|---|---|
    | 0-2 | velocity in the world frame (ENU), clipped | m/s | +-40 |
    | 3-6 | attitude quaternion body to world (w, x, y, z) | - | +-1 |
    | 7-9 | body rates (FLU), clipped | rad/s | +-20 |
    | 10 | height above ground from the downward rangefinder | m | 0 to its max range |
    | 11-13 | goal position minus drone position, world frame, clipped | m | map extent |
    | 14- | spinning LiDAR ranges, channel-major; a miss reads max range | m | 0 to max range |

    ## Rewards

    Per control step, each term is reported in ``info`` as ``reward_<term>``:

    - ``progress = progress_weight * (d_prev - d)``, with ``d`` the distance
      to the delivery point in metres;
    - ``time = -time_weight * dt`` with ``dt`` the control period in seconds;
    - ``crash = -crash_penalty`` when the drone touches the terrain, leaves the
      map or flies over cells without elevation data;
    - ``delivery = delivery_bonus`` when it reaches the delivery point.

    ## Starting State

    Level, at rest, 5 m above a depot cell drawn uniformly from the cells
    whose surroundings within 60 m all have elevation data and that have no
    structure within 15 m. The goal lies at a uniformly drawn bearing and a
    distance drawn from ``goal_distance_range``, on such a cell.

    ## Episode End

    ``terminated`` when the drone is within ``goal_radius`` of the delivery
    point (``info["is_success"]`` is True) or crashes; ``truncated`` after
    ``max_episode_seconds`` of simulated time.

    ## Arguments

    ``map_name`` (bundled map name or TOML path), ``render_mode``
    (``"rgb_array"`` or None), ``physics_hz``, ``control_hz``,
    ``max_episode_seconds``, ``goal_distance_range`` (metres),
    ``goal_radius`` (metres), ``max_horizontal_speed``, ``max_vertical_speed``
    (m/s), ``max_yaw_rate`` (rad/s), ``lidar_channels``,
    ``lidar_azimuth_steps``, ``lidar_max_range`` (metres), ``progress_weight``,
    ``time_weight``, ``crash_penalty``, ``delivery_bonus``, ``action_mode``
    (``"velocity"``, ``"rotor_speed"`` or ``"thrust_rates"``),
    ``max_body_rate`` (rad/s, ``"thrust_rates"`` only).

    Any touch of the terrain ends the episode as a crash in this task, gentle
    or not.

    ## Version History

    - v0: first release; ``action_mode`` and ``max_body_rate`` added later
      without changing the default behaviour.

    Example:
        >>> import gymnasium as gym
        >>> import twin_gym
        >>> env = gym.make("twin_gym/DroneDelivery-v0")
        >>> env.action_space
        Box(-1.0, 1.0, (4,), float32)
        >>> env.observation_space.shape
        (302,)
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(
        self,
        map_name: str = DEFAULT_MAP,
        render_mode: str | None = None,
        physics_hz: float = 200.0,
        control_hz: float = 10.0,
        max_episode_seconds: float = 60.0,
        goal_distance_range: tuple[float, float] = (100.0, 300.0),
        goal_radius: float = 5.0,
        max_horizontal_speed: float = 10.0,
        max_vertical_speed: float = 4.0,
        max_yaw_rate: float = 1.0,
        lidar_channels: int = 8,
        lidar_azimuth_steps: int = 36,
        lidar_max_range: float = 100.0,
        progress_weight: float = 1.0,
        time_weight: float = 0.5,
        crash_penalty: float = 100.0,
        delivery_bonus: float = 100.0,
        action_mode: str = "velocity",
        max_body_rate: float = 3.0,
    ) -> None:
        check_task_arguments(
            render_mode,
            self.metadata["render_modes"],
            goal_distance_range,
            {
                "max_episode_seconds": max_episode_seconds,
                "goal_radius": goal_radius,
                "max_horizontal_speed": max_horizontal_speed,
                "max_vertical_speed": max_vertical_speed,
                "max_yaw_rate": max_yaw_rate,
                "max_body_rate": max_body_rate,
            },
        )
        low_goal, high_goal = goal_distance_range

        self.render_mode = render_mode
        self.map_name = map_name
        self.loaded = load_twin_map(map_name)
        self.twin = self.loaded.twin
        self.scene = self.loaded.scene
        if action_mode not in CONTROL_MODES:
            raise InputError(
                f"action_mode must be one of {CONTROL_MODES}, got {action_mode!r}"
            )
        self.action_mode = action_mode
        self.params = get_preset("delivery")
        self.sim = DroneSim(
            self.params,
            num_agents=1,
            physics_hz=physics_hz,
            control_hz=control_hz,
            terrain=self.twin,
            control_mode=action_mode,
            allow_landing=False,
        )
        self.control_dt = 1.0 / control_hz
        self.max_steps = int(round(max_episode_seconds * control_hz))
        self.goal_distance_range = (float(low_goal), float(high_goal))
        self.goal_radius = float(goal_radius)
        self.action_scale = np.array(
            [
                max_horizontal_speed,
                max_horizontal_speed,
                max_vertical_speed,
                max_yaw_rate,
            ]
        )
        self.max_body_rate = float(max_body_rate)
        self.weights = {
            "progress": progress_weight,
            "time": time_weight,
            "crash": crash_penalty,
            "delivery": delivery_bonus,
        }
        try:
            lidar_config = SpinningLidarConfig(
                channels=lidar_channels,
                azimuth_steps=lidar_azimuth_steps,
                max_range=lidar_max_range,
            )
        except InputError as error:
            # Name the environment's arguments, not the LiDAR config's fields.
            raise InputError(f"lidar_{error}") from None
        self.lidar = SpinningLidar(lidar_config)
        self.rangefinder = DownwardRangefinder()

        self.action_space = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
        self.observation_space = self._observation_space()

        self._goal_w = np.zeros(3)
        self._distance = 0.0
        self._steps = 0
        self._path: list[np.ndarray] = []
        self._canvas: TopDownCanvas | None = None

    def _observation_space(self) -> spaces.Box:
        x_min, y_min, x_max, y_max = self.twin.local_extent
        low_height, high_height = self.twin.height_range()
        span_xy = float(max(x_max - x_min, y_max - y_min))
        span_z = float(high_height - low_height) + 1000.0
        num_lidar = self.lidar.config.channels * self.lidar.config.azimuth_steps
        low = np.concatenate(
            [
                np.full(3, -MAX_OBS_SPEED),
                np.full(4, -1.0),
                np.full(3, -MAX_OBS_RATE),
                [0.0],
                [-span_xy, -span_xy, -span_z],
                np.zeros(num_lidar),
            ]
        )
        high = np.concatenate(
            [
                np.full(3, MAX_OBS_SPEED),
                np.full(4, 1.0),
                np.full(3, MAX_OBS_RATE),
                [self.rangefinder.max_range],
                [span_xy, span_xy, span_z],
                np.full(num_lidar, self.lidar.config.max_range),
            ]
        )
        self._obs_low = low.astype(np.float32)
        self._obs_high = high.astype(np.float32)
        return spaces.Box(self._obs_low, self._obs_high, dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Place the drone over a new depot and draw a new delivery point."""
        super().reset(seed=seed)
        depot_xy, goal_xy = self._draw_depot_and_goal()
        depot_ground = float(self.scene.height_at(depot_xy[:1], depot_xy[1:])[0])
        goal_ground = float(self.scene.height_at(goal_xy[:1], goal_xy[1:])[0])
        start_w = np.array([depot_xy[0], depot_xy[1], depot_ground + 5.0])
        self._goal_w = np.array([goal_xy[0], goal_xy[1], goal_ground + 5.0])
        yaw = self.np_random.uniform(-math.pi, math.pi, size=1)
        self.sim.reset(start_w[None, :], yaw=yaw)
        self._distance = float(np.linalg.norm(self._goal_w - start_w))
        self._steps = 0
        self._path = [start_w[:2].copy()]
        self._canvas = None
        return self._observation(), self._info(crashed=False, delivered=False)

    def _draw_depot_and_goal(self) -> tuple[np.ndarray, np.ndarray]:
        return draw_start_and_goal(
            self.np_random,
            self.twin,
            self.loaded.open_cells,
            self.goal_distance_range,
            self.map_name,
        )

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Track the velocity setpoint for one control period."""
        action = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        result = self.sim.step(self._command(action)[None, :])
        self._steps += 1

        pos_w = self.sim.state[0, 0:3]
        self._path.append(pos_w[:2].copy())
        distance = float(np.linalg.norm(self._goal_w - pos_w))
        crashed = bool(
            result.crashed[0] or result.out_of_map[0]
        ) or not self._over_data(pos_w)
        delivered = (not crashed) and distance <= self.goal_radius

        terms = {
            "progress": self.weights["progress"] * (self._distance - distance),
            "time": -self.weights["time"] * self.control_dt,
            "crash": -self.weights["crash"] if crashed else 0.0,
            "delivery": self.weights["delivery"] if delivered else 0.0,
        }
        self._distance = distance
        terminated = crashed or delivered
        truncated = (not terminated) and self._steps >= self.max_steps
        info = self._info(crashed=crashed, delivered=delivered)
        info["contact_speed"] = float(result.contact_speed[0])
        for name, value in terms.items():
            info[f"reward_{name}"] = value
        return (
            self._observation(),
            float(sum(terms.values())),
            terminated,
            truncated,
            info,
        )

    def _command(self, action: np.ndarray) -> np.ndarray:
        """Scale an action in [-1, 1] to the simulator's command row."""
        if self.action_mode == "velocity":
            return action * self.action_scale
        if self.action_mode == "rotor_speed":
            low = self.params.rotor_speed_min
            high = self.params.rotor_speed_max
            return low + 0.5 * (action + 1.0) * (high - low)
        thrust = 0.5 * (action[0] + 1.0) * self.params.max_thrust
        return np.concatenate([[thrust], action[1:] * self.max_body_rate])

    def _over_data(self, pos_w: np.ndarray) -> bool:
        row, col = self.twin.cell_of(pos_w[0], pos_w[1])
        rows, cols = self.twin.shape
        return bool(0 <= row < rows and 0 <= col < cols and self.twin.valid[row, col])

    def _observation(self) -> np.ndarray:
        state = self.sim.state
        pos_w = state[:, 0:3]
        quat_wb = state[:, 6:10]
        height = self.rangefinder.measure(self.scene, pos_w)
        ranges = self.lidar.scan(self.scene, pos_w, quat_wb)
        observation = np.concatenate(
            [
                state[0, 3:6],
                quat_wb[0],
                state[0, 10:13],
                height[:1],
                self._goal_w - pos_w[0],
                ranges[0].ravel(),
            ]
        ).astype(np.float32)
        return np.clip(observation, self._obs_low, self._obs_high)

    def _info(self, crashed: bool, delivered: bool) -> dict[str, Any]:
        return {
            "is_success": delivered,
            "crashed": crashed,
            "distance_to_goal": self._distance,
            "time_s": self._steps * self.control_dt,
            "pos_w": self.sim.state[0, 0:3].copy(),
            "goal_w": self._goal_w.copy(),
        }

    def render(self) -> np.ndarray | None:
        """Return a top-down RGB picture of terrain, drone, path and goal."""
        if self.render_mode != "rgb_array":
            return None
        if self._canvas is None:
            start = self._path[0]
            center = 0.5 * (start + self._goal_w[:2])
            half = 0.5 * float(np.linalg.norm(self._goal_w[:2] - start)) + 100.0
            self._canvas = TopDownCanvas(self.scene, (center[0], center[1]), half)
        return self._canvas.draw(
            np.array(self._path), self._path[-1], self._goal_w[:2], self.goal_radius
        )
