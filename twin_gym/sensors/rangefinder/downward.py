"""Downward rangefinder that measures the distance to the terrain below."""

import math
from dataclasses import dataclass

import numpy as np

from twin_gym._frames import validate_positions
from twin_gym.errors import InputError

__all__ = ["DownwardRangefinder"]


@dataclass(frozen=True)
class DownwardRangefinder:
    """Rangefinder that points along world -z from each body origin.

    It ignores the body attitude, like a gimballed altimeter.

    Attributes:
        max_range: Maximum range in metres, finite and > 0. A reading without
            a hit within it, including over a point off the map, is
            ``max_range``.
    """

    max_range: float = 200.0

    def __post_init__(self):
        valid_type = isinstance(
            self.max_range, int | float | np.integer | np.floating
        ) and not isinstance(self.max_range, bool)
        if not valid_type or not (
            math.isfinite(self.max_range) and self.max_range > 0.0
        ):
            raise InputError(
                f"max_range must be a finite number of metres > 0, got "
                f"{self.max_range!r}."
            )

    def measure(self, scene, pos_w):
        """Return the distance straight down from each body origin to the surface.

        Args:
            scene: The :class:`~twin_gym.raycast.scene.RaycastScene` to measure.
            pos_w: Body origins in the local world frame in metres, shape
                (n_agents, 3).

        Returns:
            Ranges in metres, shape (n_agents,), float32. An origin on or below
            the surface reads 0.

        Raises:
            InputError: If ``pos_w`` has the wrong shape or a non-finite value.
        """
        pos = validate_positions(pos_w)
        directions = np.zeros_like(pos)
        directions[:, 2] = -1.0
        hits = scene.cast(pos, directions, self.max_range)
        ranges = np.where(hits.hit, hits.range, self.max_range)
        return ranges.astype(np.float32)
