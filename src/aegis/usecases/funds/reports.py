"""The reports a chase opens from (警情): the city centre's list, newest first, with the chase each one has."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel
from sqlalchemy import Engine, select

from aegis.reasons import InputError, Reason
from aegis.store.schema import EVENT_TABLES
from aegis.store.schema_funds import fund_chase
from aegis.usecases.actor import Actor, Role
from aegis.usecases.audit import record_read
from aegis.usecases.funds.records import CHASE_ROLES

MAX_LIMIT = 1000


class ReportView(BaseModel):
    event_id: str
    time: datetime
    victim_id: str
    fraud_type: str
    loss: Decimal
    accounts: list[str]
    """the payee accounts the victim named: a chase follows the victim's transfers to them"""
    chase_id: str | None
    """the chase opened from this report, if any"""


def list_reports(engine: Engine, actor: Actor, *, chased: bool | None = None, limit: int = 100) -> list[ReportView]:
    """Reports, newest first; ``chased`` True or False keeps those with or without a chase."""
    actor.require(CHASE_ROLES, Reason("列出可追查的报案"))
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(Reason("limit：须在1到{most}之间（收到{limit}）", most=MAX_LIMIT, limit=limit))
    report = EVENT_TABLES["report"]
    query = (
        select(report.c.event_id, report.c.time, report.c.victim_id, report.c.fraud_type, report.c.loss,
               report.c.accounts, fund_chase.c.chase_id)
        .select_from(report.outerjoin(fund_chase, fund_chase.c.report_event_id == report.c.event_id))
        .order_by(report.c.time.desc(), report.c.event_id)
        .limit(limit)
    )
    if actor.city and actor.role is not Role.system:  # an actor of a named city: its residents' reports only
        person = EVENT_TABLES["person"]
        query = query.where(report.c.victim_id.in_(select(person.c.person_id).where(person.c.city == actor.city)))
    if chased is True:
        query = query.where(fund_chase.c.chase_id.is_not(None))
    elif chased is False:
        query = query.where(fund_chase.c.chase_id.is_(None))
    with engine.connect() as conn:
        views = [ReportView(**{**row._mapping, "accounts": row.accounts or []}) for row in conn.execute(query)]
    record_read(engine, actor, action="report.list", subject_type="report", subject_id="*",
                shown=[v.event_id for v in views], details={"chased": chased, "limit": limit})
    return views
