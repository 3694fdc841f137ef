"""Ray casting against the twin's surface."""
