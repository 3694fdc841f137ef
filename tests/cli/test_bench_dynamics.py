"""Tests of twin-gym bench dynamics at a small size."""

import pytest

from twin_gym.bench.dynamics import measure
from twin_gym.cli import main


def test_bench_dynamics_prints_a_row_per_size(capsys):
    code = main(
        [
            "bench",
            "dynamics",
            "--bodies",
            "3",
            "--min-seconds",
            "0.01",
            "--repeats",
            "1",
            "--skip-peers",
        ]
    )

    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| 3 |")]
    assert code == 0
    assert len(rows) == 1
    cells = rows[0].strip("|").split("|")
    assert len(cells) == 8
    assert cells[2].strip() == "-"
    assert float(cells[1].split()[0].replace(",", "")) > 0


@pytest.mark.parametrize(
    ("name", "factory_args", "module"),
    [
        ("rotorpy", [2], "rotorpy"),
        ("highway_env", [2], "highway_env"),
        ("rover", [2, False, "euler"], "numba"),
    ],
)
def test_bench_dynamics_measures_each_implementation(name, factory_args, module):
    pytest.importorskip(module)
    rate = measure(name, factory_args, min_seconds=0.01, repeats=1)
    assert rate > 0


def test_bench_dynamics_rejects_zero_bodies(capsys):
    code = main(["bench", "dynamics", "--bodies", "0", "--skip-peers"])

    assert code == 2
    assert "--bodies must all be >= 1" in capsys.readouterr().err
