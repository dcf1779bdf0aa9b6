"""The ``text`` task: reading message and dialogue files for the fraud-text detector, and its metrics.

Two input formats, told apart by the file suffix (or ``Inputs.format``: ``csv`` / ``jsonl``):

- CSV with a ``text`` column and, to train or evaluate, a ``label`` column (``0``, ``normal`` or ``正常`` is
  normal; any other value is a fraud type, predicted back as the same string);
- dialogue JSONL as in teleantifraud-dialogues: caller turns in ``left`` (a list of strings) become one text
  (see :func:`aegis.detectors.text.join_turns`); the label is ``normal`` when ``is_fraud`` is false, else the
  row's ``fraud_type``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from aegis.detectors.base import Verdict
from aegis.detectors.text import TextDetector, is_normal_label, join_turns
from aegis.ingest.readers import repeated_key
from aegis.reasons import Reason
from aegis.training import task
from aegis.training.task import (
    DataError,
    Dataset,
    FoldProgress,
    Inputs,
    class_figures,
    over_fold_seeds,
)


def read_csv(path: Path, *, labelled: bool) -> tuple[list[str], list[str] | None]:
    # an empty line is no row, as pandas.read_csv and csv.DictReader read the file, so that the predictions align
    # with the rows an evaluator reads (a line of spaces alone is none either, as pandas reads it); a quoted empty
    # text ("") is a row, an empty message
    frame = task.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("text", "label") if labelled else ("text",):
        if column not in frame.columns:
            raise DataError(Reason("{path}：缺少列“{column}”（现有列：{columns}）", path=str(path), column=column,
                                   columns=", ".join(frame.columns)))
    texts = frame["text"].tolist()
    if not labelled:
        return texts, None
    labels = [v.strip() for v in frame["label"].tolist()]
    if "" in labels:
        raise DataError(Reason("{path}：列“{column}”为空（第{row}行数据）", path=str(path), column="label",
                               row=labels.index("") + 1))
    return texts, labels


def dialogue_label(row: dict[str, Any]) -> str:
    """``normal`` for a normal call, else its ``fraud_type``."""
    if not row["is_fraud"]:
        return "normal"
    return str(row.get("fraud_type") or "fraud")


def read_dialogues(path: Path, *, labelled: bool) -> tuple[list[str], list[str] | None]:
    texts: list[str] = []
    labels: list[str] = []
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()  # a BOM, as Windows editors write, is no JSON
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(Reason("{path}：无法作为UTF-8 JSONL读取（{error}）", path=str(path), error=str(exc))) from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(Reason("{path}：第{line}行不是JSON（{error}）", path=str(path), line=number,
                                   error=exc.msg)) from exc
        if isinstance(row, dict) and (key := repeated_key(line, row)) is not None:
            raise DataError(Reason("{path}：第{line}行两次写了字段“{key}”", path=str(path), line=number, key=key))
        if isinstance(row, dict) and isinstance(row.get("text"), str) and "left" not in row:
            # one message a line (an SMS event as Aegis stores and simulates it), labelled as the CSV is
            texts.append(row["text"])
            if labelled:
                if not isinstance(row.get("label"), str | int) or not str(row["label"]).strip():
                    raise DataError(Reason("{path}：第{line}行：字段“label”缺失或为空", path=str(path), line=number))
                labels.append(str(row["label"]).strip())
            continue
        turns = row.get("left") if isinstance(row, dict) else None
        if not isinstance(turns, list) or not all(isinstance(t, str) for t in turns):
            raise DataError(Reason("{path}：第{line}行：字段“left”须为主叫方各轮话语的列表，或字段“text”须为一条短信",
                                   path=str(path), line=number))
        texts.append(join_turns(turns))
        if labelled:
            if not isinstance(row.get("is_fraud"), bool):
                raise DataError(Reason("{path}：第{line}行：字段“is_fraud”须为true或false", path=str(path),
                                       line=number))
            labels.append(dialogue_label(row))
    return texts, labels if labelled else None


def read_texts(paths: Sequence[Path], *, labelled: bool, fmt: str | None = None) -> tuple[list[str], list[str]]:
    """Texts and labels (empty when ``labelled`` is false) of all files, in order."""
    if not paths:
        raise DataError(Reason("data：未给出文件"))
    texts: list[str] = []
    labels: list[str] = []
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise DataError(Reason("{path}：文件不存在", path=str(path)))
        kind = fmt or ("jsonl" if path.suffix.lower() in (".jsonl", ".json", ".ndjson") else "csv")
        if kind not in ("csv", "jsonl"):
            raise DataError(Reason("format：“{format}”不是csv或jsonl", format=kind))
        reader = read_dialogues if kind == "jsonl" else read_csv
        t, y = reader(path, labelled=labelled)
        texts += t
        labels += y or []
    return texts, labels


def fraud_metrics(y_true: Sequence[str] | np.ndarray, labels: Sequence[str] | np.ndarray, scores: np.ndarray
                  ) -> dict[str, Any]:
    """Fraud-vs-normal precision, recall, F1 and AUC (fraud = any non-normal label), plus label accuracy and
    macro-F1 over the true labels' classes (normal spellings counted as one class, named as the data name it
    most often, so that ``f1_by_label`` is looked up by a label of the data: ``0`` where the data write 0)."""
    spellings = Counter(str(v) for v in y_true if is_normal_label(v))
    normal = spellings.most_common(1)[0][0] if spellings else "normal"
    truth = np.array([normal if is_normal_label(v) else str(v) for v in y_true], dtype=object)
    pred = np.array([normal if is_normal_label(v) else str(v) for v in labels], dtype=object)
    true_fraud, pred_fraud = truth != normal, pred != normal
    fraud = class_figures(true_fraud, pred_fraud)
    classes = sorted(set(truth))
    per_class = f1_score(truth, pred, labels=classes, average=None, zero_division=0)
    out: dict[str, Any] = {
        "n": len(truth),
        "macro_f1": round(float(np.mean(per_class)), 4),
        "accuracy": round(float(np.mean(truth == pred)), 4),
        **{f"fraud_{name}": value for name, value in fraud.items()},
    }
    if 0 < true_fraud.sum() < len(truth):
        out["fraud_auc"] = round(float(roc_auc_score(true_fraud, scores)), 4)
    out["f1_by_label"] = {c: round(float(v), 4) for c, v in zip(classes, per_class, strict=True)}
    return out


class TextTask:
    kind = "text"

    def load(self, inputs: Inputs, *, labelled: bool) -> Dataset:
        texts, labels = read_texts(inputs.data, labelled=labelled, fmt=inputs.format)
        meta: dict[str, Any] = {"sources": [Path(p).name for p in inputs.data], "rows": len(texts)}
        if labelled:
            meta["labels"] = dict(Counter(labels).most_common())
        y = np.asarray(labels, dtype=object) if labelled else None
        return Dataset(X=texts, y=y, n=len(texts), meta=meta)

    def new_detector(self) -> TextDetector:
        return TextDetector()

    def metrics(self, y_true: np.ndarray, verdicts: Sequence[Verdict]) -> dict[str, Any]:
        return fraud_metrics(y_true, [v.label for v in verdicts], np.array([v.score for v in verdicts]))

    def cross_validate(self, dataset: Dataset, folds: int = 5, seed: int = 0,
                       progress: FoldProgress | None = None) -> dict[str, Any]:
        """Stratified k-fold: every row is predicted by a model that never saw it (nor its prefixes)."""
        if dataset.y is None:
            raise DataError(Reason("交叉验证需要带标签的数据"))
        texts, y = list(dataset.X), np.asarray(dataset.y, dtype=object)
        labels = np.empty(len(y), dtype=object)
        scores = np.zeros(len(y))
        splits = StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, y)
        for done, (train, test) in enumerate(splits, 1):
            detector = self.new_detector().fit([texts[i] for i in train], y[train])
            held_out = [texts[i] for i in test]
            labels[test], scores[test] = detector.predict_labels(held_out), detector.score(held_out)
            if progress:
                progress(done, folds)
        return {"folds": folds, **fraud_metrics(y, labels, scores)}


TASK = TextTask()


def main(argv: list[str] | None = None) -> None:
    """The README's text row: 5-fold CV repeated over fold seeds, each seed's figures and the mean over them."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m aegis.training.text", description=main.__doc__)
    parser.add_argument("--data", type=Path, required=True, action="append", help="labelled text CSV or JSONL")
    parser.add_argument("--format", dest="fmt", help="input format (default: from the file)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="fold seeds")
    args = parser.parse_args(argv)
    try:
        data = TASK.load(Inputs(data=args.data, format=args.fmt), labelled=True)
    except DataError as exc:
        parser.exit(2, f"error: {exc}\n")
    means = over_fold_seeds(lambda seed: TASK.cross_validate(data, seed=seed), args.seeds,
                            shown=("macro_f1", "fraud_f1", "fraud_auc"))
    print(json.dumps({"seeds": args.seeds, **means}, indent=2))


if __name__ == "__main__":
    main()
