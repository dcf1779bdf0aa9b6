"""What the commands say to people is Chinese by default and English with ``--lang en`` (or $AEGIS_LANG=en):
the summaries of train, predict and evaluate, the error and warning lines, the audit log's actions. What
machines read (the predictions file, ``--json``) is the same in both."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine
from typer.testing import CliRunner

from aegis.cli.main import app
from aegis.reasons import Reason
from aegis.store import AuditLog

runner = CliRunner()
CHINESE = re.compile(r"[\u4e00-\u9fff]")

FRAUD = ["我是公安局的，你涉嫌洗钱案{i}号，请把钱转入安全账户", "您好，我是客服，您的订单{i}异常需要退款，请提供验证码"]
NORMAL = ["明天{i}点开会，记得带电脑", "快递放门卫了，取件码{i}"]


def _unwrapped(said: str) -> str:
    """Output as one line: a line longer than the terminal (80 columns under the test runner) wraps anywhere."""
    return said.replace("\n", "")


def _texts(tmp_path: Path) -> Path:
    rows = [(t.format(i=i), "impersonate_police") for i in range(12) for t in FRAUD]
    rows += [(t.format(i=i), "normal") for i in range(12) for t in NORMAL]
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(tmp_path / "texts.csv", index=False)
    return tmp_path / "texts.csv"


def test_train_predict_and_evaluate_speak_chinese_unless_asked_for_english(tmp_path: Path) -> None:
    texts = _texts(tmp_path)
    said = {}
    for lang in ("zh", "en"):
        trained = runner.invoke(app, ["train", "text", "--data", str(texts), "--out", str(tmp_path / f"m-{lang}"),
                                      "--folds", "2", "--lang", lang])
        assert trained.exit_code == 0, trained.output
        predicted = runner.invoke(app, ["predict", "text", "--model", str(tmp_path / f"m-{lang}"), "--data",
                                        str(texts), "--out", str(tmp_path / f"p-{lang}.csv"), "--lang", lang])
        assert predicted.exit_code == 0, predicted.output
        # the training rows again: evaluate warns that they are no held-out data
        evaluated = runner.invoke(app, ["evaluate", "text", "--model", str(tmp_path / f"m-{lang}"), "--data",
                                        str(texts), "--lang", lang])
        assert evaluated.exit_code == 0, evaluated.output
        said[lang] = (trained, predicted, evaluated)

    trained, predicted, evaluated = said["zh"]
    assert f"模型已写入{tmp_path / 'm-zh'}" in _unwrapped(trained.stdout)
    for name in ("指标", "交叉验证折数", "宏平均F1", "涉诈F1", "各标签F1：正常"):
        assert name in trained.stdout, name
    assert "读取训练文件" in trained.stderr and "为模型卡做交叉验证：48行，2折" in trained.stderr
    assert "用全部48行拟合文本检测器" in trained.stderr
    assert f"已写入48条预测：{tmp_path / 'p-zh.csv'}" in _unwrapped(predicted.stdout)
    assert "检测器" in evaluated.stdout and "文本" in evaluated.stdout
    assert _unwrapped(evaluated.stderr).startswith("警告：48行中有48行是模型训练时用过的行")

    trained, predicted, evaluated = said["en"]
    assert f"model written to {tmp_path / 'm-en'}" in _unwrapped(trained.stdout)
    for name in ("metric", "cross-validation folds", "macro F1", "fraud F1", "F1 by label: normal"):
        assert name in trained.stdout, name
    assert "reading the training files" in trained.stderr
    assert "cross-validating on 48 rows (2 folds) for the model card" in trained.stderr
    assert f"48 predictions written to {tmp_path / 'p-en.csv'}" in _unwrapped(predicted.stdout)
    assert _unwrapped(evaluated.stderr).startswith("warning: 48 of the 48 rows are rows the model was trained on")
    for shown in (trained.stdout, trained.stderr, predicted.stdout, evaluated.stdout, evaluated.stderr):
        assert not CHINESE.search(shown), shown

    # the predictions file is the same whatever the language of the screen
    assert (tmp_path / "p-zh.csv").read_bytes() == (tmp_path / "p-en.csv").read_bytes()
    assert list(pd.read_csv(tmp_path / "p-zh.csv").columns) == ["score", "label"]


def test_a_model_cards_cross_validated_figures_are_named_after_the_figure() -> None:
    from aegis.cli.figures import figure_name

    assert figure_name("cv_macro_f1", "zh") == "交叉验证宏平均F1"
    assert figure_name("cv_roc_auc_std", "en") == "cross-validated ROC AUC, spread (std)"
    assert figure_name("mean_average_precision", "zh") == "平均精确率均值"
    assert figure_name("held_out_20K_fanin200.auc", "en") == "20K_fanin200 held out: AUC"
    assert figure_name("cv_no_such_figure", "en") == "cv_no_such_figure"


def test_an_error_line_starts_in_the_language_of_the_command(tmp_path: Path) -> None:
    missing = ["predict", "text", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path / "p.csv")]
    chinese = runner.invoke(app, missing)
    assert chinese.exit_code == 2 and chinese.stderr == f"错误：{tmp_path / 'none.csv'}：文件不存在\n"
    english = runner.invoke(app, [*missing, "--lang", "en"])
    assert english.exit_code == 2 and english.stderr == f"error: {tmp_path / 'none.csv'}: no such file\n"
    # a model folder without a model: its words in the command's language too
    (tmp_path / "sms.csv").write_text("text\n你好\n", encoding="utf-8")
    no_model = ["predict", "text", "--model", str(tmp_path), "--data", str(tmp_path / "sms.csv"),
                "--out", str(tmp_path / "p.csv")]
    chinese = runner.invoke(app, no_model)
    assert chinese.exit_code == 2 and chinese.stderr == f"错误：model：{tmp_path}中没有model.joblib\n"
    english = runner.invoke(app, [*no_model, "--lang", "en"])
    assert english.exit_code == 2 and english.stderr == f"error: model: no model.joblib in {tmp_path}\n"
    # a command without --lang (serve) follows $AEGIS_LANG, else Chinese
    store = f"sqlite:///{tmp_path / 'none.db'}"
    assert runner.invoke(app, ["serve", "--db", store]).stderr.startswith("错误：")
    assert runner.invoke(app, ["serve", "--db", store], env={"AEGIS_LANG": "en"}).stderr.startswith("error: ")
    # a message with brackets is printed as it is, not read as markup
    bracketed = runner.invoke(app, ["predict", "text", "--data", str(tmp_path / "[red]x.csv"), "--out",
                                    str(tmp_path / "p.csv")])
    assert "[red]x.csv" in bracketed.stderr


def test_the_audit_log_names_its_actions_and_its_json_keeps_the_codes(engine: Engine) -> None:
    log = AuditLog(engine)
    log.append(actor="system", action="decision.sms.block", subject_type="number", subject_id="17012345678",
               reasons=[Reason("未发现风险")])
    log.append(actor="centre/c1", action="order.freeze.issued", subject_type="fund_order", subject_id="OR-1",
               reasons=[Reason("未发现风险")])
    url = engine.url.render_as_string(hide_password=False)
    read = ["audit", "--user", "c", "--role", "city_centre", "--db", url, "--action", "decision."]
    chinese = runner.invoke(app, read)
    assert chinese.exit_code == 0, chinese.output
    for said in ("操作", "代码", "短信拦截", "decision.sms.block"):
        assert said in chinese.stdout, said
    english = runner.invoke(app, [*read, "--lang", "en"])
    assert english.exit_code == 0, english.output
    for said in ("action", "code", "SMS: block", "decision.sms.block"):
        assert said in english.stdout, said
    assert "短信拦截" not in english.stdout
    orders = runner.invoke(app, [*read[:-1], "order.", "--lang", "en"])
    assert "freeze order issued" in orders.stdout and "order.freeze.issued" in orders.stdout
    entries = json.loads(runner.invoke(app, [*read[:-2], "--json", "--lang", "en"]).stdout)
    assert [e["action"] for e in entries][-2:] == ["order.freeze.issued", "decision.sms.block"]
    assert all(set(e) == set(entries[0]) for e in entries) and "SMS: block" not in json.dumps(entries)


def test_serve_refuses_a_port_that_is_no_port_in_one_line(tmp_path: Path) -> None:
    """A port past 65535 ended in a traceback from bind(); it is an option's range, told before anything starts."""
    store = f"sqlite:///{tmp_path / 'none.db'}"
    for port, bound in (("70000", "less than or equal to 65535"), ("0", "greater than or equal to 1"),
                        ("-1", "greater than or equal to 1")):
        refused = runner.invoke(app, ["serve", "--db", store, "--port", port])
        assert refused.exit_code == 2 and "Traceback" not in refused.output + refused.stderr
        said = " ".join(refused.stderr.replace("│", " ").split())  # Typer's box wraps its lines
        assert f"Invalid value for '--port': Input should be {bound}" in said
    # a port in range goes on to the next check (here: no store there)
    in_range = runner.invoke(app, ["serve", "--db", store, "--port", "65535"], env={"AEGIS_LANG": "en"})
    assert in_range.stderr.startswith("error: database: no store at")
