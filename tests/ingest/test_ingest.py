import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func, insert, select

from aegis.events import Transfer
from aegis.ingest import IngestError, ingest_file
from aegis.store import EventRepository, open_engine
from aegis.store.schema import EVENT_TABLES, ingest_run
from legacy_ids import as_written_id

HEADER = ["caller", "callee", "start", "duration_s", "direction"]


def write_calls(path: Path, n: int, bad_every: int = 0) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(n):
            duration = -1 if bad_every and i % bad_every == 0 else i % 600
            writer.writerow(
                [
                    f"1380000{i % 9999:04d}",
                    f"1390000{i:06d}",
                    f"2026-10-01 {i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
                    duration,
                    "out",
                ]
            )


def test_csv_good_rows_stored_bad_rows_rejected_with_line_field_reason(engine, tmp_path):
    path = tmp_path / "calls.csv"
    write_calls(path, 100, bad_every=10)
    result = ingest_file(engine, "call", path)
    assert (result.read, result.stored, result.rejected) == (100, 90, 10)
    with open(result.reject_file, newline="") as handle:
        rejects = list(csv.DictReader(handle))
    assert len(rejects) == 10
    assert rejects[0]["line"] == "2" and rejects[0]["field"] == "duration_s"
    assert "greater than or equal to 0" in rejects[0]["reason"]
    assert {r["line"] for r in rejects} == {str(i + 2) for i in range(0, 100, 10)}


def test_reingest_stores_nothing_twice(engine, tmp_path):
    path = tmp_path / "calls.csv"
    write_calls(path, 50)
    first = ingest_file(engine, "call", path)
    second = ingest_file(engine, "call", path)
    assert first.stored == 50
    assert (second.stored, second.duplicate) == (0, 50)
    assert EventRepository(engine).count("call") == 50
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(ingest_run)).scalar_one() == 2


def test_jsonl_and_parquet_and_report_lists(engine, tmp_path):
    jsonl = tmp_path / "reports.jsonl"
    rows = [
        {
            "victim_id": "p1",
            "time": "2026-10-02 09:00",
            "fraud_type": "impersonate_police",
            "loss": "52000.50",
            "numbers": ["17012345678"],
            "accounts": ["6222000011112222"],
            "text": "对方自称公安",
        },
        {"victim_id": "p2", "time": "2026-10-02 09:00", "fraud_type": "no_such_type"},
    ]
    # with a BOM before the first line, as Windows editors write: it is not part of the first row's JSON
    jsonl.write_text("\ufeff" + "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{not json\n",
                     encoding="utf-8")
    result = ingest_file(engine, "report", jsonl)
    assert (result.stored, result.rejected) == (1, 2)
    reasons = {r.line: (r.field, r.reason) for r in result.sample_rejects}
    assert reasons[2][0] == "fraud_type"
    assert reasons[3][0] == "(row)" and "invalid JSON" in reasons[3][1]
    # the reject file gives the owner the line as it came, also when it could not be read as a row
    with open(result.reject_file, encoding="utf-8") as handle:
        rows = {int(r["line"]): r["row"] for r in csv.DictReader(handle)}
    assert rows[3] == "{not json" and "no_such_type" in rows[2]

    csv_path = tmp_path / "reports.csv"
    csv_path.write_text(
        "victim_id,time,fraud_type,numbers,accounts\np3,2026-10-03 10:00,order_brushing,17000000001;17000000002,\n"
    )
    assert ingest_file(engine, "report", csv_path).stored == 1
    stored = EventRepository(engine).frame("report").set_index("victim_id")
    assert stored.loc["p3", "numbers"] == ["17000000001", "17000000002"]
    assert stored.loc["p1", "numbers"] == ["17012345678"]

    table = pa.table(
        {
            "sender": ["95588", "10690000"],
            "receiver": ["13800000001", "13800000001"],
            "time": pa.array([1790000000_000000, 1790000100_000000], pa.timestamp("us", tz="UTC")),
            "text": ["【工商银行】您的验证码是123456", ""],
        }
    )
    parquet = tmp_path / "sms.parquet"
    pq.write_table(table, parquet)
    result = ingest_file(engine, "sms", parquet)
    assert (result.stored, result.rejected) == (1, 1)
    assert result.sample_rejects[0].line == 2 and result.sample_rejects[0].field == "text"


def test_a_stored_id_with_other_values_is_rejected_and_the_stored_event_kept(engine, tmp_path):
    report = {"event_id": "r-1", "victim_id": "p1", "time": "2026-10-02 09:00+08:00",
              "fraud_type": "impersonate_police", "loss": "52000.5", "numbers": ["17012345678"],
              "accounts": ["6222000011112222"], "text": "对方自称公安"}
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps(report, ensure_ascii=False) + "\n", encoding="utf-8")
    assert ingest_file(engine, "report", first).stored == 1
    # the same event spelled otherwise (China time, money to the fen) is the same event, not a conflict
    same = dict(report, time="2026-10-02T01:00:00Z", loss="52000.50")
    again = tmp_path / "again.jsonl"
    changed = dict(report, loss="99000", numbers=["17099999999"])
    new = dict(report, event_id="r-2")
    again.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in (same, changed, new, new,
                                                                                 dict(new, loss="1"))),
                     encoding="utf-8")
    result = ingest_file(engine, "report", again)
    assert (result.read, result.stored, result.duplicate, result.rejected) == (5, 1, 2, 2)
    assert [(r.line, r.field) for r in result.sample_rejects] == [(2, "event_id"), (5, "event_id")]
    assert "already stored with other values" in result.sample_rejects[0].reason
    with open(result.reject_file, encoding="utf-8") as handle:
        assert "17099999999" in next(csv.DictReader(handle))["row"]
    stored = EventRepository(engine).frame("report").set_index("event_id")
    assert stored.loc["r-1", "numbers"] == ["17012345678"] and float(stored.loc["r-1", "loss"]) == 52000.5
    assert float(stored.loc["r-2", "loss"]) == 52000.5
    with engine.connect() as connection:
        counted = connection.execute(select(ingest_run.c.rows_duplicate, ingest_run.c.rows_rejected)
                                     .order_by(ingest_run.c.id.desc())).first()
    assert tuple(counted) == (2, 2)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("caller,callee,start,duration_s,colour\n1,2,2026-10-01,1,red\n", "column 'colour' is not a field"),
        ("caller,start,duration_s\n1,2026-10-01,1\n", "required column 'callee'"),
        ("", "empty"),
    ],
)
def test_whole_file_problems_store_nothing(sqlite_engine, tmp_path, content, message):
    path = tmp_path / "calls.csv"
    path.write_text(content)
    with pytest.raises(IngestError, match=message):
        ingest_file(sqlite_engine, "call", path)
    assert EventRepository(sqlite_engine).count("call") == 0


def test_gbk_csv_is_read_as_utf8_and_other_bytes_store_nothing(sqlite_engine, tmp_path):
    rows = "sender,receiver,time,text\n95588,13800000001,2026-10-02 09:00,【工商银行】您的验证码是123456\n"
    (tmp_path / "utf8.csv").write_text(rows, encoding="utf-8")
    (tmp_path / "gbk.csv").write_bytes(rows.encode("gbk"))
    assert ingest_file(sqlite_engine, "sms", tmp_path / "utf8.csv").stored == 1
    again = ingest_file(sqlite_engine, "sms", tmp_path / "gbk.csv")
    assert (again.stored, again.duplicate) == (0, 1)  # the same event, so the text decoded alike
    # valid rows first, then bytes that are neither UTF-8 nor GBK: the file fails before a row is stored
    good = rows.replace("95588", "95599").encode() * 3
    (tmp_path / "bad.csv").write_bytes(good + b"\xff\xff\n")
    # named by its line (the byte was counted from the start of the decoder's chunk, not of the file)
    with pytest.raises(IngestError, match=rf"bad\.csv: neither UTF-8 nor GBK text \(line 7: .+ at byte {len(good)} "
                                          r"of the file\)"):
        ingest_file(sqlite_engine, "sms", tmp_path / "bad.csv", batch_size=1)
    assert EventRepository(sqlite_engine).count("sms") == 1


def _csv_line(row: list[str]) -> str:
    text = io.StringIO()
    csv.writer(text).writerow(row)
    return text.getvalue()


def test_a_utf8_line_in_a_gbk_csv_is_rejected_not_stored_as_mojibake(engine, tmp_path):
    from aegis.training.text_default import build_corpus

    # realistic GBK text: the corpus's SMS, scams and ordinary ones; none of them may be taken for UTF-8
    texts = build_corpus(fraud_per_type=60, normal_rows=600)["text"].tolist()
    rows = [["sender", "receiver", "time", "text"]]
    rows += [[f"1069{i:06d}", "13800000001", f"2026/10/1 7:{i % 60:02d}", text] for i, text in enumerate(texts)]
    lines = [_csv_line(row).encode("gb18030") for row in rows]
    lines.insert(101, "95588,13800000002,2026/10/2 9:00,中文测试utf8\r\n".encode())
    path = tmp_path / "sms.csv"
    path.write_bytes(b"".join(lines))
    result = ingest_file(engine, "sms", path)
    assert (result.stored, result.rejected) == (len(texts), 1)
    [reject] = result.sample_rejects
    first_gbk = 1 + next(i for i, line in enumerate(lines) if not line.isascii())
    assert (reject.line, reject.field) == (102, "text")
    assert reject.reason == (f"this line is UTF-8 in a file read as GBK, because line {first_gbk} is not UTF-8: "
                             "save the whole file in one encoding")
    with open(result.reject_file, encoding="utf-8") as handle:  # the line goes back as it was written
        assert next(csv.DictReader(handle))["row"] == "95588,13800000002,2026/10/2 9:00,中文测试utf8"
    assert "涓枃" not in "".join(EventRepository(engine).frame("sms")["text"])


def test_a_csv_as_excel_saves_it_is_the_same_events_as_its_iso_spelling(sqlite_engine, tmp_path):
    iso = [{"payer_account": "6222000011112222", "payee_account": "6222000033334444", "payer_bank": "工商银行",
            "payee_bank": "建设银行", "amount": amount, "time": time}
           for amount, time in (("1929.22", "2026-10-01 07:28:00"), ("52000", "2026-10-01 17:05:00"),
                                ("1000000.5", "2026-10-02 00:00:00"))]
    (tmp_path / "iso.jsonl").write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in iso),
                                        encoding="utf-8")
    assert ingest_file(sqlite_engine, "transfer", tmp_path / "iso.jsonl").stored == 3
    # slashes, one-digit month, day and hour, no seconds, thousands grouped (so quoted), saved as GBK
    excel = ("payer_account,payee_account,payer_bank,payee_bank,amount,time\n"
             '6222000011112222,6222000033334444,工商银行,建设银行,"1,929.22",2026/10/1 7:28\n'
             "6222000011112222,6222000033334444,工商银行,建设银行,52000,2026/10/01 17:05\n"
             '6222000011112222,6222000033334444,工商银行,建设银行,"1,000,000.5",2026/10/2 0:00:00\n'
             '6222000011112222,6222000033334444,工商银行,建设银行,"1,92,9.22",2026/10/3 0:00\n'
             "6222000011112222,6222000033334444,工商银行,建设银行,1,2026/13/1 0:00\n")
    (tmp_path / "excel.csv").write_bytes(excel.encode("gbk"))
    result = ingest_file(sqlite_engine, "transfer", tmp_path / "excel.csv")
    assert (result.stored, result.duplicate, result.rejected) == (0, 3, 2)
    assert [(r.line, r.field) for r in result.sample_rejects] == [(5, "amount"), (6, "time")]
    assert "commas must group the digits in threes" in result.sample_rejects[0].reason
    assert "month must be in 1..12" in result.sample_rejects[1].reason


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        # as a Chinese Windows editor saves it: refused once, not one reject a line
        (["您好".encode("gbk")] * 3,
         r"sms\.jsonl: line 1: not UTF-8 text, as JSON lines must be \(it looks like GBK\)"),
        (["您好".encode(), "您好".encode(), "您好".encode("gbk")], r"line 3: not UTF-8 text, .*\(it looks like GBK\)"),
        (["您好".encode(), b"x\xff"], r"line 2: not UTF-8 text, as JSON lines must be "
                                                     r"\(invalid start byte at byte \d+ of the file\)"),
    ],
)
def test_a_jsonl_file_that_is_not_utf8_stores_nothing_and_names_the_line(sqlite_engine, tmp_path, lines, message):
    rows = [b'{"sender": "95588", "receiver": "13800000001", "time": "2026-10-01 10:0%d", "text": "%s"}\n'
            % (i, text) for i, text in enumerate(lines)]
    path = tmp_path / "sms.jsonl"
    path.write_bytes(b"".join(rows))
    with pytest.raises(IngestError, match=message):
        ingest_file(sqlite_engine, "sms", path)
    assert EventRepository(sqlite_engine).count("sms") == 0


def test_unknown_kind_and_suffix(sqlite_engine, tmp_path):
    path = tmp_path / "calls.xlsx"
    path.write_text("x")
    with pytest.raises(IngestError, match="kind: 'calls'"):
        ingest_file(sqlite_engine, "calls", path)
    with pytest.raises(IngestError, match="format"):
        ingest_file(sqlite_engine, "call", path)
    with pytest.raises(IngestError, match="is a folder; give the file to ingest"):
        ingest_file(sqlite_engine, "call", tmp_path)


def _ingest_cmd(path: Path, url: str) -> list[str]:
    return [sys.executable, "-m", "aegis.cli.main", "ingest", "call", str(path), "--db", url, "--batch-size", "200"]


def test_killed_ingest_then_rerun_equals_one_clean_run(database_url, tmp_path):
    """SIGKILL an ingest mid-file, re-run it: the store holds exactly the rows of one clean run."""
    path = tmp_path / "calls.csv"
    write_calls(path, 8_000, bad_every=97)
    engine = open_engine(database_url)
    repo = EventRepository(engine)

    process = subprocess.Popen(
        _ingest_cmd(path, database_url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "COLUMNS": "200"},
    )
    deadline = time.monotonic() + 120
    while repo.count("call") < 1_000 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = repo.count("call")
    assert 0 < partial < 8_000 - 8_000 // 97, "the ingest must be killed mid-file for this test to mean anything"

    subprocess.run(_ingest_cmd(path, database_url), check=True, capture_output=True)
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    subprocess.run(_ingest_cmd(path, clean_url), check=True, capture_output=True)
    clean = open_engine(clean_url)
    expected = EventRepository(clean).frame("call").sort_values("event_id").reset_index(drop=True)
    got = repo.frame("call").sort_values("event_id").reset_index(drop=True)
    assert len(expected) == 8_000 - (8_000 + 96) // 97
    assert got.equals(expected)
    engine.dispose()
    clean.dispose()


def test_a_stopped_ingest_leaves_no_file_in_progress_and_says_so(tmp_path):
    """SIGTERM (kill, systemd, a container's end) unwinds like Ctrl-C: the reject file in progress is removed,
    the batches stored stay whole, and the command exits non-zero without a traceback."""
    path, url = tmp_path / "calls.csv", f"sqlite:///{tmp_path / 's.db'}"
    write_calls(path, 8_000, bad_every=97)
    repo = EventRepository(open_engine(url))
    process = subprocess.Popen(_ingest_cmd(path, url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "COLUMNS": "200", "AEGIS_LANG": "en"})
    deadline = time.monotonic() + 120
    while (not (tmp_path / "s.db").exists() or repo.count("call") < 1_000) and process.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    stored = repo.count("call")
    assert 0 < stored < 8_000 - 8_000 // 97, "the ingest must be stopped mid-file for this test to mean anything"
    assert process.returncode == 143 and "Traceback" not in stderr  # 128 + SIGTERM, as a process ended by it
    assert "stopped on a stop signal" in stderr
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]
    subprocess.run(_ingest_cmd(path, url), check=True, capture_output=True)
    assert repo.count("call") == 8_000 - (8_000 + 96) // 97


def test_cli_reports_bad_file_without_traceback(tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("caller,start\n1,2\n")
    done = subprocess.run(
        [sys.executable, "-m", "aegis.cli.main", "ingest", "call", str(path), "--db", f"sqlite:///{tmp_path / 'x.db'}"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "calls.csv：缺少call的必需列“callee”" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_file_of_which_every_row_is_rejected_fails_the_command(tmp_path):
    from typer.testing import CliRunner

    from aegis.cli.main import app

    bad = tmp_path / "calls.csv"
    bad.write_text("caller,callee,start,duration_s\n" + "".join(f"x{i},,not a time,-1\n" for i in range(8)))
    url = f"sqlite:///{tmp_path / 's.db'}"
    result = CliRunner().invoke(app, ["ingest", "call", str(bad), "--db", url])
    assert result.exit_code == 1 and f"错误：{bad}：每一行都被拒收" in result.stderr
    assert "另有3行被拒收" in result.stderr  # five rejects are shown, the rest counted
    in_english = CliRunner().invoke(app, ["ingest", "call", str(bad), "--db", url, "--lang", "en"])
    assert in_english.exit_code == 1 and "and 3 more" in in_english.stderr
    assert f"error: {bad}: every row was rejected" in in_english.stderr
    good = tmp_path / "ok.csv"
    good.write_text("caller,callee,start,duration_s\n13800000001,13800000002,2026-10-01 09:00,30\nx,,bad,-1\n")
    assert CliRunner().invoke(app, ["ingest", "call", str(good), "--db", url]).exit_code == 0


def test_a_csv_line_with_the_wrong_number_of_fields_goes_back_as_it_came(engine, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text('caller,callee,start,duration_s\n13800000001,13800000002,2026-10-01 09:00,30,"extra, cell"\n',
                    encoding="utf-8")
    result = ingest_file(engine, "call", path)
    assert (result.stored, result.rejected) == (0, 1)
    with open(result.reject_file, encoding="utf-8") as handle:
        [reject] = list(csv.DictReader(handle))
    assert reject["reason"] == "row has 5 fields, the header has 4"
    assert reject["row"] == '13800000001,13800000002,2026-10-01 09:00,30,"extra, cell"'


def test_a_nul_or_an_impossible_year_rejects_its_row_and_the_batch_is_stored(engine, tmp_path):
    # on PostgreSQL a NUL failed the whole batch (its good rows too) with a traceback; year 1 did so everywhere
    rows = [{"sender": "95588", "receiver": "13800000001", "time": "2026-10-01 10:00", "text": "您的验证码是123456"},
            {"sender": "10690001", "receiver": "13800000001", "time": "2026-10-01 10:01", "text": "点击\u0000链接"},
            {"sender": "10690002", "receiver": "13800000001", "time": "0001-01-01 00:00", "text": "您好"}]
    path = tmp_path / "sms.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    result = ingest_file(engine, "sms", path)
    assert (result.stored, result.rejected) == (1, 2)
    assert [(r.line, r.field) for r in result.sample_rejects] == [(2, "text"), (3, "time")]
    assert "NUL" in result.sample_rejects[0].reason and "year 1" in result.sample_rejects[1].reason


def test_ingest_says_what_it_stored_in_chinese_or_in_english(tmp_path):
    from typer.testing import CliRunner

    from aegis.cli.main import app

    path = tmp_path / "sms.csv"
    path.write_text("sender,receiver,time,text\n"
                    + "".join(f"1380000{i:04d},13900000001,2026-10-01 09:{i:02d},您好{i}\n" for i in range(3))
                    + "x,,bad,\n", encoding="utf-8")
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = CliRunner().invoke(app, ["ingest", "sms", str(path), "--db", url])
    assert first.exit_code == 0, first.output
    assert "短信：读取4行，存入3行，已存过0行，拒收1行" in first.stdout
    assert f"被拒收的行：{path}.rejects.csv" in "".join(first.stdout.split())  # a long path folds at 80 columns
    assert "第5行：" in first.stderr  # the reject's line, field and reason
    again = CliRunner().invoke(app, ["ingest", "sms", str(path), "--db", url, "--lang", "en"])
    assert again.exit_code == 0, again.output
    assert "SMS: read 4, stored 0, already stored 3, rejected 1" in again.stdout
    assert f"rejectedrows:{path}.rejects.csv" in "".join(again.stdout.split()) and "line 5: " in again.stderr


TRANSFER_HEADER = ["event_id", "payer_account", "payee_account", "payer_bank", "payee_bank", "amount", "time"]


def write_transfers(path: Path, amounts: list[str], event_ids: list[str] | None = None, bank: str = "CCB") -> None:
    """One transfer a line, a minute apart, of each amount as written."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRANSFER_HEADER)
        for n, amount in enumerate(amounts):
            given = event_ids[n] if event_ids else ""
            writer.writerow([given, "6222000011112222", "6217000033334444", "ICBC", bank, amount,
                             f"2026-10-01 10:{n:02d}:00"])


def test_one_transfer_spelled_10_5_then_10_50_is_stored_once(engine, tmp_path):
    first, second = tmp_path / "statement.csv", tmp_path / "re-export.csv"
    write_transfers(first, ["10.5", "800", "1,000.5"])
    write_transfers(second, ["10.50", "800.00", "1000.50"])
    assert ingest_file(engine, "transfer", first).stored == 3
    result = ingest_file(engine, "transfer", second)
    assert (result.stored, result.duplicate, result.rejected) == (0, 3, 0)
    assert EventRepository(engine).count("transfer") == 3


def test_a_store_holding_transfers_under_their_amounts_as_written_takes_them_again_as_duplicates(engine, tmp_path):
    """A store written before ids read amounts to the fen keeps its ids; re-ingesting its file, or a file that
    spells the amounts otherwise, adds nothing, and a row that says other things of a stored one is refused."""
    amounts = ["10.5", "800", "1,000.50", "7.25", "１２.３"]
    path = tmp_path / "statement.csv"
    write_transfers(path, amounts)
    records = [Transfer.model_validate({"payer_account": "6222000011112222", "payee_account": "6217000033334444",
                                        "payer_bank": "ICBC", "payee_bank": "CCB", "amount": amount,
                                        "time": f"2026-10-01 10:{n:02d}:00"}) for n, amount in enumerate(amounts)]
    old_ids = {as_written_id(t) for t in records}
    with engine.begin() as connection:  # as the previous version stored them
        connection.execute(insert(EVENT_TABLES["transfer"]),
                           [{**t.model_dump(), "event_id": as_written_id(t)} for t in records])
    assert old_ids != {t.event_id for t in records}  # "7.25" was to the fen already: the other four moved

    again = ingest_file(engine, "transfer", path)
    assert (again.stored, again.duplicate, again.rejected) == (0, 5, 0)
    respelled = tmp_path / "re-export.csv"
    write_transfers(respelled, ["10.50", "800.00", "1000.5", "7.250", "12.30"])
    assert (ingest_file(engine, "transfer", respelled).stored, EventRepository(engine).ids("transfer")) == (0, old_ids)

    other_bank = tmp_path / "other-bank.csv"
    write_transfers(other_bank, ["10.50"], bank="BOC")
    refused = ingest_file(engine, "transfer", other_bank)
    assert (refused.stored, refused.rejected, refused.sample_rejects[0].field) == (0, 1, "event_id")

    given = tmp_path / "given.csv"  # ids of their own are taken as given, whatever else is stored
    write_transfers(given, ["10.50", "800"], event_ids=["bank-1", "bank-2"])
    assert ingest_file(engine, "transfer", given).stored == 2
    assert EventRepository(engine).ids("transfer") == old_ids | {"bank-1", "bank-2"}


def test_an_event_re_exported_with_its_numbers_written_otherwise_is_the_same_event(engine, tmp_path):
    """A telco's re-export that adds +86, groups the digits or types them full-width is the same call and the same
    SMS: stored once, its numbers in the canonical form the look-ups use (a second copy was counted twice)."""
    calls = tmp_path / "calls.csv"
    calls.write_text("caller,callee,start,duration_s\n13955550000,13800000001,2026-11-20 10:00:00,60\n")
    again = tmp_path / "again.csv"
    again.write_text("caller,callee,start,duration_s\n+86 139-5555-0000,0086 138 0000 0001,2026-11-20 10:00:00,60\n"
                     "１３９５５５５００００,+8613800000001,2026-11-20 10:00:00,60\n", encoding="utf-8")
    assert ingest_file(engine, "call", calls).stored == 1
    result = ingest_file(engine, "call", again)
    assert (result.stored, result.duplicate, result.rejected) == (0, 2, 0)
    sms = tmp_path / "sms.jsonl"
    sms.write_text('{"sender": "+86 139 1234 5678", "receiver": "95588", "time": "2026-11-20 10:00", "text": "hi"}\n'
                   '{"sender": "13912345678", "receiver": "95588", "time": "2026-11-20 10:00", "text": "hi"}\n')
    assert (ingest_file(engine, "sms", sms).stored, EventRepository(engine).count("sms")) == (1, 1)
    stored = EventRepository(engine).frame("sms")
    assert stored[["sender", "receiver"]].values.tolist() == [["13912345678", "95588"]]  # a service number as written


def test_a_store_holding_calls_under_their_numbers_as_written_takes_them_again_as_duplicates(engine, tmp_path):
    """A store written before numbers were read canonically holds a +86 call under the id of its number as written;
    the same file, or one writing the number otherwise, is that stored call, not a second one."""
    from aegis.events import Call

    written = {"caller": "+8613955550000", "callee": "13800000001", "start": "2026-11-20 10:00:00",
               "duration_s": 60}
    record = Call.model_validate(written)
    old_id = as_written_id(record.model_copy(update={"caller": "+8613955550000"}))
    assert old_id != record.event_id
    with engine.begin() as connection:  # as the previous version stored it
        connection.execute(insert(EVENT_TABLES["call"]),
                           [{**record.model_dump(), "caller": "+8613955550000", "event_id": old_id}])
    path = tmp_path / "calls.csv"
    path.write_text("caller,callee,start,duration_s\n+8613955550000,13800000001,2026-11-20 10:00:00,60\n")
    result = ingest_file(engine, "call", path)
    assert (result.stored, result.duplicate, result.rejected) == (0, 1, 0)
    assert EventRepository(engine).ids("call") == {old_id}


def test_an_absurd_amount_is_rejected_naming_it(sqlite_engine, tmp_path):
    path = tmp_path / "statement.csv"
    write_transfers(path, ["9999999999999999.99", "1,000,000,000,000", "999999999999.99"])
    result = ingest_file(sqlite_engine, "transfer", path)
    assert (result.stored, result.rejected) == (1, 2)
    assert [(r.line, r.field, r.reason) for r in result.sample_rejects] == [
        (line, "amount", "Input should be less than 1000000000000") for line in (2, 3)]
