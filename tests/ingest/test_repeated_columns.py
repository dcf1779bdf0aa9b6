"""A header that names a column twice is refused, naming the column, before a row is read or stored: one of the
two columns would silently win (the last in ingest, the first in the detectors' files), and which holds the data
meant is anyone's guess. The same words for every command that reads an event or a detector's file."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from aegis.cli.main import app
from aegis.ingest import IngestError, ingest_file
from aegis.store import EventRepository, open_engine
from aegis.store.schema import ingest_run
from cli_errors import both_languages as _both

runner = CliRunner()


def test_an_event_file_naming_a_column_twice_is_refused_whole_and_nothing_stored(sqlite_engine, tmp_path):
    path = tmp_path / "calls.csv"
    # the second caller used to win, row by row: each call stored with the wrong party
    path.write_text("caller,callee,caller,start,duration_s\n13800000001,13900000000,13800000002,2026-10-01 10:00,60\n",
                    encoding="utf-8")
    with pytest.raises(IngestError) as info:
        ingest_file(sqlite_engine, "call", path)
    assert str(info.value) == "calls.csv: the header names column 'caller' twice (columns 1 and 3)"
    assert EventRepository(sqlite_engine).count("call") == 0
    with sqlite_engine.connect() as connection:  # refused before the run was recorded
        assert connection.execute(select(func.count()).select_from(ingest_run)).scalar_one() == 0
    assert not (tmp_path / "calls.csv.rejects.csv").exists()


def test_the_ingest_command_says_it_in_either_language(tmp_path):
    path, url = tmp_path / "sms.csv", f"sqlite:///{tmp_path / 's.db'}"
    # spaces around a name are not read (ingest strips them): " text" is text again
    path.write_text("sender,receiver,time,text, text\n95588,13800000001,2026-10-01 10:00,a,b\n", encoding="utf-8")
    chinese, english = _both(["ingest", "sms", str(path), "--db", url])
    assert chinese == "错误：sms.csv：标题行两次写了列“text”（第4列和第5列）"
    assert english == "error: sms.csv: the header names column 'text' twice (columns 4 and 5)"
    assert EventRepository(open_engine(url)).count("sms") == 0


def test_a_parquet_file_naming_a_column_twice_is_refused_too(sqlite_engine, tmp_path):
    path = tmp_path / "calls.parquet"
    table = pa.table([pa.array(["13800000001"]), pa.array(["13900000000"]), pa.array(["2026-10-01 10:00"]),
                      pa.array(["13800000002"])], names=["caller", "callee", "start", "caller"])
    pq.write_table(table, path)
    with pytest.raises(IngestError, match=r"^calls\.parquet: the header names column 'caller' twice \(columns 1 and "
                                          r"4\)$"):
        ingest_file(sqlite_engine, "call", path)
    assert EventRepository(sqlite_engine).count("call") == 0


def test_decide_refuses_a_request_file_naming_a_column_twice(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--db", url]).exit_code == 0
    path = tmp_path / "sms.csv"
    path.write_text("sender,text,text\n13800000000,你好,点击领取奖金\n", encoding="utf-8")
    chinese, english = _both(["decide", "sms", str(path), "--db", url])
    assert chinese == "错误：sms.csv：标题行两次写了列“text”（第2列和第3列）"
    assert english == "error: sms.csv: the header names column 'text' twice (columns 2 and 3)"


def test_columns_without_a_name_are_not_repeats(sqlite_engine, tmp_path):
    """A spreadsheet's export often ends its header with empty cells: those columns have no name to repeat (an event
    file is refused them as columns of no field, as before; a detector's file reads its named columns)."""
    path = tmp_path / "texts.csv"
    path.write_text("text,label,,\n你好,正常,,\n点击领奖,冒充客服,,\n", encoding="utf-8")
    from aegis.training.text import read_csv

    assert read_csv(path, labelled=True) == (["你好", "点击领奖"], ["正常", "冒充客服"])


@pytest.mark.parametrize("command", ["train", "evaluate", "predict"])
def test_the_text_commands_refuse_a_text_column_named_twice(tmp_path, command):
    data = tmp_path / "texts.csv"
    # pandas read the first text and named the second text.1: the labels were learnt from the other messages
    data.write_text("text,label,text\n你好,正常,点击领奖\n点击领奖,冒充客服,你好\n", encoding="utf-8")
    out = ["--out", str(tmp_path / "m"), "--folds", "0"] if command == "train" else (
        ["--out", str(tmp_path / "p.csv")] if command == "predict" else [])
    chinese, english = _both([command, "text", "--data", str(data), *out])
    assert chinese == f"错误：{data}：标题行两次写了列“text”（第1列和第3列）"
    assert english == f"error: {data}: the header names column 'text' twice (columns 1 and 3)"
    assert not (tmp_path / "m").exists() and not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(("kind", "header", "column", "where"), [
    ("url", "url,label,url", "url", "1 and 3"),
    # the URL reader reads its names in lower case: URL is url
    ("url", "URL,label,url", "url", "1 and 3"),
    ("number", "number,n_calls,label,n_calls", "n_calls", "2 and 4"),
])
def test_the_url_and_number_files_refuse_a_column_named_twice(tmp_path, kind, header, column, where):
    data = tmp_path / "d.csv"
    data.write_text(f"{header}\n" + "\n".join(",".join(["1"] * len(header.split(","))) for _ in range(3)) + "\n",
                    encoding="utf-8")
    _, english = _both(["predict", kind, "--data", str(data), "--out", str(tmp_path / "p.csv")])
    assert english == f"error: {data}: the header names column '{column}' twice (columns {where})"


def test_the_account_files_refuse_a_column_named_twice(tmp_path):
    nodes, transfers = tmp_path / "nodes.csv", tmp_path / "transactions.csv"
    nodes.write_text("nodeid,isFraud,isFraud\n0,0,1\n1,1,0\n2,0,0\n", encoding="utf-8")
    transfers.write_text("sourceNodeId,targetNodeId,value,time\n0,1,10,1\n1,2,3,2\n", encoding="utf-8")
    _, english = _both(["train", "account", "--accounts", str(nodes), "--transfers", str(transfers),
                        "--out", str(tmp_path / "m"), "--folds", "0"])
    assert english == f"error: {nodes}: the header names column 'isFraud' twice (columns 2 and 3)"


def test_a_detectors_parquet_file_naming_a_column_twice_is_named_too(tmp_path):
    data = tmp_path / "texts.parquet"
    pq.write_table(pa.table([pa.array(["你好"]), pa.array(["点击领奖"])], names=["text", "text"]), data)
    _, english = _both(["predict", "text", "--data", str(data), "--out", str(tmp_path / "p.csv")])
    assert english == f"error: {data}: the header names column 'text' twice (columns 1 and 2)"


def test_a_json_line_writing_a_key_twice_is_rejected_naming_the_key(sqlite_engine, tmp_path):
    """The JSON counterpart: a parser keeps the last of the two values silently. The line is rejected (its
    neighbours stored), naming the key; a training file of such lines is refused naming line and field."""
    path = tmp_path / "sms.jsonl"
    path.write_text('{"sender":"10690000","receiver":"13900000000","time":"2026-10-01 10:00","text":"a","text":"b"}\n'
                    '{"sender":"10690000","receiver":"13900000001","time":"2026-10-01 10:00","text":"ok"}\n'
                    '{"sender" : "10690000", "receiver":"13900000002","time":"2026-10-01 10:01","text":"x\\":y"}\n',
                    encoding="utf-8")
    report = ingest_file(sqlite_engine, "sms", path)
    assert (report.stored, report.rejected) == (2, 1)
    [reject] = report.sample_rejects
    assert (reject.line, reject.field) == (1, "text") and "written twice" in reject.reason
    texts = tmp_path / "texts.jsonl"
    texts.write_text('{"text":"您好","label":"normal","label":"pig_butchering"}\n', encoding="utf-8")
    zh, en = _both(["train", "text", "--data", str(texts), "--out", str(tmp_path / "m")])
    assert en.endswith("line 1 writes the field 'label' twice") and "两次写了字段“label”" in zh
