"""Rangefinders: a body-fixed beam and a gimballed downward altimeter."""

from twin_gym.sensors.rangefinder.config import POINTING_DOWN, RangefinderConfig
from twin_gym.sensors.rangefinder.downward import DownwardRangefinder
from twin_gym.sensors.rangefinder.sensor import Rangefinder, RangeReading

__all__ = [
    "POINTING_DOWN",
    "DownwardRangefinder",
    "RangeReading",
    "Rangefinder",
    "RangefinderConfig",
]
