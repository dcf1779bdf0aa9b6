"""An error a user can fix is one line in the command's language: Chinese by default, English with ``--lang en``,
and in both it names the field or file at fault."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from aegis.cli.main import app
from cli_errors import both_languages as _both

runner = CliRunner()


def test_a_database_url_with_no_store_is_named_in_either_language(tmp_path: Path) -> None:
    requests = tmp_path / "x.jsonl"
    requests.write_text('{"request_id": "r1", "url": "http://example.com"}\n', encoding="utf-8")
    store = tmp_path / "nope.db"
    chinese, english = _both(["decide", "url", str(requests), "--db", f"sqlite:///{store}"])
    assert chinese.startswith(f"错误：database：找不到库{store}（")
    assert english.startswith(f"error: database: no store at {store} (")
    assert not store.exists()
    chinese, english = _both(["decide", "url", str(requests), "--db", "mysql://a@b/c"])
    assert chinese == "错误：database：不支持“mysql”（只支持sqlite或postgresql）"
    assert english == "error: database: 'mysql' is not supported (sqlite or postgresql)"


def test_a_training_file_without_its_column_is_named_in_either_language(tmp_path: Path) -> None:
    data = tmp_path / "texts.csv"
    data.write_text("message,label\n你好,normal\n", encoding="utf-8")
    chinese, english = _both(["train", "text", "--data", str(data), "--out", str(tmp_path / "m"), "--folds", "0"])
    assert chinese == f"错误：{data}：缺少列“text”（现有列：message, label）"
    assert english == f"error: {data}: column 'text' is missing (columns: message, label)"
    assert not (tmp_path / "m").exists()


def test_a_bad_sichuan_row_is_named_by_column_and_data_row_in_either_language(tmp_path: Path) -> None:
    import numpy as np
    import pandas as pd

    from aegis.datasets import sichuan

    columns = ["node", "phone_no_m", *sichuan.COLUMN_MAP, *sichuan.SICHUAN_ONLY, "label"]
    frame = pd.DataFrame(np.arange(3 * len(columns), dtype=float).reshape(3, -1), columns=columns)
    frame["node"], frame["label"] = range(10, 13), [0, 1, 0]
    frame = frame.astype({"sms_rate": object})
    frame.loc[2, "sms_rate"] = "lots"
    frame.to_csv(tmp_path / "s.csv", index=False)
    data = tmp_path / "s.csv"
    chinese, english = _both(["train", "number", "--data", str(data), "--out", str(tmp_path / "m"), "--folds", "0"])
    assert chinese == f"错误：{data}：列“sms_rate”不是数字（第3行数据）"
    assert english == f"error: {data}: column 'sms_rate' is not a number on data row 3"


def test_a_bad_amlsim_row_is_named_by_column_and_data_row_in_either_language(tmp_path: Path) -> None:
    nodes, transfers = tmp_path / "nodes.csv", tmp_path / "transactions.csv"
    nodes.write_text("nodeid,isFraud\n0,0\n1,1\n2,0\n", encoding="utf-8")
    transfers.write_text("sourceNodeId,targetNodeId,value,time\n0,1,10,1\n1,2,-3,2\n", encoding="utf-8")
    chinese, english = _both(["train", "account", "--accounts", str(nodes), "--transfers", str(transfers),
                              "--out", str(tmp_path / "m"), "--folds", "0"])
    assert chinese == f"错误：{transfers}：列“value”：第2行数据为“-3”，应为不超过10,000,000,000,000的正数"
    assert english == (f"error: {transfers}: column 'value': data row 2 is '-3', expected a positive number no larger "
                       "than 10,000,000,000,000")


def test_a_bad_policy_file_is_named_by_file_and_field_in_either_language(tmp_path: Path) -> None:
    requests = tmp_path / "x.jsonl"
    requests.write_text('{"request_id": "r1", "sender": "13800000000", "text": "你好"}\n', encoding="utf-8")
    store = f"sqlite:///{tmp_path / 'a.db'}"
    assert runner.invoke(app, ["db", "upgrade", "--db", store]).exit_code == 0
    policy = tmp_path / "p.yaml"
    thresholds = "{block: 0.9, warn: 0.5}"
    policy.write_text(f'version: "x"\nchannels: {{sms: {{block: 0.5, warn: 0.9}}, call: {thresholds}, '
                      f'url: {thresholds}, transfer: {thresholds}}}\n', encoding="utf-8")
    decide = ["decide", "sms", str(requests), "--db", store, "--policy", str(policy)]
    chinese, english = _both(decide)
    assert chinese == "错误：p.yaml：channels.sms：warn：不能高于block"
    assert english == "error: p.yaml: channels.sms: warn: must not exceed block"
    policy.write_text('version: "x"\nchannels: [sms\nwarn: 1\n', encoding="utf-8")
    chinese, english = _both(decide)
    assert chinese.startswith("错误：p.yaml：不是有效的YAML（") and chinese.endswith("，第3行第5列）")
    assert english.startswith("error: p.yaml: not valid YAML (") and english.endswith(" at line 3, column 5)")


def test_an_event_file_without_a_required_column_is_named_in_either_language(tmp_path: Path) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_text("caller,start\n1,2\n", encoding="utf-8")
    chinese, english = _both(["ingest", "call", str(calls), "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert chinese == "错误：calls.csv：缺少call的必需列“callee”"
    assert english == "error: calls.csv: required column 'callee' of call is missing"


def test_a_bad_simulation_option_is_named_as_typed_in_either_language(tmp_path: Path) -> None:
    chinese, english = _both(["simulate", "--people", "150", "--days", "1", "--seed", "-1",
                              "--out", str(tmp_path / "city")])
    assert chinese == "错误：--seed：须为0或以上（它是随机数生成器的起点）"
    assert english == "error: --seed: must be 0 or more (it starts a random generator)"
    assert not (tmp_path / "city").exists()


def test_errors_name_the_option_as_typed_and_no_folder_written_aside(tmp_path: Path, sqlite_engine) -> None:
    """An unwritable --out named the hidden folder the city is written to first, in the system's English; the audit
    log's, the warnings' and the funds' commands named fields (limit, level, district, institution), not options."""
    (tmp_path / "keep.txt").write_text("mine")
    chinese, english = _both(["simulate", "--people", "150", "--days", "1", "--out", str(tmp_path / "keep.txt" / "s")])
    assert chinese == f"错误：--out：{tmp_path / 'keep.txt'}是文件，此处需要文件夹"
    if Path("/proc/self").is_dir():  # a folder nobody can make a folder in, root included
        chinese, english = _both(["simulate", "--people", "150", "--days", "1", "--out", "/proc/aegis_x"])
        assert chinese.startswith("错误：--out：无法写入/proc/aegis_x：") and "partial" not in chinese
        assert english.startswith("error: --out: cannot write /proc/aegis_x: ") and "partial" not in english
    db = ["--db", sqlite_engine.url.render_as_string(hide_password=False)]
    said = {
        ("audit", "--user", "a", "--role", "auditor", "--limit", "0"): ("--limit：", "--limit: "),
        ("audit", "--user", "a", "--role", "auditor", "--subject-type", "x"): ("--subject-type：", "--subject-type: "),
        ("warnings", "list", "--user", "u", "--role", "city_centre", "--level", "x"): ("--level：", "--level: "),
        ("warnings", "list", "--user", "u", "--role", "city_centre", "--status", "x"): ("--status：", "--status: "),
        ("warnings", "list", "--user", "u", "--role", "city_centre", "--queue", "x"): ("--queue：", "--queue: "),
        ("warnings", "stats", "--user", "u", "--role", "district_bureau"): (
            "--district：分局用户须指明分局", "--district: a district bureau user needs a district"),
        ("funds", "orders", "list", "--user", "b", "--role", "bank"): ("--institution：", "--institution: "),
    }
    for args, (zh, en) in said.items():
        chinese, english = _both([*args, *db])
        assert chinese.startswith(f"错误：{zh}") and english.startswith(f"error: {en}"), (chinese, english)


def test_a_database_error_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """psycopg's message runs on to a hint on a second line ("Is the server running on that host ...")."""
    from sqlalchemy.exc import OperationalError

    from aegis.cli.common import user_errors

    @user_errors
    def unreachable(lang: str = "en") -> None:
        raise OperationalError("connect", {}, Exception("connection failed: refused\n\tIs the server running?"))

    with pytest.raises(typer.Exit):
        unreachable(lang="en")
    assert capsys.readouterr().err == "error: database: connection failed: refused Is the server running?\n"
