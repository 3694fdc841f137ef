"""``twin-gym bench``: measured speeds against named peers."""

from __future__ import annotations

import argparse
import importlib

from twin_gym.bench import TARGETS


def add_parser(commands) -> None:
    """Register the subcommand and one sub-subcommand per benchmark target."""
    parser = commands.add_parser(
        "bench",
        help="run a benchmark against its peers",
        description="Time twin_gym against peer libraries in the same run.",
    )
    targets = parser.add_subparsers(dest="target", required=True, metavar="TARGET")
    for name in TARGETS:
        module = importlib.import_module(f"twin_gym.bench.{name}")
        target = targets.add_parser(name, help=module.__doc__.splitlines()[0])
        module.add_arguments(target)
        target.set_defaults(run=module.run)


def run(args: argparse.Namespace) -> None:
    """Dispatch to the chosen target (set by ``set_defaults`` above)."""
    args.run(args)
