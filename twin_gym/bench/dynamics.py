"""Benchmark of dynamics speed against RotorPy and highway-env.

Each figure is body-steps per second: bodies times physics steps, divided by
the wall time. Every figure is measured in a fresh interpreter, one after the
other in the same run, so the ratios compare the implementations under about
the same load.

- Quadrotors: ``DroneSim`` in ``rotor_speed`` mode (RK4 at 200 Hz, motor lag,
  drag, terrain contact check on a plane, 10 physics steps per call). The
  peer is RotorPy's ``BatchedMultirotor`` (PyTorch on the CPU,
  ``integrator="rk4"``, ``cmd_motor_speeds``, its aerodynamics on, one 5 ms
  step per call).
- Ground vehicles: ``RoverSim`` (100 Hz on the default twin, surface
  sampling, 10 physics steps per call) with ``integrator="euler"`` against
  highway-env's kinematic ``Vehicle.step`` (explicit Euler, 10 ms, no road,
  one Python call per vehicle and step), so both use one derivative
  evaluation per step. The RK4 figure of ``RoverSim`` is printed beside it.

RotorPy gets its drone indices as a NumPy array (``idxs``), its fastest
form here: a Python list was about 30 times slower in this benchmark.
Each twin_gym figure is the faster of the serial and the threaded kernel,
marked ``s`` or ``t``, because threads help on an idle machine but slowed the
kernels by up to 70 times on cores that other processes kept busy.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np

from twin_gym.errors import InputError

logger = logging.getLogger(__name__)

DEFAULT_BODIES = (1, 64, 1024, 4096)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this benchmark's options."""
    parser.add_argument(
        "--bodies",
        type=int,
        nargs="+",
        default=list(DEFAULT_BODIES),
        help="batch sizes to time (default: 1 64 1024 4096)",
    )
    parser.add_argument(
        "--min-seconds",
        type=float,
        default=1.0,
        help="wall time of each timing window, in seconds (default: 1.0)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timing windows per figure; the fastest is reported (default: 3)",
    )
    parser.add_argument(
        "--skip-peers",
        action="store_true",
        help="time only twin_gym, for machines without the bench extra",
    )


def time_calls(call: Callable[[], None], min_seconds: float, repeats: int) -> float:
    """Return the fastest seconds per call over ``repeats`` timing windows.

    Each window repeats ``call`` until ``min_seconds`` have passed (at least
    twice). One untimed call first absorbs compilation and caches.
    """
    call()
    best = math.inf
    for _ in range(repeats):
        count = 0
        start = time.perf_counter()
        elapsed = 0.0
        while count < 2 or elapsed < min_seconds:
            call()
            count += 1
            elapsed = time.perf_counter() - start
        best = min(best, elapsed / count)
    return best


def twin_gym_quadrotor(
    num_bodies: int, parallel: bool
) -> tuple[Callable[[], None], int]:
    """Return a call that steps ``num_bodies`` quadrotors and its body-steps."""
    from twin_gym.dynamics import DELIVERY_QUADROTOR
    from twin_gym.sim import DroneSim

    sim = DroneSim(
        DELIVERY_QUADROTOR,
        num_bodies,
        physics_hz=200.0,
        control_hz=20.0,
        control_mode="rotor_speed",
        parallel=parallel,
    )
    pos_w = np.zeros((num_bodies, 3))
    pos_w[:, 2] = 1.0e6
    sim.reset(pos_w)
    command = np.full((num_bodies, 4), DELIVERY_QUADROTOR.hover_rotor_speed)
    command[:, 0] += 5.0
    return lambda: sim.step(command), num_bodies * sim.substeps


def rotorpy_quadrotor(num_bodies: int) -> tuple[Callable[[], None], int]:
    """Return a call that steps RotorPy's batched quadrotors once, 5 ms."""
    import torch
    from rotorpy.vehicles.crazyflie_params import quad_params
    from rotorpy.vehicles.multirotor import BatchedMultirotor, BatchedMultirotorParams

    device = torch.device("cpu")
    params = BatchedMultirotorParams([quad_params] * num_bodies, num_bodies, device)
    state = {
        "x": torch.zeros(num_bodies, 3, dtype=torch.double),
        "v": torch.zeros(num_bodies, 3, dtype=torch.double),
        "q": torch.tensor([[0.0, 0.0, 0.0, 1.0]] * num_bodies, dtype=torch.double),
        "w": torch.zeros(num_bodies, 3, dtype=torch.double),
        "wind": torch.zeros(num_bodies, 3, dtype=torch.double),
        "rotor_speeds": torch.full((num_bodies, 4), 1788.5, dtype=torch.double),
    }
    vehicle = BatchedMultirotor(
        params,
        num_bodies,
        state,
        device,
        control_abstraction="cmd_motor_speeds",
        aero=True,
        integrator="rk4",
    )
    control = {
        "cmd_motor_speeds": torch.full((num_bodies, 4), 1790.0, dtype=torch.double)
    }

    current = [state]
    idxs = np.arange(num_bodies)

    def call() -> None:
        current[0] = vehicle.step(current[0], control, 0.005, idxs=idxs)

    return call, num_bodies


def twin_gym_rover(
    num_bodies: int, parallel: bool, integrator: str
) -> tuple[Callable[[], None], int]:
    """Return a call that steps ``num_bodies`` rovers on the default twin."""
    from twin_gym.dynamics.ground_vehicle import FIELD_ROVER
    from twin_gym.envs.common.twins import load_twin_map
    from twin_gym.maps import DEFAULT_MAP
    from twin_gym.sim import RoverSim

    twin = load_twin_map(DEFAULT_MAP).twin
    sim = RoverSim(
        FIELD_ROVER, num_bodies, terrain=twin, parallel=parallel, integrator=integrator
    )
    side = int(math.ceil(math.sqrt(num_bodies)))
    grid = 5.0 * np.stack(np.unravel_index(np.arange(num_bodies), (side, side)), 1)
    start_xy = grid - 2.5 * side
    sim.reset(start_xy)
    command = np.tile([0.1, 0.5, 0.0], (num_bodies, 1))
    calls = [0]

    def call() -> None:
        # Park the vehicles again every 10 s of simulated time, so that few
        # are frozen by a rollover or a collision. The reset is timed too.
        calls[0] += 1
        if calls[0] % 100 == 0:
            sim.reset(start_xy)
        sim.step(command)

    return call, num_bodies * sim.substeps


def highway_env_vehicle(num_bodies: int) -> tuple[Callable[[], None], int]:
    """Return a call that steps highway-env's kinematic vehicles once, 10 ms."""
    from highway_env.vehicle.kinematics import Vehicle

    vehicles = [
        Vehicle(None, np.array([5.0 * i, 0.0]), heading=0.0, speed=2.0)
        for i in range(num_bodies)
    ]
    for vehicle in vehicles:
        vehicle.act({"steering": 0.1, "acceleration": 0.5})

    def call() -> None:
        for vehicle in vehicles:
            vehicle.step(0.01)

    return call, num_bodies


FACTORIES = {
    "quadrotor": twin_gym_quadrotor,
    "rotorpy": rotorpy_quadrotor,
    "rover": twin_gym_rover,
    "highway_env": highway_env_vehicle,
}
"""Benchmarked implementations by name, each a factory of (call, body-steps)."""


def measure(name: str, factory_args: list, min_seconds: float, repeats: int) -> float:
    """Return the body-steps per second of one implementation in this process."""
    call, body_steps = FACTORIES[name](*factory_args)
    return body_steps / time_calls(call, min_seconds, repeats)


def _rate(args: argparse.Namespace, name: str, *factory_args) -> float:
    """Return body-steps per second measured in a fresh interpreter.

    A fresh interpreter keeps other libraries' threads out of the timing.
    Timed in the same interpreter right after numba's threaded kernel,
    RotorPy ran about 9 times slower at 1024 bodies.
    """
    code = (
        "import json, sys\n"
        "from twin_gym.bench.dynamics import measure\n"
        "request = json.loads(sys.argv[1])\n"
        "print(json.dumps(measure(**request)))\n"
    )
    request = {
        "name": name,
        "factory_args": list(factory_args),
        "min_seconds": args.min_seconds,
        "repeats": args.repeats,
    }
    completed = subprocess.run(
        [sys.executable, "-c", code, json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if completed.returncode != 0:
        raise InputError(
            f"benchmark of {name} with {factory_args} failed: "
            f"{completed.stderr.strip().splitlines()[-1:]}"
        )
    return float(json.loads(completed.stdout.strip().splitlines()[-1]))


def _best_kernel(args: argparse.Namespace, name: str, num_bodies: int, *rest):
    """Return (body-steps/s, "s" or "t") of the faster of serial and threaded."""
    serial = _rate(args, name, num_bodies, False, *rest)
    threaded = _rate(args, name, num_bodies, True, *rest)
    return (serial, "s") if serial >= threaded else (threaded, "t")


def _machine() -> str:
    import numba

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, numba {numba.__version__} "
        f"({numba.get_num_threads()} threads)"
    )


def run(args: argparse.Namespace) -> None:
    """Run the benchmark and print its table."""
    if any(n < 1 for n in args.bodies):
        raise InputError(f"--bodies must all be >= 1, got {args.bodies}")
    if not (math.isfinite(args.min_seconds) and args.min_seconds > 0):
        raise InputError(f"--min-seconds must be > 0, got {args.min_seconds}")
    if args.repeats < 1:
        raise InputError(f"--repeats must be >= 1, got {args.repeats}")
    peers = not args.skip_peers
    if peers:
        try:
            import highway_env  # noqa: F401
            import rotorpy  # noqa: F401
        except ImportError as error:
            raise InputError(
                f"a peer library is missing ({error.name}); install twin_gym's "
                "bench extra (pip install '.[bench]') or pass --skip-peers"
            ) from None

    print(f"machine: {_machine()}")
    print("Body-steps per second, fastest of the timing windows.\n")
    print(
        "| bodies | quadrotor RK4 | RotorPy RK4 | ratio | rover Euler "
        "| highway-env Euler | ratio | rover RK4 |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for num_bodies in args.bodies:
        quad, quad_kernel = _best_kernel(args, "quadrotor", num_bodies)
        euler, euler_kernel = _best_kernel(args, "rover", num_bodies, "euler")
        rk4, rk4_kernel = _best_kernel(args, "rover", num_bodies, "rk4")
        peer_cells = ["-", "-", "-", "-"]
        if peers:
            rotorpy_rate = _rate(args, "rotorpy", num_bodies)
            highway_rate = _rate(args, "highway_env", num_bodies)
            peer_cells = [
                f"{rotorpy_rate:,.0f}",
                f"{quad / rotorpy_rate:,.1f}x",
                f"{highway_rate:,.0f}",
                f"{euler / highway_rate:,.1f}x",
            ]
        print(
            f"| {num_bodies} | {quad:,.0f} {quad_kernel} | {peer_cells[0]} "
            f"| {peer_cells[1]} | {euler:,.0f} {euler_kernel} | {peer_cells[2]} "
            f"| {peer_cells[3]} | {rk4:,.0f} {rk4_kernel} |"
        )
