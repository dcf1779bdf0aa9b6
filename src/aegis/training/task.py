"""The contract between the ``train`` / ``predict`` / ``evaluate`` commands and one detector kind.

A task knows how to read its kind's data files into what the detector takes (``load``), how to make a new
detector, and which metrics describe it. The commands themselves are generic (``aegis.usecases.models``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from aegis.detectors.base import Detector, Verdict
from aegis.ingest.encoding import ENCODINGS, undecodable
from aegis.ingest.readers import repeated_column
from aegis.reasons import Explained, Reason

if TYPE_CHECKING:  # pandas is imported where files are read: `aegis decide` takes DataError from here, not pandas
    import pandas as pd

KINDS = ("text", "number", "url", "account")


class DataError(Explained, ValueError):
    """Input data that cannot be used: the message names the file, the field and the reason (a
    :class:`~aegis.reasons.Reason`, shown in the command's language; or English as written)."""


def check_file(path: Path) -> None:
    """A :class:`DataError` naming ``path`` unless it is a file that can be read."""
    path = Path(path)
    if path.is_dir():
        raise DataError(Reason("{path}：是文件夹，不是文件", path=str(path)))
    if not path.is_file():
        raise DataError(Reason("{path}：文件不存在", path=str(path)))


def read_csv(path: Path, **options: Any) -> pd.DataFrame:
    """One CSV file as pandas reads it with ``options``, in UTF-8 or GBK (:data:`aegis.ingest.encoding.ENCODINGS`,
    in turn: pandas decodes what it reads, so a header read with ``nrows=0`` decodes only the header); a
    missing, undecodable or malformed file is a :class:`DataError` naming the file and the reason. A ``.parquet``
    file (as ``aegis simulate`` writes) is read as the same table, as text where ``dtype=str`` asks for it."""
    import pandas as pd

    check_file(path)
    if Path(path).suffix.lower() == ".parquet":
        return _read_parquet(Path(path), options)
    # the header as pandas reads it, before it names a repeated column name.1 (and reads the first of the two);
    # with the first data row, which pandas refuses here if it has more fields than the header (a comma at the end
    # of each row), naming the line and the counts as it does for a later row: read with the header, that row's
    # first field became an index and every column shifted by one, silently
    header_options = {k: v for k, v in options.items() if k in ("skipinitialspace", "skip_blank_lines")}
    for encoding in ENCODINGS:
        try:
            header = pd.read_csv(path, encoding=encoding, header=None, nrows=2, dtype=str, keep_default_na=False,
                                 **header_options)
            unique_columns(path, [name.strip() for name in header.iloc[0]] if len(header) else [])
            return pd.read_csv(path, encoding=encoding, **options)
        except UnicodeDecodeError:
            continue
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            # pandas' tokenizer ends its message with a line break: the error stays one line
            raise DataError(Reason("{path}：无法作为CSV读取（{error}）", path=str(path),
                                   error=" ".join(str(exc).split()))) from None
    # pandas counts the failing byte from the start of its own buffer: the file is read again for its line
    raise DataError(Reason("{path}：无法作为CSV读取：{error}", path=str(path), error=undecodable(path)))


def unique_columns(path: Path, names: Sequence[str]) -> None:
    """A :class:`DataError` if the header of ``path`` names a column twice (as a reader reads its names), naming
    the column (:func:`aegis.ingest.readers.repeated_column`, as ingest says it)."""
    if said := repeated_column(str(path), names):
        raise DataError(said)


def _read_parquet(path: Path, options: dict[str, Any]) -> pd.DataFrame:
    import pandas as pd
    import pyarrow.parquet as pq

    try:
        unique_columns(path, pq.read_schema(path).names)
        frame = pd.read_parquet(path)
    except DataError:
        raise
    except Exception as exc:  # pyarrow raises its own errors for a file that is not Parquet
        raise DataError(Reason("{path}：无法作为Parquet读取（{error}）", path=str(path), error=str(exc))) from None
    if options.get("nrows") == 0:
        return frame.iloc[:0]
    if options.get("dtype") is str:
        frame = frame.astype(object).where(frame.notna(), "").astype(str)
    elif isinstance(options.get("dtype"), dict):
        frame = frame.astype({k: v for k, v in options["dtype"].items() if k in frame.columns})
    return frame


def finite(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """``frame`` (numbers) as floats, unless a column holds an infinite value (``inf``, or a number past a float's
    range): a :class:`DataError` naming the column and its first such row. An empty cell is a missing value, which
    the models read as such; an infinite one made every score it touched NaN."""
    values = frame.astype(float)
    infinite = np.isinf(values.to_numpy())
    if infinite.any():
        column = int(infinite.any(axis=0).argmax())
        raise DataError(Reason("{path}：列“{column}”不是有限的数（第{row}行数据）", path=str(path),
                               column=frame.columns[column], row=int(infinite[:, column].argmax()) + 1))
    return values


def id_column(values: pd.Series, path: Path, column: str) -> pd.Series:
    """A column of ids (a number's node, an account) as strings that name the same thing in every file: stripped,
    and an integer written as a float (``3716.0``: pandas writes a column of ids so when one of its cells is
    blank) as the integer (``3716``), so that it still meets the id its edges or transfers write. A blank id is a
    :class:`DataError` naming the row: it names nothing to score or to join.

    >>> import pandas as pd
    >>> id_column(pd.Series([" 3716.0", 38, "0592", "a.0"]), Path("n.csv"), "node").tolist()
    ['3716', '38', '0592', 'a.0']
    """
    text = values.map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else str(v)).str.strip()
    if (blank := (text == "").to_numpy()).any():
        raise DataError(Reason("{path}：列“{column}”为空（第{row}行数据）", path=str(path), column=column,
                               row=int(blank.argmax()) + 1))
    floats = text.str.contains(".", regex=False)  # the few, before a pattern is matched on them
    if floats.any():
        text = text.where(~floats, text.str.replace(r"^([+-]?\d+)\.0*$", r"\1", regex=True))
    return text


@dataclass(frozen=True)
class Inputs:
    """The files named on the command line."""

    data: Sequence[Path] = ()
    edges: Path | None = None
    accounts: Sequence[Path] = ()
    transfers: Sequence[Path] = ()
    format: str | None = None


READ_ONLY_BY = {
    "edges": (("number",), Reason("号码检测器的通话关系图")),
    "accounts": (("account",), Reason("账户检测器的账户文件")),
    "transfers": (("account",), Reason("账户检测器的转账文件")),
    "format": (("text", "account"), Reason("文本或账户文件的格式")),
}
"""options that only some kinds read: one given to another kind would be ignored, hiding a mistake"""


def check_inputs(kind: str, inputs: Inputs) -> None:
    """Refuse an option ``kind`` does not read, and name every given file that is missing or a folder."""
    check_kind(kind)
    given = {"edges": inputs.edges is not None, "accounts": bool(inputs.accounts),
             "transfers": bool(inputs.transfers), "format": inputs.format is not None}
    for option, (kinds, what) in READ_ONLY_BY.items():
        if given[option] and kind not in kinds:
            raise DataError(Reason("--{option}：{kind}检测器不读此项（它是{what}）", option=option, kind=kind,
                                   what=what))
    if kind == "account" and inputs.data:
        raise DataError(Reason("--data：账户检测器读取的是 --accounts 和 --transfers"))
    for path in [*inputs.data, *inputs.accounts, *inputs.transfers, *([inputs.edges] if inputs.edges else [])]:
        check_file(path)


@dataclass
class Dataset:
    X: Any
    """what the detector's ``fit`` / ``score`` / ``predict`` take"""
    y: np.ndarray | None
    """labels as strings in the data's own vocabulary; None when the files carry none"""
    n: int
    meta: dict[str, Any] = field(default_factory=dict)
    """what the model card should say about the data (sources, row counts, class counts)"""
    rows: np.ndarray | None = None
    """for each input row, the row of ``X`` scored for it, where rows to score repeat one another exactly (one
    profile of a number, one account to score); None when each is its own"""


def copies(keys: pd.Index) -> tuple[pd.Index, np.ndarray | None]:
    """``keys`` once each, in the order first seen, and for each key its place among them (:attr:`Dataset.rows`);
    None for the places when no key repeats.

    >>> import pandas as pd
    >>> distinct, places = copies(pd.Index(["b", "a", "b"]))
    >>> distinct.tolist(), places.tolist()
    (['b', 'a'], [0, 1, 0])
    """
    if not keys.duplicated().any():
        return keys, None
    distinct = keys.unique()
    return distinct, distinct.get_indexer(keys)


FoldProgress = Callable[[int, int], None]
"""told after each fold of a cross-validation: the folds done, and how many there are"""


class Task(Protocol):
    kind: str

    def load(self, inputs: Inputs, *, labelled: bool) -> Dataset:
        """Read the files. ``labelled=True`` requires labels and raises :class:`DataError` without them."""
        ...

    def new_detector(self) -> Detector: ...

    def metrics(self, y_true: np.ndarray, verdicts: Sequence[Verdict]) -> dict[str, Any]:
        """Quality figures of ``verdicts`` against the true labels."""
        ...


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise DataError(Reason("kind：“{kind}”不是{kinds}之一", kind=kind, kinds=", ".join(KINDS)))


def get_task(kind: str) -> Task:
    check_kind(kind)
    module = importlib.import_module(f"aegis.training.{kind}")
    return module.TASK  # type: ignore[no-any-return]


def class_figures(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float | None]:
    """Precision, recall and F1 of the positive (fraud) class, to four decimals; None where a figure is undefined
    rather than 0: precision when nothing was flagged, recall when the data hold no fraud, F1 when both. A file of
    normal rows only, all passed, has no fraud precision to report, and 0 would read as a model that failed."""
    from sklearn.metrics import precision_recall_fscore_support

    figures = precision_recall_fscore_support(truth, predicted, average="binary", zero_division=np.nan)[:3]
    return {name: None if np.isnan(value) else round(float(value), 4)
            for name, value in zip(("precision", "recall", "f1"), figures, strict=True)}


def fold_summary(per_fold: Sequence[dict[str, Any]], folds: int) -> dict[str, Any]:
    """Cross-validated figures: each figure's mean and spread over the held-out folds (``cv_f1``, ``cv_f1_std``);
    None where a fold left it undefined (:func:`class_figures`)."""
    summary: dict[str, Any] = {"folds": folds}
    for key in per_fold[0]:
        if key != "n":
            values = [fold[key] for fold in per_fold]
            summary[f"cv_{key}"] = defined(np.mean, values)
            summary[f"cv_{key}_std"] = defined(np.std, values)
    return summary


def defined(statistic: Callable[[Any], Any], values: Sequence[float | None]) -> float | None:
    """``statistic`` of ``values`` to four decimals; None if any value is undefined (None)."""
    return None if None in values else round(float(statistic(values)), 4)


def over_fold_seeds(cross_validate: Callable[[int], dict[str, Any]], seeds: Sequence[int],
                    shown: Sequence[str]) -> dict[str, float]:
    """Cross-validation repeated over fold seeds, as the README's rows are measured (a figure tuned to one
    split would not hold): prints the ``shown`` metrics of each seed as it finishes and returns the mean of
    each numeric metric over the seeds (fold spreads and counts left out)."""
    runs = []
    for seed in seeds:
        runs.append(cross_validate(seed))
        print(f"fold seed {seed}: " + ", ".join(f"{k} {runs[-1][k]}" for k in shown), flush=True)
    return {key: round(float(np.mean([run[key] for run in runs])), 4) for key, value in runs[0].items()
            if isinstance(value, int | float) and key not in ("folds", "n") and not key.endswith("_std")
            and all(isinstance(run[key], int | float) for run in runs)}


FRAUD_SPELLINGS = frozenset({"1", "1.0", "true", "fraud"})
NORMAL_SPELLINGS = frozenset({"0", "0.0", "false", "normal", "正常"})
"""how a yes/no fraud label is written in the files people bring: 1/0, true/false (AMLSim writes 0/1, exports of
other tools True/False), fraud/normal; case and surrounding spaces ignored"""


def fraud_flags(values: pd.Series) -> pd.Series:
    """A yes/no fraud label column as 1.0 / 0.0, NaN where a value is none of :data:`FRAUD_SPELLINGS` or
    :data:`NORMAL_SPELLINGS` (the caller names the first such row).

    >>> import pandas as pd
    >>> fraud_flags(pd.Series([1, "0", " TRUE", "false", "Fraud", "normal", "2", None])).tolist()
    [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, nan, nan]
    """
    import pandas as pd

    text = values.map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v).strip().lower())
    return pd.Series([1.0 if t in FRAUD_SPELLINGS else 0.0 if t in NORMAL_SPELLINGS else float("nan") for t in text],
                     index=values.index)
