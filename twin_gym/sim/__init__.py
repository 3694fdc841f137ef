"""Simulation core that steps drones over the terrain twin."""

from twin_gym.sim.core import DroneSim, StepResult

__all__ = ["DroneSim", "StepResult"]
