"""Train stable-baselines3 PPO on a registered twin_gym environment."""

from __future__ import annotations

import importlib.resources
import json
import logging
import shlex
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from twin_gym_agents.policies import MODEL_FILE, NORMALIZATION_FILE, import_sb3

import twin_gym
from twin_gym.errors import InputError
from twin_gym.terrain.cache import write_atomic_all

logger = logging.getLogger(__name__)


def load_hyperparameters() -> dict[str, Any]:
    """Return the PPO and vector-env settings from ``ppo.toml``."""
    text = (importlib.resources.files("twin_gym_agents") / "ppo.toml").read_text()
    return tomllib.loads(text)


def train_ppo(
    env_id: str,
    total_timesteps: int,
    seed: int,
    output_dir: str | Path,
    env_kwargs: dict[str, Any] | None = None,
    progress_bar: bool = True,
) -> Path:
    """Train PPO on ``env_id`` and save the model with its observation statistics.

    The run folder receives ``model.zip`` (the SB3 model),
    ``obs_normalization.npz`` (running mean and variance of the
    observations), ``config.json`` (resolved settings and the command
    line), so that the run can be repeated, and ``progress.csv`` (SB3's
    training metrics). The four appear together once training ends, so an
    interrupted run leaves an earlier run in the folder as it was.

    Args:
        env_id: A registered Gymnasium id, such as
            ``"twin_gym/DroneDelivery-v0"``.
        total_timesteps: Environment steps to train for, summed over copies.
        seed: Seed of the environments and of PPO.
        output_dir: Run folder; created if missing.
        env_kwargs: Keyword arguments of the environment.
        progress_bar: Show SB3's progress bar.

    Returns:
        The path of the saved model.

    Raises:
        InputError: Unknown id, a non-positive budget, or SB3 missing.
    """
    sb3 = import_sb3()
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.logger import configure as configure_logger
    from stable_baselines3.common.vec_env import VecNormalize

    twin_gym.register_envs()
    if env_id not in gym.registry:
        raise InputError(
            f"unknown environment id {env_id!r}; registered twin_gym ids: "
            f"{', '.join(twin_gym.ENV_IDS)}"
        )
    if total_timesteps <= 0:
        raise InputError(f"total_timesteps must be positive, got {total_timesteps}")

    settings = load_hyperparameters()
    ppo_settings = dict(settings["ppo"])
    net_arch = ppo_settings.pop("net_arch")
    vec_settings = settings["vec"]
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    vec_env = make_vec_env(
        env_id, n_envs=vec_settings["n_envs"], seed=seed, env_kwargs=env_kwargs or {}
    )
    vec_env = VecNormalize(
        vec_env, norm_obs=True, norm_reward=True, clip_obs=vec_settings["clip_obs"]
    )
    model = sb3.PPO(
        "MlpPolicy",
        vec_env,
        seed=seed,
        device="cpu",
        verbose=0,
        policy_kwargs={"net_arch": net_arch},
        **ppo_settings,
    )
    # SB3 writes its metrics as training goes, so they go to a folder of
    # their own and join the run folder with the model.
    with tempfile.TemporaryDirectory(prefix=".training-", dir=output_dir) as log_dir:
        model.set_logger(configure_logger(log_dir, ["csv"]))
        logger.info("training PPO on %s for %d steps", env_id, total_timesteps)
        model.learn(total_timesteps=total_timesteps, progress_bar=progress_bar)
        model.logger.close()
        progress = Path(log_dir) / "progress.csv"
        stats = vec_env.obs_rms

        def write_stats(temporary: str) -> None:
            with open(temporary, "wb") as stream:
                np.savez(
                    stream,
                    mean=stats.mean,
                    var=stats.var,
                    clip_obs=vec_settings["clip_obs"],
                    epsilon=vec_env.epsilon,
                )

        config = {
            "env_id": env_id,
            "env_kwargs": env_kwargs or {},
            "total_timesteps": total_timesteps,
            "seed": seed,
            "hyperparameters": settings,
            "command": shlex.join(sys.argv),
            "twin_gym_version": twin_gym.__version__,
            "stable_baselines3_version": sb3.__version__,
        }
        model_path = output_dir / MODEL_FILE
        # The run's files appear together, so a failed write never pairs a
        # new model with an old run's statistics or metrics.
        write_atomic_all(
            [
                (model_path, lambda temporary: _save_model(model, temporary)),
                (output_dir / NORMALIZATION_FILE, write_stats),
                (
                    output_dir / "config.json",
                    lambda temporary: Path(temporary).write_text(
                        json.dumps(config, indent=2)
                    ),
                ),
                (
                    output_dir / "progress.csv",
                    lambda temporary: shutil.copyfile(progress, temporary),
                ),
            ]
        )
    vec_env.close()
    return model_path


def _save_model(model, temporary: str) -> None:
    # SB3 appends ".zip" to paths without it, so save through an open file.
    with open(temporary, "wb") as stream:
        model.save(stream)


if __name__ == "__main__":
    from twin_gym.cli import main

    sys.exit(main(["train", *sys.argv[1:]]))
