"""Tutti: the operations layer above AI coding agents."""

__version__ = "0.1.0"
