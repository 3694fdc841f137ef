"""Options shared by several subcommands, defined once."""

from __future__ import annotations

import argparse
import dataclasses
import os
from pathlib import Path

from twin_gym.errors import InputError
from twin_gym.maps import MapDefinition, load_map
from twin_gym.terrain.layers import LAYER_KINDS, LayerSpec

DEM_SUFFIXES = (".toml",)

DEFAULT_ENV_ID = "twin_gym/DroneDelivery-v0"
"""Environment id that train and evaluate use when none is given."""


SEED_LIMIT = 2**32
"""Seeds run from 0 to this limit less one, the range that NumPy's legacy
seeding and stable-baselines3 accept."""


def seed_value(text: str) -> int:
    """Parse a ``--seed`` value: an integer from 0 to ``SEED_LIMIT - 1``."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < SEED_LIMIT:
        raise argparse.ArgumentTypeError(
            f"must be an integer from 0 to 2**32 - 1, got {text!r}"
        )
    return value


def check_output_path(path: Path, option: str, folder: bool = False) -> None:
    """Raise ``InputError`` unless ``path`` can be written as a file or a folder.

    The nearest existing folder above ``path`` must be writable, so that a
    command fails before its work, not after it.
    """
    kind = "folder" if folder else "file"
    for link in (path, *path.parents):
        if link.is_symlink() and not link.exists():
            raise InputError(
                f"{option} {path}: {link} is a symbolic link to a missing target; "
                "choose another path"
            )
    if path.exists() and path.is_dir() != folder:
        other = "file" if folder else "folder"
        raise InputError(f"{option} {path} is a {other}; give a {kind} path")
    # A folder that exists is written into; otherwise its nearest existing
    # ancestor gets the new entries.
    parent = path if folder and path.is_dir() else path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(
            f"{option} {path}: {parent} is a file, not a folder; choose another path"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(
            f"{option} {path}: {parent} is not writable; choose another path"
        )


def add_build_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that override how a twin is built."""
    group = parser.add_argument_group("build options (override the map's)")
    group.add_argument("--cell-size", type=float, help="cell edge in metres")
    group.add_argument(
        "--working-crs",
        help="local-tm (default), utm, or a projected CRS such as EPSG:32631",
    )
    group.add_argument(
        "--src-crs", help="CRS of a DEM that has none, such as EPSG:4326"
    )
    group.add_argument(
        "--aoi",
        nargs=4,
        type=float,
        metavar=("LEFT", "BOTTOM", "RIGHT", "TOP"),
        help="area of interest, in --aoi-crs coordinates",
    )
    group.add_argument(
        "--aoi-crs",
        help="CRS of --aoi: EPSG:4326 (lon/lat, default), source, or any CRS",
    )
    group.add_argument(
        "--resampling", choices=("bilinear", "cubic", "nearest"), help="resampling"
    )
    group.add_argument(
        "--fill-max-pixels",
        type=float,
        help="fill source holes up to this many source pixels wide (default 10)",
    )
    group.add_argument(
        "--src-nodata",
        type=float,
        help="no-data value of the DEM, replacing the file's (for rasters with none)",
    )
    group.add_argument(
        "--vertical-unit",
        choices=("auto", "m", "ft", "us-ft"),
        help="unit of the DEM heights; auto reads a compound CRS, else metres",
    )
    group.add_argument(
        "--dsm", help="surface model (DSM) whose height above the DEM gives structures"
    )
    group.add_argument(
        "--structure-threshold",
        type=float,
        help="least DSM height above the DEM that counts as a structure, metres",
    )
    group.add_argument(
        "--layer",
        nargs=2,
        action="append",
        metavar=("KIND", "PATH"),
        help="add a vector layer: KIND is buildings, roads, water or vegetation, "
        "PATH a GeoJSON, GeoPackage, Shapefile or OSM file (repeatable)",
    )
    group.add_argument(
        "--strict",
        action="store_true",
        help="stop at the first invalid feature instead of skipping it",
    )
    group.add_argument(
        "--no-cache", action="store_true", help="build afresh and do not cache"
    )


def resolve_map(target: str | list[str], args: argparse.Namespace) -> MapDefinition:
    """Return the map a subcommand works on, with command-line overrides.

    ``target`` is a bundled map name, a map TOML path or a DEM path, or a
    list of DEM tile paths that form one mosaic.
    """
    if isinstance(target, list) and len(target) == 1:
        target = target[0]
    if isinstance(target, list):
        for tile in target:
            if not Path(tile).is_file():
                raise InputError(f"DEM tile not found: {tile}; check the path")
        definition = MapDefinition(name=Path(target[0]).stem, source=tuple(target))
        return _with_overrides(definition, args)
    path = Path(target)
    # A missing "dem.tif" is a DEM path with a typo, not a map name, because
    # map names have no suffix.
    is_map_name = "/" not in target and not path.exists() and not path.suffix
    if target.endswith(".toml") or is_map_name:
        definition = load_map(target)
    else:
        if not path.exists():
            kind = "twin file" if path.suffix == ".npz" else "DEM"
            raise InputError(f"{kind} not found: {path}; check the path")
        definition = MapDefinition(name=path.stem, source=str(path))
    return _with_overrides(definition, args)


def _with_overrides(
    definition: MapDefinition, args: argparse.Namespace
) -> MapDefinition:
    overrides = {
        "cell_size": args.cell_size,
        "working_crs": args.working_crs,
        "src_crs": args.src_crs,
        "aoi": tuple(args.aoi) if args.aoi else None,
        "aoi_crs": args.aoi_crs,
        "resampling": args.resampling,
        "fill_max_pixels": args.fill_max_pixels,
        "src_nodata": args.src_nodata,
        "vertical_unit": args.vertical_unit,
        "dsm": args.dsm,
        "structure_threshold": args.structure_threshold,
    }
    options = dict(definition.options)
    options.update({k: v for k, v in overrides.items() if v is not None})
    layers = list(options.get("layers", ()))
    for kind, layer_path in args.layer or []:
        if kind not in LAYER_KINDS:
            raise InputError(
                f"--layer kind {kind!r} is unknown; use one of {', '.join(LAYER_KINDS)}"
            )
        layers.append(LayerSpec(kind=kind, source=layer_path))
    if args.strict:
        layers = [dataclasses.replace(layer, on_invalid="fail") for layer in layers]
    if layers:
        options["layers"] = tuple(layers)
    return MapDefinition(
        definition.name, definition.source, options, definition.description
    )
