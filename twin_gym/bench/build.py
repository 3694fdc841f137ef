"""Benchmark of twin builds against a GDAL warp of the same grid.

The source is matplotlib's Jacksboro DEM (a real USGS 3 arc-second DEM that
matplotlib installs) upsampled to a tiled GeoTIFF a little larger than the
twin, and the buildings are random footprints written to a GeoPackage. Each
timed step runs in a fresh interpreter, so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from twin_gym.cli._options import check_output_path, seed_value
from twin_gym.errors import InputError

MARGIN = 0.04
"""Extra source extent on each side of the twin, as a fraction of its edge."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this benchmark's options."""
    parser.add_argument(
        "--cells", type=int, default=10_000, help="twin edge in cells (>= 100)"
    )
    parser.add_argument(
        "--cell-size", type=float, default=2.5, help="twin cell edge in metres"
    )
    parser.add_argument(
        "--buildings", type=int, default=50_000, help="random building footprints"
    )
    parser.add_argument(
        "--seed", type=seed_value, default=0, help="seed for the buildings (>= 0)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="folder for the source files and the cache (default: a temporary "
        "folder, removed afterwards)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")


def run(args: argparse.Namespace) -> None:
    """Run the benchmark and print its table."""
    if args.cells < 100:
        raise InputError(f"--cells must be at least 100, got {args.cells}")
    if not (math.isfinite(args.cell_size) and args.cell_size > 0):
        raise InputError(f"--cell-size must be positive, got {args.cell_size}")
    if args.buildings < 0:
        raise InputError(f"--buildings must be >= 0, got {args.buildings}")
    if args.workdir is not None:
        check_output_path(args.workdir, "--workdir", folder=True)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="twin-gym-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        results = _run_in(workdir, args)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print_table(results)


def _run_in(workdir: Path, args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    source, aoi = write_source(workdir, args.cells, args.cell_size)
    layer = write_buildings(workdir, aoi, args.buildings, args.seed)
    setup_s = time.perf_counter() - started
    job = {
        "source": str(source),
        "layer": str(layer),
        "aoi": aoi,
        "cell_size": args.cell_size,
        "grid": str(workdir / "grid.json"),
    }
    cache = workdir / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    cold = _child("build", job, cache)
    cached = _child("cached", job, cache)
    warp = _child("warp", job, cache)
    return {
        "cells": f"{args.cells} x {args.cells}",
        "cell_size_m": args.cell_size,
        "buildings": args.buildings,
        "buildings_placed": cold["placed"],
        "setup_s": round(setup_s, 1),
        "cold_s": round(cold["seconds"], 2),
        "cached_s": round(cached["seconds"], 3),
        "cached_read_all_s": round(cached["read_all_seconds"], 3),
        "warp_s": round(warp["seconds"], 2),
        "cold_over_warp": round(cold["seconds"] / warp["seconds"], 2),
        "twin_mb": round(cold["twin_bytes"] / 2**20, 1),
        "cold_peak_mb": round(cold["peak_bytes"] / 2**20),
        "peak_over_twin": round(cold["peak_bytes"] / cold["twin_bytes"], 2),
        "cached_peak_mb": round(cached["peak_bytes"] / 2**20),
        "warp_peak_mb": round(warp["peak_bytes"] / 2**20),
    }


def _print_table(results: dict) -> None:
    width = max(len(key) for key in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")


def _child(mode: str, job: dict, cache: Path) -> dict:
    """Run one timed step in a fresh interpreter and return its JSON report."""
    env = {**os.environ, "TWIN_GYM_CACHE_DIR": str(cache)}
    command = [
        sys.executable,
        "-c",
        "import sys; from twin_gym.bench.build import child_main; child_main()",
        mode,
        json.dumps(job),
    ]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise InputError(
            f"benchmark step {mode} failed: {result.stderr.strip()[-2000:]}"
        )
    return json.loads(result.stdout.strip().splitlines()[-1])


def child_main() -> None:
    """Run one step named by ``sys.argv[1]`` and print its JSON report.

    Peak memory is the process's high-water mark (``ru_maxrss``) less its
    resident size after imports, so it counts what the step itself holds.
    """
    import resource

    import rasterio
    import rasterio.warp

    from twin_gym.terrain.build import build_twin
    from twin_gym.terrain.layers import LayerSpec
    from twin_gym.terrain.surface import WARP_MEMORY_MB, WARP_THREADS

    mode, job = sys.argv[1], json.loads(sys.argv[2])
    baseline = _resident_bytes()
    report: dict = {}
    started = time.perf_counter()
    if mode in ("build", "cached"):
        twin = build_twin(
            job["source"],
            cell_size=job["cell_size"],
            aoi=tuple(job["aoi"]),
            layers=(LayerSpec("buildings", job["layer"]),),
        )
        seconds = time.perf_counter() - started
        # A cached twin's arrays are memory-mapped; reading each once shows
        # the cost of the first pass over them.
        checksum = sum(
            float(np.add.reduce(array, axis=None, dtype=np.float64))
            for array in (
                twin.heights,
                twin.valid,
                twin.classes,
                twin.structure_heights,
            )
        )
        report["read_all_seconds"] = time.perf_counter() - started
        report["checksum"] = checksum
        report["placed"] = twin.metadata["layers"][0]["placed"]
        report["twin_bytes"] = sum(
            array.nbytes
            for array in (
                twin.heights,
                twin.valid,
                twin.classes,
                twin.structure_heights,
            )
        )
        grid = {
            "transform": list(twin.transform)[:6],
            "crs_wkt": twin.crs_wkt,
            "shape": list(twin.shape),
        }
        Path(job["grid"]).write_text(json.dumps(grid))
    else:
        from affine import Affine
        from rasterio.enums import Resampling

        grid = json.loads(Path(job["grid"]).read_text())
        destination = np.full(grid["shape"], np.nan, dtype=np.float32)
        started = time.perf_counter()
        with rasterio.open(job["source"]) as source:
            rasterio.warp.reproject(
                rasterio.band(source, 1),
                destination,
                dst_transform=Affine(*grid["transform"]),
                dst_crs=grid["crs_wkt"],
                dst_nodata=np.nan,
                resampling=Resampling.bilinear,
                num_threads=WARP_THREADS,
                warp_mem_limit=WARP_MEMORY_MB,
            )
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    report["seconds"] = seconds
    report["peak_bytes"] = max(peak - baseline, 0)
    print(json.dumps(report))


def _resident_bytes() -> int:
    with open("/proc/self/statm") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def write_source(
    workdir: Path, cells: int, cell_size: float
) -> tuple[Path, list[float]]:
    """Write the Jacksboro DEM upsampled around its centre; return it and the AOI.

    The source's pixels are about one twin cell on the ground, in EPSG:4326,
    so the build reprojects a grid of the twin's size. The AOI is the twin's
    extent in lon/lat.
    """
    import matplotlib.cbook
    import rasterio
    import rasterio.warp
    from rasterio.enums import Resampling
    from rasterio.transform import from_origin

    from twin_gym.terrain.sources import JACKSBORO_SAMPLE, jacksboro_raster

    path = workdir / f"jacksboro_{cells}.tif"
    sample = Path(matplotlib.cbook.get_sample_data(JACKSBORO_SAMPLE, asfileobj=False))
    src_heights, src_transform = jacksboro_raster(sample)
    rows, cols = src_heights.shape
    centre_lon = src_transform.c + 0.5 * cols * src_transform.a
    centre_lat = src_transform.f + 0.5 * rows * src_transform.e
    metres_per_lat = 111_320.0
    metres_per_lon = metres_per_lat * math.cos(math.radians(centre_lat))
    half_m = 0.5 * cells * cell_size
    aoi = [
        centre_lon - half_m / metres_per_lon,
        centre_lat - half_m / metres_per_lat,
        centre_lon + half_m / metres_per_lon,
        centre_lat + half_m / metres_per_lat,
    ]
    if path.exists():
        return path, aoi

    size = math.ceil(cells * (1 + 2 * MARGIN))
    res_x = cell_size / metres_per_lon
    res_y = cell_size / metres_per_lat
    transform = from_origin(
        centre_lon - 0.5 * size * res_x, centre_lat + 0.5 * size * res_y, res_x, res_y
    )
    profile = {
        "driver": "GTiff",
        "width": size,
        "height": size,
        "count": 1,
        "dtype": "float32",
        "crs": "EPSG:4326",
        "transform": transform,
        "nodata": -9999.0,
        "tiled": True,
        "blockxsize": 512,
        "blockysize": 512,
        "BIGTIFF": "IF_SAFER",
    }
    partial = path.with_suffix(".part.tif")
    strip = 2048
    with rasterio.open(partial, "w", **profile) as writer:
        for row in range(0, size, strip):
            height = min(strip, size - row)
            window = rasterio.windows.Window(0, row, size, height)
            block = np.empty((height, size), dtype=np.float32)
            rasterio.warp.reproject(
                src_heights.astype(np.float32),
                block,
                src_transform=src_transform,
                src_crs="EPSG:4326",
                dst_transform=writer.window_transform(window),
                dst_crs="EPSG:4326",
                resampling=Resampling.cubic,
            )
            writer.write(block, 1, window=window)
    os.replace(partial, path)
    return path, aoi


def write_buildings(workdir: Path, aoi: list[float], count: int, seed: int) -> Path:
    """Write ``count`` random rotated rectangles inside the AOI to a GeoPackage.

    A third has ``height`` strings in metres, a third ``building:levels`` and
    a third neither, so every height rule runs.
    """
    import pyogrio.raw
    import shapely

    path = workdir / f"buildings_{count}_{seed}.gpkg"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    left, bottom, right, top = aoi
    lon = rng.uniform(left, right, count)
    lat = rng.uniform(bottom, top, count)
    metres_per_lat = 111_320.0
    metres_per_lon = metres_per_lat * np.cos(np.radians(lat))
    half_w = rng.uniform(4.0, 15.0, count)
    half_h = rng.uniform(4.0, 15.0, count)
    angle = rng.uniform(0.0, np.pi, count)
    corners_x = np.array([-1, 1, 1, -1, -1])[None, :] * half_w[:, None]
    corners_y = np.array([-1, -1, 1, 1, -1])[None, :] * half_h[:, None]
    cos, sin = np.cos(angle)[:, None], np.sin(angle)[:, None]
    east = corners_x * cos - corners_y * sin
    north = corners_x * sin + corners_y * cos
    coords = np.stack(
        [
            lon[:, None] + east / metres_per_lon[:, None],
            lat[:, None] + north / metres_per_lat,
        ],
        axis=-1,
    )
    polygons = shapely.polygons(coords)
    rule = rng.integers(0, 3, count)
    heights = np.where(
        rule == 0, np.char.add(rng.integers(4, 60, count).astype(str), " m"), ""
    ).astype(object)
    levels = np.where(rule == 1, rng.integers(1, 12, count).astype(str), "").astype(
        object
    )
    heights[heights == ""] = None
    levels[levels == ""] = None
    pyogrio.raw.write(
        path,
        shapely.to_wkb(polygons),
        field_data=[heights, levels],
        fields=["height", "building:levels"],
        geometry_type="Polygon",
        crs="EPSG:4326",
        driver="GPKG",
    )
    return path
