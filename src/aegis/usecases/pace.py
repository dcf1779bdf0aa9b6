"""Measure each fraud type's pace from reported cases, for the warning policy's ``pace`` table.

The pace (:mod:`aegis.features.case_timelines`) is read from the store's reports and events, or from a
simulated city's; the result is a table to review and copy into the policy file, which stays the versioned
place where people decide deadlines. The output holds counts and hours per fraud type, no personal data.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from aegis.features.case_timelines import case_timelines, fraud_pace, pace_hours
from aegis.features.victim_leads import Directory
from aegis.reasons import MissingFile, Reason
from aegis.store.repositories import EventRepository
from aegis.usecases.actor import Actor, Role
from aegis.usecases.warning_pipeline import store_directory
from aegis.usecases.warning_sim import read_sim_events

#: the centre sets city-wide policy; bureaus and stations work the warnings it routes to them
PACE_READERS = frozenset({Role.city_centre})

MAX_MIN_CASES = 100_000
"""the most reported cases a fraud type may be asked to have before its pace is given: more than any store holds"""


def _pace(frames: Mapping[str, pd.DataFrame], directory: Directory, quantile: float,
          min_cases: int, observed_from: pd.Timestamp | None = None) -> dict[str, Any]:
    timelines = case_timelines(
        frames["report"],
        (directory.number_owner, directory.account_owner),  # type: ignore[arg-type]
        calls=frames.get("call"),
        sms=frames.get("sms"),
        url_visits=frames.get("url_visit"),
        transfers=frames.get("transfer"),
        observed_from=observed_from,
    )
    table = fraud_pace(timelines, quantile=quantile, min_cases=min_cases)
    return {
        "reports": len(frames["report"]),
        "timelines": len(timelines),
        "quantile": quantile,
        "min_cases": min_cases,
        "by_fraud_type": {
            str(t): {"cases": int(r.cases), "hours": round(float(r.hours), 2)} for t, r in table.iterrows()
        },
        "policy_hours": dict(pace_hours(table)),
    }


def pace_from_sim(sim_dir: Path, *, quantile: float = 0.1, min_cases: int = 5) -> dict[str, Any]:
    """The pace table of a simulated city (``aegis simulate``), from its reports and events."""
    events = sim_dir / "events"
    if not (events / "report.parquet").is_file():
        raise MissingFile(Reason("sim：{sim}中没有events/report.parquet（请先模拟一座城市）", sim=str(sim_dir)))
    frames, directory, _ = read_sim_events(sim_dir)
    return _pace({**frames, "report": pd.read_parquet(events / "report.parquet")}, directory, quantile, min_cases)


def pace_from_store(engine: Engine, actor: Actor, *, quantile: float = 0.1, min_cases: int = 5) -> dict[str, Any]:
    """The pace table from the store's reports and events (all jurisdictions: a city-wide policy figure)."""
    actor.require(PACE_READERS, Reason("测算诈骗节奏"))
    repo = EventRepository(engine)
    reports = repo.frame("report")

    def named(column: str) -> set[str]:
        return {str(v) for values in reports[column] for v in (values or [])}

    # only the events that touch what the reports name: a year of a city's traffic does not fit in memory
    numbers = named("numbers")
    frames = {
        "report": reports,
        "call": repo.frame_touching("call", ("caller", "callee"), numbers),
        "sms": repo.frame_touching("sms", ("sender", "receiver"), numbers),
        "url_visit": repo.frame_touching("url_visit", ("url",), named("urls")),
        "transfer": repo.frame_touching("transfer", ("payee_account",), named("accounts")),
    }
    directory = store_directory(repo)
    # when the events begin is a property of all of them, not of the few read
    starts = [t for t in (repo.first_time("call"), repo.first_time("sms")) if t is not None]
    return _pace(frames, directory, quantile, min_cases, pd.Timestamp(min(starts)) if starts else None)
