"""Properties of the tracer on random small graphs, against a plain transfer-by-transfer simulation.

The reference replays every transfer in time order and keeps, per account, either a queue of lots (FIFO)
or one tainted vector (proportional): slow and obvious, so the vectorised tracer must agree with it.
"""

from __future__ import annotations

from collections import defaultdict, deque

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aegis.funds import Seed, TransferIndex, trace

ACCOUNTS = "ABCDEFG"


@st.composite
def graphs(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 24))
    pairs = draw(
        st.lists(
            st.tuples(st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS)).filter(lambda p: p[0] != p[1]),
            min_size=n,
            max_size=n,
        )
    )
    amounts = draw(st.lists(st.integers(1, 500), min_size=n, max_size=n))
    times = draw(st.lists(st.integers(0, 8), min_size=n, max_size=n))  # ties on purpose
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "payer_account": [p for p, _ in pairs],
            "payee_account": [q for _, q in pairs],
            "amount": np.array(amounts, dtype=float),
            "time": times,
        }
    )


def replay(
    frame: pd.DataFrame, seeds: dict[int, tuple[int, float]], victims: int, rule: str, sinks: set[str], upto: float
) -> dict[str, np.ndarray]:
    """Taint held per account after replaying all transfers up to ``upto`` (no hop limit, no dust)."""
    order = frame.iloc[np.argsort(frame["time"].to_numpy(), kind="stable")]
    flows = defaultdict(list)
    for row in order.itertuples():
        flows[row.payer_account].append(-row.amount)
        flows[row.payee_account].append(row.amount)
    opening = {a: max(0.0, -float(np.cumsum(f).min())) for a, f in flows.items()}
    stop = {frame.payer_account[i] for i in seeds} | sinks
    queue = {a: deque([[opening[a], np.zeros(victims)]]) for a in flows}
    balance = dict(opening)
    tainted = {a: np.zeros(victims) for a in flows}
    for row in order.itertuples():
        if row.time > upto:
            break
        payer, payee, amount = row.payer_account, row.payee_account, row.amount
        if rule == "fifo":
            carried, need = np.zeros(victims), amount
            while need > 1e-12:
                lot = queue[payer][0]
                if lot[0] <= 1e-12:
                    queue[payer].popleft()
                    continue
                take = min(need, lot[0])
                carried += lot[1] * (take / lot[0])
                lot[1] = lot[1] * (1 - take / lot[0])
                lot[0] -= take
                need -= take
        else:
            carried = tainted[payer] * min(1.0, amount / balance[payer])
            tainted[payer] = tainted[payer] - carried
        if row.Index in seeds:  # the victim's own money is clean to the tracer: the seed says what was lost
            victim, lost = seeds[row.Index]
            carried = np.zeros(victims)
            carried[victim] = lost
        balance[payer] -= amount
        balance[payee] += amount
        arriving = np.zeros(victims) if payee in stop else carried
        queue[payee].append([amount, arriving])
        tainted[payee] = tainted[payee] + arriving
    if rule == "fifo":
        return {a: sum((lot[1] for lot in q), np.zeros(victims)) for a, q in queue.items()}
    return tainted


@settings(max_examples=80, deadline=None)
@given(
    frame=graphs(),
    rule=st.sampled_from(["fifo", "proportional"]),
    picks=st.lists(st.tuples(st.integers(0, 23), st.integers(0, 2), st.floats(0.1, 1.0)), min_size=1, max_size=3),
    sinks=st.sets(st.sampled_from(ACCOUNTS), max_size=2),
    upto=st.sampled_from([3, 8]),
)
def test_tracer_matches_the_replay_and_conserves(frame, rule, picks, sinks, upto) -> None:
    seeds = {}
    for row, victim, share in picks:
        row %= len(frame)
        if frame.time[row] <= upto:
            seeds[row] = (victim, round(float(frame.amount[row]) * share, 2))
    if not seeds:
        return
    index = TransferIndex.from_table(frame)
    given_seeds = [Seed(event_id=frame.event_id[r], amount=a, victim=v) for r, (v, a) in seeds.items()]
    result = trace(index, given_seeds, rule=rule, max_hops=len(frame) + 1, min_amount=0.0, sinks=sinks, as_of=upto)
    scale = sum(a for _, a in seeds.values())
    assert result.unaccounted() <= 1e-9 * max(scale, 1.0)
    assert result.beyond_hop_limit == pytest.approx(dict.fromkeys(result.victims, 0.0))

    expected = replay(frame, seeds, 3, rule, sinks, upto)
    for account, vector in expected.items():
        got = result.accounts.get(account)
        for victim in range(3):
            if victim in result.victims:
                want = float(vector[victim])
                have = got.held_by_victim.get(victim, 0.0) if got else 0.0
                assert have == pytest.approx(want, abs=1e-7 * max(scale, 1.0)), (account, victim)


@settings(max_examples=40, deadline=None)
@given(
    frame=graphs(),
    rule=st.sampled_from(["fifo", "proportional"]),
    hops=st.integers(1, 4),
    min_amount=st.sampled_from([0.0, 1.0, 25.0]),
)
def test_conservation_with_hop_limit_and_dust(frame, rule, hops, min_amount) -> None:
    index = TransferIndex.from_table(frame)
    result = trace(index, [frame.event_id[0]], rule=rule, max_hops=hops, min_amount=min_amount)
    assert result.unaccounted() <= 1e-9 * float(frame.amount[0])
    assert all(a.hop <= hops and a.held >= -1e-9 for a in result.accounts.values())
    assert all(len(a.path) >= a.hop for a in result.accounts.values())
