"""Persisting trained detectors with a card that says what they were trained on.

A model directory holds ``model.joblib`` (the fitted detector), ``card.json`` (kind, version, training data,
date, metrics) and ``MODEL_CARD.md`` (the same, for people). Models trained on rows that are their own key
(texts, URLs) also keep ``training_rows.npy``: a 64-bit digest of each distinct training row, so that an
evaluation can say how many of its rows the model has already seen. Default models ship inside the package
under ``aegis/data/models/<kind>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import joblib
import numpy as np

import aegis
from aegis.detectors.base import Detector
from aegis.reasons import Explained, Reason

MODEL_FILE = "model.joblib"
CARD_FILE = "card.json"
SEEN_FILE = "training_rows.npy"
CARD_PAGE = "MODEL_CARD.md"
MODEL_FILES = (MODEL_FILE, CARD_FILE, SEEN_FILE, CARD_PAGE)
"""every file a model folder may hold: another file written there leaves the model as it is"""


class ModelError(Explained, ValueError):
    """A model directory that cannot be used (the message a :class:`~aegis.reasons.Reason`, in the command's
    language)."""


@dataclass
class LoadedModel:
    detector: Detector
    card: dict[str, Any]
    seen: np.ndarray | None = None
    """digests of the training rows (:func:`row_digests`), where the model keeps them"""


def _digests(rows: Any) -> np.ndarray | None:
    """A 64-bit digest of each row, stripped, in order; None unless the rows are strings (texts, URLs):
    profiles and graphs are keyed by ids that name other things in another data set."""
    if isinstance(rows, str) or not isinstance(rows, list | tuple | np.ndarray) or len(rows) == 0:
        return None
    if not all(isinstance(row, str) for row in rows):
        return None
    return np.array([int.from_bytes(hashlib.blake2b(row.strip().encode("utf-8"), digest_size=8).digest(), "little")
                     for row in rows], dtype=np.uint64)


def row_digests(rows: Any) -> np.ndarray | None:
    """The sorted distinct digests of training rows, for :func:`save_model`'s ``seen``."""
    digests = _digests(rows)
    return None if digests is None else np.unique(digests)


def seen_rows(seen: np.ndarray | None, rows: Any) -> int | None:
    """How many of ``rows`` are rows the model was trained on; None when the model or the rows cannot tell."""
    digests = None if seen is None else _digests(rows)
    return None if seen is None or digests is None else int(np.isin(digests, seen).sum())


def default_model_dir(kind: str) -> Path:
    return Path(str(resources.files("aegis") / "data" / "models" / kind))


def save_model(
    detector: Detector, out: Path, *, data: dict[str, Any], metrics: dict[str, Any], notes: str = "",
    seen: np.ndarray | None = None,
) -> dict[str, Any]:
    """Write the model and its card atomically (a half-written model directory is never left behind), with the
    digests of its training rows when given (:func:`row_digests`)."""
    out.mkdir(parents=True, exist_ok=True)
    card = {
        "kind": detector.kind,
        "detector": f"{type(detector).__module__}.{type(detector).__qualname__}",
        "model_format": detector.model_format,
        "aegis_version": aegis.__version__,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": data,
        "metrics": metrics,
        "notes": notes,
    }
    # an earlier model's rows go before the new model comes, and its own after: a write cut short between
    # leaves a model without digests (evaluate then cannot tell), never one with another model's
    (out / SEEN_FILE).unlink(missing_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out, suffix=".tmp")
    os.close(fd)
    joblib.dump(detector, tmp, compress=3)
    os.chmod(tmp, 0o644)  # mkstemp creates 0600; a model is readable like any shipped file
    os.replace(tmp, out / MODEL_FILE)
    if seen is not None:
        fd, tmp = tempfile.mkstemp(dir=out, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, seen)
        os.chmod(tmp, 0o644)
        os.replace(tmp, out / SEEN_FILE)
    (out / CARD_FILE).write_text(json.dumps(card, ensure_ascii=False, indent=2, default=str) + "\n")
    (out / CARD_PAGE).write_text(render_card(card))
    return card


def load_model(path: Path | None, kind: str) -> LoadedModel:
    """The model in ``path`` (None: the shipped one), checked to be a ``kind`` detector of this version's format.

    A file of the folder that cannot be read back (cut short, emptied, overwritten by a CSV) is a
    :class:`ModelError` naming it: what the reader itself says (``pop from empty list``, an EOFError that the
    command line shows as "Aborted.") tells nothing of which file is at fault or what to do.
    """
    shipped = path is None
    path = default_model_dir(kind) if path is None else path
    model_file, card_file = path / MODEL_FILE, path / CARD_FILE
    if not model_file.is_file():
        raise ModelError(Reason("model：{path}中没有{file}", file=MODEL_FILE, path=str(path)))

    def damaged(file: Path) -> ModelError:
        return ModelError(Reason("随Aegis附带的模型文件{file}已损坏：请重新安装Aegis", file=str(file)) if shipped
                          else Reason("--model：{file}已损坏或不是Aegis模型：请重新训练", file=str(file)))

    try:
        card = json.loads(card_file.read_text(encoding="utf-8")) if card_file.is_file() else {}
        saved_format = int(card.get("model_format", 1))
    except (OSError, ValueError, TypeError, AttributeError):  # not JSON, not an object, a format not a number
        raise damaged(card_file) from None
    if card.get("kind", kind) != kind:
        raise ModelError(Reason("model：{path}中是“{held}”模型，不是“{kind}”模型", path=str(path), held=card["kind"],
                                kind=kind))
    try:
        detector = joblib.load(model_file)
    except Exception:  # a pickle cut short or of other bytes fails in any of a dozen ways, EOFError among them
        raise damaged(model_file) from None
    if not isinstance(detector, Detector) or detector.kind != kind:
        raise ModelError(Reason("model：{file}不是“{kind}”检测器", file=str(model_file), kind=kind))
    if saved_format != detector.model_format:
        raise ModelError(Reason("model：{path}是格式{saved}的“{kind}”模型，而本版Aegis（{version}）使用格式{scored}："
                                "请用 `aegis train {kind}` 重新训练", path=str(path), kind=kind, saved=saved_format,
                                version=aegis.__version__, scored=detector.model_format))
    seen_file = path / SEEN_FILE
    try:
        seen = np.load(seen_file, allow_pickle=False) if seen_file.is_file() else None
    except (OSError, ValueError, EOFError):
        raise damaged(seen_file) from None
    return LoadedModel(detector, card, seen)


def render_card(card: dict[str, Any]) -> str:
    lines = [f"# Model card: {card['kind']} detector", ""]
    lines += [
        f"- detector: `{card['detector']}`",
        f"- model format: {card.get('model_format', 1)}",
        f"- Aegis version: {card['aegis_version']}",
        f"- trained at: {card['trained_at']}",
        "",
        "## Training data",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in card["data"].items()]
    lines += ["", "## Metrics (cross-validated on the training data unless said otherwise)", ""]
    lines += [f"- {k}: {v}" for k, v in card["metrics"].items()]
    if card.get("notes"):
        lines += ["", "## Notes", "", card["notes"]]
    return "\n".join(lines) + "\n"
