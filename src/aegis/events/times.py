"""Times as sources write them, read as the moment they mean, and kept in UTC.

A naive time is China Standard Time (UTC+8), the local time of every source Aegis is built for. Besides ISO 8601
(which pydantic reads, with or without an offset), a time may be written as spreadsheets save it
(``2026/10/1 7:28``) or as bank exports compact it (``20261001``, ``202610011020``, ``20261001102030``), as text
or as a number. Any other bare number is refused: pydantic would read it as seconds (or milliseconds) since 1970,
so an Excel date serial (``46296.31``) or a compact date would be stored as a day of 1970 without a word. No
source of Aegis writes epoch numbers: the simulator's Parquet columns are typed timestamps, which arrive as
times, and the store gives back times.

>>> [str(written_time(text)) for text in ("2026/10/1 7:28", "20261001", 20261001102030)]
['2026-10-01 07:28:00', '2026-10-01 00:00:00', '2026-10-01 10:20:30']
>>> written_time(1790000000)
Traceback (most recent call last):
ValueError: '1790000000' is a bare number, not a time: write it as 2026-10-01 10:20:30, or as YYYYMMDD[HHMM[SS]]
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from numbers import Number
from typing import Any

CHINA_TZ = timezone(timedelta(hours=8), "CST")

YEARS = range(1900, 2200)
"""the years a time may fall in: a year 1 or 9999 is a typing error, which pandas cannot even hold (its
nanosecond times end in 1677 and 2262) and which would move every "latest event" window to the year 9999"""


MAX_CLOCK_SKEW = timedelta(minutes=5)
"""how far ahead of Aegis's clock a time given from outside may be: the clocks of a bank's gateway, a telco's
export and Aegis differ by seconds, a little more under a leap or a slow NTP sync. What is decided or stored has
happened; a time later than that is a bad field, which would move every window that starts from the latest
event into the future (one SMS dated 2096 did: a profile refresh read from 2096, and warnings replayed 25,000
empty days), and the warning a payment leads to (its last lead dated 2098)"""


def not_ahead(value: datetime, now: datetime) -> datetime:
    """``value``, refused if it is later than ``now`` by more than :data:`MAX_CLOCK_SKEW`; the past is always
    taken (a replay of recorded events, a late export)."""
    if value > now + MAX_CLOCK_SKEW:
        raise ValueError(f"more than {MAX_CLOCK_SKEW.seconds // 60} minutes in the future (Aegis's clock reads "
                         f"{now.astimezone(UTC):%Y-%m-%dT%H:%M}Z)")
    return value


def to_utc(value: datetime) -> datetime:
    """A naive time is China Standard Time; everything is kept in UTC."""
    if value.year not in YEARS:  # before converting: year 1 has no earlier hours to convert to
        raise ValueError(f"year {value.year} is out of range ({YEARS.start}-{YEARS.stop - 1})")
    if value.tzinfo is None:
        value = value.replace(tzinfo=CHINA_TZ)
    utc = value.astimezone(UTC)
    if utc.year not in YEARS:  # and after: the range is the store's, in UTC
        raise ValueError(f"{utc.isoformat()} (UTC) is out of range ({YEARS.start}-{YEARS.stop - 1})")
    return utc


SPREADSHEET_TIME = re.compile(
    r"(?P<year>\d{4})([/-])(?P<month>\d{1,2})\2(?P<day>\d{1,2})"
    r"(?: +(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,6}))?)?)?")
"""a time as spreadsheets write it: year first, '/' or '-', month, day and hour maybe of one digit, seconds
maybe left out (Excel's Chinese locale saves ``2026/10/1 7:28``)"""
COMPACT_TIME = re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})(?:(?P<hour>\d{2})(?P<minute>\d{2})"
                          r"(?P<second>\d{2})?)?")
"""a time as bank exports compact it: ``YYYYMMDD``, ``YYYYMMDDHHMM`` or ``YYYYMMDDHHMMSS``"""
BARE_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
"""a text that pydantic, or a reader of it, would take for a number"""
SERIALS = 110_000
"""a spreadsheet's date serial counts days from 1899-12-30: those of :data:`YEARS` are below this"""


def written_time(value: Any) -> Any:
    """A time written as :data:`SPREADSHEET_TIME` or :data:`COMPACT_TIME` (text or number) as the naive time it
    means; any other number refused; any other value as it is, for pydantic to read (ISO 8601). Written here
    because pydantic reads only ISO 8601 (and numbers as epoch seconds), while a general parser (dateutil,
    pandas) also takes ``10/01/2026`` and guesses which number is the month; year-first leaves nothing to guess."""
    number = isinstance(value, Number) and not isinstance(value, bool)
    if not (number or isinstance(value, str)):
        return value
    text = _as_text(value) if number else value.strip()
    for pattern in (SPREADSHEET_TIME, COMPACT_TIME):
        if (match := pattern.fullmatch(text)) is not None:
            return _naive(text, match.groupdict())
    if number or BARE_NUMBER.fullmatch(text):
        raise ValueError(_bare(text))
    if "/" in text:  # pydantic would only say that '-' was expected
        raise ValueError(f"'{text}' is not a time: write it as 2026-10-01 07:28 or 2026/10/1 7:28")
    return value


def _as_text(number: Any) -> str:
    """A number as text, a whole one without a point (a number column with gaps holds 20261001 as 20261001.0)."""
    try:
        whole = int(number)
    except (TypeError, ValueError, OverflowError):  # NaN, infinity, a complex number
        return str(number)
    return str(whole) if whole == number else str(number)


def _bare(text: str) -> str:
    """What is said of a bare number given for a time."""
    serial = BARE_NUMBER.fullmatch(text) is not None and 0 < float(text) < SERIALS
    hint = " (a spreadsheet's date saved as its serial number? format the column as a date)" if serial else ""
    return f"'{text}' is a bare number, not a time: write it as 2026-10-01 10:20:30, or as YYYYMMDD[HHMM[SS]]{hint}"


def _naive(text: str, parts: dict[str, str | None]) -> datetime:
    def part(name: str) -> int:
        return int(parts.get(name) or 0)

    try:
        return datetime(part("year"), part("month"), part("day"), part("hour"), part("minute"), part("second"),
                        int((parts.get("fraction") or "").ljust(6, "0")))
    except ValueError as exc:  # "month must be in 1..12"
        raise ValueError(f"'{text}' is not a time: {exc}") from None
