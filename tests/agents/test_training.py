import csv

import gymnasium as gym
import numpy as np
import pytest
from twin_gym_agents.demo import run_demo
from twin_gym_agents.policies import PPOPolicy
from twin_gym_agents.train import train_ppo

from twin_gym.cli import main
from twin_gym.errors import InputError

ENV_ID = "twin_gym/DroneDelivery-v0"


def test_train_saves_loadable_policy(tmp_path):
    model_path = train_ppo(
        ENV_ID, 1024, seed=0, output_dir=tmp_path, progress_bar=False
    )
    assert model_path == tmp_path / "model.zip"
    assert (tmp_path / "obs_normalization.npz").is_file()
    assert (tmp_path / "config.json").is_file()
    assert "time/fps" in (tmp_path / "progress.csv").read_text()
    policy = PPOPolicy.load(tmp_path)
    env = gym.make(ENV_ID)
    observation, _ = env.reset(seed=0)
    action = policy.act(observation)
    assert env.action_space.contains(np.asarray(action, dtype=np.float32))
    # Deterministic actions: the same observation gives the same action.
    np.testing.assert_array_equal(action, policy.act(observation))


def test_train_rejects_unknown_id(tmp_path):
    with pytest.raises(InputError, match="unknown environment id"):
        train_ppo("twin_gym/Nothing-v0", 100, seed=0, output_dir=tmp_path)


def test_load_missing_run_folder(tmp_path):
    with pytest.raises(InputError, match="not found"):
        PPOPolicy.load(tmp_path)


def test_evaluate_command_writes_table(tmp_path, capsys):
    output = tmp_path / "scripted.csv"
    status = main(
        ["evaluate", "--policy", "scripted", "--episodes", "3", "-o", str(output)]
    )
    assert status == 0
    with output.open() as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 1
    assert rows[0]["policy"] == "scripted"
    assert rows[0]["episodes"] == "3"
    for column in ("success_rate", "crash_rate", "mean_return", "mean_time_to_goal_s"):
        assert column in rows[0]
    assert "scripted" in capsys.readouterr().out


def test_evaluate_command_rejects_bad_policy(tmp_path, capsys):
    status = main(["evaluate", "--policy", str(tmp_path / "none"), "--episodes", "1"])
    assert status == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert "is not scripted, random or an existing run folder" in error[0]


def test_demo_ppo_beats_random(tmp_path):
    outcome = run_demo(
        tmp_path,
        episodes=10,
        timesteps=40_000,
        seed=0,
        progress_bar=False,
        echo=lambda line: None,
    )
    assert outcome.report_path.is_file()
    assert outcome.figure_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = {row["policy"]: row for row in outcome.summaries}
    assert set(rows) == {"scripted", "random", "ppo"}
    assert outcome.ppo_margin == pytest.approx(
        rows["ppo"]["mean_return"] - rows["random"]["mean_return"]
    )
    assert outcome.ppo_margin > 0
    rover_rows = {row["policy"]: row for row in outcome.rover_summaries}
    assert set(rover_rows) == {"scripted", "random"}
    assert rover_rows["scripted"]["success_rate"] > rover_rows["random"]["success_rate"]
    assert (tmp_path / "rover_results.csv").is_file()
    report = outcome.report_path.read_text()
    assert "RoverNavigation-v0" in report
    assert f"{outcome.ppo_margin:+.1f}" in report
    assert "trajectories.png" in report


def test_evaluate_uses_run_environment(tmp_path, capsys):
    run_dir = tmp_path / "rover"
    rover_id = "twin_gym/RoverNavigation-v0"
    train_ppo(rover_id, 256, seed=0, output_dir=run_dir, progress_bar=False)
    output = tmp_path / "rover.csv"
    command = ["evaluate", "--policy", str(run_dir), "--episodes", "1"]
    assert main([*command, "-o", str(output)]) == 0
    assert output.is_file()
    capsys.readouterr()
    assert main([*command, "--env-id", ENV_ID, "-o", str(output)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1
    assert f"was trained on {rover_id}, not {ENV_ID}" in error[0]


def test_interrupted_training_keeps_earlier_run(tmp_path, monkeypatch):
    from stable_baselines3 import PPO

    train_ppo(ENV_ID, 256, seed=0, output_dir=tmp_path, progress_bar=False)
    names = ("model.zip", "obs_normalization.npz", "config.json", "progress.csv")
    before = {name: (tmp_path / name).read_bytes() for name in names}
    learn = PPO.learn

    def learn_then_stop(self, *args, **kwargs):
        # Train, so that SB3 writes metrics, and stop as Ctrl-C would.
        learn(self, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(PPO, "learn", learn_then_stop)
    with pytest.raises(KeyboardInterrupt):
        train_ppo(ENV_ID, 256, seed=1, output_dir=tmp_path, progress_bar=False)
    for name in names:
        assert (tmp_path / name).read_bytes() == before[name], name
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(names)
