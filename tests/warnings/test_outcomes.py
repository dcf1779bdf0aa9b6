"""Outcomes back into the model: leads are kept with their features, closed warnings label them."""

from __future__ import annotations

import dataclasses
import math
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner
from wdata import CENTRE, SYSTEM, T0, request, station_actor

from aegis.cli.warnings import app as cli
from aegis.features.victim_leads import FEATURES
from aegis.store.schema_warnings import warning_lead
from aegis.usecases import warnings as uc
from aegis.usecases.actor import PermissionDenied


def _with_features(req, **values: float):  # type: ignore[no-untyped-def]
    features = {f: 0.0 for f in FEATURES} | {"cur_score": float("nan")} | values
    return dataclasses.replace(req, features={k: None if math.isnan(v) else v for k, v in features.items()})


def _warning_of(engine: Engine, person: str) -> str:
    return next(w["warning_id"] for w in uc.list_warnings(engine, CENTRE) if w["person_id"] == person)


def test_closed_warnings_label_the_leads_behind_them(city: Engine) -> None:
    first = _with_features(request("P1", "high", "lead-a", at=T0), n_risky_call_24h=1.0)
    later = _with_features(request("P1", "urgent", "lead-b", at=T0 + timedelta(hours=1)), n_risky_call_24h=2.0)
    other = _with_features(request("P2", "medium", "lead-c", ftype="fake_loan", at=T0))
    uc.raise_warnings(city, SYSTEM, [first, later, first, other])  # lead-a again, out of order: kept once
    with city.connect() as connection:
        assert connection.execute(select(func.count()).select_from(warning_lead)).scalar_one() == 3
    assert uc.outcome_rows(city, CENTRE).empty  # nothing closed yet: nothing learnt

    for person, outcome in (("P1", "dissuaded"), ("P2", "false_alarm")):
        wid = _warning_of(city, person)
        officer = station_actor(person)
        uc.take_warning(city, officer, wid)
        uc.close_warning(city, officer, wid, outcome=outcome)
    rows = uc.outcome_rows(city, CENTRE)
    assert rows[["lead_id", "label"]].values.tolist() == [
        ["lead-a", "impersonate_police"], ["lead-c", "normal"], ["lead-b", "impersonate_police"]]
    assert rows["n_risky_call_24h"].tolist() == [1.0, 0.0, 2.0]
    assert rows["cur_score"].isna().all()  # a missing feature comes back missing, not zero
    assert list(rows.columns[-len(FEATURES):]) == list(FEATURES)
    with pytest.raises(PermissionDenied):
        uc.outcome_rows(city, station_actor("P1"))


def test_leads_raised_without_features_are_not_training_rows(city: Engine) -> None:
    uc.raise_warnings(city, SYSTEM, [request("P3", "high", "by-hand")])
    wid = _warning_of(city, "P3")
    uc.take_warning(city, station_actor("P3"), wid)
    uc.close_warning(city, station_actor("P3"), wid, outcome="false_alarm")
    assert uc.outcome_rows(city, CENTRE).empty


def test_retrain_refuses_without_outcomes_and_stations_may_not(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'a.db'}"
    runner = CliRunner()
    centre = ["--user", "c", "--role", "city_centre", "--db", url, "--sim", str(tmp_path), "--out", str(tmp_path / "m")]
    refused = runner.invoke(cli, ["retrain", *centre])
    assert refused.exit_code == 2 and "no closed warning" in refused.stderr
    from aegis.usecases.warning_sim import train_from_sim

    with pytest.raises(FileNotFoundError, match="not a simulated city"):
        train_from_sim(tmp_path, tmp_path / "m")
    analyst = ["--user", "o", "--role", "analyst"]
    denied = runner.invoke(cli, ["retrain", *analyst, "--db", url, "--sim", str(tmp_path), "--out", str(tmp_path)])
    assert denied.exit_code == 2 and "may not" in denied.stderr


@pytest.mark.slow
def test_retrain_learns_from_a_deployment_s_closed_warnings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The loop end to end: warnings raised on one city and closed by its officers as the truth says, then
    ``aegis warnings retrain`` on a training city plus those outcomes; the new model's card counts them."""
    import pandas as pd

    from aegis.decisions.warning_policy import load_policy
    from aegis.simulate import SimConfig, simulate
    from aegis.store import open_engine
    from aegis.store.repositories import EventRepository
    from aegis.training.modelstore import load_model
    from aegis.usecases import warning_pipeline as loop
    from aegis.usecases import warning_sim as sim
    from aegis.usecases.actor import Actor, Role

    simulate(SimConfig(people=3000, days=21, seed=21, victims_per_10k_day=10.0), tmp_path / "train")
    simulate(SimConfig(people=3000, days=14, seed=22, victims_per_10k_day=10.0), tmp_path / "deployed")
    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = open_engine(url)
    persons = pd.read_parquet(tmp_path / "deployed" / "events" / "person.parquet")
    with engine.begin() as connection:
        EventRepository(engine).add_many("person", persons.to_dict("records"), connection)
    frames, directory, _ = sim._read_events(tmp_path / "deployed")
    pipeline = loop.WarningPipeline(load_model(None, "victim").detector, load_policy(),  # type: ignore[arg-type]
                                    sim.sim_entity_risk(tmp_path / "deployed"), directory)
    requests = [r for batch in loop.daily_batches(frames) for r in loop.requests_from(pipeline.step(batch))]
    uc.raise_warnings(engine, SYSTEM, requests)
    victims = set(pd.read_parquet(tmp_path / "deployed" / "truth" / "victims.parquet")["person_id"])
    raised = uc.list_warnings(engine, CENTRE)
    assert raised
    for w in raised:
        officer = Actor("o", Role.police_station, district=w["district"], station=w["station"])
        uc.take_warning(engine, officer, w["warning_id"])
        uc.close_warning(engine, officer, w["warning_id"],
                         outcome="dissuaded" if w["person_id"] in victims else "false_alarm")
    result = CliRunner().invoke(cli, ["retrain", "--user", "c", "--role", "city_centre", "--db", url,
                                      "--sim", str(tmp_path / "train"), "--out", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    card = load_model(tmp_path / "model", "victim").card
    assert card["data"]["outcome_warnings"] == len(raised)
    assert card["data"]["outcome_rows"] == len(uc.outcome_rows(engine, CENTRE)) >= len(raised)
