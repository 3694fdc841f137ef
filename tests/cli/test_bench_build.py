"""Tests of twin-gym bench build at a small size."""

import json

from twin_gym.cli import main


def test_bench_build_small(tmp_path, capsys):
    code = main(
        [
            "bench",
            "build",
            "--cells",
            "200",
            "--buildings",
            "300",
            "--workdir",
            str(tmp_path),
            "--json",
        ]
    )

    results = json.loads(capsys.readouterr().out)
    assert code == 0
    assert results["cells"] == "200 x 200"
    assert results["buildings"] == 300
    # Footprints of 8 to 30 m on 2.5 m cells each cover a cell centre.
    assert results["buildings_placed"] >= 295
    assert results["cold_s"] > 0
    assert results["cached_s"] > 0
    assert results["warp_s"] > 0
    assert results["twin_mb"] == round(200 * 200 * 10 / 2**20, 1)
    assert results["cold_over_warp"] > 0


def test_bench_build_rejects_tiny_grid(capsys):
    code = main(["bench", "build", "--cells", "10"])

    assert code == 2
    assert "--cells must be at least 100" in capsys.readouterr().err
