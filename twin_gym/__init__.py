"""Gymnasium environments on digital twins of real terrain."""

__version__ = "0.1.0"
