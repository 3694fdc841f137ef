"""Exceptions and warnings raised by twin_gym."""


class TwinGymError(Exception):
    """Base class of every error that twin_gym raises on purpose."""


class InputError(TwinGymError, ValueError):
    """Invalid user input: a path, a raster, a parameter or a map definition."""


class TwinGymWarning(UserWarning):
    """Base class of the warnings that twin_gym issues."""
