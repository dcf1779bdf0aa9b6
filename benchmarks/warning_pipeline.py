"""Benchmark: warning leads per second through fusion and dispatch on a 1,000,000-person city.

Leads are synthesised (a realistic mix of kinds, a few per person touched) because simulating the events
of a million-person city takes longer than the thing measured. Measured: fusion features + the default
fusion model + the policy's levels (with each fraud type's pace) + reasons + dispatch (the due warnings
deduplicated per person and fraud type, each routed to a channel, queue and deadline), in hourly batches
that carry the streaming state.
Baseline in the same run: the simplest warning rule, "any lead scoring >= 0.5 warns its person", with the
same dispatch. Results go to benchmarks/results/warnings.json.

    .venv/bin/python benchmarks/warning_pipeline.py [--people 1000000] [--leads 1000000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results

from aegis.decisions.warning_policy import load_policy
from aegis.features.victim_leads import FRAUD_TYPES, LEAD_KINDS, Directory, EntityRisk, FusionState, fusion_features
from aegis.training.modelstore import load_model
from aegis.usecases.warning_pipeline import WarningPipeline

KIND_SHARE = np.array([0.15, 0.05, 0.01, 0.002, 0.01, 0.07, 0.66, 0.048])  # as on the simulated cities


def synth_leads(people: int, leads: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    touched = rng.choice(people, size=max(1, leads // 3), replace=False)
    person = touched[rng.integers(0, len(touched), leads)]
    kind = rng.choice(len(LEAD_KINDS), size=leads, p=KIND_SHARE / KIND_SHARE.sum())
    start = pd.Timestamp("2026-10-01", tz="UTC").value
    return pd.DataFrame({
        "lead_id": [f"l{i}" for i in range(leads)],
        "person_id": pd.Series(person).map("P{:07d}".format).to_numpy(dtype=object),
        "time": pd.to_datetime(np.sort(start + rng.integers(0, 86_400 * 10**9, leads)), utc=True),
        "kind": np.asarray(LEAD_KINDS, dtype=object)[kind],
        "score": rng.uniform(0.5, 1.0, leads),
        "fraud_type": np.where(rng.random(leads) < 0.5, np.asarray(FRAUD_TYPES, dtype=object)[
            rng.integers(0, len(FRAUD_TYPES), leads)], None),
        "entity": "x",
        "duration_s": np.where(kind == 0, rng.lognormal(3, 1.2, leads), 0.0),
        "amount": np.where(kind >= 5, rng.lognormal(6, 1.5, leads), 0.0),
    })


def dispatch(policy, person: np.ndarray, ftype: np.ndarray, level: np.ndarray, open_keys: set[str]) -> int:
    """Dedupe due warnings against the open ones and route each new one; returns how many were opened."""
    due = level != ""
    opened = 0
    for p, t, lv in zip(person[due], ftype[due], level[due], strict=True):
        key = f"{p}|{t}"
        if key not in open_keys:
            open_keys.add(key)
            policy.dispatch(lv, t)
            opened += 1
    return opened


def run(people: int, leads: int) -> dict:
    detector, policy = load_model(None, "victim").detector, load_policy()
    frame = synth_leads(people, leads)
    hours = frame["time"].dt.floor("h")
    batches = [g for _, g in frame.groupby(hours, sort=True)]
    ages = {f"P{i:07d}": 40 for i in range(0, people, max(1, people // 1000))}

    # the product's own scoring step (probability, level, fraud type and pace, reasons); leads come synthesised
    pipeline = WarningPipeline(detector, policy, EntityRisk(), Directory({}, {}))
    began, state, opened, keys = time.perf_counter(), FusionState(), 0, set()
    for batch in batches:
        state, rows = fusion_features(state, batch, ages)
        scored = pipeline.score(rows)
        opened += dispatch(policy, scored["person_id"].to_numpy(), scored["predicted_type"].to_numpy(),
                           scored["level"].to_numpy(), keys)
    fusion_s = time.perf_counter() - began

    began, base_opened, keys = time.perf_counter(), 0, set()
    for batch in batches:
        level = np.where(batch["score"].to_numpy() >= 0.5, "low", "")
        ftype = batch["fraud_type"].fillna("other").to_numpy()
        base_opened += dispatch(policy, batch["person_id"].to_numpy(), ftype, level, keys)
    baseline_s = time.perf_counter() - began
    return {
        "what": "warning leads through fusion and dispatch", "people": people, "leads": leads,
        "batches": len(batches), "fusion_leads_per_s": round(leads / fusion_s), "fusion_seconds": round(fusion_s, 2),
        "warnings_opened": opened, "baseline": "any lead with score >= 0.5 warns (no windows, no model)",
        "baseline_leads_per_s": round(leads / baseline_s), "baseline_warnings_opened": base_opened,
        "fusion_vs_baseline_speed": round(baseline_s / fusion_s, 3),
        "note": "synthetic leads with random scores: the warning counts say nothing about quality",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--name", default="warnings", help="results file name under benchmarks/results/")
    args = parser.parse_args()
    print(write_results(args.name, run(args.people, args.leads)).read_text())


if __name__ == "__main__":
    main()
