"""What the API server logs: uvicorn's own configuration, with personal data masked in the access log.

A request line carries its query string, and the documented way to read one subject's audit entries is
``/api/v1/audit?subject_id=13912345678``: the access log would keep the number in full on every read.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any
from urllib.parse import quote, unquote_plus

from aegis.usecases.actor import mask
from aegis.usecases.audit import is_aegis_id, masked_text

_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
"""control characters, line and paragraph separators and bidirectional marks: decoded from a request line, they
would let a client write lines of its own into the log (``%0D%0A`` and a forged entry) or reorder what it shows"""


class MaskedAccess(logging.Filter):
    """Masks phone, card and ID numbers in an access record's request line (its path and query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            # decoded first: a client writes 139 1234 5678 as 139+1234+5678 or 139%201234%205678; what must not
            # reach the log as it is (a line break, a terminal escape) is encoded again after masking
            record.args = tuple(_printable(_searched(masked_text(unquote_plus(a)))) if isinstance(a, str) else a
                                for a in record.args)
        return True


_SEARCHED = re.compile(r"(?<=[?&]subject_id=)[^&#\s]+")
"""the subject a reader of the audit log asked for: a number (masked already), or a person's name, which no
pattern tells from other words (``?subject_id=叶雪婷``); Aegis's own ids (a warning's, an order's) stay readable"""


def _searched(line: str) -> str:
    return _SEARCHED.sub(lambda m: m.group() if is_aegis_id(m.group()) or "*" in m.group()
                         else mask(m.group()), line)


def _printable(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: quote(m.group(), safe=""), text)


def log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with :class:`MaskedAccess` on the access handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["masked"] = {"()": MaskedAccess}
    config["handlers"]["access"]["filters"] = ["masked"]
    return config
