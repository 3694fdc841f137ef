"""Spinning 3D LiDAR: beam pattern presets, noise, intensity and point clouds."""

from twin_gym.sensors.lidar.config import DEFAULT_REFLECTIVITY, SpinningLidarConfig
from twin_gym.sensors.lidar.data import LidarScan
from twin_gym.sensors.lidar.presets import LIDAR_PRESETS
from twin_gym.sensors.lidar.sensor import SpinningLidar

__all__ = [
    "DEFAULT_REFLECTIVITY",
    "LIDAR_PRESETS",
    "LidarScan",
    "SpinningLidar",
    "SpinningLidarConfig",
]
