"""What the API server logs: uvicorn's own configuration, with personal data masked in the access log.

A request line carries its query string, and the documented way to read one subject's audit entries is
``/api/v1/audit?subject_id=13912345678``: the access log would keep the number in full on every read.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

from aegis.usecases.actor import mask
from aegis.usecases.audit import SPACED_RUN, is_aegis_id, masked_name, masked_text

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
"""control characters, line and paragraph separators and bidirectional marks: decoded from a request line, they
would let a client write lines of its own into the log (``%0D%0A`` and a forged entry) or reorder what it shows"""


class MaskedAccess(logging.Filter):
    """Masks the personal data of an access record's request line: every part of its path and every name and value
    of its query string that is not one of Aegis's ids or codes (:func:`_shown`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_printable(_target(a) if a.startswith("/") else masked_text(unquote_plus(a)))
                                if isinstance(a, str) else a for a in record.args)
        return True


def _target(target: str) -> str:
    """A request's path and query string as the log shows them, each part decoded (a client writes 139 1234 5678 as
    139+1234+5678 or 139%201234%205678) and masked unless it is a code; what must not reach the log as it is (a
    line break, a terminal escape) is encoded again after (:func:`_printable`)."""
    path, asked, query = target.partition("?")
    shown = "/".join(_shown(part, unquote(part)) for part in path.split("/"))
    if asked:
        shown += "?" + "&".join("=".join(_shown(half, unquote_plus(half)) for half in item.split("=", 1))
                                for item in query.split("&"))
    return shown


_CODE = re.compile(r"[A-Za-z0-9_.:+\-]*")
"""what Aegis's codes, route names and filters are written in: a route (warnings, v1), a status, level or action
(decision.sms), a language, a number of rows (fewer than seven digits, :func:`_shown`)"""

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?")


def _shown(raw: str, text: str) -> str:
    """One part of a request line (``raw``, as sent; ``text``, decoded) as the log shows it: an Aegis id, a code or
    an ISO time as written; anything else masked, wherever it stands (a path's id, ``?action=``, an unknown
    parameter), for it may be a name or a number however spaced (1%203%209... is no number to a pattern): a
    number found in it masked in place (:func:`~aegis.usecases.audit.masked_text`), else the whole
    (:func:`~aegis.usecases.actor.mask`: 叶雪婷 -> 叶**)."""
    plain = unquote(raw)
    if is_aegis_id(plain) or _TIME.fullmatch(plain) or (
            _CODE.fullmatch(plain) and sum(c.isdigit() for c in plain) < 7):
        return plain
    # a number masked in place, and any run of Chinese characters as a name is (唐建磊 -> 唐**): a name after a code
    # or an id in the same part (?action=warning.唐建磊) was left whole beside the masked rest
    found = SPACED_RUN.sub(lambda m: masked_name(m.group()), masked_text(text))
    return found if found != text else mask(text)



def _printable(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: quote(m.group(), safe=""), text)


def log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with :class:`MaskedAccess` on the access handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["masked"] = {"()": MaskedAccess}
    config["handlers"]["access"]["filters"] = ["masked"]
    return config
