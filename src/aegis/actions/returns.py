"""Fund return (资金返还): frozen money goes back to the victims it came from, exact to the fen.

When several victims' money sits in one frozen account, each gets a share in proportion to the taint of
theirs the trace found there (按比例返还), never more than that taint and never more than they lost in all.
Shares are split by the largest-remainder method in whole fen, so the parts always add up to the amount
returned and no fen is created or lost; what cannot be given to any victim (the bank held clean money too,
or the victims are already made whole) is left unallocated for the account holder.

Hand-written rather than a library call: it is a few lines of integer arithmetic, and the caps per account and
per victim are the part that matters.

>>> from decimal import Decimal as D
>>> allocate_returns({"M": D("100")}, {"M": {"V1": D("60"), "V2": D("90")}}).per_victim
{'V1': Decimal('40.00'), 'V2': Decimal('60.00')}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

FEN = Decimal("0.01")


def _fen(value: Decimal) -> int:
    return int((Decimal(value) / FEN).to_integral_value())


def largest_remainder(total: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split ``total`` units in proportion to integer ``weights``; ties go to the larger weight, then by name.

    Each share is at most its weight whenever ``total`` is at most the sum of the weights.

    >>> largest_remainder(10, {"a": 1, "b": 1, "c": 1})
    {'a': 4, 'b': 3, 'c': 3}
    """
    positive = {k: w for k, w in weights.items() if w > 0}
    whole = sum(positive.values())
    if total <= 0 or whole == 0:
        return {k: 0 for k in weights}
    shares = {k: total * w // whole for k, w in positive.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(positive, key=lambda k: (-(total * positive[k] % whole), -positive[k], k))
    for k in by_remainder[:left]:
        shares[k] += 1
    return {k: shares.get(k, 0) for k in weights}


@dataclass(frozen=True)
class Allocation:
    """Who gets what: per victim in all, per account and victim, and what stays with each account."""

    per_victim: dict[str, Decimal]
    per_account: dict[str, dict[str, Decimal]]
    unallocated: dict[str, Decimal]


def allocate_returns(
    frozen: Mapping[str, Decimal],
    taint: Mapping[str, Mapping[str, Decimal]],
    losses: Mapping[str, Decimal] | None = None,
) -> Allocation:
    """Allocate the ``frozen`` amount of each account to the victims whose taint is there.

    ``taint[account][victim]`` is the victim's money the trace found in the account; ``losses[victim]``, when
    given, caps what a victim receives across all accounts (what they lost and have not yet got back).
    Accounts are processed in name order, so the result does not depend on the order of the mappings.
    """
    room = {v: _fen(x) for v, x in (losses or {}).items()}
    per_victim: dict[str, int] = {}
    per_account: dict[str, dict[str, Decimal]] = {}
    unallocated: dict[str, Decimal] = {}
    for account in sorted(frozen):
        held = _fen(frozen[account])
        weights = {v: _fen(x) for v, x in sorted(taint.get(account, {}).items())}
        if losses is not None:
            weights = {v: min(w, room.get(v, 0)) for v, w in weights.items()}
        given = largest_remainder(min(held, sum(weights.values())), weights)
        for victim, amount in given.items():
            per_victim[victim] = per_victim.get(victim, 0) + amount
            if losses is not None:
                room[victim] = room.get(victim, 0) - amount
        per_account[account] = {v: a * FEN for v, a in given.items() if a}
        unallocated[account] = (held - sum(given.values())) * FEN
    return Allocation(
        per_victim={v: a * FEN for v, a in sorted(per_victim.items())},
        per_account=per_account,
        unallocated=unallocated,
    )


def split_among(given: Mapping[str, Decimal], parts: Mapping[str, Mapping[str, Decimal]],
                sizes: Mapping[str, Decimal]) -> dict[str, dict[str, Decimal]]:
    """Split what an account returns to each victim (``given``) among the holds pooled there, so that each hold
    answers for its own part and the parts add up to ``given`` to the fen.

    A victim's return is split in proportion to that victim's taint in each hold (``parts[hold][victim]``), or,
    where no hold names the victim, in proportion to the holds' ``sizes``.

    >>> from decimal import Decimal as D
    >>> split_among({"V": D("90")}, {"F1": {"V": D("100")}, "F2": {"V": D("50")}}, {"F1": D("100"), "F2": D("50")})
    {'F1': {'V': Decimal('60.00')}, 'F2': {'V': Decimal('30.00')}}
    """
    out: dict[str, dict[str, Decimal]] = {hold: {} for hold in sorted(parts.keys() | sizes.keys())}
    for victim, amount in sorted(given.items()):
        weights = {hold: _fen(per.get(victim, Decimal(0))) for hold, per in parts.items()}
        if not any(weights.values()):
            weights = {hold: _fen(size) for hold, size in sizes.items()}
        for hold, cents in largest_remainder(_fen(amount), dict(sorted(weights.items()))).items():
            if cents:
                out[hold][victim] = cents * FEN
    return out
