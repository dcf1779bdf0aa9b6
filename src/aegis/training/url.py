"""The ``url`` task: CSV files with a ``url`` column and, to train or evaluate, a ``label`` column.

Labels are ``phishing`` / ``legitimate`` (case and surrounding spaces ignored). Several files are read in
order and concatenated; predictions come back in that order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from aegis.detectors.base import Verdict
from aegis.detectors.url import LEGITIMATE, PHISHING, UrlDetector
from aegis.reasons import Reason, listing
from aegis.training.task import (
    DataError,
    Dataset,
    FoldProgress,
    Inputs,
    class_figures,
    fold_summary,
    fraud_flags,
    read_csv,
    unique_columns,
)

LABELS = (PHISHING, LEGITIMATE)


class UrlTask:
    kind = "url"

    def load(self, inputs: Inputs, *, labelled: bool) -> Dataset:
        if not inputs.data:
            raise DataError(Reason("--data：未给出URL文件"))
        frames = [_read(Path(path), labelled=labelled) for path in inputs.data]
        frame = pd.concat(frames, ignore_index=True)
        has_labels = "label" in frame.columns and frame["label"].notna().all()
        y = frame["label"].to_numpy(dtype=object) if has_labels else None
        meta: dict[str, Any] = {"files": [str(p) for p in inputs.data], "rows": len(frame)}
        if y is not None:
            meta["classes"] = {label: int((y == label).sum()) for label in LABELS}
        return Dataset(X=frame["url"].tolist(), y=y, n=len(frame), meta=meta)

    def new_detector(self) -> UrlDetector:
        return UrlDetector()

    def metrics(self, y_true: np.ndarray, verdicts: Sequence[Verdict]) -> dict[str, Any]:
        truth = np.asarray(y_true, dtype=object) == PHISHING
        predicted = np.array([v.label == PHISHING for v in verdicts])
        scores = np.array([v.score for v in verdicts])
        figures = {"n": len(truth), "accuracy": accuracy_score(truth, predicted), **class_figures(truth, predicted)}
        if 0 < truth.sum() < len(truth):
            figures["roc_auc"] = roc_auc_score(truth, scores)
        return {k: round(float(v), 4) if isinstance(v, float) else v for k, v in figures.items()}

    def cross_validate(self, dataset: Dataset, folds: int = 5, *, seed: int = 0,
                       new: Callable[[], UrlDetector] | None = None, n_jobs: int = -1,
                       progress: FoldProgress | None = None) -> dict[str, Any]:
        """Stratified k-fold figures: the mean and spread of each metric over the held-out folds.

        ``new`` makes the detector of each fold (default: :meth:`new_detector`); ``n_jobs`` folds run at once.
        """
        if dataset.y is None:
            raise DataError(Reason("label：交叉验证需要带标签的数据"))
        urls, y = np.asarray(dataset.X, dtype=object), dataset.y
        make = new or self.new_detector

        def fold(train: np.ndarray, test: np.ndarray) -> dict[str, Any]:
            return self.metrics(y[test], make().fit(urls[train], y[train]).predict(urls[test]))

        # folds in parallel: each detector fits single-threaded (liblinear, n_jobs=1 booster)
        per_fold = []
        for done, figures in enumerate(Parallel(n_jobs=n_jobs, return_as="generator")(
                delayed(fold)(train, test)
                for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(urls, y)), 1):
            per_fold.append(figures)
            if progress:
                progress(done, folds)
        return fold_summary(per_fold, folds)


def _read(path: Path, *, labelled: bool) -> pd.DataFrame:
    """One CSV, checked: a ``url`` column with no empty cell, and valid labels when they are needed."""
    # an empty line is no row, as pandas.read_csv reads the file (the text task says why); "" or "," is a row
    frame = read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    unique_columns(path, list(frame.columns))  # URL and url are one column now
    if "url" not in frame.columns:
        raise DataError(Reason("{path}：缺少列“{column}”（现有列：{columns}）", path=str(path), column="url",
                               columns=", ".join(frame.columns) or Reason("无")))
    frame["url"] = frame["url"].str.strip()
    if labelled:  # nothing to learn from; to score, an empty url is one more row (one prediction per input row)
        _reject(path, "url", frame["url"] == "", Reason("为空"))
    if "label" not in frame.columns:
        if labelled:
            raise DataError(Reason("{path}：缺少列“label”；其值须为“{phishing}”或“{legitimate}”", path=str(path),
                                   phishing=PHISHING, legitimate=LEGITIMATE))
        return frame[["url"]]
    # 1/0 and true/false as well, as a file marking phishing yes or no writes it
    frame["label"] = frame["label"].str.strip().str.lower()
    flags = fraud_flags(frame["label"])
    frame["label"] = frame["label"].where(flags.isna(), flags.map({1.0: PHISHING, 0.0: LEGITIMATE}))
    if labelled:
        _reject(path, "label", ~frame["label"].isin(LABELS),
                Reason("须为“{phishing}”或“{legitimate}”", phishing=PHISHING, legitimate=LEGITIMATE))
    else:
        frame["label"] = frame["label"].where(frame["label"].isin(LABELS))
    return frame[["url", "label"]]


def _reject(path: Path, column: str, bad: pd.Series, problem: Reason) -> None:
    if bad.any():
        rows = (np.flatnonzero(bad.to_numpy()) + 1).tolist()  # 1-based data rows, as the other kinds count
        shown = listing(map(str, rows[:10]))
        if len(rows) > 10:
            shown = Reason("{rows}及另外{n}行", rows=shown, n=len(rows) - 10)
        if len(rows) == 1:
            raise DataError(Reason("{path}：列“{column}”{problem}（第{rows}行数据）", path=str(path), column=column,
                                   problem=problem, rows=shown))
        raise DataError(Reason("{path}：列“{column}”{problem}（以下数据行：{rows}）", path=str(path), column=column,
                               problem=problem, rows=shown))


TASK = UrlTask()
