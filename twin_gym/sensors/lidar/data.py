"""Output of one LiDAR revolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LidarScan:
    """One revolution of a spinning LiDAR for each agent.

    Arrays have the shape (n_agents, channels, azimuth_steps) plus a trailing
    axis of 3 for points. Lost returns (no hit within ``max_range``, dropout
    or an intensity below ``min_intensity``) have ``valid`` False, range and
    intensity 0, points NaN and class ``MISS_CLASS`` (255).

    Attributes:
        stamp_s: Simulation time of the first firing, seconds.
        valid: Whether each beam returned a point, bool.
        range: Measured range with noise in metres, float64.
        intensity: Return intensity in [0, 1], float64: the class
            reflectivity times the cosine of the incidence angle.
        surface_class: :class:`SurfaceClass` of the surface hit, uint8.
        points_s: Points in the sensor frame at each beam's own firing pose,
            as a real unit reports them, metres, float64.
        points_w: The same points in the local world frame, metres, float64.
        timestamps_s: Firing time of each beam, seconds, float64.
    """

    stamp_s: float
    valid: np.ndarray
    range: np.ndarray
    intensity: np.ndarray
    surface_class: np.ndarray
    points_s: np.ndarray
    points_w: np.ndarray
    timestamps_s: np.ndarray
