"""The library's own error types. Each subclasses ValueError, so callers that catch
ValueError (the command line among them) keep working; catch `JgailError` to tell a bad
input that jgail diagnosed from a bug anywhere else."""

from __future__ import annotations


class JgailError(ValueError):
    """A bad input that jgail diagnosed; the message says what is wrong and how to fix it."""


class ConfigError(JgailError):
    """A configuration value out of range, non-finite or of the wrong type."""


class DatasetError(JgailError):
    """A demonstrations file or dataset that is unreadable, malformed or does not fit the env."""


class CheckpointError(JgailError):
    """An agent checkpoint that is unreadable, corrupt, or does not match its own spec."""
