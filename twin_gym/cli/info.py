"""``twin-gym info``: size, CRS, bounds, heights, cell size and layers of a twin."""

from __future__ import annotations

import argparse
import json
import zipfile
from pathlib import Path

from twin_gym.cli._options import add_build_options, resolve_map
from twin_gym.errors import InputError
from twin_gym.terrain.twin import TerrainTwin


def add_parser(commands) -> None:
    """Register the subcommand."""
    parser = commands.add_parser(
        "info",
        help="describe a twin file, a map or a DEM",
        description="Print size, CRS, bounds, height range and cell size of a twin.",
    )
    parser.add_argument(
        "target",
        help="twin .npz file from 'twin-gym build -o', map name, map TOML or DEM",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_build_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Load or build the twin and print its summary."""
    path = Path(args.target)
    if path.suffix == ".npz" and path.is_file():
        if not zipfile.is_zipfile(path):
            raise InputError(
                f"{path} is not a twin file written by twin-gym build (not a .npz "
                "archive); build one with twin-gym build -o FILE.npz"
            )
        try:
            twin = TerrainTwin.load(str(path))
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
            raise InputError(
                f"{path} is not a twin file written by twin-gym build ({error})"
            ) from None
        name = twin.metadata.get("map", path.stem)
    else:
        definition = resolve_map(args.target, args)
        twin = definition.build(use_cache=not args.no_cache)
        name = definition.name
    print_summary(name, twin, as_json=args.json)
    if not args.json:
        print_layer_reports(twin.metadata.get("layers", []))


def print_summary(name: str, twin: TerrainTwin, as_json: bool = False) -> None:
    """Print a twin's summary as aligned lines or as JSON."""
    facts = {"name": name, **twin.summary()}
    if as_json:
        print(json.dumps(facts, indent=2))
        return
    width = max(len(key) for key in facts)
    for key, value in facts.items():
        print(f"{key:<{width}}  {value}")


def print_layer_reports(reports: list[dict], max_skipped: int = 10) -> None:
    """Print each layer's counts, height range and first skipped features."""
    for report in reports:
        line = (
            f"layer {report['kind']}: {Path(report['source']).name}: "
            f"{report['features']} features, {report['placed']} placed, "
            f"{len(report['skipped'])} not placed, {report['cells']} cells"
        )
        if report.get("cells_on_no_data"):
            line += f", {report['cells_on_no_data']} cells left out on no-data terrain"
        if report.get("height_range_m"):
            low, high = report["height_range_m"]
            rules = ", ".join(f"{n} by {r}" for r, n in sorted(report["rules"].items()))
            line += f", heights {low:.2f} to {high:.2f} m ({rules})"
        print(line)
        problems = [("not placed", item) for item in report["skipped"]] + [
            ("warning", item) for item in report["warnings"]
        ]
        for label, (fid, reason) in problems[:max_skipped]:
            print(f"  {label}: {fid}: {reason}")
        if len(problems) > max_skipped:
            print(
                f"  ... {len(problems) - max_skipped} more; --report FILE "
                "writes them all"
            )
