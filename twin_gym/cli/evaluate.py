"""``twin-gym evaluate``: score a policy over seeded episodes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import gymnasium as gym

from twin_gym.cli._options import DEFAULT_ENV_ID, check_output_path, seed_value
from twin_gym.errors import InputError


def add_parser(commands) -> None:
    """Register the subcommand."""
    parser = commands.add_parser(
        "evaluate",
        help="run a policy over seeded episodes and write a results table",
        description=(
            "Run the scripted baseline, random actions or a PPO run folder over "
            "seeded episodes and write success rate, crash rate, mean return and "
            "mean time to goal as CSV."
        ),
    )
    parser.add_argument(
        "--env-id",
        help=f"registered id (default: a run folder's own, else {DEFAULT_ENV_ID})",
    )
    parser.add_argument(
        "--policy",
        required=True,
        help=(
            "scripted (the drone or rover controller that fits --env-id), random, "
            "or a run folder written by 'twin-gym train'"
        ),
    )
    parser.add_argument("--episodes", type=int, default=100, help="episodes")
    parser.add_argument(
        "--seed", type=seed_value, default=0, help="first episode seed (default: 0)"
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("results.csv"),
        help="CSV path (default: ./results.csv)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> None:
    """Evaluate and print the summary row."""
    from twin_gym_agents.baselines import (
        RandomPolicy,
        ScriptedDeliveryController,
        ScriptedRoverController,
    )
    from twin_gym_agents.evaluate import (
        format_markdown_table,
        run_episodes,
        summarize,
        write_summary_csv,
    )

    import twin_gym

    if args.episodes < 1:
        raise InputError(f"--episodes must be at least 1, got {args.episodes}")
    check_output_path(args.output, "--output")
    env_id, env_kwargs = args.env_id, {}
    if args.policy not in ("scripted", "random"):
        run_dir = Path(args.policy)
        if not run_dir.exists():
            raise InputError(
                f"--policy {args.policy!r} is not scripted, random or an existing "
                "run folder"
            )
        run_dir = run_dir.parent if run_dir.is_file() else run_dir
        if args.output.resolve().parent == run_dir.resolve():
            raise InputError(
                f"--output {args.output} lies in the run folder {run_dir}; write "
                "the results elsewhere so the run's files stay as trained"
            )
        env_id, env_kwargs = _run_environment(run_dir, env_id)
    env_id = env_id or DEFAULT_ENV_ID
    if env_id not in gym.registry:
        raise InputError(
            f"unknown environment id {env_id!r}; registered twin_gym ids: "
            f"{', '.join(twin_gym.ENV_IDS)}"
        )
    try:
        env = gym.make(env_id, **env_kwargs)
    except TypeError as error:
        raise InputError(
            f"cannot make {env_id} with the run folder's env_kwargs "
            f"{env_kwargs}: {error}"
        ) from None
    if args.policy == "scripted":
        policy = _scripted_policy(
            env, ScriptedDeliveryController, ScriptedRoverController
        )
    elif args.policy == "random":
        policy = RandomPolicy(env.action_space)
    else:
        from twin_gym_agents.policies import PPOPolicy

        policy = PPOPolicy.load(args.policy)
        trained_shape = policy.model.observation_space.shape
        if trained_shape != env.observation_space.shape:
            fix = (
                "pass the --env-id it was trained on"
                if args.env_id is not None
                else "correct the env_id in its config.json"
            )
            raise InputError(
                f"run folder {args.policy} takes observations of shape "
                f"{trained_shape}, but {env_id} gives "
                f"{env.observation_space.shape}; {fix}"
            )
    seeds = list(range(args.seed, args.seed + args.episodes))
    summary = summarize(policy.name, run_episodes(env, policy, seeds))
    env.close()
    write_summary_csv(args.output, [summary])
    print(format_markdown_table([summary]))
    print(f"wrote {args.output}")


def _run_environment(run_dir: Path, env_id: str | None) -> tuple[str | None, dict]:
    """Return the environment id and keyword arguments to evaluate a run on.

    A run folder's ``config.json`` names the environment it was trained on.
    That one is used when ``env_id`` is None, and a different ``env_id``
    is an error. Without the file, ``env_id`` is kept as given.
    """
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        return env_id, {}
    try:
        config = json.loads(config_path.read_text())
        trained_id = config["env_id"]
        trained_kwargs = config.get("env_kwargs") or {}
    except (ValueError, KeyError, TypeError) as error:
        raise InputError(
            f"cannot read the environment from {config_path}: {error}"
        ) from None
    named = isinstance(trained_kwargs, dict) and all(
        isinstance(key, str) for key in trained_kwargs
    )
    if not isinstance(trained_id, str) or not named:
        raise InputError(
            f"{config_path} must give env_id as a string and env_kwargs as a table "
            f"of named arguments, got {trained_id!r} and {trained_kwargs!r}"
        )
    if env_id is not None and env_id != trained_id:
        raise InputError(
            f"run folder {run_dir} was trained on {trained_id}, not {env_id}; "
            "omit --env-id or pass that id"
        )
    return trained_id, trained_kwargs


def _scripted_policy(env: gym.Env, drone_controller, rover_controller):
    """Return the scripted controller that fits the environment's task."""
    from twin_gym.envs.drone_delivery import DroneDeliveryEnv
    from twin_gym.envs.rover_navigation import RoverNavigationEnv

    base = env.unwrapped
    if isinstance(base, DroneDeliveryEnv):
        return drone_controller(env)
    if isinstance(base, RoverNavigationEnv):
        return rover_controller(env)
    raise InputError(
        f"no scripted controller for {type(base).__name__}; use --policy random "
        "or a run folder"
    )
