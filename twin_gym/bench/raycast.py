"""Benchmark of LiDAR ray casting against Open3D (Embree) and MuJoCo."""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from twin_gym.cli._options import seed_value
from twin_gym.errors import InputError

JACKSBORO = "matplotlib:jacksboro_fault_dem.npz"
"""Real 3 arc-second DEM shipped with matplotlib, so the benchmark needs no
data folder."""

JACKSBORO_CENTRE_LONLAT = (-84.24, 36.59)
"""Centre of the benchmark twin, inside the Jacksboro DEM."""

ROVER_HEIGHT_M = 1.5
DRONE_HEIGHT_M = 40.0


@dataclass(frozen=True)
class PoseSet:
    """Sensor poses and the rays they cast, all in the local world frame."""

    name: str
    positions_w: np.ndarray
    """Sensor positions in metres, shape (poses, 3)."""
    origins_w: np.ndarray
    """Ray origins in metres, shape (poses * beams, 3)."""
    directions_w: np.ndarray
    """Unit ray directions, shape (poses * beams, 3), channel by channel."""
    channels: int
    """LiDAR channels, the rays of one azimuth step."""

    def fans(self):
        """Return the rays as fans of one azimuth step each, for ``cast_fans``.

        Returns:
            ``(origins_w, directions_w)`` of shapes (poses * steps, 3) and
            (poses * steps, channels, 3).
        """
        poses = len(self.positions_w)
        steps = len(self.origins_w) // (poses * self.channels)
        directions = self.directions_w.reshape(poses, self.channels, steps, 3)
        fan_directions = np.ascontiguousarray(directions.transpose(0, 2, 1, 3))
        fan_origins = np.repeat(self.positions_w, steps, axis=0)
        return fan_origins, fan_directions.reshape(-1, self.channels, 3)

    def from_fans(self, values):
        """Reorder per-ray values from fan order to the order of ``origins_w``."""
        poses = len(self.positions_w)
        steps = len(self.origins_w) // (poses * self.channels)
        values = np.asarray(values).reshape(poses, steps, self.channels)
        return values.transpose(0, 2, 1).reshape(-1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this benchmark's options."""
    parser.add_argument(
        "--size", type=int, default=2048, help="twin edge in cells of 1 m (>= 256)"
    )
    parser.add_argument(
        "--poses", type=int, default=16, help="sensor poses per height (>= 1)"
    )
    parser.add_argument(
        "--channels", type=int, default=64, help="LiDAR channels (>= 1)"
    )
    parser.add_argument(
        "--azimuth-steps", type=int, default=1024, help="LiDAR azimuth steps (>= 1)"
    )
    parser.add_argument(
        "--max-range", type=float, default=200.0, help="LiDAR range in metres"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="timed repeats; the best is kept"
    )
    parser.add_argument(
        "--mujoco-rays",
        type=int,
        default=1024,
        help="rays per pose set in the fixed MuJoCo subsample",
    )
    parser.add_argument(
        "--seed", type=seed_value, default=0, help="seed for poses and buildings (>= 0)"
    )
    parser.add_argument(
        "--skip-peers",
        action="store_true",
        help="time twin_gym only, no Open3D or MuJoCo",
    )


def lidar_directions_b(channels: int, azimuth_steps: int) -> np.ndarray:
    """Return beam directions of an evenly spaced -22.5 to +22.5 degree LiDAR.

    The 45 degree vertical field of view is that of a representative
    64-channel unit. Shape (channels * azimuth_steps, 3), float64.
    """
    elevation = np.radians(np.linspace(-22.5, 22.5, channels))[:, None]
    azimuth = (2.0 * math.pi * np.arange(azimuth_steps) / azimuth_steps)[None, :]
    return np.stack(
        np.broadcast_arrays(
            np.cos(elevation) * np.cos(azimuth),
            np.cos(elevation) * np.sin(azimuth),
            np.sin(elevation),
        ),
        axis=-1,
    ).reshape(-1, 3)


def add_buildings(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Return structure heights of random rectangular buildings, metres.

    About 800 buildings of 8 to 40 m footprint and 4 to 60 m height stand on
    the twin, like a town spread over the whole area.
    """
    rows, cols = shape
    structure_heights = np.zeros(shape, np.float32)
    count = rows * cols // 5000
    for _ in range(count):
        height_m = rng.uniform(4.0, 60.0)
        size_r, size_c = rng.integers(8, 41, 2)
        row = rng.integers(0, rows - size_r)
        col = rng.integers(0, cols - size_c)
        structure_heights[row : row + size_r, col : col + size_c] = height_m
    return structure_heights


def build_bench_scene(size: int, seed: int):
    """Build the benchmark twin: real relief upsampled to 1 m, with buildings."""
    from twin_gym.raycast.scene import RaycastScene
    from twin_gym.terrain.build import build_twin

    lon, lat = JACKSBORO_CENTRE_LONLAT
    half_lat = 0.55 * size / 111_000.0
    half_lon = half_lat / math.cos(math.radians(lat))
    twin = build_twin(
        JACKSBORO,
        cell_size=1.0,
        aoi=(lon - half_lon, lat - half_lat, lon + half_lon, lat + half_lat),
    )
    rows, cols = twin.shape
    if rows < size or cols < size:
        raise InputError(f"the benchmark twin is {rows} x {cols}, smaller than {size}")
    top = (rows - size) // 2
    left = (cols - size) // 2
    window = np.s_[top : top + size, left : left + size]
    rng = np.random.default_rng(seed)
    heights = twin.heights[window]
    structure_heights = add_buildings(heights.shape, rng)
    scene = RaycastScene(
        heights,
        twin.classes[window],
        twin.valid[window],
        twin.x_first + left,
        twin.y_first - top,
        1.0,
        structure_heights=structure_heights,
    )
    return scene


def make_pose_sets(
    scene, poses: int, directions_b: np.ndarray, seed: int, channels: int = 64
):
    """Return rover and drone pose sets at random free cells away from the edges.

    ``directions_b`` are the beams of a LiDAR with ``channels`` channels,
    channel by channel, from :func:`lidar_directions_b`. The margin is
    250 m, more than the LiDAR range, on twins large enough.
    """
    rng = np.random.default_rng(seed + 1)
    rows, cols = scene.shape
    margin = min(250, min(rows, cols) // 4)
    pose_sets = []
    for name, height_m in (("rover", ROVER_HEIGHT_M), ("drone", DRONE_HEIGHT_M)):
        positions = []
        while len(positions) < poses:
            row, col = rng.integers(margin, rows - margin, 2)
            if scene.structure_heights[row, col] > 0.0:
                continue
            x = scene.x_first + col * scene.cell_size
            y = scene.y_first - row * scene.cell_size
            positions.append((x, y, float(scene.heights[row, col]) + height_m))
        positions = np.array(positions)
        yaw = rng.uniform(0.0, 2.0 * math.pi, poses)
        cos, sin = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
        dx = cos * directions_b[None, :, 0] - sin * directions_b[None, :, 1]
        dy = sin * directions_b[None, :, 0] + cos * directions_b[None, :, 1]
        dz = np.broadcast_to(directions_b[None, :, 2], dx.shape)
        directions_w = np.stack([dx, dy, dz], axis=-1).reshape(-1, 3)
        origins_w = np.repeat(positions, len(directions_b), axis=0)
        pose_sets.append(PoseSet(name, positions, origins_w, directions_w, channels))
    return pose_sets


def best_times(functions: dict, repeats: int) -> dict:
    """Return the shortest wall time in seconds of each function over ``repeats``.

    The functions take turns, one call each per round, so that every one
    runs under the same load from other jobs on a shared machine.
    """
    best = dict.fromkeys(functions, math.inf)
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def first_scan_seconds() -> dict:
    """Time imports and the first 64 x 1024 scan in a fresh Python process."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        "import numpy as np\n"
        "from twin_gym.raycast.scene import RaycastScene\n"
        "from twin_gym.sensors import SpinningLidar, SpinningLidarConfig\n"
        "t1 = time.perf_counter()\n"
        "rng = np.random.default_rng(0)\n"
        "h = rng.normal(0, 1, (512, 512)).cumsum(0).astype(np.float32)\n"
        "s = np.where(rng.random(h.shape) < 0.05, 10.0, 0.0)\n"
        "scene = RaycastScene(h, np.zeros(h.shape, np.uint8), np.ones(h.shape, bool),"
        " -256.0, 256.0, 1.0, structure_heights=s)\n"
        "lidar = SpinningLidar(SpinningLidarConfig(channels=64, azimuth_steps=1024,"
        " max_range=200.0))\n"
        "t2 = time.perf_counter()\n"
        "lidar.scan(scene, [[0.0, 0.0, float(h[256, 256]) + 40.0]], [[1.0, 0, 0, 0]])\n"
        "t3 = time.perf_counter()\n"
        "import json\n"
        "print(json.dumps({'import_s': t1 - t0, 'first_scan_s': t3 - t2}))\n"
    )
    result = {}
    for _ in range(2):
        # The first run fills numba's cache if it is cold; the second is timed.
        output = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        result = json.loads(output.stdout.strip().splitlines()[-1])
    return result


def twin_gym_casts(scene, pose_set: PoseSet, max_range: float) -> dict:
    """Return the two ways twin_gym casts a pose set, by name, as callables.

    ``"fans"`` casts each azimuth step as one fan, as ``SpinningLidar``
    does, and returns the ranges in fan order (``pose_set.from_fans`` maps
    them back). ``"rays"`` casts ray by ray and returns the ranges in the
    order of ``pose_set.origins_w``. Like the peers, each is timed up to
    its results in the order of its own input.
    """
    fan_origins, fan_directions = pose_set.fans()

    def fans():
        return scene.cast_fans(fan_origins, fan_directions, max_range).range

    def rays():
        return scene.cast(pose_set.origins_w, pose_set.directions_w, max_range).range

    return {"fans": fans, "rays": rays}


def open3d_scene(vertices: np.ndarray, faces: np.ndarray, shift: np.ndarray):
    """Return an Open3D RaycastingScene of a mesh shifted by ``-shift``."""
    import open3d

    tracer = open3d.t.geometry.RaycastingScene()
    tracer.add_triangles(
        open3d.core.Tensor((vertices - shift).astype(np.float32)),
        open3d.core.Tensor(faces.astype(np.uint32)),
    )
    return tracer


def open3d_rays(origins_w, directions_w, shift):
    """Return rays shifted by ``-shift`` as an Open3D float32 tensor (n, 6)."""
    import open3d

    rays = np.hstack([origins_w - shift, directions_w]).astype(np.float32)
    return open3d.core.Tensor(rays)


def crop_scene(scene, centre_w, radius_m):
    """Return the part of a scene within ``radius_m`` (a square) of a point."""
    from twin_gym.raycast.scene import RaycastScene

    rows, cols = scene.shape
    col = int(round((centre_w[0] - scene.x_first) / scene.cell_size))
    row = int(round((scene.y_first - centre_w[1]) / scene.cell_size))
    reach = int(math.ceil(radius_m / scene.cell_size)) + 1
    r0, r1 = max(row - reach, 0), min(row + reach + 1, rows)
    c0, c1 = max(col - reach, 0), min(col + reach + 1, cols)
    window = np.s_[r0:r1, c0:c1]
    return RaycastScene(
        scene.heights[window],
        scene.classes[window],
        scene.valid[window],
        scene.x_first + c0 * scene.cell_size,
        scene.y_first - r0 * scene.cell_size,
        scene.cell_size,
        structure_heights=scene.structure_heights[window],
    )


class Open3DPeer:
    """Open3D scenes of the whole twin and of each pose's surroundings.

    Open3D works in float32, so every z is shifted by the twin's median
    height, rounded to whole metres, before it gets the mesh and the rays.
    """

    def __init__(self, scene, pose_sets, max_range: float):
        from twin_gym.raycast.mesh import surface_mesh

        self.shift = np.array([0.0, 0.0, float(np.round(np.median(scene.heights)))])
        start = time.perf_counter()
        vertices, faces = surface_mesh(scene)
        self.whole = open3d_scene(vertices, faces, self.shift)
        self.build_s = time.perf_counter() - start
        self.triangles = int(len(faces))
        # Per pose set, one scene of the square within range of each pose.
        self.limited = {
            pose_set.name: [
                open3d_scene(
                    *surface_mesh(crop_scene(scene, position, max_range)), self.shift
                )
                for position in pose_set.positions_w
            ]
            for pose_set in pose_sets
        }

    def casts(self, pose_set: PoseSet, threads: int) -> dict:
        """Return Open3D's casts of a pose set, by name, as callables.

        ``"whole"`` casts every ray against the whole twin and returns the
        ranges; ``"in range"`` casts each pose's rays against its own scene.
        """
        rays = open3d_rays(pose_set.origins_w, pose_set.directions_w, self.shift)
        beams = len(pose_set.origins_w) // len(pose_set.positions_w)
        pose_rays = [
            open3d_rays(
                pose_set.origins_w[index * beams : (index + 1) * beams],
                pose_set.directions_w[index * beams : (index + 1) * beams],
                self.shift,
            )
            for index in range(len(pose_set.positions_w))
        ]
        tracers = self.limited[pose_set.name]

        def whole():
            return self.whole.cast_rays(rays, nthreads=threads)["t_hit"].numpy()

        def in_range():
            for tracer, part in zip(tracers, pose_rays, strict=True):
                tracer.cast_rays(part, nthreads=threads)

        return {"whole": whole, "in range": in_range}


def time_mujoco(scene, pose_set, max_range, count, seed):
    """Time mj_multiRay on a height field of the terrain (no buildings)."""
    import mujoco

    rows, cols = scene.shape
    low, high = float(scene.heights.min()), float(scene.heights.max())
    relief = max(high - low, 1e-3)
    x_min, y_min, x_max, y_max = scene.bounds
    half_x = 0.5 * (x_max - x_min)
    half_y = 0.5 * (y_max - y_min)
    xml = f"""
    <mujoco>
      <asset>
        <hfield name="terrain" nrow="{rows}" ncol="{cols}"
                size="{half_x} {half_y} {relief} 1.0"/>
      </asset>
      <worldbody>
        <geom type="hfield" hfield="terrain"
              pos="{x_min + half_x} {y_min + half_y} {low}"/>
      </worldbody>
    </mujoco>
    """
    model = mujoco.MjModel.from_xml_string(xml)
    # MuJoCo's height field rows run from south to north.
    model.hfield_data[:] = ((scene.heights[::-1] - low) / relief).ravel()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    rng = np.random.default_rng(seed)
    beams = len(pose_set.origins_w) // len(pose_set.positions_w)
    per_pose = max(1, count // len(pose_set.positions_w))
    picks = [rng.choice(beams, per_pose, replace=False) for _ in pose_set.positions_w]

    def cast():
        for index, position in enumerate(pose_set.positions_w):
            vectors = pose_set.directions_w[index * beams + picks[index]]
            geom_ids = np.zeros(per_pose, np.int32)
            distances = np.zeros(per_pose)
            mujoco.mj_multiRay(
                model,
                data,
                np.asarray(position, np.float64),
                np.ascontiguousarray(vectors).ravel(),
                None,
                True,
                -1,
                geom_ids,
                distances,
                None,
                per_pose,
                max_range,
            )

    seconds = best_times({"mujoco": cast}, 1)["mujoco"]
    return seconds, per_pose * len(pose_set.positions_w)


def _agreement(ranges, t_hit):
    """Describe how ranges agree with the peer's: p99.9 and max difference, hits."""
    ours_hit = np.isfinite(ranges)
    theirs_hit = np.isfinite(t_hit)
    both = ours_hit & theirs_hit
    diff = np.abs(ranges[both] - t_hit[both])
    return (
        f"{np.percentile(diff, 99.9):.1e} / {diff.max():.1e}, "
        f"{np.mean(ours_hit == theirs_hit):.6f}"
    )


def run(args: argparse.Namespace) -> None:
    """Run the benchmark and print its table."""
    import numba

    # Open3D ships a TBB older than numba accepts. Numba tries TBB first, so
    # it would warn and fall back, and trying OpenMP first avoids that.
    numba.config.THREADING_LAYER_PRIORITY = ["omp", "tbb", "workqueue"]
    if args.size < 256 or args.poses < 1 or args.channels < 1 or args.azimuth_steps < 1:
        raise InputError(
            "size must be >= 256 and poses, channels and azimuth-steps >= 1, got "
            f"{args.size}, {args.poses}, {args.channels}, {args.azimuth_steps}"
        )
    if args.repeats < 1:
        raise InputError(f"--repeats must be >= 1, got {args.repeats}")
    if not (math.isfinite(args.max_range) and args.max_range > 0.0):
        raise InputError(
            f"max-range must be a positive number of metres, got {args.max_range}"
        )
    if not args.skip_peers:
        # Check the peers before the slow set-up, so a missing one costs
        # nothing but this message.
        try:
            import mujoco  # noqa: F401
            import open3d  # noqa: F401
        except ImportError as error:
            raise InputError(
                f"a peer library is missing ({error.name}); install twin_gym's "
                "bench extra (pip install '.[bench]') or pass --skip-peers"
            ) from None
    max_threads = numba.config.NUMBA_NUM_THREADS
    thread_counts = [t for t in (1, 2) if t <= max_threads]

    start = time.perf_counter()
    scene = build_bench_scene(args.size, args.seed)
    directions_b = lidar_directions_b(args.channels, args.azimuth_steps)
    pose_sets = make_pose_sets(
        scene, args.poses, directions_b, args.seed, args.channels
    )
    rows, cols = scene.shape
    print(
        f"twin {rows} x {cols} cells of 1 m from {JACKSBORO}, "
        f"{int((scene.structure_heights > 0).sum())} building cells, "
        f"built in {time.perf_counter() - start:.1f} s"
    )
    print(
        f"LiDAR {args.channels} x {args.azimuth_steps}, {args.max_range:g} m, "
        f"{args.poses} poses per height, {len(pose_sets[0].origins_w)} rays per set"
    )
    first = first_scan_seconds()
    print(
        f"fresh process, warm numba cache: imports {first['import_s']:.2f} s, "
        f"first scan {first['first_scan_s']:.3f} s"
    )

    peer = None if args.skip_peers else Open3DPeer(scene, pose_sets, args.max_range)
    times = {}
    ranges = {}
    for threads in thread_counts:
        numba.set_num_threads(threads)
        for pose_set in pose_sets:
            casts = twin_gym_casts(scene, pose_set, args.max_range)
            if peer is not None:
                casts.update(peer.casts(pose_set, threads))
            # One call each first compiles, warms caches and gives the ranges.
            for name, cast in casts.items():
                ranges[(pose_set.name, name)] = cast()
            times[(pose_set.name, threads)] = best_times(casts, args.repeats)
    steps = {}
    for pose_set in pose_sets:
        plain = scene.walk_steps(
            pose_set.origins_w, pose_set.directions_w, args.max_range, use_pyramid=False
        )
        skipping = scene.walk_steps(
            pose_set.origins_w, pose_set.directions_w, args.max_range
        )
        steps[pose_set.name] = (plain.mean(), skipping.mean())

    print()
    print(
        "twin_gym Mrays/s, the LiDAR's fans of one azimuth step each and ray by "
        "ray; steps per ray ray by ray"
    )
    print("set    threads   fans   rays  steps/ray (plain walk -> pyramid)")
    for pose_set in pose_sets:
        n = len(pose_set.origins_w)
        for threads in thread_counts:
            best = times[(pose_set.name, threads)]
            plain, skipping = steps[pose_set.name]
            print(
                f"{pose_set.name:6s} {threads:7d}  {n / best['fans'] / 1e6:5.2f}  "
                f"{n / best['rays'] / 1e6:5.2f}  {plain:.1f} -> {skipping:.1f}"
            )
    if peer is None:
        return

    print()
    print(
        "ratio: twin_gym fans / peer (ray by ray / peer), each timed in turn "
        "with the peer"
    )
    print(
        "set    threads  Open3D whole Mrays/s  ratio        Open3D in-range "
        "Mrays/s  ratio        range diff p99.9 / max m, hit/miss agree"
    )
    for threads in thread_counts:
        for pose_set in pose_sets:
            n = len(pose_set.origins_w)
            best = times[(pose_set.name, threads)]
            whole_s, limited_s = best["whole"], best["in range"]
            t_hit = ranges[(pose_set.name, "whole")].astype(np.float64)
            t_hit[t_hit > args.max_range] = np.inf
            fans = pose_set.from_fans(ranges[(pose_set.name, "fans")])
            agree = [
                _agreement(ours, t_hit)
                for ours in (fans, ranges[(pose_set.name, "rays")])
            ]
            print(
                f"{pose_set.name:6s} {threads:7d}  {n / whole_s / 1e6:20.2f}  "
                f"{whole_s / best['fans']:4.2f} ({whole_s / best['rays']:4.2f})  "
                f"{n / limited_s / 1e6:23.2f}  "
                f"{limited_s / best['fans']:4.2f} ({limited_s / best['rays']:4.2f})  "
                f"{agree[0]} ({agree[1]})"
            )
    print(
        f"Open3D whole-twin mesh: {peer.triangles} triangles, "
        f"BVH built in {peer.build_s:.1f} s (not in the rates)"
    )

    print()
    print("set    MuJoCo mj_multiRay (height field only, 1 thread) Mrays/s  ratio")
    for pose_set in pose_sets:
        seconds, count = time_mujoco(
            scene, pose_set, args.max_range, args.mujoco_rays, args.seed
        )
        rate = count / seconds / 1e6
        ours_rate = len(pose_set.origins_w) / times[(pose_set.name, 1)]["fans"] / 1e6
        print(f"{pose_set.name:6s} {rate:.4f} on {count} rays  {ours_rate / rate:.1f}")
