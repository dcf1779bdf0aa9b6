"""`aegis warnings raise`: a centre's own store, filled by ingest, gets its warnings without the demo."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from aegis.cli.main import app
from aegis.ingest import ingest_file
from aegis.simulate import SimConfig, simulate
from aegis.store import open_engine
from aegis.usecases.actor import SYSTEM
from aegis.usecases.profiles import refresh_profiles

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
    refused = CliRunner().invoke(app, ["warnings", "raise", "--user", "a", "--role", "auditor", "--db", url])
    assert refused.exit_code == 2 and "may not raise warnings" in refused.stderr
