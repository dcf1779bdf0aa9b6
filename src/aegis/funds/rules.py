"""How tainted money leaves an account: the FIFO, the LIFO and the proportional rules.

Every rule sees one account's ledger (its credits and debits in time order, up to the trace's ``as_of``)
and a set of tainted *lots*: credits of that ledger that carried taint, each with a vector of tainted
amounts per victim. FIFO, LIFO without a dwell limit and the proportional rule are linear in the taint, so
lots can be spread in any grouping and the results added: that is what lets the tracer process an account
again when money comes back round a cycle, without counting anything twice. LIFO with a dwell limit is not
(see :func:`lifo`), and the tracer spreads an account reached again with every lot it has had. A credit that
was only partly tainted is a uniform mixture, so a debit taking ``x`` of it carries ``x * tainted / credit``
of its taint.

- ``fifo``: the balance is a queue of credits in arrival order, with the opening balance (clean) at its
  head; each debit takes money from the head: the oldest money leaves first.
- ``lifo``: the balance is a stack of credits, the opening balance (clean) at its bottom; each debit takes
  money from the top: the newest money leaves first. This is how a pass-through account (快进快出) is read:
  the payment out minutes after a credit is that credit moving on, and the owner's older money stays put.
  With a ``dwell`` limit, tainted money still in the account that long after it came is not followed into
  later payments: it has settled there (沉淀资金) and is held at this account.
- ``proportional``: each debit carries taint in proportion to the tainted share of the balance at that
  moment (the "haircut" rule): every lot shrinks by the same factor ``1 - debit / balance``.

The opening balance, unknown in general, is the smallest that keeps the account's balance from going
negative over its whole ledger (money cannot leave before it came in), or a larger known balance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aegis.funds.index import TransferIndex


@dataclass(frozen=True)
class Ledger:
    """One account's entries up to the trace's cut-off, with what the rules need."""

    rows: np.ndarray
    debit: np.ndarray
    amount: np.ndarray
    opening: float
    #: each entry's time, in the index's unit (only the LIFO rule's dwell limit reads it)
    time: np.ndarray | None = None

    @classmethod
    def of(cls, index: TransferIndex, code: int, upto_row: int, known_opening: float = 0.0) -> Ledger:
        rows, debit = index.ledger(code)
        amount = index.amount[rows]
        running = np.cumsum(np.where(debit, -amount, amount))
        opening = max(known_opening, -float(running.min(initial=0.0)))
        cut = int(np.searchsorted(rows, upto_row))
        return cls(rows[:cut], debit[:cut], amount[:cut], opening, index.time[rows[:cut]])


@dataclass(frozen=True)
class Spread:
    """Where a set of lots went: tainted amounts per debit entry, who dominated each, and what stayed."""

    entries: np.ndarray  # ledger positions of the debits that carried taint
    carried: np.ndarray  # (len(entries), victims)
    dominant: np.ndarray  # for each entry, the index of the lot that gave it the most
    held: np.ndarray  # (victims,) still in the account at the cut-off


def fifo(ledger: Ledger, positions: np.ndarray, taint: np.ndarray) -> Spread:
    """Spread lots (ledger ``positions``, ascending, with ``taint`` rows) by first in, first out.

    In "queue coordinates" a credit occupies the interval of cumulative inflow it adds, and a debit the
    interval of cumulative outflow it removes; what a debit carries from a credit is their overlap.
    """
    amount, debit = ledger.amount, ledger.debit
    inflow = ledger.opening + np.cumsum(np.where(debit, 0.0, amount))
    debit_at = np.flatnonzero(debit)
    out_end = np.cumsum(amount[debit_at])
    out_start = out_end - amount[debit_at]
    total_out = float(out_end[-1]) if len(out_end) else 0.0
    lot_end = inflow[positions]
    lot_start = lot_end - amount[positions]
    first = np.maximum(
        np.searchsorted(out_end, lot_start, side="right"), np.searchsorted(debit_at, positions, side="right")
    )
    last = np.searchsorted(out_start, lot_end, side="left")
    lo, hi = int(first.min()), int(max(last.max(), first.min()))
    carried = np.zeros((hi - lo, taint.shape[1]))
    best = np.zeros(hi - lo)
    dominant = np.zeros(hi - lo, dtype=np.int64)
    for lot, (a, b) in enumerate(zip(first, last, strict=True)):
        if b <= a:
            continue
        overlap = np.minimum(out_end[a:b], lot_end[lot]) - np.maximum(out_start[a:b], lot_start[lot])
        share = np.clip(overlap, 0.0, None) / amount[positions[lot]]
        carried[a - lo : b - lo] += share[:, None] * taint[lot]
        weight = share * taint[lot].sum()
        better = weight > best[a - lo : b - lo]
        best[a - lo : b - lo][better] = weight[better]
        dominant[a - lo : b - lo][better] = lot
    remaining = np.clip(lot_end - np.maximum(lot_start, total_out), 0.0, None) / amount[positions]
    return Spread(debit_at[lo:hi], carried, dominant, remaining @ taint)


#: Ledgers at most this long from the first lot on are walked entry by entry in plain Python. The proportional
#: rule reaches hundreds of accounts in one trace, most with short ledgers, where numpy's per-call overhead
#: (a few microseconds times some twenty calls) costs more than the arithmetic; long ledgers stay vectorised.
SHORT_LEDGER = 64


def proportional(ledger: Ledger, positions: np.ndarray, taint: np.ndarray) -> Spread:
    """Spread lots so that each debit carries the tainted share of the balance just before it."""
    if len(ledger.amount) - int(positions[0]) <= SHORT_LEDGER:
        return _proportional_walk(ledger, positions, taint)
    return _proportional_segments(ledger, positions, taint)


def _outflow(amount: float, before: float) -> float:
    """The share of the balance a debit takes (all of it when the books show nothing there)."""
    return min(max(amount / (before if before > 0 else 1.0), 0.0), 1.0)


def _proportional_walk(ledger: Ledger, positions: np.ndarray, taint: np.ndarray) -> Spread:
    """:func:`proportional` for a short ledger: one pass over its entries from the first lot on, with the
    taint per victim as plain floats (a handful of victims: lists beat numpy's call overhead here)."""
    start = int(positions[0])
    head = ledger.amount[:start]
    before = ledger.opening + float(head[~ledger.debit[:start]].sum() - head[ledger.debit[:start]].sum())
    lot_at = {int(p) - start: k for k, p in enumerate(positions)}
    lots = taint.tolist()
    width = taint.shape[1]
    held = [0.0] * width
    weights = [0.0] * len(lots)  # each lot's tainted amount still here: the heaviest names the path
    entries: list[int] = []
    carried: list[list[float]] = []
    dominant: list[int] = []
    rows = zip(ledger.amount[start:].tolist(), ledger.debit[start:].tolist(), strict=True)
    for offset, (amount, out) in enumerate(rows):
        if not out:
            before += amount
            lot = lot_at.get(offset)
            if lot is not None:
                held = [h + t for h, t in zip(held, lots[lot], strict=True)]
                weights[lot] = sum(lots[lot])
            continue
        share = _outflow(amount, before)
        before -= amount
        if share > 0 and any(held):
            entries.append(start + offset)
            carried.append([h * share for h in held])
            dominant.append(max(range(len(weights)), key=weights.__getitem__))
            held = [h * (1.0 - share) for h in held]
            weights = [w * (1.0 - share) for w in weights]
    return Spread(
        np.array(entries, dtype=np.int64),
        np.array(carried, dtype=float).reshape(len(carried), width),
        np.array(dominant, dtype=np.int64),
        np.array(held),
    )


def _proportional_segments(ledger: Ledger, positions: np.ndarray, taint: np.ndarray) -> Spread:
    """:func:`proportional` for a long ledger: between two lot arrivals every lot decays by the same
    cumulative product of ``1 - debit / balance``; the loop is over lots (few), each segment of the ledger
    is handled in one vectorised step."""
    amount, debit = ledger.amount, ledger.debit
    signed = np.where(debit, -amount, amount)
    before = ledger.opening + np.cumsum(signed) - signed
    with np.errstate(divide="ignore", invalid="ignore"):
        outflow = np.where(debit, np.clip(amount / np.where(before > 0, before, 1.0), 0.0, 1.0), 0.0)
    keep = 1.0 - outflow
    held = np.zeros(taint.shape[1])
    weights = np.zeros(len(positions))
    entries, carried, dominant = [], [], []
    ends = [*positions[1:], len(amount) - 1]
    for lot, (start, end) in enumerate(zip(positions, ends, strict=True)):
        held = held + taint[lot]
        weights[lot] = taint[lot].sum()
        segment = slice(start + 1, end + 1)
        survive = np.cumprod(keep[segment])
        leaving = np.concatenate(([1.0], survive[:-1])) * outflow[segment]
        hit = np.flatnonzero(leaving > 0)
        if len(hit):
            entries.append(hit + start + 1)
            carried.append(leaving[hit, None] * held[None, :])
            dominant.append(np.full(len(hit), int(np.argmax(weights))))
        factor = float(survive[-1]) if len(survive) else 1.0
        held = held * factor
        weights *= factor
    if not entries:
        return Spread(np.zeros(0, dtype=np.int64), np.zeros((0, taint.shape[1])), np.zeros(0, np.int64), held)
    return Spread(np.concatenate(entries), np.concatenate(carried), np.concatenate(dominant), held)


def lifo(ledger: Ledger, positions: np.ndarray, taint: np.ndarray, dwell: int | None = None) -> Spread:
    """Spread lots (ledger ``positions``, ascending, with ``taint`` rows) by last in, first out.

    A debit pays with the newest money in the account: a mule card's payments out right after a victim's
    credit carry that credit on, while the owner's own savings, which came earlier, stay below it. Money the
    owner pays out later is the victim's only where no newer money came in between.

    ``dwell`` (in the index's time unit) is how long tainted money is followed as the newest: what of a lot is
    still in the account ``dwell`` after its credit has settled there (沉淀资金) and sinks to the bottom of the
    account, beneath the owner's own money and anything that comes later: the owner's everyday payments take
    their own money first and carry the settled money on only once the account holds less than it (the lowest
    intermediate balance), so the rule never holds more than the account has. Lots settle in the order they
    came; a later settled lot lies above an earlier one. A debit exactly ``dwell`` after the credit still
    carries the lot as the newest. Settled lots are the one place the rule is not linear in the lots: which
    credits settle, and so where each lies in the stack, depends on which credits are tainted. So the tracer
    spreads an account that taint reaches again (at a later hop, by another path) with all its lots at once, and
    follows only what changed (:func:`aegis.funds.tracing.trace`).

    In "stack coordinates" a credit occupies the heights of balance it adds, from the balance before it to the
    balance after. Money never moves within a stack: what lies below a unit leaves after it. So the part of
    a lot still in the account after an entry is the part below the lowest balance since the lot came, and
    a debit carries what of the lot lies between the lowest balance before it and the one it leaves.
    """
    amount, debit = ledger.amount, ledger.debit
    balance = ledger.opening + np.cumsum(np.where(debit, -amount, amount))
    tops = balance[positions]
    if dwell is None:
        ends = np.full(len(positions), len(amount))
    elif ledger.time is None:
        raise ValueError("dwell: this ledger has no times")
    else:  # a lot is followed through the entries up to its dwell limit
        ends = np.searchsorted(ledger.time, ledger.time[positions] + dwell, side="right")
    held = np.zeros(taint.shape[1])
    at, lots, shares = [], [], []
    settled: list[tuple[int, np.ndarray]] = []  # (entry it settled at, what of it is left from there on)
    for lot, (start, end) in enumerate(zip(positions.tolist(), ends.tolist(), strict=True)):
        bottom = float(tops[lot]) - float(amount[start])
        floor = np.minimum.accumulate(balance[start:end])  # the lowest balance since the lot came
        leaving = np.clip(floor[:-1] - np.maximum(floor[1:], bottom), 0.0, None) / amount[start]
        hit = np.flatnonzero(leaving > 0)
        at.append(hit + start + 1)
        lots.append(np.full(len(hit), lot))
        shares.append(leaving[hit])
        left = max(float(floor[-1]) - bottom, 0.0)
        if end < len(amount) and left > 0:  # settled while the ledger goes on: it sinks to the bottom
            base = sum(float(rest[end - 1 - since]) for since, rest in settled)
            lowest = np.minimum.accumulate(balance[end - 1:])
            base = min(base, float(lowest[0]) - left)  # (an overdrawn ledger puts it below zero)
            rest = np.clip(lowest - base, 0.0, left)
            rest[0] = left
            moved = (rest[:-1] - rest[1:]) / amount[start]
            hit = np.flatnonzero(moved > 0)
            at.append(hit + end)
            lots.append(np.full(len(hit), lot))
            shares.append(moved[hit])
            settled.append((end - 1, rest))
            left = float(rest[-1])
        held += left / float(amount[start]) * taint[lot]
    return _gather(np.concatenate(at), np.concatenate(lots), np.concatenate(shares), taint, held)


def _gather(at: np.ndarray, lots: np.ndarray, shares: np.ndarray, taint: np.ndarray, held: np.ndarray) -> Spread:
    """A :class:`Spread` from (debit position, lot, share of the lot it carried) triples: the taint each debit
    carried, summed over lots, and the lot that gave it the most (the earliest among equals)."""
    weight = shares * taint[lots].sum(axis=1)
    order = np.lexsort((lots, -weight, at))
    at, lots, shares = at[order], lots[order], shares[order]
    entries, first, group = np.unique(at, return_index=True, return_inverse=True)
    carried = np.zeros((len(entries), taint.shape[1]))
    np.add.at(carried, group, shares[:, None] * taint[lots])
    return Spread(entries.astype(np.int64), carried, lots[first].astype(np.int64), held)


RULES = {"fifo": fifo, "lifo": lifo, "proportional": proportional}
