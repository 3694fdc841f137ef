"""``twin-gym demo``: the whole path on the default map, with a report."""

from __future__ import annotations

import argparse
from pathlib import Path

from twin_gym.cli._options import check_output_path, seed_value
from twin_gym.errors import InputError
from twin_gym.maps import DEFAULT_MAP, load_map


def add_parser(commands) -> None:
    """Register the subcommand."""
    parser = commands.add_parser(
        "demo",
        help="build the default twin, evaluate baselines, train PPO briefly, report",
        description=(
            "Build the default twin, evaluate the scripted baseline and random "
            "actions, train PPO briefly, evaluate it on the same seeds, and write "
            "a Markdown report with a PNG of the trajectories."
        ),
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("twin-gym-demo"),
        help="output folder (default: ./twin-gym-demo)",
    )
    parser.add_argument(
        "--episodes",
        type=int,
        default=20,
        help="evaluation episodes per policy (default: 20)",
    )
    parser.add_argument(
        "--timesteps",
        type=int,
        default=40_000,
        help="PPO training steps, rounded up to whole rollouts (default: 40000)",
    )
    parser.add_argument(
        "--seed", type=seed_value, default=0, help="first evaluation seed (default: 0)"
    )
    parser.add_argument(
        "--map",
        default=DEFAULT_MAP,
        help=f"map name or TOML path (default: {DEFAULT_MAP})",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="hide the training progress bar"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Run the demo and print where its report is."""
    if args.episodes < 1:
        raise InputError(f"--episodes must be at least 1, got {args.episodes}")
    if args.timesteps < 1:
        raise InputError(f"--timesteps must be at least 1, got {args.timesteps}")
    check_output_path(args.output, "--output", folder=True)
    load_map(args.map)
    from twin_gym_agents.demo import run_demo
    from twin_gym_agents.policies import import_sb3

    import_sb3()
    output = args.output.resolve()
    print(f"output folder: {output}")
    outcome = run_demo(
        output,
        episodes=args.episodes,
        timesteps=args.timesteps,
        seed=args.seed,
        map_name=args.map,
        progress_bar=not args.no_progress,
    )
    for row in outcome.summaries:
        print(
            f"drone {row['policy']:>8}: success {row['success_rate']:.0%}, "
            f"crash {row['crash_rate']:.0%}, mean return {row['mean_return']:.1f}"
        )
    for row in outcome.rover_summaries:
        print(
            f"rover {row['policy']:>8}: success {row['success_rate']:.0%}, "
            f"crash {row['crash_rate']:.0%}, mean return {row['mean_return']:.1f}"
        )
    print(f"PPO minus random mean return: {outcome.ppo_margin:+.1f}")
    print(f"report: {outcome.report_path}")
