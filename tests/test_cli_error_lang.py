"""An error a user can fix is one line in the command's language: Chinese by default, English with ``--lang en``,
and in both it names the field or file at fault."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from aegis.cli.main import app

runner = CliRunner()
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _both(args: list[str]) -> tuple[str, str]:
    """The error line of ``args`` under zh and under en, each checked to be one line, exit code 2."""
    said = []
    for lang in ("zh", "en"):
        result = runner.invoke(app, [*args, "--lang", lang])
        assert result.exit_code == 2, result.output
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
        said.append(result.stderr.rstrip("\n"))
    chinese, english = said
    assert chinese.startswith("错误：") and english.startswith("error: ")
    assert not CHINESE.search(english), english
    return chinese, english


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
