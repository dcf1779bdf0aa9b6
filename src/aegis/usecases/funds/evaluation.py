"""The funds chase measured against the simulator's truth: how much of the victims' money it stops."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from aegis.actions.orders import (
    FundsPolicy,
    OrderKind,
    OrderState,
    load_policy,
)
from aegis.reasons import Reason
from aegis.store.schema_funds import fund_return
from aegis.training.task import DataError
from aegis.usecases.funds.chase import list_orders, open_chase
from aegis.usecases.funds.data import FundsData
from aegis.usecases.funds.orders import return_funds
from aegis.usecases.funds.simulated import CITY, SimulatedBanks, _report_times
from aegis.usecases.funds.views import OrderView


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
    shared account's money by the policy's tracing rule (LIFO by default: the newest money leaves first,
    and money settled on a card for longer than ``max_dwell`` is held there). Money is fungible, so the two
    books can differ: under FIFO (oldest money first) the chase stopped more of a reported victim's loss
    than the record says was left, money that belonged, in the record, to the cards' owners or to earlier
    (often unreported) victims of the same gang.
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
        raise DataError(Reason("{path}：模拟器的真值文件缺失或无法读取（{error}）", path=str(truth),
                               error=str(exc))) from None
    guilty = set(accounts.loc[accounts["is_mule"], "account"])
    fraud = data.transfers.merge(fraud_ids, on="event_id")
    reports = _report_times(data)
    if not len(reports):
        raise DataError(Reason("{path}：没有可追查损失转账的已报案受害人", path=str(sim_dir)))
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
                    # answers after the order's deadline (the policy's respond_within): held all the same
                    "late_answers": sum(o.late for o in orders),
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
        "max_dwell_hours": None if (dwell := policy.dwell(policy.rule)) is None else dwell.total_seconds() / 3600,
        "floor": float(policy.floor),
        "by_delay": rows,
        "returns_per_victim": per_victim,
    }
