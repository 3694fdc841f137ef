"""Quadrotor dynamics and the velocity-setpoint controller."""

from twin_gym.dynamics.controller import VelocityControllerGains, compute_rotor_commands
from twin_gym.dynamics.quadrotor import (
    DELIVERY_QUADROTOR,
    PRESETS,
    QuadrotorParams,
    get_preset,
    hover_state,
    step_quadrotors,
)

__all__ = [
    "DELIVERY_QUADROTOR",
    "PRESETS",
    "QuadrotorParams",
    "VelocityControllerGains",
    "compute_rotor_commands",
    "get_preset",
    "hover_state",
    "step_quadrotors",
]
