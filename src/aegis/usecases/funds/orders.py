"""What happens to an order after it is issued: the bank's answer, freeze, release, expiry, return."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from aegis.actions.orders import (
    FOLLOWED,
    FundsPolicy,
    IllegalTransition,
    OrderKind,
    OrderState,
    Target,
    check_transition,
    fen,
    flagged,
    load_policy,
    order_id,
    shares_of,
    stable_id,
    taint_from_json,
)
from aegis.actions.returns import allocate_returns, largest_remainder, split_among
from aegis.reasons import Reason, render, yuan
from aegis.store.engine import begin_write
from aegis.store.schema import audit_log
from aegis.store.schema_funds import fund_chase, fund_order, fund_return
from aegis.usecases import person_text
from aegis.usecases.actor import SYSTEM, Actor, Role
from aegis.usecases.funds.data import FundsData
from aegis.usecases.funds.records import (
    CHASE_ROLES,
    ChangedMeanwhile,
    ChaseError,
    _chase,
    _check_bank,
    _city_chases,
    _covers,
    _issue,
    _move,
    _now,
    _order,
    _reached,
    _targets,
    _trace,
)
from aegis.usecases.funds.views import OrderView, RespondResult, ReturnView, _order_view

#: the bank's answers to an order, what it did with the money: one after the order's ``respond_by`` is late
ANSWERS = frozenset({OrderState.executed, OrderState.rejected, OrderState.moved_on})

BANK_ACTIONS = {
    "acknowledge": OrderState.acknowledged,
    "execute": OrderState.executed,
    "reject": OrderState.rejected,
    "moved_on": OrderState.moved_on,
}


def respond(
    engine: Engine,
    actor: Actor,
    order_id_: str,
    action: str,
    *,
    held: Decimal | None = None,
    reason: str | None = None,
    now: datetime | None = None,
    data: FundsData | None = None,
    policy: FundsPolicy | None = None,
) -> RespondResult:
    """A bank's answer to an order: acknowledge, execute (amount held), reject (reason) or moved_on.

    When the money had moved on (or only part of it could be held), the chase is traced again at ``now`` and
    the accounts the money reached since get stop-payment orders at once, in the same transaction. The same
    answer given again (a retry) changes nothing and returns the order as it stands; the same action with
    other terms (another amount held, another reason to reject) is refused as a conflict. An answer after the
    order's ``respond_by`` is taken all the same (what the bank did with the money is what happened) and recorded
    as late: its entry in the order's history says so and by how much, and the order, answered (``answered_at``)
    after its deadline, counts as ``late``. An order that is closed (rejected, moved on, released, superseded,
    returned, expired) takes no answer: the life cycle refuses it, naming both states.
    """
    if action not in BANK_ACTIONS:
        raise ChaseError(Reason("action：“{action}”不是{actions}之一", action=action, actions=", ".join(BANK_ACTIONS)))
    target = BANK_ACTIONS[action]
    if held is not None and target is not OrderState.executed:
        raise ChaseError(Reason("held：只有执行（execute）答复填写金额，{action}不填", action=action))
    policy = policy or load_policy()
    now = _now(now)
    _check_bank(actor)
    with engine.connect() as conn:
        order = _order(conn, order_id_, actor=actor)
    reason = person_text("reason", reason)  # spaces are no reason: a reject without one is refused below
    if target is OrderState.executed and (held is None or not Decimal(0) < fen(held) <= order.requested):
        raise ChaseError(Reason("held：指令{order}的金额须在(0, {requested}]之内", order=order.order_id,
                                requested=order.requested))
    if OrderState(order.state) is target:
        _same_answer(order, target, held, reason)
        return RespondResult(order=_order_view(order).seen_by(actor), follow_ups=[])
    check_transition(order.order_id, order.state, target)
    values: dict[str, Any] = {}
    reasons: list[Reason | str] = [reason] if reason else []
    follow = False
    if target is OrderState.executed and held is not None:
        values = {"held": fen(held), "hold_until": now + policy.terms(order.kind).hold}
        follow = fen(held) < order.requested
        amount = yuan(held)
        done = (Reason("已止付{amount}元", amount=amount) if order.kind == OrderKind.stop_payment
                else Reason("已冻结{amount}元", amount=amount))
        reasons = reasons or [done]
    elif target is OrderState.rejected:
        if not reason:
            raise ChaseError(Reason("reason：驳回指令{order}须说明理由", order=order.order_id))
        values = {"reject_reason": reason}
    elif target is OrderState.moved_on:
        with engine.connect() as conn:
            _check_not_held(conn, order, now)
        follow = True
        reasons = reasons or [Reason("银行反馈：资金已转出")]
    if target in ANSWERS:
        values["answered_at"] = now
    details = {"held": values["held"]} if "held" in values else {}
    if now > order.respond_by:  # kept, for the money is held (or gone) whenever the bank says so; not in time
        late = -(-(now - order.respond_by) // timedelta(minutes=1))
        reasons = [*reasons, Reason("逾期答复：答复时限为{respond_by}，已过{minutes}分钟",
                                    respond_by=str(order.respond_by), minutes=late)]
        details |= {"late": "true", "respond_by": order.respond_by.isoformat()}
    result = None
    if follow:
        data = data or FundsData.from_store(engine)
        with engine.connect() as conn:
            chase = _chase(conn, order.chase_id)
        result = _trace(data, chase, policy, now)
    with begin_write(engine) as conn:
        # read again under the write lock: a gateway's retry sent while the first answer was being written is
        # answered as a retry once that one is in, not refused as someone else's change
        order = _order(conn, order_id_, lock=True, actor=actor)
        if OrderState(order.state) is target:
            _same_answer(order, target, held, reason)
            return RespondResult(order=_order_view(order).seen_by(actor), follow_ups=[])
        _move(
            conn,
            order,
            target,
            actor=actor,
            now=now,
            reasons=reasons,
            values=values,
            details=details,
        )
        if target is OrderState.executed and order.kind == OrderKind.freeze:
            _supersede_stop_payment(conn, order, actor, now)
        new: list[str] = []
        if result is not None and data is not None:
            moved = (Reason("资金已转出") if target is OrderState.moved_on
                     else Reason("仅止付{amount}元，余款已转出", amount=yuan(held or 0)))
            new = _issue(
                conn,
                chase_id=order.chase_id,
                found=_targets(result, data, policy, now, _covers(conn, order.chase_id)),
                kind=OrderKind.stop_payment,
                data=data,
                policy=policy,
                actor=SYSTEM,
                now=now,
                parent=order.order_id,
                why=[Reason(FOLLOWED.msg, bank=order.bank, account=order.account,
                            moved=moved, order=order.order_id)],
            )
            conn.execute(
                update(fund_chase)
                .where(fund_chase.c.chase_id == order.chase_id)
                .values(
                    traced_at=now,
                    reached=_reached(result, data, policy.floor),
                    flagged=flagged(result),
                    updated_at=now,
                )
            )
        updated = _order_view(_order(conn, order.order_id)).seen_by(actor)
        # a bank sees the follow-ups sent to itself: the others name other banks' customers and their sums
        follow_ups = [_order_view(o).seen_by(actor) for o in (_order(conn, oid) for oid in new)
                      if actor.role is not Role.bank or o.bank == actor.institution]
    return RespondResult(order=updated, follow_ups=follow_ups)


def _executed_stop_payment(conn: Connection, freeze: Any) -> Any:
    """The executed stop-payment that held the money a freeze asks for (its hold may have run out since), if any."""
    return conn.execute(
        select(fund_order).where(
            fund_order.c.chase_id == freeze.chase_id,
            fund_order.c.account == freeze.account,
            fund_order.c.kind == OrderKind.stop_payment.value,
            fund_order.c.seq == freeze.seq,
            fund_order.c.state == OrderState.executed.value,
        )
    ).first()


def _check_not_held(conn: Connection, order: Any, now: datetime) -> None:
    """A freeze's bank cannot answer that the money moved on while its own stop-payment holds that money: the
    chase would trace it onward and the store contradict itself (the stop-payment then lapses into the holder's
    hands with no freeze behind it)."""
    if order.kind != OrderKind.freeze.value:
        return
    stop = _executed_stop_payment(conn, order)
    if stop is not None and stop.hold_until is not None and stop.hold_until > now:
        raise ChaseError(Reason("action：止付指令{stop}仍控制着这{held}元（至{until}），冻结不能答复资金已转出",
                                stop=stop.order_id, held=yuan(stop.held), until=str(stop.hold_until)))


def reissue(
    engine: Engine, actor: Actor, order_id_: str, reason: str, *, now: datetime | None = None,
    policy: FundsPolicy | None = None,
) -> OrderView:
    """Issue a rejected order again (the centre has the paper the bank asked for, or has spoken to it): a new
    order for the same money on the same account, with the officer's reason, following the rejected one, which
    stays as the bank answered it. The same re-issue sent again (the same officer and reason) returns the order it
    issued; another reason, or a re-issue of an order that was not rejected or was issued again already, is
    refused (the bank answers the new order, and that one may be issued again in its turn)."""
    actor.require(CHASE_ROLES, Reason("重新下达被驳回的指令"))
    reason = person_text("reason", reason)
    if not reason:
        raise ChaseError(Reason("reason：重新下达指令须说明理由"))
    policy = policy or load_policy()
    now = _now(now)
    with begin_write(engine) as conn:
        order = _order(conn, order_id_, lock=True, actor=actor)
        nxt = order_id(order.chase_id, order.account, order.kind, order.seq, order.attempt + 1)
        again = conn.execute(select(fund_order).where(fund_order.c.order_id == nxt)).first()
        if again is not None:
            if again.issued_by == actor.label and render(again.reasons)[1:2] == [reason]:
                return _order_view(again)
            raise ChangedMeanwhile(Reason("指令{order}已重新下达为{again}", order=order.order_id, again=nxt))
        if OrderState(order.state) is not OrderState.rejected:
            raise IllegalTransition(Reason("state：只有被驳回的指令可重新下达，指令{order}现为{state}",
                                           order=order.order_id, state=order.state))
        taint = taint_from_json(order.taint)
        target = Target(order.account, order.hop, Decimal(order.requested), taint, tuple(order.path), seq=order.seq)
        [new] = _issue(
            conn, chase_id=order.chase_id, found=[target], kind=OrderKind(order.kind), data=None, policy=policy,
            actor=actor, now=now, parent=order.order_id, banks={order.account: order.bank},
            why=[Reason("重新下达：原指令{order}被驳回（{why}）", order=order.order_id, why=order.reject_reason or ""),
                 reason],
            attempt=order.attempt + 1,
        )
        return _order_view(_order(conn, new))


def _same_answer(order: Any, target: OrderState, held: Decimal | None, reason: str) -> None:
    """Refuse an answer repeated with other terms than the one recorded (a retry repeats them exactly)."""
    if target is OrderState.executed and held is not None and fen(held) != order.held:
        raise ChangedMeanwhile(Reason("held：指令{order}已执行，已控{held}元；不能改为{asked}元", order=order.order_id,
                                        held=fen(order.held), asked=fen(held)))
    if target is OrderState.rejected and reason and reason != order.reject_reason:
        raise ChangedMeanwhile(Reason("reason：指令{order}已以其他理由驳回", order=order.order_id))


def _supersede_stop_payment(conn: Connection, freeze: Any, actor: Actor, now: datetime) -> None:
    """An executed freeze takes over the stop-payment on the same account: the stop-payment is superseded (not
    released: a bank or an auditor reading "released" would think the money free, while the freeze holds it)."""
    stop = _executed_stop_payment(conn, freeze)
    if stop is None:
        return
    if stop.hold_until is not None and stop.hold_until <= now:
        # the stop-payment ran out before the freeze held the money: there was a gap, and the record must show it
        # (superseded would read as an unbroken hold)
        _move(conn, stop, OrderState.expired, actor=SYSTEM, now=now,
              reasons=[Reason("期限届满（{until}）", until=str(stop.hold_until)),
                       Reason("冻结指令 {order} 执行时已过期", order=freeze.order_id)])
        return
    _move(
        conn,
        stop,
        OrderState.superseded,
        actor=actor,
        now=now,
        reasons=[Reason("已由冻结指令 {order} 接续", order=freeze.order_id)],
    )


def escalate(
    engine: Engine,
    actor: Actor,
    chase_id: str,
    *,
    now: datetime | None = None,
    policy: FundsPolicy | None = None,
) -> list[OrderView]:
    """Follow every executed stop-payment of the chase with a freeze of the amount it held. A stop-payment whose
    hold has run out is marked expired instead: the money is the account holder's again. Returns what changed, so
    a lapse is never silent: the stop-payments found lapsed (state ``expired``), then the new freezes."""
    actor.require(CHASE_ROLES, Reason("下达冻结指令"))
    policy = policy or load_policy()
    now = _now(now)
    with begin_write(engine) as conn:
        _chase(conn, chase_id, actor)
        lapsed = _expire(conn, SYSTEM, now, fund_order.c.chase_id == chase_id,
                         fund_order.c.kind == OrderKind.stop_payment.value)
        stops = conn.execute(
            select(fund_order).where(
                fund_order.c.chase_id == chase_id,
                fund_order.c.kind == OrderKind.stop_payment.value,
                fund_order.c.state == OrderState.executed.value,
            )
        ).all()
        found, banks = [], {}
        for stop in stops:
            taint = taint_from_json(stop.taint)
            cents = largest_remainder(int(stop.held * 100), {v: int(x * 100) for v, x in taint.items()})
            found.append(
                Target(
                    stop.account,
                    stop.hop,
                    stop.held,
                    {v: Decimal(c) / 100 for v, c in cents.items() if c},
                    tuple(stop.path),
                    seq=stop.seq,
                )
            )
            banks[stop.account] = stop.bank
        new = _issue(
            conn,
            chase_id=chase_id,
            found=found,
            kind=OrderKind.freeze,
            data=None,
            policy=policy,
            actor=actor,
            now=now,
            banks=banks,
            why=[Reason("紧急止付转冻结")],
        )
        return [_order_view(_order(conn, oid)) for oid in [*lapsed, *new]]


def release(
    engine: Engine, actor: Actor, order_id_: str, reason: str, *, now: datetime | None = None
) -> OrderView:
    """Lift an executed hold (unfreeze: the money stays with the account holder), with the reason. The same
    release sent again (a retry: the same officer, the same reason) changes nothing; any other release of a
    released hold is refused, as is a stop-payment a freeze took over (superseded): that freeze holds the money."""
    actor.require(CHASE_ROLES, Reason("解除止付或冻结"))
    reason = person_text("reason", reason)
    if not reason:
        raise ChaseError(Reason("reason：解除控制须说明理由"))
    now = _now(now)
    with begin_write(engine) as conn:
        order = _order(conn, order_id_, actor=actor)
        if not (OrderState(order.state) is OrderState.released and _released_by(conn, order, actor, reason)):
            _move(conn, order, OrderState.released, actor=actor, now=now, reasons=[reason])
        return _order_view(_order(conn, order_id_))


def _released_by(conn: Connection, order: Any, actor: Actor, reason: str) -> bool:
    """Whether the order's release was this actor's, for this reason (so a release asked again is a retry)."""
    last = conn.execute(
        select(audit_log.c.actor, audit_log.c.reasons)
        .where(audit_log.c.subject_type == "fund_order", audit_log.c.subject_id == order.order_id,
               audit_log.c.action == f"order.{order.kind}.released")
        .order_by(audit_log.c.id.desc()).limit(1)
    ).first()
    return last is not None and last.actor == actor.label and render(last.reasons) == [reason]


def expire_orders(engine: Engine, actor: Actor, *, now: datetime | None = None) -> list[str]:
    """Mark executed holds whose period has run out as expired; returns their ids. An actor of a named city, its
    city's chases' holds only."""
    actor.require(CHASE_ROLES, Reason("处理到期的止付和冻结"))
    now = _now(now)
    with begin_write(engine) as conn:
        chases = _city_chases(conn, actor)
        return _expire(conn, actor, now, *([] if chases is None else [fund_order.c.chase_id.in_(chases)]))


def _expire(conn: Connection, actor: Actor, now: datetime, *where: Any) -> list[str]:
    """Expire the executed holds (those matching ``where``) whose period ran out by ``now``: a lapsed hold is
    the account holder's money again, so it is neither escalated nor returned."""
    due = conn.execute(
        select(fund_order)
        .where(fund_order.c.state == OrderState.executed.value, fund_order.c.hold_until <= now, *where)
        .order_by(fund_order.c.order_id)
    ).all()
    for order in due:
        _move(
            conn,
            order,
            OrderState.expired,
            actor=actor,
            now=now,
            reasons=[Reason("期限届满（{until}）", until=str(order.hold_until))],
        )
    return [o.order_id for o in due]


def return_funds(engine: Engine, actor: Actor, chase_id: str, *, now: datetime | None = None) -> ReturnView:
    """Return the money frozen in the chase's accounts to the victims it came from, pro rata.

    All executed freezes on those accounts are pooled (other chases' too: a mule account's frozen money goes
    back to every victim whose money is in it, 按比例返还), allocated by each victim's traced taint, capped at
    what each victim lost and has not yet got back, and the freezes become ``returned``. A freeze whose period
    ran out is marked expired first and returns nothing.
    """
    actor.require(CHASE_ROLES, Reason("返还冻结资金"))
    now = _now(now)
    with begin_write(engine) as conn:
        _chase(conn, chase_id, actor)
        accounts = set(
            conn.execute(
                select(fund_order.c.account).where(
                    fund_order.c.chase_id == chase_id,
                    fund_order.c.kind == OrderKind.freeze.value,
                    fund_order.c.state == OrderState.executed.value,
                )
            ).scalars()
        )
        # a freeze that ran out is the account holder's money again, not the victims'
        lapsed = _expire(conn, SYSTEM, now, fund_order.c.kind == OrderKind.freeze.value,
                         fund_order.c.account.in_(sorted(accounts)))
        freezes = conn.execute(
            select(fund_order)
            .where(
                fund_order.c.account.in_(sorted(accounts)),
                fund_order.c.kind == OrderKind.freeze.value,
                fund_order.c.state == OrderState.executed.value,
            )
            .order_by(fund_order.c.order_id)
        ).all()
        if not freezes:
            return ReturnView(batch_id=None, per_victim={}, per_account={}, unallocated={}, orders=[],
                              earlier_batches=_earlier_batches(conn, chase_id), expired=lapsed)
        frozen: dict[str, Decimal] = {}
        taint: dict[str, dict[str, Decimal]] = {}
        held_taint = {o.order_id: _held_taint(o) for o in freezes}
        pooled: dict[str, list[Any]] = {}
        for order in freezes:
            pooled.setdefault(order.account, []).append(order)
            frozen[order.account] = frozen.get(order.account, Decimal(0)) + order.held
            for victim, amount in held_taint[order.order_id].items():
                taint.setdefault(order.account, {})
                taint[order.account][victim] = taint[order.account].get(victim, Decimal(0)) + amount
        victims = {v for per in taint.values() for v in per}
        result = allocate_returns(frozen, taint, _room(conn, victims))
        batch = stable_id("RB", *(o.order_id for o in freezes))
        banks = {o.account: o.bank for o in freezes}
        rows = [
            {
                "batch_id": batch,
                "account": account,
                "bank": banks[account],
                "victim_id": victim,
                "amount": amount,
                "returned_by": actor.label,
                "returned_at": now,
            }
            for account, per in result.per_account.items()
            for victim, amount in per.items()
        ]
        if rows:
            conn.execute(insert(fund_return), rows)
        # each freeze's audit entry names its own part of its account's return, so the entries add up
        share: dict[str, dict[str, Decimal]] = {}
        for account, given in result.per_account.items():
            share |= split_among(given, {o.order_id: held_taint[o.order_id] for o in pooled[account]},
                                 {o.order_id: o.held for o in pooled[account]})
        for order in freezes:
            given = share.get(order.order_id, {})
            _move(
                conn,
                order,
                OrderState.returned,
                actor=actor,
                now=now,
                reasons=[
                    Reason("资金返还（批次 {batch}）", batch=batch),
                    *(Reason("返还{victim} {amount}元", victim=v, amount=yuan(a)) for v, a in sorted(given.items())),
                ],
                details={"batch_id": batch},
            )
        return ReturnView(
            batch_id=batch,
            per_victim=result.per_victim,
            per_account=result.per_account,
            unallocated=result.unallocated,
            orders=[o.order_id for o in freezes],
            expired=lapsed,
        )


def _earlier_batches(conn: Connection, chase_id: str) -> list[str]:
    """The return batches, oldest first, that paid out of the accounts of the chase's returned freezes."""
    accounts = select(fund_order.c.account).where(
        fund_order.c.chase_id == chase_id, fund_order.c.kind == OrderKind.freeze.value,
        fund_order.c.state == OrderState.returned.value)
    batches = conn.execute(
        select(fund_return.c.batch_id, func.min(fund_return.c.returned_at).label("first_at"))
        .where(fund_return.c.account.in_(accounts))
        .group_by(fund_return.c.batch_id)
        .order_by("first_at", fund_return.c.batch_id)
    ).scalars()
    return list(batches)


def _held_taint(order: Any) -> dict[str, Decimal]:
    """Whose money an executed hold holds: its order's taint, in proportion where the bank held less than asked."""
    taint = taint_from_json(order.taint)
    return taint if fen(order.held) >= fen(order.requested) else shares_of(taint, fen(order.held))


def _room(conn: Connection, victims: Iterable[str]) -> dict[str, Decimal]:
    """What each victim lost in all their chases and has not yet got back: the cap of any further return."""
    lost: dict[str, Decimal] = dict.fromkeys(victims, Decimal(0))
    for seeds in conn.execute(select(fund_chase.c.seeds)).scalars():
        for seed in seeds:
            if seed["victim"] in lost:
                lost[seed["victim"]] += Decimal(seed["amount"])
    for victim, amount in conn.execute(
        select(fund_return.c.victim_id, fund_return.c.amount).where(fund_return.c.victim_id.in_(sorted(lost)))
    ):
        lost[victim] -= amount
    return lost
