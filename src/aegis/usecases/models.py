"""Use cases: train a detector, score files with it, evaluate it against labelled files."""

from __future__ import annotations

import csv
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aegis.detectors.text import is_normal_label
from aegis.names import named
from aegis.reasons import DEFAULT_LANG, Lang, Reason, joined, listing
from aegis.training.modelstore import (
    MODEL_FILES,
    LoadedModel,
    default_model_dir,
    load_model,
    row_digests,
    save_model,
    seen_rows,
)
from aegis.training.task import DataError, Dataset, Inputs, check_inputs, get_task
from aegis.usecases import Say


@dataclass
class TrainResult:
    out: Path
    card: dict[str, Any]


def train(kind: str, inputs: Inputs, out: Path, *, folds: int = 5,
          progress: Say | None = None) -> TrainResult:
    """Fit a new detector on labelled files; cross-validate it first when the task can, for its card.
    ``progress`` is told each stage as it starts (the number and URL models take minutes on real data)."""
    say = progress or (lambda _: None)
    if folds < 0 or folds == 1:
        raise DataError(Reason("--folds：须为0（不做交叉验证）或2以上（收到{folds}）", folds=folds))
    task = get_task(kind)
    check_inputs(kind, inputs)
    writable_folder(out)  # before the minutes of training, not after
    say(Reason("读取训练文件"))
    data = task.load(inputs, labelled=True)
    if data.y is None:
        raise DataError(Reason("label：训练文件没有标签"))
    if data.n == 0:
        raise DataError(Reason("--data：没有可供训练的行"))
    if len(labels := {str(v) for v in data.y}) < 2:
        # a model fitted on one class has no fraud to tell apart: the number model labelled every row fraud
        raise DataError(Reason("{option}：训练需要既有涉诈的行又有正常的行，而全部{n:,}行的标签都是“{label}”",
                               option="--accounts" if kind == "account" else "--data", n=data.n, label=labels.pop()))
    metrics: dict[str, Any] = {}
    if folds > 1 and hasattr(task, "cross_validate"):
        if not hasattr(task, "cv_plan"):  # stratified folds: each must hold a row of every label
            _check_folds(data.y, folds)
        metrics = _cross_validate(task, data, folds, say)
    say(Reason("用全部{n:,}行拟合{kind}检测器", n=data.n, kind=named(kind)))
    try:
        detector = task.new_detector().fit(data.X, data.y)
    except ValueError as exc:  # scikit-learn's word for data too small or too uniform to learn from
        if isinstance(exc, DataError):
            raise
        raise DataError(Reason("--data：无法用这{n:,}行拟合{kind}模型（{error}）", kind=kind, n=data.n,
                                error=str(exc))) from None
    say(Reason("将模型及其模型卡写入{path}", path=str(out)))
    sources = {"files": [str(p) for p in [*inputs.data, *inputs.accounts, *inputs.transfers]], "rows": data.n}
    if inputs.edges:
        sources["edges"] = str(inputs.edges)
    try:
        card = save_model(detector, out, data={**sources, **data.meta}, metrics=metrics, seen=row_digests(data.X))
    except OSError as exc:
        raise DataError(Reason("--out：无法将模型写入{path}（{error}）", path=str(out),
                               error=exc.strerror or str(exc))) from None
    return TrainResult(out, card)


def _check_folds(labels: Any, folds: int) -> None:
    rarest, fewest = min(Counter(str(v) for v in labels).items(), key=lambda item: (item[1], item[0]))
    if fewest < folds:
        instead = (Reason("--folds {fewest}或更少，或 --folds 0", fewest=fewest) if fewest >= 2
                   else Reason.literal("--folds 0"))
        raise DataError(Reason("--folds：{folds}折要求每个标签至少{folds}行，而标签“{label}”只有{fewest}行："
                               "请给出{instead}（不做交叉验证）", folds=folds, label=rarest, fewest=fewest,
                               instead=instead))


def _cross_validate(task: Any, data: Dataset, folds: int, say: Say) -> dict[str, Any]:
    """The card's cross-validated figures, saying first how they are measured and then each fold done (a
    number or account model's folds take minutes each)."""
    def progress(done: int, total: int) -> None:
        say(Reason("交叉验证：已完成{done}/{total}折", done=done, total=total))

    if not hasattr(task, "cv_plan"):
        say(Reason("为模型卡做交叉验证：{n:,}行，{folds}折", n=data.n, folds=folds))
        return {"cv_folds": folds, **task.cross_validate(data, folds, progress=progress)}
    plan = task.cv_plan(data, folds)  # a task that splits its own way (the account task leaves a graph out)
    say(Reason("为模型卡做交叉验证：{n:,}行，{plan}", n=data.n, plan=plan) if plan
        else Reason("模型卡不做交叉验证：这些文件无法按任务所需的方式划分"))
    return dict(task.cross_validate(data, folds, progress=progress))


def writable_folder(folder: Path) -> None:
    """Say in one line, naming ``--out``, why ``folder`` could not be written, before any work and without
    creating anything: a failed command leaves no empty folder behind."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise DataError(Reason("--out：{path}是文件，此处需要文件夹", path=str(existing)))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(Reason("--out：无法在{path}中写入（没有写权限）", path=str(existing)))


def _verdicts(kind: str, model: Path | None, inputs: Inputs, *, labelled: bool, say: Say | None
              ) -> tuple[Dataset, LoadedModel, list[Any]]:
    task = get_task(kind)
    loaded = load_model(model, kind)
    data = task.load(inputs, labelled=labelled)
    unseen: list[Reason | str] = [*loaded.detector.unseen_inputs(data.X)]
    if loaded.card.get("data", {}).get("edges") and inputs.edges is None:
        # without the graph every neighbourhood feature is missing: on Sichuan numbers scores moved by up to 0.3
        unseen.insert(0, Reason("联系图，--edges"))
    if say is not None and unseen:
        say(Reason("数据缺少模型学过的{n}项输入（{inputs}），按缺失计，分数可能意义不大。用这样的文件训练的模型"
                   "（aegis train {kind}）会完整读取它们。", n=len(unseen), inputs=_some(unseen), kind=kind))
    if say is not None:
        for note in loaded.detector.input_notes(data.X):
            say(note)
    verdicts = loaded.detector.predict(data.X)
    # a row repeated exactly is scored once, and each copy gets that verdict: one prediction per input row
    return data, loaded, verdicts if data.rows is None else [verdicts[i] for i in data.rows]


def _some(items: Sequence[Reason | str]) -> Reason:
    """The first five of ``items`` (names as written, or messages) as one list, "..." after them if there are
    more."""
    return listing([*items[:5], *(["..."] if len(items) > 5 else [])])


def predict(kind: str, model: Path | None, inputs: Inputs, out: Path, *, reasons: bool = False,
            lang: Lang = DEFAULT_LANG, say: Say | None = None) -> int:
    """Write one row per input row, in input order: ``score,label`` (and the reasons, in ``lang``, when
    asked). ``say`` hears a warning when the data lack columns the model learnt from."""
    check_inputs(kind, inputs)
    if out.is_dir():
        raise DataError(Reason("--out：{path}是文件夹；预测结果须写入文件", path=str(out)))
    read = [*inputs.data, *([inputs.edges] if inputs.edges else []), *inputs.accounts, *inputs.transfers]
    if any(out.exists() and path.exists() and os.path.samefile(out, path) for path in read):
        raise DataError(Reason("--out：{path}是输入文件，预测结果会覆盖它：请写到别处", path=str(out)))
    folder = (default_model_dir(kind) if model is None else model).resolve()
    if out.resolve() in {folder / name for name in MODEL_FILES}:  # however written: relative, ../, a symlink
        raise DataError(Reason("--out：{path}是所读模型的文件，预测结果会覆盖模型：请写到别处", path=str(out)))
    writable_folder(out.parent)  # before scoring, not after
    _, _, verdicts = _verdicts(kind, model, inputs, labelled=False, say=say)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    except OSError as exc:
        raise DataError(Reason("--out：无法写入{path}（{error}）", path=str(out),
                               error=exc.strerror or str(exc))) from None
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["score", "label", *(["fraud_type", "reasons"] if reasons else [])])
            for verdict in verdicts:
                # every digit the score has: rounded, a file's ranking ties where the model's did not (and an
                # AUC computed from it differs from the one `evaluate` reports)
                row = [repr(float(verdict.score)), verdict.label]
                if reasons:
                    row += [verdict.fraud_type or "", joined((r.text(lang) for r in verdict.reasons), lang)]
                writer.writerow(row)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; predictions are a file like any other output
        os.replace(tmp, out)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise DataError(Reason("--out：无法写入{path}（{error}）", path=str(out),
                               error=exc.strerror or str(exc))) from None
    return len(verdicts)


def evaluate(kind: str, model: Path | None, inputs: Inputs, *, say: Say | None = None) -> dict[str, Any]:
    """The task's metrics of ``model`` on labelled files; ``say`` hears a warning when the data lack columns the
    model learnt from, or name their labels otherwise than the model does."""
    check_inputs(kind, inputs)
    data, loaded, verdicts = _verdicts(kind, model, inputs, labelled=True, say=say)
    detector = loaded.detector
    assert data.y is not None  # labelled=True guarantees labels
    if data.n == 0:
        raise DataError(Reason("--data：没有可供评估的行"))
    unknown = detector.unknown_labels(data.y)
    fraud_labels = {str(v) for v in data.y if not is_normal_label(v)}
    if kind == "text" and len(fraud_labels) == 1 and set(unknown) == fraud_labels:
        # one fraud label the model does not know ("fraud", "1"): the data say fraud or normal, and so are
        # compared, every fraud type predicted counting as that label
        label = fraud_labels.pop()
        verdicts = [v if is_normal_label(v.label) else replace(v, label=label) for v in verdicts]
        unknown = []
    if say is not None and unknown:
        say(Reason("模型从不预测数据的{n}个标签（{labels}）：各标签的指标比较的是不同的名称；涉诈对正常的指标"
                   "（fraud_precision、fraud_recall、fraud_f1）仍然成立。要按类型比较，请用这样标注的文件训练"
                   "（aegis train {kind}）。", n=len(unknown), labels=_some(unknown), kind=kind))
    seen = seen_rows(loaded.seen, data.X)
    if say is not None and seen:
        say(Reason("{rows:,}行中有{seen:,}行是模型训练时用过的行，这些指标不是留出数据的指标。请在模型没见过的行上"
                   "评估，或用 aegis train {kind} 做交叉验证。", seen=seen, rows=data.n, kind=kind))
    return {"kind": kind, "rows": data.n, **({"rows_seen_in_training": seen} if seen is not None else {}),
            **get_task(kind).metrics(data.y, verdicts)}
