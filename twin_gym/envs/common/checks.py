"""Argument checks shared by the task environments."""

from __future__ import annotations

import math

from twin_gym.errors import InputError


def check_task_arguments(
    render_mode: str | None,
    render_modes: list[str],
    goal_distance_range: tuple[float, float],
    positive: dict[str, float],
) -> None:
    """Raise InputError for an unsupported render mode or an invalid number.

    Args:
        render_mode: Requested render mode, or None.
        render_modes: Modes the environment supports.
        goal_distance_range: (min, max) start-to-goal distance in metres.
        positive: Arguments that must be finite and positive, by name.
    """
    if render_mode is not None and render_mode not in render_modes:
        raise InputError(
            f"render_mode {render_mode!r} is not supported; use 'rgb_array' or None"
        )
    low_goal, high_goal = goal_distance_range
    if not 0 < low_goal <= high_goal:
        raise InputError(
            f"goal_distance_range {goal_distance_range} must satisfy "
            "0 < min <= max, in metres"
        )
    for name, value in positive.items():
        if not (math.isfinite(value) and value > 0):
            raise InputError(f"{name} must be a positive number, got {value}")
