"""Simulated sensors that read the twin through ray casts and the true motion.

Every sensor has a frozen config dataclass, a mounting pose on the body
(``MountPose``) and an update rate with a ``RateTimer`` on the simulation
clock. It also has a noise generator ``np_random`` and ``SensorHooks``, where
later work can act on its output or timing. ``docs/sensors.md`` describes each model.
"""

from twin_gym.sensors.base import MountPose, RateTimer, SensorHooks
from twin_gym.sensors.depth_camera import DepthCamera, DepthCameraConfig, DepthFrame
from twin_gym.sensors.gnss import Gnss, GnssConfig, GnssFix
from twin_gym.sensors.imu import Imu, ImuConfig, ImuSample
from twin_gym.sensors.lidar import LidarScan, SpinningLidar, SpinningLidarConfig
from twin_gym.sensors.planar import PlanarScan, PlanarScanner, PlanarScannerConfig
from twin_gym.sensors.pose_recorder import PoseRecorder
from twin_gym.sensors.rangefinder import (
    DownwardRangefinder,
    Rangefinder,
    RangefinderConfig,
    RangeReading,
)

__all__ = [
    "DepthCamera",
    "DepthCameraConfig",
    "DepthFrame",
    "DownwardRangefinder",
    "Gnss",
    "GnssConfig",
    "GnssFix",
    "Imu",
    "ImuConfig",
    "ImuSample",
    "LidarScan",
    "MountPose",
    "PlanarScan",
    "PlanarScanner",
    "PlanarScannerConfig",
    "PoseRecorder",
    "RangeReading",
    "Rangefinder",
    "RangefinderConfig",
    "RateTimer",
    "SensorHooks",
    "SpinningLidar",
    "SpinningLidarConfig",
]
