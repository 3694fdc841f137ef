"""Map definitions bundled with twin_gym, one TOML file per map."""
