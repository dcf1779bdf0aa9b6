"""The ``account`` task: mule accounts from account and transfer files (``--format amlsim``).

Inputs are pairs: the n-th ``--accounts`` file goes with the n-th ``--transfers`` file and the pair is one
transfer graph, profiled on its own. Cross-validation is leave-one-graph-out: a model is trained on all other
graphs and scored on the one left out, which is how it will meet a new bank or simulation (within one graph
the collective features of training and held-out accounts would share neighbours, and flatter the figures).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from aegis.datasets import amlsim
from aegis.detectors.account import FRAUD, AccountDetector, is_fraud_label
from aegis.detectors.base import Verdict
from aegis.features.account_profile import TransferGraph
from aegis.reasons import Reason
from aegis.training.task import (
    DataError,
    Dataset,
    FoldProgress,
    Inputs,
    class_figures,
    copies,
    defined,
    over_fold_seeds,
)

FORMATS = {amlsim.FORMAT: amlsim.read_amlsim}


class AccountTask:
    kind = "account"

    def load(self, inputs: Inputs, *, labelled: bool) -> Dataset:
        fmt = inputs.format or amlsim.FORMAT
        if fmt not in FORMATS:
            raise DataError(Reason("--format：“{format}”不是{formats}之一", format=fmt, formats=", ".join(FORMATS)))
        if not inputs.accounts or len(inputs.accounts) != len(inputs.transfers):
            raise DataError(Reason("--accounts/--transfers：须成对给出（收到{accounts}个账户文件、"
                                   "{transfers}个转账文件）", accounts=len(inputs.accounts),
                                   transfers=len(inputs.transfers)))
        graphs, labels, sources = [], [], []
        for accounts, transfers in zip(inputs.accounts, inputs.transfers, strict=True):
            graph, y = FORMATS[fmt](Path(accounts), Path(transfers), labelled=labelled)
            graphs.append(graph)
            sources.append({"accounts": str(accounts), "transfers": str(transfers), "rows": len(graph.accounts),
                            "transfer_rows": len(graph.transfers),
                            **({"mules": int(sum(is_fraud_label(v) for v in y))} if y is not None else {})})
            if y is not None:
                labels.append(y)
        # accounts of one class are measured as the other detectors' rows are (the figures they leave undefined
        # null); training on them is refused where every detector's is (aegis.usecases.models.train)
        y_all = np.concatenate(labels) if labelled else None
        n = sum(len(g.accounts) for g in graphs)
        graphs, rows = _once_each(graphs)
        return Dataset(X=graphs, y=y_all, n=n, meta={"format": fmt, "graphs": sources}, rows=rows)

    def new_detector(self) -> AccountDetector:
        return AccountDetector()

    def metrics(self, y_true: np.ndarray, verdicts: Sequence[Verdict]) -> dict[str, Any]:
        truth = np.array([is_fraud_label(v) for v in y_true], dtype=int)
        return ranking_metrics(truth, np.array([v.score for v in verdicts]),
                               np.array([v.label == FRAUD for v in verdicts], dtype=int))

    def cv_plan(self, dataset: Dataset, folds: int) -> Reason | None:
        """How :meth:`cross_validate` will run on ``dataset`` (None: it cannot, with one graph)."""
        graphs = len(dataset.X)
        return Reason("轮流留出一个图，共{graphs}个图", graphs=graphs) if graphs >= 2 else None

    def cross_validate(self, dataset: Dataset, folds: int, *, seed: int = 0,
                       progress: FoldProgress | None = None) -> dict[str, Any]:
        """Leave-one-graph-out (``folds`` is unused: there are as many folds as graphs); ``seed`` is the
        detector's."""
        graphs = dataset.X
        if len(graphs) < 2:
            return {"cv": "none: leave-one-graph-out needs two or more graphs"}
        assert dataset.y is not None
        bounds = np.cumsum([0, *(len(g.accounts) for g in graphs)])
        per_graph = {}
        for i, held in enumerate(graphs):
            train = [g for j, g in enumerate(graphs) if j != i]
            y_train = np.concatenate([dataset.y[bounds[j]:bounds[j + 1]] for j in range(len(graphs)) if j != i])
            detector = AccountDetector(random_state=seed).fit(train, y_train)
            name = Path(dataset.meta["graphs"][i]["accounts"]).parent.name or str(i + 1)
            per_graph[f"held_out_{name}"] = self.metrics(dataset.y[bounds[i]:bounds[i + 1]],
                                                          detector.predict(held))
            if progress:
                progress(i + 1, len(graphs))
        # a graph without mules (or of mules only) has no ranking to measure: the mean over graphs is undefined
        means = {f"mean_{k}": defined(np.mean, [m[k] for m in per_graph.values()])
                 for k in ("auc", "average_precision")}
        return {"cv": "leave-one-graph-out", **means, **per_graph}


def _once_each(graphs: list[TransferGraph]) -> tuple[list[TransferGraph], np.ndarray | None]:
    """The graphs, each listing an account its file repeats (to score: :func:`aegis.datasets.amlsim.read_amlsim`)
    once, and the :attr:`~aegis.training.task.Dataset.rows` that give each copy its score; None when no account
    repeats."""
    once, rows, start = [], [], 0
    for graph in graphs:
        accounts, places = copies(graph.accounts)
        once.append(replace(graph, accounts=accounts))
        rows.append(start + (np.arange(len(accounts)) if places is None else places))
        start += len(accounts)
    repeated = start < sum(len(r) for r in rows)
    return once, np.concatenate(rows) if repeated else None


def ranking_metrics(truth: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """AUC, average precision, precision at k (k = 100 and k = the number of mules) and the label's P/R/F1."""
    order = np.argsort(-scores, kind="stable")
    positives = int(truth.sum())
    both = 0 < positives < len(truth)  # a ranking is measured against both classes
    return {
        "auc": round(float(roc_auc_score(truth, scores)), 4) if both else None,
        "average_precision": round(float(average_precision_score(truth, scores)), 4) if positives else None,
        "precision_at_100": round(float(truth[order[:100]].mean()), 4),
        "precision_at_n_mules": round(float(truth[order[:positives]].mean()), 4) if positives else None,
        **class_figures(truth, labels),
        "mules": positives,
        "accounts": len(truth),
    }


TASK = AccountTask()


def main(argv: list[str] | None = None) -> None:
    """The README's account row: leave-one-graph-out over detector seeds, each seed's figures and the mean."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m aegis.training.account", description=main.__doc__)
    parser.add_argument("--accounts", type=Path, required=True, action="append", help="accounts file (labelled)")
    parser.add_argument("--transfers", type=Path, required=True, action="append", help="its transfers file")
    parser.add_argument("--format", dest="fmt", default=amlsim.FORMAT, help="input format (default: amlsim)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="detector seeds")
    args = parser.parse_args(argv)
    try:
        data = TASK.load(Inputs(accounts=args.accounts, transfers=args.transfers, format=args.fmt), labelled=True)
    except DataError as exc:
        parser.exit(2, f"error: {exc}\n")
    if len(data.X) < 2:
        parser.exit(2, "error: --accounts/--transfers: leaving one graph out needs two or more pairs\n")

    def run(seed: int) -> dict[str, Any]:
        # per held-out graph, its AUC and AP, flat, so the seeds' means are taken graph by graph
        figures = TASK.cross_validate(data, len(data.X), seed=seed)
        return {f"{graph}_{key}": figures[graph][key] for graph in figures if graph.startswith("held_out_")
                for key in ("auc", "average_precision")}

    shown = [f"held_out_{Path(g['accounts']).parent.name or i + 1}_average_precision"
             for i, g in enumerate(data.meta["graphs"])]
    means = over_fold_seeds(run, args.seeds, shown=shown)
    print(json.dumps({"seeds": args.seeds, **means}, indent=2))


if __name__ == "__main__":
    main()
