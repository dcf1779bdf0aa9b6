"""`aegis warnings raise`: a centre's own store, filled by ingest, gets its warnings without the demo."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from aegis.cli.main import app
from aegis.ingest import ingest_file
from aegis.simulate import SimConfig, simulate
from aegis.store import EventRepository, open_engine
from aegis.store.schema_warnings import warning, warning_lead
from aegis.usecases.actor import SYSTEM
from aegis.usecases.profiles import refresh_profiles
from aegis.usecases.warning_pipeline import LEAD_EVENT_KINDS
from aegis.usecases.warnings import raise_warnings_for_city

KINDS = ("person", "sim_opening", "account_opening", "call", "sms", "transfer", "url_visit", "app_install",
         "report")


def test_warnings_are_raised_from_an_ingested_store_once(tmp_path: Path) -> None:
    simulate(SimConfig(people=2000, days=4, seed=5, victims_per_10k_day=10.0), tmp_path / "city")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = open_engine(url)
    for kind in KINDS:
        ingest_file(engine, kind, tmp_path / "city" / "events" / f"{kind}.parquet")
    refresh_profiles(engine, SYSTEM)
    centre = ["warnings", "raise", "--user", "c1", "--role", "city_centre", "--db", url, "--json"]
    first = CliRunner().invoke(app, centre)
    assert first.exit_code == 0, first.output
    counts = json.loads(first.stdout)
    assert counts["leads"] > 0 and counts["opened"] > 0 and counts["unknown_person"] == 0
    again = json.loads(CliRunner().invoke(app, centre).stdout)  # a re-run raises nothing twice
    assert (again["opened"], again["updated"]) == (0, 0) and again["unchanged"] == counts["requests"]
    listed = CliRunner().invoke(app, ["warnings", "list", "--user", "c1", "--role", "city_centre", "--db", url])
    assert listed.exit_code == 0 and listed.output.count("wrn-") == counts["opened"]
    refused = CliRunner().invoke(app, ["warnings", "raise", "--user", "a", "--role", "district_bureau", "--db", url])
    assert refused.exit_code == 2 and "district_bureau不能生成预警" in refused.output
    # the replay says how far it is: the events read, then (a few seconds apart at most, here every day) the days
    import aegis.usecases.warnings as uc

    heard: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(uc, "PROGRESS_EVERY", 0.0)
        raise_warnings_for_city(engine, SYSTEM, progress=lambda said: heard.append(str(said)))
    stored = sum(len(EventRepository(engine).frame(k)) for k in LEAD_EVENT_KINDS)
    assert heard[1].startswith(f"已读取{stored}条事件")
    days = [h.split("：")[0] for h in heard if h.startswith("已回放")]
    assert len(days) >= 4 and days == [f"已回放{d}天" for d in range(1, len(days) + 1)]  # (a day in China time)
    # told once a week, the days after the last whole week are told too: the last line said 13 leads of 320 raised
    weekly: list[str] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(uc, "PROGRESS_EVERY", 1e9)
        raised = raise_warnings_for_city(engine, SYSTEM, progress=lambda said: weekly.append(str(said)))
    assert [h for h in weekly if h.startswith("已回放")] == [f"已回放{len(days)}天：线索{raised['leads']}条"]


@pytest.mark.parametrize("people", [300, pytest.param(1000, marks=pytest.mark.slow)])
def test_a_windowed_raise_raises_in_its_window_what_a_whole_replay_raises(tmp_path: Path, people: int) -> None:
    # longer than the fusion's 30-day memory, so the windowed replay starts after the first events and must learn
    # the older payer-payee pairs and typical amounts from the transfers before it (at 1,000 people a replay that
    # did not raised a lead the whole replay does not; at 300 the two agree either way)
    simulate(SimConfig(people=people, days=40, seed=5, victims_per_10k_day=10.0 if people > 300 else 20.0),
             tmp_path / "city")
    whole = open_engine(f"sqlite:///{tmp_path / 'whole.db'}")
    for kind in KINDS:
        ingest_file(whole, kind, tmp_path / "city" / "events" / f"{kind}.parquet")
    refresh_profiles(whole, SYSTEM)
    whole.dispose()
    shutil.copy(tmp_path / "whole.db", tmp_path / "window.db")
    window = open_engine(f"sqlite:///{tmp_path / 'window.db'}")
    whole = open_engine(f"sqlite:///{tmp_path / 'whole.db'}")
    days = timedelta(days=3)
    all_counts = raise_warnings_for_city(whole, SYSTEM)
    counts = raise_warnings_for_city(window, SYSTEM, window=days)
    start = max(t for t in (EventRepository(whole).last_time(k) for k in LEAD_EVENT_KINDS) if t) - days
    in_window = {lead for lead in _leads(whole) if lead[-1] >= start}
    assert 0 < len(in_window) < len(_leads(whole)) and all_counts["requests"] > counts["requests"]
    assert _leads(window) == in_window
    with pytest.raises(ValueError, match="window: must be positive"):
        raise_warnings_for_city(window, SYSTEM, window=timedelta(0))


def _leads(engine: Engine) -> set[tuple[Any, ...]]:
    """Every lead a warning took: whose, of which type, with what probability and level, and when."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(warning.c.person_id, warning.c.fraud_type, warning_lead.c.lead_id, warning_lead.c.probability,
                   warning_lead.c.level, warning_lead.c.time)
            .join(warning_lead, warning.c.warning_id == warning_lead.c.warning_id))
        return {(*r[:3], round(r[3], 9), *r[4:]) for r in rows}
