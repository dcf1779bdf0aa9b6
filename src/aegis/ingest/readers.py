"""Reading event files (CSV, JSONL, Parquet) as batches of raw rows with their source line numbers.

CSV may be UTF-8 or GBK (:mod:`aegis.ingest.encoding`); JSONL is UTF-8, as JSON text must be (a BOM before the
first line is allowed). Either is checked over the whole file before a row is read (:func:`file_encoding`).

Readers only parse; validation is the record models' job. Values come out as Python objects with missing
values dropped, so a record's defaults apply the same way whatever the file format.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import orjson

from aegis.ingest.encoding import (
    GBK,
    UTF8,
    EncodingError,
    decodes,
    first_undecodable,
    looks_gbk,
    text_encoding,
    utf8_in_gbk,
)
from aegis.reasons import Explained, Reason

if TYPE_CHECKING:
    import pyarrow.parquet as pq

FORMATS = ("csv", "jsonl", "parquet")
LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""what ends a line as a CSV file is read (``newline=""``: each kept as it came)"""


class FileFormatError(Explained, ValueError):
    """The file as a whole cannot be read (format, encoding, header): nothing is stored from it."""


@dataclass(frozen=True)
class RawRow:
    line: int
    """line number in the file (CSV counts the header as line 1); row number for Parquet"""
    values: dict[str, Any] | None
    """None when the line itself could not be parsed"""
    error: str = ""
    text: str = ""
    """the line as it came, where it is kept (a JSON line; an unparsable line), for the reject file, which goes back
    to the data's owner"""
    field: str = "(row)"
    """the field the error is in, when it is in one"""


def detect_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("csv", "tsv"):
        return "csv"
    if suffix in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if suffix in ("parquet", "pq"):
        return "parquet"
    raise FileFormatError(Reason("{file}：无法从后缀“.{suffix}”判断格式（csv、jsonl、parquet）", file=path.name,
                                 suffix=suffix))


def _present(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip() != ""
    return not (isinstance(value, float) and math.isnan(value))


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if _present(v)}


def columns(path: Path, fmt: str, encoding: str = "utf-8-sig") -> list[str] | None:
    """The file's column names (None for JSONL, whose rows name their own fields); ``encoding`` is a CSV's
    (:func:`csv_encoding`). A CSV or JSONL file with nothing in it is refused."""
    if fmt == "parquet":
        return list(_parquet_file(path).schema_arrow.names)
    if fmt == "csv":
        with path.open(newline="", encoding=encoding) as handle:
            return _csv_header(path, _csv_rows(path, handle))
    next(_jsonl_lines(path))  # refuses an empty file before anything is stored, as a CSV's header does
    return None


def file_encoding(path: Path, fmt: str) -> str:
    """The encoding to read a CSV or JSONL file in, checked over the whole file before a row is read, so a
    file that is not text in it fails before anything from it is stored (Parquet is not text: UTF-8, unused).

    A line that does not decode fails the whole file rather than its row, the same for both formats: its
    bytes cannot be shown as they came, and one such line usually means the file was saved in another
    encoding than the format's, which every row would share.
    """
    if fmt == "csv":
        return csv_encoding(path)
    if fmt == "jsonl" and not decodes(path, UTF8):
        where = first_undecodable(path, UTF8)
        if where is not None:  # None only if the file changed between the two reads
            what = (Reason("看起来是GBK") if looks_gbk(where.text)
                    else Reason("{reason}，位于文件第{byte}字节", reason=where.reason, byte=where.byte))
            raise FileFormatError(Reason("{file}：第{line}行：不是UTF-8文本，而JSON lines须为UTF-8（{what}）",
                                         file=path.name, line=where.line, what=what))
    return UTF8


def csv_encoding(path: Path) -> str:
    """UTF-8 or GBK (:func:`aegis.ingest.encoding.text_encoding`), decided from the whole file before a row is
    read, so a file that is neither fails before anything from it is stored."""
    try:
        return text_encoding(path)
    except EncodingError as exc:
        raise FileFormatError(Reason("{file}：{error}", file=path.name, error=exc.reason)) from None


def count_rows(path: Path, fmt: str) -> int:
    if fmt == "parquet":
        return int(_parquet_file(path).metadata.num_rows)
    with path.open("rb") as handle:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return max(lines - (1 if fmt == "csv" else 0), 0)


def read_batches(path: Path, fmt: str, batch_size: int = 5000, encoding: str = "utf-8-sig"
                 ) -> Iterator[list[RawRow]]:
    """The file's rows in batches; ``encoding`` is a CSV's (:func:`csv_encoding`, decided once by the caller)."""
    rows = _csv(path, encoding) if fmt == "csv" else {"jsonl": _jsonl, "parquet": _parquet}[fmt](path, batch_size)
    batch: list[RawRow] = []
    try:
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_size:
                yield batch
                batch = []
    except UnicodeDecodeError as exc:
        # the caller decided the encoding from the whole file (file_encoding), so the file changed since
        found = first_undecodable(path, encoding)
        raise FileFormatError(Reason("{file}：不是{encoding}文本（{where}）", file=path.name,
                                     encoding="GBK" if encoding == GBK else "UTF-8",
                                     where=found.message() if found else exc.reason)) from None
    if batch:
        yield batch


def _csv_line(values: list[str]) -> str:
    """The cells written back as one CSV line (quoted where they need it)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue().rstrip("\r\n")


def _not_csv(path: Path, line: int, exc: csv.Error) -> Reason:
    """What is said of a CSV file that the csv module stops reading at ``line``. Its one error on a file that
    decodes is a cell longer than its limit of 131,072 characters, which no field of Aegis allows: a quote left
    open, which reads the lines after it as one cell."""
    if "field limit" in str(exc):
        return Reason("{file}：第{line}行：无法作为CSV读取（{error}：是否有引号未闭合？）", file=path.name, line=line,
                      error=str(exc))
    return Reason("{file}：第{line}行：无法作为CSV读取（{error}）", file=path.name, line=line, error=str(exc))


def _csv_rows(path: Path, handle: TextIO) -> Iterator[tuple[int, list[str]]]:
    """The rows of a CSV file, its header first, each with the line it ends on; a row that the csv module cannot
    read fails the file, naming the line the row starts on, and so does a quote still open at the end of the
    file, naming the line it opened on."""
    ended = False

    def lines() -> Iterator[str]:
        nonlocal ended
        yield from handle
        ended = True

    reader = csv.reader(lines())
    start = 1
    while True:
        try:
            values = next(reader, None)
        except csv.Error as exc:
            raise FileFormatError(_not_csv(path, start, exc)) from None
        if values is None:
            return
        if ended:
            # The csv module asked for a line after the last and still gave a row: its last cell was quoted and
            # never closed, and holds every line after its quote. A cell may hold line breaks, but only between
            # its quotes; unless strict (which also refuses what Excel writes), the module ends it at the end of
            # the file without a word, storing the lines after it as one text.
            opened = start + sum(len(LINE_BREAK.findall(value)) for value in values[:-1])
            raise FileFormatError(Reason("{file}：第{line}行：此行开始的引号始终没有闭合（文件其余部分会被读作"
                                         "一个单元格）", file=path.name, line=opened))
        yield reader.line_num, values
        start = reader.line_num + 1


def repeated_column(file: str, names: Sequence[str]) -> Reason | None:
    """What is said of a header that names a column twice (None if it does not): refused before a row is read,
    whatever reads the file, for a row would be read with one of the two columns silently winning (the last in a
    dict, the first in pandas) and which of them holds what was meant is anyone's guess. Columns without a name (a
    spreadsheet's empty cells at the end of a header) name nothing to repeat."""
    first: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in first:
            return Reason("{file}：标题行两次写了列“{column}”（第{first}列和第{second}列）", file=file, column=name,
                          first=first[name], second=position)
        if name:
            first[name] = position
    return None


_KEY = re.compile(rb'"\s*:')
"""the end of a JSON object's key (a closing quote, then the colon); also matched inside strings, never missed"""


def repeated_key(text: bytes | str, values: dict[str, Any]) -> str | None:
    """The first key that a JSON line's objects write twice (None if none does), ``values`` being the line as
    parsed: the JSON counterpart of :func:`repeated_column`, for a parser keeps the last of the two silently.
    orjson, which reads the lines, does not tell; the standard parser, which can, is asked only when the line
    has more key endings than ``values`` has keys (nested objects, a quote and colon inside a string, or a repeat)."""
    raw = text.encode() if isinstance(text, str) else text
    if len(_KEY.findall(raw)) <= len(values):
        return None
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen and not found:
                found.append(key)
            seen.add(key)
        return dict(items)

    json.loads(raw, object_pairs_hook=pairs)
    return found[0] if found else None


def _csv_header(path: Path, rows: Iterator[tuple[int, list[str]]]) -> list[str]:
    _, header = next(rows, (0, []))
    if not header:
        raise FileFormatError(_empty(path, Reason("CSV须有标题行")))
    names = [name.strip() for name in header]
    if said := repeated_column(path.name, names):
        raise FileFormatError(said)
    return names


def _csv(path: Path, encoding: str) -> Iterator[RawRow]:
    mixed = ""
    with path.open(newline="", encoding=encoding) as handle:
        rows = _csv_rows(path, handle)
        header = _csv_header(path, rows)
        for line, values in rows:
            if not values:
                continue
            if len(values) != len(header):
                yield RawRow(line, None, f"row has {len(values)} fields, the header has {len(header)}",
                             _csv_line(values))
                continue
            if encoding == GBK and (mixed_row := _utf8_row(values, header)) is not None:
                # Rejected as a row, not the whole file: the file decodes as GBK and its other rows read as they
                # were written; only this row's bytes were UTF-8 (see utf8_in_gbk). The reason names the line that
                # made the file GBK, which tells whether this row is the odd one out or the rest of the file is.
                mixed = mixed or _mixed_reason(path)
                yield RawRow(line, None, mixed, _csv_line(mixed_row[1]), mixed_row[0])
                continue
            # CSV cells are strings: an empty or blank cell is a missing value
            yield RawRow(line, {k: v for k, v in zip(header, values, strict=True) if v and not v.isspace()})


def _utf8_row(values: list[str], header: list[str]) -> tuple[str, list[str]] | None:
    """The first column of a row read as GBK that was written in UTF-8, and the row as it was written."""
    read = [utf8_in_gbk(value) for value in values]
    first = next((i for i, text in enumerate(read) if text is not None), None)
    if first is None:
        return None
    return header[first], [text or value for text, value in zip(read, values, strict=True)]


def _mixed_reason(path: Path) -> str:
    where = first_undecodable(path, UTF8)
    because = f", because line {where.line} is not UTF-8" if where else ""
    return f"this line is UTF-8 in a file read as GBK{because}: save the whole file in one encoding"


def _empty(path: Path, needs: Reason) -> Reason:
    """What is said of a file with nothing in it, in every text format alike (``aegis ingest`` and ``aegis decide``
    refuse it; a CSV that holds its header and no row is taken, as a file of no events)."""
    return Reason("{file}：文件是空的（{needs}）", file=path.name, needs=needs)


def _jsonl_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """The lines of a JSON lines file that hold something, with their numbers; a file with none is refused."""
    found = False
    with path.open("rb") as handle:
        for line, text in enumerate(handle, start=1):
            if line == 1:
                text = text.removeprefix(codecs.BOM_UTF8)  # Windows editors start UTF-8 files with one
            if text.strip():
                found = True
                yield line, text
    if not found:
        raise FileFormatError(_empty(path, Reason("JSON lines文件须每行一个JSON对象")))


def _jsonl(path: Path, _batch_size: int) -> Iterator[RawRow]:
    for line, text in _jsonl_lines(path):
        try:
            values = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            yield RawRow(line, None, f"invalid JSON: {exc}", text.decode("utf-8", "replace").rstrip("\r\n"))
            continue
        if not isinstance(values, dict):
            yield RawRow(line, None, "a line must hold one JSON object",
                         text.decode("utf-8", "replace").rstrip("\r\n"))
            continue
        if (key := repeated_key(text, values)) is not None:
            yield RawRow(line, None, "the key is written twice in the line (which of the two was meant is unknown)",
                         text.decode("utf-8", "replace").rstrip("\r\n"), key)
            continue
        # null is no value, as a blank cell (an optional field takes its default); the line is kept as it came for
        # the reject file, where the cleaned row would drop the key written null
        yield RawRow(line, _clean(values), text=text.decode("utf-8", "replace").rstrip("\r\n"))


def _parquet_file(path: Path) -> pq.ParquetFile:
    import pyarrow as pa
    import pyarrow.parquet as pq  # on the first Parquet file: JSONL and CSV, which `aegis decide` reads, need none

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise FileFormatError(_not_parquet(path, exc)) from None
    if said := repeated_column(path.name, parquet.schema_arrow.names):
        raise FileFormatError(said)
    return parquet


def _not_parquet(path: Path, exc: Exception, after: int | None = None) -> Reason:
    """What is said of a file that Arrow cannot read as Parquet, in one line (Arrow's own words may run to more)."""
    reason = next(iter(str(exc).strip().splitlines()), type(exc).__name__)
    if after is None:
        return Reason("{file}：无法作为Parquet读取（{reason}）", file=path.name, reason=reason)
    return Reason("{file}：第{row}行之后无法作为Parquet读取（{reason}）", file=path.name, row=after, reason=reason)


def _parquet(path: Path, batch_size: int) -> Iterator[RawRow]:
    import pyarrow as pa

    line = 0
    try:
        # a file whose footer reads may still hold a corrupt page, found when its batch is read
        for record_batch in _parquet_file(path).iter_batches(batch_size=batch_size):
            for values in record_batch.to_pylist():
                line += 1
                yield RawRow(line, _clean(values))
    except (pa.ArrowException, OSError) as exc:
        raise FileFormatError(_not_parquet(path, exc, after=line)) from None
