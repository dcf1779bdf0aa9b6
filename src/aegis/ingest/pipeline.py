"""Ingesting an event file into the store.

Each batch of rows is validated, then its good rows are stored in one transaction together with the run's
counters. A crash therefore loses at most the batch in flight, which was never committed, and a re-run stores
only what is missing, because every record has a stable id and inserts skip stored ids (as well as the ids an
older Aegis derived for the same record, its amount as written: ``EventRepository.as_stored``). Bad rows go
to a reject file with their line number, the field and the reason; so does a row that gives a stored id other
values (the stored event is kept: a store of events is not corrected by overwriting).
"""

from __future__ import annotations

import csv
import os
import typing
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

from aegis.events.models import EVENT_TYPES, Record
from aegis.ingest.readers import (
    FileFormatError,
    RawRow,
    columns,
    count_rows,
    detect_format,
    file_encoding,
    read_batches,
)
from aegis.reasons import Explained, InputError, Reason
from aegis.store.engine import begin_write
from aegis.store.repositories import EventRepository, IngestRunRepository

Progress = Callable[[int], None]
M = TypeVar("M", bound=BaseModel)
Valid = tuple[RawRow, Mapping[str, Any]]
"""a row that passed validation: as read, and as the store takes it"""
CONFLICT = "already stored with other values under this id; the stored event was kept"
REJECT_HEADER = ("line", "field", "reason", "row")
"""the first line of every reject file, which tells one from any other file a run might be asked to write over"""


class IngestError(Explained, ValueError):
    """The file cannot be ingested at all; nothing from it was stored, unless it failed part-way (a corrupt
    Parquet page, a CSV quote left open), which the message then says."""


@dataclass
class Reject:
    line: int
    field: str
    reason: str
    row: dict[str, Any] | None
    text: str = ""
    """the line as it came, where the reader keeps it (a JSON line, or one that could not be read as a row)"""


@dataclass
class IngestResult:
    kind: str
    source: str
    read: int = 0
    stored: int = 0
    duplicate: int = 0
    rejected: int = 0
    reject_file: str | None = None
    sample_rejects: list[Reject] = field(default_factory=list)


def _list_fields(model: type[BaseModel]) -> set[str]:
    return {name for name, info in model.model_fields.items() if typing.get_origin(info.annotation) is list}


def _split_list(value: Any) -> Any:
    """CSV cells hold lists as a JSON array or as values separated by ';'."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return value
    return [part.strip() for part in text.split(";") if part.strip()]


def validate_rows(model: type[M], rows: list[RawRow], now: datetime | None = None
                  ) -> tuple[list[tuple[RawRow, M]], list[Reject]]:
    """Good rows, each with its record, and one reject per bad row naming its first failing field, in the order
    of the rows (``model`` is an event record, or a request to decide: both take the same files). A time ahead
    of ``now`` (default: the clock) is refused (:func:`aegis.events.times.not_ahead`)."""
    context = {"now": now or datetime.now(UTC)}
    list_fields = _list_fields(model)
    good: list[tuple[RawRow, M]] = []
    rejects: list[Reject] = []
    for raw in rows:
        if raw.values is None:
            rejects.append(Reject(raw.line, raw.field, raw.error, None, raw.text))
            continue
        values = raw.values
        if list_fields:
            values = {k: _split_list(v) if k in list_fields else v for k, v in values.items()}
        try:
            good.append((raw, model.model_validate(values, context=context)))
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            first = errors[0]
            fieldname = ".".join(str(part) for part in first["loc"]) or _field_from_message(first["msg"])
            reason = first["msg"].removeprefix("Value error, ")
            if not first["loc"] and ": " in reason:
                reason = reason.split(": ", 1)[1]
            if len(errors) > 1:
                reason += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
            rejects.append(Reject(raw.line, fieldname, reason, raw.values, raw.text))
    return good, rejects


def _first_of_each(valid: list[Valid]) -> tuple[list[Valid], list[Valid]]:
    """The first row of each event id in a batch, and the rows that repeat an id seen before them."""
    seen: set[str] = set()
    firsts: list[Valid] = []
    repeats: list[Valid] = []
    for item in valid:
        event_id = item[1]["event_id"]
        (repeats if event_id in seen else firsts).append(item)
        seen.add(event_id)
    return firsts, repeats


def _field_from_message(message: str) -> str:
    """Whole-record checks name their field as the message's prefix ('callee: must differ ...')."""
    text = message.removeprefix("Value error, ")
    return text.split(":", 1)[0] if ":" in text else "(row)"


def check_columns(model: type[Record], path: Path, names: list[str] | None) -> None:
    if names is None:
        return
    known = set(model.model_fields)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise IngestError(Reason("{file}：列“{column}”不是{kind}的字段（字段：{fields}）", file=path.name,
                                 column=unknown[0], kind=model.kind, fields=", ".join(model.model_fields)))
    required = [name for name, info in model.model_fields.items() if info.is_required()]
    missing = [name for name in required if name not in names]
    if missing:
        raise IngestError(Reason("{file}：缺少{kind}的必需列“{column}”", file=path.name, kind=model.kind,
                                 column=missing[0]))


def _same_file(one: Path, other: Path) -> bool:
    try:
        return one.samefile(other)  # also through a link, or another spelling of the path
    except OSError:  # one of them is not there yet
        return one.resolve() == other.resolve()


def _sqlite_files(engine: Engine) -> list[Path]:
    """The files of the engine's SQLite database (with its journals), none for a server's or one in memory."""
    database = engine.url.database
    if engine.url.get_backend_name() != "sqlite" or database in (None, "", ":memory:"):
        return []
    return [Path(f"{database}{suffix}") for suffix in ("", "-journal", "-wal", "-shm")]


def _is_reject_file(path: Path) -> bool:
    """Whether ``path`` is empty or a reject file (an earlier run's, which a run replaces)."""
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        first = handle.readline(64)  # as far as a reject file's header goes, whatever else the file holds
    return first == "" or first.rstrip("\r\n") == ",".join(REJECT_HEADER)


def check_reject_file(reject_file: Path, path: Path, engine: Engine) -> None:
    """Refuse, before anything is read or written, a reject file that would overwrite the input, the store, or
    a file that is not an earlier run's reject file (naming it ``reject_file``, which the CLI calls --rejects)."""
    shown = str(reject_file)
    if reject_file.is_dir():
        raise InputError(Reason("reject_file：{path}是文件夹，此处需要文件", path=shown))
    if not reject_file.parent.is_dir():
        raise InputError(Reason("reject_file：没有文件夹{folder}", folder=str(reject_file.parent)))
    if _same_file(reject_file, path):
        raise InputError(Reason("reject_file：{path}就是要导入的文件，拒收的行会覆盖它", path=shown))
    if any(_same_file(reject_file, database) for database in _sqlite_files(engine)):
        raise InputError(Reason("reject_file：{path}是数据库{database}的文件，拒收的行会覆盖它", path=shown,
                                database=str(_sqlite_files(engine)[0])))
    if reject_file.is_file() and not _is_reject_file(reject_file):
        raise InputError(Reason("reject_file：{path}已存在，且不是拒收文件（其首行不是{header}），请另给一个文件名",
                                path=shown, header=",".join(REJECT_HEADER)))


def ingest_file(
    engine: Engine,
    kind: str,
    path: Path,
    *,
    reject_file: Path | None = None,
    fmt: str | None = None,
    batch_size: int = 5000,
    on_total: Callable[[int], None] | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Store the events of ``path``; its bad rows go to ``reject_file`` (default: FILE.rejects.csv). An event
    dated ahead of ``now`` (default: the clock as each batch is read) is a bad row, naming its time field.

    The reject file is written aside and moved into place when the run ends, so the input is read whole before
    it (refused if it is the input, or the store's file). After a run that ends, the file holds that run's
    rejects: a clean run writes it with its header alone if it was there (an earlier run's list, which would
    be read as this one's), and creates none otherwise. A run that fails leaves it as it was."""
    model = EVENT_TYPES.get(kind)
    if model is None:
        raise IngestError(Reason("kind：“{kind}”不是{kinds}之一", kind=kind, kinds=", ".join(EVENT_TYPES)))
    if path.is_dir():
        raise IngestError(Reason("{path}：是文件夹；请给出要导入的文件", path=str(path)))
    if not path.is_file():
        raise IngestError(Reason("{path}：文件不存在", path=str(path)))
    reject_file = reject_file or path.with_name(path.name + ".rejects.csv")
    check_reject_file(reject_file, path, engine)
    try:
        fmt = fmt or detect_format(path)
        # decided once, from the whole file, before a row is stored
        encoding = file_encoding(path, fmt)
        check_columns(model, path, columns(path, fmt, encoding))
    except FileFormatError as exc:
        raise IngestError(exc.reason) from None
    if on_total:
        on_total(count_rows(path, fmt))

    events, runs = EventRepository(engine), IngestRunRepository(engine)
    run_id = runs.start(kind, str(path))
    result = IngestResult(kind, str(path), reject_file=str(reject_file))
    # beside the reject file, so that moving it into place is one rename (its name hidden, as a file in progress)
    staged = reject_file.with_name(f".{reject_file.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        with staged.open("x", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(REJECT_HEADER)
            try:
                for batch in read_batches(path, fmt, batch_size, encoding):
                    records, rejects = validate_rows(model, batch, now)
                    dumped = [record.model_dump() for _, record in records]
                    with begin_write(engine) as connection:
                        # a record that an older Aegis stored under its amount or its numbers as written is that
                        # stored event
                        rows = events.as_stored(kind, dumped, connection, written=[raw.values for raw, _ in records])
                        firsts, repeats = _first_of_each([(raw, row) for (raw, _), row in zip(records, rows,
                                                                                               strict=True)])
                        new = events.add_as_stored(kind, [row for _, row in firsts], connection)
                        # everything else names a stored id: the same event again, or other values under its id
                        again = [item for item in firsts if item[1]["event_id"] not in new] + repeats
                        differs = events.differs(kind, [row for _, row in again], connection)
                        conflicts = [Reject(raw.line, "event_id", CONFLICT, raw.values, raw.text)
                                     for (raw, _), differ in zip(again, differs, strict=True) if differ]
                        runs.add_counts(
                            run_id,
                            connection,
                            read=len(batch),
                            stored=len(new),
                            duplicate=len(again) - len(conflicts),
                            rejected=len(rejects) + len(conflicts),
                        )
                    rejects = sorted(rejects + conflicts, key=lambda reject: reject.line)
                    for reject in rejects:
                        writer.writerow(
                            [
                                reject.line,
                                reject.field,
                                reject.reason,
                                reject.text or orjson.dumps(reject.row or {}, default=str).decode(),
                            ]
                        )
                    result.read += len(batch)
                    result.stored += len(new)
                    result.duplicate += len(again) - len(conflicts)
                    result.rejected += len(rejects)
                    result.sample_rejects.extend(rejects[: max(0, 5 - len(result.sample_rejects))])
                    if progress:
                        progress(len(batch))
            except FileFormatError as exc:  # part-way through: the batches before it are stored, and it says so
                if not result.stored:
                    raise IngestError(exc.reason) from None
                raise IngestError(Reason("{error}；此前已保存{stored}条（重新运行只会保存缺少的部分）",
                                         error=exc.reason, stored=f"{result.stored:,}")) from None
        runs.finish(run_id)
        if result.rejected or reject_file.exists():
            os.replace(staged, reject_file)
        if not result.rejected:
            result.reject_file = None
    finally:
        staged.unlink(missing_ok=True)  # moved into place, or the run failed
    return result
