"""Stop-payment and freeze orders (紧急止付、快速冻结) as pure functions over plain values (no database here).

An order asks one bank to hold tainted money in one account. It lives through

    issued -> acknowledged -> executed (held, at most the amount asked) -> released | returned | expired
    (and a stop-payment -> superseded, once the freeze that follows it holds the money)
                           -> rejected (with the bank's reason)
                           -> moved_on (the money had already left: the chase follows it to the next hop)

``issued -> rejected`` is allowed too (an order sent to the wrong bank is refused before anyone works on it).
Every other step is refused with an error naming the order and both states, so a retried or out-of-order
bank answer can never rewrite history. The use cases (``aegis.usecases.funds``) read and write the rows and
the audit log; what may happen next, which accounts deserve an order and for how much, is decided here.

>>> check_transition("OR-1", "issued", "acknowledged")
>>> check_transition("OR-1", "rejected", "executed")
Traceback (most recent call last):
...
aegis.actions.orders.IllegalTransition: order OR-1: cannot go from rejected to executed (it is final)
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from aegis.actions.returns import largest_remainder
from aegis.decisions.policy_file import PolicyModel, read_policy_file
from aegis.decisions.warning_policy import parse_duration
from aegis.events.models import CHINA_TZ
from aegis.reasons import Explained, InputError, Reason, yuan

if TYPE_CHECKING:  # the funds package imports pandas and pyarrow; a transfer decision takes only fen() from here
    from aegis.funds import TraceResult

FEN = Decimal("0.01")


class OrderKind(StrEnum):
    stop_payment = "stop_payment"
    freeze = "freeze"


class OrderState(StrEnum):
    issued = "issued"
    acknowledged = "acknowledged"
    executed = "executed"
    rejected = "rejected"
    moved_on = "moved_on"
    released = "released"
    superseded = "superseded"
    """a stop-payment whose money the freeze that followed it holds now: not lifted, taken over"""
    returned = "returned"
    expired = "expired"


S = OrderState
TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    S.issued: frozenset({S.acknowledged, S.rejected}),
    S.acknowledged: frozenset({S.executed, S.rejected, S.moved_on}),
    S.executed: frozenset({S.released, S.superseded, S.returned, S.expired}),
    S.rejected: frozenset(),
    S.moved_on: frozenset(),
    S.released: frozenset(),
    S.superseded: frozenset(),
    S.returned: frozenset(),
    S.expired: frozenset(),
}
#: states in which the bank still has to answer
PENDING = frozenset({S.issued, S.acknowledged})


class IllegalTransition(Explained, ValueError):
    """A state change the order's life cycle does not allow."""


def check_transition(order_id: str, current: str, target: str) -> None:
    """Raise :class:`IllegalTransition` unless ``current -> target`` is a step of the life cycle."""
    now, then = OrderState(current), OrderState(target)
    allowed = TRANSITIONS[now]
    if then not in allowed:
        hint = (Reason("可转为：{states}", states=", ".join(sorted(allowed))) if allowed else
                Reason("接续它的冻结持有资金：请解除那条冻结") if now is S.superseded else
                Reason("已是终态"))
        raise IllegalTransition(Reason("指令{order}：不能从{now}转为{then}（{hint}）", order=order_id, now=now.value,
                                       then=then.value, hint=hint))


def fen(value: float | Decimal | str) -> Decimal:
    """An amount rounded to the fen, the unit every stored amount is kept in."""
    return Decimal(str(value)).quantize(FEN, rounding=ROUND_HALF_UP)


def stable_id(prefix: str, *parts: object) -> str:
    """A short id derived from the parts: the same request always gets the same id (idempotent retries)."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=10).hexdigest()
    return f"{prefix}-{digest}"


def order_id(chase_id: str, account: str, kind: str, seq: int = 0, attempt: int = 0) -> str:
    """The order's id; a supplementary order (``seq`` > 0) and an order issued again after a rejection
    (``attempt`` > 0) get their own."""
    return stable_id("OR", chase_id, account, kind, *([seq] if seq or attempt else []),
                     *(["attempt", attempt] if attempt else []))


# -- policy --------------------------------------------------------------------------------------------------
class Terms(PolicyModel):
    """What one kind of order asks: how long the hold lasts, how soon the bank answers, on what basis."""

    hold: timedelta
    respond_within: timedelta
    legal_basis: str = Field(min_length=10)

    @field_validator("hold", "respond_within", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return value if isinstance(value, timedelta) else parse_duration(value)


class Sinks(PolicyModel):
    channels: dict[str, str] = Field(default_factory=dict)
    large_merchant_min_payers: int = Field(ge=2)
    accounts: dict[str, str] = Field(default_factory=dict)


ContactRole = Literal["stop_payment_duty", "freeze_officer", "manager"]


class Contact(PolicyModel):
    """A bank's duty post for orders: who answers the phone, and when the post is staffed (China time)."""

    role: ContactRole
    post: str = Field(min_length=1, max_length=128)
    phone: str = Field(min_length=3, max_length=32)
    hours: str = Field(pattern=r"^\d\d:\d\d-\d\d:\d\d$")

    def on_duty(self, at: datetime) -> bool:
        start, end = self.hours.split("-")
        local = at.astimezone(CHINA_TZ).time()
        if end == "24:00":
            return local >= time.fromisoformat(start)
        return time.fromisoformat(start) <= local < time.fromisoformat(end)


#: the duty posts that take each kind of order, first choice first (a freeze that comes at night goes to
#: the 24-hour stop-payment desk)
CONTACT_ROLES: dict[str, tuple[ContactRole, ...]] = {
    OrderKind.stop_payment: ("stop_payment_duty", "manager"),
    OrderKind.freeze: ("freeze_officer", "stop_payment_duty", "manager"),
}


class SimulatedBank(PolicyModel):
    response_minutes: dict[OrderKind, float]


class FundsPolicy(PolicyModel):
    version: str = Field(min_length=1, max_length=32)
    rule: Literal["fifo", "lifo", "proportional"]
    max_hops: int = Field(ge=1, le=20)
    #: how long the LIFO rule follows tainted money after it reached an account (None: for ever); what is
    #: still there then has settled and is held there. Chases traced by another rule have no dwell limit.
    max_dwell: timedelta | None = None
    floor: Decimal = Field(gt=0)
    min_taint_share: float = Field(ge=0, le=1)
    orders: dict[OrderKind, Terms]
    sinks: Sinks
    simulated_bank: SimulatedBank
    banks: dict[str, list[Contact]] = Field(default_factory=dict)

    @field_validator("max_dwell", mode="before")
    @classmethod
    def _dwell(cls, value: Any) -> timedelta | None:
        return value if value is None or isinstance(value, timedelta) else parse_duration(value)

    @field_validator("max_dwell")
    @classmethod
    def _positive_dwell(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value <= timedelta(0):
            raise InputError(Reason("max_dwell：请给出正的时长（如24h），或不填"))
        return value

    def dwell(self, rule: str) -> timedelta | None:
        """The dwell limit a chase traced by ``rule`` has: the policy's for LIFO, none for the other rules."""
        return self.max_dwell if rule == "lifo" else None

    def terms(self, kind: str) -> Terms:
        return self.orders[OrderKind(kind)]

    def contact(self, bank: str, kind: str, at: datetime) -> Contact | None:
        """The post to notify of an order of ``kind`` at ``at``: the first preferred post on duty."""
        posts = {c.role: c for c in self.banks.get(bank, [])}
        for role in CONTACT_ROLES[kind]:
            post = posts.get(role)
            if post is not None and post.on_duty(at):
                return post
        return None


def default_policy_path() -> Path:
    return Path(str(resources.files("aegis.data") / "policy" / "funds.yaml"))


def load_policy(path: Path | None = None) -> FundsPolicy:
    """Read and validate the funds policy; errors name the file and the field."""
    return read_policy_file(path or default_policy_path(), FundsPolicy)


# -- which accounts get an order -----------------------------------------------------------------------------
TRAIL = Reason("资金路径：{path}")
"""the reason that lists the money's path to an ordered account, transfer by transfer (:attr:`Target.reasons`)"""
FOLLOWED = Reason("续查：{bank}账户{account}{moved}（指令 {order}）")
"""the reason of an order that follows money a bank said had moved on from its customer's account"""


@dataclass(frozen=True)
class Target:
    """An account worth an order: the tainted money still there, whose it is, and the path that brought it."""

    account: str
    hop: int
    amount: Decimal
    taint: dict[str, Decimal]
    path: tuple[str, ...]
    #: 0 for a first order, n > 0 for the n-th supplementary order on the account in the chase
    seq: int = 0
    #: what earlier orders on the account already cover (supplementary orders ask for the rest)
    covered: Decimal = Decimal(0)
    #: the latest earlier order on the account, which a supplementary order follows
    follows: str | None = None

    @property
    def reasons(self) -> list[Reason]:
        reasons = [Reason(TRAIL.msg, path=" → ".join(self.path))]
        if self.seq and self.covered:
            reasons.append(Reason("追加止付：第{hop}跳账户已有指令覆盖{covered}元，其后又流入涉案资金{amount}元",
                                  hop=self.hop, covered=yuan(self.covered), amount=yuan(self.amount)))
        else:
            reasons.append(Reason("第{hop}跳账户，涉案资金{amount}元仍在账户内", hop=self.hop,
                                  amount=yuan(self.amount)))
        return reasons


@dataclass(frozen=True)
class Cover:
    """What a chase's orders on one account already account for, and the next free sequence number."""

    amount: Decimal
    next_seq: int
    last_order: str
    #: whose money that is: each victim's part of ``amount``, from the orders' taint (empty: not known)
    by_victim: Mapping[str, Decimal] = field(default_factory=dict)


def coverage(orders: Iterable[Any]) -> dict[str, Cover]:
    """Per account, the tainted money the chase's orders already account for, in all and per victim.

    ``orders`` are rows with ``order_id, account, seq, state, requested, held, issued_at, taint``. Within one
    sequence number a stop-payment and the freeze that follows it cover the same money, so the larger counts.
    Every order covers what it asked for, whatever its bank answered: a person deals with a rejection, not a new
    order; a bank that held less than asked has said the rest is gone, and a hold released, superseded, returned
    or lapsed since was answered for all the same. So does one "moved on": the bank has said where that money went, and
    until the store holds the transfer that moved it the trace still sees it in the account; covering nothing,
    each look again (a retrace, another bank's answer) ordered the same money from the same bank anew. Money
    that reaches the account later is more than the cover, and a supplementary order claims that part. (Money
    that leaves and comes back in the same amount is not ordered again by itself: a person sees it in the trace.)
    """
    slots: dict[str, dict[int, tuple[Decimal, Any]]] = {}
    last: dict[str, Any] = {}
    for order in orders:
        # an answered order answered for all it asked: the bank held what was there, and a shortfall has moved
        # on (followed where it went), so it is not ordered on this account again, even once the hold is over
        amount = Decimal(order.requested)
        slot = slots.setdefault(order.account, {})
        kept = slot.get(order.seq)
        # the larger counts; of equals the later (a freeze knows whose money its stop-payment held)
        if kept is None or (amount, order.issued_at) > (kept[0], kept[1].issued_at):
            slot[order.seq] = (amount, order)
        if order.account not in last or (order.issued_at, order.seq) > (last[order.account].issued_at,
                                                                           last[order.account].seq):
            last[order.account] = order
    covers = {}
    for account, slot in slots.items():
        by_victim: dict[str, Decimal] = {}
        for amount, order in slot.values():
            taint = taint_from_json(getattr(order, "taint", None) or {})
            share = taint if amount == Decimal(order.requested) else shares_of(taint, amount)
            for victim, part in share.items():
                by_victim[victim] = by_victim.get(victim, Decimal(0)) + part
        covers[account] = Cover(sum((a for a, _ in slot.values()), Decimal(0)), max(slot) + 1,
                                last[account].order_id, by_victim)
    return covers


def shares_of(taint: Mapping[Any, float | Decimal], amount: Decimal) -> dict[str, Decimal]:
    """The victims' shares of ``amount``, in proportion to their taint, exact to the fen (what of a partial hold
    is whose: a bank that held 200 of an order for 1,000 of two victims' money holds each one's fifth)."""
    cents = largest_remainder(int(amount * 100), {str(v): round(float(x) * 100) for v, x in taint.items()})
    return {v: Decimal(c) / 100 for v, c in cents.items() if c}


def targets(
    result: TraceResult,
    floor: Decimal,
    already: Iterable[str] = (),
    *,
    throughput: Mapping[str, float] | None = None,
    min_share: float = 0.0,
    balances: Mapping[str, float] | None = None,
) -> list[Target]:
    """Accounts the trace reached that still hold at least ``floor`` of taint, largest first.

    Sinks (cash-outs, exchanges, large merchants, the victims' own accounts) never get an order: they are
    flagged in the chase instead. Accounts in ``already`` (ordered before in the chase) are left out, so a
    follow-up trace only adds the accounts the money reached since. With ``throughput`` (all the money that
    went into each account: opening balance and credits), an account beyond the first hop where the taint is
    less than ``min_share`` of it is left out too: a mule's money is mostly fraud money, while an ordinary account
    that got a small "rebate" from a mule (刷单返利 victims do) is mostly its owner's own. Not the account a
    victim paid: the report names it, and a rented everyday card holds its owner's savings beside the loss. With
    ``balances`` (what each account holds at the trace's time), no order asks for more than the account holds.
    """
    skip = set(already)
    found = []
    for reached in result.accounts.values():
        if reached.sink is not None or reached.account in skip:
            continue
        amount = _held(reached, balances)
        if amount < floor:
            continue
        if (throughput is not None and reached.hop > 1
                and reached.received < min_share * throughput.get(reached.account, 0.0)):
            continue
        if amount < fen(reached.held):
            taint = shares_of(reached.held_by_victim, amount)
        else:
            taint = {str(v): fen(x) for v, x in reached.held_by_victim.items() if fen(x) > 0}
        found.append(Target(str(reached.account), reached.hop, amount, taint, tuple(map(str, reached.path))))
    return sorted(found, key=lambda t: (-t.amount, t.hop, t.account))


def _held(reached: Any, balances: Mapping[str, float] | None) -> Decimal:
    """The taint an account holds, at most what it holds at all: a safety net under every rule, so that no
    order asks a bank for more than the account has, whatever a trace books there."""
    held = fen(reached.held)
    if balances is None or str(reached.account) not in balances:
        return held
    return max(min(held, fen(balances[str(reached.account)])), Decimal(0))


def supplements(result: TraceResult, floor: Decimal, covers: Mapping[str, Cover],
                balances: Mapping[str, float] | None = None) -> list[Target]:
    """Supplementary orders (追加止付): accounts already ordered that now hold at least ``floor`` more taint.

    A second wave of the victims' money can reach an account after its first order (another split arriving
    late, a further loss transfer added to the chase); the new order asks for the difference only. It is the
    money of the victims whose taint there is more than the earlier orders cover for them (a victim added to
    the chase brings new money; the first victim's is covered already), shared in proportion to what is
    uncovered of each.
    """
    found = []
    for account, cover in covers.items():
        reached = result.accounts.get(account)
        if reached is None or reached.sink is not None:
            continue
        extra = _held(reached, balances) - cover.amount
        if extra < floor:
            continue
        uncovered = {str(v): left for v, x in reached.held_by_victim.items()
                     if (left := fen(x) - cover.by_victim.get(str(v), Decimal(0))) > 0}
        found.append(
            Target(
                str(account),
                reached.hop,
                extra,
                shares_of(uncovered or reached.held_by_victim, extra),
                tuple(map(str, reached.path)),
                seq=cover.next_seq,
                covered=cover.amount,
                follows=cover.last_order,
            )
        )
    return sorted(found, key=lambda t: (-t.amount, t.hop, t.account))


def flagged(result: TraceResult) -> list[dict[str, Any]]:
    """The sinks the money reached, with how much stopped there: for the city centre, never for an order."""
    return [
        {"account": str(a.account), "hop": a.hop, "sink": a.sink, "amount": str(fen(a.sunk))}
        for a in sorted(result.accounts.values(), key=lambda a: -a.sunk)
        if a.sink is not None and a.sunk > 0
    ]


def taint_to_json(taint: Mapping[str, Decimal]) -> dict[str, str]:
    return {victim: str(amount) for victim, amount in taint.items()}


def taint_from_json(taint: Mapping[str, str]) -> dict[str, Decimal]:
    return {victim: Decimal(amount) for victim, amount in taint.items()}
