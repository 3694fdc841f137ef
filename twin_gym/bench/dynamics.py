"""Benchmark of dynamics speed against its peers (not implemented yet)."""

from __future__ import annotations

import argparse

from twin_gym.errors import InputError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this benchmark's options."""


def run(args: argparse.Namespace) -> None:
    """Run the benchmark and print its table."""
    raise InputError("twin-gym bench dynamics is not implemented yet")
