"""Evidence fusion: what a number texted joins how it calls, in its verdict and in the stored risk profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine

from aegis.decisions.evidence import SentContent, sent_content, with_links, with_sent_content
from aegis.decisions.policy import SenderContent, default_policy
from aegis.detectors.base import Verdict
from aegis.events.models import Call, Sms
from aegis.reasons import Reason, loaded
from aegis.store import EventRepository, RiskProfileRepository
from aegis.usecases.actor import SYSTEM
from aegis.usecases.profiles import refresh_profiles

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
RULE = SenderContent(min_text_score=0.8, min_receivers=2)


def test_sent_content_counts_fraud_texts_over_the_policys_score_and_their_receivers() -> None:
    content = sent_content(
        ["a", "a", "a", "a", "b"],
        ["r1", "r2", "r2", "r3", "r1"],
        np.array([0.9, 0.85, 0.95, 0.7, 0.99]),
        np.array(["fake_loan", "fake_loan", "impersonate_police", "fake_loan", "0"], dtype=object),
        rule=RULE,
    )
    # a's fourth SMS is fraud to the detector but under the policy's 0.8; b's says normal whatever its score
    assert content == {
        "a": SentContent(sent=4, fraud=3, receivers=2, top_score=0.95, fraud_type="fake_loan"),
        "b": SentContent(sent=1, fraud=0, receivers=0, top_score=0.0, fraud_type=None),
    }


def test_a_number_that_texted_fraud_to_enough_numbers_is_a_fraud_number_with_the_texts_type() -> None:
    quiet = Verdict(0.05, "0", (Reason("境外号码"),))
    joined = with_sent_content(quiet, SentContent(4, 3, 2, 0.9, "fake_loan"), RULE)
    assert joined.label == "1" and joined.fraud_type == "fake_loan"
    assert joined.score == pytest.approx(0.9)  # 0.05 is too weak to add anything, or to name
    assert [str(r) for r in joined.reasons] == ["向2个号码发送诈骗短信3条（共发4条）"]
    assert joined.reasons[0].text("en") == "sent 3 fraud SMS to 2 numbers (of 4 sent)"
    # one receiver (a scam forwarded to a friend), nothing fraudulent, nothing sent: the verdict stands
    assert with_sent_content(quiet, SentContent(3, 3, 1, 0.99, "fake_loan"), RULE) is quiet
    assert with_sent_content(quiet, SentContent(9, 0, 0, 0.0, None), RULE) is quiet
    assert with_sent_content(quiet, None, RULE) is quiet


def test_the_refresh_flags_a_number_by_what_it_texted_under_the_policy(sqlite_engine: Engine) -> None:
    scam = "【公安局】您涉嫌洗钱案件，请立即将资金转入安全账户配合调查，否则将冻结您名下全部账户"
    calls = [Call(caller="13800000001", callee=f"1390000{i:04d}", start=T0 + timedelta(minutes=i), duration_s=60)
             for i in range(5)]
    texts = [Sms(sender="17012345678", receiver=f"1380000000{i}", time=T0, text=scam) for i in (1, 2)]
    texts += [Sms(sender="17099990000", receiver="13800000001", time=T0, text=scam),  # one receiver only
              Sms(sender="13800000001", receiver="13900000001", time=T0, text="妈，我今晚加班不回家吃饭了")]
    with sqlite_engine.begin() as connection:
        EventRepository(sqlite_engine).add_many("call", [c.model_dump() for c in calls], connection)
        EventRepository(sqlite_engine).add_many("sms", [s.model_dump() for s in texts], connection)
    refresh_profiles(sqlite_engine, SYSTEM)
    profiles = RiskProfileRepository(sqlite_engine).get_many("number", ["17012345678", "17099990000", "13800000001"])
    scammer, forwarder, mother = profiles["17012345678"], profiles["17099990000"], profiles["13800000001"]
    assert default_policy().sender_content.min_receivers == 2
    assert scammer["label"] == "1" and scammer["fraud_type"] == "impersonate_police" and scammer["score"] > 0.9
    assert str(loaded(scammer["reasons"])[0]) == "向2个号码发送诈骗短信2条（共发2条）"
    assert scammer["features"]["n_sms_fraud"] == 2
    assert forwarder["features"]["n_sms_fraud"] == 1 and forwarder["label"] == "0"
    assert mother["label"] == "0" and mother["features"]["n_sms_fraud"] == 0


def test_a_message_reads_as_its_text_and_its_riskiest_link() -> None:
    phishing = Verdict(0.95, "phishing", (Reason("高风险顶级域名 .top"),))
    typed, legitimate = Verdict(0.9, "phishing", (), "fake_loan"), Verdict(0.01, "legitimate")
    labels = np.array(["normal", "impersonate_police", "normal", "fake_loan", "normal"], dtype=object)
    scores, labels = with_links(np.array([0.1, 0.7, 0.1, 0.6, 0.3]), labels,
                                [phishing, phishing, typed, None, legitimate])
    # a bland text with a phishing link is the link's; fraud in both adds up; no link or a genuine one: the text's
    assert scores.tolist() == pytest.approx([0.95, 1 - 0.3 * 0.05, 0.9, 0.6, 0.3])
    assert labels.tolist() == ["other", "impersonate_police", "fake_loan", "fake_loan", "normal"]


def test_the_refresh_reads_the_links_a_number_texted_with_the_url_detector(sqlite_engine: Engine) -> None:
    """The text model reads a link as a mark, not its letters: a bland line with a bank look-alike link is a
    fraud SMS by its link, and the same line with a genuine link is not."""
    phishing, genuine = "你看看这个 http://icbc-vip.top/verify", "你看看这个 https://www.zhihu.com/question/123"
    texts = [Sms(sender=sender, receiver=f"1380000000{i}", time=T0, text=text)
             for sender, text in (("17012345678", phishing), ("17087654321", genuine)) for i in (1, 2)]
    with sqlite_engine.begin() as connection:
        EventRepository(sqlite_engine).add_many("sms", [s.model_dump() for s in texts], connection)
    refresh_profiles(sqlite_engine, SYSTEM)
    profiles = RiskProfileRepository(sqlite_engine).get_many("number", ["17012345678", "17087654321"])
    assert profiles["17012345678"]["label"] == "1" and profiles["17012345678"]["features"]["n_sms_fraud"] == 2
    assert profiles["17087654321"]["label"] == "0" and profiles["17087654321"]["features"]["n_sms_fraud"] == 0


def test_a_policy_with_an_impossible_rule_is_refused_by_field(tmp_path) -> None:
    from aegis.decisions.policy import PolicyError, load_policy

    path = tmp_path / "p.yaml"
    every = "{" + ", ".join(f"{c}: {{block: 0.9, warn: 0.5}}" for c in ("sms", "call", "url", "transfer")) + "}"
    path.write_text(f'version: "x"\nchannels: {every}\nsender_content: {{min_text_score: 0.9, min_receivers: 0}}\n')
    with pytest.raises(PolicyError, match=r"p\.yaml: sender_content\.min_receivers: Input should be"):
        load_policy(path)
    # every channel needs its thresholds, and a channel Aegis does not decide on is a typo
    path.write_text('version: "x"\nchannels: {sms: {block: 0.9, warn: 0.5}, cal: {block: 0.9, warn: 0.5}}\n')
    with pytest.raises(PolicyError, match=r"p\.yaml: channels: no thresholds for call, transfer, url; unknown "
                                          r"channel cal \(the channels are sms, call, url, transfer\)$"):
        load_policy(path)
    # a file that is no YAML is named with the parser's complaint and where it is, in one line
    path.write_text('version: "x"\nchannels: [sms\nwarn: 1\n')
    with pytest.raises(PolicyError) as refused:
        load_policy(path)
    assert "\n" not in str(refused.value) and str(refused.value).startswith("p.yaml: not valid YAML (expected ")
    assert str(refused.value).endswith("at line 3, column 5)")
