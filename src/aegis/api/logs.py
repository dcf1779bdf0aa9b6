"""What the API server logs: uvicorn's own configuration, with personal data masked in the access log.

A request line carries its query string, and the documented way to read one subject's audit entries is
``/api/v1/audit?subject_id=13912345678``: the access log would keep the number in full on every read.
"""

from __future__ import annotations

import copy
import logging
from typing import Any
from urllib.parse import unquote_plus

from aegis.usecases.audit import masked_text


class MaskedAccess(logging.Filter):
    """Masks phone, card and ID numbers in an access record's request line (its path and query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            # decoded first: a client writes 139 1234 5678 as 139+1234+5678 or 139%201234%205678
            record.args = tuple(masked_text(unquote_plus(a)) if isinstance(a, str) else a for a in record.args)
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration with :class:`MaskedAccess` on the access handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["masked"] = {"()": MaskedAccess}
    config["handlers"]["access"]["filters"] = ["masked"]
    return config
