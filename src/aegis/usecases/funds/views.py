"""What the funds use cases return: orders, chases, returns and bank answers as people read them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, computed_field

from aegis.actions.orders import (
    FOLLOWED,
    TRAIL,
    OrderKind,
    OrderState,
    taint_from_json,
)
from aegis.names import name_of
from aegis.reasons import DEFAULT_LANG, Lang, Reason, render
from aegis.usecases.actor import Actor, mask
from aegis.usecases.audit import masked_text


class OrderView(BaseModel):
    order_id: str
    chase_id: str
    kind: OrderKind
    account: str
    bank: str
    state: OrderState
    hop: int
    seq: int
    attempt: int = 0
    requested: Decimal
    held: Decimal | None
    taint: dict[str, Decimal]
    path: list[str]
    reasons: list[str]
    """as text, Chinese unless :meth:`in_language` says otherwise"""
    legal_basis: str
    contact: dict[str, str] | None
    respond_by: datetime
    answered_at: datetime | None = None
    """when the bank answered what it did with the money (executed, rejected, moved on); None while it has not"""
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
    masked: bool = Field(default=False, exclude=True)
    """shown to a role that does not see personal data (:meth:`seen_by`)"""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def late(self) -> bool:
        """Whether the bank answered after ``respond_by``: the answer stands (the money it holds is held), but it
        was not in time."""
        return self.answered_at is not None and self.answered_at > self.respond_by

    @computed_field  # type: ignore[prop-decorator]
    @property
    def names(self) -> dict[str, str]:
        """The names of ``kind`` and ``state`` in the language of the reasons."""
        return {"kind": name_of(self.kind.value, self.lang), "state": name_of(self.state.value, self.lang)}

    def in_language(self, lang: Lang) -> OrderView:
        reasons = render(self.messages, lang)
        return self.model_copy(update={"reasons": [masked_text(r) for r in reasons] if self.masked else reasons,
                                       "lang": lang})

    def seen_by(self, actor: Actor) -> OrderView:
        """The order as ``actor`` may see it. A role that does not see personal data (a bank) acts on its own
        customer's account, named whole, and the sum; the victims' ids and the accounts the reasons name (other
        banks' customers the money came through) are masked, and of the money's path it sees the last transfer,
        the one into that account, not the hops through other banks."""
        if actor.sees_personal_data:
            return self
        taint: dict[str, Decimal] = {}
        for victim, amount in self.taint.items():
            taint[mask(victim)] = taint.get(mask(victim), Decimal(0)) + amount  # two ids may mask alike
        stored = [Reason.from_json(m) for m in self.messages]
        followed = any(r.msg == FOLLOWED.msg for r in stored)
        messages = [_as_a_bank_reads(r, self.path) for r in stored]
        return self.model_copy(update={
            "taint": taint, "path": self.path[-1:], "masked": True, "messages": messages,
            "reasons": [masked_text(r) for r in render(messages, self.lang)],
            # a first order that follows money moved on from another bank's account follows that bank's order (a
            # later one on the account follows the account's own earlier order, which its bank knows)
            "parent_order_id": None if followed and not self.seq else self.parent_order_id,
        })


def _as_a_bank_reads(reason: Reason, path: list[str]) -> Any:
    """A stored reason as a bank may read it (stored again): of the money's path the transfer into its account
    only, and of an order that follows money moved on elsewhere, not whose account it came from."""
    if reason.msg == FOLLOWED.msg:
        reason = Reason("续查：涉案资金从上一跳转入本账户")
    elif reason.msg == TRAIL.msg and len(path) >= 2:
        reason = Reason("资金路径：……→ {transfer}（之前经他行各跳不予显示）", transfer=path[-1])
    return reason.to_json()


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
    opened_now: bool = Field(default=False, exclude=True)
    """whether this call opened the chase (False: it was open already, and is returned as it stands)"""

    def in_language(self, lang: Lang) -> ChaseView:
        return self.model_copy(update={"orders": [o.in_language(lang) for o in self.orders]})


class ReturnView(BaseModel):
    batch_id: str | None
    per_victim: dict[str, Decimal]
    per_account: dict[str, dict[str, Decimal]]
    unallocated: dict[str, Decimal]
    orders: list[str]
    expired: list[str] = []
    """the freezes found lapsed on the way (their money is the account holder's again, so not returned)"""
    earlier_batches: list[str] = []
    """with no new return: the batches that already returned this chase's frozen money (its own return asked
    again, or another chase's return on the same accounts, which pools every freeze there)"""


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
