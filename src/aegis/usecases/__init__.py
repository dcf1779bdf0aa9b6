"""Use cases: what a user of Aegis can do, each a function taking the acting user and its inputs."""

from collections.abc import Callable, Collection

from aegis.events.models import holds_nul
from aegis.reasons import Reason

Say = Callable[[Reason | str], None]
"""Told each stage of a long job as it starts (the CLI prints it with the seconds since the start). A stage an
operator watches is a message (:class:`aegis.reasons.Reason`), shown in the operator's language."""


def check_one_of(field: str, value: str | None, allowed: Collection[str]) -> None:
    """A filter or code outside its known values is the caller's mistake, named, not an empty answer."""
    if value is not None and value not in allowed:
        raise ValueError(f"{field}: '{value}' is not one of {', '.join(allowed)}")


MAX_NOTE = 500
"""the longest note or reason a person may write (the API's limit too)"""


def person_text(field: str, value: str | None, *, required: bool = False) -> str:
    """Free text a person writes (an officer's note, a bank's reason), as the audit log keeps it: stripped, at most
    :data:`MAX_NOTE` characters and without NUL, which PostgreSQL's text cannot hold (a NUL failed the whole
    transaction there). A required one may not be blank: spaces are no reason."""
    text = (value or "").strip()
    if required and not text:
        raise ValueError(f"{field}: must not be blank")
    if len(text) > MAX_NOTE:
        raise ValueError(f"{field}: at most {MAX_NOTE} characters (got {len(text)})")
    if holds_nul(text):
        raise ValueError(f"{field}: must not contain a NUL character")
    return text
