"""Opening and following a chase: trace the loss transfers, order the banks, trace again as money moves."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from aegis.actions.orders import (
    PENDING,
    FundsPolicy,
    OrderKind,
    OrderState,
    fen,
    flagged,
    load_policy,
    stable_id,
)
from aegis.funds import Seed
from aegis.reasons import NotFound, Reason, as_reason, listing
from aegis.store.engine import begin_write
from aegis.store.repositories import AuditLog
from aegis.store.schema_funds import fund_chase, fund_chase_seed, fund_order
from aegis.usecases import check_one_of
from aegis.usecases.actor import Actor, PermissionDenied, Role
from aegis.usecases.audit import record_read
from aegis.usecases.funds.data import FundsData
from aegis.usecases.funds.records import (
    CHASE_ROLES,
    ChaseError,
    _bank_scope,
    _chase,
    _city_chases,
    _covers,
    _insert_ignoring_duplicates,
    _issue,
    _now,
    _order,
    _outside_city,
    _reached,
    _targets,
    _trace,
)
from aegis.usecases.funds.views import ChaseView, OrderView, _order_view

#: why a chase is traced again (a bank's "moved on", a retrace asked for)
RETRACE = Reason("续查")


def open_chase(
    engine: Engine,
    actor: Actor,
    *,
    report_event_id: str | None = None,
    victim: str | None = None,
    loss_transfers: Sequence[str] = (),
    rule: str | None = None,
    max_hops: int | None = None,
    now: datetime | None = None,
    data: FundsData | None = None,
    policy: FundsPolicy | None = None,
) -> ChaseView:
    """Open a chase from a report (or a victim and their loss transfers): trace and order stop-payments.

    Idempotent: the chase id is derived from the loss transfers, so opening the same chase again returns it.
    """
    actor.require(CHASE_ROLES, Reason("开启资金追查"))
    policy = policy or load_policy()
    now = _now(now)
    data = data or FundsData.from_store(engine)
    if report_event_id is not None and (victim or loss_transfers):
        raise ChaseError(Reason("report_event_id：追查从报案开始，或从受害人及其损失转账开始，二者不可同时给出"
                                "（报案的追查要补充损失，用 add_losses）"))
    if report_event_id is not None:
        victim, seeds = data.report_seeds(report_event_id)
        with engine.connect() as conn:
            if _outside_city(conn, actor, None, [victim]):  # another city's report is none of this city's
                raise NotFound(Reason("report {report}：没有这条报案", report=report_event_id))
            chased = conn.execute(select(fund_chase.c.chase_id)
                                  .where(fund_chase.c.report_event_id == report_event_id)).scalar()
        if chased is not None:  # the report's chase, asked for again once more of the victim's payments are in
            return _report_chase_again(engine, actor, chased, seeds, rule=rule, max_hops=max_hops, now=now,
                                       data=data, policy=policy)
    elif victim and loss_transfers:
        _check_victim(engine, actor, victim)
        seeds = [Seed(event_id=e, victim=victim) for e in loss_transfers]
    else:
        raise ChaseError(Reason("请给出 report_event_id，或受害人及其损失转账"))
    rows = data.index.rows_of(s.event_id for s in seeds)
    missing = [s.event_id for s in seeds if s.event_id not in rows]
    if missing:
        raise NotFound(Reason("loss_transfers：找不到损失转账{missing}", missing=listing(map(str, missing))))
    not_yuan: dict[str, str] = {}
    if report_event_id is None:
        data.check_losses(victim, rows)  # a report's losses are found from the victim's own accounts
        data.check_currency(rows)  # losses given by hand are the asker's to mend
    else:  # a report's losses in another currency are left out (and said so): its yuan ones are chased
        not_yuan = data.not_yuan(rows)
        seeds = [s for s in seeds if s.event_id not in not_yuan]
        if not seeds:
            currencies = ", ".join(sorted(set(not_yuan.values())))
            raise ChaseError(Reason("报案{report}：每笔损失都以人民币以外的币种支付（{currencies}）；"
                                    "追查只跟踪人民币转账", report=report_event_id, currencies=currencies))
    # the id is that of the chase asked for, so a retry finds it even where some of its losses were skipped
    chase_id = stable_id("CH", *sorted(s.event_id for s in seeds))
    with engine.connect() as conn:
        found = conn.execute(select(fund_chase.c.rule, fund_chase.c.max_hops)
                             .where(fund_chase.c.chase_id == chase_id)).first()
        elsewhere = _chased(conn, [s.event_id for s in seeds])
    if found is not None:
        # the same chase asked for again is answered as it stands; asked with other terms, it is refused by name
        _same_terms(chase_id, rule, max_hops, found.rule, found.max_hops)
        return get_chase(engine, actor, chase_id)
    seeds = [s for s in seeds if s.event_id not in elsewhere]
    if not seeds:
        where = ", ".join(sorted(set(elsewhere.values())))
        raise ChaseError(Reason("loss_transfers：每笔损失转账都已在追查中，见{where}"
                                "（补充损失请对该追查用 add_losses）", where=where))
    seed_rows = [
        {"event_id": s.event_id, "victim": s.victim, "amount": str(fen(data.index.amount[rows[s.event_id]]))}
        for s in seeds
    ]
    chase = {
        "chase_id": chase_id,
        "report_event_id": report_event_id,
        "victims": sorted({s["victim"] for s in seed_rows}),
        "seeds": seed_rows,
        "loss": sum((Decimal(s["amount"]) for s in seed_rows), Decimal(0)),
        "rule": rule or policy.rule,
        "max_hops": max_hops or policy.max_hops,
        "status": "open",
        "traced_at": now,
        "policy_version": policy.version,
        "created_by": actor.label,
        "created_at": now,
        "updated_at": now,
    }
    result = _trace(data, chase, policy, now)
    chase["reached"] = _reached(result, data, policy.floor)
    chase["flagged"] = flagged(result)
    with begin_write(engine) as conn:
        inserted = conn.execute(
            _insert_ignoring_duplicates(conn, fund_chase).values(chase).returning(fund_chase.c.chase_id)
        ).first()
        if inserted:
            _claim(conn, chase_id, [s["event_id"] for s in seed_rows])
            AuditLog(engine).append(
                actor=actor.label,
                action="chase.open",
                subject_type="fund_chase",
                subject_id=chase_id,
                reasons=[
                    Reason("报案 {event}", event=report_event_id) if report_event_id else Reason("受害人损失转账")
                ],
                details={
                    "victims": chase["victims"],
                    "loss": str(chase["loss"]),
                    "rule": chase["rule"],
                    "max_hops": chase["max_hops"],
                    "seeds": [s["event_id"] for s in seed_rows],
                    **({"already_chased": elsewhere} if elsewhere else {}),
                    **({"not_yuan": not_yuan} if not_yuan else {}),
                },
                connection=conn,
            )
            _issue(
                conn,
                chase_id=chase_id,
                found=_targets(result, data, policy, now),
                kind=OrderKind.stop_payment,
                data=data,
                policy=policy,
                actor=actor,
                now=now,
            )
    # the chase this call opened is on the log as opened; one opened meanwhile by another call is shown as read
    view = _view(engine, actor, chase_id) if inserted else get_chase(engine, actor, chase_id)
    return view.model_copy(update={"opened_now": bool(inserted)})


def _check_victim(engine: Engine, actor: Actor, victim: str) -> None:
    """Refuses a victim given by hand who is no resident of the city ``actor`` names (:func:`_outside_city`)."""
    with engine.connect() as conn:
        if _outside_city(conn, actor, None, [victim]):
            raise PermissionDenied(Reason("victim：{victim}不是{city}登记的居民，{city}的用户不能为其追查资金",
                                          victim=victim, city=actor.city))


def _report_chase_again(engine: Engine, actor: Actor, chase_id: str, seeds: Sequence[Seed], *, rule: str | None,
                        max_hops: int | None, now: datetime, data: FundsData, policy: FundsPolicy) -> ChaseView:
    """A report chased before: its chase as it stands, with the report's losses it does not follow yet added
    (a payment stored since, 补充报案), those other chases follow or paid in another currency left out."""
    view = _view(engine, actor, chase_id)
    _same_terms(chase_id, rule, max_hops, view.rule, view.max_hops)
    wanted = [s.event_id for s in seeds]
    with engine.connect() as conn:
        taken = _chased(conn, wanted)
    not_yuan = data.not_yuan(data.index.rows_of(e for e in wanted if e not in taken))
    new = [e for e in wanted if e not in taken and e not in not_yuan]
    if new:
        add_losses(engine, actor, chase_id, new, victim=seeds[0].victim, now=now, data=data, policy=policy)
    return get_chase(engine, actor, chase_id)


def get_chase(engine: Engine, actor: Actor, chase_id: str) -> ChaseView:
    """The whole chase, every bank's orders included: for the city centre only. The read is on the audit log
    (:func:`aegis.usecases.audit.record_read`), under the chase, beside what was done to it."""
    view = _view(engine, actor, chase_id)
    record_read(engine, actor, action="chase.read", subject_type="fund_chase", subject_id=chase_id, shown=[chase_id],
                details={"orders": len(view.orders)})
    return view


def _view(engine: Engine, actor: Actor, chase_id: str) -> ChaseView:
    """The whole chase as :func:`get_chase` shows it, the read not logged: for a call that logs what it did."""
    actor.require(CHASE_ROLES, Reason("查看整条追查（银行只看本行的指令）"))
    with engine.connect() as conn:
        chase = _chase(conn, chase_id, actor)
        orders = conn.execute(
            select(fund_order)
            .where(fund_order.c.chase_id == chase_id)
            .order_by(fund_order.c.hop, fund_order.c.order_id)
        ).all()
    chase.pop("seeds")
    chase.pop("updated_at")
    chase.pop("policy_version")
    return ChaseView(**chase, orders=[_order_view(o) for o in orders])


def list_orders(
    engine: Engine,
    actor: Actor,
    *,
    chase_id: str | None = None,
    state: str | None = None,
    bank: str | None = None,
    overdue: bool = False,
    now: datetime | None = None,
) -> list[OrderView]:
    """Orders, newest first. A bank sees only the orders for its own accounts. ``overdue``: only those still
    waiting for the bank's answer past their deadline (``respond_by`` before ``now``), the ones to ring the bank's
    duty post about. A chase that does not exist is named, not answered with no orders; to a bank, so is one it has
    no order in (whether another bank's customers are being chased is not its business). An actor of a named city
    sees its city's chases' orders only."""
    bank = _bank_scope(actor, bank, Reason("指令"), Reason("列出止付冻结指令"))
    check_one_of("state", state, [s.value for s in OrderState])
    at = _now(now)
    query = select(fund_order).order_by(fund_order.c.issued_at.desc(), fund_order.c.order_id)
    if chase_id:
        query = query.where(fund_order.c.chase_id == chase_id)
    if state:
        query = query.where(fund_order.c.state == OrderState(state).value)
    if bank:
        query = query.where(fund_order.c.bank == bank)
    if overdue:
        query = query.where(fund_order.c.state.in_([s.value for s in PENDING]), fund_order.c.respond_by < at)
    with engine.connect() as conn:
        if chase_id:
            _chase(conn, chase_id, actor)
            if actor.role is Role.bank and conn.execute(select(fund_order.c.order_id).where(
                    fund_order.c.chase_id == chase_id, fund_order.c.bank == bank).limit(1)).first() is None:
                # a bank learns of a chase by its orders: one it has none in is answered as one that does not exist
                raise NotFound(Reason("chase {chase}：没有这次追查", chase=chase_id))
        chases = _city_chases(conn, actor)
        if chases is not None:
            query = query.where(fund_order.c.chase_id.in_(chases))
        views = [_order_view(row).seen_by(actor) for row in conn.execute(query)]
    record_read(engine, actor, action="order.list", subject_type="fund_chase" if chase_id else "fund_order",
                subject_id=chase_id or "*",
                shown=[v.order_id for v in views], details={"state": state, "bank": bank, "overdue": overdue})
    return views


def retrace(
    engine: Engine,
    actor: Actor,
    chase_id: str,
    *,
    now: datetime | None = None,
    data: FundsData | None = None,
    policy: FundsPolicy | None = None,
    why: Reason | str = RETRACE,
) -> list[OrderView]:
    """Trace the chase again now (续查) and order what has changed since the last look.

    Accounts the money has reached since get stop-payment orders; accounts ordered before that now hold
    more of the victims' money get a supplementary stop-payment (追加止付) for the difference. Idempotent: a
    retrace that finds nothing new issues nothing. Returns the new orders.
    """
    actor.require(CHASE_ROLES, Reason("重新追踪资金"))
    policy = policy or load_policy()
    now = _now(now)
    data = data or FundsData.from_store(engine)
    with engine.connect() as conn:
        chase = _chase(conn, chase_id, actor)
    result = _trace(data, chase, policy, now)
    with begin_write(engine) as conn:
        new = _issue(
            conn,
            chase_id=chase_id,
            found=_targets(result, data, policy, now, _covers(conn, chase_id)),
            kind=OrderKind.stop_payment,
            data=data,
            policy=policy,
            actor=actor,
            now=now,
            why=[as_reason(why)],
        )
        conn.execute(
            update(fund_chase)
            .where(fund_chase.c.chase_id == chase_id)
            .values(
                traced_at=now,
                reached=_reached(result, data, policy.floor),
                flagged=flagged(result),
                updated_at=now,
            )
        )
        AuditLog(engine).append(
            actor=actor.label,
            action="chase.retrace",
            subject_type="fund_chase",
            subject_id=chase_id,
            reasons=[why],
            details={"as_of": now.isoformat(), "new_orders": new},
            connection=conn,
        )
        return [_order_view(_order(conn, oid)) for oid in new]


def add_losses(
    engine: Engine,
    actor: Actor,
    chase_id: str,
    loss_transfers: Sequence[str],
    *,
    victim: str | None = None,
    now: datetime | None = None,
    data: FundsData | None = None,
    policy: FundsPolicy | None = None,
) -> list[OrderView]:
    """Add further loss transfers to a chase (the victim paid again, 补充报案), then trace and order again.

    The transfers belong to the chase's victim unless ``victim`` names another (a victim of the same gang
    whose money went the same way). Transfers already in the chase are skipped, so a retry adds nothing.
    """
    actor.require(CHASE_ROLES, Reason("为追查补充损失"))
    if not loss_transfers:
        raise ChaseError(Reason("loss_transfers：请至少给出一笔转账的事件编号"))
    now = _now(now)
    data = data or FundsData.from_store(engine)
    rows = data.index.rows_of(loss_transfers)
    missing = [e for e in loss_transfers if e not in rows]
    if missing:
        raise NotFound(Reason("loss_transfers：找不到损失转账{missing}", missing=listing(map(str, missing))))
    if victim:
        _check_victim(engine, actor, victim)
    with begin_write(engine) as conn:
        chase = _chase(conn, chase_id, actor)
        known = {s["event_id"] for s in chase["seeds"]}
        taken = _chased(conn, [e for e in loss_transfers if e not in known])
        if taken:
            raise ChaseError(Reason("loss_transfers：已在别的追查中：{where}",
                                    where=", ".join(f"{e} in {c}" for e, c in sorted(taken.items()))))
        owner = victim or chase["victims"][0]
        data.check_losses(owner, {e: rows[e] for e in loss_transfers if e not in known})
        data.check_currency({e: rows[e] for e in loss_transfers if e not in known})
        added = [
            {"event_id": e, "victim": owner, "amount": str(fen(data.index.amount[rows[e]]))}
            for e in dict.fromkeys(loss_transfers)
            if e not in known
        ]
        if added:
            _claim(conn, chase_id, [s["event_id"] for s in added])
            seeds = [*chase["seeds"], *added]
            conn.execute(
                update(fund_chase)
                .where(fund_chase.c.chase_id == chase_id)
                .values(
                    seeds=seeds,
                    victims=sorted({s["victim"] for s in seeds}),
                    loss=sum((Decimal(s["amount"]) for s in seeds), Decimal(0)),
                    updated_at=now,
                )
            )
            AuditLog(engine).append(
                actor=actor.label,
                action="chase.add_losses",
                subject_type="fund_chase",
                subject_id=chase_id,
                reasons=[Reason("补充报案：新增损失转账")],
                details={"added": [s["event_id"] for s in added], "victim": owner},
                connection=conn,
            )
    if not added:
        return []
    return retrace(engine, actor, chase_id, now=now, data=data, policy=policy, why=Reason("补充报案后续查"))


def _same_terms(chase_id: str, rule: str | None, max_hops: int | None, kept_rule: str, kept_hops: int) -> None:
    """Refuse, by name, a chase asked for again with other terms than it has (those not given are its own)."""
    for name, asked, kept in (("rule", rule, kept_rule), ("max_hops", max_hops, kept_hops)):
        if asked is not None and asked != kept:
            raise ChaseError(Reason("{name}：追查{chase}进行中，其{name}为{kept}，不是{asked}", name=name,
                                    chase=chase_id, kept=kept, asked=asked))


def _chased(conn: Connection, event_ids: Sequence[str]) -> dict[str, str]:
    """The chase following each of these loss transfers, for those some chase follows already."""
    query = select(fund_chase_seed.c.event_id, fund_chase_seed.c.chase_id)
    return {row.event_id: row.chase_id
            for row in conn.execute(query.where(fund_chase_seed.c.event_id.in_(list(event_ids))))}


def _claim(conn: Connection, chase_id: str, event_ids: Sequence[str]) -> None:
    """Record that the chase follows these transfers; another chase claiming one at the same time fails here."""
    try:
        with conn.begin_nested():
            conn.execute(insert(fund_chase_seed), [{"event_id": e, "chase_id": chase_id} for e in event_ids])
    except IntegrityError:
        raise ChaseError(Reason("loss_transfers：另一追查刚刚认领了其中部分转账（{taken}）；请重试",
                                taken=", ".join(_chased(conn, event_ids)))) from None
