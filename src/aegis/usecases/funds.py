"""The funds chase (控): trace a victim's money, order banks to stop and freeze it, return it to the victims.

One function per thing a user does. The city anti-fraud centre opens a chase from a report, which traces the
loss transfers and issues stop-payment orders to the banks of the accounts still holding the money; each
bank sees and answers only the orders for its own accounts (警银联动); a "money already moved on" answer
makes the chase trace again and order the next hop at once; stop-payments are escalated to freezes, and
frozen money is returned to the victims pro rata. Every order state change is validated by
:mod:`aegis.actions.orders` and written to the audit log in the same transaction.

Transfers come from a :class:`FundsData` (the store's events by default; the simulator's files for the demo
and the evaluation), so the same use cases run on both.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, computed_field
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from aegis.actions.orders import (
    PENDING,
    Cover,
    FundsPolicy,
    OrderKind,
    OrderState,
    Target,
    check_transition,
    coverage,
    fen,
    flagged,
    load_policy,
    order_id,
    stable_id,
    supplements,
    taint_from_json,
    taint_to_json,
    targets,
)
from aegis.actions.returns import allocate_returns, largest_remainder
from aegis.funds import Seed, TraceResult, TransferIndex, trace
from aegis.funds.rules import Ledger
from aegis.names import name_of
from aegis.reasons import DEFAULT_LANG, Lang, Reason, as_reason, render, stored
from aegis.store.repositories import AuditLog, EventRepository
from aegis.store.schema_funds import bank_contact, fund_chase, fund_order, fund_return
from aegis.training.task import DataError
from aegis.usecases.actor import SYSTEM, Actor, PermissionDenied, Role

#: who runs chases: the city centre (and the system itself, for automatic follow-ups)
CHASE_ROLES = frozenset({Role.city_centre, Role.system})
TRANSFER_COLUMNS = [
    "event_id",
    "payer_account",
    "payee_account",
    "payer_bank",
    "payee_bank",
    "amount",
    "time",
]
BANK_ACTIONS = {
    "acknowledge": OrderState.acknowledged,
    "execute": OrderState.executed,
    "reject": OrderState.rejected,
    "moved_on": OrderState.moved_on,
}


class ChaseError(ValueError):
    """A request the chase cannot act on (no loss transfers, an amount out of range); the message says why."""


# -- data ----------------------------------------------------------------------------------------------------
@dataclass
class FundsData:
    """The transfers a chase follows, with each account's bank, and the victims' reports and accounts."""

    transfers: pd.DataFrame
    reports: pd.DataFrame = field(default_factory=pd.DataFrame)
    openings: pd.DataFrame = field(default_factory=pd.DataFrame)
    large_merchants: frozenset[str] | None = None
    _index: TransferIndex | None = field(default=None, repr=False)
    _banks: dict[str, str] | None = field(default=None, repr=False)

    @classmethod
    def from_store(cls, engine: Engine) -> FundsData:
        events = EventRepository(engine)
        return cls(
            transfers=events.frame("transfer", [*TRANSFER_COLUMNS, "channel"]),
            reports=events.frame("report", ["event_id", "victim_id", "time", "loss", "accounts"]),
            openings=events.frame("account_opening", ["person_id", "account", "institution"]),
        )

    @classmethod
    def from_sim(cls, sim_dir: Path) -> FundsData:
        events = Path(sim_dir) / "events"
        if not (events / "transfer.parquet").is_file():
            raise FileNotFoundError(
                f"{events / 'transfer.parquet'}: no such file (is {sim_dir} a simulator output?)"
            )
        return cls(
            transfers=pd.read_parquet(events / "transfer.parquet", columns=[*TRANSFER_COLUMNS, "channel"]),
            reports=pd.read_parquet(
                events / "report.parquet", columns=["event_id", "victim_id", "time", "loss", "accounts"]
            ),
            openings=pd.read_parquet(
                events / "account_opening.parquet", columns=["person_id", "account", "institution"]
            ),
        )

    @property
    def index(self) -> TransferIndex:
        if self._index is None:
            self._index = TransferIndex.from_table(self.transfers, source="transfers")
        return self._index

    def bank_of(self, account: str) -> str:
        if self._banks is None:
            t = self.transfers
            pairs = pd.concat(
                [
                    pd.DataFrame({"a": t["payer_account"], "b": t["payer_bank"]}),
                    pd.DataFrame({"a": t["payee_account"], "b": t["payee_bank"]}),
                ]
            ).drop_duplicates("a")
            self._banks = dict(zip(pairs["a"], pairs["b"], strict=True))
        return self._banks.get(account, "unknown")

    def sinks(self, policy: FundsPolicy) -> dict[str, str]:
        """Accounts where tracing stops: the policy's known sinks and the large merchants of the data."""
        if self.large_merchants is None:
            payers = self.transfers.groupby("payee_account")["payer_account"].nunique()
            self.large_merchants = frozenset(payers.index[payers >= policy.sinks.large_merchant_min_payers])
        return {**dict.fromkeys(self.large_merchants, "large_merchant"), **policy.sinks.accounts}

    def restricted(self, accounts: Iterable[str], blocked: Iterable[str] = ()) -> FundsData:
        """Only the transfers touching ``accounts`` (their whole ledgers), without the ``blocked`` ones.

        A trace only ever reads the ledgers of the accounts it reaches, so restricting to a superset of them
        changes nothing and makes rebuilding the index cheap; dropping transfers models holds.
        """
        keep = set(accounts)
        t = self.transfers
        mask = t["payer_account"].isin(keep) | t["payee_account"].isin(keep)
        blocked = set(blocked)
        if blocked:
            mask &= ~t["event_id"].isin(blocked)
        return replace(self, transfers=t[mask].reset_index(drop=True), _index=None, _banks=self._banks)

    def report_seeds(self, report_event_id: str) -> tuple[str, list[Seed]]:
        """The victim and the loss transfers of a report: from the victim's accounts to those reported."""
        rows = (
            self.reports[self.reports["event_id"] == report_event_id] if len(self.reports) else self.reports
        )
        if not len(rows):
            raise LookupError(f"report {report_event_id}: no such report")
        report = rows.iloc[0]
        payees = set(report["accounts"] if report["accounts"] is not None else [])
        if not payees:
            raise ChaseError(
                f"report {report_event_id}: it names no payee account; give the loss transfers instead"
            )
        own = set(self.openings.loc[self.openings["person_id"] == report["victim_id"], "account"])
        index = self.index
        upto = index.rows_before(pd.Timestamp(report["time"]).to_pydatetime())
        rows = [r for account in sorted(own) for r in self.out_rows(account) if r < upto]
        losses = [
            index.event_id(r) for r in sorted(rows) if index.account_label(int(index.payee[r])) in payees
        ]
        if not losses:
            raise ChaseError(
                f"report {report_event_id}: no transfer from the victim's accounts to the accounts reported"
            )
        victim = str(report["victim_id"])
        return victim, [Seed(event_id=e, victim=victim) for e in losses]

    def out_rows(self, account: str) -> np.ndarray:
        """Index rows of the account's outgoing transfers, in time order."""
        index = self.index
        code = index.account_code(account)
        if code is None:
            return np.zeros(0, dtype=np.int64)
        return index.out_rows[index.out_offsets[code] : index.out_offsets[code + 1]]


# -- views ---------------------------------------------------------------------------------------------------
class OrderView(BaseModel):
    order_id: str
    chase_id: str
    kind: OrderKind
    account: str
    bank: str
    state: OrderState
    hop: int
    seq: int
    requested: Decimal
    held: Decimal | None
    taint: dict[str, Decimal]
    path: list[str]
    reasons: list[str]
    """as text, Chinese unless :meth:`in_language` says otherwise"""
    legal_basis: str
    contact: dict[str, str] | None
    respond_by: datetime
    hold_until: datetime | None
    reject_reason: str | None
    parent_order_id: str | None
    issued_by: str
    issued_at: datetime
    updated_at: datetime
    messages: list[Any] = Field(default_factory=list, exclude=True)
    """the reasons as stored (:mod:`aegis.reasons`), kept to word them in another language"""
    lang: Lang = Field(default=DEFAULT_LANG, exclude=True)
    """the language of ``reasons`` and ``names``"""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def names(self) -> dict[str, str]:
        """The names of ``kind`` and ``state`` in the language of the reasons."""
        return {"kind": name_of(self.kind.value, self.lang), "state": name_of(self.state.value, self.lang)}

    def in_language(self, lang: Lang) -> OrderView:
        return self.model_copy(update={"reasons": render(self.messages, lang), "lang": lang})


class ChaseView(BaseModel):
    chase_id: str
    report_event_id: str | None
    victims: list[str]
    loss: Decimal
    rule: str
    max_hops: int
    status: str
    traced_at: datetime
    reached: list[dict[str, Any]]
    flagged: list[dict[str, Any]]
    orders: list[OrderView]
    created_by: str
    created_at: datetime

    def in_language(self, lang: Lang) -> ChaseView:
        return self.model_copy(update={"orders": [o.in_language(lang) for o in self.orders]})


class ReturnView(BaseModel):
    batch_id: str | None
    per_victim: dict[str, Decimal]
    per_account: dict[str, dict[str, Decimal]]
    unallocated: dict[str, Decimal]
    orders: list[str]


class RespondResult(BaseModel):
    order: OrderView
    follow_ups: list[OrderView]

    def in_language(self, lang: Lang) -> RespondResult:
        return RespondResult(order=self.order.in_language(lang),
                             follow_ups=[o.in_language(lang) for o in self.follow_ups])


def _order_view(row: Any) -> OrderView:
    data = dict(row._mapping)
    data["taint"] = taint_from_json(data["taint"])
    data["messages"] = data["reasons"]
    data["reasons"] = render(data["reasons"])
    return OrderView(**data)


# -- helpers -------------------------------------------------------------------------------------------------
def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now: give a timezone-aware time")
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
        sink_channels=policy.sinks.channels,
        as_of=as_of,
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
    throughput = {}
    for account in result.accounts:
        code = index.account_code(account)
        if code is None:
            continue
        ledger = Ledger.of(index, code, upto)
        throughput[str(account)] = ledger.opening + float(ledger.amount[~ledger.debit].sum())
    return [
        *targets(result, policy.floor, covers, throughput=throughput, min_share=policy.min_taint_share),
        *supplements(result, policy.floor, covers),
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
    module = postgresql if conn.dialect.name == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()


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
    why: Sequence[Reason] = (),
) -> list[str]:
    """Issue one order per target (idempotent: an existing order is kept as it is); audit each new one."""
    terms = policy.terms(kind)
    issued = []
    for target in found:
        bank = (banks or {}).get(target.account) or (data.bank_of(target.account) if data else "unknown")
        oid = order_id(chase_id, target.account, kind, target.seq)
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
        raise ChaseError(f"order {order.order_id}: changed by someone else meanwhile; read it again")
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


def _order(conn: Connection, oid: str) -> Any:
    row = conn.execute(select(fund_order).where(fund_order.c.order_id == oid)).first()
    if row is None:
        raise LookupError(f"order {oid}: no such order")
    return row


def _chase(conn: Connection, chase_id: str) -> dict[str, Any]:
    row = conn.execute(select(fund_chase).where(fund_chase.c.chase_id == chase_id)).first()
    if row is None:
        raise LookupError(f"chase {chase_id}: no such chase")
    return dict(row._mapping)


def _covers(conn: Connection, chase_id: str) -> dict[str, Cover]:
    """What the chase's orders already account for, per account."""
    return coverage(conn.execute(select(fund_order).where(fund_order.c.chase_id == chase_id)).all())


def _check_bank(actor: Actor, order: Any) -> None:
    if actor.role is Role.system:
        return
    if actor.role is not Role.bank:
        raise PermissionDenied(f"role: {actor.role.value} may not answer an order for a bank")
    if actor.institution != order.bank:
        raise PermissionDenied(f"order {order.order_id}: it is for {order.bank}, not {actor.institution}")


# -- use cases -----------------------------------------------------------------------------------------------
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
    actor.require(CHASE_ROLES, "open a funds chase")
    policy = policy or load_policy()
    now = _now(now)
    data = data or FundsData.from_store(engine)
    if report_event_id is not None:
        victim, seeds = data.report_seeds(report_event_id)
    elif victim and loss_transfers:
        seeds = [Seed(event_id=e, victim=victim) for e in loss_transfers]
    else:
        raise ChaseError("give a report_event_id, or a victim and the loss transfers")
    rows = data.index.rows_of(s.event_id for s in seeds)
    missing = [s.event_id for s in seeds if s.event_id not in rows]
    if missing:
        raise LookupError(f"loss transfers not found: {', '.join(map(str, missing))}")
    seed_rows = [
        {"event_id": s.event_id, "victim": s.victim, "amount": str(fen(data.index.amount[rows[s.event_id]]))}
        for s in seeds
    ]
    chase_id = stable_id("CH", *sorted(s["event_id"] for s in seed_rows))
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
    with engine.connect() as conn:
        if conn.execute(select(fund_chase.c.chase_id).where(fund_chase.c.chase_id == chase_id)).first():
            return get_chase(engine, actor, chase_id)
    result = _trace(data, chase, policy, now)
    chase["reached"] = _reached(result, data, policy.floor)
    chase["flagged"] = flagged(result)
    with engine.begin() as conn:
        inserted = conn.execute(
            _insert_ignoring_duplicates(conn, fund_chase).values(chase).returning(fund_chase.c.chase_id)
        ).first()
        if inserted:
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
    return get_chase(engine, actor, chase_id)


def get_chase(engine: Engine, actor: Actor, chase_id: str) -> ChaseView:
    """The whole chase, every bank's orders included: for the city centre only."""
    actor.require(CHASE_ROLES, "see a whole chase (banks see their own orders)")
    with engine.connect() as conn:
        chase = _chase(conn, chase_id)
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
) -> list[OrderView]:
    """Orders, newest first. A bank sees only the orders for its own accounts."""
    if actor.role is Role.bank:
        if bank is not None and bank != actor.institution:
            raise PermissionDenied(f"bank: {actor.institution} may not see the orders of {bank}")
        bank = actor.institution
    else:
        actor.require(CHASE_ROLES, "list orders")
    query = select(fund_order).order_by(fund_order.c.issued_at.desc(), fund_order.c.order_id)
    if chase_id:
        query = query.where(fund_order.c.chase_id == chase_id)
    if state:
        query = query.where(fund_order.c.state == OrderState(state).value)
    if bank:
        query = query.where(fund_order.c.bank == bank)
    with engine.connect() as conn:
        return [_order_view(row) for row in conn.execute(query)]


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
    the accounts the money reached since get stop-payment orders at once, in the same transaction.
    """
    if action not in BANK_ACTIONS:
        raise ChaseError(f"action: '{action}' is not one of {', '.join(BANK_ACTIONS)}")
    target = BANK_ACTIONS[action]
    policy = policy or load_policy()
    now = _now(now)
    with engine.connect() as conn:
        order = _order(conn, order_id_)
    _check_bank(actor, order)
    check_transition(order.order_id, order.state, target)
    values: dict[str, Any] = {}
    reasons: list[Reason | str] = [reason] if reason else []
    follow = False
    if target is OrderState.executed:
        if held is None or not Decimal(0) < fen(held) <= order.requested:
            raise ChaseError(f"held: order {order.order_id} needs an amount in (0, {order.requested}]")
        values = {"held": fen(held), "hold_until": now + policy.terms(order.kind).hold}
        follow = fen(held) < order.requested
        amount = str(fen(held))
        done = (Reason("已止付{amount}元", amount=amount) if order.kind == OrderKind.stop_payment
                else Reason("已冻结{amount}元", amount=amount))
        reasons = reasons or [done]
    elif target is OrderState.rejected:
        if not reason:
            raise ChaseError(f"reason: rejecting order {order.order_id} needs a reason")
        values = {"reject_reason": reason}
    elif target is OrderState.moved_on:
        follow = True
        reasons = reasons or [Reason("银行反馈：资金已转出")]
    result = None
    if follow:
        data = data or FundsData.from_store(engine)
        with engine.connect() as conn:
            chase = _chase(conn, order.chase_id)
        result = _trace(data, chase, policy, now)
    with engine.begin() as conn:
        _move(
            conn,
            order,
            target,
            actor=actor,
            now=now,
            reasons=reasons,
            values=values,
            details={"held": values["held"]} if "held" in values else None,
        )
        if target is OrderState.executed and order.kind == OrderKind.freeze:
            _supersede_stop_payment(conn, order, actor, now)
        new: list[str] = []
        if result is not None and data is not None:
            moved = (Reason("资金已转出") if target is OrderState.moved_on
                     else Reason("仅止付{amount}元，余款已转出", amount=str(fen(held or 0))))
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
                why=[Reason("续查：{bank}账户{account}{moved}（指令 {order}）", bank=order.bank, account=order.account,
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
        updated = _order_view(_order(conn, order.order_id))
        follow_ups = [_order_view(_order(conn, oid)) for oid in new]
    return RespondResult(order=updated, follow_ups=follow_ups)


RETRACE = Reason("续查")
"""why a chase is traced again when the caller gives no other reason"""


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
    actor.require(CHASE_ROLES, "trace a chase again")
    policy = policy or load_policy()
    now = _now(now)
    data = data or FundsData.from_store(engine)
    with engine.connect() as conn:
        chase = _chase(conn, chase_id)
    result = _trace(data, chase, policy, now)
    with engine.begin() as conn:
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
    actor.require(CHASE_ROLES, "add losses to a chase")
    if not loss_transfers:
        raise ChaseError("loss_transfers: give at least one transfer event id")
    now = _now(now)
    data = data or FundsData.from_store(engine)
    rows = data.index.rows_of(loss_transfers)
    missing = [e for e in loss_transfers if e not in rows]
    if missing:
        raise LookupError(f"loss transfers not found: {', '.join(map(str, missing))}")
    with engine.begin() as conn:
        chase = _chase(conn, chase_id)
        known = {s["event_id"] for s in chase["seeds"]}
        owner = victim or chase["victims"][0]
        added = [
            {"event_id": e, "victim": owner, "amount": str(fen(data.index.amount[rows[e]]))}
            for e in dict.fromkeys(loss_transfers)
            if e not in known
        ]
        if added:
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


def _supersede_stop_payment(conn: Connection, freeze: Any, actor: Actor, now: datetime) -> None:
    """An executed freeze takes over the stop-payment on the same account: the stop-payment is released."""
    stop = conn.execute(
        select(fund_order).where(
            fund_order.c.chase_id == freeze.chase_id,
            fund_order.c.account == freeze.account,
            fund_order.c.kind == OrderKind.stop_payment.value,
            fund_order.c.seq == freeze.seq,
            fund_order.c.state == OrderState.executed.value,
        )
    ).first()
    if stop is not None:
        _move(
            conn,
            stop,
            OrderState.released,
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
    """Follow every executed stop-payment of the chase with a freeze of the amount it held."""
    actor.require(CHASE_ROLES, "order a freeze")
    policy = policy or load_policy()
    now = _now(now)
    with engine.begin() as conn:
        _chase(conn, chase_id)
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
        return [_order_view(_order(conn, oid)) for oid in new]


def release(
    engine: Engine, actor: Actor, order_id_: str, reason: str, *, now: datetime | None = None
) -> OrderView:
    """Lift an executed hold (unfreeze: the money stays with the account holder), with the reason."""
    actor.require(CHASE_ROLES, "release a hold")
    if not reason:
        raise ChaseError("reason: releasing a hold needs a reason")
    now = _now(now)
    with engine.begin() as conn:
        order = _order(conn, order_id_)
        _move(conn, order, OrderState.released, actor=actor, now=now, reasons=[reason])
        return _order_view(_order(conn, order_id_))


def expire_orders(engine: Engine, actor: Actor, *, now: datetime | None = None) -> list[str]:
    """Mark executed holds whose period has run out as expired; returns their ids."""
    actor.require(CHASE_ROLES, "expire holds")
    now = _now(now)
    with engine.begin() as conn:
        due = conn.execute(
            select(fund_order).where(
                fund_order.c.state == OrderState.executed.value, fund_order.c.hold_until <= now
            )
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
    what each victim lost and has not yet got back, and the freezes become ``returned``.
    """
    actor.require(CHASE_ROLES, "return frozen funds")
    now = _now(now)
    with engine.begin() as conn:
        _chase(conn, chase_id)
        accounts = set(
            conn.execute(
                select(fund_order.c.account).where(
                    fund_order.c.chase_id == chase_id,
                    fund_order.c.kind == OrderKind.freeze.value,
                    fund_order.c.state == OrderState.executed.value,
                )
            ).scalars()
        )
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
            return ReturnView(batch_id=None, per_victim={}, per_account={}, unallocated={}, orders=[])
        frozen: dict[str, Decimal] = {}
        taint: dict[str, dict[str, Decimal]] = {}
        for order in freezes:
            frozen[order.account] = frozen.get(order.account, Decimal(0)) + order.held
            for victim, amount in taint_from_json(order.taint).items():
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
        for order in freezes:
            given = result.per_account.get(order.account, {})
            _move(
                conn,
                order,
                OrderState.returned,
                actor=actor,
                now=now,
                reasons=[
                    Reason("资金返还（批次 {batch}）", batch=batch),
                    *(Reason("返还{victim} {amount}元", victim=v, amount=str(a)) for v, a in sorted(given.items())),
                ],
                details={"batch_id": batch},
            )
        return ReturnView(
            batch_id=batch,
            per_victim=result.per_victim,
            per_account=result.per_account,
            unallocated=result.unallocated,
            orders=[o.order_id for o in freezes],
        )


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


def load_bank_contacts(engine: Engine, actor: Actor, policy: FundsPolicy | None = None) -> int:
    """Store the policy's bank duty posts (replacing stored ones of the same bank and role)."""
    actor.require(CHASE_ROLES, "set bank contacts")
    policy = policy or load_policy()
    now = datetime.now(UTC)
    rows = [
        {"bank": bank, **c.model_dump(), "updated_at": now}
        for bank, posts in policy.banks.items()
        for c in posts
    ]
    with engine.begin() as conn:
        module = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = module.insert(bank_contact)
        statement = statement.on_conflict_do_update(
            index_elements=["bank", "role"],
            set_={k: statement.excluded[k] for k in ("post", "phone", "hours", "updated_at")},
        )
        if rows:
            conn.execute(statement, rows)
        AuditLog(engine).append(
            actor=actor.label,
            action="bank_contact.load",
            subject_type="bank_contact",
            subject_id="*",
            details={"rows": len(rows)},
            connection=conn,
        )
    return len(rows)


def bank_contacts(
    engine: Engine, actor: Actor, *, bank: str | None = None, at: datetime | None = None
) -> list[dict[str, Any]]:
    """Duty posts per bank with whether each is on duty at ``at``; a bank sees only its own."""
    from aegis.actions.orders import Contact

    if actor.role is Role.bank:
        if bank is not None and bank != actor.institution:
            raise PermissionDenied(f"bank: {actor.institution} may not see the contacts of {bank}")
        bank = actor.institution
    else:
        actor.require(CHASE_ROLES, "see bank contacts")
    at = _now(at)
    query = select(bank_contact).order_by(bank_contact.c.bank, bank_contact.c.role)
    if bank:
        query = query.where(bank_contact.c.bank == bank)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "bank": r.bank,
            "role": r.role,
            "post": r.post,
            "phone": r.phone,
            "hours": r.hours,
            "on_duty": Contact(role=r.role, post=r.post, phone=r.phone, hours=r.hours).on_duty(at),
        }
        for r in rows
    ]


# -- simulated banks: the demo and the evaluation ------------------------------------------------------------
CITY = Actor("chase-desk", Role.city_centre)


@dataclass
class SimulatedBanks:
    """Banks that answer orders from what the transfers show: money still there is held, else it moved on.

    An executed order holds an amount, not the whole account (止付、冻结 are for the sum involved): the
    simulator, which knows nothing of holds, kept moving the money, so each later payment out of a held
    account is dropped from the data when it would eat into the amount held, before any later trace. Money
    that was held is then never chased again downstream, and money beyond the holds moves on as it did.
    (Payments further down that the dropped money would have funded are left as they are: the tracer books
    them against the account's own money.)
    """

    data: FundsData
    policy: FundsPolicy
    blocked: set[str] = field(default_factory=set)
    #: per account, the holds on it: (first index row they apply to, amount)
    holds: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    _blocked_by: dict[str, set[str]] = field(default_factory=dict)

    def block(self, account: str, at: datetime, amount: Decimal) -> None:
        index = self.data.index
        code = index.account_code(account)
        if code is None:
            return
        holds = self.holds.setdefault(account, [])
        holds.append((index.rows_before(at), float(amount)))
        ledger = Ledger.of(index, code, len(index))
        others = self.blocked - self._blocked_by.get(account, set())
        balance = ledger.opening
        dropped = set()
        for row, out, value in zip(ledger.rows.tolist(), ledger.debit.tolist(), ledger.amount.tolist(), strict=True):
            event = index.event_id(row)
            if event in others:
                continue
            if not out:
                balance += value
                continue
            held = sum(x for start, x in holds if row >= start)
            if held and balance - value < held - 0.005:
                dropped.add(event)
                continue
            balance -= value
        self._blocked_by[account] = dropped
        self.blocked = others | dropped

    def free(self, data: FundsData, account: str, at: datetime) -> Decimal:
        """What the bank can still hold in the account at ``at``: its balance less the holds already on it."""
        index = data.index
        code = index.account_code(account)
        if code is None:
            return Decimal(0)
        ledger = Ledger.of(index, code, index.rows_before(at))
        balance = ledger.opening + float(np.where(ledger.debit, -ledger.amount, ledger.amount).sum())
        return max(Decimal(0), fen(balance - sum(x for _, x in self.holds.get(account, []))))

    def view(self, chase: Mapping[str, Any], until: datetime) -> FundsData:
        """The data of the chase's neighbourhood with held accounts' later transfers removed."""
        wide = _trace(self.data, chase, self.policy, until)
        seeds = {s["event_id"] for s in chase["seeds"]}
        return self.data.restricted(wide.accounts, self.blocked - seeds)

    def chase(self, engine: Engine, view: ChaseView, now: datetime, rounds: int = 8) -> None:
        """Answer the chase's orders round by round (follow-ups included), then freeze what was stopped."""
        minutes = self.policy.simulated_bank.response_minutes
        t = now
        with engine.connect() as conn:
            chase = _chase(conn, view.chase_id)
        horizon = now + timedelta(minutes=minutes[OrderKind.stop_payment] * (rounds + 1))
        for _ in range(rounds):
            pending = [o for o in list_orders(engine, CITY, chase_id=view.chase_id) if o.state in PENDING]
            if not pending:  # the desk looks again: money that landed since gets (supplementary) orders
                pending = retrace(engine, CITY, view.chase_id, now=t, data=self.view(chase, horizon),
                                  policy=self.policy)
                if not pending:
                    break
            t = t + timedelta(minutes=minutes[OrderKind.stop_payment])
            data = self.view(chase, horizon)
            result = _trace(data, chase, self.policy, t)
            for order in pending:
                bank = Actor(f"duty-{order.bank}", Role.bank, institution=order.bank)
                respond(engine, bank, order.order_id, "acknowledge", now=t, data=data, policy=self.policy)
                there = result.accounts.get(order.account)
                still = fen(sum(there.held_by_victim.values())) if there else Decimal(0)
                held = min(still, order.requested, self.free(data, order.account, t))
                if held > 0:
                    respond(
                        engine, bank, order.order_id, "execute", held=held, now=t, data=data, policy=self.policy
                    )
                    self.block(order.account, t, held)
                elif still > 0:  # the money there is held already, under another chase's order
                    respond(engine, bank, order.order_id, "reject", reason="账户内资金已由其他指令止付", now=t,
                            policy=self.policy)
                else:
                    respond(engine, bank, order.order_id, "moved_on", now=t, data=data, policy=self.policy)
        t = t + timedelta(minutes=minutes[OrderKind.freeze])
        for freeze in escalate(engine, CITY, view.chase_id, now=t, policy=self.policy):
            bank = Actor(f"duty-{freeze.bank}", Role.bank, institution=freeze.bank)
            respond(engine, bank, freeze.order_id, "acknowledge", now=t, policy=self.policy)
            respond(
                engine, bank, freeze.order_id, "execute", held=freeze.requested, now=t, policy=self.policy
            )


def _report_times(data: FundsData) -> pd.DataFrame:
    """Reports with the time of their last loss transfer (the clock of a chase starts there)."""
    rows = []
    for report in data.reports.itertuples():
        try:
            _, seeds = data.report_seeds(report.event_id)
        except (LookupError, ChaseError):
            continue
        found = data.index.rows_of(s.event_id for s in seeds)
        last = max(int(data.index.time[r]) for r in found.values())
        rows.append(
            {
                "report_event_id": report.event_id,
                "victim_id": report.victim_id,
                "last_loss": pd.Timestamp(last, tz="UTC").to_pydatetime(),
                "report_time": report.time,
            }
        )
    return pd.DataFrame(rows, columns=["report_event_id", "victim_id", "last_loss", "report_time"])


def run_demo_chase(
    engine: Engine,
    sim_dir: Path,
    n_victims: int = 5,
    *,
    delay_minutes: float | None = None,
    data: FundsData | None = None,
    policy: FundsPolicy | None = None,
) -> dict[str, Any]:
    """Chase the money of the first ``n_victims`` reported victims of a simulated city, end to end.

    Orders go out at the report time (or ``delay_minutes`` after the last loss); the simulated banks answer
    from the transfers, stop-payments become freezes, and the frozen money is returned. Returns a summary
    with the amounts stopped, frozen and returned.
    """
    policy = policy or load_policy()
    data = data or FundsData.from_sim(sim_dir)
    banks = SimulatedBanks(data, policy)
    load_bank_contacts(engine, CITY, policy)
    reports = _report_times(data).head(n_victims)
    chases = []
    for report in reports.itertuples():
        at = (
            report.report_time
            if delay_minutes is None
            else report.last_loss + timedelta(minutes=delay_minutes)
        )
        at = pd.Timestamp(at).to_pydatetime()
        view = open_chase(
            engine, CITY, report_event_id=report.report_event_id, now=at, data=data, policy=policy
        )
        banks.chase(engine, view, at)
        chases.append(view.chase_id)
    returned: dict[str, Decimal] = {}
    end = max((o.updated_at for o in list_orders(engine, CITY)), default=datetime.now(UTC)) + timedelta(
        days=1
    )
    for chase_id in chases:
        for victim, amount in return_funds(engine, CITY, chase_id, now=end).per_victim.items():
            returned[victim] = returned.get(victim, Decimal(0)) + amount
    orders = list_orders(engine, CITY)
    held = {
        k: sum((o.held or Decimal(0) for o in orders if o.kind == k and o.held), Decimal(0))
        for k in OrderKind
    }
    losses = {v: c.loss for c in (get_chase(engine, CITY, i) for i in chases) for v in c.victims}
    return {
        "chases": chases,
        "orders": len(orders),
        "orders_by_state": pd.Series([o.state.value for o in orders]).value_counts().to_dict()
        if orders
        else {},
        "loss": str(sum(losses.values(), Decimal(0))),
        "stopped": str(held[OrderKind.stop_payment]),
        "frozen": str(held[OrderKind.freeze]),
        "returned": str(sum(returned.values(), Decimal(0))),
        "returned_per_victim": {
            v: {"loss": str(losses.get(v, 0)), "returned": str(a)} for v, a in returned.items()
        },
    }


# -- evaluation against the simulator's truth ----------------------------------------------------------------
def _truth_freezable(fraud: pd.DataFrame, victim_accounts: set[str], guilty: set[str], at: datetime) -> float:
    """The victim's money still sitting in gang accounts at ``at``, from the simulator's own record of it."""
    moved = fraud[fraud["time"] <= at]
    into = moved.groupby("payee_account")["amount"].sum()
    out = moved.groupby("payer_account")["amount"].sum()
    balance = into.sub(out, fill_value=0.0).clip(lower=0.0)
    keep = [a for a in balance.index if a in guilty and a not in victim_accounts]
    return float(balance.loc[keep].sum())


def _scenario(
    data: FundsData, policy: FundsPolicy, times: Mapping[str, datetime], workdir: Path
) -> tuple[list[OrderView], pd.DataFrame]:
    """Open every chase at its time in a fresh store, let the banks answer, return the money."""
    from aegis.store import open_engine

    engine = open_engine(f"sqlite:///{workdir / 'chase.db'}")
    try:
        banks = SimulatedBanks(data, policy)
        for report_id, at in sorted(times.items(), key=lambda kv: kv[1]):
            view = open_chase(engine, CITY, report_event_id=report_id, now=at, data=data, policy=policy)
            banks.chase(engine, view, at)
        end = max(times.values()) + timedelta(days=1)
        chase_ids = {o.chase_id for o in list_orders(engine, CITY)}
        for chase_id in sorted(chase_ids):
            return_funds(engine, CITY, chase_id, now=end)
        orders = list_orders(engine, CITY)
        with engine.connect() as conn:
            returns = pd.DataFrame([dict(r._mapping) for r in conn.execute(select(fund_return))])
    finally:
        engine.dispose()
    return orders, returns


def evaluate_funds_sim(
    sim_dir: Path,
    delays_minutes: Sequence[float] = (5, 30, 60, 240, 1440),
    *,
    policy: FundsPolicy | None = None,
) -> dict[str, Any]:
    """Stop-payment and freeze against the simulator's truth, for every reported victim.

    For each delay (minutes from the victim's last loss to the first orders) and for the real report times:
    the share of the stolen money still freezable then (truth: what sat in gang accounts), the share stopped,
    frozen and returned by the chase, and how many frozen accounts were innocent (truth: neither a mule nor a
    cash-out account). Returns per victim are given for the report-time scenario.

    "Freezable" follows the simulator's own record of whose money each withdrawal took; the chase books a
    shared account's money by the tracing rule (FIFO: oldest money leaves first). Money is fungible, so at
    short delays the chase can stop more of a reported victim's loss than the record says was left: the
    money that stayed belonged, in the record, to earlier (often unreported) victims of the same gang.
    """
    sim_dir = Path(sim_dir)
    policy = policy or load_policy()
    data = FundsData.from_sim(sim_dir)
    truth = sim_dir / "truth"
    try:
        accounts = pd.read_parquet(truth / "accounts.parquet", columns=["account", "is_mule", "role"])
        fraud_ids = pd.read_parquet(
            truth / "fraud_transfers.parquet", columns=["event_id", "victim_id", "hop"]
        )
    except (OSError, ValueError) as exc:
        raise DataError(f"{truth}: the simulator's truth files are missing or unreadable ({exc})") from None
    guilty = set(accounts.loc[accounts["is_mule"], "account"])
    fraud = data.transfers.merge(fraud_ids, on="event_id")
    reports = _report_times(data)
    if not len(reports):
        raise DataError(f"{sim_dir}: no reported victim with traceable loss transfers")
    openings = data.openings[data.openings["person_id"].isin(set(reports["victim_id"]))]
    own = openings.groupby("person_id")["account"].agg(set).to_dict()
    loss = fraud[fraud["hop"] == 0].groupby("victim_id")["amount"].sum()
    total_loss = float(loss.reindex(reports["victim_id"]).fillna(0).sum())

    scenarios: dict[str, dict[str, datetime]] = {}
    for delay in delays_minutes:
        scenarios[f"{delay:g} min"] = {
            r.report_event_id: r.last_loss + timedelta(minutes=float(delay)) for r in reports.itertuples()
        }
    scenarios["report"] = {
        r.report_event_id: pd.Timestamp(r.report_time).to_pydatetime() for r in reports.itertuples()
    }

    rows = []
    per_victim: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="aegis-funds-eval-") as tmp:
        for name, times in scenarios.items():
            work = Path(tmp) / name.replace(" ", "_")
            work.mkdir()
            orders, returns = _scenario(data, policy, times, work)
            freezable = sum(
                _truth_freezable(
                    fraud[fraud["victim_id"] == r.victim_id],
                    own.get(r.victim_id, set()),
                    guilty,
                    times[r.report_event_id],
                )
                for r in reports.itertuples()
            )
            stops = [o for o in orders if o.kind == OrderKind.stop_payment and o.held]
            freezes = [o for o in orders if o.kind == OrderKind.freeze and o.held]
            frozen_accounts = {o.account for o in stops + freezes}
            innocent = sorted(frozen_accounts - guilty)
            returned = (
                returns.groupby("victim_id")["amount"].sum() if len(returns) else pd.Series(dtype=object)
            )
            minutes = [
                (times[r.report_event_id] - r.last_loss).total_seconds() / 60 for r in reports.itertuples()
            ]
            rows.append(
                {
                    "scenario": name,
                    "median_minutes_after_loss": float(np.median(minutes)),
                    "freezable_share": freezable / total_loss,
                    "stopped_share": float(sum(o.held or 0 for o in stops)) / total_loss,
                    "frozen_share": float(sum(o.held or 0 for o in freezes)) / total_loss,
                    "returned_share": float(sum(returned.values)) / total_loss if len(returned) else 0.0,
                    # a few large losses dominate the sums: the typical victim's share back
                    "median_victim_returned_share": float(
                        np.median([float(returned.get(v, 0)) / float(loss[v]) for v in reports["victim_id"]])
                    ),
                    "orders": len(orders),
                    "moved_on_answers": sum(o.state == OrderState.moved_on for o in orders),
                    "accounts_held": len(frozen_accounts),
                    "innocent_accounts_held": len(innocent),
                    "precision": (len(frozen_accounts) - len(innocent)) / len(frozen_accounts)
                    if frozen_accounts
                    else 1.0,
                }
            )
            if name == "report":
                per_victim = [
                    {
                        "victim_id": r.victim_id,
                        "loss": round(float(loss.get(r.victim_id, 0.0)), 2),
                        "returned": float(returned.get(r.victim_id, 0)),
                        "minutes_to_report": round(
                            (times[r.report_event_id] - r.last_loss).total_seconds() / 60, 1
                        ),
                    }
                    for r in reports.itertuples()
                ]
    return {
        "reported_victims": len(reports),
        "total_loss": round(total_loss, 2),
        "rule": policy.rule,
        "floor": float(policy.floor),
        "by_delay": rows,
        "returns_per_victim": per_victim,
    }
