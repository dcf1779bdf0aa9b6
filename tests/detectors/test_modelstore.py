"""Saved models: the card travels with the model, and a model of another format is refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aegis.cli.main import app
from aegis.detectors.text import TextDetector
from aegis.detectors.url import UrlDetector
from aegis.training.modelstore import (
    CARD_FILE,
    MODEL_FILE,
    SEEN_FILE,
    ModelError,
    default_model_dir,
    load_model,
    save_model,
)
from cli_errors import both_languages

TEXTS = ["您的账户涉嫌洗钱，请转入安全账户", "妈，我今晚回家吃饭", "公安局通知：资金转入安全账户核查", "快递已放门口"]
LABELS = ["impersonate_police", "0", "impersonate_police", "0"]


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    save_model(TextDetector(min_df=1).fit(TEXTS, LABELS), tmp_path / "m", data={"rows": 4}, metrics={})
    return tmp_path / "m"


def test_the_card_records_the_format_and_a_model_loads_back(saved: Path) -> None:
    card = json.loads((saved / CARD_FILE).read_text())
    assert card["kind"] == "text" and card["model_format"] == TextDetector.model_format
    assert f"- model format: {TextDetector.model_format}" in (saved / "MODEL_CARD.md").read_text()
    assert load_model(saved, "text").detector.predict_labels(["请转入安全账户"]).tolist() == ["impersonate_police"]


def test_a_model_of_another_format_is_refused_with_what_to_do(saved: Path, tmp_path: Path) -> None:
    card = json.loads((saved / CARD_FILE).read_text())
    (saved / CARD_FILE).write_text(json.dumps({**card, "model_format": 0}))
    with pytest.raises(ModelError, match=r"format 0.*train it again with `aegis train text`"):
        load_model(saved, "text")
    (tmp_path / "in.csv").write_text("text\n请转入安全账户\n")
    result = CliRunner().invoke(app, ["predict", "text", "--model", str(saved), "--data", str(tmp_path / "in.csv"),
                                      "--out", str(tmp_path / "out.csv")])
    assert result.exit_code == 2 and "请用 `aegis train text` 重新训练" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["predict", "text", "--model", str(saved), "--data", str(tmp_path / "in.csv"),
                                      "--out", str(tmp_path / "out.csv"), "--lang", "en"])
    assert result.exit_code == 2 and "train it again" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "out.csv").exists()


def test_a_card_from_before_formats_reads_as_format_1(saved: Path) -> None:
    card = json.loads((saved / CARD_FILE).read_text())
    del card["model_format"]
    (saved / CARD_FILE).write_text(json.dumps(card))
    assert TextDetector.model_format != 1  # so a card read as format 1 is refused, naming that format
    with pytest.raises(ModelError, match=r"of format 1, and this Aegis .* scores format"):
        load_model(saved, "text")


def test_shipped_models_are_of_the_format_this_version_scores() -> None:
    assert UrlDetector.model_format == 2  # the nearest known URLs
    for kind in ("text", "number", "url", "account", "victim"):
        assert load_model(None, kind).detector.kind == kind


def test_a_model_keeps_digests_of_its_text_rows_and_a_retrained_one_drops_stale_ones(tmp_path: Path) -> None:
    from aegis.training.modelstore import row_digests, seen_rows

    out = tmp_path / "m"
    save_model(TextDetector(min_df=1).fit(TEXTS, LABELS), out, data={}, metrics={}, seen=row_digests(TEXTS))
    loaded = load_model(out, "text")
    assert loaded.seen is not None and len(loaded.seen) == 4
    assert seen_rows(loaded.seen, [f" {TEXTS[0]} ", "另一条短信", TEXTS[3]]) == 2  # stripped, as the rows are read
    assert row_digests([]) is None and row_digests(["a", 1]) is None  # only rows that are their own key
    save_model(TextDetector(min_df=1).fit(TEXTS, LABELS), out, data={}, metrics={})  # trained on other rows
    assert not (out / SEEN_FILE).exists() and load_model(out, "text").seen is None


def test_the_shipped_text_and_url_models_know_their_training_rows() -> None:
    for kind, rows in (("text", 17434), ("url", 9187)):
        card = json.loads((default_model_dir(kind) / CARD_FILE).read_text())
        seen = load_model(None, kind).seen
        assert seen is not None and len(seen) <= card["data"]["rows"] == rows


@pytest.mark.parametrize("damage", ["truncated", "empty", "garbage", "csv", "card not json", "card a list",
                                    "digests garbage"])
def test_a_damaged_model_folder_is_refused_in_one_line_naming_the_file(saved: Path, tmp_path: Path,
                                                                       damage: str) -> None:
    model = saved / MODEL_FILE
    file = {"card not json": CARD_FILE, "card a list": CARD_FILE, "digests garbage": SEEN_FILE}.get(damage, MODEL_FILE)
    if damage == "truncated":
        model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])
    else:
        content = {"empty": b"", "garbage": b"garbage bytes\n", "csv": b"score,label\n0.1,0\n",
                   "card not json": b"score,label\n0.1,0\n", "card a list": b"[1, 2]\n",
                   "digests garbage": b"not numpy\n"}[damage]
        (saved / file).write_bytes(content)
    (tmp_path / "in.csv").write_text("text,label\n请转入安全账户,impersonate_police\n", encoding="utf-8")
    for command in (["predict", "text", "--out", str(tmp_path / "out.csv")], ["evaluate", "text", "--json"]):
        chinese, english = both_languages([*command, "--model", str(saved), "--data", str(tmp_path / "in.csv")])
        assert chinese == f"错误：--model：{saved / file}已损坏或不是Aegis模型：请重新训练"
        assert english == f"error: --model: {saved / file} is damaged or not an Aegis model: train it again"
    assert not (tmp_path / "out.csv").exists()


def test_a_damaged_shipped_model_says_to_install_again(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aegis.training import modelstore

    (saved / MODEL_FILE).write_bytes(b"")
    monkeypatch.setattr(modelstore, "default_model_dir", lambda kind: saved)
    with pytest.raises(ModelError, match=r"model.joblib shipped with Aegis is damaged: install Aegis again"):
        load_model(None, "text")
