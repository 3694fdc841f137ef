"""``twin-gym evaluate``: score a policy over seeded episodes."""

from __future__ import annotations

import argparse
from pathlib import Path

import gymnasium as gym

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
        "--env-id", default="twin_gym/DroneDelivery-v0", help="registered id"
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
    parser.add_argument("--seed", type=int, default=0, help="first episode seed")
    parser.add_argument(
        "-o", "--output", type=Path, default=Path("results.csv"), help="CSV path"
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
    if args.env_id not in gym.registry:
        raise InputError(
            f"unknown environment id {args.env_id!r}; registered twin_gym ids: "
            f"{', '.join(twin_gym.ENV_IDS)}"
        )
    env = gym.make(args.env_id)
    if args.policy == "scripted":
        policy = _scripted_policy(
            env, ScriptedDeliveryController, ScriptedRoverController
        )
    elif args.policy == "random":
        policy = RandomPolicy(env.action_space)
    else:
        from twin_gym_agents.policies import PPOPolicy

        policy = PPOPolicy.load(args.policy)
    seeds = list(range(args.seed, args.seed + args.episodes))
    summary = summarize(policy.name, run_episodes(env, policy, seeds))
    env.close()
    write_summary_csv(args.output, [summary])
    print(format_markdown_table([summary]))
    print(f"wrote {args.output}")


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
