"""`aegis funds demo` on a small simulated city: run again on the same store, it reports what the store holds."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine, select
from typer.testing import CliRunner

from aegis.cli.funds import app as funds_cli
from aegis.simulate import SimConfig, simulate
from aegis.store.schema_funds import fund_return
from aegis.usecases.funds import run_demo_chase


def test_the_funds_demo_run_again_reports_the_stores_chases_and_lists_every_victim(
        tmp_path: Path, sqlite_engine: Engine) -> None:
    """The second run said "returned 0.00, no freeze was executed" beside the money frozen in the first, whose
    returns the store held; and the first run's table left out the victims who got nothing back."""
    simulate(SimConfig(people=2000, days=7, seed=3, victims_per_10k_day=6.0), tmp_path / "sim")
    first = run_demo_chase(sqlite_engine, tmp_path / "sim", n_victims=4)
    assert first["already_open"] == [] and len(first["chases"]) == 4
    with sqlite_engine.connect() as conn:
        stored = sum(conn.execute(select(fund_return.c.amount)).scalars(), Decimal(0))
    assert Decimal(first["returned"]) == stored > 0
    per_victim = first["returned_per_victim"]
    assert len(per_victim) >= 4 and any(Decimal(v["returned"]) == 0 for v in per_victim.values())
    assert sum(Decimal(v["returned"]) for v in per_victim.values()) == stored

    again = run_demo_chase(sqlite_engine, tmp_path / "sim", n_victims=4)
    assert again["already_open"] == again["chases"] == first["chases"]
    assert {k: again[k] for k in ("loss", "stopped", "frozen", "returned", "returned_per_victim")} == {
        k: first[k] for k in ("loss", "stopped", "frozen", "returned", "returned_per_victim")}

    url = sqlite_engine.url.render_as_string(hide_password=False)
    shown = CliRunner().invoke(funds_cli, ["demo", "--sim", str(tmp_path / "sim"), "--db", url, "--victims", "4",
                                           "--lang", "en"])
    assert shown.exit_code == 0, shown.output
    assert "4 of them were open in this store already" in shown.stdout
    assert "nothing returned" not in shown.stdout and "returns per victim" in shown.stdout
    assert all(victim in shown.stdout for victim in per_victim)
