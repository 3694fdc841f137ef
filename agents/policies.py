"""Load a trained PPO model as a single-observation policy."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twin_gym.errors import InputError

MODEL_FILE = "model.zip"
NORMALIZATION_FILE = "obs_normalization.npz"


def import_sb3():
    """Import stable-baselines3, or raise an error that names the extra to install."""
    try:
        import stable_baselines3
    except ImportError:
        raise InputError(
            "stable-baselines3 is not installed; install the training extra with "
            "pip install torch==2.13.0 'twin_gym[train]'"
        ) from None
    return stable_baselines3


class PPOPolicy:
    """A PPO model saved by :func:`twin_gym_agents.train.train_ppo`.

    Observations are normalised with the running mean and variance recorded
    at the end of training, exactly as ``VecNormalize`` did during training.
    Actions are deterministic (the mean of the Gaussian policy).
    """

    name = "ppo"

    def __init__(self, model, obs_mean, obs_var, clip_obs, epsilon) -> None:
        self.model = model
        self.obs_mean = obs_mean
        self.obs_std = np.sqrt(obs_var + epsilon)
        self.clip_obs = clip_obs

    @classmethod
    def load(cls, run_dir: str | Path) -> PPOPolicy:
        """Load the model and its observation statistics from ``run_dir``.

        Raises:
            InputError: The folder lacks the model or statistics file.
        """
        sb3 = import_sb3()
        run_dir = Path(run_dir)
        if run_dir.is_file() and run_dir.name == MODEL_FILE:
            run_dir = run_dir.parent
        model_path = run_dir / MODEL_FILE
        stats_path = run_dir / NORMALIZATION_FILE
        for path in (model_path, stats_path):
            if not path.is_file():
                raise InputError(
                    f"{path} not found; give a run folder that twin-gym train wrote"
                )
        model = sb3.PPO.load(model_path, device="cpu")
        with np.load(stats_path) as stats:
            return cls(
                model,
                stats["mean"],
                stats["var"],
                float(stats["clip_obs"]),
                float(stats["epsilon"]),
            )

    def reset(self, seed: int) -> None:
        """Deterministic policy: nothing to reset."""

    def act(self, observation: np.ndarray) -> np.ndarray:
        """Return the deterministic action for one raw observation."""
        normalized = np.clip(
            (observation - self.obs_mean) / self.obs_std, -self.clip_obs, self.clip_obs
        ).astype(np.float32)
        action, _ = self.model.predict(normalized, deterministic=True)
        return action
