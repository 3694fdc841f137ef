"""``twin-gym build``: build a twin from a map or a DEM and report it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from twin_gym.cli._options import add_build_options, check_output_path, resolve_map
from twin_gym.cli.info import print_layer_reports, print_summary
from twin_gym.errors import InputError
from twin_gym.terrain.cache import write_atomic_all


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
    if args.output is not None and args.output.suffix != ".npz":
        raise InputError(
            f"--output {args.output} must end in .npz, the twin file format that "
            "twin-gym info reads"
        )
    if (
        args.output is not None
        and args.report is not None
        and args.output.resolve() == args.report.resolve()
    ):
        raise InputError(
            f"--output and --report both name {args.output}; give two files"
        )
    for path, option in ((args.output, "--output"), (args.report, "--report")):
        if path is not None:
            check_output_path(path, option)
    definition = resolve_map(args.target, args)
    twin = definition.build(use_cache=not args.no_cache)
    # The saved file keeps the map's name for twin-gym info.
    twin.metadata["map"] = definition.name
    layer_reports = twin.metadata.get("layers", [])
    document = json.dumps(layer_reports, indent=1).encode()
    writes = []
    if args.output is not None:
        writes.append((args.output, twin.save))
    if args.report is not None:
        writes.append((args.report, lambda path: Path(path).write_bytes(document)))
    # The twin and its report appear together or not at all.
    write_atomic_all(writes)
    for path, _ in writes:
        print(f"wrote {path}")
    print_summary(definition.name, twin)
    print_layer_reports(layer_reports)
