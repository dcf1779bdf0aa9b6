"""Fraud pace: case timelines from reports and events, the pace table, and how it grades warnings."""

from __future__ import annotations

import doctest
import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sqlalchemy import Engine
from typer.testing import CliRunner
from wdata import CENTRE, T0, station_actor

import aegis.features.case_timelines as timelines_module
from aegis.cli.main import app
from aegis.decisions.warning_policy import default_policy_path, load_policy
from aegis.events.models import Call, Report, Sms, Transfer
from aegis.features.case_timelines import case_timelines, fraud_pace, pace_hours
from aegis.store.repositories import EventRepository
from aegis.usecases.actor import PermissionDenied
from aegis.usecases.pace import pace_from_store

START = pd.Timestamp(T0)
H = pd.Timedelta(hours=1)
NUMBERS = pd.Series({"n-p1": "P1", "n-p2": "P2", "n-p3": "P3"})
ACCOUNTS = pd.Series({"a-p1": "P1", "a-p2": "P2", "a-p3": "P3"})


def test_doctests() -> None:
    assert doctest.testmod(timelines_module).failed == 0


def _frames() -> dict[str, pd.DataFrame]:
    """P1: called by the scammer (either end counts), pays 5 h later. P2: an SMS first, then the scammer
    calls, pays 30 h after the SMS; a transfer to an account the report does not name does not count.
    P3: contact and payment after the report only: no timeline."""
    t = START + pd.Timedelta(days=10)
    return {
        "report": pd.DataFrame({
            "victim_id": ["P1", "P2", "P3"], "time": [t + 48 * H] * 3,
            "fraud_type": ["impersonate_police", "fake_loan", "fake_loan"],
            "numbers": [["s-1"], ["s-2"], ["s-2"]], "accounts": [["m-1"], ["m-2"], ["m-2"]],
            "urls": [[], [], []],
        }),
        "call": pd.DataFrame({"caller": ["n-p1", "s-2", "x", "s-2"], "callee": ["s-1", "n-p2", "n-p1", "n-p3"],
                              "start": [t, t + 2 * H, t - 9 * H, t + 50 * H]}),
        "sms": pd.DataFrame({"sender": ["s-2"], "receiver": ["n-p2"], "time": [t]}),
        "transfer": pd.DataFrame({"payer_account": ["a-p1", "a-p2", "a-p2", "a-p3"],
                                  "payee_account": ["m-1", "other", "m-2", "m-2"],
                                  "time": [t + 5 * H, t + H, t + 30 * H, t + 51 * H]}),
    }


def test_a_timeline_runs_from_the_first_contact_with_a_named_number_to_the_first_payment_to_a_named_account(
) -> None:
    f = _frames()
    out = case_timelines(f["report"], (NUMBERS, ACCOUNTS), calls=f["call"], sms=f["sms"], transfers=f["transfer"],
                         observed_from=START)
    assert out.set_index("victim_id")["hours"].to_dict() == {"P1": 5.0, "P2": 30.0}


def test_cases_paid_too_soon_after_the_events_begin_are_left_out_as_possibly_begun_earlier() -> None:
    f = _frames()
    kept = case_timelines(f["report"], (NUMBERS, ACCOUNTS), calls=f["call"], sms=f["sms"], transfers=f["transfer"],
                          observed_from=START + pd.Timedelta(days=9, hours=6), horizon_h=24.0)
    assert kept["victim_id"].tolist() == ["P2"]  # P1 paid 23 h after the events begin, P2 48 h


def test_the_pace_is_a_low_quantile_per_type_with_enough_cases() -> None:
    timelines = pd.DataFrame({"fraud_type": ["fake_loan"] * 10 + ["sextortion"] * 2,
                              "hours": [*range(10, 110, 10), 1.0, 2.0]})
    table = fraud_pace(timelines, quantile=0.1, min_cases=5)
    assert list(table.index) == ["fake_loan"]
    assert table.loc["fake_loan", "hours"] == pytest.approx(19.0)
    assert pace_hours(pd.DataFrame({"hours": [19.06, 0.01]}, index=["fake_loan", "x"])) == {
        "fake_loan": 19.0, "x": 0.1}
    with pytest.raises(ValueError, match="quantile"):
        fraud_pace(timelines, quantile=1.0)


def test_pace_relaxes_a_sure_warning_of_a_slow_scam_but_never_past_its_time() -> None:
    policy = load_policy()
    sure = np.full(4, 0.99)
    types = np.array(["pig_butchering", "impersonate_police", "order_brushing", "order_brushing"], dtype=object)
    elapsed = pd.DataFrame({"h_since_first_30d": [0.0, 0.0, 0.0, 20.0]})
    levels = policy.levels_for(sure, elapsed, types)
    # weeks: a station's call within 3 days; minutes: the city's visit; 37 h: the district within 24 h, but
    # 20 h after the first lead only 17 h are left and the 30-minute visit is back
    assert levels.tolist() == ["medium", "urgent", "high", "urgent"]
    for level, ftype, hours_left in zip(levels, types, [361.3, 0.7, 37.2, 17.2], strict=True):
        assert level == "urgent" or policy.dispatch(level, ftype).deadline <= timedelta(hours=hours_left)
    # the probability still sets the most severe level, and the floor stops relaxation at medium
    assert policy.levels_for(np.array([0.85, 0.75]), elapsed.iloc[:2], types[:2]).tolist() == ["medium", "low"]
    # rules raise after pace: a remote-control app within a day of a risky call is urgent whatever the type
    ruled = pd.DataFrame({"h_since_first_30d": [0.0], "n_remote_app_24h": [1], "n_risky_call_24h": [1]})
    assert policy.levels_for(np.array([0.99]), ruled, np.array(["pig_butchering"])).tolist() == ["urgent"]
    # without types (or for a type without a pace) the probability alone decides, as before
    assert policy.levels_for(sure[:1], elapsed.iloc[:1]).tolist() == ["urgent"]
    assert policy.levels_for(sure[:1], elapsed.iloc[:1], np.array(["unknown_type"])).tolist() == ["urgent"]


def test_a_pace_for_a_type_the_glossary_does_not_know_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    data["pace"]["hours"]["pig_slaughtering"] = 10
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(ValueError, match=r"pace\.hours.*pig_slaughtering"):
        load_policy(tmp_path / "p.yaml")
    data["pace"]["hours"] = {"fake_loan": 0}
    (tmp_path / "q.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(ValueError, match="positive"):
        load_policy(tmp_path / "q.yaml")


def _store_cases(engine: Engine) -> None:
    """Six fake-loan victims who paid 10..60 h after the first call, each seen from the store's first event on."""
    repo = EventRepository(engine)
    with engine.begin() as connection:
        opened = [{"person_id": f"V{i}", "number": f"1390000000{i}", "imsi": None, "institution": "CM",
                   "agent": "a", "time": T0, "location": None, "iot": False, "event_id": f"so-{i}"}
                  for i in range(6)]
        repo.add_many("sim_opening", opened, connection)
        repo.add_many("account_opening", [
            {"person_id": f"V{i}", "account": f"62000000{i}", "institution": "ICBC", "branch": "b", "time": T0,
             "location": None, "event_id": f"ao-{i}"} for i in range(6)], connection)
        start = T0 + timedelta(days=8)
        repo.add_many("call", [Call(caller="17100000001", callee=f"1390000000{i}", start=start, duration_s=300)
                               .model_dump() for i in range(6)] + [
            Call(caller="17100000009", callee="13900000000", start=T0, duration_s=10).model_dump()], connection)
        repo.add_many("sms", [Sms(sender="17100000001", receiver="13900000001", time=start + timedelta(hours=1),
                                  text="贷款审核通过").model_dump()], connection)
        repo.add_many("transfer", [Transfer(payer_account=f"62000000{i}", payee_account="6222999", payer_bank="ICBC",
                                            payee_bank="ABC", amount="1000", time=start + timedelta(hours=10 * (i + 1)))
                                   .model_dump() for i in range(6)], connection)
        repo.add_many("report", [Report(victim_id=f"V{i}", time=start + timedelta(days=4), fraud_type="fake_loan",
                                        numbers=["17100000001"], accounts=["6222999"]).model_dump()
                                 for i in range(6)], connection)


def test_the_centre_measures_pace_from_the_store_and_stations_may_not(engine: Engine) -> None:
    _store_cases(engine)
    result = pace_from_store(engine, CENTRE, quantile=0.5, min_cases=5)
    assert result["timelines"] == 6
    assert result["by_fraud_type"] == {"fake_loan": {"cases": 6, "hours": 35.0}}
    assert result["policy_hours"] == {"fake_loan": 35.0}
    with pytest.raises(PermissionDenied):
        pace_from_store(engine, station_actor("P1"))


def test_the_api_serves_the_pace_to_the_centre_only(sqlite_engine: Engine) -> None:
    from fastapi.testclient import TestClient

    from aegis.api.app import create_app

    _store_cases(sqlite_engine)
    client = TestClient(create_app(sqlite_engine))
    centre = {"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre"}
    got = client.get("/api/v1/warnings/pace", params={"quantile": 0.5}, headers=centre)
    assert got.status_code == 200 and got.json()["policy_hours"] == {"fake_loan": 35.0}
    assert client.get("/api/v1/warnings/pace", params={"quantile": 2}, headers=centre).status_code == 422
    station = {"X-Aegis-User": "o1", "X-Aegis-Role": "police_station", "X-Aegis-District": "siming",
               "X-Aegis-Station": "siming-zhonghua"}
    assert client.get("/api/v1/warnings/pace", headers=station).status_code == 403


def test_the_cli_prints_the_table_for_the_policy_file_and_refuses_the_store_without_a_user(tmp_path: Path) -> None:
    from aegis.simulate import SimConfig, simulate

    simulate(SimConfig(people=3000, days=21, seed=5, victims_per_10k_day=10.0), tmp_path / "city")
    runner = CliRunner()
    result = runner.invoke(app, ["warnings", "pace", "--sim", str(tmp_path / "city"), "--min-cases", "2", "--json"])
    assert result.exit_code == 0, result.output
    table = json.loads(result.output)
    assert table["timelines"] > 10
    assert set(table["policy_hours"]) <= set(load_policy().pace.hours) | {"other"}
    # a type that takes the money within hours is faster than one that takes days
    hours = table["by_fraud_type"]
    if {"impersonate_customer_service", "order_brushing"} <= set(hours):
        assert hours["impersonate_customer_service"]["hours"] < hours["order_brushing"]["hours"]
    refused = runner.invoke(app, ["warnings", "pace"])
    assert refused.exit_code == 2 and "--user" in refused.output
    # too few cases of any type: no empty table to paste into the policy (it would turn pace grading off)
    few = runner.invoke(app, ["warnings", "pace", "--sim", str(tmp_path / "city"), "--min-cases", "100000",
                              "--lang", "en"])
    assert few.exit_code == 0 and "pace:" not in few.output and "┃" not in few.output  # nor an empty table
    assert "no fraud type has 100000 cases, so no pace can be measured" in " ".join(few.output.split())

    # the same city evaluated under the shipped policy and under one without pace: the same warnings are due,
    # pace only hands some of them to less severe levels
    data = yaml.safe_load(default_policy_path().read_text(encoding="utf-8"))
    del data["pace"]
    (tmp_path / "no_pace.yaml").write_text(yaml.safe_dump(data, allow_unicode=True))
    figures = {}
    for name, extra in (("pace", []), ("no_pace", ["--policy", str(tmp_path / "no_pace.yaml")])):
        run = runner.invoke(app, ["evaluate", "warnings", "--sim", str(tmp_path / "city"), "--json", *extra])
        assert run.exit_code == 0, run.output
        figures[name] = json.loads(run.output)
    assert figures["pace"]["overall"]["warnings"] == figures["no_pace"]["overall"]["warnings"] > 0
    urgent = {name: f["by_level"]["urgent"]["warnings"] for name, f in figures.items()}
    assert urgent["pace"] < urgent["no_pace"]
    (tmp_path / "broken.yaml").write_text("version: x\nthresholds: {urgent: 2}\n")
    broken = runner.invoke(app, ["evaluate", "warnings", "--sim", str(tmp_path / "city"), "--policy",
                                 str(tmp_path / "broken.yaml")])
    assert broken.exit_code == 2 and "broken.yaml" in broken.output
    detector = runner.invoke(app, ["evaluate", "url", "--data", str(tmp_path / "x.csv"), "--policy", "p.yaml"])
    assert detector.exit_code == 2 and "--policy" in detector.output
