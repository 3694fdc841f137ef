"""DroneDelivery-v0 action modes: the default is unchanged, the others fly."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import twin_gym  # noqa: F401  (registers the ids)
from twin_gym.errors import InputError


@pytest.mark.parametrize("action_mode", ["rotor_speed", "thrust_rates"])
def test_action_mode_passes_checker(action_mode):
    env = gym.make("twin_gym/DroneDelivery-v0", action_mode=action_mode)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_rotor_speed_hover_action_holds_altitude():
    env = gym.make("twin_gym/DroneDelivery-v0", action_mode="rotor_speed")
    base = env.unwrapped
    env.reset(seed=3)
    z0 = base.sim.state[0, 2]
    params = base.params
    span = params.rotor_speed_max - params.rotor_speed_min
    hover = 2.0 * (params.hover_rotor_speed - params.rotor_speed_min) / span - 1.0
    for _ in range(10):
        env.step(np.full(4, hover, dtype=np.float32))
    assert abs(base.sim.state[0, 2] - z0) < 0.01
    env.close()


def test_thrust_rates_full_thrust_climbs():
    env = gym.make("twin_gym/DroneDelivery-v0", action_mode="thrust_rates")
    base = env.unwrapped
    env.reset(seed=3)
    z0 = base.sim.state[0, 2]
    for _ in range(5):
        env.step(np.array([1.0, 0.0, 0.0, 0.0], dtype=np.float32))
    assert base.sim.state[0, 2] > z0 + 1.0
    env.close()


def test_unknown_action_mode_raises():
    with pytest.raises(InputError, match="action_mode"):
        gym.make("twin_gym/DroneDelivery-v0", action_mode="attitude")
