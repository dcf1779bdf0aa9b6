"""The reject file (``--rejects``) is written aside and moved into place when the run ends: it can overwrite
neither the input nor the store, and a run deletes no file it did not create."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from aegis.cli.main import app
from aegis.ingest import IngestError, ingest_file
from aegis.store import EventRepository, open_engine
from aegis.store.schema import ingest_run

HEADER = "caller,callee,start,duration_s\n"
GOOD = HEADER + "13800000001,13800000002,2026-10-01 09:00,30\n13800000003,13800000004,2026-10-01 09:01,40\n"
BAD_ROW = "13800000005,13800000006,2026-10-01 09:02,-1\n"
STALE = "line,field,reason,row\r\n9,duration_s,an earlier run's reject,\r\n"


def _ingest(path: Path, url: str, *options: str) -> object:
    return CliRunner().invoke(app, ["ingest", "call", str(path), "--db", url, "--lang", "en", *options])


def _runs(url: str) -> int:
    with open_engine(url).connect() as connection:
        return connection.execute(select(func.count()).select_from(ingest_run)).scalar_one()


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


@pytest.mark.parametrize("spelling", ["same", "dotted", "link"])
def test_rejects_naming_the_input_is_refused_and_the_input_kept(tmp_path, spelling):
    path, url = tmp_path / "calls.csv", f"sqlite:///{tmp_path / 's.db'}"
    path.write_text(GOOD + BAD_ROW)
    rejects = {"same": path, "dotted": tmp_path / "sub" / ".." / "calls.csv", "link": tmp_path / "link.csv"}[spelling]
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.csv").symlink_to(path)
    done = _ingest(path, url, "--rejects", str(rejects))
    assert done.exit_code == 2, done.output
    assert done.stderr == (f"error: --rejects: {rejects} is the file being ingested, which the rejected rows would "
                           "overwrite\n")
    assert path.read_text() == GOOD + BAD_ROW  # it was emptied
    assert EventRepository(open_engine(url)).count("call") == 0 and _runs(url) == 0


def test_rejects_naming_the_sqlite_store_is_refused_and_the_store_kept(tmp_path):
    store = tmp_path / "dd3.db"
    url, first, second = f"sqlite:///{store}", tmp_path / "first.csv", tmp_path / "second.csv"
    first.write_text(GOOD)
    assert _ingest(first, url).exit_code == 0
    second.write_text(HEADER + BAD_ROW)
    done = _ingest(second, url, "--rejects", str(store))
    assert done.exit_code == 2 and "Traceback" not in done.output
    assert done.stderr == (f"error: --rejects: {store} is a file of the store {store}, which the rejected rows would "
                           "overwrite\n")
    assert EventRepository(open_engine(url)).count("call") == 2 and _runs(url) == 1  # the store was destroyed


def test_rejects_naming_another_file_is_refused_in_the_readers_language(tmp_path):
    path, url, notes = tmp_path / "calls.csv", f"sqlite:///{tmp_path / 's.db'}", tmp_path / "notes.txt"
    path.write_text(GOOD)  # a clean run deleted it
    notes.write_text("my notes\n")
    done = CliRunner().invoke(app, ["ingest", "call", str(path), "--db", url, "--rejects", str(notes)])
    assert done.exit_code == 2
    assert done.stderr == (f"错误：--rejects：{notes}已存在，且不是拒收文件（其首行不是line,field,reason,row），"
                           "请另给一个文件名\n")
    assert notes.read_text() == "my notes\n" and EventRepository(open_engine(url)).count("call") == 0


@pytest.mark.parametrize(("where", "said"), [("folder", "is a folder, where a file is needed"),
                                             ("nowhere/r.csv", "there is no folder")])
def test_rejects_in_a_folder_or_in_no_folder_is_refused_naming_it(tmp_path, where, said):
    path, url = tmp_path / "calls.csv", f"sqlite:///{tmp_path / 's.db'}"
    path.write_text(GOOD)
    (tmp_path / "folder").mkdir()
    done = _ingest(path, url, "--rejects", str(tmp_path / where))
    assert done.exit_code == 2 and done.stderr.startswith("error: --rejects: ") and said in done.stderr
    assert done.stderr.count("\n") == 1


def test_a_clean_run_creates_no_reject_file_and_replaces_an_earlier_runs_list_with_its_header(sqlite_engine,
                                                                                                 tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text(GOOD)
    default = tmp_path / "calls.csv.rejects.csv"
    assert ingest_file(sqlite_engine, "call", path).reject_file is None
    assert not default.exists()
    default.write_text(STALE)  # an earlier run's list: no longer true of the file
    result = ingest_file(sqlite_engine, "call", path)
    assert (result.read, result.rejected, result.reject_file) == (2, 0, None)
    assert default.read_text() == "line,field,reason,row\n"
    assert _leftovers(tmp_path) == []


def test_a_run_with_rejects_replaces_an_earlier_list_and_the_input_is_read_whole(sqlite_engine, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text(GOOD + BAD_ROW)
    rejects = tmp_path / "r.csv"
    rejects.write_text(STALE)
    result = ingest_file(sqlite_engine, "call", path, reject_file=rejects, batch_size=1)
    assert (result.stored, result.rejected, result.reject_file) == (2, 1, str(rejects))
    lines = rejects.read_text().splitlines()
    assert lines[0] == "line,field,reason,row" and len(lines) == 2 and lines[1].startswith("4,duration_s,")
    assert _leftovers(tmp_path) == []


def test_a_run_that_fails_part_way_leaves_the_reject_file_as_it_was(sqlite_engine, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text(GOOD + BAD_ROW + '13800000007,"13800000008,2026-10-01 09:03,1\n')
    rejects = tmp_path / "r.csv"
    rejects.write_text(STALE)
    with pytest.raises(IngestError, match="line 5: a quote opened on this line is never closed"):
        ingest_file(sqlite_engine, "call", path, reject_file=rejects, batch_size=1)
    assert rejects.read_bytes() == STALE.encode() and _leftovers(tmp_path) == []


def test_a_rejected_json_line_goes_back_as_it_came(tmp_path: Path) -> None:
    """A key written null is no value (as a blank cell), and the reject file gives the line back whole: the row
    rebuilt from what was read dropped the null key, so the owner could not see what they had sent."""
    import csv

    path = tmp_path / "sms.jsonl"
    line = '{"event_id": "e5", "sender": "13800000001", "receiver": "13800000002", "time": "2026-10-01 09:00", ' \
           '"text": null}'
    path.write_text(line + "\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'a.db'}"
    CliRunner().invoke(app, ["ingest", "sms", str(path), "--db", url, "--lang", "en"])
    with (tmp_path / "sms.jsonl.rejects.csv").open(encoding="utf-8", newline="") as handle:
        [reject] = list(csv.DictReader(handle))
    assert (reject["line"], reject["field"], reject["row"]) == ("1", "text", line)
