"""Use cases of warning and dissuasion (防) over the store: raise warnings, work them by role, learn from them.

Every step takes an :class:`Actor`; a police station sees and touches only warnings about residents of its
own station, a district bureau those of its district. Every change is written to the audit log with the
actor and the reasons, in the same transaction as the change. The leads behind each warning are kept with
the features the model saw (shown with the warning). What the store learns later, citizens' reports and
closed warnings, labels its replayed leads for retraining (:func:`store_training_rows`, :func:`retrain`). The
fusion loop itself is :mod:`aegis.usecases.warning_pipeline`; the simulated evaluation
:mod:`aegis.usecases.warning_sim`.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from aegis.actions import warnings as wf
from aegis.decisions.warning_policy import CHANNELS, LEVELS, QUEUES, Policy, load_policy
from aegis.detectors.victim import NORMAL, VictimDetector
from aegis.events.models import CHINA_TZ, IDENT_CHARS, fraud_type_name
from aegis.features.case_timelines import case_timelines
from aegis.features.victim_leads import WINDOWS, Directory, EntityRisk, extract_leads
from aegis.names import CODE_NAMES, name_of
from aegis.reasons import DEFAULT_LANG, Explained, InputError, Lang, Reason, listing, loaded, render, stored
from aegis.store.engine import begin_write
from aegis.store.repositories import AuditLog, EventRepository, conflict_insert
from aegis.store.schema import audit_log
from aegis.store.schema_warnings import warning, warning_lead
from aegis.usecases import Say, check_one_of, person_text
from aegis.usecases.actor import POLICE_ROLES, Actor, PermissionDenied, Role
from aegis.usecases.audit import record_read
from aegis.usecases.places import check_place, home_places
from aegis.usecases.warning_pipeline import (
    LEAD_EVENT_KINDS,
    WarningPipeline,
    daily_batches,
    lead_labels,
    requests_from,
    store_directory,
    store_entity_risk,
)
from aegis.usecases.warning_sim import train_from_sim

RAISERS = frozenset({Role.system, Role.city_centre})
READERS = POLICE_ROLES | {Role.system}


class WarningsError(Explained, ValueError):
    """A value the warnings' use cases cannot act on (a bad limit, a store with nothing to learn from)."""


class UnknownWarning(Explained, LookupError):
    """No such warning in the actor's jurisdiction (the same answer for one that is another's)."""


# --- the workflow over the store ---------------------------------------------------------------------------


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _scoped(query: Any, actor: Actor) -> Any:
    """Restrict a query on warnings to the actor's jurisdiction (三级联动)."""
    actor.require(READERS, Reason("处置预警"))
    if actor.city and actor.role is not Role.system:
        query = query.where(warning.c.city == actor.city)
    if actor.role is Role.police_station:  # and of its district, where two districts have a station so named
        query = query.where(warning.c.station == actor.station)
        return query.where(warning.c.district == actor.district) if actor.district else query
    if actor.role is Role.district_bureau:
        return query.where(warning.c.district == actor.district)
    return query


def _row(connection: Connection, actor: Actor, warning_id: str, *, lock: bool = False) -> dict[str, Any]:
    query = select(warning).where(warning.c.warning_id == warning_id)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update()
    found = connection.execute(query).mappings().first()
    # the same answer for "does not exist" and "not yours": a station learns nothing of others' warnings
    if found is None or not actor.covers(district=found["district"], station=found["station"], city=found["city"]):
        raise UnknownWarning(Reason("warning：您的辖区内没有预警{warning}", warning=warning_id))
    return dict(found)


def _audit(
    connection: Connection, actor: Actor, action: str, row: dict[str, Any], reasons: Any, details: dict[str, Any],
    request_key: str | None = None,
) -> None:
    AuditLog(connection.engine).append_many([{
        "actor": actor.label,
        "action": action,
        "subject_type": "warning",
        "subject_id": row["warning_id"],
        "reasons": list(reasons),
        "details": {"person_id": row["person_id"], "fraud_type": row["fraud_type"], **details},
        "request_key": request_key,
    }], connection=connection)


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
    actor.require(RAISERS, Reason("生成预警"))
    policy = policy or load_policy()
    counts = {"opened": 0, "updated": 0, "unchanged": 0, "unknown_person": 0}
    with engine.connect() as connection:
        places = home_places(connection, (r.person_id for r in requests))
    for request in requests:
        if request.person_id not in places:
            counts["unknown_person"] += 1
            continue
        for attempt in range(2):
            try:
                with begin_write(engine) as connection:
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
    # asked only now, under the lock: a raiser that took the lead meanwhile has committed it (SQLite's writers
    # hold the store's write lock from their first statement, see aegis.store.begin_write)
    if _known_lead(connection, request):
        return "unchanged"
    if existing is None and _closed_since(connection, request):
        return "unchanged"
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
                **_given_by(request),
                "policy_version": policy.version,
            },
        )
        return "opened"
    changes = wf.update_with_lead(dict(existing), request, policy, now)
    if changes is None:
        return "unchanged"
    connection.execute(update(warning).where(warning.c.warning_id == existing["warning_id"]).values(**changes))
    _record_lead(connection, existing["warning_id"], request)
    after = {**existing, **changes}
    _audit(
        connection,
        actor,
        "warning.update",
        dict(existing),
        request.reasons,
        {
            "lead_id": request.lead_id,
            **_given_by(request),
            "level": after["level"],
            "probability": changes["probability"],
            # a more severe lead (a bank's held payment) re-routes the warning: where it waited, and until when, is
            # the history an auditor reads, as an escalation's entry says it
            "from_level": existing["level"],
            "from_queue": existing["queue"],
            "to_queue": after["queue"],
            "from_deadline": existing["deadline"].isoformat(),
            "deadline": after["deadline"].isoformat(),
        },
    )
    return "updated"


def _given_by(request: wf.WarningRequest) -> dict[str, str]:
    """Who gave a lead from outside, for the warning's history (the audit entry is Aegis's, which raised it)."""
    return {"lead_given_by": request.given_by} if request.given_by else {}


def _known_lead(connection: Connection, request: wf.WarningRequest) -> bool:
    """Whether a warning about this person and type already took this lead: a replay of the stored events
    (``aegis warnings raise`` again) sends every lead again, not only the last one each warning saw."""
    query = (select(warning_lead.c.lead_id)
             .join(warning, warning.c.warning_id == warning_lead.c.warning_id)
             .where(warning_lead.c.lead_id == request.lead_id, warning.c.person_id == request.person_id,
                    warning.c.fraud_type == request.fraud_type)
             .limit(1))
    return connection.execute(query).first() is not None


def _closed_since(connection: Connection, request: wf.WarningRequest) -> bool:
    """Whether a warning about this person and type was closed at or after the lead's time: the officer's outcome
    already answers for it (a payment decided a moment before the close, told to the warnings after it, used to
    open a new urgent warning)."""
    query = (select(warning.c.warning_id)
             .where(warning.c.person_id == request.person_id, warning.c.fraud_type == request.fraud_type,
                    warning.c.closed_at >= request.time)
             .limit(1))
    return connection.execute(query).first() is not None


def _record_lead(connection: Connection, warning_id: str, request: wf.WarningRequest) -> None:
    """Keep the lead and its features with the warning (a lead seen again, out of order, is kept once)."""
    values = {"warning_id": warning_id, "lead_id": request.lead_id, "time": request.time,
              "probability": float(request.probability), "level": request.level,
              "features": dict(request.features) if request.features is not None else None}
    connection.execute(conflict_insert(connection, warning_lead).values(**values).on_conflict_do_nothing())


#: a reported victim whose contact with the numbers and links the report names is not in the events is taken
#: to have been in the scam for this long before reporting it
REPORT_LOOKBACK = pd.Timedelta(days=7)


def store_victims(reports: pd.DataFrame, frames: Mapping[str, pd.DataFrame], directory: Directory,
                  closed: pd.DataFrame) -> pd.DataFrame:
    """Who the store knows was defrauded, of which type, and since when: ``person_id, fraud_type,
    first_contact_time``.

    Citizens' reports come first: the first contact is the victim's earliest call, SMS or visit with what the
    report names (:func:`aegis.features.case_timelines.case_timelines`), else :data:`REPORT_LOOKBACK` before
    the report. Then the closed warnings whose person was being defrauded (dissuaded or already defrauded),
    from their first lead. ``closed`` has ``person_id, fraud_type, outcome, first_lead_at``.
    """
    timelines = case_timelines(
        reports, (directory.number_owner, directory.account_owner),  # type: ignore[arg-type]
        calls=frames.get("call"), sms=frames.get("sms"), url_visits=frames.get("url_visit"),
        transfers=frames.get("transfer"), horizon_h=0.0,
    )
    reported = reports.reset_index(drop=True).assign(
        first_contact_time=pd.to_datetime(reports["time"], utc=True).reset_index(drop=True) - REPORT_LOOKBACK
    )
    found = timelines.set_index("case")["first_contact"]
    reported.loc[found.index, "first_contact_time"] = found.to_numpy()
    real = closed[closed["outcome"] != "false_alarm"].rename(columns={"first_lead_at": "first_contact_time"})
    both = pd.concat([
        reported[["victim_id", "fraud_type", "first_contact_time"]].rename(columns={"victim_id": "person_id"}),
        real[["person_id", "fraud_type", "first_contact_time"]],
    ], ignore_index=True)
    both["first_contact_time"] = pd.to_datetime(both["first_contact_time"], utc=True)
    both["from_report"] = np.arange(len(both)) < len(reported)
    # a citizen's report outranks an officer's outcome about the same person; of several, the earliest scam
    both = both.sort_values(["from_report", "first_contact_time"], ascending=[False, True], kind="stable")
    return both.drop_duplicates("person_id", keep="first").drop(columns="from_report").reset_index(drop=True)


def _store_events(engine: Engine, since: datetime | None = None) -> tuple[dict[str, pd.DataFrame], Directory]:
    """The stored lead events (all of them, or those at or after ``since``) and the directory of the store."""
    repo = EventRepository(engine)
    return {k: repo.frame(k, since=since) for k in LEAD_EVENT_KINDS}, store_directory(repo)


def store_training_rows(engine: Engine, actor: Actor, *, risk: EntityRisk | None = None
                        ) -> tuple[pd.DataFrame, pd.Series, dict[str, Any]]:
    """The store's leads replayed through the fusion loop, labelled by what the store learnt since.

    A lead row is a victim's (their fraud type) from a day before the scam's first contact, by citizens'
    reports and closed warnings (:func:`store_victims`); everyone else's rows are normal. Reported victims
    the model never warned teach it too: their leads are recomputed here, not read from past warnings.
    Returns the rows, the labels and what the model card should say. All jurisdictions: the city centre's job.
    """
    actor.require(RAISERS, Reason("重新训练预警模型"))
    frames, directory = _store_events(engine)
    pipeline = WarningPipeline(None, load_policy(), risk or store_entity_risk(engine), directory)
    found = [pipeline.features(batch) for batch in daily_batches(frames)]
    found = [f for f in found if len(f)]
    if not found:
        raise WarningsError(Reason("events：库中没有可供学习的线索（请先导入事件）"))
    rows = pd.concat(found, ignore_index=True)
    with engine.connect() as connection:
        closed = pd.DataFrame(
            connection.execute(
                select(warning.c.person_id, warning.c.fraud_type, warning.c.outcome, warning.c.first_lead_at)
                .where(warning.c.status == "closed", warning.c.outcome.is_not(None))
            ).fetchall(),
            columns=["person_id", "fraud_type", "outcome", "first_lead_at"],
        )
    reports = EventRepository(engine).frame("report")
    victims = store_victims(reports, frames, directory, closed)
    labels = lead_labels(rows, victims)
    keep = labels.notna().to_numpy()
    meta = {
        "lead_rows": int(keep.sum()),
        "victim_rows": int((labels[keep] != NORMAL).sum()),
        "reported_victims": int(reports["victim_id"].nunique()) if len(reports) else 0,
        "closed_warnings": len(closed),
        "false_alarms": int((closed["outcome"] == "false_alarm").sum()),
    }
    return rows[keep].reset_index(drop=True), labels[keep].reset_index(drop=True), meta


def retrain(engine: Engine, actor: Actor, sim_dir: Path, out: Path, *, risk: EntityRisk | None = None
            ) -> dict[str, Any]:
    """Retrain the fusion model on a simulated city plus the store's own labelled leads."""
    from aegis.usecases.models import writable_folder

    actor.require(RAISERS, Reason("重新训练预警模型"))  # before anything is said about the folder
    writable_folder(out)  # before the minutes of replay and training, not after
    rows, labels, meta = store_training_rows(engine, actor, risk=risk)
    if meta["victim_rows"] == 0:
        raise WarningsError(Reason("labels：库中尚无已知受害人（既无群众报案，也无发现受害人的已结案预警），"
                                   "没有自己的数据可学"))
    card = train_from_sim(sim_dir, out, store=(rows, labels, meta))
    # the store's reports and officers' outcomes went into a model that will raise warnings about people: who
    # had it learn them, and from how many, is asked after as any other use of them is (the counts as its card)
    AuditLog(engine).append(
        actor=actor.label, action="model.retrain", subject_type="model", subject_id=str(out),
        reasons=[learnt(meta, out)], details={"kind": "victim", "out": str(out), "sim": str(sim_dir), "store": meta},
    )
    return card


def learnt(store: Mapping[str, Any], out: Path) -> Reason:
    """What a retrained model learnt from the store (the card's ``store`` counts) and where it was written: the
    command's answer and the reason of its audit entry."""
    return Reason("除训练城市外，学习了存储中的{leads}条线索（受害人的{victims}条：已报案{reported}人，已办结预警"
                  "{closed}条，误报{false_alarms}条）；模型已写入{out}", leads=store.get("lead_rows"),
                  victims=store.get("victim_rows"), reported=store.get("reported_victims"),
                  closed=store.get("closed_warnings"), false_alarms=store.get("false_alarms"), out=str(out))


MAX_LISTED = 1000
"""the most warnings one listing shows (a page: ``offset`` reaches the rest)"""

MAX_OFFSET = 1_000_000_000
"""the most warnings a listing skips: far more than any store holds, and within the 64-bit integer a database
takes (an offset of 2^63 failed inside the driver, a 500)"""


def list_warnings(
    engine: Engine,
    actor: Actor,
    *,
    status: str | None = None,
    queue: str | None = None,
    level: str | None = None,
    open_only: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Warnings of the actor's jurisdiction, most severe and most urgent first: ``limit`` of them from ``offset``
    on in that order (:func:`count_warnings` says how many there are in all)."""
    if not 1 <= limit <= MAX_LISTED:
        raise WarningsError(Reason("{option}：须在{low:g}到{high:g}之间（收到{value:g}）", option="limit", low=1,
                                   high=MAX_LISTED, value=limit))
    if not 0 <= offset <= MAX_OFFSET:
        raise WarningsError(Reason("offset：须在0到{most}之间（收到{offset}）", most=f"{MAX_OFFSET:,}", offset=offset))
    query = _filtered(select(warning), actor, status=status, queue=queue, level=level, open_only=open_only)
    # ordered in the query, before the limit: cut by deadline first, a capped list left urgent warnings out for
    # medium ones due sooner; the id last, so that pages from one offset to the next neither repeat nor skip one
    severity = case({lv: rank for rank, lv in enumerate(LEVELS)}, value=warning.c.level, else_=len(LEVELS))
    query = query.order_by(severity, warning.c.deadline, warning.c.warning_id).limit(limit).offset(offset)
    with engine.connect() as connection:
        check_place(connection, actor)
        rows = [dict(r) for r in connection.execute(query).mappings()]
    record_read(engine, actor, action="warning.list", subject_type="warning", subject_id="*",
                shown=[r["warning_id"] for r in rows],
                details={"status": status, "queue": queue, "level": level, "open_only": open_only, "limit": limit,
                         "offset": offset})
    return rows


def count_warnings(engine: Engine, actor: Actor, *, status: str | None = None, queue: str | None = None,
                   level: str | None = None, open_only: bool = False) -> int:
    """How many warnings :func:`list_warnings` has to show with these filters, over all its pages (a count shows
    no one's data: it is not logged as a read)."""
    query = _filtered(select(func.count()).select_from(warning), actor, status=status, queue=queue, level=level,
                      open_only=open_only)
    with engine.connect() as connection:
        check_place(connection, actor)
        return int(connection.execute(query).scalar_one())


def _filtered(query: Any, actor: Actor, *, status: str | None, queue: str | None, level: str | None,
              open_only: bool) -> Any:
    """A query on warnings narrowed to the actor's jurisdiction and the filters of a listing, each checked."""
    check_one_of("status", status, wf.STATUSES)
    check_one_of("queue", queue, QUEUES)
    check_one_of("level", level, LEVELS)
    query = _scoped(query, actor)
    if status:
        query = query.where(warning.c.status == status)
    if open_only:
        query = query.where(warning.c.status != "closed")
    if queue:
        query = query.where(warning.c.queue == queue)
    if level:
        query = query.where(warning.c.level == level)
    return query


#: the coded fields of a warning that people read by name
NAMED_FIELDS = ("level", "status", "queue", "channel", "contact_channel", "outcome", "from_queue")


def shown(row: dict[str, Any], lang: Lang = DEFAULT_LANG) -> dict[str, Any]:
    """A warning as a person reads it: the names of its fraud type and coded fields (``names``: level, status,
    queue...) and its reasons (and those of its history) as text in ``lang``."""
    out = {**row, "fraud_type_name": fraud_type_name(row.get("fraud_type"), lang),
           "names": {f: name_of(row[f], lang) for f in NAMED_FIELDS if row.get(f)},
           "reasons": render(row.get("reasons"), lang)}
    if "history" in row:
        out["history"] = [{**e, "reasons": render(e.get("reasons"), lang)} for e in row["history"]]
    return out


def get_warning(engine: Engine, actor: Actor, warning_id: str) -> dict[str, Any]:
    actor.require(READERS, Reason("查看预警"))
    with engine.connect() as connection:
        check_place(connection, actor)
        row = _row(connection, actor, warning_id)
    row["history"] = [  # what was done about the warning; who read it is the audit log's business
        {"at": e["at"], "actor": e["actor"], "action": e["action"], "reasons": e["reasons"], "details": e["details"]}
        for e in AuditLog(engine).entries("warning", warning_id) if e["action"] not in READS
    ]
    with engine.connect() as connection:
        leads = connection.execute(
            select(warning_lead.c.lead_id, warning_lead.c.time, warning_lead.c.probability, warning_lead.c.level,
                   warning_lead.c.features)
            .where(warning_lead.c.warning_id == warning_id)
            .order_by(warning_lead.c.time, warning_lead.c.lead_id)
        ).mappings().all()
    row["leads"] = [dict(lead) for lead in leads]
    record_read(engine, actor, action="warning.read", subject_type="warning", subject_id=warning_id,
                shown=[warning_id])
    return row


READS = frozenset({"warning.list", "warning.read"})
"""the audit log's entries for officers shown a warning, not steps of its work"""


def _step(
    engine: Engine,
    actor: Actor,
    warning_id: str,
    action: str,
    changes: dict[str, Any],
    *,
    reasons: list[Reason | str],
    details: dict[str, Any],
    now: datetime | None,
    request_key: str | None = None,
) -> dict[str, Any]:
    actor.require(POLICE_ROLES, _STEPS[action])
    with begin_write(engine) as connection:
        check_place(connection, actor)
        row = _row(connection, actor, warning_id, lock=True)
        _check_may_work(actor, row, action)
        if _retried(connection, row, actor, action, changes, reasons) or _seen(connection, request_key, reasons,
                                                                                 details):
            return row
        if action == "take" and row["assigned_to"] and row["status"] not in ("new", "closed"):
            # an officer of the same jurisdiction, who sees the warning anyway, is told who has it
            raise wf.WorkflowError(Reason("status：预警{warning}已由{officer}接手", warning=warning_id,
                                           officer=row["assigned_to"]))
        status = wf.next_status(row["status"], details.get("result", action) if action == "contact" else action,
                                outcome=changes.get("outcome"))
        values = {**changes, "status": status, "updated_at": _now(now)}
        if status == "closed":
            values |= {"open_key": None, "closed_at": _now(now)}
        connection.execute(update(warning).where(warning.c.warning_id == warning_id).values(**values))
        _audit(connection, actor, f"warning.{action}", row, reasons, {"from": row["status"], "to": status, **details},
               request_key)
        row.update(values)
    return row


def _seen(connection: Connection, request_key: str | None, reasons: list[Reason | str],
          details: dict[str, Any]) -> bool:
    """Whether the request with this key was recorded already (read under the warning's lock, so two retries at
    once are served one after the other and the second finds the first). Recorded with other terms (another
    channel, result or note under the same ``request_id``), it is refused by name: a retry repeats its request
    exactly, and recording the other terms as well put two attempts under one id."""
    if request_key is None:
        return False
    kept = connection.execute(select(audit_log.c.details, audit_log.c.reasons)
                              .where(audit_log.c.request_key == request_key)).first()
    if kept is None:
        return False
    terms = ("channel", "result")
    if [kept.details.get(t) for t in terms] != [details.get(t) for t in terms] or (
            loaded(kept.reasons) != loaded(stored(reasons))):
        raise wf.WorkflowError(Reason("request_id：{request_id}已用于另一次联系（{kept}），重试须与原请求完全相同；"
                                      "新的一次联系请用新的request_id", request_id=details["request_id"],
                                      kept=listing(loaded(kept.reasons))))
    return True


def _retried(connection: Connection, row: dict[str, Any], actor: Actor, action: str,
             changes: dict[str, Any], reasons: list[Reason | str]) -> bool:
    """Whether a step asks for what the warning already is: a take by the officer who holds it (whether or not
    they have called since), a close with the outcome and note it was closed with by the officer who closed it (a
    client retrying after a lost answer). It is answered with the warning as it stands and nothing is recorded
    again. Anyone else, or another note (which would be dropped unread), is told it is closed. A contact is never a
    retry: a second call is a second attempt."""
    if action == "take":
        return bool(row["status"] not in ("new", "closed") and row["assigned_to"] == actor.label)
    if action == "close" and row["status"] == "closed" and row["outcome"] == changes["outcome"]:
        closed = connection.execute(
            select(audit_log.c.actor, audit_log.c.reasons)
            .where(audit_log.c.subject_type == "warning", audit_log.c.subject_id == row["warning_id"],
                   audit_log.c.action == "warning.close")
            .order_by(audit_log.c.id.desc()).limit(1)
        ).first()
        return closed is not None and closed.actor == actor.label and loaded(closed.reasons) == loaded(stored(reasons))
    return False


#: what each step of a warning's work is called where a role is refused it
_STEPS = {"take": Reason("签收预警"), "contact": Reason("记录对预警对象的联系"), "close": Reason("结案预警")}

_TIER = {Role.police_station: 0, Role.district_bureau: 1, Role.city_centre: 2, Role.system: 2}
"""how high in 三级联动 a role works: a warning's queue (station, district, city) says which tier must act"""


def _check_may_work(actor: Actor, row: dict[str, Any], action: str) -> None:
    """Once taken, a warning is its officer's: another officer of the same tier (a station's, a district's or the
    centre's colleague) may not record contacts on it or close it, since the outcome they write is the label the
    models learn from; a higher tier, which supervises, may. (Any tier may take a warning of its jurisdiction: the
    city centre's urgent visits are made by the station on the spot.)"""
    owner = row.get("assigned_to")
    if action != "take" and owner and owner != actor.label and _TIER[actor.role] <= _owner_tier(owner):
        raise PermissionDenied(Reason("预警{warning}：已由{officer}接手", warning=row["warning_id"], officer=owner))


def _owner_tier(owner: str) -> int:
    """The tier of the officer an ``assigned_to`` label (:attr:`Actor.label`, ``role:place/user``) names; one that
    cannot be read is taken as the highest, so only its own officer may act on the warning."""
    role = owner.split("/", 1)[0].split(":", 1)[0]
    try:
        return _TIER[Role(role)]
    except (ValueError, KeyError):
        return max(_TIER.values())


def take_warning(engine: Engine, actor: Actor, warning_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    return _step(
        engine, actor, warning_id, "take", {"assigned_to": actor.label}, reasons=[Reason("已签收")], details={},
        now=now,
    )


def record_contact(
    engine: Engine,
    actor: Actor,
    warning_id: str,
    *,
    channel: str,
    result: str,
    note: str = "",
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A contact attempt: SMS, a 96110-style call or a visit; ``unreachable`` sends the warning to locating.

    Each call records an attempt: a second call is a second attempt. A client that may send one attempt twice
    (a retry after a lost answer) gives it a ``request_id``: the same officer recording the same attempt with
    the same id again gets the warning as it stands, and nothing is recorded twice; the same id with another
    channel, result or note is refused (:class:`~aegis.actions.warnings.WorkflowError`, a 409 over HTTP)."""
    check_one_of("channel", channel, CHANNELS)
    check_one_of("result", result, wf.CONTACT_RESULTS)
    note = person_text("note", note)
    if request_id is not None:
        request_id = check_request_id(request_id)
    return _step(
        engine,
        actor,
        warning_id,
        "contact",
        {"contact_channel": channel},
        reasons=[Reason("{channel}：{result}", channel=CODE_NAMES[channel], result=CODE_NAMES[result]),
                 *([note] if note else [])],
        details={"channel": channel, "result": result, **({"request_id": request_id} if request_id else {})},
        request_key=_request_key(actor, "contact", warning_id, request_id),
        now=now,
    )


REQUEST_ID = re.compile(f"{IDENT_CHARS}{{1,64}}")
"""a client's id of one request, as the decisions API takes it (:data:`aegis.events.models.Ident`)"""


def check_request_id(request_id: str) -> str:
    if not REQUEST_ID.fullmatch(request_id):
        raise WarningsError(Reason("request_id：须为1至64个字母、数字或 + _ - . : 字符"))
    return request_id


def _request_key(actor: Actor, action: str, warning_id: str, request_id: str | None) -> str | None:
    """The audit log's key of a step sent with a ``request_id``: the officer's, of this warning. Not bound to what
    was asked: the same id sent with another result is the same request changed, refused (:func:`_seen`)."""
    if request_id is None:
        return None
    digest = hashlib.sha1("\x1f".join([actor.label, warning_id, request_id]).encode()).hexdigest()
    return f"warning.{action}|{digest}"


def close_warning(
    engine: Engine, actor: Actor, warning_id: str, *, outcome: str, note: str = "", now: datetime | None = None
) -> dict[str, Any]:
    """Close with an outcome; the outcome is the label that measures warning precision. Dissuaded and already
    defrauded need a contact that reached the person first (:data:`aegis.actions.warnings.NEEDS_REACHED`); a false
    alarm needs a note saying why, since it needs no one reached and its leads teach the model what is normal
    (:func:`store_training_rows`): a label nobody explained is one nobody can check."""
    check_one_of("outcome", outcome, wf.OUTCOMES)
    note = person_text("note", note)
    if outcome == "false_alarm" and not note:
        raise InputError(Reason("note：办结为{outcome}须写明原因（其线索将作为正常样本用于重新训练模型）",
                                outcome=CODE_NAMES[outcome]))
    return _step(
        engine,
        actor,
        warning_id,
        "close",
        {"outcome": outcome},
        reasons=[Reason("办结：{outcome}", outcome=CODE_NAMES[outcome]), *([note] if note else [])],
        details={"outcome": outcome},
        now=now,
    )


def escalate_overdue(
    engine: Engine, actor: Actor, *, policy: Policy | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Move every warning of the actor's jurisdiction whose contact deadline passed up one tier; one already in
    the city centre's queue stays there with a new deadline. Each row returned says where it was (``from_queue``)."""
    actor.require(frozenset({Role.system, Role.city_centre, Role.district_bureau}), Reason("升级预警"))
    policy, at = policy or load_policy(), _now(now)
    moved = []
    query = _scoped(select(warning.c.warning_id), actor).where(
        warning.c.status.in_(wf.UNREACHED), warning.c.deadline <= at,
        # a tier moves up what waits in its own queue or below, not what already waits above it
        warning.c.queue.in_(QUEUES[: _TIER[actor.role] + 1]),
    )
    with engine.connect() as connection:
        check_place(connection, actor)
        ids = list(connection.execute(query).scalars())
    for warning_id in ids:
        with begin_write(engine) as connection:
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
                [Reason("联系时限{deadline}已过",
                        deadline=row["deadline"].astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M"))],
                {"from_queue": row["queue"], "to_queue": changes["queue"], "deadline": changes["deadline"].isoformat()},
            )
            moved.append({**row, **changes, "from_queue": row["queue"]})
    return moved


def warning_stats(engine: Engine, actor: Actor) -> dict[str, Any]:
    """Per level and fraud type: open, closed, outcomes, and precision (closed as not a false alarm)."""
    query = _scoped(
        select(warning.c.level, warning.c.fraud_type, warning.c.status, warning.c.outcome, func.count().label("n")),
        actor,
    )
    query = query.group_by(warning.c.level, warning.c.fraud_type, warning.c.status, warning.c.outcome)
    with engine.connect() as connection:
        check_place(connection, actor)
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


REPLAY_MEMORY = max(WINDOWS.values())
"""how far back the fusion looks (its longest window): a windowed replay starts this much before its window"""


PROGRESS_EVERY = 3.0
"""seconds a replay goes without saying how far it is, at most (a dense city's day takes a few)"""


def raise_warnings_for_city(
    engine: Engine,
    actor: Actor,
    *,
    model: Path | None = None,
    policy: Path | None = None,
    risk: EntityRisk | None = None,
    window: timedelta | None = None,
    now: datetime | None = None,
    progress: Say | None = None,
) -> dict[str, Any]:
    """Replay the stored events through the fusion loop and raise the warnings that are due; ``progress`` hears
    each stage and, every week of events replayed, the days and leads so far.

    With ``window``, only the leads of that span before the latest stored event are raised, so a daily run
    does not replay the store's whole history. The replay starts the fusion's memory (:data:`REPLAY_MEMORY`)
    earlier, and what lead extraction keeps for all time (the payer-payee pairs seen, each payer's typical
    amount) is first learnt from the older transfers: in its window it raises what a whole replay raises."""
    from aegis.training.modelstore import load_model

    actor.require(RAISERS, Reason("生成预警"))
    if window is not None and window <= timedelta(0):
        raise WarningsError(Reason("window：须为正数（收到{window}）", window=window))
    repo = EventRepository(engine)
    start = None
    if window is not None:
        latest = [t for t in (repo.last_time(k) for k in LEAD_EVENT_KINDS) if t]
        start = max(latest) - window if latest else None
    replay_from = None if start is None else start - REPLAY_MEMORY
    say = progress or (lambda _: None)
    say(Reason("读取库中事件"))
    frames, directory = _store_events(engine, since=replay_from)
    say(Reason("已读取{events}条事件；载入预警模型与号码、账户风险画像",
               events=sum(len(frame) for frame in frames.values())))
    pol = load_policy(policy)
    pipeline = WarningPipeline(
        cast(VictimDetector, load_model(model, "victim").detector), pol, risk or store_entity_risk(engine), directory
    )
    if replay_from is not None:
        say(Reason("从更早的转账学习收付款关系"))
        older = {"transfer": repo.frame("transfer", before=replay_from)}
        pipeline.leads, _ = extract_leads(pipeline.leads, older, pipeline.risk, directory)
    requests: list[wf.WarningRequest] = []
    leads = 0
    told = time.monotonic()
    day = told_day = 0
    for day, batch in enumerate(daily_batches(frames), start=1):
        rows = pipeline.features(batch)
        if start is not None:
            rows = rows[rows["time"] >= start]
        leads += len(rows)
        requests += requests_from(pipeline.score(rows)) if len(rows) else []
        if day % 7 == 0 or time.monotonic() - told >= PROGRESS_EVERY:  # a week, or a few seconds, whichever first
            say(Reason("已回放{days}天：线索{leads}条", days=day, leads=leads))
            told, told_day = time.monotonic(), day
    if day != told_day:  # the days after the last week told: the last line agrees with the total
        say(Reason("已回放{days}天：线索{leads}条", days=day, leads=leads))
    say(Reason("提交预警请求{requests}条", requests=len(requests)))
    counts = raise_warnings(engine, actor, requests, policy=pol, now=now)
    return {"leads": leads, "requests": len(requests), **counts}


def walk_demo_workflow(engine: Engine, victims: Collection[str], *, count: int = 3,
                       now: datetime | None = None) -> list[dict[str, Any]]:
    """Take, contact and close a few open warnings as the officers of their own station, for the demo.

    The officer finds what the simulated city's truth says: a person in ``victims`` is being defrauded
    (dissuaded), anyone else was a false alarm.
    """
    city = Actor("demo-centre", Role.city_centre)
    walked: list[dict[str, Any]] = []
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
        victim = row["person_id"] in victims
        closed = close_warning(
            engine,
            officer,
            row["warning_id"],
            outcome="dissuaded" if victim else "false_alarm",
            note="" if victim else "演示：模拟城市的真实情况表明此人并未受骗",
            now=now,
        )
        walked.append({"warning_id": closed["warning_id"], "station": row["station"], "outcome": closed["outcome"]})
    return walked
