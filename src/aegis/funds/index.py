"""An in-memory, columnar index of transfers, built for following money forward in time.

Tracing needs, for any account, its whole ledger (credits and debits) in time order: the FIFO and the
proportional rules both depend on the clean money that came in between, not only on the outgoing
transfers. So the index keeps the transfers in one global time order (a row's position *is* its rank in
time) and two CSR adjacency lists of row numbers, one by payer and one by payee, each in time order within
an account. An account's ledger is the merge of its two lists, a binary search finds "after time t", and
nothing per account is materialised until a trace reaches it.

Times are int64: nanoseconds since the epoch in UTC for datetime columns (naive times are China Standard
Time, as everywhere in Aegis), or the numbers themselves for integer time steps (e.g. AMLSim's days).
Transfers that share a timestamp keep their input order: that order is the tie-break everywhere, so money
can never go round a cycle "at the same instant".
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from aegis.events.models import to_utc
from aegis.reasons import Reason
from aegis.training.task import DataError

REQUIRED = ("event_id", "payer_account", "payee_account", "amount", "time")
_CST_OFFSET_NS = 8 * 3600 * 10**9


def _csr(keys: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and row numbers grouping ``keys`` by value; rows stay in order within a group.

    Sorting one int64 of (key, row) is a plain, SIMD-accelerated sort, about twice as fast as a stable
    argsort of the keys, and gives the same order.
    """
    rows = (np.sort((keys.astype(np.int64) << 32) | np.arange(len(keys), dtype=np.int64)) & 0xFFFFFFFF).astype(np.int32)
    offsets = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=size), out=offsets[1:])
    return offsets, rows


def _times(column: pa.ChunkedArray | pa.Array, source: str) -> tuple[np.ndarray, str]:
    kind = column.type
    if pa.types.is_timestamp(kind):
        if kind.tz is None:
            ns = pc.cast(column, pa.timestamp("ns")).to_numpy().astype(np.int64) - _CST_OFFSET_NS
        else:
            ns = pc.cast(column, pa.timestamp("ns", tz="UTC")).to_numpy().astype("datetime64[ns]").astype(np.int64)
        return ns, "datetime"
    if pa.types.is_integer(kind):
        return np.asarray(column.to_numpy(), dtype=np.int64), "step"
    if pa.types.is_floating(kind):
        values = np.asarray(column.to_numpy(), dtype=np.float64)
        if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
            raise DataError(Reason("{source}：列“time”：数值时间须为整数时间步", source=source))
        return values.astype(np.int64), "step"
    raise DataError(Reason("{source}：列“time”：应为日期时间或整数时间步，收到{kind}", source=source, kind=str(kind)))


class _Values:
    """A read-only sequence view of an Arrow array, so that ``bisect`` can search it."""

    def __init__(self, values: pa.Array) -> None:
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, at: int) -> Any:
        return self.values[at].as_py()


class TransferIndex:
    """Transfers in time order with per-account adjacency; build it once, trace from it many times.

    >>> import pandas as pd
    >>> index = TransferIndex.from_table(pd.DataFrame({
    ...     "event_id": ["t2", "t1"], "payer_account": ["B", "A"], "payee_account": ["C", "B"],
    ...     "amount": [50.0, 100.0], "time": [2, 1]}))
    >>> [index.event_id(row) for row in range(len(index))]
    ['t1', 't2']
    >>> index.account_label(int(index.payee[0]))
    'B'
    """

    def __init__(
        self,
        *,
        event_ids: pa.Array,
        accounts: pa.Array,
        payer: np.ndarray,
        payee: np.ndarray,
        amount: np.ndarray,
        time: np.ndarray,
        time_kind: str,
        channel: np.ndarray | None = None,
        channels: tuple[str, ...] = (),
    ) -> None:
        self.event_ids = event_ids
        self.accounts = accounts
        self.payer = payer
        self.payee = payee
        self.amount = amount
        self.time = time
        self.time_kind = time_kind
        self.channel = channel
        self.channels = channels
        self.out_offsets, self.out_rows = _csr(payer, len(accounts))
        self.in_offsets, self.in_rows = _csr(payee, len(accounts))
        self._account_codes: dict[Any, int] | None = None
        self._id_order: pa.Array | None = None
        self._sorted_ids: _Values | None = None

    @classmethod
    def from_table(cls, table: pd.DataFrame | pa.Table, *, source: str = "transfers") -> TransferIndex:
        """Build from Aegis Transfer columns (extra columns such as banks are ignored).

        Rows may come in any time order; rows whose payer is their payee move no money and are dropped.
        ``source`` names the input in error messages.
        """
        if isinstance(table, pd.DataFrame):
            table = pa.Table.from_pandas(table, preserve_index=False)
        missing = [name for name in REQUIRED if name not in table.column_names]
        if missing:
            raise DataError(Reason("{source}：缺少列{columns}", source=source, columns=", ".join(missing)))
        amount = np.asarray(pc.cast(table["amount"], pa.float64()).to_numpy(), dtype=np.float64)
        if not np.all(np.isfinite(amount)) or np.any(amount <= 0):
            raise DataError(Reason("{source}：列“amount”：每个金额都须为正数", source=source))
        for name in ("payer_account", "payee_account"):
            if table[name].null_count:
                raise DataError(Reason("{source}：列“{column}”：账户为空", source=source, column=name))
        time, time_kind = _times(table["time"], source)
        labels = pa.chunked_array(
            [chunk for name in ("payer_account", "payee_account") for chunk in table[name].chunks],
            type=table["payer_account"].type,
        )
        if labels.type != table["payee_account"].type:
            raise DataError(Reason("{source}：payer_account与payee_account须为同一类型", source=source))
        encoded = pa.concat_arrays(labels.chunks).dictionary_encode()
        codes = encoded.indices.to_numpy().astype(np.int32)
        n = len(amount)
        payer, payee = codes[:n], codes[n:]
        keep = payer != payee
        order = np.argsort(time, kind="stable")
        if not keep.all():
            order = order[keep[order]]
        channel, channels = None, ()
        if "channel" in table.column_names:
            kinds = pa.concat_arrays(pc.cast(table["channel"], pa.string()).chunks).dictionary_encode()
            channel = kinds.indices.to_numpy(zero_copy_only=False)[order].astype(np.int8)
            channels = tuple(kinds.dictionary.to_pylist())
        return cls(
            event_ids=pa.concat_arrays(table["event_id"].chunks).take(pa.array(order)),
            accounts=encoded.dictionary,
            payer=payer[order],
            payee=payee[order],
            amount=amount[order],
            time=time[order],
            time_kind=time_kind,
            channel=channel,
            channels=channels,
        )

    def __len__(self) -> int:
        return len(self.amount)

    @property
    def n_accounts(self) -> int:
        return len(self.accounts)

    @property
    def nbytes(self) -> int:
        """Memory held by the index's arrays (labels and ids included)."""
        arrays = [self.payer, self.payee, self.amount, self.time, self.out_offsets, self.out_rows]
        arrays += [self.in_offsets, self.in_rows] + ([self.channel] if self.channel is not None else [])
        return sum(a.nbytes for a in arrays) + self.event_ids.nbytes + self.accounts.nbytes

    def event_id(self, row: int) -> Any:
        return self.event_ids[row].as_py()

    def account_label(self, code: int) -> Any:
        return self.accounts[code].as_py()

    def account_code(self, label: Any) -> int | None:
        """The code of an account label, or None when the account never appears."""
        if self._account_codes is None:
            self._account_codes = {label: code for code, label in enumerate(self.accounts.to_pylist())}
        return self._account_codes.get(label)

    def channel_name(self, row: int) -> str | None:
        return None if self.channel is None else self.channels[self.channel[row]]

    def time_value(self, value: datetime | int | float) -> int:
        """An external time (a datetime, or a time step) in the index's int64 time scale."""
        if isinstance(value, datetime):
            if self.time_kind != "datetime":
                raise TypeError("this index counts time in steps: give a number, not a datetime")
            return int(pd.Timestamp(to_utc(value)).value)
        if self.time_kind == "datetime":
            raise TypeError("this index holds datetimes: give a datetime, not a number")
        return int(value)

    def rows_before(self, value: datetime | int | float | None) -> int:
        """How many rows happened at or before ``value`` (all of them when None)."""
        if value is None:
            return len(self)
        return int(np.searchsorted(self.time, self.time_value(value), side="right"))

    def rows_of(self, event_ids: Iterable[Any]) -> dict[Any, int]:
        """Rows of the given event ids (those not found are left out).

        The first call sorts the ids once (seconds for ten million); every look-up after that is a binary
        search, so a trace started from a report's event ids costs microseconds to resolve.
        """
        if self._sorted_ids is None or self._id_order is None:
            self._id_order = pc.sort_indices(self.event_ids)
            self._sorted_ids = _Values(self.event_ids.take(self._id_order))
        order = self._id_order
        found = {}
        for wanted in event_ids:
            try:
                at = bisect.bisect_left(self._sorted_ids, wanted)
            except TypeError:  # an id of another type than the index's cannot be there
                continue
            if at < len(self._sorted_ids) and self._sorted_ids[at] == wanted:
                found[wanted] = order[at].as_py()
        return found

    def ledger(self, code: int) -> tuple[np.ndarray, np.ndarray]:
        """The account's rows in time order and, for each, whether it is a debit (money going out)."""
        out = self.out_rows[self.out_offsets[code] : self.out_offsets[code + 1]]
        into = self.in_rows[self.in_offsets[code] : self.in_offsets[code + 1]]
        rows = np.concatenate([out, into])
        order = np.argsort(rows, kind="stable")
        return rows[order], order < len(out)
