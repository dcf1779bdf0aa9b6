"""The pure parts: the order life cycle, which accounts get an order, and pro-rata returns to the fen."""

from __future__ import annotations

import doctest
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from aegis.actions import returns
from aegis.actions.orders import (
    FundsPolicy,
    IllegalTransition,
    OrderState,
    check_transition,
    load_policy,
    targets,
)
from aegis.actions.returns import allocate_returns, largest_remainder, split_among
from aegis.funds import TransferIndex, trace


def test_life_cycle_allows_the_bank_steps_and_refuses_the_rest() -> None:
    for a, b in [
        ("issued", "acknowledged"),
        ("acknowledged", "executed"),
        ("acknowledged", "moved_on"),
        ("issued", "rejected"),
        ("executed", "returned"),
        ("executed", "expired"),
        ("executed", "superseded"),
    ]:
        check_transition("OR-x", a, b)
    with pytest.raises(IllegalTransition, match="order OR-x: cannot go from issued to executed"):
        check_transition("OR-x", "issued", "executed")
    for final in ("rejected", "moved_on", "released", "returned", "expired"):
        with pytest.raises(IllegalTransition, match="it is final"):
            check_transition("OR-x", final, OrderState.acknowledged)
    with pytest.raises(IllegalTransition, match="the freeze that took it over holds the money"):
        check_transition("OR-x", "superseded", OrderState.released)


def test_policy_loads_with_terms_contacts_and_duty_hours() -> None:
    policy = load_policy()
    assert policy.terms("stop_payment").hold.total_seconds() == 48 * 3600
    assert "反电信网络诈骗法" in policy.terms("freeze").legal_basis
    night = datetime(2026, 10, 1, 15, 0, tzinfo=UTC)  # 23:00 in China: only the 24-hour desk is staffed
    day = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)  # 10:00 in China
    assert policy.contact("厦门银行", "freeze", night).role == "stop_payment_duty"
    assert policy.contact("厦门银行", "freeze", day).role == "freeze_officer"
    assert policy.contact("no such bank", "freeze", day) is None


def test_the_shipped_rule_is_lifo_with_a_day_of_dwell_and_only_lifo_has_one() -> None:
    policy = load_policy()
    assert (policy.rule, policy.max_dwell) == ("lifo", timedelta(hours=24))
    assert policy.dwell("lifo") == timedelta(hours=24)
    assert policy.dwell("fifo") is None and policy.dwell("proportional") is None
    raw = policy.model_dump()
    assert FundsPolicy.model_validate({**raw, "max_dwell": "6h"}).max_dwell == timedelta(hours=6)
    assert FundsPolicy.model_validate({**raw, "max_dwell": None}).dwell("lifo") is None  # followed for ever
    for bad in ("0h", "-1h", "a day"):
        with pytest.raises(ValidationError, match="max_dwell"):
            FundsPolicy.model_validate({**raw, "max_dwell": bad})


def test_targets_skip_sinks_dust_victims_and_accounts_already_ordered() -> None:
    index = TransferIndex.from_table(
        pd.DataFrame(
            [
                ("t1", "V", "A", 1000.0, 1),
                ("t2", "A", "B", 600.0, 2),
                ("t3", "A", "SHOP", 350.0, 3),
                ("t4", "A", "C", 40.0, 4),
                ("t5", "A", "V", 5.0, 5),
            ],
            columns=["event_id", "payer_account", "payee_account", "amount", "time"],
        )
    )
    result = trace(index, ["t1"], sinks={"SHOP": "large_merchant"})
    found = targets(result, D("100"))
    assert [(t.account, t.amount, t.path) for t in found] == [("B", D("600.00"), ("t1", "t2"))]
    assert found[0].taint == {"V": D("600.00")}
    assert targets(result, D("100"), already={"B"}) == []
    assert [
        t.account for t in targets(result, D("10"), throughput={"B": 600.0, "C": 10_000.0}, min_share=0.05)
    ] == ["B"]  # C got 40 of 10,000: an ordinary account, no order
    # the account the victim paid is ordered however much of its owner's own money it holds (a rented everyday
    # card): the share rule keeps ordinary accounts further on out, not the one the report names
    direct = trace(TransferIndex.from_table(pd.DataFrame(
        [("s1", "EMP", "M9", 50_000.0, 1), ("v1", "V", "M9", 2000.0, 2)],
        columns=["event_id", "payer_account", "payee_account", "amount", "time"])), ["v1"])
    held = targets(direct, D("100"), throughput={"M9": 52_000.0}, min_share=0.05)
    assert [(t.account, t.hop, t.amount) for t in held] == [("M9", 1, D("2000.00"))]


def test_pro_rata_in_a_shared_account_and_sole_victims_elsewhere() -> None:
    result = allocate_returns(
        {"M": D("100.00"), "N": D("50.00")},
        {"M": {"V1": D("60"), "V2": D("90")}, "N": {"V2": D("80")}},
    )
    assert result.per_account == {"M": {"V1": D("40.00"), "V2": D("60.00")}, "N": {"V2": D("50.00")}}
    assert result.per_victim == {"V1": D("40.00"), "V2": D("110.00")}
    assert result.unallocated == {"M": D("0.00"), "N": D("0.00")}


def test_split_is_exact_to_the_fen() -> None:
    result = allocate_returns({"M": D("100.00")}, {"M": {"a": D("100"), "b": D("100"), "c": D("100")}})
    assert sorted(result.per_account["M"].values()) == [D("33.33"), D("33.33"), D("33.34")]
    assert sum(result.per_victim.values()) == D("100.00")


def test_never_more_than_the_taint_or_the_loss() -> None:
    over = allocate_returns({"M": D("500")}, {"M": {"V1": D("100"), "V2": D("200")}})
    assert over.per_victim == {"V1": D("100.00"), "V2": D("200.00")}
    assert over.unallocated["M"] == D("200.00")  # clean money the bank held stays with the account holder
    capped = allocate_returns(
        {"M": D("100"), "N": D("100")},
        {"M": {"V1": D("100")}, "N": {"V1": D("100"), "V2": D("100")}},
        losses={"V1": D("120"), "V2": D("1000")},
    )
    # V1 gets all of M (100), then only its remaining 20 counts in N's split against V2's 100
    assert capped.per_victim == {"V1": D("116.67"), "V2": D("83.33")}


@given(
    total=st.integers(0, 10**7),
    weights=st.dictionaries(
        st.text("abcdef", min_size=1, max_size=3), st.integers(0, 10**6), min_size=1, max_size=6
    ),
)
def test_largest_remainder_conserves_and_respects_weights(total: int, weights: dict[str, int]) -> None:
    shares = largest_remainder(total, weights)
    whole = sum(weights.values())
    assert sum(shares.values()) == (total if whole else 0)
    if total <= whole:
        assert all(0 <= shares[k] <= weights[k] for k in weights)
    for k, w in weights.items():  # within one unit of the exact proportion
        if whole:
            assert abs(shares[k] - total * w / whole) < 1


def test_doctests() -> None:
    assert doctest.testmod(returns).failed == 0


@given(
    given_cents=st.dictionaries(st.sampled_from("VWX"), st.integers(0, 10**7), max_size=3),
    holds=st.dictionaries(st.sampled_from(["F1", "F2", "F3"]),
                          st.dictionaries(st.sampled_from("VWX"), st.integers(0, 10**7), max_size=3),
                          min_size=1, max_size=3),
)
def test_each_hold_answers_for_its_part_and_the_parts_add_up(given_cents: dict, holds: dict) -> None:
    given_ = {v: D(c) / 100 for v, c in given_cents.items()}
    parts = {h: {v: D(c) / 100 for v, c in per.items()} for h, per in holds.items()}
    sizes = {h: sum(per.values(), D(1)) for h, per in parts.items()}
    split = split_among(given_, parts, sizes)
    for victim, amount in given_.items():
        assert sum((per.get(victim, D(0)) for per in split.values()), D(0)) == amount
        named = {h for h, per in parts.items() if per.get(victim)}
        if named:  # only the holds that hold the victim's money answer for her return
            assert {h for h, per in split.items() if per.get(victim)} <= named
