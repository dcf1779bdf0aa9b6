"""Properties of the tracer on random small graphs, against a plain transfer-by-transfer simulation.

The reference replays every transfer in time order and keeps, per account, either a queue of lots (FIFO), a
stack of lots (LIFO, with taint a debit takes more than the dwell limit after its lot came parked where it
was) or one tainted vector (proportional): slow and obvious, so the vectorised tracer must agree with it.
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
    frame: pd.DataFrame,
    seeds: dict[int, tuple[int, float]],
    victims: int,
    rule: str,
    sinks: set[str],
    upto: float,
    dwell: int | None = None,
) -> dict[str, np.ndarray]:
    """Taint held per account after replaying all transfers up to ``upto`` (no hop limit, no dust)."""
    order = frame.iloc[np.argsort(frame["time"].to_numpy(), kind="stable")]
    flows = defaultdict(list)
    for row in order.itertuples():
        flows[row.payer_account].append(-row.amount)
        flows[row.payee_account].append(row.amount)
    opening = {a: max(0.0, -float(np.cumsum(f).min())) for a, f in flows.items()}
    stop = {frame.payer_account[i] for i in seeds} | sinks
    queue = {a: deque([[opening[a], np.zeros(victims), -np.inf]]) for a in flows}
    balance = dict(opening)
    tainted = {a: np.zeros(victims) for a in flows}
    settled: dict[str, list] = {a: [] for a in flows}  # LIFO's settled lots, beneath the rest, lowest first
    for row in order.itertuples():
        if row.time > upto:
            break
        payer, payee, amount = row.payer_account, row.payee_account, row.amount
        if rule in ("fifo", "lifo"):
            if dwell is not None:  # tainted lots older than the dwell sink to the bottom of the account
                sinking = [lot for lot in queue[payer] if lot[1].sum() > 0 and row.time - lot[2] > dwell]
                queue[payer] = deque(lot for lot in queue[payer] if not any(lot is s for s in sinking))
                settled[payer] += sinking
            carried, need = np.zeros(victims), amount
            while need > 1e-12:
                lots = queue[payer] if queue[payer] or rule == "fifo" else settled[payer]
                lot = lots[0 if rule == "fifo" else -1]
                if lot[0] <= 1e-12:
                    if rule == "fifo":
                        lots.popleft()
                    else:
                        lots.pop()
                    continue
                take = min(need, lot[0])
                part = lot[1] * (take / lot[0])
                carried += part
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
        queue[payee].append([amount, arriving, row.time])
        tainted[payee] = tainted[payee] + arriving
    if rule in ("fifo", "lifo"):
        return {a: sum((lot[1] for lot in [*q, *settled[a]]), np.zeros(victims)) for a, q in queue.items()}
    return tainted


#: the rules with the dwell limits each is traced with (only LIFO has one)
RULES = st.sampled_from(["fifo", "proportional", "lifo"]).flatmap(
    lambda rule: st.tuples(st.just(rule), st.sampled_from([None, 0, 1, 3] if rule == "lifo" else [None]))
)


@settings(max_examples=120, deadline=None)
@given(
    frame=graphs(),
    ruled=RULES,
    picks=st.lists(st.tuples(st.integers(0, 23), st.integers(0, 2), st.floats(0.1, 1.0)), min_size=1, max_size=3),
    sinks=st.sets(st.sampled_from(ACCOUNTS), max_size=2),
    upto=st.sampled_from([3, 8]),
)
def test_tracer_matches_the_replay_and_conserves(frame, ruled, picks, sinks, upto) -> None:
    rule, dwell = ruled
    seeds = {}
    for row, victim, share in picks:
        row %= len(frame)
        if frame.time[row] <= upto:
            seeds[row] = (victim, round(float(frame.amount[row]) * share, 2))
    if not seeds:
        return
    index = TransferIndex.from_table(frame)
    given_seeds = [Seed(event_id=frame.event_id[r], amount=a, victim=v) for r, (v, a) in seeds.items()]
    result = trace(index, given_seeds, rule=rule, max_hops=len(frame) + 1, min_amount=0.0, sinks=sinks, as_of=upto,
                   max_dwell=dwell)
    scale = sum(a for _, a in seeds.values())
    assert result.unaccounted() <= 1e-9 * max(scale, 1.0)
    assert result.beyond_hop_limit == pytest.approx(dict.fromkeys(result.victims, 0.0))

    expected = replay(frame, seeds, 3, rule, sinks, upto, dwell)
    for account, vector in expected.items():
        got = result.accounts.get(account)
        for victim in range(3):
            if victim in result.victims:
                want = float(vector[victim])
                have = got.held_by_victim.get(victim, 0.0) if got else 0.0
                assert have == pytest.approx(want, abs=1e-7 * max(scale, 1.0)), (account, victim)


@settings(max_examples=60, deadline=None)
@given(
    frame=graphs(),
    ruled=RULES,
    hops=st.integers(1, 4),
    min_amount=st.sampled_from([0.0, 1.0, 25.0]),
)
def test_conservation_with_hop_limit_and_dust(frame, ruled, hops, min_amount) -> None:
    rule, dwell = ruled
    index = TransferIndex.from_table(frame)
    result = trace(index, [frame.event_id[0]], rule=rule, max_hops=hops, min_amount=min_amount, max_dwell=dwell)
    assert result.unaccounted() <= 1e-9 * float(frame.amount[0])
    assert all(x >= -1e-9 for x in result.dust.values())  # dust is money left behind, never owed by a victim
    assert all(a.hop <= hops and a.held >= -1e-9 for a in result.accounts.values())
    assert all(len(a.path) >= a.hop for a in result.accounts.values())


def test_settled_money_reached_again_at_a_later_hop_is_spread_with_what_came_before() -> None:
    """Hypothesis's example: C takes a victim's 1.00 from A at hop 1 and, through B, 2.00 holding another 1.00 of
    hers at hop 2; a day later C pays 1.00 back. Both lots have settled and lie in one stack, so the payment
    carries half of the newer lot and C keeps 1.50. Spread apart, each visit's lot sank as if alone and C kept
    2.00, which the trace did before it spread an account reached again with every lot it had had."""
    rows = [("A", "B", 0)] * 2 + [("A", "C", 0), ("A", "B", 0), ("C", "A", 1)] + [("A", "B", 0)] * 10
    rows.append(("B", "C", 0))
    frame = pd.DataFrame({"event_id": [f"e{i}" for i in range(len(rows))],
                          "payer_account": [r[0] for r in rows], "payee_account": [r[1] for r in rows],
                          "amount": [2.0 if i == len(rows) - 1 else 1.0 for i in range(len(rows))],
                          "time": [r[2] for r in rows]})
    seeds = {2: (0, 1.0), 13: (0, 1.0)}
    result = trace(TransferIndex.from_table(frame), [Seed(event_id=frame.event_id[r], amount=a, victim=v)
                                                     for r, (v, a) in seeds.items()],
                   rule="lifo", max_hops=len(frame) + 1, min_amount=0.0, as_of=3, max_dwell=0)
    assert result.unaccounted() <= 1e-9
    expected = replay(frame, seeds, 3, "lifo", set(), 3, 0)
    assert result.accounts["C"].held_by_victim[0] == pytest.approx(float(expected["C"][0])) == pytest.approx(1.5)


def test_a_change_that_only_moves_money_between_victims_is_followed() -> None:
    """An account spread anew pays the same 100 on, now of another victim's money: the change sums to 0 over the
    victims, yet it is no dust (the re-audit's example, C holding V0's money where it holds V3's)."""
    rows = [r.split() for r in ["B A 1", "D B 4", "C A 3", "B C 5", "E C 1", "E C 5", "C D 7", "C D 0", "D C 2",
                                "A E 8", "A E 1", "A C 2", "C B 1", "D B 5", "E D 4", "D E 3", "C B 7", "E D 8",
                                "D E 6", "E B 7"]]
    frame = pd.DataFrame({"event_id": [f"e{i}" for i in range(len(rows))], "payer_account": [r[0] for r in rows],
                          "payee_account": [r[1] for r in rows], "amount": 100.0, "time": [int(r[2]) for r in rows]})
    seeds = [Seed(event_id="e15", amount=100.0, victim=0), Seed(event_id="e0", amount=100.0, victim=1)]
    expected = replay(frame, {15: (0, 100.0), 0: (1, 100.0)}, 2, "lifo", set(), 8, 0)
    for min_amount in (0.0, 0.01):
        result = trace(TransferIndex.from_table(frame), seeds, rule="lifo", max_hops=60, min_amount=min_amount,
                       as_of=8, max_dwell=0)
        assert result.dust == pytest.approx({0: 0.0, 1: 0.0}, abs=1e-9)
        for account, vector in expected.items():
            held = result.accounts[account].held_by_victim if account in result.accounts else {}
            assert [held.get(v, 0.0) for v in (0, 1)] == pytest.approx(list(vector), abs=1e-7), account
