"""A file that cannot be read in its format fails in one line naming the file, the format and, where it can, the
place; never a traceback, nor Arrow's or the csv module's words without the file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aegis.ingest import IngestError, ingest_file
from aegis.store import EventRepository

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
    for name, said in (("g.parquet", "g.parquet: could not be read as Parquet ("),
                       ("empty.csv", "empty.csv: the file is empty (a CSV needs a header row)")):
        done = runner.invoke(app, ["decide", "transfer", str(tmp_path / name), "--db", url, "--lang", "en"])
        assert done.exit_code == 2 and done.stderr.startswith(f"error: {said}"), done.output
