"""The table of figures `evaluate` prints: alike numbers written alike."""

from __future__ import annotations

from typing import Any

import pytest

from aegis.cli.figures import cell, print_figures


def test_whole_days_and_hours_are_written_whole_and_shares_keep_their_decimals() -> None:
    """`days 7.0000` stood beside the model's `days 30`."""
    assert (cell("days", 7.0), cell("model.days", 30), cell("max_dwell_hours", 24.0)) == ("7", "30", "24")
    assert (cell("precision", 1.0), cell("recall", 0.95), cell("lead_h", 27.25)) == ("1.0000", "0.9500", "27.2500")


def test_a_grid_column_writes_its_figures_alike(capsys: pytest.CaptureFixture[str]) -> None:
    """A column held 5, 30.0 and 1,440 (minutes), another 0.2 beside 0.834; a victim's loss lost its fen."""
    figures: dict[str, Any] = {
        "by_delay": [{"orders_sent": "5", "median_minutes": 5, "stopped_share": 0.834, "orders": 52},
                     {"orders_sent": "30", "median_minutes": 30.0, "stopped_share": 0.2, "orders": 56},
                     {"orders_sent": "1440", "median_minutes": 1440, "stopped_share": None, "orders": 60}],
        "returns_per_victim": [{"victim": "P1", "loss": 81885.75, "returned": 0.0, "minutes": 104.8},
                               {"victim": "P2", "loss": 1487.38, "returned": 599.83, "minutes": 563.0}],
    }
    print_figures(figures, "en")
    shown = capsys.readouterr().out
    assert all(f" {m} " in shown for m in ("5", "30", "1,440")) and "30.0" not in shown
    assert " 0.834 " in shown and " 0.200 " in shown
    assert all(f" {v} " in shown for v in ("81,885.75", "0.00", "599.83", "104.8", "563.0"))
