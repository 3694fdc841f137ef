"""2D planar scanner."""

from twin_gym.sensors.planar.config import PlanarScannerConfig
from twin_gym.sensors.planar.sensor import PlanarScan, PlanarScanner

__all__ = ["PlanarScan", "PlanarScanner", "PlanarScannerConfig"]
