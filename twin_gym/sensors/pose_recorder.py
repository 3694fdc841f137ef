"""Recorder of body poses over the last few simulation steps."""

from __future__ import annotations

import numpy as np

from twin_gym._frames import validate_pose_history
from twin_gym.errors import InputError

__all__ = ["PoseRecorder"]


class PoseRecorder:
    """Keeps the poses of recent steps so a LiDAR revolution can be interpolated.

    ``DroneSim.pose_history`` covers only the last control step, which is
    often shorter than a LiDAR revolution. Appending it after every step
    builds a history that spans the revolution.

    Args:
        duration_s: How far back to keep poses, seconds, > 0.
    """

    def __init__(self, duration_s):
        if isinstance(duration_s, bool) or not (
            isinstance(duration_s, int | float) and duration_s > 0.0
        ):
            raise InputError(f"duration_s must be > 0 seconds, got {duration_s!r}.")
        self.duration_s = float(duration_s)
        self._history = None

    def append(self, pose_history):
        """Add one step's poses, shape (n_agents, k, 8), rows ``[t, pos, quat]``."""
        history = validate_pose_history(pose_history)
        if self._history is None or self._history.shape[0] != history.shape[0]:
            self._history = history.copy()
        else:
            # A step's first row repeats the previous step's last pose.
            newer = history[:, :, 0] > self._history[:1, -1:, 0]
            self._history = np.concatenate([self._history, history[:, newer[0]]], 1)
        keep = self._history[0, :, 0] >= self._history[0, -1, 0] - self.duration_s
        self._history = self._history[:, keep]

    @property
    def history(self):
        """Recorded poses, shape (n_agents, k, 8), ascending time, or None."""
        return self._history
