"""What the store learns back: the leads behind each warning, and training rows labelled by reports and outcomes."""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner
from wdata import CENTRE, SYSTEM, T0, request, station_actor

from aegis.cli.warnings import app as cli
from aegis.features.victim_leads import FEATURES, Directory
from aegis.names import action_name
from aegis.reasons import render
from aegis.store.repositories import AuditLog
from aegis.store.schema_warnings import warning_lead
from aegis.usecases import warnings as uc
from aegis.usecases.actor import PermissionDenied


def _with_features(req, **values: float):  # type: ignore[no-untyped-def]
    features = {f: 0.0 for f in FEATURES} | {"cur_score": float("nan")} | values
    return dataclasses.replace(req, features={k: None if math.isnan(v) else v for k, v in features.items()})


def test_each_lead_behind_a_warning_is_kept_once_with_what_the_model_saw(city: Engine) -> None:
    first = _with_features(request("P1", "high", "lead-a", at=T0), n_risky_call_24h=1.0)
    later = _with_features(request("P1", "urgent", "lead-b", at=T0 + timedelta(hours=1)), n_risky_call_24h=2.0)
    uc.raise_warnings(city, SYSTEM, [first, later, first])  # lead-a again, out of order: kept once
    with city.connect() as connection:
        assert connection.execute(select(func.count()).select_from(warning_lead)).scalar_one() == 2
    wid = next(w["warning_id"] for w in uc.list_warnings(city, CENTRE) if w["person_id"] == "P1")
    leads = uc.get_warning(city, station_actor("P1"), wid)["leads"]
    assert [(lead["lead_id"], lead["level"]) for lead in leads] == [("lead-a", "high"), ("lead-b", "urgent")]
    assert leads[1]["features"]["n_risky_call_24h"] == 2.0
    assert leads[0]["features"]["cur_score"] is None  # JSON has no NaN: a missing feature is stored as null


def test_the_store_s_victims_come_from_reports_then_from_closed_warnings() -> None:
    t = pd.Timestamp(T0)
    reports = pd.DataFrame({
        "victim_id": ["V1", "V2"], "time": [t + timedelta(days=3)] * 2, "fraud_type": ["fake_loan", "sextortion"],
        "numbers": [["s-1"], ["never-seen"]], "accounts": [["m-1"], []], "urls": [[], []],
    })
    frames = {
        "call": pd.DataFrame({"caller": ["s-1"], "callee": ["n-v1"], "start": [t]}),
        "transfer": pd.DataFrame({"payer_account": ["a-v1"], "payee_account": ["m-1"],
                                  "time": [t + timedelta(hours=5)]}),
    }
    directory = Directory({"n-v1": "V1"}, {"a-v1": "V1"})
    closed = pd.DataFrame({
        "person_id": ["V1", "W1", "F1"], "fraud_type": ["impersonate_police", "order_brushing", "fake_loan"],
        "outcome": ["dissuaded", "already_defrauded", "false_alarm"],
        "first_lead_at": [t - timedelta(days=9), t + timedelta(days=1), t],
    })
    victims = uc.store_victims(reports, frames, directory, closed).set_index("person_id")
    # V1: the report's type; its scam began at the call with the number it names (the warning's earlier lead
    # about another type does not move it); V2: nothing it names is in the events, so a week before the report
    # W1: found by the officer, from the warning's first lead; F1, a false alarm, is no victim
    assert victims["fraud_type"].to_dict() == {"V1": "fake_loan", "V2": "sextortion", "W1": "order_brushing"}
    assert victims.loc["V1", "first_contact_time"] == t
    assert victims.loc["V2", "first_contact_time"] == t + timedelta(days=3) - uc.REPORT_LOOKBACK
    assert victims.loc["W1", "first_contact_time"] == t + timedelta(days=1)


def test_retraining_needs_leads_and_victims_and_is_the_centre_s_job(city: Engine, tmp_path: Path) -> None:
    with pytest.raises(PermissionDenied):
        uc.store_training_rows(city, station_actor("P1"))
    with pytest.raises(ValueError, match="no leads"):
        uc.retrain(city, CENTRE, tmp_path, tmp_path / "m")


def test_a_retrain_is_in_the_audit_log_with_who_where_and_what_it_learnt(city: Engine, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``aegis warnings retrain`` wrote no audit entry although its --user is "recorded in the audit log" (the
    black-box audit). The replay and the training are stood in for (minutes each; the slow end-to-end test runs
    them): what is checked is that the store's counts, as the card has them, reach the log with who and where."""
    meta = {"lead_rows": 40, "victim_rows": 6, "reported_victims": 2, "closed_warnings": 3, "false_alarms": 1}
    given = {}

    def rows(engine: Engine, actor: object, *, risk: object = None) -> tuple[pd.DataFrame, pd.Series, dict]:
        return pd.DataFrame({"person_id": ["P1"]}), pd.Series(["fake_loan"]), dict(meta)

    def train(sim_dir: Path, out: Path, *, store: tuple) -> dict:
        given["store"] = store[2]
        return {"data": {"store": store[2]}}

    monkeypatch.setattr(uc, "store_training_rows", rows)
    monkeypatch.setattr(uc, "train_from_sim", train)
    out = tmp_path / "model"
    card = uc.retrain(city, CENTRE, tmp_path / "train", out)
    (entry,) = AuditLog(city).entries("model")
    assert (entry["action"], entry["actor"], entry["subject_id"]) == ("model.retrain", CENTRE.label, str(out))
    assert entry["details"]["store"] == card["data"]["store"] == given["store"] == meta
    assert entry["details"]["out"] == str(out) and entry["details"]["sim"] == str(tmp_path / "train")
    assert render(entry["reasons"], "en") == [
        "learnt from 40 of the store's lead rows (6 of victims: 2 reported, 3 warnings closed, 1 false alarms) beside "
        f"the training city; written to {out}"]
    assert action_name("model.retrain", "en") == "retrain the warning model"
    meta["victim_rows"] = 0
    with pytest.raises(uc.WarningsError, match="labels"):  # refused: nothing was retrained, nothing is logged
        uc.retrain(city, CENTRE, tmp_path / "train", tmp_path / "other")
    assert len(AuditLog(city).entries("model")) == 1


def test_cli_retrain_errors_are_one_line(tmp_path: Path) -> None:
    from aegis.store import open_engine

    url = f"sqlite:///{tmp_path / 'a.db'}"
    runner = CliRunner()
    args = ["--db", url, "--sim", str(tmp_path), "--out", str(tmp_path / "m")]
    # a mistyped store path is named, not created empty and answered from
    missing = runner.invoke(cli, ["retrain", "--user", "c", "--role", "city_centre", *args])
    assert missing.exit_code == 2 and "database：找不到库" in missing.stderr
    assert not (tmp_path / "a.db").exists()
    open_engine(url).dispose()
    refused = runner.invoke(cli, ["retrain", "--user", "c", "--role", "city_centre", *args])
    assert refused.stderr == "错误：events：库中没有可供学习的线索（请先导入事件）\n" and refused.exit_code == 2
    english = runner.invoke(cli, ["retrain", "--user", "c", "--role", "city_centre", *args, "--lang", "en"])
    assert english.exit_code == 2 and english.stderr == (
        "error: events: the store holds no leads to learn from (ingest events first)\n")
    denied = runner.invoke(cli, ["retrain", "--user", "o", "--role", "district_bureau", *args, "--lang", "en"])
    assert denied.exit_code == 2 and "may not retrain" in denied.output
    from aegis.usecases.warning_sim import train_from_sim

    with pytest.raises(FileNotFoundError, match="not a simulated city"):
        train_from_sim(tmp_path, tmp_path / "m")


@pytest.mark.slow
def test_retrain_learns_from_a_deployment_s_reports_and_closed_warnings(tmp_path: Path) -> None:
    """The loop end to end: a city's events in the store, warnings raised and closed by its officers as the
    truth says, then ``aegis warnings retrain`` on a training city plus the store's labelled leads."""
    from aegis.ingest import ingest_file
    from aegis.simulate import SimConfig, simulate
    from aegis.store import open_engine
    from aegis.training.modelstore import load_model
    from aegis.usecases.actor import Actor, Role
    from aegis.usecases.demo import INGEST_ORDER
    from aegis.usecases.warning_sim import sim_entity_risk

    simulate(SimConfig(people=3000, days=21, seed=21, victims_per_10k_day=10.0), tmp_path / "train")
    simulate(SimConfig(people=2000, days=14, seed=22, victims_per_10k_day=10.0), tmp_path / "deployed")
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = open_engine(url)
    for kind in INGEST_ORDER:
        ingest_file(engine, kind, tmp_path / "deployed" / "events" / f"{kind}.parquet")
    risk = sim_entity_risk(tmp_path / "deployed")
    uc.raise_warnings_for_city(engine, SYSTEM, risk=risk)
    victims = set(pd.read_parquet(tmp_path / "deployed" / "truth" / "victims.parquet")["person_id"])
    raised = uc.list_warnings(engine, CENTRE)
    assert raised
    for w in raised:
        officer = Actor("o", Role.police_station, district=w["district"], station=w["station"])
        uc.take_warning(engine, officer, w["warning_id"])
        uc.record_contact(engine, officer, w["warning_id"], channel="call", result="reached")
        uc.close_warning(engine, officer, w["warning_id"], note="本人已核实",
                         outcome="dissuaded" if w["person_id"] in victims else "false_alarm")
    rows, labels, meta = uc.store_training_rows(engine, CENTRE, risk=risk)
    assert meta["closed_warnings"] == len(raised) and meta["victim_rows"] > 0
    # reported victims the model never warned are victims in the training rows as well
    warned = {w["person_id"] for w in raised}
    reported = set(pd.read_parquet(tmp_path / "deployed" / "events" / "report.parquet")["victim_id"])
    missed = reported - warned
    if missed:
        assert (labels[rows["person_id"].isin(missed)] != "normal").any()
    card = uc.retrain(engine, CENTRE, tmp_path / "train", tmp_path / "model", risk=risk)
    assert card["data"]["store"] == meta
    (entry,) = [e for e in AuditLog(engine).entries("model") if e["action"] == "model.retrain"]
    assert entry["details"]["store"] == meta and entry["actor"] == CENTRE.label
    assert load_model(tmp_path / "model", "victim").card["data"]["store"]["lead_rows"] == len(rows)
