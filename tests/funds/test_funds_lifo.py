"""The LIFO rule and its dwell limit: newest money leaves first, money that settles on a card leaves it last.

The case it is for is the rented mule card: the owner's everyday card, with the owner's savings already on it,
through which a gang forwards a victim's money within minutes (快进快出), while the owner keeps paying friends
and shops from it for days. FIFO books the gang's payments against the owner's older money, "leaves" the
victim's money on the card and lets the owner's later payments carry it to innocent friends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from aegis.funds import TransferIndex, trace
from aegis.funds.rules import Ledger, fifo, lifo

COLUMNS = ["event_id", "payer_account", "payee_account", "amount", "time"]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def index_of(*rows: tuple) -> TransferIndex:
    return TransferIndex.from_table(pd.DataFrame(list(rows), columns=COLUMNS))


def held(result, account: str) -> float:
    return result.accounts[account].held if account in result.accounts else 0.0


def at(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


def random_ledger(rng: np.random.Generator, size: int = 120) -> tuple[Ledger, np.ndarray, np.ndarray]:
    """A ledger of credits and debits (some large ones empty the account), with six tainted lots among its
    credits."""
    debit = rng.random(size) < 0.5
    amount = np.round(rng.lognormal(5, 1, size), 2)
    amount[debit & (rng.random(size) < 0.05)] *= 20
    time = np.cumsum(rng.integers(0, 5, size))  # ties on purpose
    credits = np.flatnonzero(~debit)
    positions = np.sort(rng.choice(credits, min(6, len(credits)), replace=False))
    taint = rng.random((len(positions), 3)) * amount[positions, None] / 3
    # the opening balance keeps the account from going below zero, as Ledger.of makes it on real transfers
    opening = max(float(rng.uniform(0, 500)), -float(np.cumsum(np.where(debit, -amount, amount)).min()))
    return Ledger(np.arange(size), debit, amount, opening, time), positions, taint


def stack_walk(ledger: Ledger, positions: np.ndarray, taint: np.ndarray, dwell: int | None) -> tuple:
    """The plain reference: a stack of layers [lot or -1, amount left, arrival], walked entry by entry; a debit
    takes from the top. A lot's layer more than ``dwell`` old at a debit has settled: it moves beneath
    everything else (later settled layers above earlier ones), so a debit takes it only when nothing else is
    left."""
    assert ledger.time is not None
    lot_at = {int(p): k for k, p in enumerate(positions)}
    stack = [[-1, ledger.opening, -np.inf]]
    settled: list[list] = []  # the bottom of the account, lowest first
    carried: dict[int, np.ndarray] = {}
    for pos, (amount, out, now) in enumerate(zip(ledger.amount, ledger.debit, ledger.time, strict=True)):
        if not out:
            stack.append([lot_at.get(pos, -1), float(amount), float(now)])
            continue
        if dwell is not None:
            sinking = [layer for layer in stack if layer[0] >= 0 and now - layer[2] > dwell]
            stack = [layer for layer in stack if not (layer[0] >= 0 and now - layer[2] > dwell)]
            settled += sinking
        need = float(amount)
        while need > 1e-12 and (stack or settled):
            layers = stack if stack else settled
            lot, left, _ = layers[-1]
            take = min(left, need)
            if lot >= 0 and take > 0:
                part = take / float(ledger.amount[positions[lot]]) * taint[lot]
                carried[pos] = carried.get(pos, 0) + part
            need -= take
            if take >= left:
                layers.pop()
            else:
                layers[-1][1] = left - take
    left = sum((layer[1] / float(ledger.amount[positions[layer[0]]]) * taint[layer[0]]
                for layer in [*settled, *stack] if layer[0] >= 0), np.zeros(taint.shape[1]))
    return carried, left


@pytest.mark.parametrize("dwell", [None, 0, 3, 40])
@pytest.mark.parametrize("seed", range(6))
def test_lifo_conserves_money_and_matches_a_plain_stack(seed: int, dwell: int | None) -> None:
    ledger, positions, taint = random_ledger(np.random.default_rng(seed))
    spread = lifo(ledger, positions, taint, dwell=dwell)
    # every yuan of every victim is either carried by a later debit or still held here: nothing made or lost
    np.testing.assert_allclose(spread.carried.sum(axis=0) + spread.held, taint.sum(axis=0), rtol=1e-9)
    assert (spread.carried >= 0).all() and (spread.held >= -1e-9).all()
    assert ledger.debit[spread.entries].all() and (spread.entries > positions[0]).all()
    carried, kept = stack_walk(ledger, positions, taint, dwell)
    assert spread.entries.tolist() == sorted(carried)
    np.testing.assert_allclose(spread.carried, np.array([carried[e] for e in sorted(carried)]).reshape(-1, 3),
                               rtol=1e-9, atol=1e-7)
    np.testing.assert_allclose(spread.held, kept, rtol=1e-9, atol=1e-7)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("dwell", [None, 10**9])
def test_lifo_is_linear_in_the_taint(seed: int, dwell: int | None) -> None:
    """Lots spread together or apart carry the same money: what lets the tracer revisit an account. (Settled
    lots are not: one lies on those settled before it. See :func:`aegis.funds.rules.lifo`.)"""
    ledger, positions, taint = random_ledger(np.random.default_rng(seed))
    together = lifo(ledger, positions, taint, dwell=dwell)
    apart = [lifo(ledger, positions[k : k + 1], taint[k : k + 1], dwell=dwell) for k in range(len(positions))]
    np.testing.assert_allclose(sum(s.held for s in apart), together.held, rtol=1e-9)
    summed = np.zeros((len(ledger.amount), 3))
    for s in apart:
        summed[s.entries] += s.carried
    np.testing.assert_allclose(summed[together.entries], together.carried, rtol=1e-9, atol=1e-9)
    assert not summed[np.setdiff1d(np.arange(len(summed)), together.entries)].any()


def test_fifo_is_unchanged_by_the_ledgers_times() -> None:
    ledger, positions, taint = random_ledger(np.random.default_rng(7))
    timeless = Ledger(ledger.rows, ledger.debit, ledger.amount, ledger.opening)
    with_times, without = fifo(ledger, positions, taint), fifo(timeless, positions, taint)
    for field in ("entries", "carried", "dominant", "held"):
        np.testing.assert_array_equal(getattr(with_times, field), getattr(without, field))
    with pytest.raises(ValueError, match="dwell: this ledger has no times"):
        lifo(timeless, positions, taint, dwell=5)


def rented_card() -> TransferIndex:
    """M is the owner's everyday card: salary days before, a victim's 10,000 forwarded by the gang within
    minutes (6,000 to G1, 3,000 to G2), then the owner's own payments: a friend F a day and two hours later, a
    shop the day after."""
    return index_of(
        ("salary", "EMPLOYER", "M", 5000, at(days=-5)),
        ("lunch", "M", "SHOP", 60, at(days=-2)),
        ("v", "V", "M", 10000, at()),
        ("f1", "M", "G1", 6000, at(minutes=3)),
        ("f2", "M", "G2", 3000, at(minutes=7)),
        ("friend", "M", "F", 800, at(days=1, hours=2)),
        ("dinner", "M", "SHOP", 300, at(days=2)),
    )


def test_the_rented_cards_owner_pays_a_friend_a_day_later_the_friend_is_not_reached() -> None:
    index = rented_card()
    settled = trace(index, ["v"], rule="lifo", max_dwell=timedelta(hours=24))
    # the fast forwards carry the victim's money; the 1,000 still on the card a day later has settled there
    assert (held(settled, "G1"), held(settled, "G2"), held(settled, "M")) == pytest.approx((6000, 3000, 1000))
    assert "F" not in settled.accounts and "SHOP" not in settled.accounts
    assert settled.unaccounted() < 1e-9
    # without the dwell limit the owner's payment, the newest money going out, takes the victim's 1,000 first
    followed = trace(index, ["v"], rule="lifo")
    assert (held(followed, "F"), held(followed, "SHOP"), held(followed, "M")) == pytest.approx((800, 200, 0))
    # FIFO, unchanged: the forwards take the owner's 4,940 first, 5,940 of the victim's "stays" on the card,
    # and the owner's payments carry it on to the friend and the shop
    oldest = trace(index, ["v"], rule="fifo")
    assert (held(oldest, "G1"), held(oldest, "G2")) == pytest.approx((1060, 3000))
    assert (held(oldest, "F"), held(oldest, "SHOP"), held(oldest, "M")) == pytest.approx((800, 300, 4840))


def test_dwell_counts_from_each_arrival_and_its_limit_is_inclusive() -> None:
    index = index_of(
        ("own", "X", "C", 600, at(hours=-1)),  # C's own money, there before V's
        ("v", "V", "A", 1000, at()),
        ("a", "A", "B", 1000, at(hours=24)),  # exactly the dwell after V's money came: followed
        ("b", "B", "C", 600, at(hours=47)),  # 23 hours after it reached B: followed
        ("c", "C", "D", 600, at(hours=71, seconds=1)),  # a second more than the dwell after it reached C:
    )  # settled beneath C's own money, which the payment takes
    result = trace(index, ["v"], rule="lifo", max_dwell=timedelta(hours=24))
    assert [held(result, a) for a in "ABCD"] == pytest.approx([0, 400, 600, 0])
    assert "D" not in result.accounts
    longer = trace(index, ["v"], rule="lifo", max_dwell=timedelta(hours=24, seconds=1))
    assert [held(longer, a) for a in "ABCD"] == pytest.approx([0, 400, 0, 600])


def test_dwell_in_time_steps_and_bad_limits_are_named() -> None:
    steps = index_of(("own", "X", "B", 100, 0), ("v", "V", "A", 100, 0), ("a", "A", "B", 100, 5),
                     ("b", "B", "C", 100, 11))
    result = trace(steps, ["v"], rule="lifo", max_dwell=5)
    assert [held(result, a) for a in "ABC"] == pytest.approx([0, 100, 0])
    with pytest.raises(TypeError, match="give max_dwell as a number of steps"):
        trace(steps, ["v"], rule="lifo", max_dwell=timedelta(hours=1))
    with pytest.raises(ValueError, match="max_dwell: only the lifo rule has a dwell limit, not fifo"):
        trace(steps, ["v"], rule="fifo", max_dwell=5)
    with pytest.raises(ValueError, match="max_dwell: must not be negative"):
        trace(steps, ["v"], rule="lifo", max_dwell=-1)


def test_settled_money_leaves_once_the_owners_money_is_spent_and_never_more_than_the_card_holds() -> None:
    """The owner's 5,000 and V's 10,000 on a card; 2,000 forwarded at once; a day later the card pays 300 and
    then 6,000. The settled 8,000 of V's sinks beneath the owner's money: the 300 and the first 4,700 of the
    6,000 are the owner's, the other 1,300 is V's and is followed; 6,700 of V's is held, all the card has."""
    index = index_of(
        ("salary", "EMPLOYER", "M", 5000, at(days=-5)),
        ("v", "V", "M", 10000, at()),
        ("f", "M", "G", 2000, at(minutes=5)),
        ("shop", "M", "SHOP", 300, at(hours=26)),
        ("big", "M", "N", 6000, at(hours=28)),
    )
    result = trace(index, ["v"], rule="lifo", max_dwell=timedelta(hours=24))
    assert (held(result, "G"), held(result, "M"), held(result, "N")) == pytest.approx((2000, 6700, 1300))
    assert "SHOP" not in result.accounts and result.unaccounted() < 1e-9


def test_no_order_asks_more_than_the_account_holds() -> None:
    """The safety net under every rule: where a trace books more on an account than it holds (a settled lot
    reached again by another path), the order asks for what is there, shared among the victims as booked."""
    from dataclasses import replace
    from decimal import Decimal

    from aegis.actions.orders import Cover, supplements, targets

    result = trace(rented_card(), ["v"], rule="lifo", max_dwell=timedelta(hours=24))
    booked = result.accounts["M"]
    doubled = replace(result, accounts={**result.accounts, "M": replace(
        booked, held=2 * booked.held, held_by_victim={v: 2 * x for v, x in booked.held_by_victim.items()})})
    balances = {"M": 1500.0, "G1": 6000.0, "G2": 3000.0}
    by_account = {t.account: t for t in targets(doubled, Decimal(100), balances=balances)}
    assert by_account["M"].amount == Decimal("1500.00") and sum(by_account["M"].taint.values()) == Decimal("1500.00")
    assert by_account["G1"].amount == Decimal("6000.00")  # what the account holds is no cap on less
    assert {t.account: t.amount for t in targets(doubled, Decimal(100))}["M"] == Decimal("2000.00")  # as booked
    cover = Cover(amount=Decimal("1000.00"), next_seq=1, last_order="OR-x")
    [extra] = supplements(doubled, Decimal(100), {"M": cover}, balances=balances)
    assert extra.amount == Decimal("500.00")
