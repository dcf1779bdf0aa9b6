"""The SMS decision check (``python -m aegis.training.sms_decisions``): labelled messages decided as the API
decides them, with no sender history, counted by what happened to the fraud and the normal ones."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aegis.training.sms_decisions import evaluate, main

ROWS = [
    ("【公安局】您涉嫌洗钱案件，请立即将资金转入安全账户配合调查，否则将冻结您名下全部账户", "冒充公检法"),
    ("您的ETC已失效，请登录 http://etc-gov.top/a1 认证", "benefits_phishing"),
    ("妈，我今晚加班不回家吃饭了", "0"),
    ("【中国联通】您本月话费账单已出，点击 https://u.10010.cn/qAE9U 查看，回复TD退订。", "normal"),
    ("", "0"),  # an empty line is no message to decide
    ("周末一起去爬山吧", "false"),  # a yes/no "no", as spreadsheets and other tools write it
]


@pytest.fixture
def messages(tmp_path: Path) -> Path:
    path = tmp_path / "sms.csv"
    path.write_text("text,label\n" + "".join(f'"{t}",{y}\n' for t, y in ROWS), encoding="utf-8")
    return path


def test_each_message_is_decided_and_counted_by_its_label(messages: Path) -> None:
    figures = evaluate(messages)
    assert (figures["messages"], figures["skipped_empty"]) == (5, 1)
    every, linked = figures["all"], figures["with_links"]
    assert (every["fraud"]["n"], every["normal"]["n"], linked["fraud"]["n"], linked["normal"]["n"]) == (2, 3, 1, 1)
    for part in (every, linked):
        for label in ("fraud", "normal"):
            assert sum(part[label][a] for a in ("block", "warn", "pass")) == pytest.approx(1.0)
    # plain cases: both scams stopped, the family message and the carrier's own bill link passed
    assert every["fraud"]["pass"] == 0 and every["normal"]["pass"] == 1.0
    assert (every["fraud_precision"], every["fraud_recall"], every["fraud_f1"]) == (1.0, 1.0, 1.0)


def test_the_command_prints_json_and_names_a_bad_file(messages: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    main(["--data", str(messages), "--json"])
    assert json.loads(capsys.readouterr().out)["messages"] == 5
    (tmp_path / "bad.csv").write_text("text\n你好\n")
    with pytest.raises(SystemExit) as stopped:
        main(["--data", str(tmp_path / "bad.csv")])
    assert stopped.value.code == 2 and "label" in capsys.readouterr().err
    (tmp_path / "empty.csv").write_text("text,label\n")
    with pytest.raises(SystemExit) as stopped:
        main(["--data", str(tmp_path / "empty.csv")])
    assert stopped.value.code == 2 and "no message to decide" in capsys.readouterr().err


def test_figures_of_a_class_with_nothing_in_it_are_undefined_not_zero(tmp_path: Path) -> None:
    path = tmp_path / "normal.csv"
    path.write_text("text,label\n妈，我今晚加班不回家吃饭了,0\n", encoding="utf-8")
    every = evaluate(path)["all"]
    assert every["fraud"] == {"n": 0, "block": None, "warn": None, "pass": None}
    assert (every["fraud_precision"], every["fraud_recall"], every["fraud_f1"]) == (None, None, None)


def test_letterheads_decide_every_message_again_behind_each(messages: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    heads = tmp_path / "heads.txt"
    heads.write_text("# a comment\n【中国工商银行】\n\n【国家反诈中心】\n", encoding="utf-8")
    figures = evaluate(messages, letterheads=heads)
    behind = figures["letterheads"]
    assert behind["letterheads"] == 2 and set(behind["by_letterhead"]) == {"【中国工商银行】", "【国家反诈中心】"}
    assert behind["fraud_stopped_bare"] == 2 and behind["fraud_pairs"] == 4
    assert behind["normal_passed_bare"] == 3 and behind["normal_pairs"] == 6
    per = behind["by_letterhead"].values()
    assert behind["fraud_passed_behind"] == sum(p["fraud_passed"] for p in per) <= 4
    assert behind["fraud_passed_behind_any"] <= 2
    assert figures["all"] == evaluate(messages)["all"]  # the bare figures are the same with or without
    (tmp_path / "none.txt").write_text("# only a comment\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stopped:
        main(["--data", str(messages), "--letterheads", str(tmp_path / "none.txt")])
    assert stopped.value.code == 2 and "no letterhead" in capsys.readouterr().err
