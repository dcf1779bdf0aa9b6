"""Train the shipped warning-fusion (victim) model on a simulated city.

    .venv/bin/python -m aegis.training.victim_default [--out DIR]

Who becomes a victim is known only in a simulated city, so the fusion model learns there: a city of 20,000
people over 30 days (seed 1) with 3 victims per 10,000 residents a day, enough victims (about 180) for the
model to see every fraud type's leads. Entity risk there is citizens' reports, simulated detector coverage
and the shipped text model (see :func:`aegis.usecases.warning_sim.sim_entity_risk`). The figures that count come
from ``aegis evaluate warnings --sim DIR`` on a city of another seed.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from aegis.simulate import SimConfig, simulate
from aegis.training.modelstore import default_model_dir
from aegis.usecases.warning_sim import train_from_sim

TRAIN_CITY = SimConfig(people=20_000, days=30, seed=1, victims_per_10k_day=3.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_model_dir("victim"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aegis-victim-") as tmp:
        simulate(TRAIN_CITY, Path(tmp) / "city")
        card = train_from_sim(Path(tmp) / "city", args.out, reproduce="python -m aegis.training.victim_default",
                              city=f"aegis simulate --people {TRAIN_CITY.people} --days {TRAIN_CITY.days} --seed "
                                   f"{TRAIN_CITY.seed} --victims-per-10k-day {TRAIN_CITY.victims_per_10k_day:g}")
    print(card["data"], card["metrics"])


if __name__ == "__main__":
    main()
