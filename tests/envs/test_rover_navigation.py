"""Tests of twin_gym/RoverNavigation-v0: checkers, determinism, failures."""

import math
import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import twin_gym  # noqa: F401  (registers the ids)
from twin_gym.dynamics import _ground_kernels as gk
from twin_gym.envs.rover_navigation import (
    ROVER_OBSERVATION_LAYOUT,
    RoverNavigationEnv,
)
from twin_gym.errors import InputError

ENV_ID = "twin_gym/RoverNavigation-v0"


@pytest.fixture
def env():
    env = gym.make(ENV_ID)
    yield env
    env.close()


def test_gymnasium_checker_passes_with_render():
    env = gym.make(ENV_ID, render_mode="rgb_array")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []


def test_sb3_checker_passes():
    env = gym.make(ENV_ID)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb3_check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []


def rollout(env, seed, steps=40):
    observation, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    observations = [observation]
    rewards = []
    for _ in range(steps):
        observation, reward, terminated, truncated, _ = env.step(
            env.action_space.sample()
        )
        observations.append(observation)
        rewards.append(reward)
        if terminated or truncated:
            break
    return np.array(observations), np.array(rewards)


def test_same_seed_same_trajectory():
    first = rollout(gym.make(ENV_ID), 5)
    second = rollout(gym.make(ENV_ID), 5)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_different_seed_different_start(env):
    first, _ = env.reset(seed=1)
    second, _ = env.reset(seed=2)
    assert not np.array_equal(first, second)


def test_pickle_round_trip(env):
    env.reset(seed=3)
    env.step(np.array([0.2, 0.5, -1.0], dtype=np.float32))
    copy = pickle.loads(pickle.dumps(env))
    action = np.array([-0.3, 1.0, -1.0], dtype=np.float32)
    expected = env.step(action)
    got = copy.step(action)
    np.testing.assert_array_equal(expected[0], got[0])
    assert expected[1] == got[1]


def test_reward_terms_sum_to_reward(env):
    env.reset(seed=4)
    _, reward, _, _, info = env.step(np.array([0.0, 1.0, -1.0], dtype=np.float32))
    terms = [info[f"reward_{name}"] for name in ("progress", "time", "failure", "goal")]
    assert reward == pytest.approx(sum(terms))


def test_reset_places_vehicle_on_surface(env):
    observation, info = env.reset(seed=6)
    base = env.unwrapped
    x, y, z = info["pos_w"]
    state = base.sim.state[0]
    layout = ROVER_OBSERVATION_LAYOUT
    assert np.all(observation[layout.vel_b] == 0.0)
    # Within the 30 m cells the surface is planar, so z is the plane's height.
    assert z == pytest.approx(float(base.scene.height_at([x], [y])[0]), abs=0.05)
    assert abs(state[gk.S_PITCH]) < math.radians(20.0)
    goal = observation[layout.goal_rel_b]
    low, high = base.goal_distance_range
    assert low - 1e-3 <= math.hypot(goal[0], goal[1]) <= high + 1e-3


def test_goal_in_body_frame(env):
    observation, info = env.reset(seed=7)
    yaw = env.unwrapped.sim.state[0, gk.S_YAW]
    offset = info["goal_w"][:2] - info["pos_w"][:2]
    forward = math.cos(yaw) * offset[0] + math.sin(yaw) * offset[1]
    left = -math.sin(yaw) * offset[0] + math.cos(yaw) * offset[1]
    layout = ROVER_OBSERVATION_LAYOUT
    np.testing.assert_allclose(
        observation[layout.goal_rel_b][:2], [forward, left], rtol=1e-5
    )


def test_stuck_rule_counts_slow_steps_on_slope(env):
    env.reset(seed=8)
    base = env.unwrapped
    result = base.sim.step(np.zeros((1, 3)))
    state = base.sim.state[0].copy()
    state[gk.S_VX] = 0.05
    state[gk.S_PITCH] = math.radians(10.0)
    drive = np.array([0.0, 1.0, -1.0])
    failures = [base._failure(result, state, drive) for _ in range(base.stuck_steps)]
    assert failures[:-1] == [""] * (base.stuck_steps - 1)
    assert failures[-1] == "stuck"
    # A level stretch or a released drive restarts the count.
    level = state.copy()
    level[gk.S_PITCH] = 0.0
    assert base._failure(result, level, drive) == ""
    assert base._failure(result, state, drive) == ""
    assert base._failure(result, state, np.zeros(3)) == ""


def test_full_throttle_downhill_can_roll_over():
    env = gym.make(ENV_ID, goal_distance_range=(100.0, 300.0))
    failures = set()
    for seed in range(12):
        observation, _ = env.reset(seed=seed)
        while True:
            goal = observation[ROVER_OBSERVATION_LAYOUT.goal_rel_b]
            steer = np.clip(1.5 * math.atan2(goal[1], goal[0]) / 0.61, -1, 1)
            action = np.array([steer, 1.0, -1.0], dtype=np.float32)
            observation, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
        failures.add(info["failure"])
        if "rolled_over" in failures:
            break
    assert "rolled_over" in failures


def test_render_shows_vehicle_and_goal():
    env = gym.make(ENV_ID, render_mode="rgb_array")
    env.reset(seed=9)
    env.step(np.array([0.0, 1.0, -1.0], dtype=np.float32))
    image = env.render()
    assert image.shape == (400, 400, 3)
    assert image.dtype == np.uint8
    assert np.any(np.all(image == (220, 30, 30), axis=-1))
    assert np.any(np.all(image == (255, 215, 0), axis=-1))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"goal_distance_range": (50.0, 10.0)}, "goal_distance_range"),
        ({"stuck_seconds": 0.0}, "stuck_seconds"),
        ({"vehicle": "tank"}, "not found"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_invalid_arguments_raise(kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        RoverNavigationEnv(**kwargs)
