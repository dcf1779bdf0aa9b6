"""The batch refresh of risk profiles: a window of recent events, and the command that runs it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from aegis.cli.main import app
from aegis.events.models import Call
from aegis.store import EventRepository, RiskProfileRepository
from aegis.usecases.actor import SYSTEM, Actor, Role
from aegis.usecases.profiles import refresh_profiles

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def calls(caller: str, at: datetime) -> list[dict]:
    return [Call(caller=caller, callee=f"1390000{i:04d}", start=at + timedelta(minutes=i), duration_s=40).model_dump()
            for i in range(4)]


@pytest.fixture
def store(engine: Engine) -> Engine:
    with engine.begin() as connection:
        EventRepository(engine).add_many(
            "call", calls("13800000001", T0 - timedelta(days=60)) + calls("13800000002", T0), connection)
    return engine


def test_a_window_reads_only_the_recent_events_and_keeps_older_profiles(store: Engine) -> None:
    recent = refresh_profiles(store, SYSTEM, window=timedelta(days=30))
    assert recent.since == T0 + timedelta(minutes=3) - timedelta(days=30)
    assert set(recent.scores["number"].index) == {"13800000002"}
    assert RiskProfileRepository(store).get_many("number", ["13800000001"]) == {}
    everything = refresh_profiles(store, SYSTEM)
    assert everything.since is None and set(everything.scores["number"].index) == {"13800000001", "13800000002"}
    # quiet in the next window, the old number keeps the profile it has
    refresh_profiles(store, SYSTEM, window=timedelta(days=30))
    assert set(RiskProfileRepository(store).get_many("number", ["13800000001", "13800000002"])) == {
        "13800000001", "13800000002"}
    with pytest.raises(ValueError, match="window: must be positive"):
        refresh_profiles(store, SYSTEM, window=timedelta(0))
    with pytest.raises(PermissionError):
        refresh_profiles(store, Actor("o1", Role.police_station, district="d", station="s"))


def test_the_command_refreshes_and_reports_counts(store: Engine, tmp_path) -> None:
    url = store.url.render_as_string(hide_password=False)
    done = CliRunner().invoke(app, ["profiles", "refresh", "--db", url, "--days", "30", "--json"])
    assert done.exit_code == 0, done.output
    counts = json.loads(done.stdout)
    assert counts["profiles"] == {"number": 1} and counts["since"].startswith("2026-09-05")
    shown = CliRunner().invoke(app, ["profiles", "refresh", "--db", url, "--days", "0", "--lang", "en"])
    assert shown.exit_code == 0 and "risk profiles" in shown.stdout and "events read: all" in shown.stdout
    assert "numbers: profiling calls and SMS" in shown.stderr
    bad = CliRunner().invoke(app, ["profiles", "refresh", "--db", url, "--days", "-1"])
    assert bad.exit_code == 2


def test_the_result_says_which_entities_are_labelled_fraud_at_the_detectors_own_threshold(store: Engine) -> None:
    """The demo counted a number flagged at a score of 0.5 while the store labels it at the model's own threshold:
    a fraud number scored 0.48 was stored as fraud and counted as missed. The result carries the stored labels."""
    from aegis.detectors.base import Verdict

    class LowThreshold:
        """A number detector whose line is at 0.4: 0.45 is fraud, 0.3 is not."""

        def predict(self, batch):
            return [Verdict(score=0.45 if n.endswith("1") else 0.3, label="1" if n.endswith("1") else "0")
                    for n in batch.profiles.index]

    refreshed = refresh_profiles(store, SYSTEM, detectors={"number": LowThreshold()})
    assert refreshed.labelled["number"].to_dict() == {"13800000001": True, "13800000002": False}
    assert refreshed.flagged["number"] == 1 and (refreshed.scores["number"] < 0.5).all()
    stored = RiskProfileRepository(store).get_many("number", ["13800000001", "13800000002"])
    assert {n: p["label"] for n, p in stored.items()} == {"13800000001": "1", "13800000002": "0"}
