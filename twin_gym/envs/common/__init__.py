"""Parts shared by the twin_gym environments."""
