"""Lead extraction and fusion features: edge cases on hand-made events."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aegis.features.victim_leads import (
    FEATURES,
    Directory,
    EntityRisk,
    FusionState,
    LeadState,
    extract_leads,
    fusion_features,
    risk_table,
)

T = pd.Timestamp("2026-10-05 09:00", tz="UTC")
DIRECTORY = Directory({"138": "P1", "139": "P2"}, {"A1": "P1", "A2": "P2"}, {"P1": 66, "P2": 30})


def risk(**tables: pd.DataFrame) -> EntityRisk:
    return EntityRisk(remote_apps=frozenset({"com.oray.sunlogin"}), **tables)


def calls(*rows: tuple[str, str, pd.Timestamp, int]) -> pd.DataFrame:
    return pd.DataFrame([{"event_id": f"c{i}", "caller": a, "callee": b, "start": t, "duration_s": d}
                         for i, (a, b, t, d) in enumerate(rows)])


def transfers(*rows: tuple[str, str, float, pd.Timestamp]) -> pd.DataFrame:
    return pd.DataFrame([{"event_id": f"t{i}", "payer_account": a, "payee_account": b, "amount": x, "time": t}
                         for i, (a, b, x, t) in enumerate(rows)])


def test_no_events_and_unknown_numbers_give_no_leads() -> None:
    _, leads = extract_leads(LeadState(), {}, risk(), DIRECTORY)
    assert leads.empty
    _, leads = extract_leads(LeadState(), {"call": calls(("170", "138", T, 600))}, risk(), DIRECTORY)
    assert leads.empty


def test_risky_calls_in_both_directions_and_only_once_the_risk_is_known() -> None:
    numbers = risk_table(["170"], 0.9, ["impersonate_police"], [T])
    events = {"call": calls(("170", "138", T - pd.Timedelta(hours=1), 900), ("170", "138", T, 600),
                            ("139", "170", T + pd.Timedelta(hours=1), 30))}
    _, leads = extract_leads(LeadState(), events, risk(numbers=numbers), DIRECTORY)
    assert leads[["person_id", "kind", "duration_s", "fraud_type"]].values.tolist() == [
        ["P1", "risky_call", 600.0, "impersonate_police"], ["P2", "risky_call", 30.0, "impersonate_police"]]


def test_a_number_is_one_owner_however_a_source_wrote_it() -> None:
    """A SIM opened as +86..., called as 139...; and a CDR writing the called number with the country code."""
    directory = Directory({"+8613800000001": "P1", "13900000002": "P2"}, {}, {"P1": 66, "P2": 30})
    numbers = risk_table(["17000000000"], 0.9, ["impersonate_police"], [T])
    events = {"call": calls(("+86 170 0000 0000", "13800000001", T, 600), ("17000000000", "0086-139-0000-0002", T,
                                                                           300))}
    _, leads = extract_leads(LeadState(), events, risk(numbers=numbers), directory)
    assert sorted(leads["person_id"]) == ["P1", "P2"]


def test_an_official_service_number_is_never_a_risky_entity() -> None:
    """A false flag on the anti-fraud centre's own 96110 would make everyone it warned a suspected victim."""
    numbers = risk_table(["96110", "+8695588", "170"], 0.9, ["other", "other", "impersonate_police"])
    assert risk(numbers=numbers).numbers["entity"].tolist() == ["170"]
    merged = risk().merged(risk(numbers=numbers))
    assert merged.numbers["entity"].tolist() == ["170"]
    events = {"call": calls(("96110", "138", T, 120), ("170", "139", T, 300))}
    _, leads = extract_leads(LeadState(), events, risk(numbers=numbers), DIRECTORY)
    assert leads["person_id"].tolist() == ["P2"]


def test_sms_text_scorer_urls_on_subdomains_and_apps() -> None:
    def scorer(texts: list[str]) -> tuple[np.ndarray, list[str | None]]:
        return np.array([0.95 if "安全账户" in t else 0.01 for t in texts]), ["impersonate_police" if "安全账户" in t
                                                                          else None for t in texts]

    events = {
        "sms": pd.DataFrame([{"event_id": "s1", "sender": "106", "receiver": "138", "time": T, "text": "转入安全账户"},
                             {"event_id": "s2", "sender": "106", "receiver": "139", "time": T, "text": "吃饭了吗"}]),
        "url_visit": pd.DataFrame([{"event_id": "u1", "person_id": None, "number": "138", "time": T,
                                    "url": "https://login.icbc-verify.top/kefu"}]),
        "app_install": pd.DataFrame([
            {"event_id": "a1", "device_id": "d", "person_id": "P2", "package": "com.oray.sunlogin", "signer": "x",
             "time": T},
            {"event_id": "a2", "device_id": "d", "person_id": "P2", "package": "com.fake.licai", "signer": "bad",
             "time": T}]),
    }
    r = risk(domains=risk_table(["icbc-verify.top"], 0.9, ["benefits_phishing"]), apps=risk_table(["bad"], 0.8))
    r.text_scorer = scorer
    _, leads = extract_leads(LeadState(), events, r, DIRECTORY)
    got = sorted(zip(leads["person_id"], leads["kind"], strict=True))
    assert got == [("P1", "fraud_sms"), ("P1", "fraud_url"), ("P2", "fraud_app"), ("P2", "remote_app")]


def test_new_and_large_payees_after_a_risky_contact_across_batches() -> None:
    state = LeadState()
    habit = transfers(*[("A1", "SHOP", 50.0, T - pd.Timedelta(days=3, hours=i)) for i in range(5)])
    state, leads = extract_leads(state, {"transfer": habit}, risk(), DIRECTORY)
    assert leads.empty  # a first payee with small amounts and no risky contact is no lead
    numbers = risk_table(["170"], 0.9, ["impersonate_police"])
    state, leads = extract_leads(state, {"call": calls(("170", "138", T, 900))}, risk(numbers=numbers), DIRECTORY)
    assert leads["kind"].tolist() == ["risky_call"]
    hours = pd.Timedelta(hours=1)
    later = transfers(("A1", "SAFE", 30000.0, T + 2 * hours), ("A1", "SHOP", 60.0, T + 3 * hours),
                      ("A2", "NEW", 300.0, T + 2 * hours))
    state, leads = extract_leads(state, {"transfer": later}, risk(accounts=risk_table(["SAFE"], 0.7)), DIRECTORY)
    assert sorted(zip(leads["person_id"], leads["kind"], strict=True)) == [
        ("P1", "large_after_contact"), ("P1", "risky_payee")]


def lead(i: int, person: str, kind: str, at: pd.Timestamp, **extra: object) -> dict[str, object]:
    return {"lead_id": f"l{i}", "person_id": person, "time": at, "kind": kind, "score": extra.get("score", 0.9),
            "fraud_type": extra.get("fraud_type", "impersonate_police"), "entity": "x",
            "duration_s": extra.get("duration_s", 0.0), "amount": extra.get("amount", 0.0)}


def test_fusion_windows_are_per_person_causal_and_carried_across_batches() -> None:
    first = pd.DataFrame([lead(1, "P1", "risky_call", T - pd.Timedelta(days=2), duration_s=600),
                          lead(2, "P2", "risky_call", T - pd.Timedelta(minutes=30), duration_s=20)])
    state, rows = fusion_features(FusionState(), first, {"P1": 66})
    assert rows.columns.tolist()[5:] == list(FEATURES)
    assert rows["n_risky_call_30d"].tolist() == [1, 1]
    second = pd.DataFrame([lead(3, "P1", "remote_app", T), lead(4, "P1", "risky_call", T, duration_s=300)])
    state, rows = fusion_features(state, second, {"P1": 66})
    by_id = rows.set_index("lead_id")
    assert by_id.loc["l3", "n_risky_call_7d"] == 1 and by_id.loc["l3", "n_risky_call_24h"] == 0
    assert by_id.loc["l4", "n_risky_call_7d"] == 2 and by_id.loc["l4", "call_s_7d"] == 900
    assert by_id.loc["l4", "max_call_s_7d"] == 600 and by_id.loc["l4", "age"] == 66
    assert by_id.loc["l4", "h_since_first_30d"] == pytest.approx(48)
    assert by_id.loc["l3", "ev_impersonate_police"] == pytest.approx(1.8)  # the other person's lead is not here
    # a month later the old leads have left the windows and the state
    late = pd.DataFrame([lead(5, "P1", "fraud_sms", T + pd.Timedelta(days=40))])
    state, rows = fusion_features(state, late)
    assert rows["n_risky_call_30d"].tolist() == [0]
    assert state.recent["lead_id"].tolist() == ["l5"]


def test_fusion_reads_scores_in_tenths_not_as_template_fingerprints() -> None:
    """Every copy of one SMS template gets the same exact text score; the fusion must not learn which
    templates the training city's victims happened to receive, so scores count in steps of 0.1."""
    leads = pd.DataFrame([lead(1, "P1", "fraud_sms", T, score=0.990992), lead(2, "P2", "fraud_sms", T, score=0.93),
                          lead(3, "P1", "fraud_sms", T + pd.Timedelta(hours=1), score=0.5)])
    _, rows = fusion_features(FusionState(), leads)
    by_id = rows.set_index("lead_id")
    assert by_id.loc["l1", "cur_score"] == by_id.loc["l2", "cur_score"] == pytest.approx(0.9)
    assert by_id.loc["l3", "cur_score"] == pytest.approx(0.5)
    assert by_id.loc["l3", "s_fraud_sms_30d"] == pytest.approx(1.4)
