"""The end-to-end demo: twin, baselines, brief PPO training, report."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import gymnasium as gym
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import LightSource  # noqa: E402
from twin_gym_agents.baselines import (  # noqa: E402
    RandomPolicy,
    ScriptedDeliveryController,
    ScriptedRoverController,
)
from twin_gym_agents.evaluate import (  # noqa: E402
    EpisodeResult,
    format_markdown_table,
    run_episodes,
    summarize,
    write_summary_csv,
)

import twin_gym  # noqa: E402
from twin_gym.envs.common.twins import load_twin_map  # noqa: E402
from twin_gym.maps import DEFAULT_MAP, load_map  # noqa: E402
from twin_gym.terrain.cache import write_atomic  # noqa: E402

logger = logging.getLogger(__name__)

ENV_ID = "twin_gym/DroneDelivery-v0"
ROVER_ENV_ID = "twin_gym/RoverNavigation-v0"


@dataclass(frozen=True)
class DemoOutcome:
    """Paths the demo wrote and the numbers its report states."""

    report_path: Path
    """Markdown report."""
    figure_path: Path
    """PNG of the map with trajectories."""
    summaries: list[dict]
    """One summary row per drone policy: scripted, random, ppo."""
    rover_summaries: list[dict]
    """One summary row per rover policy: scripted, random."""
    ppo_margin: float
    """PPO's mean return minus random actions' mean return."""


def run_demo(
    output_dir: Path,
    episodes: int = 20,
    timesteps: int = 40_000,
    seed: int = 0,
    map_name: str = DEFAULT_MAP,
    progress_bar: bool = True,
    echo=print,
) -> DemoOutcome:
    """Build the twin, evaluate baselines, train PPO briefly and report.

    Args:
        output_dir: Folder for the report, figure, results table and model.
        episodes: Evaluation episodes per policy, on seeds
            ``seed .. seed + episodes - 1``.
        timesteps: PPO training budget in environment steps.
        seed: First evaluation seed and the training seed.
        map_name: Bundled map name or map TOML path.
        progress_bar: Show the training progress bar.
        echo: Receives one line per stage, for the command line.
    """
    started = time.perf_counter()
    output_dir.mkdir(parents=True, exist_ok=True)
    definition = load_map(map_name)
    loaded = load_twin_map(map_name)
    twin = loaded.twin
    echo(f"twin {definition.name}: {twin.summary()['size']} at {twin.cell_size:g} m")

    env_kwargs = {"map_name": map_name}
    env = gym.make(ENV_ID, **env_kwargs)
    seeds = list(range(seed, seed + episodes))
    results: dict[str, list[EpisodeResult]] = {}

    echo(f"evaluating the scripted baseline on {episodes} episodes")
    results["scripted"] = run_episodes(env, ScriptedDeliveryController(env), seeds)
    echo(f"evaluating random actions on {episodes} episodes")
    results["random"] = run_episodes(env, RandomPolicy(env.action_space), seeds)

    from twin_gym_agents.policies import PPOPolicy
    from twin_gym_agents.train import train_ppo

    echo(f"training PPO for {timesteps} steps")
    run_dir = output_dir / "ppo"
    train_ppo(ENV_ID, timesteps, seed, run_dir, env_kwargs, progress_bar=progress_bar)
    echo(f"evaluating PPO on {episodes} episodes")
    results["ppo"] = run_episodes(env, PPOPolicy.load(run_dir), seeds)
    env.close()

    echo(f"evaluating the rover baseline and random actions on {episodes} episodes")
    rover_env = gym.make(ROVER_ENV_ID, **env_kwargs)
    rover_summaries = [
        summarize(
            "scripted",
            run_episodes(rover_env, ScriptedRoverController(rover_env), seeds),
        ),
        summarize(
            "random",
            run_episodes(rover_env, RandomPolicy(rover_env.action_space), seeds),
        ),
    ]
    rover_env.close()

    summaries = [summarize(name, runs) for name, runs in results.items()]
    write_summary_csv(output_dir / "results.csv", summaries)
    write_summary_csv(output_dir / "rover_results.csv", rover_summaries)
    figure_path = output_dir / "trajectories.png"
    _plot_trajectories(loaded, results, figure_path, definition.name)

    by_name = {row["policy"]: row for row in summaries}
    margin = by_name["ppo"]["mean_return"] - by_name["random"]["mean_return"]
    elapsed = time.perf_counter() - started
    report = _report_text(
        definition.name, twin, summaries, rover_summaries, margin, timesteps, elapsed
    )
    report_path = output_dir / "report.md"
    write_atomic(report_path, lambda temporary: Path(temporary).write_text(report))
    return DemoOutcome(report_path, figure_path, summaries, rover_summaries, margin)


def _report_text(
    map_name, twin, summaries, rover_summaries, margin, timesteps, elapsed
) -> str:
    facts = twin.summary()
    verdict = "beats" if margin > 0 else "does not beat"
    low, high = facts["height_range_m"]
    lines = [
        "# twin_gym demo",
        "",
        f"## {ENV_ID} on {map_name}",
        "",
        f"- twin: {facts['size']} at {facts['cell_size_m']:g} m, CRS {facts['crs']}, "
        f"heights {low:.1f} to {high:.1f} m",
        f"- anchor (lon, lat): {facts['anchor_lonlat'][0]:.6f}, "
        f"{facts['anchor_lonlat'][1]:.6f}",
        f"- PPO trained for {timesteps} steps; evaluated with a deterministic policy",
        f"- twin_gym {twin_gym.__version__}; demo ran in {elapsed:.0f} s",
        "",
        format_markdown_table(summaries),
        "",
        f"PPO {verdict} random actions on mean return by {margin:+.1f} "
        "(same seeds for every policy).",
        "",
        "![trajectories](trajectories.png)",
        "",
        f"## {ROVER_ENV_ID} on {map_name}",
        "",
        format_markdown_table(rover_summaries),
        "",
    ]
    return "\n".join(lines)


def _shade(loaded, center, half, pixels=300):
    """Return a hillshaded RGB image of a square of the twin and its extent."""
    step = 2 * half / pixels
    offsets = (np.arange(pixels) + 0.5) * step
    grid_x, grid_y = np.meshgrid(center[0] - half + offsets, center[1] + half - offsets)
    heights = loaded.scene.height_at(grid_x.ravel(), grid_y.ravel())
    heights = heights.reshape(grid_x.shape)
    heights = np.where(np.isfinite(heights), heights, np.nanmin(heights))
    shaded = LightSource(azdeg=315, altdeg=45).shade(
        heights, cmap=plt.get_cmap("gist_earth"), blend_mode="soft", dx=step, dy=step
    )
    extent = (center[0] - half, center[0] + half, center[1] - half, center[1] + half)
    return shaded, extent


def _plot_trajectories(loaded, results, path: Path, map_name: str) -> None:
    """Draw the whole twin with the depots, then the first episodes up close."""
    twin = loaded.twin
    colors = {"scripted": "tab:blue", "random": "tab:red", "ppo": "tab:orange"}
    figure, axes = plt.subplots(2, 3, figsize=(15, 10), dpi=80)
    axes = axes.ravel()

    x_min, y_min, x_max, y_max = twin.local_extent
    center = (0.5 * (x_min + x_max), 0.5 * (y_min + y_max))
    half = 0.5 * max(x_max - x_min, y_max - y_min)
    shaded, extent = _shade(loaded, center, half, pixels=500)
    overview = axes[0]
    overview.imshow(shaded, extent=extent, origin="upper")
    first_policy = next(iter(results.values()))
    for index, run in enumerate(first_policy):
        overview.plot(*run.trajectory[0, :2], marker="s", color="white", markersize=4)
        if index < len(axes) - 1:
            overview.annotate(str(index + 1), run.trajectory[0, :2], color="white")
    overview.set_title(f"{map_name}: depots of all episodes")
    overview.set_xlabel("local x (east), m")
    overview.set_ylabel("local y (north), m")

    for index, axis in enumerate(axes[1:]):
        if index >= len(first_policy):
            axis.axis("off")
            continue
        runs = {name: episodes[index] for name, episodes in results.items()}
        points = np.concatenate([run.trajectory[:, :2] for run in runs.values()])
        goal = first_policy[index].goal_w[:2]
        low = np.minimum(points.min(axis=0), goal) - 60.0
        high = np.maximum(points.max(axis=0), goal) + 60.0
        center = 0.5 * (low + high)
        half = 0.5 * float(max(high - low))
        shaded, extent = _shade(loaded, center, half)
        axis.imshow(shaded, extent=extent, origin="upper")
        for name, run in runs.items():
            axis.plot(
                run.trajectory[:, 0],
                run.trajectory[:, 1],
                color=colors[name],
                linewidth=1.5,
                label=name,
            )
            axis.plot(*run.trajectory[-1, :2], marker="x", color=colors[name])
        axis.plot(
            *first_policy[index].trajectory[0, :2],
            marker="s",
            color="white",
            markeredgecolor="k",
            label="depot",
        )
        axis.plot(
            *goal,
            marker="*",
            markersize=14,
            color="gold",
            markeredgecolor="k",
            label="delivery point",
        )
        axis.set_title(f"episode {index + 1} (seed {first_policy[index].seed})")
        axis.legend(loc="best", fontsize=8)
    figure.suptitle(f"{ENV_ID}: trajectories by policy, local metres")
    figure.tight_layout()

    def write(temporary: str) -> None:
        figure.savefig(temporary, format="png")

    write_atomic(path, write)
    plt.close(figure)
