"""Writing the simulated city: one Parquet file per event kind, column names and types from the event models.

The Arrow schema of each kind is derived from its pydantic record in ``aegis.events.models``, so the files
cannot drift from the contract: a field added there is a column here (and the simulator fails loudly until it
fills it).
"""

from __future__ import annotations

import types
import typing
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from aegis.events.models import EVENT_TYPES, Record

TIMESTAMP = pa.timestamp("us", tz="UTC")

#: the prefix of the sequential event ids of each kind, e.g. "cal-0000000001"
ID_PREFIX = {kind: kind[:3] for kind in EVENT_TYPES}
ID_PREFIX["account_opening"] = "aco"
ID_PREFIX["app_install"] = "api"


def _arrow_type(annotation: object) -> pa.DataType:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return _arrow_type(args[0])
    if typing.get_origin(annotation) is list:
        return pa.list_(_arrow_type(args[0]))
    if typing.get_origin(annotation) is typing.Annotated:
        return _arrow_type(args[0])
    simple = {str: pa.string(), int: pa.int64(), bool: pa.bool_(), Decimal: pa.float64(), datetime: TIMESTAMP}
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return pa.string()
    return simple[annotation]  # type: ignore[index]


def schema_of(model: type[Record]) -> pa.Schema:
    """The Arrow schema of a record: one column per model field, in declaration order."""
    return pa.schema(
        [pa.field(name, _arrow_type(f.annotation), nullable=True) for name, f in model.model_fields.items()]
    )


SCHEMAS: dict[str, pa.Schema] = {kind: schema_of(model) for kind, model in EVENT_TYPES.items()}

#: identifier columns with about one value per resident or per row: dictionary-encoding them only costs time
_HIGH_CARDINALITY = {
    "event_id",
    "caller",
    "callee",
    "imei",
    "imsi",
    "sender",
    "receiver",
    "payer_account",
    "payee_account",
    "person_id",
    "number",
    "device_id",
    "account",
    "id_number",
    "name",
    "victim_id",
}


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    return [f.name for f in schema if f.name not in _HIGH_CARDINALITY and not pa.types.is_timestamp(f.type)]


def event_ids(kind: str, first: int, count: int) -> pa.Array:
    """Sequential ids ``<pfx>-0000000001`` built in Arrow (no Python loop: a day holds millions)."""
    numbers = pc.cast(pa.array(np.arange(first, first + count, dtype=np.int64)), pa.string())
    return pc.binary_join_element_wise(f"{ID_PREFIX[kind]}-", pc.utf8_lpad(numbers, 10, "0"), "")


class EventSink:
    """Appends tables to ``out/events/<kind>.parquet`` and numbers the rows of each kind in order."""

    def __init__(self, out: Path) -> None:
        self.dir = out / "events"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._writers: dict[str, pq.ParquetWriter] = {}
        self.counts: dict[str, int] = dict.fromkeys(EVENT_TYPES, 0)

    def write(self, kind: str, columns: dict[str, pa.Array]) -> pa.Array:
        """Write one batch (all columns but ``event_id``); returns the ids given to its rows."""
        n = len(next(iter(columns.values())))
        ids = event_ids(kind, self.counts[kind] + 1, n)
        schema = SCHEMAS[kind]
        arrays = [ids if f.name == "event_id" else columns[f.name] for f in schema]
        table = pa.Table.from_arrays([a.cast(f.type) for a, f in zip(arrays, schema, strict=True)], schema=schema)
        if kind not in self._writers:
            self._writers[kind] = pq.ParquetWriter(
                self.dir / f"{kind}.parquet", schema, compression="zstd", use_dictionary=_dictionary_columns(schema)
            )
        if n:
            self._writers[kind].write_table(table, row_group_size=1 << 20)
        self.counts[kind] += n
        return ids

    def close(self) -> None:
        """Close every file; kinds that got no rows still get an empty file with the right schema."""
        for kind, schema in SCHEMAS.items():
            if kind not in self._writers:
                self._writers[kind] = pq.ParquetWriter(self.dir / f"{kind}.parquet", schema)
        for writer in self._writers.values():
            writer.close()


def write_truth(out: Path, name: str, table: pa.Table) -> None:
    (out / "truth").mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out / "truth" / f"{name}.parquet", compression="zstd")
