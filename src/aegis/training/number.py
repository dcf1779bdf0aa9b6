"""The ``number`` task: number profiles plus the contact graph for the fraud-number detector, and its metrics.

``--data`` takes either the Sichuan aggregate CSV (told apart by its header: ``node``, ``phone_no_m``, ...;
see :mod:`aegis.datasets.sichuan`) or an Aegis profile CSV (a ``number`` column and profile columns, as
written from :func:`aegis.features.number_profile.profile_from_events`); ``label`` (1/0) to train or
evaluate. ``--edges`` is the undirected graph (``node_a,node_b``, ``a,b`` or ``caller,callee``) over the same
ids; it may cover numbers that are in no data file (their labels are unknown), which is how held-back
numbers are scored transductively.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from aegis.datasets import sichuan
from aegis.detectors.base import Verdict
from aegis.detectors.number import FRAUD, NORMAL, NumberBatch, NumberDetector
from aegis.reasons import Reason
from aegis.training.task import (
    DataError,
    Dataset,
    FoldProgress,
    Inputs,
    class_figures,
    copies,
    finite,
    fold_summary,
    fraud_flags,
    id_column,
    over_fold_seeds,
    read_csv,
)


def read_profile_csv(path: Path, *, labelled: bool) -> tuple[pd.DataFrame, pd.Series | None]:
    """Profiles (index: node id or number, as strings) and labels from a Sichuan or an Aegis profile CSV."""
    header = read_csv(path, nrows=0).columns
    if sichuan.is_sichuan(header):
        return sichuan.read_profiles(path, labelled=labelled)
    frame = read_csv(path, dtype={"number": str})
    for column in ("number", "label") if labelled else ("number",):
        if column not in frame.columns:
            raise DataError(Reason("{path}：缺少列“{column}”（画像文件需要“number”列和画像列；四川数据文件需要“node”和"
                                   "“phone_no_m”）", path=str(path), column=column))
    numbers = id_column(frame.pop("number"), path, "number")
    labels = frame.pop("label") if "label" in frame.columns else None
    text = frame.select_dtypes(exclude="number").columns
    if len(text):
        raise DataError(Reason("{path}：列“{column}”不是数值", path=str(path), column=text[0]))
    frame = finite(frame, path)
    frame.index = pd.Index(numbers, name="number")
    if not labelled:
        return frame, None
    values = fraud_flags(labels)
    bad = values.isna()
    if bad.any():
        raise DataError(Reason("{path}：列“label”须为0或1（第{row}行数据）", path=str(path),
                               row=int(bad.to_numpy().argmax()) + 1))
    return frame, pd.Series(values.astype(int).to_numpy(), index=frame.index, name="label")


class NumberTask:
    kind = "number"

    def load(self, inputs: Inputs, *, labelled: bool) -> Dataset:
        if not inputs.data:
            raise DataError(Reason("--data：未给出画像文件"))
        parts = [read_profile_csv(Path(path), labelled=labelled) for path in inputs.data]
        profiles = pd.concat([p for p, _ in parts])
        n, rows = len(profiles), None
        if profiles.index.duplicated().any():
            if labelled:  # which of two rows' labels to learn, or to measure against, is anyone's guess
                raise DataError(Reason("--data：号码“{number}”出现了两次",
                                       number=profiles.index[profiles.index.duplicated()][0]))
            # to score, a row repeated exactly is the same number scored again; two profiles of one number are not
            distinct = profiles.reset_index().drop_duplicates()
            if distinct["number"].duplicated().any():
                raise DataError(Reason("--data：号码“{number}”出现了不止一次，各行却不同（完全相同的行按同一行计分）",
                                       number=distinct["number"][distinct["number"].duplicated()].iloc[0]))
            _, rows = copies(profiles.index)
            profiles = profiles[~profiles.index.duplicated()]
        edges = sichuan.read_edges(Path(inputs.edges)) if inputs.edges is not None else None
        y = None
        meta: dict[str, Any] = {"files": [str(p) for p in inputs.data], "rows": n,
                                "edges": str(inputs.edges) if inputs.edges else None,
                                "edge_count": 0 if edges is None else len(edges)}
        if labelled:
            labels = pd.concat([lab for _, lab in parts if lab is not None])
            y = np.where(labels.to_numpy() == 1, FRAUD, NORMAL).astype(object)
            meta["classes"] = {FRAUD: int((y == FRAUD).sum()), NORMAL: int((y == NORMAL).sum())}
        return Dataset(X=NumberBatch(profiles, edges), y=y, n=n, meta=meta, rows=rows)

    def new_detector(self) -> NumberDetector:
        return NumberDetector()

    def metrics(self, y_true: np.ndarray, verdicts: Sequence[Verdict]) -> dict[str, Any]:
        """Fraud-class precision/recall/F1 (what the task is judged on), macro F1 (what the Sichuan papers
        report as "F1"), accuracy and ROC AUC."""
        truth = np.array([str(v) for v in y_true]) == FRAUD
        predicted = np.array([v.label == FRAUD for v in verdicts])
        scores = np.array([v.score for v in verdicts])
        figures = {"n": len(truth), "accuracy": accuracy_score(truth, predicted), **class_figures(truth, predicted),
                   "macro_f1": f1_score(truth, predicted, average="macro")}
        if 0 < truth.sum() < len(truth):
            figures["roc_auc"] = roc_auc_score(truth, scores)
        return {k: round(float(v), 4) if isinstance(v, float) else v for k, v in figures.items()}

    def cross_validate(self, dataset: Dataset, folds: int = 5, *, seed: int = 0,
                       detector: NumberDetector | None = None, progress: FoldProgress | None = None
                       ) -> dict[str, Any]:
        """Stratified k-fold as the evaluation runs: fit on k-1 folds with the whole graph, score the last
        fold with its labels hidden. Returns the mean and spread of each metric over the folds."""
        if dataset.y is None:
            raise DataError(Reason("label：交叉验证需要带标签的数据"))
        batch: NumberBatch = dataset.X
        per_fold = []
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(batch.profiles, dataset.y)
        for done, (train, test) in enumerate(splits, 1):
            fitted = (detector or self.new_detector()).fit(
                NumberBatch(batch.profiles.iloc[train], batch.edges), dataset.y[train])
            verdicts = fitted.predict(NumberBatch(batch.profiles.iloc[test], batch.edges))
            per_fold.append(self.metrics(dataset.y[test], verdicts))
            if progress:
                progress(done, folds)
        return fold_summary(per_fold, folds)


TASK = NumberTask()


def main(argv: list[str] | None = None) -> None:
    """The README's number row: 5-fold CV repeated over fold seeds, the mean of each metric over the seeds."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m aegis.training.number", description=main.__doc__)
    parser.add_argument("--data", type=Path, required=True, action="append", help="labelled profile CSV")
    parser.add_argument("--edges", type=Path, help="contact graph")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="fold seeds")
    parser.add_argument("--mlp-weight", type=float, default=NumberDetector().mlp_weight,
                        help="share of the networks in the score (0: boosters alone)")
    args = parser.parse_args(argv)
    if not 0.0 <= args.mlp_weight <= 1.0:
        parser.error(f"--mlp-weight: {args.mlp_weight} is not between 0 and 1")
    try:
        data = TASK.load(Inputs(data=args.data, edges=args.edges), labelled=True)
    except DataError as exc:
        parser.exit(2, f"error: {exc}\n")
    means = over_fold_seeds(
        lambda seed: TASK.cross_validate(data, seed=seed, detector=NumberDetector(mlp_weight=args.mlp_weight)),
        args.seeds, shown=("cv_f1", "cv_macro_f1", "cv_roc_auc"))
    print(json.dumps({"seeds": args.seeds, "mlp_weight": args.mlp_weight, **means}, indent=2))


if __name__ == "__main__":
    main()
