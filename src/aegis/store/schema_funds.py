"""Tables of the funds chase (控: 紧急止付、快速冻结、资金返还) and of police-bank linkage (警银联动).

- ``fund_chase``: one victim report (or a set of loss transfers) being chased: its seeds, the tracing rule,
  and the latest picture of where the money is (accounts reached, sinks flagged).
- ``fund_chase_seed``: which chase follows each loss transfer. A transfer is chased once: a second chase (a
  victim's losses given again, a repeat report of the same payments) would order the same money twice.
- ``fund_order``: one stop-payment or freeze order to one bank for one account. "One order per chase,
  account, kind and sequence number" is a unique constraint, so a retried or concurrent issue cannot send a
  second one. Sequence 0 is the first order; 1, 2, ... are supplementary orders (追加止付) for money that
  reached an account after it was ordered; a freeze carries the sequence of the stop-payment it follows.
  The history of each order (who acknowledged, executed, rejected, released it, and why) is the audit log
  (subject_type ``fund_order``), written in the same transaction as the state change.
- ``fund_return``: money returned to a victim from a frozen account, one row per batch, account and victim.
- ``bank_contact``: each bank's duty posts for orders, with the hours they are staffed.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from aegis.store.schema import metadata
from aegis.store.types import Money, UtcDateTime

fund_chase = Table(
    "fund_chase",
    metadata,
    Column("chase_id", String(40), primary_key=True),
    Column("report_event_id", String(80), nullable=True),
    Column("victims", JSON, nullable=False),
    #: the loss transfers: [{event_id, victim, amount}]
    Column("seeds", JSON, nullable=False),
    Column("loss", Money, nullable=False),
    Column("rule", String(16), nullable=False),
    Column("max_hops", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    #: the time the latest trace looked at (its ``as_of``)
    Column("traced_at", UtcDateTime, nullable=False),
    #: where the money was at ``traced_at``: [{account, bank, hop, received, held, sink, sunk}]
    Column("reached", JSON, nullable=False),
    #: sinks the money reached (cash-outs, exchanges, large merchants): flagged, never ordered
    Column("flagged", JSON, nullable=False),
    Column("policy_version", String(32), nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("report_event_id", name="uq_fund_chase_report_event_id"),
)

fund_chase_seed = Table(
    "fund_chase_seed",
    metadata,
    Column("event_id", String(80), primary_key=True),
    Column(
        "chase_id", String(40), ForeignKey("fund_chase.chase_id", name="fk_fund_chase_seed_chase"), nullable=False
    ),
    Index("ix_fund_chase_seed_chase", "chase_id"),
)

fund_order = Table(
    "fund_order",
    metadata,
    Column("order_id", String(40), primary_key=True),
    Column(
        "chase_id", String(40), ForeignKey("fund_chase.chase_id", name="fk_fund_order_chase"), nullable=False
    ),
    Column("kind", String(16), nullable=False),
    Column("account", String(64), nullable=False),
    Column("bank", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("hop", Integer, nullable=False),
    #: 0 for the first order on the account in the chase, then 1, 2, ... for supplementary orders
    Column("seq", Integer, nullable=False, server_default="0"),
    #: 0 for an order as first issued, then 1, 2, ... each time a rejected one is issued again
    Column("attempt", Integer, nullable=False, server_default="0"),
    Column("requested", Money, nullable=False),
    Column("held", Money, nullable=True),
    #: each victim's taint in the account when the order was issued: {victim: "amount"}
    Column("taint", JSON, nullable=False),
    #: the transfer event ids that brought the money here
    Column("path", JSON, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("legal_basis", Text, nullable=False),
    #: the bank's duty post notified at issue time
    Column("contact", JSON, nullable=True),
    #: the bank's deadline to answer what it did with the money (executed, rejected, moved on)
    Column("respond_by", UtcDateTime, nullable=False),
    #: when it answered so (migration 0012): an answer after ``respond_by`` is kept, and counted as late
    Column("answered_at", UtcDateTime, nullable=True),
    Column("hold_until", UtcDateTime, nullable=True),
    Column("reject_reason", Text, nullable=True),
    #: the order whose "money moved on" answer led to this one
    Column("parent_order_id", String(40), nullable=True),
    Column("policy_version", String(32), nullable=False),
    Column("issued_by", String(128), nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("chase_id", "account", "kind", "seq", "attempt",
                     name="uq_fund_order_chase_account_kind_seq_attempt"),
    Index("ix_fund_order_bank_state", "bank", "state"),
    Index("ix_fund_order_account_state", "account", "state"),
    Index("ix_fund_order_chase", "chase_id"),
)

fund_return = Table(
    "fund_return",
    metadata,
    Column("return_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("batch_id", String(40), nullable=False),
    Column("account", String(64), nullable=False),
    Column("bank", String(64), nullable=False),
    Column("victim_id", String(64), nullable=False),
    Column("amount", Money, nullable=False),
    Column("returned_by", String(128), nullable=False),
    Column("returned_at", UtcDateTime, nullable=False),
    UniqueConstraint("batch_id", "account", "victim_id", name="uq_fund_return_batch_account_victim"),
    Index("ix_fund_return_victim", "victim_id"),
)

bank_contact = Table(
    "bank_contact",
    metadata,
    Column("bank", String(64), primary_key=True),
    Column("role", String(32), primary_key=True),
    Column("post", String(128), nullable=False),
    Column("phone", String(32), nullable=False),
    #: staffed hours in China time, e.g. 00:00-24:00 for a round-the-clock desk
    Column("hours", String(16), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
