"""Follow a victim's money forward, hop by hop, and say where it is now.

``trace`` starts from the victim's loss transfers (the seeds) and follows the tainted money through later
transfers only, splitting and merging it by the FIFO, the LIFO or the proportional rule (see
``aegis.funds.rules``), up to a hop limit. It stops at sinks (cash-outs, crypto exchanges, large merchants:
flagged with the amount that reached them, never frozen) and at the victims' own accounts (money that came
back is not proceeds).

Every amount is a vector with one entry per victim, so a mule account that received money of several
victims reports each victim's share, which is what a pro-rata return needs. Conservation holds per victim:

    seeded = held (accounts reached, at ``as_of``) + sunk (sinks and victims) + beyond_hop_limit + dust

where ``dust`` is taint in pieces smaller than ``min_amount`` that was not followed further. Money that
goes round a cycle is followed again (it is the same money at a later time, so nothing is counted twice)
and every round costs a hop, so a trace always ends.

Under LIFO with a dwell limit, where lots are not independent, an account that taint reaches again is spread
anew with every lot it has had, and only the change is followed on. A change may take back taint followed
before (a negative amount, when a payment now carries less of a victim's money), and the accounts downstream
take it back the same way, so each account ends as one spread of all its money would leave it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd

from aegis.funds.index import TransferIndex
from aegis.funds.rules import RULES, Ledger, Spread, lifo
from aegis.reasons import InputError, Reason

Rule = Literal["fifo", "lifo", "proportional"]
Sinks = Mapping[Any, str] | Collection[Any] | Callable[[Any], str | None]
VICTIM = "victim"


@dataclass(frozen=True)
class Seed:
    """One loss transfer from a victim's report.

    Either ``event_id`` names the transfer, or ``payee``, ``amount`` and ``time`` describe it (a report
    rarely has the id): the transfer into ``payee`` of that amount closest in time is taken. ``amount`` with
    an ``event_id`` is the part of the transfer that was lost (the whole transfer by default). ``victim``
    defaults to the payer account.
    """

    event_id: Any = None
    payee: Any = None
    amount: float | None = None
    time: datetime | int | None = None
    victim: Any = None

    @classmethod
    def of(cls, item: Seed | tuple[Any, float, datetime | int] | Any) -> Seed:
        """A seed from a Seed, a ``(payee, amount, time)`` tuple or a bare event id."""
        if isinstance(item, Seed):
            return item
        if isinstance(item, tuple):
            payee, amount, time = item
            return cls(payee=payee, amount=amount, time=time)
        return cls(event_id=item)


@dataclass(frozen=True)
class ReachedAccount:
    """What the trace found at one account.

    ``received`` counts every arrival of taint (money that went round a cycle arrives twice); ``held`` is
    what is still there at ``as_of``; ``sunk`` is what stopped here without being followed: everything a
    sink received, or what came through a sink channel. ``sink`` is the account's sink kind, or the
    channel's. ``path`` is the chain of transfer event ids that brought the largest single arrival.
    """

    account: Any
    hop: int
    received: float
    held: float
    sunk: float
    sink: str | None
    path: tuple[Any, ...]
    received_by_victim: dict[Any, float]
    held_by_victim: dict[Any, float]


@dataclass(frozen=True)
class TraceResult:
    rule: str
    max_hops: int
    victims: tuple[Any, ...]
    accounts: dict[Any, ReachedAccount]
    seeded: dict[Any, float]
    held: dict[Any, float]
    sunk: dict[Any, float]
    beyond_hop_limit: dict[Any, float]
    dust: dict[Any, float]

    def unaccounted(self) -> float:
        """Largest per-victim gap in the conservation identity (0 up to rounding)."""
        return max(
            (
                abs(self.seeded[v] - self.held[v] - self.sunk[v] - self.beyond_hop_limit[v] - self.dust[v])
                for v in self.victims
            ),
            default=0.0,
        )

    def to_frame(self) -> pd.DataFrame:
        """One row per reached account, largest holdings first."""
        rows = [
            {
                "account": a.account,
                "hop": a.hop,
                "received": a.received,
                "held": a.held,
                "sunk": a.sunk,
                "sink": a.sink,
                "path": list(a.path),
            }
            for a in self.accounts.values()
        ]
        frame = pd.DataFrame(rows, columns=["account", "hop", "received", "held", "sunk", "sink", "path"])
        return frame.sort_values(["held", "received"], ascending=False, ignore_index=True)


@dataclass
class _Reach:
    hop: int
    sink: str | None
    received: np.ndarray
    held: np.ndarray
    sunk: np.ndarray
    channel_sink: str | None = None
    best: float = -1.0
    path: tuple[int, ...] = ()


@dataclass
class _Lot:
    taint: np.ndarray
    path: tuple[int, ...]


@dataclass
class _Paid:
    """What one spread of an account sends on: the debit rows (ascending), the taint each carries, and the path
    of the lot that gave each the most (``dominant`` indexes ``sources``; -1 where no lot gave anything)."""

    rows: np.ndarray
    carried: np.ndarray
    dominant: np.ndarray
    sources: list[tuple[int, ...]]

    def path(self, i: int) -> tuple[int, ...]:
        return self.sources[self.dominant[i]] if self.dominant[i] >= 0 else ()


@dataclass
class _Books:
    """What one account has been given and what it paid on, for a rule that must see all its lots at once.

    ``lots`` maps each credit row to the taint it has brought so far (summed over visits: a later visit may
    add to a credit or, where an upstream account was spread anew, take some back) and the path of its first
    arrival; ``held`` and ``paid`` are the outcome of the last spread."""

    lots: dict[int, _Lot] = field(default_factory=dict)
    held: np.ndarray | None = None
    paid: _Paid | None = None

    def respread(self, ledger: Ledger, spread: Callable[..., Spread], arrivals: list[tuple[int, _Lot]],
                 victims: int, tiny: float, totals: _Totals) -> tuple[np.ndarray, _Paid]:
        """Spread every lot the account has had; return the change since the last spread in what it holds and
        what it paid on (debits whose taint did not change are left out)."""
        for row, lot in arrivals:
            known = self.lots.get(row)
            self.lots[row] = lot if known is None else _Lot(known.taint + lot.taint, known.path)
        # a credit taken back to nothing (or, after dust, a hair below it) must not settle or carry anything
        for row in [row for row, lot in self.lots.items() if float(lot.taint.sum()) <= tiny]:
            totals.dust += self.lots.pop(row).taint
        rows = sorted(self.lots)
        if rows:
            out = spread(ledger, np.searchsorted(ledger.rows, rows), np.stack([self.lots[r].taint for r in rows]))
            held = out.held
            paid = _Paid(ledger.rows[out.entries], out.carried, out.dominant, [self.lots[r].path for r in rows])
        else:
            held = np.zeros(victims)
            paid = _Paid(np.zeros(0, np.int64), np.zeros((0, victims)), np.zeros(0, np.int64), [])
        before, held_before = self.paid, self.held
        self.held, self.paid = held, paid
        if before is None or held_before is None:
            return held, paid
        # the change per debit row: the rows of either spread, this one's taint less the last one's
        union = np.union1d(before.rows, paid.rows)
        change = np.zeros((len(union), victims))
        now = np.searchsorted(union, paid.rows)
        change[now] += paid.carried
        change[np.searchsorted(union, before.rows)] -= before.carried
        dominant = np.full(len(union), -1, dtype=np.int64)
        dominant[now] = paid.dominant
        same = np.abs(change).sum(axis=1) <= tiny
        totals.dust += change[same].sum(axis=0)
        return held - held_before, _Paid(union[~same], change[~same], dominant[~same], paid.sources)


@dataclass
class _Totals:
    victims: int
    held: np.ndarray = field(init=False)
    sunk: np.ndarray = field(init=False)
    beyond: np.ndarray = field(init=False)
    dust: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.held, self.sunk, self.beyond, self.dust = (np.zeros(self.victims) for _ in range(4))


def _window(index: TransferIndex, window: timedelta | int, name: str = "match_window") -> int:
    if isinstance(window, timedelta):
        if index.time_kind != "datetime":
            raise TypeError(f"this index counts time in steps: give {name} as a number of steps")
        return int(window.total_seconds() * 10**9)
    return int(window)


def _resolve(index: TransferIndex, seeds: Iterable[Any], window: timedelta | int) -> list[tuple[int, Any, float]]:
    """(row, victim, lost amount) for each seed; a seed that matches no transfer is an error."""
    wanted = [Seed.of(item) for item in seeds]
    by_id = index.rows_of(s.event_id for s in wanted if s.event_id is not None)
    resolved = []
    for seed in wanted:
        if seed.event_id is not None:
            if seed.event_id not in by_id:
                raise LookupError(f"seed {seed.event_id!r}: no transfer with this event_id")
            row = by_id[seed.event_id]
            amount = float(index.amount[row]) if seed.amount is None else float(seed.amount)
            if not 0 < amount <= index.amount[row] + 1e-9:
                raise ValueError(f"seed {seed.event_id!r}: amount must be in (0, {index.amount[row]}]")
        else:
            row = _match(index, seed, _window(index, window))
            amount = float(index.amount[row])
        victim = seed.victim if seed.victim is not None else index.account_label(int(index.payer[row]))
        resolved.append((row, victim, amount))
    return resolved


def _match(index: TransferIndex, seed: Seed, window: int) -> int:
    if seed.payee is None or seed.amount is None or seed.time is None:
        raise ValueError(f"{seed}: give an event_id, or payee, amount and time")
    code = index.account_code(seed.payee)
    rows = (
        np.zeros(0, dtype=np.int32)
        if code is None
        else index.in_rows[index.in_offsets[code] : index.in_offsets[code + 1]]
    )
    rows = rows[np.abs(index.amount[rows] - seed.amount) < 0.005]
    if len(rows):
        gap = np.abs(index.time[rows] - index.time_value(seed.time))
        if gap.min() <= window:
            return int(rows[np.argmin(gap)])
    raise LookupError(f"seed to {seed.payee!r} of {seed.amount} at {seed.time}: no such transfer in the window")


def _sink_kind(sinks: Sinks | None, label: Any) -> str | None:
    if sinks is None:
        return None
    if callable(sinks):
        return sinks(label)
    if isinstance(sinks, Mapping):
        return sinks.get(label)
    return "sink" if label in sinks else None


def trace(
    index: TransferIndex,
    seeds: Iterable[Seed | tuple[Any, float, datetime | int] | Any],
    *,
    rule: Rule = "fifo",
    max_hops: int = 6,
    sinks: Sinks | None = None,
    sink_channels: Mapping[str, str] | None = None,
    as_of: datetime | int | None = None,
    min_amount: float = 0.01,
    opening_balances: Mapping[Any, float] | None = None,
    match_window: timedelta | int = timedelta(hours=1),
    max_dwell: timedelta | int | None = None,
) -> TraceResult:
    """Trace the seeds' money forward through ``index``.

    ``sinks`` flags accounts where tracing stops: a mapping account -> kind (e.g. "cash_out",
    "crypto_exchange", "large_merchant"), a set of accounts, or a function of the account. ``sink_channels``
    maps transfer channels to a sink kind (e.g. ``{"atm": "cash_out"}``): money moved through them stops at
    its payee. ``as_of`` cuts time (default: all of it). ``opening_balances`` gives known balances before
    the first transfer; elsewhere the least balance consistent with the ledger is assumed. ``max_dwell``
    (LIFO only) is how long tainted money is followed after it reached an account: what is still there then
    has settled and is held there, not carried on by the account's later payments (see
    :func:`aegis.funds.rules.lifo`).
    """
    if rule not in RULES:
        raise InputError(Reason("rule：应为{rules}之一，收到{rule}", rules=str(sorted(RULES)), rule=repr(rule)))
    if max_hops < 1:
        raise InputError(Reason("max_hops：须至少为1"))
    spread = RULES[rule]
    if max_dwell is not None:
        if rule != "lifo":
            raise InputError(Reason("max_dwell：只有lifo规则有停留时限，{rule}没有", rule=rule))
        dwell = _window(index, max_dwell, "max_dwell")
        if dwell < 0:
            raise InputError(Reason("max_dwell：不能为负"))
        spread = partial(lifo, dwell=dwell)
    resolved = _resolve(index, seeds, match_window)
    upto = index.rows_before(as_of)
    late = [index.event_id(row) for row, _, _ in resolved if row >= upto]
    if late:
        raise ValueError(f"seeds after as_of: {late}")
    victims = tuple(dict.fromkeys(victim for _, victim, _ in resolved))
    slot = {victim: i for i, victim in enumerate(victims)}
    n = len(victims)
    seeded = np.zeros(n)
    lots: dict[int, _Lot] = {}
    for row, victim, amount in resolved:
        seeded[slot[victim]] += amount
        lot = lots.setdefault(row, _Lot(np.zeros(n), (row,)))
        lot.taint[slot[victim]] += amount
    victim_accounts = {int(index.payer[row]) for row, _, _ in resolved}
    channel_sinks = {
        code: kind for code, name in enumerate(index.channels) if (kind := (sink_channels or {}).get(name))
    }
    known = opening_balances or {}
    reached: dict[int, _Reach] = {}
    ledgers: dict[int, Ledger] = {}
    # LIFO with a dwell is not linear in its lots (which credits settle, and so where each lies, depends on which
    # are tainted): an account reached again is spread anew with every lot it has had, and only the change is
    # followed on. The linear rules spread each visit's lots alone and add the results.
    books: dict[int, _Books] | None = {} if max_dwell is not None else None
    tiny = 1e-12 * max(1.0, float(seeded.sum()))  # a change this small is rounding: counted as dust, not followed
    totals = _Totals(n)

    def arrive(code: int, hop: int, lot: _Lot) -> _Reach:
        state = reached.get(code)
        if state is None:
            sink = VICTIM if code in victim_accounts else _sink_kind(sinks, index.account_label(code))
            state = reached[code] = _Reach(hop, sink, np.zeros(n), np.zeros(n), np.zeros(n))
        state.received += lot.taint
        total = float(lot.taint.sum())
        if total > state.best:
            state.best, state.path = total, lot.path
        return state

    for hop in range(1, max_hops + 1):
        at: dict[int, list[tuple[int, _Lot]]] = defaultdict(list)
        for row, lot in lots.items():
            code = int(index.payee[row])
            channel_sink = (channel_sinks.get(int(index.channel[row]))
                            if channel_sinks and index.channel is not None else None)
            state = arrive(code, hop, lot)
            if channel_sink or state.sink:
                state.channel_sink = state.channel_sink or channel_sink
                state.sunk += lot.taint
                totals.sunk += lot.taint
            else:
                at[code].append((row, lot))
        lots = {}
        for code, arrivals in at.items():
            ledger = ledgers.get(code)
            if ledger is None:
                opening = known.get(index.account_label(code), 0.0) if known else 0.0
                ledger = ledgers[code] = Ledger.of(index, code, upto, opening)
            if books is not None:
                held, paid = books.setdefault(code, _Books()).respread(ledger, spread, arrivals, n, tiny, totals)
            else:
                arrivals.sort(key=lambda arrival: arrival[0])
                positions = np.searchsorted(ledger.rows, [row for row, _ in arrivals])
                out = spread(ledger, positions, np.stack([lot.taint for _, lot in arrivals]))
                held = out.held
                paid = _Paid(ledger.rows[out.entries], out.carried, out.dominant, [lot.path for _, lot in arrivals])
            reached[code].held += held
            totals.held += held
            if hop == max_hops:
                totals.beyond += paid.carried.sum(axis=0)
                continue
            # A change may take a victim's taint back (negative), or move taint from one victim to another with
            # nothing added. What a victim gets is dust when small; what is taken back is always followed, so a
            # victim's dust is never less than nothing and taint booked downstream is taken back where it went.
            carried = paid.carried
            gained = np.clip(carried, 0.0, None)
            small = gained.sum(axis=1) < min_amount
            totals.dust += gained[small].sum(axis=0)
            carried = np.where(small[:, None], carried - gained, carried)
            for i in np.flatnonzero(np.any(carried != 0.0, axis=1) if books is not None else ~small):
                row = int(paid.rows[i])
                lots[row] = _Lot(carried[i], (*paid.path(int(i)), row))
        if not lots:
            break

    def per_victim(vector: np.ndarray, drop_zero: bool = False) -> dict[Any, float]:
        return {v: float(x) for v, x in zip(victims, vector, strict=True) if x or not drop_zero}

    accounts = {}
    for code, state in reached.items():
        label = index.account_label(code)
        accounts[label] = ReachedAccount(
            account=label,
            hop=state.hop,
            received=float(state.received.sum()),
            held=float(state.held.sum()),
            sunk=float(state.sunk.sum()),
            sink=state.sink or state.channel_sink,
            path=tuple(index.event_id(row) for row in state.path),
            received_by_victim=per_victim(state.received, drop_zero=True),
            held_by_victim=per_victim(state.held, drop_zero=True),
        )
    return TraceResult(
        rule=rule,
        max_hops=max_hops,
        victims=victims,
        accounts=accounts,
        seeded=per_victim(seeded),
        held=per_victim(totals.held),
        sunk=per_victim(totals.sunk),
        beyond_hop_limit=per_victim(totals.beyond),
        dust=per_victim(totals.dust),
    )
