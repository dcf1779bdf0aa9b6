"""Use cases: what a user of Aegis can do, each a function taking the acting user and its inputs."""

from collections.abc import Callable, Collection

from aegis.reasons import Reason

Say = Callable[[Reason | str], None]
"""Told each stage of a long job as it starts (the CLI prints it with the seconds since the start). A stage an
operator watches is a message (:class:`aegis.reasons.Reason`), shown in the operator's language."""


def check_one_of(field: str, value: str | None, allowed: Collection[str]) -> None:
    """A filter or code outside its known values is the caller's mistake, named, not an empty answer."""
    if value is not None and value not in allowed:
        raise ValueError(f"{field}: '{value}' is not one of {', '.join(allowed)}")
