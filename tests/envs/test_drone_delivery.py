import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import twin_gym
from twin_gym.envs.drone_delivery import OBSERVATION_LAYOUT
from twin_gym.errors import InputError
from twin_gym.terrain.classes import SurfaceClass

ENV_ID = "twin_gym/DroneDelivery-v0"


@pytest.fixture
def env():
    env = gym.make(ENV_ID)
    yield env
    env.close()


@pytest.mark.parametrize("env_id", twin_gym.ENV_IDS, ids=twin_gym.ENV_IDS)
def test_gymnasium_checker_passes(env_id):
    env = gym.make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    messages = [str(w.message) for w in caught]
    assert messages == []


@pytest.mark.parametrize("env_id", twin_gym.ENV_IDS, ids=twin_gym.ENV_IDS)
def test_sb3_checker_passes(env_id):
    env = gym.make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(env.unwrapped)
    messages = [str(w.message) for w in caught]
    assert messages == []


def test_module_form_make_in_fresh_process():
    code = (
        "import gymnasium\n"
        f"env = gymnasium.make('twin_gym:{ENV_ID}')\n"
        "obs, info = env.reset(seed=0)\n"
        "print(obs.shape[0])\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "302"


def test_register_envs_is_idempotent():
    twin_gym.register_envs()
    twin_gym.register_envs()
    assert ENV_ID in gym.registry


def rollout(env, seed, steps):
    observations = []
    observation, _ = env.reset(seed=seed)
    observations.append(observation)
    env.action_space.seed(seed)
    for _ in range(steps):
        observation, reward, terminated, truncated, _ = env.step(
            env.action_space.sample()
        )
        observations.append(np.append(observation, reward))
        if terminated or truncated:
            break
    return observations


def test_same_seed_same_trajectory():
    first = rollout(gym.make(ENV_ID), seed=7, steps=60)
    second = rollout(gym.make(ENV_ID), seed=7, steps=60)
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


def test_different_seed_different_start():
    first = rollout(gym.make(ENV_ID), seed=1, steps=0)[0]
    second = rollout(gym.make(ENV_ID), seed=2, steps=0)[0]
    assert not np.array_equal(first, second)


def test_pickle_round_trip(env):
    env.reset(seed=3)
    copy = pickle.loads(pickle.dumps(env.unwrapped))
    action = np.array([0.3, -0.2, 0.1, 0.0], dtype=np.float32)
    original = env.unwrapped.step(action)[0]
    restored = copy.step(action)[0]
    np.testing.assert_array_equal(original, restored)


def test_observations_stay_in_bounds(env):
    space = env.observation_space
    env.action_space.seed(0)
    for seed in range(3):
        observation, _ = env.reset(seed=seed)
        assert space.contains(observation)
        for _ in range(100):
            observation, *_, terminated, truncated, _ = env.step(
                env.action_space.sample()
            )
            assert space.contains(observation)
            if terminated or truncated:
                break


def test_goal_and_depot_on_valid_cells(env):
    twin = env.unwrapped.twin
    for seed in range(20):
        _, info = env.reset(seed=seed)
        for point in (info["pos_w"], info["goal_w"]):
            row, col = twin.cell_of(point[0], point[1])
            assert twin.valid[row, col]


def test_reset_observation_fields(env):
    observation, info = env.reset(seed=5)
    layout = OBSERVATION_LAYOUT
    goal_rel = observation[layout.goal_rel_w]
    np.testing.assert_allclose(goal_rel, info["goal_w"] - info["pos_w"], atol=1e-3)
    # The drone starts 5 m above the depot's surface, level and at rest.
    assert observation[layout.height_above_ground][0] == pytest.approx(5.0, abs=1e-3)
    np.testing.assert_allclose(observation[layout.vel_w], 0.0, atol=1e-9)
    low, high = env.unwrapped.goal_distance_range
    assert low - 1 <= np.hypot(*goal_rel[:2]) <= high + 1


def test_reward_terms_sum_to_reward(env):
    env.reset(seed=4)
    _, reward, _, _, info = env.step(np.array([1.0, 0.0, 0.5, 0.0], dtype=np.float32))
    terms = [value for key, value in info.items() if key.startswith("reward_")]
    assert len(terms) == 4
    assert reward == pytest.approx(sum(terms))


def test_dive_into_ground_crashes(env):
    env.reset(seed=0)
    down = np.array([0.0, 0.0, -1.0, 0.0], dtype=np.float32)
    for _ in range(100):
        _, reward, terminated, truncated, info = env.step(down)
        if terminated:
            break
    assert terminated
    assert not truncated
    assert info["crashed"]
    assert not info["is_success"]
    assert info["reward_crash"] == -100.0
    assert info["contact_speed"] > 0.5


def test_hover_truncates_at_time_limit():
    env = gym.make(ENV_ID, max_episode_seconds=2.0)
    env.reset(seed=0)
    hover = np.zeros(4, dtype=np.float32)
    step = 0
    while step < 100:
        step += 1
        _, _, terminated, truncated, info = env.step(hover)
        if terminated or truncated:
            break
    assert truncated
    assert not terminated
    assert step == 20
    assert info["time_s"] == pytest.approx(2.0)


def test_render_shows_drone_and_goal():
    env = gym.make(ENV_ID, render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.shape == (400, 400, 3)
    assert image.dtype == np.uint8
    red = (image[..., 0] == 220) & (image[..., 1] == 30) & (image[..., 2] == 30)
    gold = (image[..., 0] == 255) & (image[..., 1] == 215) & (image[..., 2] == 0)
    assert red.sum() > 10
    assert gold.sum() > 10
    # The view is centred between depot and goal, so the drone is off centre.
    rows, cols = np.nonzero(red)
    assert abs(cols.mean() - 200) + abs(rows.mean() - 200) > 20


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"goal_distance_range": (300.0, 100.0)}, "goal_distance_range"),
        ({"goal_radius": 0.0}, "goal_radius"),
        ({"render_mode": "ansi"}, "render_mode"),
        ({"control_hz": 30.0}, "physics_hz"),
        ({"map_name": "atlantis"}, "atlantis"),
        ({"lidar_channels": 0}, "lidar_channels must be an integer"),
        ({"lidar_max_range": -1.0}, "lidar_max_range must be"),
    ],
    ids=[
        "goal-range",
        "goal-radius",
        "render-mode",
        "rate-ratio",
        "unknown-map",
        "lidar-channels",
        "lidar-range",
    ],
)
def test_invalid_arguments_raise(kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        gym.make(ENV_ID, **kwargs)


def test_structures_avoided_and_sensed():
    env = gym.make(ENV_ID, map_name="industrial")
    twin = env.unwrapped.twin
    for seed in range(10):
        _, info = env.reset(seed=seed)
        for point in (info["pos_w"], info["goal_w"]):
            row, col = twin.cell_of(point[0], point[1])
            assert twin.structure_heights[row, col] == 0.0

    # A ray straight down onto a roof hits the building, not the ground.
    rows, cols = np.nonzero(twin.structure_heights > 5.0)
    row, col = rows[0], cols[0]
    x, y = twin.cell_centre(row, col)
    roof = float(twin.heights[row, col] + twin.structure_heights[row, col])
    hits = env.unwrapped.scene.cast(
        np.array([[x, y, roof + 50.0]]), np.array([[0.0, 0.0, -1.0]]), 200.0
    )
    assert hits.hit[0]
    assert hits.range[0] == pytest.approx(50.0, abs=1e-3)
    assert hits.surface_class[0] == SurfaceClass.BUILDING
