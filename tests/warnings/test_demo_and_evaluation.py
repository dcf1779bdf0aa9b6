"""The demo walk-through and the evaluation on a fresh simulated city."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine
from wdata import CENTRE, RESIDENTS, SYSTEM, T0, request

from aegis.decisions.warning_policy import load_policy
from aegis.store.repositories import AuditLog
from aegis.usecases import warning_sim as sim
from aegis.usecases import warnings as uc


def test_demo_walks_warnings_through_as_their_own_stations(city: Engine) -> None:
    uc.raise_warnings(city, SYSTEM, [request(person=p, lead=p, p=0.9) for p in RESIDENTS])
    walked = uc.walk_demo_workflow(city, {"P1", "P3"}, count=3)
    assert {w["station"]: w["outcome"] for w in walked} == {
        RESIDENTS["P1"][1]: "dissuaded", RESIDENTS["P2"][1]: "false_alarm", RESIDENTS["P3"][1]: "dissuaded"}
    assert uc.warning_stats(city, CENTRE)["overall"]["closed"] == 3
    actors = {e["actor"] for e in AuditLog(city).entries("warning") if e["action"] == "warning.take"}
    assert actors == {f"police_station:{s}/demo-officer" for _, s in RESIDENTS.values()}


@pytest.mark.slow
def test_evaluate_on_a_fresh_city_meets_the_targets(tmp_path: Path) -> None:
    from aegis.simulate import SimConfig, simulate

    simulate(SimConfig(people=5000, days=21, seed=11, victims_per_10k_day=8.0), tmp_path)
    report = sim.evaluate_sim(tmp_path)
    overall = report["overall"]
    assert overall["victims"] > 30
    assert overall["warned_before_first_transfer"] >= 0.8
    assert overall["precision"] >= 0.8
    assert set(report["by_fraud_type"]) >= {"order_brushing"}


def test_contact_deadline_is_the_workflows_own_before_the_money_went() -> None:
    """Replays the requests with the workflow's rules: a later, more severe lead brings the deadline closer;
    a lead after the first loss is too late to count; persons who lost nothing are not in the answer."""
    policy = load_policy()
    first_loss = pd.Series({"P1": pd.Timestamp(T0 + timedelta(hours=10)), "P2": pd.Timestamp(T0 + timedelta(hours=1))})
    requests = [
        request("P1", "medium", "a", at=T0),  # police type: medium deadline 24 h -> after the loss
        request("P1", "high", "b", at=T0 + timedelta(hours=2)),  # high: 6 h -> T0 + 8 h, in time
        request("P1", "urgent", "c", at=T0 + timedelta(hours=11)),  # after the loss: ignored
        request("P2", "medium", "d", at=T0 + timedelta(hours=2)),  # after P2's loss: never warned in time
        request("P3", "urgent", "e", at=T0),  # not a victim
    ]
    deadlines = sim.contact_deadlines(requests, policy, first_loss)
    assert deadlines.to_dict() == {"P1": pd.Timestamp(T0 + timedelta(hours=8))}
    assert policy.dispatch("medium", "impersonate_police").deadline == timedelta(hours=24)


def test_a_city_without_victims_is_refused_before_the_replay(tmp_path) -> None:
    from aegis.simulate import SimConfig, simulate
    from aegis.usecases.warning_sim import evaluate_sim

    simulate(SimConfig(people=150, days=1, seed=0, victims_per_10k_day=0), tmp_path)
    with pytest.raises(ValueError, match=r"--sim: the city in .* has no fraud victim to measure warnings against"):
        evaluate_sim(tmp_path)
