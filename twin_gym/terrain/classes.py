"""Semantic classes of the twin's surface, shared by every part of twin_gym."""

from enum import IntEnum


class SurfaceClass(IntEnum):
    """Semantic class of a cell or of what a ray hit, stored as ``uint8``."""

    GROUND = 0
    ROAD = 1
    BUILDING = 2
    WATER = 3
    VEGETATION = 4
    OBSTACLE = 5
    """A dynamic obstacle that is not in the GIS data."""
    NO_DATA = 6
    """A cell whose source height is missing and could not be filled."""
