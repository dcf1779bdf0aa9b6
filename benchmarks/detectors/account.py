"""Account detector benchmark: batch throughput (accounts/s on one core, whole graph: profiles, both models,
PageRank) and p50/p99 latency of scoring one account from its neighbourhood (the transfers of the account
and of its counterparties), against a plain scikit-learn baseline in the same process: in/out counts and sums
per account (pandas ``groupby``) + ``LogisticRegression``, trained on ``20K_cycle200``.

The neighbourhood is a cut: Aegis's features rank amounts and degrees within the graph scored, count cycles
up to five hops and spread scores by PageRank, so one account scored from its neighbourhood is an
approximation of its score in the whole graph. The latency sample is half mules, half ordinary accounts, and
the AUC of their neighbourhood scores is written beside the AUC of their whole-graph scores. (Aegis's
real-time transfer decisions do not take this path: they read the account's stored whole-graph score.)

Both score ``20K_fanin200`` (the default Aegis model was trained on both AMLSim graphs, so its quality figure
here is not held out: see the model card for leave-one-graph-out figures; the baseline's is held out).

    .venv/bin/python benchmarks/detectors/account.py [--rounds 3] [--latency 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from common import write_results

from aegis.datasets.amlsim import read_amlsim
from aegis.features.account_profile import TransferGraph
from aegis.training.modelstore import load_model

AMLSIM = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "transfers" / "amlsim"

Score = Callable[[TransferGraph], np.ndarray]


def flows(graph: TransferGraph) -> pd.DataFrame:
    t = graph.transfers
    out = t.groupby("payer_account")["amount"].agg(["size", "sum"]).add_prefix("out_")
    into = t.groupby("payee_account")["amount"].agg(["size", "sum"]).add_prefix("in_")
    return out.join(into, how="outer").reindex(graph.accounts).fillna(0.0)


def neighbourhood(graph: TransferGraph, account: str) -> TransferGraph:
    t = graph.transfers
    touching = (t["payer_account"] == account) | (t["payee_account"] == account)
    near = set(t.loc[touching, "payer_account"]) | set(t.loc[touching, "payee_account"])
    around = t[t["payer_account"].isin(near) | t["payee_account"].isin(near)]
    return TransferGraph(pd.Index([account]), around)


def timed(score: Score, graph: TransferGraph) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    scores = score(graph)
    return time.perf_counter() - start, scores


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=int, default=100, help="single-account calls per model")
    args = parser.parse_args()
    if not (AMLSIM / "20K_fanin200").is_dir():
        sys.exit(f"{AMLSIM}: not found (the benchmark needs shared/datasets)")
    train, y_train = read_amlsim(AMLSIM / "20K_cycle200" / "nodes.csv",
                                 AMLSIM / "20K_cycle200" / "transactions.csv", labelled=True)
    test, y_test = read_amlsim(AMLSIM / "20K_fanin200" / "nodes.csv",
                               AMLSIM / "20K_fanin200" / "transactions.csv", labelled=True)
    truth = (y_test == "1").astype(int)
    with threadpool_limits(1):
        aegis = load_model(None, "account").detector
        baseline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(flows(train), y_train)
        fraud = list(baseline.classes_).index("1")
        models: dict[str, Score] = {"aegis": aegis.score,
                                    "baseline": lambda g: baseline.predict_proba(flows(g))[:, fraud]}
        seconds: dict[str, list[float]] = {k: [] for k in models}
        auc = {}
        for _ in range(args.rounds):
            for name, score in models.items():
                elapsed, scores = timed(score, test)
                seconds[name].append(elapsed)
                auc[name] = round(float(roc_auc_score(truth, scores)), 4)
        rng = np.random.default_rng(0)
        mules = truth == 1
        picked = np.concatenate([rng.choice(np.flatnonzero(mules), size=args.latency // 2, replace=False),
                                 rng.choice(np.flatnonzero(~mules), size=args.latency - args.latency // 2,
                                            replace=False)])
        sample = [neighbourhood(test, a) for a in test.accounts[picked]]
        lat, cut_auc, whole_auc = {}, {}, {}
        for name, score in models.items():
            runs = [timed(score, g) for g in sample]
            lat[name] = np.array([elapsed * 1000 for elapsed, _ in runs])
            cut_auc[name] = round(float(roc_auc_score(truth[picked], [s[0] for _, s in runs])), 4)
            whole_auc[name] = round(float(roc_auc_score(truth[picked], score(test)[picked])), 4)

    stats = {
        name: {
            "accounts_per_s_per_core": round(len(test.accounts) / min(seconds[name])),
            "graph_seconds": round(min(seconds[name]), 2),
            "latency_ms_p50": round(float(np.percentile(lat[name], 50)), 1),
            "latency_ms_p99": round(float(np.percentile(lat[name], 99)), 1),
            "latency_sample_auc_from_neighbourhood": cut_auc[name],
            "latency_sample_auc_in_whole_graph": whole_auc[name],
            "auc_on_20K_fanin200": auc[name],
        }
        for name in models
    }
    aegis_stats, base_stats = stats["aegis"], stats["baseline"]
    ratio = {
        "throughput": round(aegis_stats["accounts_per_s_per_core"] / base_stats["accounts_per_s_per_core"], 3),
        "latency_p50": round(aegis_stats["latency_ms_p50"] / base_stats["latency_ms_p50"], 2),
    }
    path = write_results("detectors_account", {
        "data": "AMLSim 20K_fanin200 (20,000 accounts, 118,250 transfers)",
        "notes": "aegis = shipped default model (trained on both AMLSim graphs, so its AUC here is in-sample); "
                 "baseline = in/out counts and sums + LogisticRegression trained on 20K_cycle200 (held out). "
                 "Latency: one account scored from its neighbourhood (its and its counterparties' transfers), "
                 "on a sample of half mules, half ordinary accounts; the AUC of those scores is given beside "
                 "the AUC of the same accounts' whole-graph scores. One thread each.",
        "rounds": args.rounds, "latency_calls": args.latency, **stats, "aegis_vs_baseline": ratio,
    })
    print(path.read_text())


if __name__ == "__main__":
    main()
