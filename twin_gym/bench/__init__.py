"""Benchmarks behind ``twin-gym bench``, one module per target.

Each module defines ``add_arguments(parser)`` and ``run(args)``. Peers
that a benchmark compares against come with the ``bench`` extra and are
imported inside ``run``.
"""

TARGETS = ("raycast", "dynamics", "build")
"""Benchmark targets, each a module of this package."""
