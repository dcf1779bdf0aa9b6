"""Warning queues of the city centre, district bureaus and police stations: list, take, contact, close.

Thin: authorisation and workflow rules live in :mod:`aegis.usecases.warnings`; a station asking for another
station's warning gets 404, exactly as for a warning that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from aegis.actions.warnings import WorkflowError
from aegis.api.bodies import UniqueKeysRoute
from aegis.api.deps import ActorDep, EngineDep, LangDep
from aegis.events.models import Ident
from aegis.reasons import Lang
from aegis.usecases import MAX_NOTE
from aegis.usecases import pace as uc_pace
from aegis.usecases import warnings as uc

router = APIRouter(prefix="/warnings", tags=["warnings"], route_class=UniqueKeysRoute)
T = TypeVar("T")


class WarningOut(BaseModel):
    warning_id: str
    person_id: str
    fraud_type: str
    fraud_type_name: str | None = None
    """the fraud type's name in the language asked for"""
    names: dict[str, str] = Field(default_factory=dict)
    """the names of the coded fields (level, status, queue, channel, contact_channel, outcome; an escalation's
    from_queue) in the language asked for"""
    level: str
    probability: float
    reasons: list[str]
    status: str
    district: str
    station: str
    queue: str
    channel: str
    deadline: datetime
    escalations: int
    assigned_to: str | None
    contact_channel: str | None
    outcome: str | None
    lead_count: int
    first_lead_at: datetime
    last_lead_at: datetime
    policy_version: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class EscalatedOut(WarningOut):
    from_queue: str
    """the queue the warning waited in before it was moved (the city centre's own stay there, with a new deadline)"""


class WarningDetail(WarningOut):
    history: list[dict[str, Any]]
    leads: list[dict[str, Any]] = Field(default_factory=list)
    """the leads behind the warning, each with the level it asked for and the features the model saw"""


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Literal["sms", "call", "visit"]
    result: Literal["reached", "unreachable"]
    note: str = Field("", max_length=MAX_NOTE)
    request_id: Ident | None = Field(None, description=(
        "the client's id of this attempt: sent again (a retry after a lost answer), the attempt is not recorded "
        "twice; without it every call records an attempt"))


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["dissuaded", "already_defrauded", "false_alarm"]
    note: str = Field("", max_length=MAX_NOTE)


def _call(step: Callable[[], T], lang: Lang) -> T:
    """Run a step; one the workflow refuses in the warning's state is a 409, in the request's language as the
    route's other refusals are (a bad value, 422, and an unknown warning, 404, are the app's to answer so)."""
    try:
        return step()
    except WorkflowError as exc:
        raise HTTPException(409, exc.text(lang)) from None


@router.get("", response_model=list[WarningOut])
def list_warnings(
    engine: EngineDep,
    actor: ActorDep,
    status: str | None = None,
    queue: str | None = None,
    level: str | None = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=uc.MAX_LISTED)] = 200,
    offset: Annotated[int, Query(ge=0, le=uc.MAX_OFFSET,
                                 description="how many to skip, in the same order: the next page")] = 0,
    lang: LangDep = "zh",
) -> list[dict[str, Any]]:
    """Warnings of your jurisdiction, most severe and most urgent first; ``limit`` of them from ``offset`` on."""
    rows = uc.list_warnings(
        engine, actor, status=status, queue=queue, level=level, open_only=open_only, limit=limit, offset=offset
    )
    return [uc.shown(r, lang) for r in rows]


@router.get("/stats")
def stats(engine: EngineDep, actor: ActorDep) -> dict[str, Any]:
    """Per level and fraud type: open, closed, outcomes and precision, over your jurisdiction."""
    return uc.warning_stats(engine, actor)


@router.get("/pace")
def pace(engine: EngineDep, actor: ActorDep, quantile: float = Query(0.1, gt=0, lt=1, allow_inf_nan=False),
         min_cases: int = Query(5, ge=1, le=uc_pace.MAX_MIN_CASES)) -> dict[str, Any]:
    """Each fraud type's pace (first contact -> first loss, hours) from reported cases, for the policy file."""
    return uc_pace.pace_from_store(engine, actor, quantile=quantile, min_cases=min_cases)


@router.post("/escalate-overdue", response_model=list[EscalatedOut])
def escalate_overdue(engine: EngineDep, actor: ActorDep, lang: LangDep) -> list[dict[str, Any]]:
    """Move warnings whose contact deadline passed to the next tier's queue; each says where it was
    (``from_queue``)."""
    return [uc.shown(r, lang) for r in uc.escalate_overdue(engine, actor)]


@router.get("/{warning_id}", response_model=WarningDetail)
def get_warning(warning_id: str, engine: EngineDep, actor: ActorDep, lang: LangDep) -> dict[str, Any]:
    return uc.shown(uc.get_warning(engine, actor, warning_id), lang)


@router.post("/{warning_id}/take", response_model=WarningOut)
def take(warning_id: str, engine: EngineDep, actor: ActorDep, lang: LangDep) -> dict[str, Any]:
    return uc.shown(_call(lambda: uc.take_warning(engine, actor, warning_id), lang), lang)


@router.post("/{warning_id}/contact", response_model=WarningOut)
def contact(warning_id: str, body: ContactIn, engine: EngineDep, actor: ActorDep, lang: LangDep) -> dict[str, Any]:
    row = _call(
        lambda: uc.record_contact(engine, actor, warning_id, channel=body.channel, result=body.result, note=body.note,
                                  request_id=body.request_id),
        lang,
    )
    return uc.shown(row, lang)


@router.post("/{warning_id}/close", response_model=WarningOut)
def close(warning_id: str, body: CloseIn, engine: EngineDep, actor: ActorDep, lang: LangDep) -> dict[str, Any]:
    row = _call(lambda: uc.close_warning(engine, actor, warning_id, outcome=body.outcome, note=body.note), lang)
    return uc.shown(row, lang)
