"""``twin-gym train``: train PPO on a registered environment id."""

from __future__ import annotations

import argparse
from pathlib import Path

from twin_gym.cli._options import DEFAULT_ENV_ID, check_output_path, seed_value
from twin_gym.errors import InputError


def add_parser(commands) -> None:
    """Register the subcommand."""
    parser = commands.add_parser(
        "train",
        help="train stable-baselines3 PPO on an environment id",
        description="Train PPO for a step budget and save the model in a run folder.",
    )
    parser.add_argument("--env-id", default=DEFAULT_ENV_ID, help="registered id")
    parser.add_argument(
        "--timesteps",
        type=int,
        required=True,
        help="training steps, rounded up to whole rollouts",
    )
    parser.add_argument(
        "--seed", type=seed_value, required=True, help="training seed (>= 0)"
    )
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="run folder for the model"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the model in an existing run folder",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Train and print the model path."""
    if args.timesteps < 1:
        raise InputError(f"--timesteps must be at least 1, got {args.timesteps}")
    check_output_path(args.output, "--output", folder=True)
    if (args.output / "model.zip").exists() and not args.overwrite:
        raise InputError(
            f"--output {args.output} already contains a trained model; choose a new "
            "folder or pass --overwrite"
        )
    from twin_gym_agents.train import train_ppo

    path = train_ppo(
        args.env_id,
        args.timesteps,
        args.seed,
        args.output,
        progress_bar=not args.no_progress,
    )
    print(f"model: {path}")
