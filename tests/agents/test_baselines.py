import gymnasium as gym
import numpy as np
import pytest
from twin_gym_agents.baselines import RandomPolicy, ScriptedDeliveryController
from twin_gym_agents.evaluate import run_episodes, summarize

import twin_gym  # noqa: F401

ENV_ID = "twin_gym/DroneDelivery-v0"


def test_scripted_controller_delivers_most_episodes():
    env = gym.make(ENV_ID)
    results = run_episodes(env, ScriptedDeliveryController(env), list(range(100)))
    summary = summarize("scripted", results)
    assert summary["episodes"] == 100
    assert summary["success_rate"] >= 0.8
    assert summary["crash_rate"] <= 0.1
    assert np.isfinite(summary["mean_time_to_goal_s"])


def test_random_policy_is_reproducible():
    env = gym.make(ENV_ID)
    first = run_episodes(env, RandomPolicy(env.action_space), [11, 12])
    second = run_episodes(env, RandomPolicy(env.action_space), [11, 12])
    for a, b in zip(first, second, strict=True):
        assert a.episode_return == b.episode_return
        np.testing.assert_array_equal(a.trajectory, b.trajectory)


def test_summary_rates_count_outcomes():
    env = gym.make(ENV_ID, max_episode_seconds=1.0)
    hover = type(
        "Hover",
        (),
        {
            "name": "hover",
            "reset": lambda s, seed: None,
            "act": lambda s, o: np.zeros(4, np.float32),
        },
    )()
    results = run_episodes(env, hover, [0, 1, 2])
    summary = summarize("hover", results)
    assert summary["timeout_rate"] == 1.0
    assert summary["success_rate"] == 0.0
    assert summary["crash_rate"] == 0.0
    assert np.isnan(summary["mean_time_to_goal_s"])
    assert all(len(r.trajectory) == 11 for r in results)


def test_scripted_controller_rejects_other_envs():
    with pytest.raises(TypeError, match="DroneDeliveryEnv"):
        ScriptedDeliveryController(gym.make("CartPole-v1"))
