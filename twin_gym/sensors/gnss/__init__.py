"""GNSS receiver through the twin's CRS with noise and fix loss."""

from twin_gym.sensors.gnss.config import GnssConfig
from twin_gym.sensors.gnss.sensor import Gnss, GnssFix

__all__ = ["Gnss", "GnssConfig", "GnssFix"]
