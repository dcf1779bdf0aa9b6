"""The fusion loop of warnings (防) and the entity risk it reads.

Events in time order -> leads (contacts with risky numbers, fraud SMS, fraud sites and apps, risky payees)
-> fusion features per person -> P(victim), fraud type and reasons -> a level by the policy (with each fraud
type's pace) -> warning requests. :class:`WarningPipeline` is pure and in memory: the store's use cases
(:mod:`aegis.usecases.warnings`), the simulated evaluation (:mod:`aegis.usecases.warning_sim`) and the
benchmark all run it. What is risky comes from an :class:`~aegis.features.victim_leads.EntityRisk`: in the
store, the detectors' ``risk_profile`` rows plus the citizens' reports (:func:`store_entity_risk`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from aegis.actions import warnings as wf
from aegis.decisions.warning_policy import Policy
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
from aegis.reasons import InputError, Reason
from aegis.store.repositories import EventRepository
from aegis.store.schema import risk_profile

LEAD_EVENT_KINDS = ("call", "sms", "transfer", "url_visit", "app_install")
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
            raise InputError(Reason("model：流水线没有可用于评分的融合模型"))
        if rows.empty:
            return rows.assign(probability=[], predicted_type=[], level=[], reasons=[])
        probability = self.detector.score(rows)
        level = self.policy.levels_for(probability, rows)
        # the fraud type and the reasons matter only where a warning is due (the type model is the costly part)
        due = np.flatnonzero(level != "")
        types = np.full(len(rows), "", dtype=object)
        reasons: list[tuple[Reason, ...]] = [()] * len(rows)
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


def lead_labels(rows: pd.DataFrame, victims: pd.DataFrame) -> pd.Series:
    """Training label of each lead row: the victim's fraud type from a day before first contact, else normal.

    ``victims`` has ``person_id, fraud_type, first_contact_time`` (a simulated city's truth, or what a store's
    reports and closed warnings say). Rows of a victim long before the fraud began are neither: they get
    ``None`` and are left out of training.
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


def store_directory(repo: EventRepository) -> Directory:
    """Who holds which number and account, and residents' ages, from the store's openings and persons."""
    return Directory.from_frames(
        repo.frame("sim_opening", ["number", "person_id"]),
        repo.frame("account_opening", ["account", "person_id"]),
        repo.frame("person", ["person_id", "age"]),
    )


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
