"""Use cases: what a user of Aegis can do, each a function taking the acting user and its inputs."""

from collections.abc import Callable

Say = Callable[[str], None]
"""Told each stage of a long job as it starts (the CLI prints it with the seconds since the start)."""
