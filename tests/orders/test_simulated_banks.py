"""The simulated banks of the demo and the evaluation hold an amount, not the whole account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pandas as pd

from aegis.actions.orders import load_policy
from aegis.usecases.funds import FundsData, SimulatedBanks

T0 = datetime(2026, 10, 3, 2, 0, tzinfo=UTC)


def data(rows: list[tuple[str, str, str, float]]) -> FundsData:
    frame = pd.DataFrame(
        [
            {"event_id": e, "payer_account": a, "payee_account": b, "payer_bank": "B", "payee_bank": "B",
             "amount": amount, "time": T0 + timedelta(minutes=i), "channel": "mobile"}
            for i, (e, a, b, amount) in enumerate(rows)
        ]
    )
    return FundsData(transfers=frame)


def test_a_hold_drops_only_the_payments_that_would_eat_into_it() -> None:
    banks = SimulatedBanks(
        data([("in1", "V", "M", 1000.0), ("out1", "M", "X", 300.0), ("in2", "U", "M", 500.0),
              ("out2", "M", "X", 900.0), ("in3", "W", "M", 600.0), ("out3", "M", "X", 500.0),
              ("out4", "M", "X", 100.0)]),
        load_policy(),
    )
    at = T0 + timedelta(minutes=1, seconds=30)  # after out1: 700 left
    assert banks.free(banks.data, "M", at) == D("700.00")
    banks.block("M", at, D("600"))
    assert banks.free(banks.data, "M", at) == D("100.00")
    # 700 + 500 = 1200: out2 (900) would leave 300 < 600, dropped; then 1800 - 500 (out3) leaves 1300: paid
    assert banks.blocked == {"out2"}
    banks.block("M", T0 + timedelta(minutes=5, seconds=30), D("800"))  # a second hold after out3
    # now 1,400 is held: out4 (100) would leave 1,200
    assert banks.blocked == {"out2", "out4"}
