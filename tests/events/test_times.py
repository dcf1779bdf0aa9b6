"""Times as sources write them: ISO 8601, a spreadsheet's, a bank export's compact digits; never a bare number."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from aegis.events import EVENT_TYPES, Call, Transfer, times
from aegis.usecases.decisions import TransferIn

TRANSFER = {"payer_account": "a1", "payee_account": "a2", "payer_bank": "ICBC", "payee_bank": "CCB", "amount": "10"}


def test_doctests() -> None:
    assert doctest.testmod(times).failed == 0


@pytest.mark.parametrize(
    ("written", "china_time"),
    [
        ("20261001", "2026-10-01 00:00:00"),
        ("202610011020", "2026-10-01 10:20:00"),
        ("20261001102030", "2026-10-01 10:20:30"),
        (" 20261001102030 ", "2026-10-01 10:20:30"),
        # a number column: JSON, a Parquet int64, a float64 one with gaps (which pandas writes for an int column)
        (20261001, "2026-10-01 00:00:00"),
        (202610011020, "2026-10-01 10:20:00"),
        (20261001102030, "2026-10-01 10:20:30"),
        (20261001.0, "2026-10-01 00:00:00"),
        (20261001102030.0, "2026-10-01 10:20:30"),
        (Decimal("20261001102030"), "2026-10-01 10:20:30"),
    ],
)
def test_a_compact_time_is_china_time_as_its_iso_spelling(written, china_time):
    compact = Transfer.model_validate({**TRANSFER, "time": written})
    iso = Transfer.model_validate({**TRANSFER, "time": china_time})
    assert compact.time == iso.time == datetime.fromisoformat(china_time).replace(tzinfo=UTC) - timedelta(hours=8)
    assert compact.event_id == iso.event_id


@pytest.mark.parametrize(
    "written",
    ["2026-10-01T10:20:30+08:00", "2026-10-01T02:20:30Z", "2026-10-01 10:20:30", "2026/10/1 10:20:30",
     datetime(2026, 10, 1, 10, 20, 30), datetime(2026, 10, 1, 2, 20, 30, tzinfo=UTC),
     datetime(2026, 10, 1, 3, 20, 30, tzinfo=timezone(timedelta(hours=1)))],
)
def test_iso_and_spreadsheet_times_read_as_before(written):
    assert Transfer.model_validate({**TRANSFER, "time": written}).time == datetime(2026, 10, 1, 2, 20, 30, tzinfo=UTC)


SERIAL_HINT = "(a spreadsheet's date saved as its serial number? format the column as a date)"


@pytest.mark.parametrize(
    ("written", "shown", "serial"),
    [
        ("46296.31", "46296.31", True),  # 2026-10-01 07:26 in Excel: was stored as 1970-01-01 12:51:36
        (46296.31, "46296.31", True),
        (46296, "46296", True),
        ("1790000000", "1790000000", False),  # epoch seconds: no source of Aegis writes them
        (1790000000, "1790000000", False),
        (1790000000.5, "1790000000.5", False),
        (1790000000123, "1790000000123", False),  # epoch milliseconds
        ("+20261001", "+20261001", False),
        ("-1", "-1", False),
        (".5", ".5", True),
        ("1e9", "1e9", False),
        ("2026100110", "2026100110", False),  # ten digits: no compact form
        (20261001.5, "20261001.5", False),
        (float("inf"), "inf", False),
    ],
)
def test_a_bare_number_is_refused_naming_the_field(written, shown, serial):
    with pytest.raises(ValidationError) as info:
        Transfer.model_validate({**TRANSFER, "time": written})
    [error] = info.value.errors()
    assert error["loc"] == ("time",)
    message = error["msg"].removeprefix("Value error, ")
    assert message.startswith(f"'{shown}' is a bare number, not a time: write it as 2026-10-01 10:20:30, or as "
                              "YYYYMMDD[HHMM[SS]]")
    assert message.endswith(SERIAL_HINT) == serial


@pytest.mark.parametrize(("written", "reason"), [("20261301", "month must be in 1..12"),
                                                 ("20261001250000", "hour must be in 0..23"),
                                                 ("18991231", "year 1899 is out of range")])
def test_a_compact_time_that_is_no_time_says_why(written, reason):
    with pytest.raises(ValidationError) as info:
        Call(caller="1", callee="2", start=written, duration_s=1)
    [error] = info.value.errors()
    assert error["loc"] == ("start",) and reason in error["msg"]


TIME_FIELDS = [(model, name) for model in (*EVENT_TYPES.values(), TransferIn)
               for name, field in model.model_fields.items() if "datetime.datetime" in repr(field.annotation)]
"""every time field of an event, and the API's (a transfer's time, which may be left out)"""


def test_every_kind_with_a_time_is_covered():
    kinds = {model.__name__ for model, _ in TIME_FIELDS}
    assert kinds == {m.__name__ for m in EVENT_TYPES.values() if m.time_field} | {"TransferIn"}


@pytest.mark.parametrize(("model", "name"), TIME_FIELDS, ids=lambda x: getattr(x, "__name__", x))
def test_every_time_field_reads_compact_times_and_refuses_bare_numbers(model, name):
    def errors(value):
        with pytest.raises(ValidationError) as info:
            model.model_validate({name: value})  # the other fields are missing: only this one's error is looked at
        return [e["msg"] for e in info.value.errors() if e["loc"] == (name,)]

    assert "bare number" in errors(46296.31)[0] and "bare number" in errors("1790000000")[0]
    assert errors("20261001102030") == []
