import sys

from twin_gym.cli import main


def test_missing_peer_is_one_line(monkeypatch, capsys):
    # A None entry makes "import mujoco" fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "mujoco", None)

    status = main(["bench", "raycast"])

    error = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(error) == 1
    assert "mujoco" in error[0]
    assert "--skip-peers" in error[0]


def test_invalid_size_rejected(capsys):
    status = main(["bench", "raycast", "--size", "10", "--skip-peers"])

    error = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(error) == 1
    assert "10" in error[0]
