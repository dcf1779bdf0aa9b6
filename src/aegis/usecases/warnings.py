"""Use cases of warning and dissuasion (防): raise warnings from leads, work them by role, measure them.

Three parts:

- *the fusion loop* (:class:`WarningPipeline`): events in time order -> leads -> fusion features -> P(victim),
  fraud type, reasons -> level by the policy -> warning requests. Pure and in memory; the store, the
  evaluation and the benchmark all run it.
- *the workflow* over the store: raise (or update) warnings, list / take / contact / close them, escalate
  overdue ones, statistics. Every step takes an :class:`Actor`; a police station sees and touches only
  warnings about residents of its own station, a district bureau those of its district. Every change is
  written to the audit log with the actor and the reasons, in the same transaction as the change.
- *the evaluation on a simulated city* (:func:`evaluate_sim`) and training the default fusion model on one.

Entity risk on simulated cities (:func:`sim_entity_risk`) is stated plainly: the citizens' reports of the
city (each reported number, account, domain and app is known as risky from the report's time on), plus
*simulated detector coverage* drawn from the simulator's truth (each fraud number, domain, app and mule
account is flagged with probability ``coverage``, and a share ``false_rate`` of ordinary numbers and payee
accounts is flagged by mistake), plus the shipped text model for SMS when present. In the store,
:func:`raise_warnings_for_city` uses the detectors' ``risk_profile`` rows and the stored reports instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from aegis.actions import warnings as wf
from aegis.decisions.warning_policy import CHANNELS, LEVELS, Policy, load_policy
from aegis.detectors.victim import NORMAL, VictimDetector
from aegis.features.url_features import host_of
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
from aegis.store.repositories import AuditLog, EventRepository
from aegis.store.schema import EVENT_TABLES, risk_profile
from aegis.store.schema_warnings import warning, warning_lead
from aegis.usecases.actor import POLICE_ROLES, Actor, Role

log = logging.getLogger(__name__)

LEAD_EVENT_KINDS = ("call", "sms", "transfer", "url_visit", "app_install")
RAISERS = frozenset({Role.system, Role.city_centre})
READERS = POLICE_ROLES | {Role.system}
#: public list of legitimate screen-sharing / remote-control apps that fraudsters make victims install
REMOTE_CONTROL_PACKAGES = frozenset(
    {
        "com.tencent.wemeet.app",
        "com.oray.sunlogin",
        "com.youqu.todesk",
        "us.zoom.videomeetings",
        "com.teamviewer.teamviewer.market.mobile",
        "com.anydesk.anydeskandroid",
    }
)


# --- the fusion loop ---------------------------------------------------------------------------------------


def text_scorer_from_default_model() -> Any:
    """The shipped text model as an SMS scorer, or None when no default text model is installed."""
    from aegis.training.modelstore import ModelError, load_model

    try:
        detector = load_model(None, "text").detector
    except (ModelError, FileNotFoundError):
        return None

    def score(texts: list[str]) -> tuple[np.ndarray, list[str | None]]:
        verdicts = detector.predict(texts)
        return np.array([v.score for v in verdicts]), [v.fraud_type or None for v in verdicts]

    return score


@dataclass
class WarningPipeline:
    """Events (in time-ordered batches) to scored leads, carrying the streaming state of both stages."""

    detector: VictimDetector | None
    policy: Policy
    risk: EntityRisk
    directory: Directory
    leads: LeadState = field(default_factory=LeadState)
    fusion: FusionState = field(default_factory=FusionState)

    def features(self, events: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        self.leads, new = extract_leads(self.leads, events, self.risk, self.directory)
        self.fusion, rows = fusion_features(self.fusion, new, self.directory.age)
        return rows

    def score(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Adds ``probability, level`` to feature rows, and ``predicted_type, reasons`` where a warning is due."""
        if self.detector is None:
            raise ValueError("model: the pipeline has no fusion model to score with")
        if rows.empty:
            return rows.assign(probability=[], predicted_type=[], level=[], reasons=[])
        probability = self.detector.score(rows)
        level = self.policy.levels_for(probability, rows)
        # the fraud type and the reasons matter only where a warning is due (the type model is the costly part)
        due = np.flatnonzero(level != "")
        types = np.full(len(rows), "", dtype=object)
        reasons: list[tuple[str, ...]] = [()] * len(rows)
        if len(due):
            types[due] = self.detector.fraud_types(rows.iloc[due])
            # the type's pace may relax the level (a scam that takes weeks is not the city's 30-minute visit)
            level[due] = self.policy.levels_for(probability[due], rows.iloc[due], types[due])
            for i, r in zip(due, self.detector.reasons(rows.iloc[due]), strict=True):
                reasons[i] = r
        return rows.assign(probability=probability, predicted_type=types, level=level, reasons=reasons)

    def step(self, events: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
        return self.score(self.features(events))


def requests_from(scored: pd.DataFrame) -> list[wf.WarningRequest]:
    """The warning requests of scored leads: every lead whose level is due, with its fusion features."""
    due = scored[scored["level"] != ""]
    features = due.reindex(columns=list(FEATURES)).astype(float)
    # JSON has no NaN: a missing feature is stored as null and read back as NaN
    records = features.astype(object).where(features.notna(), None).to_dict("records")
    return [
        wf.WarningRequest(
            r.person_id,
            str(r.predicted_type),
            float(r.probability),
            str(r.level),
            tuple(r.reasons),
            str(r.lead_id),
            r.time.to_pydatetime(),
            f,
        )
        for r, f in zip(due.itertuples(index=False), records, strict=True)
    ]


def daily_batches(frames: Mapping[str, pd.DataFrame], freq: str = "1D") -> Iterator[dict[str, pd.DataFrame]]:
    """The lead events cut into consecutive time batches (all kinds of one period together)."""
    times = {k: pd.to_datetime(f["start" if k == "call" else "time"], utc=True) for k, f in frames.items()}
    starts = [t.min() for t in times.values() if len(t)]
    ends = [t.max() for t in times.values() if len(t)]
    if not starts:
        return
    for begin in pd.date_range(min(starts).floor(freq), max(ends), freq=freq):
        end = begin + pd.Timedelta(freq)
        yield {k: f[((times[k] >= begin) & (times[k] < end)).to_numpy()] for k, f in frames.items()}


# --- entity risk ---------------------------------------------------------------------------------------------


def risk_from_reports(reports: pd.DataFrame, remote_apps: frozenset[str] = REMOTE_CONTROL_PACKAGES) -> EntityRisk:
    """Every number, account, domain and app named in a citizen's report is risky from the report's time.

    Legitimate remote-control apps named in reports are not blacklisted (they are a lead of their own).
    """

    def table(column: str, transform: Any = None) -> pd.DataFrame:
        if reports.empty or column not in reports:
            return risk_table()
        exploded = reports[[column, "time", "fraud_type"]].explode(column).dropna(subset=[column])
        entities = exploded[column].astype(str)
        if transform is not None:
            entities = transform(entities)
        keep = ~entities.isin(remote_apps)
        exploded, entities = exploded[keep.to_numpy()], entities[keep]
        frame = risk_table(
            entities.tolist(),
            0.95,
            exploded["fraud_type"].tolist(),
            pd.to_datetime(exploded["time"], utc=True).tolist(),
        )
        return frame.sort_values("since").drop_duplicates("entity")

    return EntityRisk(
        numbers=table("numbers"),
        accounts=table("accounts"),
        domains=table("urls", lambda urls: urls.map(host_of)),
        apps=table("apps"),
        remote_apps=remote_apps,
    )


def sim_entity_risk(
    sim_dir: Path, *, coverage: float = 0.7, false_rate: float = 0.002, seed: int = 0, text: bool = True
) -> EntityRisk:
    """Entity risk for a simulated city: its reports, simulated detector coverage from its truth, text model."""
    truth = sim_dir / "truth"
    rng = np.random.default_rng(seed)
    gangs = pd.read_parquet(truth / "gangs.parquet").set_index("gang_id")["fraud_type"]

    def flagged(frame: pd.DataFrame, entity: str, is_fraud: pd.Series, types: pd.Series) -> pd.DataFrame:
        hit = is_fraud.to_numpy() & (rng.random(len(frame)) < coverage)
        wrong = ~is_fraud.to_numpy() & (rng.random(len(frame)) < false_rate)
        scores = np.where(hit, rng.uniform(0.6, 1.0, len(frame)), rng.uniform(0.5, 0.8, len(frame)))
        sel = hit | wrong
        known_types = [t if isinstance(t, str) else None for t in types.to_numpy()[sel]]
        return risk_table(
            frame[entity][sel].astype(str).tolist(),
            scores[sel],
            [t if flag else None for t, flag in zip(known_types, hit[sel], strict=True)],
        )

    numbers = pd.read_parquet(truth / "numbers.parquet")
    accounts = pd.read_parquet(truth / "accounts.parquet")
    domains = pd.read_parquet(truth / "domains.parquet")
    apps = pd.read_parquet(truth / "apps.parquet")
    fraud_apps = apps["category"] == "fraud_app"
    simulated = EntityRisk(
        numbers=flagged(numbers, "number", numbers["is_fraud"].astype(bool), numbers["gang_id"].map(gangs)),
        accounts=flagged(accounts, "account", accounts["is_mule"].astype(bool), accounts["gang_id"].map(gangs)),
        domains=flagged(domains, "domain", domains["is_fraud"].astype(bool), domains["fraud_type"]),
        apps=flagged(apps, "package", fraud_apps, apps["gang_id"].map(gangs)),
        remote_apps=REMOTE_CONTROL_PACKAGES | frozenset(apps.loc[apps["category"] == "remote_control", "package"]),
    )
    simulated.domains["entity"] = simulated.domains["entity"].astype(str).map(host_of)
    # the same guard as the store's: a false flag on a site half the city visits is dropped, not warned about
    visits = pd.read_parquet(sim_dir / "events" / "url_visit.parquet", columns=["person_id", "url"])
    residents = len(pd.read_parquet(sim_dir / "events" / "person.parquet", columns=["person_id"]))
    popular = popular_hosts(visits, residents)
    simulated.domains = simulated.domains[~simulated.domains["entity"].isin(popular)].reset_index(drop=True)
    risk = simulated.merged(
        risk_from_reports(pd.read_parquet(sim_dir / "events" / "report.parquet"), simulated.remote_apps)
    )
    risk.text_scorer = text_scorer_from_default_model() if text else None
    return risk


#: a fraud site is visited by its victims, a few people; a site visited by more than this share of the residents
#: is a popular site the URL model got wrong (unless a citizen's report names it: reports are merged in after)
POPULAR_SHARE = 0.01


def popular_hosts(visits: pd.DataFrame, residents: int) -> set[str]:
    """Hosts (``host_of``) visited by more than :data:`POPULAR_SHARE` of the residents (and by over 20 people)."""
    if visits.empty:
        return set()
    visitors = visits.assign(host=visits["url"].map(host_of)).groupby("host")["person_id"].nunique()
    return set(visitors[visitors > max(20, POPULAR_SHARE * max(residents, 1))].index)


def _popular_domains(events: EventRepository) -> set[str]:
    return popular_hosts(events.frame("url_visit", ["person_id", "url"]), events.count("person"))


def store_entity_risk(engine: Engine, *, min_score: float = 0.5) -> EntityRisk:
    """Entity risk from the store: the detectors' risk profiles plus the stored citizens' reports."""
    with engine.connect() as connection:
        rows = pd.DataFrame(
            connection.execute(
                select(
                    risk_profile.c.entity_type,
                    risk_profile.c.entity_id,
                    risk_profile.c.score,
                    risk_profile.c.fraud_type,
                ).where(risk_profile.c.score >= min_score)
            ).fetchall(),
            columns=["entity_type", "entity_id", "score", "fraud_type"],
        )

    domain = rows["entity_type"] == "domain"
    rows.loc[domain, "entity_id"] = rows.loc[domain, "entity_id"].map(host_of)
    rows = rows[~(domain & rows["entity_id"].isin(_popular_domains(EventRepository(engine))))]

    def of(kind: str) -> pd.DataFrame:
        sel = rows[rows["entity_type"] == kind]
        return risk_table(sel["entity_id"].tolist(), sel["score"].to_numpy(), sel["fraud_type"].tolist())

    profiles = EntityRisk(
        numbers=of("number"),
        accounts=of("account"),
        domains=of("domain"),
        apps=of("app"),
        remote_apps=REMOTE_CONTROL_PACKAGES,
        min_score=min_score,
    )
    risk = profiles.merged(risk_from_reports(EventRepository(engine).frame("report")))
    risk.text_scorer = text_scorer_from_default_model()
    return risk


# --- reading a simulated city ----------------------------------------------------------------------------------


def _read_events(sim_dir: Path) -> tuple[dict[str, pd.DataFrame], Directory, pd.DataFrame]:
    events = sim_dir / "events"
    if not events.is_dir():
        raise FileNotFoundError(f"sim: {sim_dir} has no events/ folder (simulate a city first)")
    frames = {k: pd.read_parquet(events / f"{k}.parquet") for k in LEAD_EVENT_KINDS}
    person = pd.read_parquet(events / "person.parquet", columns=["person_id", "age", "district", "station"])
    directory = Directory.from_frames(
        pd.read_parquet(events / "sim_opening.parquet", columns=["number", "person_id"]),
        pd.read_parquet(events / "account_opening.parquet", columns=["account", "person_id"]),
        person,
    )
    return frames, directory, person


def sim_features(sim_dir: Path, risk: EntityRisk, policy: Policy | None = None) -> pd.DataFrame:
    """Fusion feature rows of every lead of a simulated city, replayed in daily batches."""
    frames, directory, _ = _read_events(sim_dir)
    pipeline = WarningPipeline(None, policy or load_policy(), risk, directory)
    rows = [pipeline.features(batch) for batch in daily_batches(frames)]
    rows = [r for r in rows if len(r)]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def sim_labels(rows: pd.DataFrame, victims: pd.DataFrame) -> pd.Series:
    """Training label of each lead row: the victim's fraud type from a day before first contact, else normal.

    Rows of a victim long before the fraud began are neither: they get ``None`` and are left out of training.
    """
    v = victims.drop_duplicates("person_id").set_index("person_id")
    contact = rows["person_id"].map(v["first_contact_time"])
    ftype = rows["person_id"].map(v["fraud_type"]).astype(object)
    label = pd.Series(NORMAL, index=rows.index, dtype=object)
    is_victim = contact.notna()
    during = is_victim & (rows["time"] >= contact - pd.Timedelta(days=1))
    label[during] = ftype[during]
    label[is_victim & ~during] = None
    return label


def train_from_sim(sim_dir: Path, out: Path, *, risk_seed: int = 0, n_estimators: int = 200,
                   outcomes: pd.DataFrame | None = None) -> dict[str, Any]:
    """Train the fusion model on one simulated city and save it with its card.

    ``outcomes`` (from :func:`outcome_rows`) adds the leads of closed real warnings, labelled by their
    outcome, to the city's rows: what officers found out flows back into the model.
    """
    from aegis.training.modelstore import save_model

    risk = sim_entity_risk(sim_dir, seed=risk_seed)
    rows = sim_features(sim_dir, risk)
    victims = pd.read_parquet(sim_dir / "truth" / "victims.parquet")
    labels = sim_labels(rows, victims)
    keep = labels.notna().to_numpy()
    rows, labels = rows[keep], labels[keep]
    if outcomes is not None and len(outcomes):
        # the store's person ids must not meet the simulated city's in one cross-validation group
        real = outcomes.assign(person_id="outcome:" + outcomes["person_id"].astype(str))
        rows = pd.concat([rows, real.drop(columns="label")], ignore_index=True)
        labels = pd.concat([labels, real["label"]], ignore_index=True)
    detector = VictimDetector(n_estimators=n_estimators).fit(rows, labels.to_numpy())
    manifest = sim_dir / "manifest.json"
    config = json.loads(manifest.read_text()).get("config", {}) if manifest.exists() else {}
    data = {
        "simulated_city": str(sim_dir),
        "people": config.get("people"),
        "days": config.get("days"),
        "seed": config.get("seed"),
        "lead_rows": len(rows),
        "victim_rows": int((labels != NORMAL).sum()),
        "outcome_rows": 0 if outcomes is None else len(outcomes),
        "outcome_warnings": 0 if outcomes is None or outcomes.empty else int(outcomes["warning_id"].nunique()),
        "victims": len(victims),
        "entity_risk": f"reports + simulated detector coverage 0.7 / false rate 0.002 (seed {risk_seed})"
        + (" + text model" if risk.text_scorer else ""),
    }
    notes = (
        "Trained on a simulated city only. Out-of-fold figures are grouped by person on the training city; "
        "the figures that count come from `aegis evaluate warnings --sim DIR` on a city of another seed."
    )
    return save_model(detector, out, data=data, metrics=detector.cv_metrics_, notes=notes)


# --- evaluation --------------------------------------------------------------------------------------------


def _quantile_h(values: pd.Series, q: float) -> float | None:
    return None if values.empty else round(float(values.quantile(q)) / 3600.0, 2)


def contact_deadlines(requests: list[wf.WarningRequest], policy: Policy, first_loss: pd.Series) -> pd.Series:
    """Per victim, the earliest contact deadline its warnings had before the first fraudulent transfer.

    Replays the requests through the workflow's own rules (:func:`aegis.actions.warnings.new_warning` and
    :func:`~aegis.actions.warnings.update_with_lead`: a later, more severe lead can only bring the deadline
    closer), ignoring requests made once the money had gone. Persons never warned in time are absent.
    """
    open_rows: dict[str, dict[str, Any]] = {}
    for request in sorted(requests, key=lambda r: r.time):
        loss = first_loss.get(request.person_id)
        if loss is None or request.time >= loss:
            continue
        key = wf.open_key(request.person_id, request.fraud_type)
        row = open_rows.get(key)
        if row is None:
            open_rows[key] = wf.new_warning(request, policy, city=None, district="", station="", now=request.time)
        else:
            row.update(wf.update_with_lead(row, request, policy, request.time) or {})
    deadlines = pd.Series({key: row["deadline"] for key, row in open_rows.items()}, dtype="datetime64[ns, UTC]")
    return deadlines.groupby(deadlines.index.str.split("|").str[0]).min()


def evaluate_sim(
    sim_dir: Path, model: Path | None = None, policy: Path | None = None, *, risk_seed: int = 1
) -> dict[str, Any]:
    """Replay a simulated city through the fusion loop and measure its warnings against the truth.

    A warning is the first due request about a (person, predicted fraud type); it counts as "before the
    first transfer" only if raised strictly before the victim's first fraudulent transfer.
    """
    from aegis.training.modelstore import load_model

    loaded = load_model(model, "victim")
    pol = load_policy(policy)
    risk = sim_entity_risk(sim_dir, seed=risk_seed)
    frames, directory, person = _read_events(sim_dir)
    pipeline = WarningPipeline(loaded.detector, pol, risk, directory)  # type: ignore[arg-type]
    scored = [pipeline.step(batch) for batch in daily_batches(frames)]
    scored = [s for s in scored if len(s)]
    all_rows = (
        pd.concat(scored, ignore_index=True)
        if scored
        else pd.DataFrame(columns=["person_id", "time", "level", "predicted_type", "probability"])
    )
    due = all_rows[all_rows["level"] != ""].sort_values("time")
    warnings = due.drop_duplicates(["person_id", "predicted_type"], keep="first")

    victims = pd.read_parquet(sim_dir / "truth" / "victims.parquet").drop_duplicates("person_id")
    first_loss = victims.set_index("person_id")["first_loss_time"]
    times = [pd.to_datetime(f["start" if k == "call" else "time"], utc=True) for k, f in frames.items() if len(f)]
    days = (
        max(1.0, (max(t.max() for t in times) - min(t.min() for t in times)).total_seconds() / 86400) if times else 1.0
    )
    people = len(person)

    earliest = warnings.groupby("person_id")["time"].min()
    v = victims.assign(warned_at=victims["person_id"].map(earliest))
    v["before"] = v["warned_at"].notna() & (v["warned_at"] < v["first_loss_time"])
    v["lead_s"] = (v["first_loss_time"] - v["warned_at"]).dt.total_seconds()
    deadline = v["person_id"].map(contact_deadlines(requests_from(all_rows), pol, first_loss))
    v["in_time"] = deadline.notna() & (deadline <= v["first_loss_time"])
    w = warnings.assign(
        true_victim=warnings["person_id"].isin(first_loss.index),
        true_type=warnings["person_id"].map(victims.set_index("person_id")["fraud_type"]),
    )

    def victim_block(sub: pd.DataFrame) -> dict[str, Any]:
        lead = sub.loc[sub["before"], "lead_s"]
        return {
            "victims": len(sub),
            "warned_before_first_transfer": round(float(sub["before"].mean()), 3) if len(sub) else None,
            "contact_deadline_before_first_transfer": round(float(sub["in_time"].mean()), 3) if len(sub) else None,
            "lead_time_h_median": _quantile_h(lead, 0.5),
            "lead_time_h_p10": _quantile_h(lead, 0.1),
        }

    def warning_block(sub: pd.DataFrame) -> dict[str, Any]:
        return {
            "warnings": len(sub),
            "precision": round(float(sub["true_victim"].mean()), 3) if len(sub) else None,
            "warnings_per_10k_people_day": round(len(sub) / people / days * 1e4, 3),
        }

    def level_block(sub: pd.DataFrame, level: str) -> dict[str, Any]:
        """Where a level's warnings go, and whether their first deadline fell before a victim's first loss."""
        if sub.empty:
            return {"queues": {}, "victim_warnings_deadline_in_time": None}
        queues = sub["predicted_type"].map(lambda t: pol.dispatch(level, t).queue).value_counts()
        deadline = sub["time"] + sub["predicted_type"].map(lambda t: pd.Timedelta(pol.dispatch(level, t).deadline))
        loss = sub["person_id"].map(first_loss)
        real = loss.notna()
        return {
            "queues": {q: int(n) for q, n in queues.items()},
            "victim_warnings_deadline_in_time": round(float((deadline[real] < loss[real]).mean()), 3)
            if real.any() else None,
        }

    by_type: dict[str, Any] = {}
    for ftype in sorted(set(victims["fraud_type"]) | set(w["predicted_type"])):
        by_type[ftype] = {**victim_block(v[v["fraud_type"] == ftype]), **warning_block(w[w["predicted_type"] == ftype])}
    on_victims = w[w["true_victim"]]
    return {
        "sim": str(sim_dir),
        "people": people,
        "days": round(days, 1),
        "model": loaded.card.get("data", {}),
        "policy_version": pol.version,
        "entity_risk": f"reports + simulated detector coverage 0.7 / false rate 0.002 (seed {risk_seed})"
        + (" + text model" if risk.text_scorer else ""),
        "overall": {
            **victim_block(v),
            **warning_block(w),
            "type_accuracy_on_victims": round(
                float((on_victims["predicted_type"] == on_victims["true_type"]).mean()), 3
            )
            if len(on_victims)
            else None,
        },
        "by_level": {lv: {**warning_block(w[w["level"] == lv]), **level_block(w[w["level"] == lv], lv)}
                     for lv in LEVELS},
        "by_fraud_type": by_type,
        "targets": {"warned_before_first_transfer": 0.8, "precision": 0.8},
    }


# --- the workflow over the store ---------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _scoped(query: Any, actor: Actor) -> Any:
    """Restrict a query on warnings to the actor's jurisdiction (三级联动)."""
    actor.require(READERS, "work on warnings")
    if actor.role is Role.police_station:
        return query.where(warning.c.station == actor.station)
    if actor.role is Role.district_bureau:
        return query.where(warning.c.district == actor.district)
    return query


def _row(connection: Connection, actor: Actor, warning_id: str, *, lock: bool = False) -> dict[str, Any]:
    query = select(warning).where(warning.c.warning_id == warning_id)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update()
    found = connection.execute(query).mappings().first()
    # the same answer for "does not exist" and "not yours": a station learns nothing of others' warnings
    if found is None or not actor.covers(district=found["district"], station=found["station"]):
        raise LookupError(f"warning: no warning {warning_id} in your jurisdiction")
    return dict(found)


def _audit(
    connection: Connection, actor: Actor, action: str, row: dict[str, Any], reasons: Any, details: dict[str, Any]
) -> None:
    AuditLog(connection.engine).append(
        actor=actor.label,
        action=action,
        subject_type="warning",
        subject_id=row["warning_id"],
        reasons=list(reasons),
        details={"person_id": row["person_id"], "fraud_type": row["fraud_type"], **details},
        connection=connection,
    )


def _jurisdictions(connection: Connection, persons: list[str]) -> dict[str, tuple[str | None, str, str]]:
    table = EVENT_TABLES["person"]
    out: dict[str, tuple[str | None, str, str]] = {}
    for start in range(0, len(persons), 900):
        chunk = persons[start : start + 900]
        for r in connection.execute(
            select(table.c.person_id, table.c.city, table.c.district, table.c.station).where(
                table.c.person_id.in_(chunk)
            )
        ):
            out[r.person_id] = (r.city, r.district, r.station)
    return out


def raise_warnings(
    engine: Engine,
    actor: Actor,
    requests: list[wf.WarningRequest],
    *,
    policy: Policy | None = None,
    now: datetime | None = None,
) -> dict[str, int]:
    """Open a warning per (person, fraud type), or update the open one; returns counts of what happened.

    Idempotent: a retried request (same lead) changes nothing, and the database's unique ``open_key``
    guarantees one open warning per person and type even when two raisers race.
    """
    actor.require(RAISERS, "raise warnings")
    policy = policy or load_policy()
    counts = {"opened": 0, "updated": 0, "unchanged": 0, "unknown_person": 0}
    with engine.connect() as connection:
        places = _jurisdictions(connection, sorted({r.person_id for r in requests}))
    for request in requests:
        if request.person_id not in places:
            counts["unknown_person"] += 1
            continue
        for attempt in range(2):
            try:
                with engine.begin() as connection:
                    counts[_raise_one(connection, actor, request, policy, places[request.person_id], _now(now))] += 1
                break
            except IntegrityError:
                if attempt:  # someone opened it between our read and our insert: the retry updates it
                    raise
    return counts


def _raise_one(
    connection: Connection,
    actor: Actor,
    request: wf.WarningRequest,
    policy: Policy,
    place: tuple[str | None, str, str],
    now: datetime,
) -> str:
    key = wf.open_key(request.person_id, request.fraud_type)
    query = select(warning).where(warning.c.open_key == key)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    existing = connection.execute(query).mappings().first()
    if existing is None:
        row = wf.new_warning(request, policy, city=place[0], district=place[1], station=place[2], now=now)
        connection.execute(insert(warning).values(**row))
        _record_lead(connection, row["warning_id"], request)
        _audit(
            connection,
            actor,
            "warning.raise",
            row,
            request.reasons,
            {
                "level": row["level"],
                "probability": row["probability"],
                "queue": row["queue"],
                "deadline": row["deadline"].isoformat(),
                "lead_id": request.lead_id,
                "policy_version": policy.version,
            },
        )
        return "opened"
    changes = wf.update_with_lead(dict(existing), request, policy, now)
    if changes is None:
        return "unchanged"
    connection.execute(update(warning).where(warning.c.warning_id == existing["warning_id"]).values(**changes))
    _record_lead(connection, existing["warning_id"], request)
    _audit(
        connection,
        actor,
        "warning.update",
        dict(existing),
        request.reasons,
        {
            "lead_id": request.lead_id,
            "level": changes.get("level", existing["level"]),
            "probability": changes["probability"],
        },
    )
    return "updated"


def _record_lead(connection: Connection, warning_id: str, request: wf.WarningRequest) -> None:
    """Keep the lead and its features with the warning (a lead seen again, out of order, is kept once)."""
    values = {"warning_id": warning_id, "lead_id": request.lead_id, "time": request.time,
              "probability": float(request.probability), "level": request.level,
              "features": dict(request.features) if request.features is not None else None}
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(dialect.insert(warning_lead).values(**values).on_conflict_do_nothing())


def outcome_rows(engine: Engine, actor: Actor) -> pd.DataFrame:
    """The fusion feature rows of the leads behind closed warnings, labelled by what the officer found.

    Dissuaded and already defrauded persons were real victims (label: the warning's fraud type); a false
    alarm was not (label ``normal``). Columns: ``warning_id, lead_id, person_id, time, label`` and
    :data:`~aegis.features.victim_leads.FEATURES`. All jurisdictions: the centre retrains the city's model.
    """
    actor.require(RAISERS, "read warning outcomes for training")
    query = (
        select(warning.c.warning_id, warning.c.person_id, warning.c.fraud_type, warning.c.outcome,
               warning_lead.c.lead_id, warning_lead.c.time, warning_lead.c.features)
        .join(warning_lead, warning_lead.c.warning_id == warning.c.warning_id)
        .where(warning.c.status == "closed", warning.c.outcome.is_not(None))
        .order_by(warning_lead.c.time, warning_lead.c.lead_id)
    )
    with engine.connect() as connection:
        # a lead raised without features (by hand, through the API) cannot teach the model
        found = [r for r in connection.execute(query).mappings() if r["features"]]
    features = pd.DataFrame([r["features"] for r in found], columns=list(FEATURES), dtype=float)
    return pd.concat([
        pd.DataFrame({
            "warning_id": [r["warning_id"] for r in found],
            "lead_id": [r["lead_id"] for r in found],
            "person_id": [r["person_id"] for r in found],
            "time": pd.to_datetime([r["time"] for r in found], utc=True),
            "label": [NORMAL if r["outcome"] == "false_alarm" else r["fraud_type"] for r in found],
        }),
        features,
    ], axis=1)


def retrain_with_outcomes(engine: Engine, actor: Actor, sim_dir: Path, out: Path, *,
                          risk_seed: int = 0) -> dict[str, Any]:
    """Retrain the fusion model on a simulated city plus the store's closed warnings (see :func:`outcome_rows`)."""
    outcomes = outcome_rows(engine, actor)
    if outcomes.empty:
        raise ValueError("outcomes: no closed warning with stored leads yet; close warnings first")
    return train_from_sim(sim_dir, out, risk_seed=risk_seed, outcomes=outcomes)


def list_warnings(
    engine: Engine,
    actor: Actor,
    *,
    status: str | None = None,
    queue: str | None = None,
    level: str | None = None,
    open_only: bool = False,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Warnings of the actor's jurisdiction, most severe and most urgent first."""
    query = _scoped(select(warning), actor)
    if status:
        query = query.where(warning.c.status == status)
    if open_only:
        query = query.where(warning.c.status != "closed")
    if queue:
        query = query.where(warning.c.queue == queue)
    if level:
        query = query.where(warning.c.level == level)
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(query.order_by(warning.c.deadline).limit(limit)).mappings()]
    return sorted(rows, key=lambda r: (LEVELS.index(r["level"]), r["deadline"]))


def get_warning(engine: Engine, actor: Actor, warning_id: str) -> dict[str, Any]:
    actor.require(READERS, "read warnings")
    with engine.connect() as connection:
        row = _row(connection, actor, warning_id)
    row["history"] = [
        {"at": e["at"], "actor": e["actor"], "action": e["action"], "reasons": e["reasons"], "details": e["details"]}
        for e in AuditLog(engine).entries("warning", warning_id)
    ]
    return row


def _step(
    engine: Engine,
    actor: Actor,
    warning_id: str,
    action: str,
    changes: dict[str, Any],
    *,
    reasons: list[str],
    details: dict[str, Any],
    now: datetime | None,
) -> dict[str, Any]:
    actor.require(POLICE_ROLES, f"{action} warnings")
    with engine.begin() as connection:
        row = _row(connection, actor, warning_id, lock=True)
        status = wf.next_status(row["status"], details.get("result", action) if action == "contact" else action)
        values = {**changes, "status": status, "updated_at": _now(now)}
        if status == "closed":
            values |= {"open_key": None, "closed_at": _now(now)}
        connection.execute(update(warning).where(warning.c.warning_id == warning_id).values(**values))
        _audit(connection, actor, f"warning.{action}", row, reasons, {"from": row["status"], "to": status, **details})
        row.update(values)
    return row


def take_warning(engine: Engine, actor: Actor, warning_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    return _step(
        engine, actor, warning_id, "take", {"assigned_to": actor.label}, reasons=["taken"], details={}, now=now
    )


def record_contact(
    engine: Engine,
    actor: Actor,
    warning_id: str,
    *,
    channel: str,
    result: str,
    note: str = "",
    now: datetime | None = None,
) -> dict[str, Any]:
    """A contact attempt: SMS, a 96110-style call or a visit; ``unreachable`` sends the warning to locating."""
    if channel not in CHANNELS:
        raise ValueError(f"channel: '{channel}' is not one of {', '.join(CHANNELS)}")
    if result not in wf.CONTACT_RESULTS:
        raise ValueError(f"result: '{result}' is not one of {', '.join(wf.CONTACT_RESULTS)}")
    return _step(
        engine,
        actor,
        warning_id,
        "contact",
        {"contact_channel": channel},
        reasons=[note] if note else [],
        details={"channel": channel, "result": result},
        now=now,
    )


def close_warning(
    engine: Engine, actor: Actor, warning_id: str, *, outcome: str, note: str = "", now: datetime | None = None
) -> dict[str, Any]:
    """Close with an outcome; the outcome is the label that measures warning precision."""
    if outcome not in wf.OUTCOMES:
        raise ValueError(f"outcome: '{outcome}' is not one of {', '.join(wf.OUTCOMES)}")
    return _step(
        engine,
        actor,
        warning_id,
        "close",
        {"outcome": outcome},
        reasons=[note] if note else [],
        details={"outcome": outcome},
        now=now,
    )


def escalate_overdue(
    engine: Engine, actor: Actor, *, policy: Policy | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Move every warning of the actor's jurisdiction whose contact deadline passed up one tier."""
    actor.require(frozenset({Role.system, Role.city_centre, Role.district_bureau}), "escalate warnings")
    policy, at = policy or load_policy(), _now(now)
    moved = []
    query = _scoped(select(warning.c.warning_id), actor).where(
        warning.c.status.in_(wf.UNREACHED), warning.c.deadline <= at
    )
    with engine.connect() as connection:
        ids = list(connection.execute(query).scalars())
    for warning_id in ids:
        with engine.begin() as connection:
            row = _row(connection, actor, warning_id, lock=True)
            changes = wf.escalation(row, policy, at)
            if changes is None:  # handled meanwhile
                continue
            connection.execute(update(warning).where(warning.c.warning_id == warning_id).values(**changes))
            _audit(
                connection,
                actor,
                "warning.escalate",
                row,
                [f"deadline {row['deadline'].isoformat()} breached"],
                {"from_queue": row["queue"], "to_queue": changes["queue"], "deadline": changes["deadline"].isoformat()},
            )
            moved.append({**row, **changes})
    return moved


def warning_stats(engine: Engine, actor: Actor) -> dict[str, Any]:
    """Per level and fraud type: open, closed, outcomes, and precision (closed as not a false alarm)."""
    query = _scoped(
        select(warning.c.level, warning.c.fraud_type, warning.c.status, warning.c.outcome, func.count().label("n")),
        actor,
    )
    query = query.group_by(warning.c.level, warning.c.fraud_type, warning.c.status, warning.c.outcome)
    with engine.connect() as connection:
        frame = pd.DataFrame(
            connection.execute(query).fetchall(), columns=["level", "fraud_type", "status", "outcome", "n"]
        )

    def block(sub: pd.DataFrame) -> dict[str, Any]:
        closed = sub[sub["status"] == "closed"]
        labelled = int(closed["n"].sum())
        real = int(closed.loc[closed["outcome"] != "false_alarm", "n"].sum())
        outcomes = {o: int(closed.loc[closed["outcome"] == o, "n"].sum()) for o in wf.OUTCOMES}
        return {
            "total": int(sub["n"].sum()),
            "open": int(sub.loc[sub["status"] != "closed", "n"].sum()),
            "closed": labelled,
            "outcomes": outcomes,
            "precision": round(real / labelled, 3) if labelled else None,
        }

    return {
        "overall": block(frame),
        "by_level": {lv: block(frame[frame["level"] == lv]) for lv in LEVELS},
        "by_fraud_type": {t: block(frame[frame["fraud_type"] == t]) for t in sorted(set(frame["fraud_type"]))},
    }


# --- the demo -------------------------------------------------------------------------------------------------


def raise_warnings_for_city(
    engine: Engine,
    actor: Actor,
    *,
    model: Path | None = None,
    policy: Path | None = None,
    risk: EntityRisk | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Replay the stored events through the fusion loop and raise the warnings that are due."""
    from aegis.training.modelstore import load_model

    actor.require(RAISERS, "raise warnings")
    repo = EventRepository(engine)
    frames = {k: repo.frame(k) for k in LEAD_EVENT_KINDS}
    person = repo.frame("person", ["person_id", "age"])
    directory = Directory.from_frames(
        repo.frame("sim_opening", ["number", "person_id"]),
        repo.frame("account_opening", ["account", "person_id"]),
        person,
    )
    pol = load_policy(policy)
    pipeline = WarningPipeline(
        load_model(model, "victim").detector,
        pol,  # type: ignore[arg-type]
        risk or store_entity_risk(engine),
        directory,
    )
    requests: list[wf.WarningRequest] = []
    leads = 0
    for batch in daily_batches(frames):
        scored = pipeline.step(batch)
        leads += len(scored)
        requests += requests_from(scored) if len(scored) else []
    counts = raise_warnings(engine, actor, requests, policy=pol, now=now)
    return {"leads": leads, "requests": len(requests), **counts}


def walk_demo_workflow(engine: Engine, victims: Collection[str], *, count: int = 3,
                       now: datetime | None = None) -> list[dict[str, Any]]:
    """Take, contact and close a few open warnings as the officers of their own station, for the demo.

    The officer finds what the simulated city's truth says: a person in ``victims`` is being defrauded
    (dissuaded), anyone else was a false alarm.
    """
    city = Actor("demo-centre", Role.city_centre)
    walked = []
    for row in list_warnings(engine, city, status="new", limit=count):
        officer = Actor("demo-officer", Role.police_station, district=row["district"], station=row["station"])
        take_warning(engine, officer, row["warning_id"], now=now)
        reached = len(walked) % 3 != 2
        record_contact(
            engine,
            officer,
            row["warning_id"],
            channel="call" if reached else "visit",
            result="reached" if reached else "unreachable",
            now=now,
        )
        if not reached:  # the officer on site finds the person
            record_contact(engine, officer, row["warning_id"], channel="visit", result="reached", now=now)
        closed = close_warning(
            engine,
            officer,
            row["warning_id"],
            outcome="dissuaded" if row["person_id"] in victims else "false_alarm",
            now=now,
        )
        walked.append({"warning_id": closed["warning_id"], "station": row["station"], "outcome": closed["outcome"]})
    return walked
