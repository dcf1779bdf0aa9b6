"""The evaluation and the demo against a small simulated city's truth (slow: it simulates a city first)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine

from aegis.simulate import SimConfig, simulate
from aegis.usecases.funds import evaluate_funds_sim, run_demo_chase


@pytest.mark.slow
def test_evaluation_and_demo_on_a_simulated_city(tmp_path: Path, sqlite_engine: Engine) -> None:
    simulate(SimConfig(people=5000, days=7, seed=3, victims_per_10k_day=6.0), tmp_path / "sim")
    figures = evaluate_funds_sim(tmp_path / "sim", delays_minutes=(5, 1440))
    assert figures["reported_victims"] > 3
    for row in figures["by_delay"]:
        assert row["precision"] >= 0.9
        assert 0 < row["frozen_share"] <= row["stopped_share"] + 1e-9
        assert row["returned_share"] <= row["frozen_share"] + 1e-9
        assert row["late_answers"] == 0  # the simulated banks answer in 10 and 60 minutes, within 30 and 24 hours
    # the cash-out cards are emptied at ATMs: less is left to freeze a day after the loss than minutes after
    early, late = figures["by_delay"][0], figures["by_delay"][1]
    assert late["freezable_share"] < early["freezable_share"]
    assert late["frozen_share"] < early["frozen_share"]
    for victim in figures["returns_per_victim"]:
        assert victim["returned"] <= victim["loss"] + 0.01
    summary = run_demo_chase(sqlite_engine, tmp_path / "sim", n_victims=2)
    assert Decimal(summary["returned"]) <= Decimal(summary["frozen"]) <= Decimal(summary["loss"])
