"""Pinhole depth camera with depth and semantic images."""

from twin_gym.sensors.depth_camera.config import DepthCameraConfig
from twin_gym.sensors.depth_camera.sensor import DepthCamera, DepthFrame

__all__ = ["DepthCamera", "DepthCameraConfig", "DepthFrame"]
