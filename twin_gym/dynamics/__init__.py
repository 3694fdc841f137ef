"""Quadrotor and ground-vehicle dynamics and the velocity-setpoint controller."""

from twin_gym.dynamics.controller import VelocityControllerGains, compute_rotor_commands
from twin_gym.dynamics.quadrotor import (
    CRAZYFLIE_2,
    DELIVERY_QUADROTOR,
    DELIVERY_QUADROTOR_WITH_PAYLOAD,
    PRESETS,
    BatteryParams,
    QuadrotorParams,
    get_preset,
    hover_state,
    step_quadrotors,
)

__all__ = [
    "CRAZYFLIE_2",
    "DELIVERY_QUADROTOR",
    "DELIVERY_QUADROTOR_WITH_PAYLOAD",
    "PRESETS",
    "BatteryParams",
    "QuadrotorParams",
    "VelocityControllerGains",
    "compute_rotor_commands",
    "get_preset",
    "hover_state",
    "step_quadrotors",
]
