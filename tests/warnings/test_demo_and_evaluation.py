"""The demo walk-through and the evaluation on a fresh simulated city."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from wdata import CENTRE, RESIDENTS, SYSTEM, request

from aegis.store.repositories import AuditLog
from aegis.usecases import warnings as uc


def test_demo_walks_warnings_through_as_their_own_stations(city: Engine) -> None:
    uc.raise_warnings(city, SYSTEM, [request(person=p, lead=p, p=0.9) for p in RESIDENTS])
    walked = uc.walk_demo_workflow(city, count=3)
    assert {w["outcome"] for w in walked} == {"dissuaded"}
    assert uc.warning_stats(city, CENTRE)["overall"]["closed"] == 3
    actors = {e["actor"] for e in AuditLog(city).entries("warning") if e["action"] == "warning.take"}
    assert actors == {f"police_station:{s}/demo-officer" for _, s in RESIDENTS.values()}


@pytest.mark.slow
def test_evaluate_on_a_fresh_city_meets_the_targets(tmp_path: Path) -> None:
    from aegis.simulate import SimConfig, simulate

    simulate(SimConfig(people=5000, days=21, seed=11, victims_per_10k_day=8.0), tmp_path)
    report = uc.evaluate_sim(tmp_path)
    overall = report["overall"]
    assert overall["victims"] > 30
    assert overall["warned_before_first_transfer"] >= 0.8
    assert overall["precision"] >= 0.8
    assert set(report["by_fraud_type"]) >= {"order_brushing"}
