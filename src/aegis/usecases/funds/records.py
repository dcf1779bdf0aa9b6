"""The rows behind the funds use cases: tracing a chase, issuing and moving orders, reading them back.

The helpers here are the package's own (underscored): the use-case modules beside this one share them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select, update

from aegis.actions.orders import (
    Cover,
    FundsPolicy,
    OrderKind,
    OrderState,
    Target,
    check_transition,
    coverage,
    fen,
    order_id,
    supplements,
    taint_to_json,
    targets,
)
from aegis.events.times import YEARS
from aegis.funds import Seed, TraceResult, trace
from aegis.funds.rules import Ledger
from aegis.reasons import Explained, InputError, NotFound, Reason, stored
from aegis.store.repositories import AuditLog, conflict_insert
from aegis.store.schema_funds import bank_contact, fund_chase, fund_order
from aegis.usecases.actor import Actor, PermissionDenied, Role
from aegis.usecases.places import home_places

#: the channel the funds data gives a transfer in another currency than yuan: money that leaves the yuan
#: ledger stops there, flagged (it cannot be added to yuan without an exchange rate, and Aegis downloads none)
FOREIGN_CURRENCY = "foreign_currency"

if TYPE_CHECKING:  # the data module raises this module's ChaseError
    from aegis.usecases.funds.data import FundsData

#: who runs chases: the city centre (and the system itself, for automatic follow-ups)
CHASE_ROLES = frozenset({Role.city_centre, Role.system})


class ChaseError(Explained, ValueError):
    """A request the chase cannot act on (no loss transfers, an amount out of range); the message says why, in
    Chinese or English (:class:`aegis.reasons.Explained`)."""


class ChangedMeanwhile(ChaseError):
    """The order was changed by someone else between reading and writing it (or is already in the state asked
    for, with other terms): read it again. Over HTTP this is a conflict (409), not a bad request."""


# -- helpers -------------------------------------------------------------------------------------------------
def _bank_scope(actor: Actor, bank: str | None, what: Reason, action: Reason) -> str | None:
    """The bank a listing of ``what`` is limited to: a bank user sees only its own (asking for another bank's is
    refused); the chase roles (who may ``action``) see every bank, or the one they ask for."""
    if actor.role is Role.bank:
        if bank is not None and bank != actor.institution:
            raise PermissionDenied(Reason("bank：{mine}无权查看{bank}的{what}", mine=actor.institution, bank=bank,
                                          what=what))
        return actor.institution
    actor.require(CHASE_ROLES, action)
    return bank


def _now(now: datetime | None, field: str = "now") -> datetime:
    """``now`` (the clock's time if None), refused naming ``field`` when naive or outside the store's
    :data:`~aegis.events.times.YEARS`, in its own zone or in UTC (9999-12-31 has no China-time day after it)."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise InputError(Reason("{field}：须给出带时区的时间", field=field))
    if now.year not in YEARS or now.astimezone(UTC).year not in YEARS:  # the first check keeps the second finite
        raise InputError(Reason("{field}：{year}年超出可用的年份（{first}–{last}）", field=field, year=now.year,
                                first=YEARS.start, last=YEARS.stop - 1))
    return now


def _trace(data: FundsData, chase: Mapping[str, Any], policy: FundsPolicy, as_of: datetime) -> TraceResult:
    seeds = [
        Seed(event_id=s["event_id"], amount=float(s["amount"]), victim=s["victim"]) for s in chase["seeds"]
    ]
    return trace(
        data.index,
        seeds,
        rule=chase["rule"],
        max_hops=chase["max_hops"],
        sinks=data.sinks(policy),
        sink_channels={**policy.sinks.channels, FOREIGN_CURRENCY: FOREIGN_CURRENCY},
        as_of=as_of,
        max_dwell=policy.dwell(chase["rule"]),
    )


def _targets(
    result: TraceResult,
    data: FundsData,
    policy: FundsPolicy,
    as_of: datetime,
    covers: Mapping[str, Cover] | None = None,
) -> list[Target]:
    """The accounts that deserve an order: new ones (see :func:`aegis.actions.orders.targets`), and those
    ordered before (``covers``) that now hold more of the victims' money (supplementary orders)."""
    covers = covers or {}
    index = data.index
    upto = index.rows_before(as_of)
    throughput, balances = {}, {}
    for account in result.accounts:
        code = index.account_code(account)
        if code is None:
            continue
        ledger = Ledger.of(index, code, upto)
        credits = float(ledger.amount[~ledger.debit].sum())
        throughput[str(account)] = ledger.opening + credits
        balances[str(account)] = ledger.opening + credits - float(ledger.amount[ledger.debit].sum())
    return [
        *targets(result, policy.floor, covers, throughput=throughput, min_share=policy.min_taint_share,
                 balances=balances),
        *supplements(result, policy.floor, covers, balances=balances),
    ]


def _reached(result: TraceResult, data: FundsData, floor: Decimal) -> list[dict[str, Any]]:
    """The accounts the money reached that matter to the chase (held or sunk at least the floor)."""
    rows = [
        {
            "account": str(a.account),
            "bank": data.bank_of(str(a.account)),
            "hop": a.hop,
            "received": str(fen(a.received)),
            "held": str(fen(a.held)),
            "sink": a.sink,
            "sunk": str(fen(a.sunk)),
        }
        for a in result.accounts.values()
        if fen(a.held) >= floor or fen(a.sunk) >= floor
    ]
    return sorted(rows, key=lambda r: (r["hop"], r["account"]))


def _contact(
    conn: Connection, policy: FundsPolicy, bank: str, kind: str, at: datetime
) -> dict[str, str] | None:
    """The bank's post on duty for this kind of order: the stored contacts, else the shipped ones."""
    from aegis.actions.orders import Contact

    rows = conn.execute(select(bank_contact).where(bank_contact.c.bank == bank)).all()
    if rows:
        posts = [Contact(role=r.role, post=r.post, phone=r.phone, hours=r.hours) for r in rows]
        policy = policy.model_copy(update={"banks": {bank: posts}})
    post = policy.contact(bank, kind, at)
    return None if post is None else post.model_dump()


def _insert_ignoring_duplicates(conn: Connection, table: Any) -> Any:
    return conflict_insert(conn, table).on_conflict_do_nothing()


def _issue(
    conn: Connection,
    *,
    chase_id: str,
    found: Sequence[Target],
    kind: OrderKind,
    data: FundsData | None,
    policy: FundsPolicy,
    actor: Actor,
    now: datetime,
    parent: str | None = None,
    banks: Mapping[str, str] | None = None,
    why: Sequence[Reason | str] = (),
    attempt: int = 0,
) -> list[str]:
    """Issue one order per target (idempotent: an existing order is kept as it is); audit each new one.
    ``attempt``: how many times the target's order was issued before and rejected."""
    terms = policy.terms(kind)
    issued = []
    for target in found:
        bank = (banks or {}).get(target.account) or (data.bank_of(target.account) if data else "unknown")
        oid = order_id(chase_id, target.account, kind, target.seq, attempt)
        reasons = [*why, *target.reasons]
        row = {
            "order_id": oid,
            "chase_id": chase_id,
            "kind": kind.value,
            "account": target.account,
            "bank": bank,
            "state": OrderState.issued.value,
            "hop": target.hop,
            "seq": target.seq,
            "attempt": attempt,
            "requested": target.amount,
            "held": None,
            "taint": taint_to_json(target.taint),
            "path": list(target.path),
            "reasons": stored(reasons),
            "legal_basis": terms.legal_basis,
            "contact": _contact(conn, policy, bank, kind, now),
            "respond_by": now + terms.respond_within,
            "hold_until": None,
            "reject_reason": None,
            "parent_order_id": target.follows or parent,
            "policy_version": policy.version,
            "issued_by": actor.label,
            "issued_at": now,
            "updated_at": now,
        }
        if conn.execute(
            _insert_ignoring_duplicates(conn, fund_order).values(row).returning(fund_order.c.order_id)
        ).first():
            AuditLog(conn.engine).append(
                actor=actor.label,
                action=f"order.{kind.value}.issued",
                subject_type="fund_order",
                subject_id=oid,
                reasons=reasons,
                details={
                    "chase_id": chase_id,
                    "account": target.account,
                    "bank": bank,
                    "requested": str(target.amount),
                    "hop": target.hop,
                    "seq": target.seq,
                    **({"attempt": attempt, "reissue_of": parent} if attempt else {}),
                    "legal_basis": terms.legal_basis,
                    "policy_version": policy.version,
                },
                connection=conn,
            )
            issued.append(oid)
    return issued


def _move(
    conn: Connection,
    order: Any,
    target: OrderState,
    *,
    actor: Actor,
    now: datetime,
    reasons: Sequence[Reason | str],
    values: Mapping[str, Any] | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Validate and apply one state change, guarded against a concurrent change, and audit it."""
    check_transition(order.order_id, order.state, target)
    done = conn.execute(
        update(fund_order)
        .where(fund_order.c.order_id == order.order_id, fund_order.c.state == order.state)
        .values(state=target.value, updated_at=now, **(values or {}))
    )
    if done.rowcount != 1:
        raise ChangedMeanwhile(Reason("指令{order}：刚被他人更改；请重新读取", order=order.order_id))
    AuditLog(conn.engine).append(
        actor=actor.label,
        action=f"order.{order.kind}.{target.value}",
        subject_type="fund_order",
        subject_id=order.order_id,
        reasons=list(reasons),
        details={
            "from": order.state,
            "to": target.value,
            "account": order.account,
            "bank": order.bank,
            "chase_id": order.chase_id,
            **{k: str(v) for k, v in (details or {}).items()},
        },
        connection=conn,
    )


def _order(conn: Connection, oid: str, *, lock: bool = False, actor: Actor | None = None) -> Any:
    """The order ``oid``; ``lock``: held for the rest of a write transaction (SQLite's BEGIN IMMEDIATE holds the
    whole store already, :func:`aegis.store.engine.begin_write`). Looked up for ``actor``, an order that is not
    theirs (another bank's, another city's chase's) is answered as one that does not exist: which orders other
    banks and cities have is not theirs to learn, and a 403 told them the id was real."""
    query = select(fund_order).where(fund_order.c.order_id == oid)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None or (actor is not None and (
            (actor.role is Role.bank and row.bank != actor.institution) or _outside_city(conn, actor, row.chase_id))):
        raise NotFound(Reason("order {order}：没有这条指令", order=oid))
    return row


def _chase(conn: Connection, chase_id: str, actor: Actor | None = None) -> dict[str, Any]:
    """The chase ``chase_id``; looked up for ``actor``, one of another city is answered as none (:func:`_order`)."""
    row = conn.execute(select(fund_chase).where(fund_chase.c.chase_id == chase_id)).first()
    if row is None or (actor is not None and _outside_city(conn, actor, chase_id, row.victims)):
        raise NotFound(Reason("chase {chase}：没有这次追查", chase=chase_id))
    return dict(row._mapping)


def _cities(conn: Connection, persons: set[str]) -> dict[str, str | None]:
    """The city each of ``persons`` the store knows lives in."""
    return {person_id: place[0] for person_id, place in home_places(conn, persons).items()}


def _outside_city(conn: Connection, actor: Actor, chase_id: str | None, victims: Sequence[str] | None = None) -> bool:
    """Whether the victims of a chase (``victims``, else those of ``chase_id`` as stored) are not all residents of the
    city ``actor`` names (``X-Aegis-City``): an actor of a named city covers none of another city's persons
    (:meth:`Actor.covers`), nor one the store places in no city."""
    if not actor.city or actor.role is Role.system:
        return False
    if victims is None:
        victims = conn.execute(select(fund_chase.c.victims).where(fund_chase.c.chase_id == chase_id)).scalar() or []
    cities = _cities(conn, set(victims))
    return not victims or any(cities.get(v) != actor.city for v in victims)


def _city_chases(conn: Connection, actor: Actor) -> list[str] | None:
    """The chases of ``actor``'s city (:func:`_outside_city`), or None for an actor of no named city: all of them."""
    if not actor.city or actor.role is Role.system:
        return None
    chases = conn.execute(select(fund_chase.c.chase_id, fund_chase.c.victims)).all()
    cities = _cities(conn, {v for _, victims in chases for v in victims})
    return [chase_id for chase_id, victims in chases
            if victims and all(cities.get(v) == actor.city for v in victims)]


def _covers(conn: Connection, chase_id: str) -> dict[str, Cover]:
    """What the chase's orders already cover on each account (:func:`aegis.actions.orders.coverage`)."""
    return coverage(conn.execute(select(fund_order).where(fund_order.c.chase_id == chase_id)).all())


def _check_bank(actor: Actor) -> None:
    """Refuses a role that does not answer for a bank; which orders are the bank's own is :func:`_order`'s."""
    if actor.role not in (Role.system, Role.bank):
        raise PermissionDenied(Reason("role：{role}无权代银行答复指令", role=actor.role.value))
