"""Gymnasium environments of twin_gym and their registration."""

from gymnasium.envs.registration import register, registry

ENV_IDS = ("twin_gym/DroneDelivery-v0", "twin_gym/RoverNavigation-v0")
"""Every environment id that :func:`register_envs` registers."""


def register_envs() -> None:
    """Register twin_gym's environment ids with Gymnasium; safe to call twice."""
    if "twin_gym/DroneDelivery-v0" not in registry:
        register(
            id="twin_gym/DroneDelivery-v0",
            entry_point="twin_gym.envs.drone_delivery:DroneDeliveryEnv",
        )
    if "twin_gym/RoverNavigation-v0" not in registry:
        register(
            id="twin_gym/RoverNavigation-v0",
            entry_point="twin_gym.envs.rover_navigation:RoverNavigationEnv",
        )
