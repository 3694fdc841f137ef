"""Simulation cores that step drones and ground vehicles over the terrain twin."""

from twin_gym.sim.core import DroneSim, StepResult
from twin_gym.sim.rover import RoverSim, RoverStepResult

__all__ = ["DroneSim", "RoverSim", "RoverStepResult", "StepResult"]
