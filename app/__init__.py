"""Vigil: oversight of stalking and harassment cases."""

__version__ = "0.1.0"
