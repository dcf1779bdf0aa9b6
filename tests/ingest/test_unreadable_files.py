"""A file that cannot be read in its format fails in one line naming the file, the format and, where it can, the
place; never a traceback, nor Arrow's or the csv module's words without the file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select

from aegis.ingest import IngestError, ingest_file
from aegis.store import EventRepository, open_engine
from aegis.store.schema import ingest_run

CALLS = "caller,callee,start,duration_s\n"


def write_calls(path: Path, n: int, row_group_size: int) -> None:
    pq.write_table(pa.table({"caller": [f"1380000{i:04d}" for i in range(n)], "callee": ["13900000000"] * n,
                             "start": [f"2026-10-01 10:{i:02d}" for i in range(n)], "duration_s": list(range(n))}),
                   path, row_group_size=row_group_size, compression="snappy")


def test_a_file_that_is_no_parquet_is_named_with_the_format_and_nothing_stored(sqlite_engine, tmp_path):
    path = tmp_path / "g.parquet"
    path.write_bytes(b"PAR1" + b"\x00garbage" * 10)
    with pytest.raises(IngestError) as info:
        ingest_file(sqlite_engine, "transfer", path)
    assert str(info.value) == ("g.parquet: could not be read as Parquet (Parquet magic bytes not found in footer. "
                               "Either the file is corrupted or this is not a parquet file.)")
    assert EventRepository(sqlite_engine).count("transfer") == 0


def test_a_parquet_page_corrupt_after_the_footer_names_the_row_and_what_was_stored(sqlite_engine, tmp_path):
    path = tmp_path / "calls.parquet"
    write_calls(path, 20, row_group_size=10)
    second = pq.ParquetFile(path).metadata.row_group(1).column(0)  # the second batch's first column
    start = second.dictionary_page_offset or second.data_page_offset
    data = bytearray(path.read_bytes())
    data[start:start + second.total_compressed_size] = b"\xff" * second.total_compressed_size
    path.write_bytes(bytes(data))
    with pytest.raises(IngestError) as info:
        ingest_file(sqlite_engine, "call", path, batch_size=10)
    message = str(info.value)
    assert message.startswith("calls.parquet: after row 10: could not be read as Parquet (")
    assert message.endswith("); stored before it: 10 (a re-run stores only what is missing)")
    assert "\n" not in message and EventRepository(sqlite_engine).count("call") == 10


@pytest.mark.parametrize(
    ("content", "line"),
    [
        # a quote left open reads the lines after it as one cell, until the csv module's limit on a cell
        (CALLS + '13800000001,13900000000,2026-10-01 10:00,1\n13800000002,"13900000000,2026-10-01 10:01,1\n'
         + "13800000003,13900000000,2026-10-01 10:02,1\n" * 4000, 3),
        ('caller,"callee,start,duration_s\n' + "x" * 200_000 + "\n", 1),  # in the header
    ],
)
def test_a_csv_that_the_csv_module_cannot_read_is_named_with_the_line(sqlite_engine, tmp_path, content, line):
    path = tmp_path / "calls.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(IngestError) as info:
        ingest_file(sqlite_engine, "call", path, batch_size=1)
    assert str(info.value).startswith(f"calls.csv: line {line}: could not be read as CSV (field larger than field "
                                      "limit (131072): is a quote left open?)")
    # the row before it was a batch of its own, and stored; a re-run stores only the rest
    assert EventRepository(sqlite_engine).count("call") == (1 if line == 3 else 0)


SMS = "sender,receiver,time,text\n"


def test_a_quote_left_open_at_the_end_of_a_small_file_refuses_it_naming_the_line(tmp_path):
    """Too short to reach the csv module's limit on a cell, the rest of the file was stored as one SMS's text."""
    from typer.testing import CliRunner

    from aegis.cli.main import app

    path, url = tmp_path / "q2.csv", f"sqlite:///{tmp_path / 's.db'}"
    path.write_text(SMS + '13900000001,13900000002,2026-10-01 10:00,"open quote here\n'
                    "13900000003,13900000004,2026-10-01 10:01,hello\n13900000005,13900000006,2026-10-01 10:02,hi\n",
                    encoding="utf-8")
    done = CliRunner().invoke(app, ["ingest", "sms", str(path), "--db", url, "--lang", "en"])
    assert done.exit_code == 2, done.output
    assert done.stderr == ("error: q2.csv: line 2: a quote opened on this line is never closed (the rest of the file "
                           "would be read as one cell)\n")
    assert EventRepository(open_engine(url)).count("sms") == 0


@pytest.mark.parametrize(
    ("rows", "line"),
    [
        # a cell holding a line break is a cell, and its lines are counted: the quote left open is on line 5
        ('13900000001,13900000002,"2026-10-01 10:00","two\nlines"\n'
         '13900000003,13900000004,2026-10-01 10:01,"fine"\n13900000005,"13900000006\n,2026-10-01 10:02,x\n', 5),
        # in the row's second line, after a cell over two lines (Windows line ends)
        ('13900000001,13900000002,"2026-10-01\r\n10:00","\r\nc\r\n', 3),
        ('13900000001,"13900000002', 2),  # the last line, without a line end
    ],
)
def test_a_quote_left_open_is_named_where_it_opened(sqlite_engine, tmp_path, rows, line):
    path = tmp_path / "sms.csv"
    path.write_bytes((SMS + rows).encode())
    with pytest.raises(IngestError, match=rf"^sms\.csv: line {line}: a quote opened on this line is never closed"):
        ingest_file(sqlite_engine, "sms", path)
    assert EventRepository(sqlite_engine).count("sms") == 0


def test_a_quoted_cell_may_hold_line_breaks_and_a_last_line_needs_no_line_end(sqlite_engine, tmp_path):
    path = tmp_path / "sms.csv"
    path.write_text(SMS + '95588,13800000001,2026-10-01 10:00,"【工商银行】您的验证码是\n123456"\n'
                    '95588,13800000002,2026-10-01 10:01,"第二条"', encoding="utf-8")
    assert ingest_file(sqlite_engine, "sms", path).stored == 2
    texts = sorted(EventRepository(sqlite_engine).frame("sms")["text"])
    assert texts == ["【工商银行】您的验证码是\n123456", "第二条"]


def test_the_command_says_it_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from aegis.cli.main import app

    path = tmp_path / "g.parquet"
    path.write_bytes(b"not parquet at all")
    done = CliRunner().invoke(app, ["ingest", "transfer", str(path), "--db", f"sqlite:///{tmp_path / 's.db'}",
                                    "--lang", "en"])
    assert done.exit_code == 2
    assert done.stderr.startswith("error: g.parquet: could not be read as Parquet (")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.output


def test_the_decide_command_reads_through_the_same_readers(tmp_path):
    from typer.testing import CliRunner

    from aegis.cli.main import app

    url, runner = f"sqlite:///{tmp_path / 's.db'}", CliRunner()
    assert runner.invoke(app, ["db", "upgrade", "--db", url]).exit_code == 0
    (tmp_path / "g.parquet").write_bytes(b"not parquet at all")
    (tmp_path / "empty.csv").write_text("")  # was a RuntimeError traceback (StopIteration in the reader)
    (tmp_path / "empty.jsonl").write_text("")  # was decided as no requests, exit 0
    for name, said in (("g.parquet", "g.parquet: could not be read as Parquet ("),
                       ("empty.csv", "empty.csv: the file is empty (a CSV needs a header row)"),
                       ("empty.jsonl", "empty.jsonl: the file is empty (a JSON lines file needs one JSON object a "
                                       "line)")):
        done = runner.invoke(app, ["decide", "transfer", str(tmp_path / name), "--db", url, "--lang", "en"])
        assert done.exit_code == 2 and done.stderr.startswith(f"error: {said}"), done.output


@pytest.mark.parametrize(("name", "content"),
                         [("calls.csv", ""), ("calls.jsonl", ""), ("calls.jsonl", "\ufeff\n \n\n")])
def test_an_empty_file_is_refused_in_either_text_format(tmp_path, name, content):
    """An empty JSON lines file was read as no rows (exit 0) where an empty CSV was refused (exit 2)."""
    from typer.testing import CliRunner

    from aegis.cli.main import app

    path, url = tmp_path / name, f"sqlite:///{tmp_path / 's.db'}"
    path.write_text(content, encoding="utf-8")
    done = CliRunner().invoke(app, ["ingest", "call", str(path), "--db", url, "--lang", "en"])
    assert done.exit_code == 2, done.output
    needs = "a CSV needs a header row" if name.endswith(".csv") else "a JSON lines file needs one JSON object a line"
    assert done.stderr == f"error: {name}: the file is empty ({needs})\n"
    with open_engine(url).connect() as connection:  # refused before the run was recorded
        assert connection.execute(select(func.count()).select_from(ingest_run)).scalar_one() == 0


def test_a_csv_with_its_header_alone_is_no_rows_not_an_empty_file(sqlite_engine, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text(CALLS)
    result = ingest_file(sqlite_engine, "call", path)
    assert (result.read, result.stored, result.rejected) == (0, 0, 0)
