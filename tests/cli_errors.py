"""The one error line a CLI command gives for a fixable mistake, in Chinese and in English, shared by the tests that
check what commands say."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from aegis.cli.main import app

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def both_languages(args: list[str]) -> tuple[str, str]:
    """The error line of ``args`` under zh and under en (the last line on stderr, after any progress lines),
    each checked to be one line, exit code 2, no traceback, and the English free of Chinese."""
    said = []
    for lang in ("zh", "en"):
        result = CliRunner().invoke(app, [*args, "--lang", lang])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output, result.output
        said.append(result.stderr.rstrip("\n").splitlines()[-1])
    chinese, english = said
    assert chinese.startswith("错误：") and english.startswith("error: ")
    assert not CHINESE.search(english), english
    return chinese, english
