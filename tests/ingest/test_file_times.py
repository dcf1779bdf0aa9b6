"""Times in event files as bank exports write them: compact digits are read, any other bare number is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aegis.ingest import ingest_file
from aegis.store import EventRepository

BARE = "is a bare number, not a time: write it as 2026-10-01 10:20:30, or as YYYYMMDD[HHMM[SS]]"
SERIAL = "(a spreadsheet's date saved as its serial number? format the column as a date)"
PARTIES = {"payer_account": "6222000000000000001", "payee_account": "6217000000000000099", "payer_bank": "中国工商银行",
           "payee_bank": "中国建设银行", "amount": "100", "currency": "CNY"}


def stored_times(engine) -> dict[str, datetime]:
    frame = EventRepository(engine).frame("transfer")
    return {event_id: time.to_pydatetime() for event_id, time in zip(frame["event_id"], frame["time"], strict=True)}


def test_a_csv_with_compact_times_stores_them_as_china_time_and_refuses_bare_numbers(engine, tmp_path):
    times = {"y1": "46296.31", "y2": "20261001", "y3": "202610011020", "y4": "20261001102030", "y5": "1790000000",
             "y6": "2026-10-01 10:20:30", "y7": "2026-10-01T10:20:30+08:00", "y8": "2026/10/1 10:20"}
    path = tmp_path / "tr.csv"
    path.write_text(",".join(["event_id", *PARTIES, "time"]) + "\n"
                    + "".join(",".join([event_id, *PARTIES.values(), time]) + "\n" for event_id, time in times.items()),
                    encoding="utf-8")
    result = ingest_file(engine, "transfer", path)
    assert (result.stored, result.rejected) == (6, 2)
    assert [(r.line, r.field) for r in result.sample_rejects] == [(2, "time"), (6, "time")]
    assert result.sample_rejects[0].reason == f"'46296.31' {BARE} {SERIAL}"
    assert result.sample_rejects[1].reason == f"'1790000000' {BARE}"
    assert stored_times(engine) == {
        "y2": datetime(2026, 9, 30, 16, 0, tzinfo=UTC),
        "y3": datetime(2026, 10, 1, 2, 20, tzinfo=UTC),
        "y4": datetime(2026, 10, 1, 2, 20, 30, tzinfo=UTC),
        "y6": datetime(2026, 10, 1, 2, 20, 30, tzinfo=UTC),
        "y7": datetime(2026, 10, 1, 2, 20, 30, tzinfo=UTC),
        "y8": datetime(2026, 10, 1, 2, 20, tzinfo=UTC),
    }


def test_jsonl_numbers_are_read_as_compact_times_or_refused(sqlite_engine, tmp_path):
    times = {"j1": 20261001102030, "j2": 20261001, "j3": 46296.31, "j4": 1790000000123, "j5": "20261001102030"}
    path = tmp_path / "tr.jsonl"
    path.write_text("".join(json.dumps({"event_id": event_id, **PARTIES, "time": time}, ensure_ascii=False) + "\n"
                            for event_id, time in times.items()), encoding="utf-8")
    result = ingest_file(sqlite_engine, "transfer", path)
    assert (result.stored, result.rejected) == (3, 2)
    assert [(r.line, r.field, r.reason.split(" is ")[0]) for r in result.sample_rejects] == [
        (3, "time", "'46296.31'"), (4, "time", "'1790000000123'")]
    assert stored_times(sqlite_engine) == {"j1": datetime(2026, 10, 1, 2, 20, 30, tzinfo=UTC),
                                           "j2": datetime(2026, 9, 30, 16, 0, tzinfo=UTC),
                                           "j5": datetime(2026, 10, 1, 2, 20, 30, tzinfo=UTC)}


@pytest.mark.parametrize(
    ("column", "stored", "refused"),
    [
        # a typed timestamp column, as the simulator writes: times, not bare numbers (the second row has none)
        (pa.array([1790000000_000000, None], pa.timestamp("us", tz="UTC")),
         datetime(2026, 9, 21, 14, 13, 20, tzinfo=UTC), "Field required"),
        (pa.array([20261001102030, 1790000000], pa.int64()),
         datetime(2026, 10, 1, 2, 20, 30, tzinfo=UTC), f"'1790000000' {BARE}"),
        # a float column, as pandas writes an integer one with gaps
        (pa.array([20261001102030.0, 46296.31], pa.float64()),
         datetime(2026, 10, 1, 2, 20, 30, tzinfo=UTC), f"'46296.31' {BARE} {SERIAL}"),
    ],
    ids=["timestamp", "int64", "float64"],
)
def test_a_parquet_column_of_numbers_is_read_as_compact_times_and_one_of_timestamps_as_times(
        sqlite_engine, tmp_path, column, stored, refused):
    table = pa.table({"event_id": ["p1", "p2"], **{k: [v, v] for k, v in PARTIES.items()}, "time": column})
    pq.write_table(table, tmp_path / "tr.parquet")
    result = ingest_file(sqlite_engine, "transfer", tmp_path / "tr.parquet")
    assert (result.stored, result.rejected) == (1, 1)
    assert stored_times(sqlite_engine) == {"p1": stored}
    [reject] = result.sample_rejects
    assert (reject.line, reject.field, reject.reason) == (2, "time", refused)


NOW = datetime(2026, 10, 8, 12, 0, tzinfo=UTC)
AHEAD = ("more than 5 minutes in the future (Aegis's clock reads 2026-10-08T12:00Z): an event is stored once it has "
         "happened")


def test_an_event_dated_ahead_of_the_clock_is_rejected_naming_its_time_field(sqlite_engine, tmp_path):
    """One SMS dated 2096 moved the profiles' window to 2096 and made warnings replay 25,000 empty days."""
    china = {"2096-10-01 10:00": False, "2026-10-08 20:04": True, "2026-10-08 20:06": False,  # China time: +8
             "2026-10-08T12:04:59Z": True, "2026-10-08T12:05:01Z": False, "2019-01-01 00:00": True}
    sms = tmp_path / "sms.csv"
    sms.write_text("sender,receiver,time,text\n" + "".join(f"95588,1380000000{i},{time},您好\n"
                                                         for i, time in enumerate(china)), encoding="utf-8")
    result = ingest_file(sqlite_engine, "sms", sms, now=NOW)
    assert (result.stored, result.rejected) == (3, 3)  # the past, a replay of recorded events, is taken
    refused = [i + 2 for i, taken in enumerate(china.values()) if not taken]
    assert [(r.line, r.field, r.reason) for r in result.sample_rejects] == [(line, "time", AHEAD) for line in refused]
    calls = tmp_path / "calls.csv"  # a call's time is its start
    calls.write_text("caller,callee,start,duration_s\n13800000001,13800000002,2099-01-01 00:00,30\n")
    [reject] = ingest_file(sqlite_engine, "call", calls, now=NOW).sample_rejects
    assert (reject.field, reject.reason) == ("start", AHEAD)


def test_ingest_and_decisions_share_the_clock_skew_and_read_the_clock_by_default(sqlite_engine, tmp_path):
    from datetime import timedelta

    from pydantic import ValidationError

    from aegis.events.times import MAX_CLOCK_SKEW
    from aegis.usecases.decisions import TransferIn

    late = NOW + MAX_CLOCK_SKEW + timedelta(seconds=1)
    pay = {"payer_account": "6212000000000001", "payee_account": "6222000000000555", "amount": "5"}
    with pytest.raises(ValidationError, match=r"more than 5 minutes in the future \(Aegis's clock reads "
                                              r"2026-10-08T12:00Z\): a payment is decided as it is made"):
        TransferIn.model_validate({**pay, "time": late}, context={"now": NOW})
    assert TransferIn.model_validate({**pay, "time": late - timedelta(seconds=2)}, context={"now": NOW})
    path = tmp_path / "tr.jsonl"  # without a clock given, the clock: an hour from now is refused, a minute is not
    soon, later = (datetime.now(UTC) + timedelta(minutes=m) for m in (1, 60))
    path.write_text("".join(json.dumps({**PARTIES, "time": t.isoformat()}) + "\n" for t in (soon, later)))
    result = ingest_file(sqlite_engine, "transfer", path)
    assert (result.stored, result.rejected, result.sample_rejects[0].line) == (1, 1, 2)
