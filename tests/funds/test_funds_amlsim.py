"""The tracer on IBM AMLSim's 20K_cycle200: money put into a laundering cycle must be found along it.

AMLSim's cycles pass one amount around a ring of fraud accounts, but not in time order around the ring:
the taint can only follow the part of the ring whose transfers come later and later. That part is what the
trace must reach, and nothing it reaches may lie off every time-respecting path.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from aegis.funds import TransferIndex, trace

FOLDER = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "transfers" / "amlsim" / "20K_cycle200"
DAY0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def amlsim() -> tuple[pd.DataFrame, pd.DataFrame]:
    if not FOLDER.exists():
        pytest.skip(f"shared data set not present: {FOLDER}")
    raw = pd.read_csv(FOLDER / "transactions.csv")
    frame = pd.DataFrame(
        {
            "event_id": [f"aml-{i}" for i in range(len(raw))],
            "payer_account": raw.sourceNodeId.astype(str),
            "payee_account": raw.targetNodeId.astype(str),
            "amount": raw.value,
            "time": [DAY0 + timedelta(days=int(step)) for step in raw.time],  # AMLSim steps are days
        }
    )
    return frame, pd.read_csv(FOLDER / "nodes.csv")


def fraud_cycles(frame: pd.DataFrame, nodes: pd.DataFrame, count: int) -> list[list[int]]:
    """Rings of fraud accounts passing one amount around; each as the rows of one transfer per edge."""
    fraud = set(nodes.nodeid[nodes.isFraud == 1].astype(str))
    inner = frame[frame.payer_account.isin(fraud) & frame.payee_account.isin(fraud)]
    cycles = []
    for _, group in inner.groupby("amount"):
        first = group.drop_duplicates(["payer_account", "payee_account"])  # AMLSim repeats each edge
        ring = nx.DiGraph()
        ring.add_edges_from((r.payer_account, r.payee_account, {"row": r.Index}) for r in first.itertuples())
        for cycle in nx.simple_cycles(ring, length_bound=8):
            if len(cycle) >= 4:
                edges = zip(cycle, cycle[1:] + cycle[:1], strict=True)
                cycles.append([ring.edges[u, v]["row"] for u, v in edges])
        if len(cycles) >= count:
            break
    return cycles[:count]


def time_respecting_reach(frame: pd.DataFrame, seed: int, hops: int) -> set[str]:
    """Accounts a chain of ever later transfers (input order breaks ties) reaches from ``seed``."""
    rank = np.argsort(np.argsort(frame.time.to_numpy(), kind="stable"), kind="stable")
    payees = frame.payee_account.to_numpy()
    by_payer = frame.groupby("payer_account").indices
    victim = frame.payer_account[seed]
    arrival = {payees[seed]: rank[seed]}
    frontier = dict(arrival)
    for _ in range(hops - 1):
        following = {}
        for account, at in frontier.items():
            rows = by_payer.get(account)
            if account == victim or rows is None:
                continue
            rows = rows[rank[rows] > at]
            for payee, later in zip(payees[rows], rank[rows], strict=True):
                if later < arrival.get(payee, len(rank)):
                    arrival[payee] = following[payee] = later
        frontier = following
    return set(arrival)


@pytest.mark.parametrize("count", [2, pytest.param(12, marks=pytest.mark.slow)])
def test_taint_follows_the_cycles_forward_in_time(amlsim, count: int) -> None:
    frame, nodes = amlsim
    index = TransferIndex.from_table(frame, source=str(FOLDER))
    opening = dict(zip(nodes.nodeid.astype(str), nodes.init_balance, strict=True))  # AMLSim knows them
    cycles = fraud_cycles(frame, nodes, count=count)
    assert len(cycles) == count
    for cycle in cycles:
        start = min(range(len(cycle)), key=lambda i: frame.time[cycle[i]])
        ring = cycle[start:] + cycle[:start]
        expected, last = [], frame.time[ring[0]]
        for row in ring[1:]:  # the part of the ring that the money can follow in time
            if frame.time[row] <= last:
                break
            expected.append(frame.payee_account[row])
            last = frame.time[row]
        seed = frame.event_id[ring[0]]
        proportional = trace(index, [seed], rule="proportional", min_amount=0.0, opening_balances=opening)
        assert set(expected) <= set(proportional.accounts)
        assert set(proportional.accounts) <= time_respecting_reach(frame, ring[0], hops=6)
        fifo = trace(index, [seed], rule="fifo", min_amount=0.0, opening_balances=opening)
        assert set(fifo.accounts) <= set(proportional.accounts)
        for result in (proportional, fifo):
            assert result.unaccounted() < 1e-6
            assert frame.payee_account[ring[0]] in result.accounts
