"""Train the shipped number model on a simulated city's CDRs and SMS.

The Sichuan CDR aggregates may not be bundled (research-only licence), so the default model learns from the
city simulator (``aegis.simulate``), whose ground truth names every fraud number, SIM-box and IoT card. It
sees only the number's own profile (no neighbour labels: in a city it was not trained on, no neighbour has
a known label). Reproduce with ``python -m aegis.training.number_default``; the figures on its card come from
a second city with another seed.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score, roc_auc_score

from aegis.detectors.number import NumberBatch, NumberDetector
from aegis.features.number_profile import call_graph, profile_from_events
from aegis.simulate import SimConfig, simulate
from aegis.training.modelstore import default_model_dir, save_model

TRAIN_CITY = SimConfig(people=20_000, days=14, seed=101)
TEST_CITY = SimConfig(people=20_000, days=14, seed=202)
WEEK_CITY = SimConfig(people=5_000, days=7, seed=303, victims_per_10k_day=3.0)
"""a city of the demo's size and length (another seed): most of its fraud numbers made a handful of calls"""


def city_numbers(sim_dir: Path, windows_days: tuple[int | None, ...] = (None,)) -> tuple[NumberBatch, np.ndarray]:
    """Profiles of every number that called or texted, and whether the truth says it is a fraud number.

    With several ``windows_days`` (None: the whole city), each number is profiled once per window, from the
    first days of the city only: counts grow with the window, and a model that saw one window length only
    learns count thresholds that fail on a shorter one (the demo city covers a week).
    """
    calls = pd.read_parquet(sim_dir / "events" / "call.parquet")
    sms = pd.read_parquet(sim_dir / "events" / "sms.parquet")
    truth = pd.read_parquet(sim_dir / "truth" / "numbers.parquet", columns=["number", "is_fraud"])
    first = min(calls["start"].min(), sms["time"].min())
    parts, labels = [], []
    for days in windows_days:
        c, m = calls, sms
        if days is not None:
            end = first + pd.Timedelta(days=days)
            c, m = calls[calls["start"] < end], sms[sms["time"] < end]
        active = pd.Index(pd.concat([c["caller"], m["sender"]]).unique(), dtype=str)
        profiles = profile_from_events(c, m, numbers=active)
        labels.append(truth.set_index("number")["is_fraud"].reindex(profiles.index, fill_value=False).to_numpy(bool))
        profiles.index = profiles.index + ("" if days is None else f"@{days}d")
        parts.append(profiles)
    return NumberBatch(pd.concat(parts), call_graph(calls, sms)), np.concatenate(labels)


def _metrics(key: str, city: SimConfig, detector: NumberDetector, X: NumberBatch, y: np.ndarray) -> dict[str, Any]:
    scores = detector.score(X)
    flagged = scores >= detector.threshold_
    return {
        key: f"simulated, seed {city.seed}, {city.people} people x {city.days} days",
        "test_numbers": len(y),
        "test_fraud_numbers": int(y.sum()),
        "precision": round(float(precision_score(y, flagged)), 4),
        "recall": round(float(recall_score(y, flagged)), 4),
        "f1": round(float(f1_score(y, flagged)), 4),
        "auc": round(float(roc_auc_score(y, scores)), 4),
        "average_precision": round(float(average_precision_score(y, scores)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_model_dir("number"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in (("train", TRAIN_CITY), ("test", TEST_CITY), ("week", WEEK_CITY)):
            simulate(config, Path(tmp) / name)
        X, y = city_numbers(Path(tmp) / "train", windows_days=(None, 7, 3))
        tests = {name: city_numbers(Path(tmp) / name) for name in ("test", "week")}
    # boosters only: on simulated cities the network view ranks the few-call fraud numbers of a week-long
    # city worse (see the card's notes); on real CDRs (Sichuan) the blend is the better one
    detector = NumberDetector(use_graph=False, n_estimators=300, seeds=2, mlp_weight=0.0).fit(
        X, np.where(y, "1", "0"))
    metrics = _metrics("test_city", TEST_CITY, detector, *tests["test"])
    metrics["week_city"] = _metrics("city", WEEK_CITY, detector, *tests["week"])
    metrics["threshold"] = detector.threshold_
    data = {
        "source": f"aegis city simulator, seed {TRAIN_CITY.seed}, {TRAIN_CITY.people} people x {TRAIN_CITY.days} days",
        "numbers": len(y),
        "fraud_numbers": int(y.sum()),
        "labels": "truth/numbers.parquet is_fraud (fraud callers, SIM-boxes, IoT cards of gangs)",
    }
    notes = (
        "Trained on simulated traffic only: Sichuan (real CDR aggregates) may not be bundled. Expect lower "
        "figures on real CDRs; train your own with `aegis train number` on your data. No graph features "
        "(use_graph=False): neighbour labels are unknown in a city the model was not trained on. Boosters only "
        "(mlp_weight=0): with the network view blended in (the detector's default, better on the Sichuan CDRs) "
        "the week city read recall 0.789 / AP 0.967 against 0.820 / 0.978, measured once when this was chosen."
        " Its columns are those Aegis profiles from events, not the Sichuan aggregates' (scored on those, 8 of "
        "its inputs are missing and it finds no fraud): for the Sichuan format train a model with `aegis train "
        "number --data ... --edges ...`. Reproduce: `python -m aegis.training.number_default`."
    )
    save_model(detector, args.out, data=data, metrics=metrics, notes=notes)
    print(metrics)


if __name__ == "__main__":
    main()
