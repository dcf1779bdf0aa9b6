"""The tracer on hand-made graphs whose answers can be worked out on paper."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from aegis.funds import Seed, TransferIndex, trace
from aegis.training.task import DataError

COLUMNS = ["event_id", "payer_account", "payee_account", "amount", "time"]
RULES = ["fifo", "lifo", "proportional"]


def index_of(*rows: tuple) -> TransferIndex:
    return TransferIndex.from_table(pd.DataFrame(list(rows), columns=COLUMNS[: len(rows[0])]))


def held(result, account: str) -> float:
    return result.accounts[account].held if account in result.accounts else 0.0


def balanced(result) -> bool:
    return result.unaccounted() < 1e-9


@pytest.mark.parametrize("rule", RULES)
def test_chain_moves_everything_to_the_end(rule: str) -> None:
    index = index_of(("t1", "V", "A", 100, 1), ("t2", "A", "B", 100, 2), ("t3", "B", "C", 100, 3))
    result = trace(index, ["t1"], rule=rule)
    assert [held(result, a) for a in "ABC"] == [0, 0, 100]
    end = result.accounts["C"]
    assert (end.hop, end.received, end.path) == (3, 100, ("t1", "t2", "t3"))
    assert balanced(result)


@pytest.mark.parametrize("rule", RULES)
def test_split_and_partial_withdrawal(rule: str) -> None:
    index = index_of(("t1", "V", "A", 100, 1), ("t2", "A", "B", 60, 2), ("t3", "A", "C", 30, 3))
    result = trace(index, ["t1"], rule=rule)
    assert [held(result, a) for a in "ABC"] == pytest.approx([10, 60, 30])
    assert result.accounts["C"].path == ("t1", "t3")
    assert balanced(result)


def test_clean_money_ahead_of_the_taint_separates_the_rules() -> None:
    """B had 100 clean before the taint came: FIFO pays it out first, LIFO last, proportional half and half."""
    index = index_of(
        ("c", "Z", "B", 100, 0), ("t1", "V", "B", 100, 2), ("t2", "B", "Y", 100, 3), ("t3", "B", "W", 100, 4)
    )
    fifo = trace(index, ["t1"], rule="fifo")
    assert "Y" not in fifo.accounts and held(fifo, "W") == pytest.approx(100)
    lifo = trace(index, ["t1"], rule="lifo")
    assert held(lifo, "Y") == pytest.approx(100) and "W" not in lifo.accounts
    proportional = trace(index, ["t1"], rule="proportional")
    assert held(proportional, "Y") == pytest.approx(50) and held(proportional, "W") == pytest.approx(50)


@pytest.mark.parametrize("rule", RULES)
def test_two_victims_merge_but_stay_apart(rule: str) -> None:
    index = index_of(("v1", "V1", "M", 100, 1), ("v2", "V2", "M", 50, 2), ("m", "M", "N", 90, 3))
    result = trace(index, ["v1", "v2"], rule=rule)
    mule, next_hop = result.accounts["M"], result.accounts["N"]
    if rule == "fifo":  # V1's money came first and leaves first
        assert next_hop.held_by_victim == pytest.approx({"V1": 90})
        assert mule.held_by_victim == pytest.approx({"V1": 10, "V2": 50})
    elif rule == "lifo":  # V2's money came last and leaves first
        assert next_hop.held_by_victim == pytest.approx({"V1": 40, "V2": 50})
        assert mule.held_by_victim == pytest.approx({"V1": 60})
    else:  # 90 of a balance of 150: 60% of each victim's money
        assert next_hop.held_by_victim == pytest.approx({"V1": 60, "V2": 30})
        assert mule.held_by_victim == pytest.approx({"V1": 40, "V2": 20})
    assert result.seeded == {"V1": 100, "V2": 50}
    assert balanced(result)


@pytest.mark.parametrize("rule", RULES)
def test_cycle_is_followed_once_per_round_and_conserves(rule: str) -> None:
    index = index_of(
        ("t1", "V", "A", 100, 1), ("t2", "A", "B", 100, 2), ("t3", "B", "A", 100, 3), ("t4", "A", "C", 100, 4)
    )
    result = trace(index, ["t1"], rule=rule)
    assert result.accounts["A"].received == 200  # it arrived twice
    assert [held(result, a) for a in "ABC"] == [0, 0, 100]
    assert result.accounts["C"].path == ("t1", "t2", "t3", "t4")
    assert balanced(result)


@pytest.mark.parametrize("rule", RULES)
def test_same_instant_ping_pong_terminates(rule: str) -> None:
    """A and B send the same money back and forth at one timestamp: input order breaks the tie."""
    rows = [("t0", "V", "A", 100, 1)]
    rows += [(f"p{i}", "AB"[i % 2], "BA"[i % 2], 100, 2) for i in range(40)]
    result = trace(index_of(*rows), ["t0"], rule=rule, max_hops=6)
    assert result.beyond_hop_limit["V"] == pytest.approx(100)
    assert balanced(result)


@pytest.mark.parametrize("rule", RULES)
def test_out_of_order_input_and_transfers_before_the_money_arrived(rule: str) -> None:
    index = index_of(("t2", "B", "Y", 100, 3), ("t1", "V", "B", 100, 2), ("early", "B", "X", 50, 1))
    result = trace(index, ["t1"], rule=rule)
    assert "X" not in result.accounts
    assert held(result, "Y") == pytest.approx(100)
    assert balanced(result)


@pytest.mark.parametrize("rule", RULES)
def test_hop_limit(rule: str) -> None:
    index = index_of(("t1", "V", "A", 100, 1), ("t2", "A", "B", 100, 2), ("t3", "B", "C", 70, 3))
    result = trace(index, ["t1"], rule=rule, max_hops=2)
    assert set(result.accounts) == {"A", "B"}
    assert held(result, "B") == pytest.approx(30)
    assert result.beyond_hop_limit["V"] == pytest.approx(70)
    assert balanced(result)


@pytest.mark.parametrize("rule", RULES)
def test_sinks_stop_the_trace_and_are_flagged(rule: str) -> None:
    index = TransferIndex.from_table(
        pd.DataFrame(
            [
                ("t1", "V", "A", 100, 1, "mobile"),
                ("t2", "A", "EX", 50, 2, "online"),
                ("t3", "EX", "Z", 50, 3, "online"),
                ("t4", "A", "CASH", 30, 4, "atm"),
                ("t5", "A", "V", 20, 5, "mobile"),
            ],
            columns=[*COLUMNS, "channel"],
        )
    )
    result = trace(index, ["t1"], rule=rule, sinks={"EX": "crypto_exchange"}, sink_channels={"atm": "cash_out"})
    exchange, cash, victim = result.accounts["EX"], result.accounts["CASH"], result.accounts["V"]
    assert (exchange.sink, exchange.sunk, exchange.held) == ("crypto_exchange", 50, 0)
    assert (cash.sink, cash.sunk) == ("cash_out", 30)
    assert (victim.sink, victim.sunk) == ("victim", 20)
    assert "Z" not in result.accounts
    assert result.sunk["V"] == pytest.approx(100)
    assert balanced(result)


def test_sinks_as_a_function_and_as_a_set() -> None:
    index = index_of(("t1", "V", "A", 100, 1), ("t2", "A", "B", 100, 2), ("t3", "B", "C", 100, 3))
    assert trace(index, ["t1"], sinks={"B"}).accounts["B"].sink == "sink"
    flagged = trace(index, ["t1"], sinks=lambda account: "large_merchant" if account == "A" else None)
    assert set(flagged.accounts) == {"A"} and flagged.accounts["A"].sink == "large_merchant"


@pytest.mark.parametrize("rule", RULES)
def test_as_of_cuts_time(rule: str) -> None:
    start = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    index = index_of(
        ("t1", "V", "A", 100, start),
        ("t2", "A", "B", 40, start + timedelta(minutes=5)),
        ("t3", "A", "C", 60, start + timedelta(hours=2)),
    )
    result = trace(index, ["t1"], rule=rule, as_of=start + timedelta(hours=1))
    assert held(result, "A") == pytest.approx(60) and held(result, "B") == pytest.approx(40)
    assert "C" not in result.accounts
    with pytest.raises(ValueError, match="after as_of"):
        trace(index, ["t1"], as_of=start - timedelta(minutes=1))


def test_seed_from_a_report_without_ids_and_partial_loss() -> None:
    start = datetime(2026, 3, 1, 9, 0)  # naive: China time
    index = index_of(
        ("t1", "V", "A", 100, start), ("t2", "A", "B", 50, start + timedelta(minutes=5)), ("x", "V", "A", 80, start)
    )
    reported = trace(index, [("A", 100.0, start + timedelta(minutes=10))])
    assert reported.accounts["B"].path == ("t1", "t2")
    with pytest.raises(LookupError):
        trace(index, [("A", 100.0, start + timedelta(hours=3))])
    partial = trace(index, [Seed(event_id="t1", amount=40, victim="case-7")])
    assert partial.victims == ("case-7",)
    assert held(partial, "B") == pytest.approx(20)  # half of a credit that was 40% tainted


def test_opening_balance_can_be_given() -> None:
    index = index_of(("t1", "V", "A", 100, 1), ("t2", "A", "B", 100, 2))
    assert held(trace(index, ["t1"], opening_balances={"A": 100}), "A") == pytest.approx(100)


def test_bad_input_is_named() -> None:
    index = index_of(("t1", "V", "A", 100, 1))
    with pytest.raises(LookupError, match="nope"):
        trace(index, ["nope"])
    with pytest.raises(ValueError, match="rule"):
        trace(index, ["t1"], rule="newest")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="amount"):
        TransferIndex.from_table(pd.DataFrame([("t", "A", "B", -1, 1)], columns=COLUMNS))
    with pytest.raises(DataError, match="time"):
        TransferIndex.from_table(pd.DataFrame([("t", "A", "B", 1, "monday")], columns=COLUMNS))
    with pytest.raises(DataError, match="missing"):
        TransferIndex.from_table(pd.DataFrame([("t", "A", "B", 1)], columns=COLUMNS[:4]))


@pytest.mark.parametrize("seed", range(5))
def test_the_two_proportional_paths_agree(seed: int) -> None:
    """Short ledgers are walked in Python, long ones vectorised: on any ledger both give the same spread."""
    from aegis.funds.rules import Ledger, _proportional_segments, _proportional_walk

    rng = np.random.default_rng(seed)
    size = 150
    debit = rng.random(size) < 0.5
    debit[rng.integers(0, size, 3)] = True
    amount = np.round(rng.lognormal(5, 1, size), 2)
    amount[debit & (rng.random(size) < 0.05)] = 1e9  # now and then a debit empties the account
    credits = np.flatnonzero(~debit)
    positions = np.sort(rng.choice(credits, 6, replace=False))
    taint = rng.random((6, 3)) * amount[positions, None] / 3
    ledger = Ledger(np.arange(size), debit, amount, opening=float(rng.uniform(0, 500)))
    walk, segments = _proportional_walk(ledger, positions, taint), _proportional_segments(ledger, positions, taint)
    np.testing.assert_array_equal(walk.entries, segments.entries)
    np.testing.assert_allclose(walk.carried, segments.carried, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(walk.dominant, segments.dominant)
    np.testing.assert_allclose(walk.held, segments.held, rtol=1e-9, atol=1e-9)
