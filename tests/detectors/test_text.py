"""The fraud-text detector and its task: formats, labels, errors, reasons, prefixes, the default model."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from aegis.detectors.text import LINK_MARK, TURN_SEP, TextDetector, first_turns, join_turns, mask_links
from aegis.training.modelstore import default_model_dir, load_model
from aegis.training.task import DataError, Inputs
from aegis.training.text import TASK

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "text"

FRAUD = [
    "您的账户涉嫌洗钱，请立即把资金转入安全账户配合调查",
    "我是公安局的警官，你的银行卡涉嫌犯罪，需要把钱转到安全账户核查",
    "公安局通知：你名下账户涉嫌洗钱，资金必须转入安全账户",
    "兼职刷单，日结佣金，垫付后返还本金，加微信了解",
    "刷单返利，一单佣金二十元，先垫付再返还本金",
    "招聘刷单员，垫付本金返佣金，当天结算",
]
NORMAL = ["妈，我今晚回家吃饭", "快递已经放在小区门口了", "明天上午开会，记得带电脑",
          "周末一起去爬山吧", "晚上一起吃火锅吗", "孩子的作业写完了吗"]
LABELS = ["冒充公检法"] * 3 + ["刷单返利"] * 3


@pytest.fixture(scope="module")
def small() -> TextDetector:
    return TextDetector(min_df=1).fit(FRAUD + NORMAL, LABELS + ["0"] * len(NORMAL))


def test_a_text_too_short_to_carry_a_scam_reads_as_empty() -> None:
    shipped = load_model(None, "text").detector
    empty = shipped.score([""])[0]
    # a lone letter or digit once scored 0.64 / 0.79 (fraud): the TF-IDF norm gave its one n-gram all the weight
    assert list(shipped.score(["x", "1", " a ", "好"])) == [empty] * 4
    assert shipped.score(["回复1退订"])[0] != empty  # four visible characters are read


def test_a_fraud_verdict_always_says_why(small: TextDetector) -> None:
    anything_is_fraud = copy.copy(small)
    anything_is_fraud.threshold = 0.0
    verdict = anything_is_fraud.predict(["ΩΩΩΩΩ"])[0]  # no n-gram the model knows: no phrase to name
    assert verdict.label != "0" and verdict.reasons
    assert verdict.reasons[-1].text("en").startswith("the wording as a whole is close to fraud scripts")


def test_normal_label_is_predicted_back_as_written(small: TextDetector) -> None:
    labels = small.predict_labels(["请马上把钱转入安全账户", "今晚回家吃饭"])
    assert list(labels) == ["冒充公检法", "0"]
    verdicts = small.predict(["今晚回家吃饭"])
    assert verdicts[0].label == "0" and verdicts[0].fraud_type is None


@pytest.mark.parametrize("spelling", ["0", "normal", "正常"])
def test_every_normal_spelling_is_normal(spelling: str) -> None:
    det = TextDetector(min_df=1).fit(FRAUD + NORMAL, LABELS + [spelling] * len(NORMAL))
    assert det.normal_label_ == spelling
    assert det.score(["请马上把钱转入安全账户"])[0] > 0.5 > det.score(["今晚回家吃饭"])[0]


def test_probabilities_sum_to_one_and_score_is_their_fraud_mass(small: TextDetector) -> None:
    texts = ["请马上把钱转入安全账户", "今晚回家吃饭", "刷单返利垫付本金"]
    proba = small.predict_proba(texts)
    assert proba.shape == (3, len(small.classes_)) and np.allclose(proba.sum(axis=1), 1)
    assert np.allclose(small.score(texts), 1 - proba[:, small.normal_index_], atol=1e-6)
    assert list(small.predict_labels(texts)) == ["冒充公检法", "0", "刷单返利"]


@pytest.mark.parametrize("classifier", ["svm", "logistic"])
def test_two_classes_give_probabilities_too(classifier: str) -> None:
    det = TextDetector(min_df=1, classifier=classifier).fit(  # type: ignore[arg-type]
        FRAUD + NORMAL, ["fraud"] * len(FRAUD) + ["normal"] * len(NORMAL))
    scores = det.score(["请马上把钱转入安全账户", "今晚回家吃饭"])
    assert 1 > scores[0] > 0.5 > scores[1] > 0


def test_unknown_classifier_is_refused() -> None:
    with pytest.raises(ValueError, match="classifier: 'tree'"):
        TextDetector(min_df=1, classifier="tree").fit(FRAUD + NORMAL, LABELS + ["0"] * len(NORMAL))  # type: ignore[arg-type]


def test_training_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="normal and fraud"):
        TextDetector(min_df=1).fit(FRAUD, LABELS)


def test_reasons_quote_phrases_of_the_text(small: TextDetector) -> None:
    text = "紧急通知：你的账户涉嫌洗钱，马上转入安全账户，联系13812345678"
    verdict = small.predict([text])[0]
    assert verdict.label == "冒充公检法" and verdict.fraud_type == "冒充公检法"
    texts = [str(r) for r in verdict.reasons]
    phrases = [r[2:-1] for r in texts if r.startswith("含'")]
    assert phrases and all(p in text for p in phrases)
    assert any("安全" in p or "洗钱" in p for p in phrases)
    assert "含电话号码" in texts


def test_score_is_in_input_order_and_picklable(small: TextDetector) -> None:
    texts = ["今晚回家吃饭", "把资金转入安全账户", ""]
    scores = small.score(texts)
    assert scores.shape == (3,) and scores[1] > scores[0]
    assert np.allclose(pickle.loads(pickle.dumps(small)).score(texts), scores)


def test_the_fast_vectoriser_counts_every_n_gram_where_it_occurs(small: TextDetector) -> None:
    """``transform`` lays n-grams out by position; built from each occurrence's coordinates instead, the same
    matrix comes out, empty and one-character texts (shorter than most n-grams) included."""
    import scipy.sparse as sp

    vectoriser = small.vectorizer_
    texts = ["", *FRAUD, "", "妈", "Ｑ Q号12345，转账转账转账", *NORMAL, ""]
    cols, docs, _, _ = vectoriser.occurrences(texts)
    counts = sp.csr_matrix((np.ones(len(cols)), (docs, cols)), shape=(len(texts), vectoriser.n_features))
    expected = counts.copy()
    expected.data = (1 + np.log(expected.data)) * vectoriser.idf_[expected.indices]
    norms = np.sqrt(np.asarray(expected.multiply(expected).sum(axis=1)).ravel())
    expected = sp.diags(1 / np.where(norms == 0, 1, norms)) @ expected
    got = vectoriser.transform(texts)
    assert got.shape == expected.shape and got.nnz == expected.nnz > 0
    assert np.allclose(got.toarray(), expected.toarray(), atol=1e-6)
    assert got[0].nnz == 0 and got[len(FRAUD) + 1].nnz == 0 and got[len(FRAUD) + 2].nnz == 1


def test_reasons_spread_each_n_grams_push_over_its_characters() -> None:
    """The reasons' attribution, vectorised in the detector, against the plain loop it replaces: every
    occurrence of an n-gram adds its column's push, shared among the occurrences, to each of its characters."""
    from collections import Counter

    from aegis.detectors.text import _tokenize

    detector = load_model(None, "text").detector
    vectoriser = detector.vectorizer_
    texts = ["您的账户涉嫌洗钱，请立即把资金转入安全账户，安全账户由公安局监管",
             "兼职刷单，日结佣金，垫付后返还本金，加微信kf1234了解",
             "妈，我手机掉水里了，这是我新号码，急用钱，转我两千"]
    for text in texts:
        fraud_type = str(detector.predict([text])[0].fraud_type)
        c = int(np.flatnonzero(detector.classes_ == fraud_type)[0])
        weight = detector.coef_[:, c] - detector.coef_[:, detector.normal_index_]
        x = vectoriser.transform([text])
        push = dict(zip(x.indices.tolist(), (x.data * weight[x.indices]).tolist(), strict=True))
        cols, _, starts, sizes = vectoriser.occurrences([text])
        count = Counter(cols.tolist())
        per_char = np.zeros(len(text))
        for col, start, n in zip(cols.tolist(), starts.tolist(), sizes.tolist(), strict=True):
            per_char[start:start + n] += push[col] / count[col] / n
        top = per_char.max()
        spans: list[tuple[float, int, int]] = []
        for word, start, end in _tokenize(text):
            pushed = per_char[start:end].sum()
            if pushed <= 0.15 * top or not any(ch.isalnum() for ch in word):
                continue
            if spans and spans[-1][2] == start:
                spans[-1] = (spans[-1][0] + pushed, spans[-1][1], end)
            else:
                spans.append((pushed, start, end))
        best = sorted((sp for sp in spans if sp[2] - sp[1] >= 2), reverse=True)[: detector.max_reasons]
        expected = [f"含'{text[a:b].strip()[:16]}'" for _, a, b in best]
        assert [str(r) for r in detector.phrases(text, fraud_type)] == expected and expected


def test_first_turns_view() -> None:
    call = join_turns(["您好，我是客服", "您的订单有问题", "请把验证码告诉我"])
    assert call.count(TURN_SEP) == 2
    assert first_turns(call, 1) == "您好，我是客服"
    assert first_turns(call, 2) == "您好，我是客服" + TURN_SEP + "您的订单有问题"
    assert first_turns("一条短信", 3) == "一条短信"


def test_prefixes_of_calls_are_learnt() -> None:
    calls = [join_turns(["您好，这里是公安局", "你的账户涉嫌洗钱", "请转入安全账户"]),
             join_turns(["您好，这里是公安局刑侦队", "你涉嫌一起案件", "钱要转去核查"])]
    normal = [join_turns(["您好，外卖到了", "放门口可以吗"]), join_turns(["您好，出租车到了", "在路口等您"])]
    det = TextDetector(min_df=1, prefix_turns=(1,)).fit(calls + normal, ["police"] * 2 + ["normal"] * 2)
    early = det.score([first_turns(calls[0], 1), first_turns(normal[0], 1)])
    assert early[0] > 0.5 > early[1]


def test_load_csv_and_dialogue_jsonl(tmp_path: Path) -> None:
    csv = tmp_path / "m.csv"
    csv.write_text("text,label\n今晚回家吃饭,0\n转入安全账户,冒充公检法\n", encoding="utf-8")
    jsonl = tmp_path / "d.jsonl"
    rows = [{"left": ["您好", "请转账"], "right": ["嗯"], "is_fraud": True, "fraud_type": "银行诈骗"},
            {"left": ["外卖到了"], "right": [], "is_fraud": False, "fraud_type": "外卖服务"}]
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    ds = TASK.load(Inputs(data=[csv, jsonl]), labelled=True)
    assert ds.n == 4 and ds.X[2] == "您好" + TURN_SEP + "请转账"
    assert list(ds.y) == ["0", "冒充公检法", "银行诈骗", "normal"]
    assert TASK.load(Inputs(data=[csv]), labelled=False).y is None
    # a BOM before the first line, as Windows editors write, is not read as part of the JSON
    jsonl.write_bytes(b"\xef\xbb\xbf" + jsonl.read_bytes())
    assert ds.X[2:] == TASK.load(Inputs(data=[jsonl]), labelled=True).X


def test_an_empty_line_is_no_row_as_csv_readers_read_it_but_a_quoted_empty_text_is_one(tmp_path: Path) -> None:
    import csv as csv_module

    import pandas as pd

    csv = tmp_path / "m.csv"
    csv.write_text('text\n你好\n\n""\n转入安全账户\n\n\n', encoding="utf-8")
    assert TASK.load(Inputs(data=[csv]), labelled=False).X == ["你好", "", "转入安全账户"]
    with csv.open(encoding="utf-8", newline="") as handle:  # the rows an evaluator reads, one prediction each
        assert len(list(csv_module.DictReader(handle))) == len(pd.read_csv(csv)) == 3
    labelled = tmp_path / "l.csv"
    labelled.write_text("text,label\r\n你好,normal\r\n\r\n转入安全账户,冒充公检法\r\n", encoding="utf-8")
    assert TASK.load(Inputs(data=[labelled]), labelled=True).y.tolist() == ["normal", "冒充公检法"]
    labelled.write_text('text,label\n你好,normal\n"",\n转入安全账户,冒充公检法\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"l\.csv: column 'label' is empty on data row 2"):
        TASK.load(Inputs(data=[labelled]), labelled=True)


def test_missing_text_column_names_column_and_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("message,label\nhi,0\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.csv.*'text'"):
        TASK.load(Inputs(data=[bad]), labelled=False)
    unlabelled = tmp_path / "u.csv"
    unlabelled.write_text("text\nhi\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"u\.csv.*'label'"):
        TASK.load(Inputs(data=[unlabelled]), labelled=True)


def test_bad_dialogue_lines_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "d.jsonl"
    bad.write_text('{"left": ["hi"], "is_fraud": false}\nnot json\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"d\.jsonl: line 2"):
        TASK.load(Inputs(data=[bad]), labelled=True)
    bad.write_text('{"left": "hi", "is_fraud": false}\n', encoding="utf-8")
    with pytest.raises(DataError, match="'left'"):
        TASK.load(Inputs(data=[bad]), labelled=False)


def test_metrics_count_any_non_normal_label_as_fraud(small: TextDetector) -> None:
    verdicts = small.predict(["把资金转入安全账户", "今晚回家吃饭"])
    m = TASK.metrics(np.array(["某诈骗类型", "normal"], dtype=object), verdicts)
    assert m["fraud_f1"] == 1.0 and m["fraud_auc"] == 1.0


@pytest.mark.skipif(not (default_model_dir("text") / "model.joblib").is_file(), reason="no default model")
def test_default_model_flags_fraud_and_passes_normal() -> None:
    model = load_model(None, "text")
    fraud, normal = model.detector.predict([
        "【社保局】您的社保卡已暂停使用，需重新认证，请点击http://sbk-cx.top/a1 办理，逾期作废",
        "妈，我明天下午到家，晚上想吃你做的红烧肉",
    ])
    assert fraud.score > 0.5 and fraud.label == "benefits_phishing" and fraud.reasons
    assert normal.score < 0.5 and normal.label == "normal"
    assert "telecom-fraud-texts-5" not in model.card["data"]["sources"]


@pytest.mark.skipif(not (default_model_dir("text") / "model.joblib").is_file(), reason="no default model")
def test_default_model_passes_greetings_it_never_saw_but_not_a_scam_that_opens_with_one() -> None:
    # none of these greetings is in the corpus as written (a bare "您好" is, since the model took it for a
    # customer-service scam at 0.64); each must be plainly normal, well under the SMS warn score of 0.5
    greetings = ["您好呀", "你好啊", "喂，您好，请问哪位", "您好，请问您找谁"]
    verdicts = load_model(None, "text").detector.predict([*greetings, "您好，我是京东客服，您的订单出现异常需要退款"])
    assert [v.label for v in verdicts[:-1]] == ["normal"] * len(greetings)
    assert max(v.score for v in verdicts[:-1]) < 0.25
    assert verdicts[-1].label == "impersonate_customer_service"


@pytest.mark.skipif(not (SHARED / "telecom-fraud-texts-5" / "train.csv").is_file(), reason="shared/ absent")
def test_cross_validation_on_a_slice_of_telecom_fraud_texts() -> None:
    ds = TASK.load(Inputs(data=[SHARED / "telecom-fraud-texts-5" / "train.csv"]), labelled=True)
    rng = np.random.default_rng(0)
    keep = np.sort(rng.choice(ds.n, 1000, replace=False))
    ds.X, ds.y, ds.n = [ds.X[i] for i in keep], ds.y[keep], len(keep)
    result = TASK.cross_validate(ds, folds=3)
    assert result["macro_f1"] > 0.85 and result["fraud_f1"] > 0.95


def test_the_readme_cross_validation_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from aegis.training.text import main

    rows = [(text + f"，编号{i}", label) for i in range(6) for text, label in zip(FRAUD, LABELS, strict=True)]
    rows += [(text + f"，第{i}次", "正常") for i in range(6) for text in NORMAL]
    with (tmp_path / "t.csv").open("w", encoding="utf-8") as f:
        f.write("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows))
    main(["--data", str(tmp_path / "t.csv"), "--seeds", "0", "1"])
    printed = capsys.readouterr().out
    assert "fold seed 0: macro_f1" in printed and "fold seed 1: macro_f1" in printed
    figures = json.loads(printed[printed.index("{"):])
    assert figures["seeds"] == [0, 1] and figures["macro_f1"] >= 0.9 and "f1_by_label" not in figures
    (tmp_path / "bad.csv").write_text("text\n你好\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exit_info:
        main(["--data", str(tmp_path / "bad.csv")])
    assert exit_info.value.code == 2 and "label" in capsys.readouterr().err


def test_a_link_is_named_as_one_and_its_pieces_are_no_phrases() -> None:
    """Where links mark the fraud texts, the link pushes hardest: quoted in pieces, it would explain nothing."""
    fraud = [f"您的账户异常，请登录 https://bank-{i}.top/verify 验证，否则冻结" for i in range(20)]
    normal = [f"明天{i}点开会，记得带材料" for i in range(20)]
    detector = TextDetector(min_df=1).fit(fraud + normal, ["phishing"] * 20 + ["0"] * 20)
    text = "尊敬的客户，请立即登录 https://secure-pay.top/login 完成认证"
    verdict = detector.predict([text])[0]
    assert verdict.label == "phishing"
    texts = [str(r) for r in verdict.reasons]
    link = text.index("https"), text.index(" 完成")
    quoted = [r[2:-1] for r in texts if r.startswith("含'")]
    assert "含链接" in texts and quoted
    assert all(not (link[0] <= text.index(p) < link[1]) for p in quoted), quoted


def test_a_greeting_is_never_quoted_as_a_reason() -> None:
    """Scam scripts open "你好，我是……" and the model weighs the greeting; a reason citing it explains nothing."""
    fraud = [f"你好，我是公安局的，你的账户涉嫌洗钱{i}，请配合调查" for i in range(20)]
    normal = [f"明天{i}点开会，记得带材料" for i in range(20)]
    detector = TextDetector(min_df=1).fit(fraud + normal, ["impersonate_police"] * 20 + ["0"] * 20)
    verdict = detector.predict(["你好 我是公安局的"])[0]
    quoted = [str(r) for r in verdict.reasons]
    assert verdict.label == "impersonate_police" and quoted
    assert not any("你好" in r or r[2:-1] == "我是" for r in quoted), quoted


def test_the_model_reads_that_a_text_has_a_link_not_the_links_letters() -> None:
    """Which domains scams use is the URL detector's to judge: a text model that learnt it from the letters of
    the links it was trained on read a genuine link as fraud, or a scam's link on a new domain as normal."""
    fraud = [f"您的账户异常，请登录 https://bank-{i}.top/verify 验证" for i in range(10)]
    normal = [f"会议资料在这里 https://docs.example{i}.com/d/{i}，记得看" for i in range(10)]
    detector = TextDetector(min_df=1).fit(fraud + normal, ["phishing"] * 10 + ["0"] * 10)
    assert mask_links(["登录 https://bank-1.top/verify 验证", "没有链接"]) == [f"登录 {LINK_MARK} 验证", "没有链接"]
    scores = detector.score(["请登录 https://bank-9.top/verify 验证", "请登录 https://docs.example1.com/d/1 验证",
                             "请登录 www.gov.cn 验证", f"请登录 {LINK_MARK} 验证"])
    assert scores.max() - scores.min() < 1e-6
    assert detector.score(["会议资料在这里 https://bank-3.top/verify，记得看"])[0] < 0.5 < scores[0]


def test_a_long_number_is_read_as_absent_so_it_dilutes_nothing() -> None:
    """An 18-digit ID read digit by digit was a run of zero n-grams that outweighed the words around it: the
    police script quoting an ID, a phone and a card number passed (0.47) where the same words alone warned. A run
    of seven digits or more is left out of the n-grams, which read across it; codes and amounts keep their shape."""
    from aegis.detectors.text import NUMBER_MARK, masked

    assert masked(["身份证110101199003071234涉嫌", "验证码123456，金额88.50元"]) == [
        f"身份证{NUMBER_MARK}涉嫌", "验证码123456，金额88.50元"]
    fraud = ["您的身份证涉嫌洗钱，请将资金转入安全账户"] * 5
    normal = [f"您尾号{i}的账户于10月{i}日入账工资8000.00元" for i in range(1, 6)]
    detector = TextDetector(min_df=1).fit(fraud + normal, ["impersonate_police"] * 5 + ["0"] * 5)
    bare, quoted = detector.score(["您的身份证涉嫌洗钱，请将资金转入安全账户",
                                   "您的身份证110101199003071234涉嫌洗钱，请将资金转入安全账户6222020200001234567"])
    assert quoted == pytest.approx(bare)
    reasons = [str(r) for r in detector.predict(["您的身份证110101199003071234涉嫌洗钱"])[0].reasons]
    assert reasons and all(NUMBER_MARK not in r for r in reasons)


@pytest.mark.skipif(not (default_model_dir("text") / "model.joblib").is_file(), reason="no default model")
def test_the_shipped_model_catches_the_police_script_that_quotes_numbers() -> None:
    police = ("【公安局】您的身份证110101199003071234涉嫌洗钱，请立即拨打13912345678，"
              "将资金转入安全账户6222020200001234567配合调查")
    genuine = ["【工商银行】您尾号1234的卡于11月28日支出人民币256.00元，余额3,201.55元",
               "【丰巢】您的快递已存入丰巢柜，取件码12345678，请及时领取",
               "您的验证码为482913，5分钟内有效，请勿泄露"]
    scam, *others = load_model(None, "text").detector.predict([police, *genuine])
    assert scam.label == "impersonate_police" and scam.score > 0.6
    assert max(v.score for v in others) < 0.1


def test_characters_that_only_separate_others_are_dropped_and_positions_kept() -> None:
    from aegis.detectors.text import _codepoints

    texts = ["您 好 ， 我 是", "您.好.，.我.是", "您\u200b好", "中国.北京 abc de", "北京-上海", "QQ 2834"]
    cps, lengths, where = _codepoints(texts)
    read = np.split(cps, np.cumsum(lengths)[:-1])
    assert ["".join(map(chr, r)) for r in read] == ["您好,我是", "您好,我是", "您好", "中国.北京 abc de", "北京-上海",
                                                     "qq 0000"]
    assert where is not None and "".join(texts)[where[1]] == "好"  # positions still point into the text read


@pytest.mark.skipif(not (default_model_dir("text") / "model.joblib").is_file(), reason="no default model")
def test_a_spaced_out_scam_is_read_as_the_scam() -> None:
    detector = load_model(None, "text").detector
    scam = "您名下的银行卡涉嫌一起洗钱案件，请立即添加办案民警QQ配合调查，否则将冻结您名下所有账户。"
    notice = "【中国移动】尊敬的客户，您好！您本月套餐内通用流量已使用80%，详情请登录中国移动APP查询。"
    spaced, dotted = " ".join(scam), ".".join(scam)
    scores = detector.score([scam, spaced, dotted, " ".join(notice)])
    assert min(scores[:3]) >= 0.5 and abs(scores[1] - scores[0]) < 0.05
    assert scores[3] < 0.5
    reasons = detector.predict([spaced])[0].reasons
    assert reasons


CHECKS = Path(__file__).resolve().parents[2] / "docs" / "checks"


def _letterheads() -> list[str]:
    from aegis.training.sms_decisions import read_letterheads

    return read_letterheads(CHECKS / "letterheads.txt")


def test_the_corpus_writes_sms_scams_behind_letterheads_but_none_of_the_checks() -> None:
    import re

    import yaml

    from aegis.training.text_default import build_corpus, corpus_dir

    corpus = build_corpus(fraud_per_type=200, normal_rows=400)
    headed = corpus[corpus["text"].str.startswith("【")]
    shares = (headed["label"].value_counts() / corpus["label"].value_counts()).dropna()
    for label in ("impersonate_customer_service", "fake_loan", "order_brushing", "impersonate_police"):
        assert shares.get(label, 0) > 0.15  # scams carry letterheads too
    for label in ("impersonate_boss", "sextortion", "impersonate_military"):  # chat, not notices
        assert label not in shares
    spec = yaml.safe_load((corpus_dir() / "templates.yaml").read_text(encoding="utf-8"))

    def expanded(head: str) -> set[str]:  # every letterhead a value of the slot can be filled into
        name = re.search(r"\{(\w+)\}", head)
        if name is None:
            return {head}
        return {x for v in spec["slots"][name[1]] for x in expanded(head.replace(name[0], str(v), 1))}

    written = {x for head in spec["slots"][spec["letterheaded"]["slot"]] for x in expanded(head)}
    assert len(written) > 40 and "【中国移动】" in written
    assert not written & set(_letterheads()), "the check's letterheads must stay out of the letterheaded scams"


@pytest.mark.skipif(not (default_model_dir("text") / "model.joblib").is_file(), reason="no default model")
def test_a_letterhead_does_not_pass_a_scam_nor_flag_a_notice() -> None:
    detector = load_model(None, "text").detector
    scam = "您名下的银行卡涉嫌一起洗钱案件，请立即添加办案民警QQ配合调查，否则将冻结您名下所有账户。"
    notice = "您本月套餐内通用流量已使用80%，详情请登录官方APP查询。"
    heads = _letterheads()
    scams = detector.score([head + scam for head in heads])
    notices = detector.score([head + notice for head in heads])
    assert detector.score([scam])[0] >= 0.5
    assert min(scams) >= 0.5, [h for h, s in zip(heads, scams, strict=True) if s < 0.5]
    assert max(notices) < 0.5


@pytest.mark.skipif(not (default_model_dir("text") / "model.joblib").is_file(), reason="no default model")
def test_railway_refund_scams_are_caught_and_genuine_railway_notices_pass() -> None:
    from aegis.training.text import read_csv

    texts, labels = read_csv(CHECKS / "railway_12306.csv", labelled=True)
    assert labels is not None
    scores = load_model(None, "text").detector.score(texts)
    fraud = np.array([y == "fraud" for y in labels])
    assert fraud.sum() == 30 and (~fraud).sum() == 20
    assert (scores[fraud] >= 0.5).sum() > 19  # 19 of 30 before the corpus had railway scams
    notices = ~fraud & np.array([t.startswith("【") for t in texts])  # the railway's own, not chat about tickets
    assert notices.sum() >= 10 and max(scores[notices]) < 0.5
