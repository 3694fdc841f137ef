"""Training, evaluation and baseline controllers for twin_gym environments.

Installed as ``twin_gym_agents``. Only :mod:`twin_gym_agents.train` and the
PPO policy loader import stable-baselines3, which comes with the ``train``
extra.
"""
