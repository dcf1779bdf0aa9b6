"""Simulated banks that answer orders from what a simulated city's transfers show: the demo's chases."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select

from aegis.actions.orders import (
    PENDING,
    FundsPolicy,
    OrderKind,
    fen,
    load_policy,
)
from aegis.funds.rules import Ledger
from aegis.reasons import Reason
from aegis.store.schema_funds import fund_chase, fund_return
from aegis.usecases.actor import Actor, Role
from aegis.usecases.funds.chase import get_chase, list_orders, open_chase, retrace
from aegis.usecases.funds.contacts import load_bank_contacts
from aegis.usecases.funds.data import FundsData
from aegis.usecases.funds.orders import escalate, respond, return_funds
from aegis.usecases.funds.records import ChaseError, _chase, _trace
from aegis.usecases.funds.views import ChaseView

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
            if freeze.kind is not OrderKind.freeze:  # a stop-payment that lapsed before it (none on this clock)
                continue
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

    Its banks are make-believe: a store where anyone but the demo opened chases is refused, since a report
    chased there already would be the same chase, and the demo would answer real orders in the audit log.
    """
    with engine.connect() as conn:
        others = conn.execute(select(fund_chase.c.chase_id, fund_chase.c.created_by)
                              .where(fund_chase.c.created_by != CITY.label).limit(1)).first()
    if others is not None:
        raise ChaseError(Reason("database：此库中有他人开启的追查（{chase}，由{by}开启）；演示的模拟银行会答复其指令。"
                                "请在单独的库上运行演示（--db sqlite:///funds-demo.db）", chase=others.chase_id,
                                by=others.created_by))
    policy = policy or load_policy()
    data = data or FundsData.from_sim(sim_dir)
    banks = SimulatedBanks(data, policy)
    load_bank_contacts(engine, CITY, policy)
    reports = _report_times(data).head(n_victims)
    chases, already_open = [], []
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
        if not view.opened_now:
            already_open.append(view.chase_id)
    end = max((o.updated_at for o in list_orders(engine, CITY)), default=datetime.now(UTC)) + timedelta(
        days=1
    )
    for chase_id in chases:
        return_funds(engine, CITY, chase_id, now=end)
    orders = list_orders(engine, CITY)
    held = {
        k: sum((o.held or Decimal(0) for o in orders if o.kind == k and o.held), Decimal(0))
        for k in OrderKind
    }
    losses = {v: c.loss for c in (get_chase(engine, CITY, i) for i in chases) for v in c.victims}
    # what the store holds as returned, not what this run's returns added: run again on the same store, the chases
    # are those of the first run, their money returned then (this run returns nothing new, and said so before)
    returned = dict.fromkeys(losses, Decimal(0))
    with engine.connect() as conn:
        for victim, amount in conn.execute(select(fund_return.c.victim_id, fund_return.c.amount)
                                           .where(fund_return.c.victim_id.in_(sorted(losses)))):
            returned[victim] += Decimal(amount)
    return {
        "chases": chases,
        "already_open": already_open,
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
