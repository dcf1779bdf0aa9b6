"""Rebuild the default account model from the two AMLSim graphs (Apache-2.0, so they may be bundled).

    .venv/bin/python -m aegis.training.account_default [SHARED_AMLSIM_DIR]

Trains on ``20K_cycle200`` and ``20K_fanin200`` together, reports leave-one-graph-out figures on the card, and
writes the model to ``src/aegis/data/models/account``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, precision_score, recall_score, roc_auc_score

from aegis.features.account_profile import TransferGraph
from aegis.simulate import SimConfig, simulate
from aegis.training.account import TASK
from aegis.training.modelstore import default_model_dir, save_model
from aegis.training.task import Inputs

GRAPHS = ("20K_cycle200", "20K_fanin200")
#: AMLSim's laundering patterns alone do not carry over to a city's transfers (AUC ~0.5 on a simulated city),
#: so the shipped model also learns from one simulated city and is checked on another
TRAIN_CITY = SimConfig(people=20_000, days=14, seed=303, victims_per_10k_day=3.0)
TEST_CITY = SimConfig(people=20_000, days=14, seed=404, victims_per_10k_day=3.0)
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets" / "transfers" / "amlsim"

NOTES = """\
Mule-account detector (collective classification: an own-transfers LightGBM model, whose features include
triangles among an account's counterparties and the small dense group it belongs to once hubs are left out
(accounts recruited together keep dealing with each other even when they never run a laundering pattern),
then a second LightGBM model that adds its out-of-fold scores of every account's counterparties: share of
risky counterparties and transfers, triangles and clusters of risky accounts, a personalised PageRank; small
neural networks on the same features are blended with it, 30%).
Trained on IBM AMLSim
graphs (simulated; Apache-2.0, https://github.com/IBM/AMLSim): one with 200 cycle patterns and one with 200
fan-in patterns. The metrics are leave-one-graph-out: trained on one graph, scored on the other, which is how
the model meets an unseen bank or simulation. AMLSim is synthetic: expect lower figures on real transfers and
retrain on labelled local data (`aegis train account ...`) before relying on it. `fraudStep` and
`init_balance` are not used: one is ground truth, the other is not part of a transfer stream. The final model
also learns from one simulated city (AMLSim patterns alone score a city's mules at chance) and is checked on a
second city with another seed (`simulated_city_held_out`). Reproduce: `python -m aegis.training.account_default`."""


def city_graph(sim_dir: Path, days: int | None = None) -> tuple[TransferGraph, np.ndarray]:
    """Every account of a simulated city's transfers, labelled "1" for the mules and cash-out accounts.

    With ``days``, only the city's first days: counts and sums grow with the window, and a model that saw one
    window length only learns thresholds that fail on a shorter one (the demo city covers a week).
    """
    transfers = pd.read_parquet(
        sim_dir / "events" / "transfer.parquet", columns=["payer_account", "payee_account", "amount", "time"]
    )
    if days is not None:
        transfers = transfers[transfers["time"] < transfers["time"].min() + pd.Timedelta(days=days)]
    accounts = pd.Index(pd.concat([transfers["payer_account"], transfers["payee_account"]]).unique(), dtype=str)
    roles = pd.read_parquet(sim_dir / "truth" / "accounts.parquet").set_index("account")["role"]
    fraud = roles.isin(["mule", "cashout"]).reindex(accounts, fill_value=False).to_numpy()
    return TransferGraph(accounts, transfers), np.where(fraud, "1", "0")


def city_metrics(detector: object, sim_dir: Path) -> dict[str, float]:
    graph, y = city_graph(sim_dir)
    scores = detector.score(graph)  # type: ignore[attr-defined]
    truth = y == "1"
    return {
        "auc": round(float(roc_auc_score(truth, scores)), 4),
        "average_precision": round(float(average_precision_score(truth, scores)), 4),
        "precision_at_0.5": round(float(precision_score(truth, scores >= 0.5, zero_division=0)), 4),
        "recall_at_0.5": round(float(recall_score(truth, scores >= 0.5)), 4),
        "accounts": len(y),
        "mules": int(truth.sum()),
    }


def main(shared: Path = SHARED) -> dict:
    inputs = Inputs(
        accounts=[shared / g / "nodes.csv" for g in GRAPHS],
        transfers=[shared / g / "transactions.csv" for g in GRAPHS],
        format="amlsim",
    )
    data = TASK.load(inputs, labelled=True)
    metrics = TASK.cross_validate(data, len(GRAPHS))
    with tempfile.TemporaryDirectory() as tmp:
        simulate(TRAIN_CITY, Path(tmp) / "train")
        simulate(TEST_CITY, Path(tmp) / "test")
        city, city_y = city_graph(Path(tmp) / "train")
        week, week_y = city_graph(Path(tmp) / "train", days=7)
        detector = TASK.new_detector().fit(
            [*data.X, city, week], np.concatenate([np.asarray(data.y), city_y, week_y])
        )
        metrics["simulated_city_held_out"] = {
            "city": f"seed {TEST_CITY.seed}, {TEST_CITY.people} people x {TEST_CITY.days} days",
            **city_metrics(detector, Path(tmp) / "test"),
        }
    # the card names the shared files relative to shared/, not by this machine's absolute paths
    graphs = [
        {
            **g,
            **{
                k: str(Path(g[k]).resolve().relative_to(shared.resolve().parents[2])) for k in ("accounts", "transfers")
            },
        }
        for g in data.meta["graphs"]
    ]
    data_card = {
        "source": "IBM AMLSim (Apache-2.0) + one simulated city",
        "rows": data.n + len(city_y) + len(week_y),
        "format": data.meta["format"],
        "graphs": graphs,
        "simulated_city": f"aegis simulator, seed {TRAIN_CITY.seed}, {TRAIN_CITY.people} people x "
        f"{TRAIN_CITY.days} days (whole and first 7 days), {int((city_y == '1').sum())} mule/cash-out accounts",
    }
    return save_model(detector, default_model_dir("account"), data=data_card, metrics=metrics, notes=NOTES)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m aegis.training.account_default",
                                     description="Train the shipped mule-account model (writes src/aegis/data/models/"
                                                 "account) on the shared AMLSim graphs and a simulated city.")
    parser.add_argument("amlsim", nargs="?", type=Path, default=SHARED, help="the shared AMLSim folder")
    card = main(parser.parse_args().amlsim)
    print(card["metrics"])
