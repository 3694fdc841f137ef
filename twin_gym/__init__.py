"""Gymnasium environments on digital twins of real terrain.

Importing the package registers its environment ids, so
``gymnasium.make("twin_gym/DroneDelivery-v0")`` works after ``import
twin_gym`` and ``gymnasium.make("twin_gym:twin_gym/DroneDelivery-v0")`` works
in a fresh process.
"""

__version__ = "0.1.0"

from twin_gym.envs import ENV_IDS, register_envs  # noqa: E402

register_envs()

__all__ = ["ENV_IDS", "__version__", "register_envs"]
