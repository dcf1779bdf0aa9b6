"""Evidence fusion: what a number texted joins how it calls, in its verdict and in the stored risk profile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import Engine

from aegis.decisions.evidence import SentContent, sent_content, with_sent_content
from aegis.detectors.base import Verdict
from aegis.events.models import Call, Sms
from aegis.reasons import Reason, loaded
from aegis.store import EventRepository, RiskProfileRepository
from aegis.usecases.actor import SYSTEM
from aegis.usecases.profiles import refresh_profiles

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def test_sent_content_counts_each_senders_fraud_texts_and_their_commonest_type() -> None:
    content = sent_content(
        ["a", "a", "a", "b"],
        np.array([0.9, 0.7, 0.1, 0.2]),
        np.array(["fake_loan", "fake_loan", "normal", "0"], dtype=object),
    )
    assert content == {"a": SentContent(sent=3, fraud=2, top_score=0.9, fraud_type="fake_loan"),
                       "b": SentContent(sent=1, fraud=0, top_score=0.0, fraud_type=None)}


def test_a_number_that_texted_fraud_is_a_fraud_number_with_the_texts_type_and_why() -> None:
    quiet = Verdict(0.05, "0", (Reason("境外号码"),))
    joined = with_sent_content(quiet, SentContent(sent=4, fraud=3, top_score=0.9, fraud_type="fake_loan"))
    assert joined.label == "1" and joined.fraud_type == "fake_loan"
    assert joined.score == pytest.approx(1 - 0.95 * 0.1)
    assert [str(r) for r in joined.reasons] == ["发送诈骗短信3条（共发4条）"]  # the 0.05 signal is too weak to name
    assert joined.reasons[0].text("en") == "sent 3 fraud SMS (of 4 sent)"
    # nothing fraudulent sent, or nothing sent at all: the behavioural verdict stands as it is
    assert with_sent_content(quiet, SentContent(sent=9, fraud=0, top_score=0.0, fraud_type=None)) is quiet
    assert with_sent_content(quiet, None) is quiet


def test_the_refresh_flags_a_number_by_what_it_texted(sqlite_engine: Engine) -> None:
    scam = "【公安局】您涉嫌洗钱案件，请立即将资金转入安全账户配合调查，否则将冻结您名下全部账户"
    calls = [Call(caller="13800000001", callee=f"1390000{i:04d}", start=T0 + timedelta(minutes=i), duration_s=60)
             for i in range(5)]
    texts = [Sms(sender="17012345678", receiver="13800000001", time=T0, text=scam),
             Sms(sender="13800000001", receiver="13900000001", time=T0, text="妈，我今晚加班不回家吃饭了")]
    with sqlite_engine.begin() as connection:
        EventRepository(sqlite_engine).add_many("call", [c.model_dump() for c in calls], connection)
        EventRepository(sqlite_engine).add_many("sms", [s.model_dump() for s in texts], connection)
    refresh_profiles(sqlite_engine, SYSTEM)
    profiles = RiskProfileRepository(sqlite_engine).get_many("number", ["17012345678", "13800000001"])
    scammer, mother = profiles["17012345678"], profiles["13800000001"]
    assert scammer["label"] == "1" and scammer["fraud_type"] == "impersonate_police" and scammer["score"] > 0.5
    assert str(loaded(scammer["reasons"])[0]) == "发送诈骗短信1条（共发1条）"
    assert scammer["features"]["n_sms_fraud"] == 1
    assert mother["label"] == "0" and mother["features"]["n_sms_fraud"] == 0
