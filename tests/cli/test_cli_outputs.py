"""Tests of the command line: output paths, seeds and other argument checks."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from twin_gym.cli import main
from twin_gym.terrain.cache import write_atomic_all


def one_error_line(capsys):
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1, error
    return error[0]


def test_output_under_a_file_fails_first(tmp_path, capsys, cache_folder):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    twin = tmp_path / "twin.npz"
    status = main(
        ["build", "jacksboro", "-o", str(twin), "--report", str(blocker / "r.json")]
    )
    assert status == 2
    assert "afile is a file, not a folder" in one_error_line(capsys)
    # The twin is not written when its report cannot be.
    assert not twin.exists()
    assert not cache_folder.exists()


def test_output_that_is_a_folder(tmp_path, capsys):
    status = main(["evaluate", "--policy", "scripted", "-o", str(tmp_path)])
    assert status == 2
    assert "is a folder; give a file path" in one_error_line(capsys)


def test_run_folder_that_is_a_file(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    status = main(["train", "--timesteps", "8", "--seed", "0", "-o", str(blocker)])
    assert status == 2
    assert "is a file; give a folder path" in one_error_line(capsys)


def test_demo_checks_map_before_output(tmp_path, capsys):
    output = tmp_path / "demo"
    status = main(["demo", "--map", "nosuch", "-o", str(output)])
    assert status == 2
    assert "unknown map 'nosuch'" in one_error_line(capsys)
    assert not output.exists()


@pytest.mark.parametrize(
    "command",
    [
        ["train", "--timesteps", "8", "-o", "run"],
        ["evaluate", "--policy", "scripted"],
        ["demo"],
        ["bench", "raycast"],
        ["bench", "build"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_negative_seed_is_rejected(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--seed", "-1"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "argument --seed: must be an integer from 0 to 2**32 - 1" in error


def test_unwritable_destination_is_one_line(tmp_path, capsys, monkeypatch):
    # A destination that passes the checks and still fails, as a full disk
    # or a virtual file system would make it.
    def deny_create(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "elsewhere")

    monkeypatch.setattr("twin_gym.terrain.cache._create_temporary", deny_create)
    output = tmp_path / "results.csv"
    status = main(
        ["evaluate", "--policy", "scripted", "--episodes", "1"] + ["-o", str(output)]
    )
    assert status == 1
    assert one_error_line(capsys).endswith(f"Permission denied: {output}")


def test_atomic_writes_all_or_none(tmp_path):
    def fail(path):
        raise OSError(28, "No space left on device")

    first = tmp_path / "first.txt"
    second = tmp_path / "second.txt"
    with pytest.raises(OSError, match="No space"):
        write_atomic_all(
            [(first, lambda path: Path(path).write_text("a")), (second, fail)]
        )
    assert sorted(os.listdir(tmp_path)) == []


def test_atomic_writes_follow_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        path = tmp_path / "out.txt"
        write_atomic_all([(path, lambda temporary: Path(temporary).write_text("a"))])
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_version_flag(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("twin-gym ")


def test_text_file_named_npz(tmp_path, capsys):
    path = tmp_path / "bad.npz"
    path.write_text("garbage\n")
    assert main(["info", str(path)]) == 2
    error = one_error_line(capsys)
    assert "not a .npz archive" in error
    assert "pickle" not in error


def test_map_option_of_wrong_type(tmp_path, capsys, cache_folder):
    definition = tmp_path / "bad.toml"
    definition.write_text(
        'name = "bad"\n[dem]\nsource = "matplotlib:jacksboro_fault_dem.npz"\n'
        '[build]\ncell_size = "ten"\n'
    )
    assert main(["build", str(definition)]) == 2
    assert "cell_size must be a number, got 'ten'" in one_error_line(capsys)


def test_twin_output_needs_npz_suffix(tmp_path, capsys):
    output = tmp_path / "twin.txt"
    assert main(["build", "jacksboro", "-o", str(output)]) == 2
    assert "must end in .npz" in one_error_line(capsys)
    assert not output.exists()


def test_saved_twin_keeps_map_name(tmp_path, capsys):
    output = tmp_path / "twin.npz"
    assert main(["build", "jacksboro", "-o", str(output)]) == 0
    capsys.readouterr()
    assert main(["info", str(output)]) == 0
    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line.split() == ["name", "jacksboro"]


def test_train_keeps_an_earlier_model(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    model = run_dir / "model.zip"
    model.write_bytes(b"earlier")
    status = main(["train", "--timesteps", "8", "--seed", "0", "-o", str(run_dir)])
    assert status == 2
    assert "already contains a trained model" in one_error_line(capsys)
    assert model.read_bytes() == b"earlier"


def test_output_and_report_must_differ(tmp_path, capsys):
    path = tmp_path / "same.npz"
    status = main(["build", "jacksboro", "-o", str(path), "--report", str(path)])
    assert status == 2
    assert "both name" in one_error_line(capsys)
    assert not path.exists()


def test_seed_above_limit_rejected(capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--policy", "scripted", "--seed", str(2**32)])
    assert "from 0 to 2**32 - 1" in capsys.readouterr().err


def test_dangling_link_in_output_path(tmp_path, capsys):
    link = tmp_path / "dangling"
    link.symlink_to(tmp_path / "missing")
    status = main(["evaluate", "--policy", "scripted", "-o", str(link / "r.csv")])
    assert status == 2
    assert "symbolic link to a missing target" in one_error_line(capsys)


def test_long_output_name_is_written(tmp_path, capsys):
    output = tmp_path / ("x" * 246 + ".csv")
    command = ["evaluate", "--policy", "scripted", "--episodes", "1"]
    assert main([*command, "-o", str(output)]) == 0
    assert output.is_file()


def test_results_kept_out_of_run_folder(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "model.zip").write_bytes(b"model")
    output = run_dir / "model.zip"
    assert main(["evaluate", "--policy", str(run_dir), "-o", str(output)]) == 2
    assert "lies in the run folder" in one_error_line(capsys)
    assert output.read_bytes() == b"model"


def test_run_config_with_bad_kwargs(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text('{"env_id": null, "env_kwargs": [[1, 2]]}')
    status = main(["evaluate", "--policy", str(run_dir), "-o", str(tmp_path / "r.csv")])
    assert status == 2
    assert "must give env_id as a string" in one_error_line(capsys)


def test_closed_pipe_exits_quietly(tmp_path):
    command = (
        "import sys; from twin_gym.cli import main; "
        "sys.exit(main(['info', 'jacksboro', '--json']))"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "TWIN_GYM_CACHE_DIR": str(tmp_path / "cache")},
    )
    reader.stdout.close()
    _, error = reader.communicate(timeout=120)
    assert reader.returncode == 141
    assert error == b""
