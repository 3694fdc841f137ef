"""The scripted rover controller on RoverNavigation-v0."""

import gymnasium as gym
import numpy as np
import pytest
from twin_gym_agents.baselines import ScriptedRoverController
from twin_gym_agents.evaluate import run_episodes, summarize

import twin_gym  # noqa: F401

ENV_ID = "twin_gym/RoverNavigation-v0"


def test_scripted_rover_reaches_most_goals():
    env = gym.make(ENV_ID)
    results = run_episodes(env, ScriptedRoverController(env), list(range(30)))
    summary = summarize("scripted", results)
    assert summary["success_rate"] >= 0.8
    assert summary["crash_rate"] <= 0.1
    assert np.isfinite(summary["mean_time_to_goal_s"])


def test_scripted_rover_rejects_other_envs():
    with pytest.raises(TypeError, match="RoverNavigationEnv"):
        ScriptedRoverController(gym.make("CartPole-v1"))
