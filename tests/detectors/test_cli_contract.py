"""The train / predict / evaluate command-line contract of the detectors, end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from aegis.cli.main import app
from cli_errors import both_languages

runner = CliRunner()

FRAUD_SMS = ["【社保局】您的社保卡已暂停，请点击http://sbk-{i}.top认证",
             "您好，我是客服，您的订单{i}异常需要退款，请提供验证码",
             "恭喜您被抽中{i}等奖，领奖需先缴纳手续费",
             "我是公安局的，你涉嫌洗钱案{i}号，请把钱转入安全账户"]
NORMAL_SMS = ["妈，我{i}点到家，晚饭不用等我", "明天{i}点开会，记得带电脑", "快递放门卫了，取件码{i}",
              "周末{i}号一起去爬山吗"]


def _text_files(tmp_path: Path) -> tuple[Path, Path]:
    rows = [(t.format(i=i), "冒充客服") for i in range(15) for t in FRAUD_SMS]
    rows += [(t.format(i=i), "正常") for i in range(15) for t in NORMAL_SMS]
    frame = pd.DataFrame(rows, columns=["text", "label"]).sample(frac=1.0, random_state=0)
    frame.to_csv(tmp_path / "train.csv", index=False)
    scored = pd.DataFrame({"text": ["我是公安局的，你涉嫌洗钱案99号，请把钱转入安全账户", "明天99点开会，记得带电脑"],
                           "label": ["冒充客服", "正常"]})
    scored.to_csv(tmp_path / "test.csv", index=False)
    return tmp_path / "train.csv", tmp_path / "test.csv"


def test_text_train_predict_evaluate(tmp_path: Path) -> None:
    train, test = _text_files(tmp_path)
    trained = runner.invoke(app, ["train", "text", "--data", str(train), "--out", str(tmp_path / "m"), "--folds", "2",
                                  "--lang", "en"])
    assert trained.exit_code == 0, trained.output
    # each stage is shown as it starts, with the seconds since the start (stderr)
    stages = ("reading the training files", "cross-validating on 120 rows (2 folds)",
              "cross-validation: 1 of 2 folds done", "cross-validation: 2 of 2 folds done", "fitting the text detector",
              "writing the model")
    positions = [trained.stderr.find(stage) for stage in stages]
    assert -1 not in positions and positions == sorted(positions), trained.stderr
    card = json.loads((tmp_path / "m" / "card.json").read_text(encoding="utf-8"))
    assert card["kind"] == "text" and card["metrics"]["cv_folds"] == 2

    predicted = runner.invoke(app, ["predict", "text", "--model", str(tmp_path / "m"), "--data", str(test),
                                    "--out", str(tmp_path / "pred.csv")])
    assert predicted.exit_code == 0, predicted.output
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["score", "label"] and len(pred) == 2
    assert pred["label"].tolist() == ["冒充客服", "正常"]  # the training labels come back as they were written
    assert pred["score"].iloc[0] > 0.5 > pred["score"].iloc[1]

    # a file saved as GBK (as Chinese spreadsheets and many bank and telco exports are) reads the same
    (tmp_path / "gbk.csv").write_bytes(test.read_text(encoding="utf-8").encode("gbk"))
    predicted = runner.invoke(app, ["predict", "text", "--model", str(tmp_path / "m"), "--data",
                                    str(tmp_path / "gbk.csv"), "--out", str(tmp_path / "gbk_pred.csv")])
    assert predicted.exit_code == 0, predicted.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "gbk_pred.csv"), pred)

    evaluated = runner.invoke(app, ["evaluate", "text", "--model", str(tmp_path / "m"), "--data", str(test), "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    figures = json.loads(evaluated.stdout)
    assert figures["kind"] == "text" and figures["rows"] == 2 and figures["fraud_f1"] == 1.0
    assert "从不预测" not in evaluated.stderr
    assert figures["rows_seen_in_training"] == 0 and "训练时用过的行" not in evaluated.stderr
    # the training rows themselves are no held-out data, and evaluate says so
    on_train = runner.invoke(app, ["evaluate", "text", "--model", str(tmp_path / "m"), "--data", str(train), "--json",
                                   "--lang", "en"])
    assert on_train.exit_code == 0, on_train.output
    assert json.loads(on_train.stdout)["rows_seen_in_training"] == 120
    assert "warning: 120 of the 120 rows are rows the model was trained on" in on_train.stderr

    # another source's names for fraud types: the per-label figures compare different names, and evaluate says so
    renamed_rows = pd.concat([pd.read_csv(test).replace({"冒充客服": "冒充公检法及政府机关类"}),
                              pd.DataFrame({"text": ["您好，您的快递丢失，请加客服QQ理赔99元"],
                                            "label": ["快递理赔类"]})])
    renamed_rows.to_csv(tmp_path / "renamed.csv", index=False)
    renamed = runner.invoke(app, ["evaluate", "text", "--model", str(tmp_path / "m"), "--data",
                                  str(tmp_path / "renamed.csv"), "--json", "--lang", "en"])
    assert renamed.exit_code == 0, renamed.output
    assert "the model never predicts 2 of the data's labels (冒充公检法及政府机关类, 快递理赔类)" in renamed.stderr
    # data naming one fraud label only ("fraud" / "normal") are compared as fraud against normal, in every figure
    pd.read_csv(test).replace({"冒充客服": "fraud"}).to_csv(tmp_path / "binary.csv", index=False)
    binary = runner.invoke(app, ["evaluate", "text", "--model", str(tmp_path / "m"), "--data",
                                 str(tmp_path / "binary.csv"), "--json"])
    assert binary.exit_code == 0 and "从不预测" not in binary.stderr
    assert json.loads(binary.stdout)["f1_by_label"] == {"fraud": 1.0, "正常": 1.0}
    # the normal class is reported under the data's own label, which predict writes back: "0" here, not "normal"
    pd.read_csv(test).replace({"正常": "0"}).to_csv(tmp_path / "zero.csv", index=False)
    zero = runner.invoke(app, ["evaluate", "text", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "zero.csv"),
                               "--json"])
    assert zero.exit_code == 0, zero.output
    assert json.loads(zero.stdout)["f1_by_label"] == {"0": 1.0, "冒充客服": 1.0}


def test_predict_without_model_uses_the_shipped_one_and_keeps_input_order(tmp_path: Path) -> None:
    urls = ["https://www.wikipedia.org/", "http://icbc-verify.top/login.php?acct=1", "https://www.12306.cn/index/"]
    order = [2, 0, 1]
    pd.DataFrame({"url": [urls[i] for i in order]}).to_csv(tmp_path / "u.csv", index=False)
    result = runner.invoke(app, ["predict", "url", "--data", str(tmp_path / "u.csv"), "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    labels = pd.read_csv(tmp_path / "p.csv")["label"].tolist()
    expected = ["legitimate", "phishing", "legitimate"]
    assert labels == [expected[i] for i in order]

    # --reasons adds why, in Chinese or (--lang en, or $AEGIS_LANG) in English, for the same scores
    for lang, env, phrase in (("zh", {}, "域名仿冒 icbc.com.cn"), ("en", {"AEGIS_LANG": "en"}, "imitates icbc.com.cn")):
        out = tmp_path / f"r-{lang}.csv"
        result = runner.invoke(app, ["predict", "url", "--data", str(tmp_path / "u.csv"), "--out", str(out),
                                     "--reasons"], env=env)
        assert result.exit_code == 0, result.output
        explained = pd.read_csv(out, keep_default_na=False)
        assert list(explained.columns) == ["score", "label", "fraud_type", "reasons"]
        assert phrase in explained["reasons"].iloc[order.index(1)]
    assert runner.invoke(app, ["predict", "url", "--data", str(tmp_path / "u.csv"), "--out", str(out),
                               "--lang", "fr"]).exit_code == 2


def test_predictions_keep_every_digit_of_the_score_and_never_overwrite_their_input(tmp_path: Path) -> None:
    from aegis.usecases.decisions import shipped_detector

    texts = ["妈，我今晚加班不回家吃饭了", "您的ETC卡已失效，请登录 etc-gov.top/a1 认证", "明天上午九点开会"]
    pd.DataFrame({"text": texts}).to_csv(tmp_path / "t.csv", index=False)
    done = runner.invoke(app, ["predict", "text", "--data", str(tmp_path / "t.csv"), "--out", str(tmp_path / "p.csv")])
    assert done.exit_code == 0, done.output
    written = pd.read_csv(tmp_path / "p.csv")["score"].tolist()
    assert written == [v.score for v in shipped_detector("text").predict(texts)]  # as the model said, not rounded
    before = (tmp_path / "t.csv").read_bytes()
    refused = runner.invoke(app, ["predict", "text", "--data", str(tmp_path / "t.csv"), "--out",
                                  str(tmp_path / "." / "t.csv"), "--lang", "en"])
    assert refused.exit_code == 2 and "is an input file, which the predictions would overwrite" in refused.stderr
    assert (tmp_path / "t.csv").read_bytes() == before


def test_predictions_never_overwrite_the_model_they_are_read_with(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from aegis.detectors.text import TextDetector
    from aegis.training import modelstore
    from aegis.usecases import models

    modelstore.save_model(TextDetector(min_df=1).fit(["请转入安全账户", "今晚回家吃饭"], ["冒充公检法", "正常"]),
                          tmp_path / "m", data={}, metrics={})
    before = {f.name: f.read_bytes() for f in (tmp_path / "m").iterdir()}
    (tmp_path / "t.csv").write_text("text\n请转入安全账户\n", encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "m")
    for out, model in ((tmp_path / "m" / "model.joblib", ["--model", str(tmp_path / "m")]),
                       (tmp_path / "elsewhere" / ".." / "m" / "card.json", ["--model", str(tmp_path / "m")]),
                       (tmp_path / "link" / "training_rows.npy", ["--model", str(tmp_path / "m")]),
                       (tmp_path / "m" / "model.joblib", [])):  # the shipped model's folder, when --model is left out
        monkeypatch.setattr(models, "default_model_dir", lambda kind: tmp_path / "m")
        monkeypatch.setattr(modelstore, "default_model_dir", lambda kind: tmp_path / "m")
        refused = runner.invoke(app, ["predict", "text", *model, "--data", str(tmp_path / "t.csv"),
                                      "--out", str(out), "--lang", "en"])
        assert refused.exit_code == 2, refused.output
        assert refused.stderr == (f"error: --out: {out} is a file of the model being read, which the predictions "
                                  "would overwrite: write them elsewhere\n")
        assert {f.name: f.read_bytes() for f in (tmp_path / "m").iterdir()} == before
    # another file beside the model leaves it as it is
    beside = runner.invoke(app, ["predict", "text", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "t.csv"),
                                 "--out", str(tmp_path / "m" / "pred.csv")])
    assert beside.exit_code == 0, beside.output
    assert {f.name: f.read_bytes() for f in (tmp_path / "m").iterdir() if f.name != "pred.csv"} == before


def test_number_train_and_predict_on_a_profile_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 120
    fraud = np.arange(n) % 4 == 0
    frame = pd.DataFrame({
        "number": [f"138{i:08d}" for i in range(n)],
        "out_share": np.where(fraud, rng.uniform(0.9, 1.0, n), rng.uniform(0.2, 0.7, n)),
        "callback_rate": np.where(fraud, rng.uniform(0.0, 0.1, n), rng.uniform(0.3, 0.9, n)),
        "n_callees": np.where(fraud, rng.integers(80, 300, n), rng.integers(3, 40, n)),
        "label": fraud.astype(int),
    })
    frame.to_csv(tmp_path / "p.csv", index=False)
    trained = runner.invoke(app, ["train", "number", "--data", str(tmp_path / "p.csv"), "--out", str(tmp_path / "m"),
                                  "--folds", "0"])
    assert trained.exit_code == 0, trained.output
    assert "交叉验证" not in trained.stderr
    frame.drop(columns="label").iloc[::-1].to_csv(tmp_path / "q.csv", index=False)
    predicted = runner.invoke(app, ["predict", "number", "--model", str(tmp_path / "m"), "--data",
                                    str(tmp_path / "q.csv"), "--out", str(tmp_path / "pred.csv")])
    assert predicted.exit_code == 0, predicted.output
    assert "警告" not in predicted.stderr
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert (pred["label"] == 1).tolist() == fraud[::-1].tolist()
    # a file without a column the model learnt from is still scored, with a warning that says which
    frame.drop(columns=["label", "callback_rate"]).to_csv(tmp_path / "r.csv", index=False)
    partial = runner.invoke(app, ["predict", "number", "--model", str(tmp_path / "m"), "--data",
                                  str(tmp_path / "r.csv"), "--out", str(tmp_path / "pred2.csv"), "--lang", "en"])
    assert partial.exit_code == 0 and len(pd.read_csv(tmp_path / "pred2.csv")) == n
    assert "warning: the data lack 1 of the inputs the model learnt from (callback_rate)" in partial.stderr
    # a row repeated exactly is scored again, alike, one prediction per input row, as texts and URLs are
    unlabelled = frame.drop(columns="label")
    pd.concat([unlabelled, unlabelled.iloc[[5, 0]]]).to_csv(tmp_path / "dup.csv", index=False)
    repeated = runner.invoke(app, ["predict", "number", "--model", str(tmp_path / "m"), "--data",
                                   str(tmp_path / "dup.csv"), "--out", str(tmp_path / "dup_pred.csv")])
    assert repeated.exit_code == 0, repeated.output
    once = pd.read_csv(tmp_path / "pred.csv").iloc[::-1].reset_index(drop=True)  # q.csv was the rows reversed
    again = pd.read_csv(tmp_path / "dup_pred.csv")
    pd.testing.assert_frame_equal(again, pd.concat([once, once.iloc[[5, 0]]], ignore_index=True))
    # two rows of one number that differ are two profiles of it, which the model cannot tell between
    pd.concat([unlabelled, unlabelled.iloc[[5]].assign(n_callees=1)]).to_csv(tmp_path / "differ.csv", index=False)
    _, english = both_languages(["predict", "number", "--model", str(tmp_path / "m"), "--data",
                                 str(tmp_path / "differ.csv"), "--out", str(tmp_path / "differ_pred.csv")])
    assert english == ("error: --data: number '13800000005' is listed more than once, in rows that differ (rows "
                       "repeated exactly are scored as one)")


@pytest.mark.parametrize(("kind", "content", "message"), [
    ("text", "message\nhi\n", "bad.csv：缺少列“text”"),
    ("url", "url,label\nhttp://a.com,maybe\n", "bad.csv：列“label”须为“phishing”或“legitimate”（第1行数据）"),
    ("number", "number,n_calls,label\n1380000,lots,1\n", "bad.csv：列“n_calls”不是数值"),
])
def test_bad_training_files_fail_in_one_line_and_write_nothing(tmp_path: Path, kind: str, content: str,
                                                              message: str) -> None:
    (tmp_path / "bad.csv").write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["train", kind, "--data", str(tmp_path / "bad.csv"), "--out", str(tmp_path / "m"),
                                 "--folds", "0"])
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "m").exists()


def _amlsim(tmp_path: Path, accounts: int = 80) -> tuple[Path, Path]:
    """Ordinary accounts paying each other now and then, and a ring of mules passing money straight on."""
    rng = np.random.default_rng(1)
    mules = set(range(0, accounts, 8))
    rows = [(int(a), int(b), round(float(rng.uniform(20, 300)), 2), int(rng.integers(1, 30)))
            for a, b in rng.integers(0, accounts, (accounts * 3, 2)) if a != b]
    ring = sorted(mules)
    for day in range(1, 30, 3):
        rows += [(a, b, 900.0, day) for a, b in zip(ring, ring[1:] + ring[:1], strict=True)]
    pd.DataFrame({"nodeid": range(accounts), "isFraud": [int(i in mules) for i in range(accounts)],
                  "init_balance": 100.0, "fraudStep": -1}).to_csv(tmp_path / "nodes.csv", index=False)
    pd.DataFrame(rows, columns=["sourceNodeId", "targetNodeId", "value", "time"]).to_csv(
        tmp_path / "transactions.csv", index=False)
    return tmp_path / "nodes.csv", tmp_path / "transactions.csv"


def test_account_train_predict_evaluate_with_amlsim_pairs(tmp_path: Path) -> None:
    nodes, transfers = _amlsim(tmp_path)
    pair = ["--accounts", str(nodes), "--transfers", str(transfers), "--format", "amlsim"]
    trained = runner.invoke(app, ["train", "account", *pair, "--out", str(tmp_path / "m"), "--lang", "en"])
    assert trained.exit_code == 0, trained.output
    # one graph cannot be left out of itself: the card and the progress say so, not "5 folds"
    assert "no cross-validation for the model card" in trained.stderr and "folds" not in trained.stderr
    card = json.loads((tmp_path / "m" / "card.json").read_text(encoding="utf-8"))
    assert card["metrics"] == {"cv": "none: leave-one-graph-out needs two or more graphs"}
    predicted = runner.invoke(app, ["predict", "account", "--model", str(tmp_path / "m"), *pair,
                                    "--out", str(tmp_path / "pred.csv")])
    assert predicted.exit_code == 0, predicted.output
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["score", "label"] and len(pred) == 80
    # the accounts to score may be a few of those the transfers name: the rest count as counterparties
    some = pd.read_csv(nodes).iloc[[40, 8, 3]][["nodeid"]]
    some.to_csv(tmp_path / "some.csv", index=False)
    predicted = runner.invoke(app, ["predict", "account", "--model", str(tmp_path / "m"), "--accounts",
                                    str(tmp_path / "some.csv"), "--transfers", str(transfers), "--format", "amlsim",
                                    "--out", str(tmp_path / "some_pred.csv")])
    assert predicted.exit_code == 0, predicted.output
    alone, among_all = pd.read_csv(tmp_path / "some_pred.csv"), pred.iloc[[40, 8, 3]]
    assert alone["label"].tolist() == among_all["label"].tolist()
    # not to the last digit: accounts listed without any transfer still count in the graph's percentile ranks
    np.testing.assert_allclose(alone["score"], among_all["score"], atol=1e-3)
    assert "warning" not in predicted.stderr and "警告" not in predicted.stderr
    # ids written as floats (as pandas writes a column with a blank cell) are the same accounts; one that no
    # transfer names is scored, with a warning, as number predict warns of a number the graph does not name
    (tmp_path / "floats.csv").write_text("nodeid\n40.0\n8.0\n3.0\n999\n", encoding="utf-8")
    predicted = runner.invoke(app, ["predict", "account", "--model", str(tmp_path / "m"), "--accounts",
                                    str(tmp_path / "floats.csv"), "--transfers", str(transfers), "--format", "amlsim",
                                    "--out", str(tmp_path / "floats_pred.csv"), "--lang", "en"])
    assert predicted.exit_code == 0, predicted.output
    as_floats = pd.read_csv(tmp_path / "floats_pred.csv").iloc[:3]
    assert as_floats["label"].tolist() == alone["label"].tolist()
    np.testing.assert_allclose(as_floats["score"], alone["score"], atol=1e-3)  # 999 counts in the ranks
    assert predicted.stderr == ("warning: the transfers name 1 of the 4 accounts nowhere (such as 999): they are "
                                "scored as moving no money\n")
    # an account listed again, its row repeated exactly, is scored again alike: one prediction per input row
    pd.concat([some, some.iloc[[0]]]).to_csv(tmp_path / "again.csv", index=False)
    predicted = runner.invoke(app, ["predict", "account", "--model", str(tmp_path / "m"), "--accounts",
                                    str(tmp_path / "again.csv"), "--transfers", str(transfers), "--format", "amlsim",
                                    "--out", str(tmp_path / "again_pred.csv")])
    assert predicted.exit_code == 0, predicted.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "again_pred.csv"),
                                  pd.concat([alone, alone.iloc[[0]]], ignore_index=True))
    evaluated = runner.invoke(app, ["evaluate", "account", "--model", str(tmp_path / "m"), *pair, "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    figures = json.loads(evaluated.stdout)
    assert figures["rows"] == 80 and figures["mules"] == 10
    assert figures["auc"] >= 0.9  # the ring, seen in training, stands out from the ordinary accounts
    # a held-out share of the accounts, labelled, beside all the graph's transfers: learnt from and measured, the
    # others counterparties (an evaluation keeps a fifth of a graph's accounts back)
    labelled = pd.read_csv(nodes).iloc[::2]
    labelled.to_csv(tmp_path / "half.csv", index=False)
    half = ["--accounts", str(tmp_path / "half.csv"), "--transfers", str(transfers), "--format", "amlsim"]
    assert runner.invoke(app, ["train", "account", *half, "--out", str(tmp_path / "m2")]).exit_code == 0
    evaluated = runner.invoke(app, ["evaluate", "account", "--model", str(tmp_path / "m"), *half, "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["rows"] == 40
    # accounts of one class are measured, the figures they leave undefined null, as the other detectors' rows are;
    # training on them is refused
    ordinary = pd.read_csv(nodes).query("isFraud == 0")
    ordinary.to_csv(tmp_path / "ordinary.csv", index=False)
    one_class = ["--accounts", str(tmp_path / "ordinary.csv"), "--transfers", str(transfers), "--format", "amlsim"]
    evaluated = runner.invoke(app, ["evaluate", "account", "--model", str(tmp_path / "m"), *one_class, "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    figures = json.loads(evaluated.stdout)
    assert figures["rows"] == 70 and figures["mules"] == 0
    assert figures["auc"] is None and figures["average_precision"] is None and figures["recall"] is None
    assert figures["precision_at_100"] == 0.0
    _, english = both_languages(["train", "account", *one_class, "--out", str(tmp_path / "m3")])
    assert english == "error: --accounts: training needs both fraud and normal rows, and all 70 rows are labelled '0'"


def test_a_held_out_graph_without_mules_has_no_ranking_to_average(tmp_path: Path) -> None:
    nodes, transfers = _amlsim(tmp_path)
    pairs = []
    for graph in ("g1", "g2", "g3"):  # g2 holds no mule: left out, it has nothing to rank
        (tmp_path / graph).mkdir()
        accounts = pd.read_csv(nodes)
        if graph == "g2":
            accounts["isFraud"] = 0
        accounts.to_csv(tmp_path / graph / "nodes.csv", index=False)
        pairs += ["--accounts", str(tmp_path / graph / "nodes.csv"), "--transfers", str(transfers)]
    trained = runner.invoke(app, ["train", "account", *pairs, "--format", "amlsim", "--out", str(tmp_path / "m")])
    assert trained.exit_code == 0, trained.output
    metrics = json.loads((tmp_path / "m" / "card.json").read_text(encoding="utf-8"))["metrics"]
    assert metrics["held_out_g2"]["auc"] is None and metrics["held_out_g1"]["auc"] is not None
    assert metrics["mean_auc"] is None and metrics["mean_average_precision"] is None


def test_the_readme_account_command_leaves_each_graph_out_over_seeds(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from aegis.training.account import main

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    pairs = [_amlsim(tmp_path / "a"), _amlsim(tmp_path / "b", accounts=96)]
    args = [arg for nodes, transfers in pairs for arg in ("--accounts", str(nodes), "--transfers", str(transfers))]
    main([*args, "--seeds", "0", "1"])
    printed = capsys.readouterr().out
    assert "fold seed 0: held_out_a_average_precision" in printed and "fold seed 1:" in printed
    figures = json.loads(printed[printed.index("{"):])
    assert figures["seeds"] == [0, 1]
    assert set(figures) == {"seeds", *(f"held_out_{g}_{k}" for g in "ab" for k in ("auc", "average_precision"))}
    with pytest.raises(SystemExit) as exit_info:
        main(args[:4])
    assert exit_info.value.code == 2 and "two or more pairs" in capsys.readouterr().err


def _trained_text_model(tmp_path: Path) -> tuple[Path, Path]:
    train, test = _text_files(tmp_path)
    trained = runner.invoke(app, ["train", "text", "--data", str(train), "--out", str(tmp_path / "m"), "--folds", "0"])
    assert trained.exit_code == 0, trained.output
    return tmp_path / "m", test


def test_an_out_that_cannot_be_written_fails_in_one_line_naming_it_before_any_work(tmp_path: Path) -> None:
    model, test = _trained_text_model(tmp_path)
    (tmp_path / "folder").mkdir()
    predict = ["predict", "text", "--model", str(model), "--data", str(test), "--out"]
    for out, message, chinese in ((tmp_path / "folder", "is a folder; predictions go to a file",
                                   "是文件夹；预测结果须写入文件"),
                                  (test / "p.csv", "is a file, where a folder is needed", "是文件，此处需要文件夹")):
        result = runner.invoke(app, [*predict, str(out)])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert result.stderr.startswith("错误：--out：") and chinese in result.stderr
        result = runner.invoke(app, [*predict, str(out), "--lang", "en"])
        assert result.stderr.startswith("error: --out: ") and message in result.stderr
    assert sorted(p.name for p in (tmp_path / "folder").iterdir()) == []  # no temporary file left behind
    # training checks its --out before the minutes of fitting, not after
    result = runner.invoke(app, ["train", "text", "--data", str(test), "--out", str(test), "--folds", "0"])
    assert result.exit_code == 2 and "错误：--out：" in result.stderr and "读取" not in result.stderr


def test_predictions_are_readable_like_any_output(tmp_path: Path) -> None:
    model, test = _trained_text_model(tmp_path)
    result = runner.invoke(app, ["predict", "text", "--model", str(model), "--data", str(test),
                                 "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.csv").stat().st_mode & 0o777 == 0o644


def test_inputs_a_kind_does_not_read_are_refused_not_ignored(tmp_path: Path) -> None:
    model, test = _trained_text_model(tmp_path)
    cases = ((["--edges", str(test)], "--edges: the text detector does not read it"),
             (["--accounts", str(test), "--transfers", str(test)], "--accounts: the text detector does not read it"),
             (["--data", str(tmp_path)], f"{tmp_path}: is a folder, not a file"))
    for extra, message in cases:
        result = runner.invoke(app, ["predict", "text", "--model", str(model), "--data", str(test), *extra,
                                     "--out", str(tmp_path / "p.csv"), "--lang", "en"])
        assert result.exit_code == 2 and message in result.stderr, result.output
    result = runner.invoke(app, ["predict", "url", "--model", str(model), "--data", str(test),
                                 "--out", str(tmp_path / "p.csv")])
    # the message keeps its closing quote (quotes were once stripped from every message's ends)
    assert result.stderr.strip().endswith("中是“text”模型，不是“url”模型")
    result = runner.invoke(app, ["predict", "url", "--model", str(model), "--data", str(test),
                                 "--out", str(tmp_path / "p.csv"), "--lang", "en"])
    assert result.stderr.strip().endswith("holds a 'text' model, not 'url'")


def test_training_on_one_class_and_evaluating_no_rows_say_why(tmp_path: Path) -> None:
    model, _ = _trained_text_model(tmp_path)
    pd.DataFrame({"text": NORMAL_SMS * 5, "label": "0"}).to_csv(tmp_path / "normal.csv", index=False)
    pd.DataFrame({"url": [f"https://site{i}.com/" for i in range(20)], "label": "legitimate"}).to_csv(
        tmp_path / "urls.csv", index=False)
    # the number model trained on such a file and then labelled every number fraud
    pd.DataFrame({"number": [f"1380000{i:04d}" for i in range(20)], "n_calls": range(20), "label": 0}).to_csv(
        tmp_path / "numbers.csv", index=False)
    for kind, file, label in (("text", "normal.csv", "0"), ("url", "urls.csv", "legitimate"),
                              ("number", "numbers.csv", "0")):
        chinese, english = both_languages(["train", kind, "--data", str(tmp_path / file), "--out",
                                           str(tmp_path / "m2"), "--folds", "0"])
        assert chinese == f"错误：--data：训练需要既有涉诈的行又有正常的行，而全部20行的标签都是“{label}”"
        assert english == ("error: --data: training needs both fraud and normal rows, and all 20 rows are "
                           f"labelled '{label}'")
        assert not (tmp_path / "m2").exists()
    (tmp_path / "empty.csv").write_text("text,label\n", encoding="utf-8")
    result = runner.invoke(app, ["evaluate", "text", "--model", str(model), "--data", str(tmp_path / "empty.csv")])
    assert result.exit_code == 2 and "--data：没有可供评估的行" in result.stderr
    result = runner.invoke(app, ["evaluate", "text", "--model", str(model), "--data", str(tmp_path / "empty.csv"),
                                 "--lang", "en"])
    assert result.exit_code == 2 and "--data: no rows to evaluate" in result.stderr
    result = runner.invoke(app, ["predict", "text", "--model", str(model), "--data", str(tmp_path / "empty.csv"),
                                 "--out", str(tmp_path / "none.csv")])
    assert result.exit_code == 0 and list(pd.read_csv(tmp_path / "none.csv").columns) == ["score", "label"]


def test_fraud_figures_a_file_cannot_measure_are_undefined_not_zero(tmp_path: Path) -> None:
    model, _ = _trained_text_model(tmp_path)
    pd.DataFrame({"text": [t.format(i=i) for i in range(3) for t in NORMAL_SMS], "label": "0"}).to_csv(
        tmp_path / "normal.csv", index=False)
    result = runner.invoke(app, ["evaluate", "text", "--model", str(model), "--data", str(tmp_path / "normal.csv"),
                                 "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["accuracy"] == 1.0  # every normal row passed: nothing flagged, no fraud to find
    assert (figures["fraud_precision"], figures["fraud_recall"], figures["fraud_f1"]) == (None, None, None)
    shown = runner.invoke(app, ["evaluate", "text", "--model", str(model), "--data", str(tmp_path / "normal.csv"),
                                "--lang", "en"])
    assert any(line.count("—") == 1 and "fraud F1" in line for line in shown.stdout.splitlines()), shown.stdout
    # fraud rows, none flagged: recall is 0 (fraud missed), precision undefined (nothing flagged)
    from aegis.training.task import class_figures
    assert class_figures(np.array([True, False]), np.array([False, False])) == {
        "precision": None, "recall": 0.0, "f1": 0.0}


def test_folds_and_data_too_small_to_learn_from_are_named(tmp_path: Path) -> None:
    urls = tmp_path / "u.csv"
    pd.DataFrame({"url": ["http://a.com", "http://b-bank.top/login", "http://c.com", "http://d.cn"],
                  "label": ["legitimate", "phishing", "legitimate", "legitimate"]}).to_csv(urls, index=False)
    said = {folds: runner.invoke(app, ["train", "url", "--data", str(urls), "--out", str(tmp_path / "m"),
                                       "--folds", folds, "--lang", "en"]) for folds in ("5", "1", "-1")}
    assert said["5"].exit_code == 2 and said["5"].stderr.splitlines()[-1] == (
        "error: --folds: 5 folds need 5 rows of every label, and label 'phishing' has 1: give --folds 0 (no "
        "cross-validation)")
    for folds in ("1", "-1"):
        assert said[folds].exit_code == 2 and said[folds].stderr == (
            f"error: --folds: 0 (no cross-validation) or 2 or more (got {folds})\n")
    assert not (tmp_path / "m").exists()
    texts = tmp_path / "t.csv"
    pd.DataFrame({"text": ["您好请转账到安全账户", "明天开会"], "label": ["冒充客服", "0"]}).to_csv(texts, index=False)
    result = runner.invoke(app, ["train", "text", "--data", str(texts), "--out", str(tmp_path / "m"), "--folds", "0",
                                 "--lang", "en"])
    assert result.exit_code == 2 and "error: --data: cannot fit a text model on these 2 rows (" in result.stderr


def test_a_number_model_trained_with_a_graph_warns_when_scored_without_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    n = 80
    fraud = np.arange(n) % 4 == 0
    numbers = [f"139{i:08d}" for i in range(n)]
    frame = pd.DataFrame({"number": numbers, "out_share": np.where(fraud, 0.95, 0.4) + rng.normal(0, 0.05, n),
                          "label": fraud.astype(int)})
    frame.to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"a": numbers[:-1], "b": numbers[1:]}).to_csv(tmp_path / "e.csv", index=False)
    trained = runner.invoke(app, ["train", "number", "--data", str(tmp_path / "p.csv"), "--edges",
                                  str(tmp_path / "e.csv"), "--out", str(tmp_path / "m"), "--folds", "0"])
    assert trained.exit_code == 0, trained.output
    score = ["predict", "number", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "p.csv"),
             "--out", str(tmp_path / "pred.csv")]
    with_graph = runner.invoke(app, [*score, "--edges", str(tmp_path / "e.csv")])
    assert with_graph.exit_code == 0 and "警告" not in with_graph.stderr
    without = runner.invoke(app, [*score, "--lang", "en"])
    assert without.exit_code == 0 and "the data lack 1 of the inputs the model learnt from (the contact graph, " \
                                      "--edges)" in without.stderr
    # a graph that names some of the numbers nowhere (ids written otherwise in the two files look just like that)
    pd.DataFrame({"a": numbers[:-11], "b": numbers[1:-10]}).to_csv(tmp_path / "short.csv", index=False)
    partial = runner.invoke(app, [*score, "--edges", str(tmp_path / "short.csv"), "--lang", "en"])
    assert partial.exit_code == 0 and (f"the contact graph names 10 of the {n} numbers nowhere (such as "
                                       f"{numbers[-10]}): they are scored as having no contacts") in partial.stderr
    assert len(pd.read_csv(tmp_path / "pred.csv")) == n


def test_the_files_aegis_writes_are_files_its_detectors_read(tmp_path: Path) -> None:
    """SMS and URL visits as `aegis simulate` writes them (Parquet) and SMS events one JSON a line score as a CSV."""
    sms = pd.DataFrame({"event_id": ["s1", "s2"], "sender": ["10690000", "13800000000"], "text": [
        "您的账户涉嫌洗钱，请立即将资金转入安全账户配合调查", "妈，我晚上回家吃饭"]})
    sms.to_parquet(tmp_path / "sms.parquet")
    (tmp_path / "sms.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                for r in sms.to_dict("records")), encoding="utf-8")
    sms[["text"]].to_csv(tmp_path / "sms.csv", index=False)
    scored = {}
    for name in ("sms.csv", "sms.parquet", "sms.jsonl"):
        done = runner.invoke(app, ["predict", "text", "--data", str(tmp_path / name), "--out", str(tmp_path / "p.csv")])
        assert done.exit_code == 0, done.output
        scored[name] = pd.read_csv(tmp_path / "p.csv")
    pd.testing.assert_frame_equal(scored["sms.parquet"], scored["sms.csv"])
    pd.testing.assert_frame_equal(scored["sms.jsonl"], scored["sms.csv"])
    assert scored["sms.csv"]["score"].iloc[0] > 0.5 > scored["sms.csv"]["score"].iloc[1]
    labelled = sms.assign(label=["impersonate_police", "normal"])
    (tmp_path / "labelled.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                                     for r in labelled.to_dict("records")), encoding="utf-8")
    evaluated = runner.invoke(app, ["evaluate", "text", "--data", str(tmp_path / "labelled.jsonl"), "--json"])
    assert evaluated.exit_code == 0 and json.loads(evaluated.stdout)["rows"] == 2
    visits = pd.DataFrame({"person_id": ["P1", "P2", "P3"], "url": ["https://www.icbc.com.cn/", None, "http://x.cn"]})
    visits.to_parquet(tmp_path / "visits.parquet")
    done = runner.invoke(app, ["predict", "url", "--data", str(tmp_path / "visits.parquet"),
                               "--out", str(tmp_path / "u.csv")])
    assert done.exit_code == 0, done.output
    assert len(pd.read_csv(tmp_path / "u.csv")) == 3
    (tmp_path / "bad.parquet").write_text("text\nnot parquet\n")
    bad = runner.invoke(app, ["predict", "text", "--data", str(tmp_path / "bad.parquet"),
                              "--out", str(tmp_path / "b.csv")])
    assert bad.exit_code != 0 and "bad.parquet：无法作为Parquet读取" in bad.output


def test_evaluate_names_its_figures_in_chinese_or_in_english_and_its_json_keeps_the_keys(tmp_path: Path) -> None:
    train, test = _text_files(tmp_path)
    assert runner.invoke(app, ["train", "text", "--data", str(train), "--out", str(tmp_path / "m"),
                               "--folds", "0"]).exit_code == 0
    evaluate = ["evaluate", "text", "--model", str(tmp_path / "m"), "--data", str(test)]
    chinese = runner.invoke(app, evaluate)
    assert chinese.exit_code == 0, chinese.output
    for name in ("指标", "数值", "涉诈精确率", "涉诈召回率", "涉诈F1", "准确率", "行数", "训练中见过的行",
                 "各标签F1：正常"):
        assert name in chinese.stdout, name
    assert "fraud_precision" not in chinese.stdout and "metric" not in chinese.stdout
    english = runner.invoke(app, [*evaluate, "--lang", "en"])
    assert english.exit_code == 0, english.output
    # the labels as the data write them: the normal class is the data's 正常, in English too
    for name in ("metric", "value", "fraud precision", "fraud recall", "rows seen in training", "F1 by label: 正常"):
        assert name in english.stdout, name
    assert "涉诈" not in english.stdout
    keys = json.loads(runner.invoke(app, [*evaluate, "--json", "--lang", "en"]).stdout)
    assert {"kind", "rows", "rows_seen_in_training", "fraud_precision", "fraud_f1", "f1_by_label"} <= set(keys)


def test_a_workflows_nested_figures_are_named_and_unknown_keys_shown_as_written(capsys: pytest.CaptureFixture[str]
                                                                                 ) -> None:
    from aegis.cli.figures import cell, figure_name, print_figures

    assert figure_name("overall.lead_time_h_median", "zh") == "总体：提前量中位数（小时）"
    assert figure_name("overall.lead_time_h_median", "en") == "overall: median lead time (h)"
    assert figure_name("by_level.urgent.queues.city", "zh") == "各级预警：紧急：队列：市反诈中心"
    assert figure_name("queues.district", "en") == "queue: district bureau"
    assert figure_name("overall.no_such_figure", "zh") == "overall.no_such_figure"
    assert figure_name("something_new", "en") == "something_new"
    assert (cell("rows", 12345), cell("total_loss", 1170000.5), cell("fraud_f1", 0.9), cell("seed", 2026),
            cell("x", None)) == ("12,345", "1,170,000.50", "0.9000", "2026", "—")
    figures = {"people": 20000, "overall": {"victims": 72, "lead_time_h_median": 27.35, "brand_new": 1},
               "by_level": {"urgent": {"warnings": 47, "queues": {"city": 47}},
                            "high": {"warnings": 29, "queues": {"district": 29}}},
               "by_delay": [{"scenario": "5 min", "freezable_share": 0.74}, {"scenario": "report", "precision": 1.0}]}
    print_figures(figures, "zh")
    shown = capsys.readouterr().out
    for said in ("居民人数", "20,000", "总体：受害人数", "总体：提前量中位数（小时）", "27.3500", "overall.brand_new",
                 "各级预警", "紧急", "末笔损失后5分钟", "报案时", "尚可冻结占比"):
        assert said in shown, said
    print_figures(figures, "en")
    shown = capsys.readouterr().out
    for said in ("residents", "overall: median lead time (h)", "by level", "urgent", "5 min after the last loss",
                 "at the report"):
        assert said in shown, said


def test_one_fraud_label_the_model_knows_is_compared_as_a_type_not_collapsed(tmp_path: Path) -> None:
    """Only a label the model never predicts ("fraud") reads as fraud against normal: a known type that is
    wrong must show as wrong."""
    rows = pd.DataFrame({"text": ["您好，我是京东金融客服，您的百万保障即将扣费，需关闭请下载会议软件共享屏幕",
                                  "明天上午开会，记得带电脑"], "label": ["impersonate_police", "normal"]})
    rows.to_csv(tmp_path / "typed.csv", index=False)
    done = runner.invoke(app, ["evaluate", "text", "--data", str(tmp_path / "typed.csv"), "--json"])
    assert done.exit_code == 0, done.output
    figures = json.loads(done.stdout)
    assert figures["fraud_f1"] == 1.0 and figures["accuracy"] == 0.5


def _sichuan_csv(rows: int = 3) -> str:
    from aegis.datasets import sichuan

    columns = ["node", "phone_no_m", *sichuan.COLUMN_MAP, *sichuan.SICHUAN_ONLY, "label"]
    lines = [",".join(columns)]
    lines += [",".join([str(10 + i), f"hash{i}", *(str(i + j) for j in range(len(columns) - 3)), str(i % 2)])
              for i in range(rows)]
    return "\n".join(lines) + "\n"


TRAILING_COMMA_FILES = {  # kind, the file with a comma after each data row, the other files of its inputs
    "text": ("text", "text,label\n请转入安全账户,冒充公检法\n妈我到家了,正常\n", {}),
    "url": ("url", "url,label\nhttp://paypal-login.verify-account.tk/x,phishing\nhttp://google.com,legitimate\n",
            {}),
    "number profile": ("number", "number,n_calls,label\n138001,5,1\n138002,7,0\n", {}),
    "number sichuan": ("number", _sichuan_csv(), {}),
    "number edges": ("number", "node_a,node_b\n10,11\n11,12\n", {"data": _sichuan_csv()}),
    "accounts": ("account", "nodeid,isFraud\n0,0\n1,1\n", {"transfers": "sourceNodeId,targetNodeId,value,time\n"
                                                                       "0,1,5.0,1\n"}),
    "transfers": ("account", "sourceNodeId,targetNodeId,value,time\n0,1,5.0,1\n1,0,3.0,2\n",
                  {"accounts": "nodeid,isFraud\n0,0\n1,1\n"}),
}


@pytest.mark.parametrize("case", list(TRAILING_COMMA_FILES))
def test_rows_with_more_fields_than_the_header_are_refused_naming_the_line(tmp_path: Path, case: str) -> None:
    """A comma after every data row made pandas read the first field as an index and every column shifted one
    to the left (labels scored as URLs, a phone hash read as the node), exit 0; only a later row's extra field
    was refused."""
    from aegis.training.task import DataError, Inputs, get_task

    kind, content, others = TRAILING_COMMA_FILES[case]
    header, *rows = content.splitlines()
    (tmp_path / "bad.csv").write_text("\n".join([header, *(row + "," for row in rows)]) + "\n", encoding="utf-8")
    files = {role: tmp_path / f"{role}.csv" for role in others}
    for role, text in others.items():
        files[role].write_text(text, encoding="utf-8")
    role = {"number edges": "edges", "accounts": "accounts", "transfers": "transfers"}.get(case, "data")
    files[role] = tmp_path / "bad.csv"
    inputs = Inputs(data=(files["data"],) if "data" in files else (), edges=files.get("edges"),
                    accounts=(files["accounts"],) if "accounts" in files else (),
                    transfers=(files["transfers"],) if "transfers" in files else ())
    fields = len(header.split(","))
    for labelled in (False, True):
        with pytest.raises(DataError, match=rf"bad\.csv: cannot be read as CSV \(.*Expected {fields} fields in line 2, "
                                            rf"saw {fields + 1}\)$"):
            get_task(kind).load(inputs, labelled=labelled)


def test_an_empty_line_is_no_row_to_train_predict_or_evaluate_but_a_quoted_empty_cell_is(tmp_path: Path) -> None:
    """PRED.csv keeps to the rows pandas.read_csv and csv.DictReader read, which an evaluator aligns it with: an
    empty line between records made one prediction more and shifted every one after."""
    import csv

    train, _ = _text_files(tmp_path)
    lines = train.read_text(encoding="utf-8").splitlines()
    train.write_text("\n".join([*lines[:5], "", *lines[5:], ""]) + "\n", encoding="utf-8")
    trained = runner.invoke(app, ["train", "text", "--data", str(train), "--out", str(tmp_path / "m"), "--folds", "0"])
    assert trained.exit_code == 0, trained.output
    evaluated = runner.invoke(app, ["evaluate", "text", "--model", str(tmp_path / "m"), "--data", str(train),
                                    "--json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["rows"] == len(pd.read_csv(train)) == 120
    for kind, content in (("text", 'text\n我是公安局的，请把钱转入安全账户\n\n""\n\n明天开会\n'),
                          ("url", 'url\nhttp://icbc-verify.top/login.php\n\n""\n\r\nhttps://www.12306.cn/\n')):
        (tmp_path / "in.csv").write_text(content, encoding="utf-8")
        with (tmp_path / "in.csv").open(encoding="utf-8", newline="") as handle:
            records = list(csv.DictReader(handle))
        model = ["--model", str(tmp_path / "m")] if kind == "text" else []
        predicted = runner.invoke(app, ["predict", kind, *model, "--data", str(tmp_path / "in.csv"), "--out",
                                        str(tmp_path / "pred.csv")])
        assert predicted.exit_code == 0, predicted.output
        pred = pd.read_csv(tmp_path / "pred.csv")
        assert len(pred) == len(records) == len(pd.read_csv(tmp_path / "in.csv")) == 3
        assert pred["score"].iloc[0] > 0.5 > pred["score"].iloc[2]  # each record's own prediction, in its place
