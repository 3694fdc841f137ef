"""Simulated sensors that read the twin through ray casts."""

from twin_gym.sensors.lidar import SpinningLidar, SpinningLidarConfig
from twin_gym.sensors.rangefinder import DownwardRangefinder

__all__ = ["DownwardRangefinder", "SpinningLidar", "SpinningLidarConfig"]
