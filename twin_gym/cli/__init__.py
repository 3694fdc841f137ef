"""The ``twin-gym`` command: one console script with subcommands."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

import twin_gym
from twin_gym.cli import bench, build, demo, evaluate, info, train
from twin_gym.errors import TwinGymError

SUBCOMMANDS = (build, info, demo, train, evaluate, bench)


def make_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``twin-gym`` with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="twin-gym",
        description="Digital-twin Gymnasium environments built from real GIS data.",
    )
    parser.add_argument(
        "--version", action="version", version=f"twin-gym {twin_gym.__version__}"
    )
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log twin_gym's progress details",
    )
    verbosity.add_argument("-q", "--quiet", action="store_true", help="log errors only")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``twin-gym`` and return its exit status.

    Errors in the input end with one line on standard error and status 2,
    and a file that cannot be read or written with one line and status 1.
    """
    parser = make_parser()
    args = parser.parse_args(argv)
    level = logging.ERROR if args.quiet else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.verbose:
        # Details from twin_gym only; the libraries keep to their warnings.
        for name in ("twin_gym", "twin_gym_agents"):
            logging.getLogger(name).setLevel(logging.DEBUG)
    else:
        # GDAL reports recoverable quirks of real files (odd GeoTIFF keys) as
        # warnings; they are noise next to twin_gym's own messages.
        logging.getLogger("rasterio").setLevel(logging.ERROR)
    try:
        args.run(args)
    except TwinGymError as error:
        print(f"twin-gym {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader of the output went away, as with "| head". Stop quietly
        # with the status of a process that SIGPIPE ended (128 + 13), and
        # point standard output at the null device so the exit flush succeeds.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as error:
        # A file that the checks before the work could not foresee.
        name = error.filename if error.filename is not None else ""
        reason = error.strerror or str(error)
        print(f"twin-gym {args.command}: error: {reason}: {name}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"twin-gym {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
