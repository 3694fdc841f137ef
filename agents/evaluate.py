"""Run policies over seeded episodes and tabulate how they did."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np
from twin_gym_agents.baselines import Policy

from twin_gym.terrain.cache import write_atomic

SUMMARY_COLUMNS = (
    "policy",
    "episodes",
    "success_rate",
    "crash_rate",
    "timeout_rate",
    "mean_return",
    "std_return",
    "mean_time_to_goal_s",
)


@dataclass
class EpisodeResult:
    """Outcome of one evaluation episode."""

    seed: int
    """Seed passed to ``reset``."""
    success: bool
    """Whether the task was completed (``info["is_success"]``)."""
    crashed: bool
    """The vehicle crashed."""
    truncated: bool
    """The time limit ended the episode."""
    episode_return: float
    """Sum of rewards."""
    time_s: float
    """Simulated time at the end of the episode, seconds."""
    trajectory: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 3)))
    """Positions at every control step, shape (steps + 1, 3), local metres."""
    goal_w: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(3))
    """Goal position in local metres."""


def run_episodes(env: gym.Env, policy: Policy, seeds: list[int]) -> list[EpisodeResult]:
    """Run one episode per seed and return how each ended."""
    results = []
    for seed in seeds:
        observation, info = env.reset(seed=seed)
        policy.reset(seed)
        positions = [info["pos_w"]]
        episode_return = 0.0
        while True:
            action = policy.act(observation)
            observation, reward, terminated, truncated, info = env.step(action)
            episode_return += float(reward)
            positions.append(info["pos_w"])
            if terminated or truncated:
                break
        results.append(
            EpisodeResult(
                seed=seed,
                success=bool(info["is_success"]),
                crashed=bool(info["crashed"]),
                truncated=bool(truncated and not terminated),
                episode_return=episode_return,
                time_s=float(info["time_s"]),
                trajectory=np.array(positions),
                goal_w=np.asarray(info["goal_w"]),
            )
        )
    return results


def summarize(policy_name: str, results: list[EpisodeResult]) -> dict[str, float | str]:
    """Return the summary row of one policy: rates, return and time to goal.

    ``mean_time_to_goal_s`` averages successful episodes only and is NaN when
    there are none.
    """
    returns = np.array([r.episode_return for r in results])
    goal_times = [r.time_s for r in results if r.success]
    return {
        "policy": policy_name,
        "episodes": len(results),
        "success_rate": float(np.mean([r.success for r in results])),
        "crash_rate": float(np.mean([r.crashed for r in results])),
        "timeout_rate": float(np.mean([r.truncated for r in results])),
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "mean_time_to_goal_s": float(np.mean(goal_times)) if goal_times else math.nan,
    }


def write_summary_csv(path: Path, rows: list[dict]) -> None:
    """Write summary rows to ``path`` as CSV, atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SUMMARY_COLUMNS)
    writer.writeheader()
    for row in rows:
        writer.writerow(row)

    def write(temporary: str) -> None:
        Path(temporary).write_text(buffer.getvalue())

    write_atomic(Path(path), write)


def format_markdown_table(rows: list[dict]) -> str:
    """Return summary rows as a Markdown table."""
    header = "| " + " | ".join(SUMMARY_COLUMNS) + " |"
    rule = "|" + "---|" * len(SUMMARY_COLUMNS)
    lines = [header, rule]
    for row in rows:
        cells = []
        for column in SUMMARY_COLUMNS:
            value = row[column]
            cells.append(f"{value:.3f}" if isinstance(value, float) else str(value))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    from twin_gym.cli import main

    sys.exit(main(["evaluate", *sys.argv[1:]]))
