"""``twin-gym build``: build a twin from a map or a DEM and report it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from twin_gym.cli._options import add_build_options, resolve_map
from twin_gym.cli.info import print_layer_reports, print_summary
from twin_gym.terrain.cache import write_atomic


def add_parser(commands) -> None:
    """Register the subcommand."""
    parser = commands.add_parser(
        "build",
        help="build a terrain twin from a map TOML or a DEM",
        description="Build (or load from the cache) a terrain twin and report it.",
    )
    parser.add_argument(
        "target",
        nargs="+",
        help="bundled map name, map TOML file, DEM raster path, or several DEM "
        "tiles in one CRS to mosaic",
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="also write the twin to this .npz file"
    )
    parser.add_argument(
        "--report",
        type=Path,
        help="write the layer report (every skipped feature and the height "
        "rule of every building) to this JSON file",
    )
    add_build_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Build the twin, write it where asked and print its summary."""
    definition = resolve_map(args.target, args)
    twin = definition.build(use_cache=not args.no_cache)
    if args.output is not None:
        write_atomic(args.output, twin.save)
        print(f"wrote {args.output}")
    layer_reports = twin.metadata.get("layers", [])
    if args.report is not None:
        document = json.dumps(layer_reports, indent=1).encode()
        write_atomic(args.report, lambda path: Path(path).write_bytes(document))
        print(f"wrote {args.report}")
    print_summary(definition.name, twin)
    print_layer_reports(layer_reports)
