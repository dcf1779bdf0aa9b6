"""Funds chase endpoints (控: 紧急止付、冻结、返还) under /api/v1/funds; use cases decide who may act.

Orders' reasons come in Chinese, or in English with ``?lang=en`` or ``Accept-Language: en``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from aegis.actions.orders import IllegalTransition
from aegis.api.bodies import UniqueKeysRoute
from aegis.api.deps import ActorDep, EngineDep, LangDep
from aegis.events.models import Ident, PositiveMoney, Time
from aegis.reasons import Lang
from aegis.usecases import MAX_NOTE, funds

router = APIRouter(prefix="/funds", tags=["funds (控)"], route_class=UniqueKeysRoute)


class ChaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report_event_id: Annotated[str, Field(max_length=80)] | None = None
    victim: Ident | None = None
    loss_transfers: list[Annotated[str, Field(max_length=80)]] = Field(default_factory=list, max_length=100)
    rule: Literal["fifo", "lifo", "proportional"] | None = None
    max_hops: Annotated[int, Field(ge=1, le=20)] | None = None

    @model_validator(mode="after")
    def _source(self) -> ChaseIn:
        if not self.report_event_id and not (self.victim and self.loss_transfers):
            raise ValueError("give report_event_id, or victim and loss_transfers")
        return self


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["acknowledge", "execute", "reject", "moved_on"]
    held: PositiveMoney | None = None
    reason: Annotated[str, Field(max_length=MAX_NOTE)] | None = None


class LossesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    loss_transfers: list[Annotated[str, Field(max_length=80)]] = Field(min_length=1, max_length=100)
    victim: Ident | None = None


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=MAX_NOTE)]


def _guard(lang: Lang, call: Any, *args: Any, **kwargs: Any) -> Any:
    """Turn a refused step into 409 (illegal state change, or the order changed meanwhile: read it again) or 422
    (bad request), with the reason in the request's language, as the routes' other refusals are."""
    try:
        return call(*args, **kwargs)
    except (IllegalTransition, funds.ChangedMeanwhile) as exc:
        raise HTTPException(409, exc.text(lang)) from None
    except funds.ChaseError as exc:
        raise HTTPException(422, exc.text(lang)) from None


def _in_language(orders: list[funds.OrderView], lang: Lang) -> list[funds.OrderView]:
    return [o.in_language(lang) for o in orders]


@router.post("/chases", status_code=201, responses={200: {"description": "The chase was open already."}})
def open_chase(body: ChaseIn, engine: EngineDep, actor: ActorDep, lang: LangDep,
               response: Response) -> funds.ChaseView:
    """Open a chase from a report (or a victim's loss transfers): trace the money, order stop-payments.
    201 when this request opened it; 200 when it was open already (a retry), with nothing ordered twice."""
    view: funds.ChaseView = _guard(
        lang,
        funds.open_chase,
        engine,
        actor,
        report_event_id=body.report_event_id,
        victim=body.victim,
        loss_transfers=body.loss_transfers,
        rule=body.rule,
        max_hops=body.max_hops,
    )
    if not view.opened_now:
        response.status_code = 200
    return view.in_language(lang)


@router.get("/chases/{chase_id}")
def get_chase(chase_id: str, engine: EngineDep, actor: ActorDep, lang: LangDep) -> funds.ChaseView:
    """The whole chase with every bank's orders (city centre only)."""
    return funds.get_chase(engine, actor, chase_id).in_language(lang)


@router.post("/chases/{chase_id}/escalate")
def escalate(chase_id: str, engine: EngineDep, actor: ActorDep, lang: LangDep) -> list[funds.OrderView]:
    """Follow the chase's executed stop-payments with freezes: the stop-payments found lapsed (expired), then
    the new freezes."""
    return _in_language(_guard(lang, funds.escalate, engine, actor, chase_id), lang)


@router.post("/chases/{chase_id}/retrace")
def retrace(chase_id: str, engine: EngineDep, actor: ActorDep, lang: LangDep) -> list[funds.OrderView]:
    """Trace again now: new accounts get stop-payments, ordered ones holding more get supplementary ones."""
    return _in_language(_guard(lang, funds.retrace, engine, actor, chase_id), lang)


@router.post("/chases/{chase_id}/losses")
def add_losses(
    chase_id: str, body: LossesIn, engine: EngineDep, actor: ActorDep, lang: LangDep
) -> list[funds.OrderView]:
    """Add further loss transfers to the chase (补充报案) and order what they reached."""
    added = _guard(lang, funds.add_losses, engine, actor, chase_id, body.loss_transfers, victim=body.victim)
    return _in_language(added, lang)


@router.post("/chases/{chase_id}/return")
def return_funds(chase_id: str, engine: EngineDep, actor: ActorDep, lang: LangDep) -> funds.ReturnView:
    """Return the frozen money of the chase's accounts to the victims, pro rata."""
    return _guard(lang, funds.return_funds, engine, actor, chase_id)


@router.get("/orders")
def list_orders(
    engine: EngineDep,
    actor: ActorDep,
    chase_id: str | None = None,
    state: Annotated[str | None, Query(description="issued, acknowledged, executed, ...")] = None,
    bank: str | None = None,
    overdue: Annotated[bool, Query(description="only those still unanswered past their deadline")] = False,
    lang: LangDep = "zh",
) -> list[funds.OrderView]:
    """Orders; a bank sees only those for its own accounts."""
    return _in_language(_guard(lang, funds.list_orders, engine, actor, chase_id=chase_id, state=state, bank=bank,
                               overdue=overdue), lang)


@router.post("/orders/{order_id}/response")
def respond(
    order_id: str, body: ResponseIn, engine: EngineDep, actor: ActorDep, lang: LangDep
) -> funds.RespondResult:
    """A bank's answer; "moved_on" (or a partial hold) makes the chase order the next hop at once."""
    result: funds.RespondResult = _guard(lang, funds.respond, engine, actor, order_id, body.action, held=body.held,
                                         reason=body.reason)
    return result.in_language(lang)


@router.post("/orders/{order_id}/release")
def release(order_id: str, body: ReleaseIn, engine: EngineDep, actor: ActorDep, lang: LangDep) -> funds.OrderView:
    """Lift an executed hold, with the reason."""
    order: funds.OrderView = _guard(lang, funds.release, engine, actor, order_id, body.reason)
    return order.in_language(lang)


@router.post("/orders/{order_id}/reissue")
def reissue(order_id: str, body: ReleaseIn, engine: EngineDep, actor: ActorDep, lang: LangDep) -> funds.OrderView:
    """Issue an order the bank rejected again (the paper it lacked is there now), with the reason: a new order
    following the rejected one. The same re-issue sent again answers with that order."""
    order: funds.OrderView = _guard(lang, funds.reissue, engine, actor, order_id, body.reason)
    return order.in_language(lang)


@router.post("/orders/expire")
def expire_orders(engine: EngineDep, actor: ActorDep, lang: LangDep) -> list[str]:
    """Mark the executed holds whose period has run out as expired (a scheduler calls this); their ids."""
    expired: list[str] = _guard(lang, funds.expire_orders, engine, actor)
    return expired


@router.get("/contacts")
def contacts(
    engine: EngineDep, actor: ActorDep, bank: str | None = None,
    at: Annotated[Time | None, Query(description="when (default: now): ISO 8601 or compact (20261001102030), a "
                                                 "naive time being China time; a bare number is refused")] = None,
) -> list[dict[str, Any]]:
    """Banks' duty posts for orders and whether each is on duty now (a bank sees its own)."""
    return funds.bank_contacts(engine, actor, bank=bank, at=at)


@router.get("/reports")
def list_reports(
    engine: EngineDep,
    actor: ActorDep,
    chased: Annotated[bool | None, Query(description="true: only reports with a chase; false: only without")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[funds.ReportView]:
    """Reports (警情), newest first, each with the chase opened from it: what `POST /chases` takes."""
    return funds.list_reports(engine, actor, chased=chased, limit=limit)
