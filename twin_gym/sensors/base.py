"""Parts every sensor shares: mounting pose, update timer and hooks.

Each sensor model calls its hooks at fixed points, so later work (weather
attenuation, faults, latency) can act on a sensor's output or timing without
editing the model.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin_gym.errors import InputError

__all__ = [
    "MountPose",
    "RateTimer",
    "SensorHooks",
    "check_count",
    "check_positive",
    "check_probability",
]


def _is_real(value):
    return isinstance(value, int | float | np.integer | np.floating) and not (
        isinstance(value, bool)
    )


def check_count(name, value):
    """Raise ``InputError`` unless ``value`` is an integer >= 1 (Python or NumPy)."""
    is_integer = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not (is_integer and value >= 1):
        raise InputError(f"{name} must be an integer >= 1, got {value!r}.")


def check_positive(name, value, allow_zero=False):
    """Raise ``InputError`` unless ``value`` is a finite real number > 0 (or >= 0)."""
    valid = _is_real(value) and math.isfinite(value)
    valid = valid and (value >= 0.0 if allow_zero else value > 0.0)
    if not valid:
        bound = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be a finite number {bound}, got {value!r}.")


def check_probability(name, value):
    """Raise ``InputError`` unless ``value`` is a real number in [0, 1]."""
    if not (_is_real(value) and 0.0 <= value <= 1.0):
        raise InputError(f"{name} must be a probability in [0, 1], got {value!r}.")


def _float_tuple(values, error):
    """Return ``values`` as a tuple of floats, or raise ``InputError(error)``."""
    try:
        return tuple(float(v) for v in values)
    except (TypeError, ValueError):
        raise InputError(error) from None


@dataclass(frozen=True)
class MountPose:
    """Pose of a sensor on its vehicle's body frame (FLU: x forward, y left, z up).

    Attributes:
        pos_b: Sensor origin in the body frame in metres, ``(x, y, z)``.
            Default: the body origin.
        quat_bs: Sensor-to-body unit quaternion, scalar-first
            ``(w, x, y, z)``. Default: sensor axes on the body axes.
    """

    pos_b: tuple[float, float, float] = (0.0, 0.0, 0.0)
    quat_bs: tuple[float, float, float, float] = (1.0, 0.0, 0.0, 0.0)

    def __post_init__(self):
        pos_error = f"pos_b must be 3 finite metres (x, y, z), got {self.pos_b!r}."
        quat_error = (
            f"quat_bs must be a unit quaternion (w, x, y, z), got {self.quat_bs!r}."
        )
        pos = _float_tuple(self.pos_b, pos_error)
        quat = _float_tuple(self.quat_bs, quat_error)
        if len(pos) != 3 or not all(math.isfinite(v) for v in pos):
            raise InputError(pos_error)
        norm = math.sqrt(sum(v * v for v in quat)) if len(quat) == 4 else 0.0
        if not abs(norm - 1.0) <= 1e-6:
            raise InputError(quat_error)
        object.__setattr__(self, "pos_b", pos)
        object.__setattr__(self, "quat_bs", tuple(v / norm for v in quat))

    def sensor_poses_w(self, pos_w, quat_wb):
        """Return sensor poses in the world frame from body poses.

        Args:
            pos_w: Body origins in metres, shape (n, 3), float64.
            quat_wb: Body-to-world unit quaternions ``(w, x, y, z)``, shape
                (n, 4), float64.

        Returns:
            ``(pos_w, quat_ws)`` of the sensor, shapes (n, 3) and (n, 4).
        """
        from twin_gym._frames import quaternion_multiply, rotate_body_to_world

        offset_w = rotate_body_to_world(quat_wb, np.array([self.pos_b]))[:, 0]
        return pos_w + offset_w, quaternion_multiply(quat_wb, np.array(self.quat_bs))


@dataclass
class SensorHooks:
    """Callables that act on a sensor's timing and output, in list order.

    Attributes:
        before_update: Called as ``hook(time_s)`` before an update is taken.
            If any returns False, the update is skipped (a fault or an outage)
            and the sensor outputs nothing for that tick.
        after_output: Called as ``hook(data)`` on the sensor's output, each
            returning the data that the next hook and the caller receive
            (weather attenuation, faults, a latency added to the stamp).
    """

    before_update: list[Callable[[float], bool]] = field(default_factory=list)
    after_output: list[Callable[[Any], Any]] = field(default_factory=list)

    def allow(self, time_s):
        """Return whether all ``before_update`` hooks allow the update at ``time_s``."""
        return all(hook(time_s) for hook in self.before_update)

    def apply(self, data):
        """Pass the data through every ``after_output`` hook and return the result."""
        for hook in self.after_output:
            data = hook(data)
        return data


class RateTimer:
    """Decides when a sensor running at ``update_hz`` is due on the sim clock.

    The update times are ``k / update_hz`` from time 0, so a sensor keeps its
    own rate whatever the control rate of the simulation, and a step that
    jumps over several update times takes one update.

    Args:
        update_hz: Update rate in Hz, > 0.
    """

    def __init__(self, update_hz):
        check_positive("update_hz", update_hz)
        self.update_hz = float(update_hz)
        self.next_index = 0

    def due(self, time_s):
        """Return whether an update is due at ``time_s`` and, if so, consume it."""
        if not (_is_real(time_s) and math.isfinite(time_s)):
            raise InputError(
                f"time_s must be a finite number of seconds, got {time_s!r}."
            )
        # A relative tolerance absorbs the rounding of sums of time steps.
        index = math.floor(time_s * self.update_hz + 1e-9)
        if index < self.next_index:
            return False
        self.next_index = index + 1
        return True

    def reset(self):
        """Make the next call to :meth:`due` fire, as at time 0."""
        self.next_index = 0
