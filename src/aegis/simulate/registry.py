"""Growing tables of the city's identifiers (numbers, accounts, devices) and the codes that make them.

A :class:`Registry` grows in segments (residents first, then the gangs' resources) and is frozen into Arrow
string arrays plus numpy columns, so that events refer to identifiers by integer index and the day's
millions of rows become strings with one ``take``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aegis.events.models import CHINA_TZ


class Registry:
    """Columns that grow by segments: ``strings`` become Arrow arrays, ``ints`` numpy arrays."""

    def __init__(self, strings: tuple[str, ...], ints: tuple[str, ...]) -> None:
        self._strings: dict[str, list[pa.Array]] = {name: [] for name in strings}
        self._ints: dict[str, list[np.ndarray]] = {name: [] for name in ints}
        self.size = 0
        self.frozen: dict[str, pa.Array | np.ndarray] = {}

    def add(self, count: int, **columns: object) -> np.ndarray:
        """Append ``count`` rows (a scalar fills its column, a missing int column is -1); returns their indices."""
        if self.frozen:
            raise RuntimeError("registry: frozen, no more rows")
        for name, parts in self._strings.items():
            value = columns.get(name)
            if value is None or isinstance(value, str):
                parts.append(pa.array([value] * count, pa.string()))
            else:
                parts.append(value if isinstance(value, pa.Array) else pa.array(value, pa.string()))
        for name, parts in self._ints.items():
            value = columns.get(name, -1)
            parts.append(np.broadcast_to(np.asarray(value, dtype=np.int64), (count,)).copy())
        first, self.size = self.size, self.size + count
        return np.arange(first, self.size)

    def current(self, name: str) -> pa.Array | np.ndarray:
        """A column as it stands (concatenated each time while the registry still grows)."""
        if self.frozen:
            return self.frozen[name]
        if name in self._strings:
            return pa.concat_arrays(self._strings[name])
        return np.concatenate(self._ints[name])

    def freeze(self) -> None:
        self.frozen = {name: self.current(name) for name in (*self._strings, *self._ints)}

    def __getitem__(self, name: str) -> np.ndarray:
        return self.frozen[name]  # type: ignore[return-value]

    def text(self, name: str) -> pa.Array:
        return self.frozen[name]  # type: ignore[return-value]


def take(pool: pa.Array, index: np.ndarray) -> pa.Array:
    """``pool[index]`` with -1 meaning null."""
    index = np.asarray(index)
    mask = index < 0
    return pool.take(pa.array(index, mask=mask) if mask.any() else pa.array(index))


def digits_to_string(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def scramble(index: np.ndarray, modulus: int) -> np.ndarray:
    """A random-looking but one-to-one map of registry indices to ``[0, modulus)``.

    Identifiers (numbers, accounts) are derived from their registry index this way, so they are unique by
    construction: no draw-and-deduplicate pass over millions of values.
    """
    return (np.asarray(index, dtype=np.int64) * 73_939_133 + 982_451_653) % modulus


def digit_matrix(values: np.ndarray, width: int) -> tuple[pa.Array, np.ndarray]:
    """Zero-padded decimal strings of ``values`` and their digits as an (n, width) uint8 matrix.

    Goes through Arrow's string buffer because numpy's int64 division is slow at this size.
    """
    text = pc.utf8_lpad(digits_to_string(values), width, "0")
    text = pa.concat_arrays([text]) if isinstance(text, pa.ChunkedArray) else text
    data = np.frombuffer(text.buffers()[2], dtype=np.uint8)[: len(text) * width]
    return text, data.reshape(len(text), width) - ord("0")


def _append_check(text: pa.Array, check: np.ndarray, alphabet: str) -> pa.Array:
    return pc.binary_join_element_wise(text, take(pa.array(list(alphabet)), check), "")


def luhn_strings(body: np.ndarray, length: int) -> pa.Array:
    """``length``-digit bodies with their Luhn check digit appended (IMEIs and bank card numbers carry it)."""
    text, digits = digit_matrix(body, length)
    digits = digits[:, ::-1].astype(np.int64)  # least significant first: those at even places are doubled
    doubled = digits[:, 0::2] * 2
    total = (doubled // 10 + doubled % 10).sum(axis=1) + digits[:, 1::2].sum(axis=1)
    return _append_check(text, (10 - total % 10) % 10, "0123456789")


def distinct_within(group: np.ndarray, drawn: np.ndarray, room: int) -> np.ndarray:
    """``drawn`` values in ``[0, room)`` made distinct within each ``group``: a value drawn before in its group moves
    up to the next one free (to the top of the range, packed, if that runs past it); the others keep theirs. Draws
    are independent, so two residents born the same day in the same district drew the same id sequence now and
    then: one id number for two people."""
    order = np.lexsort((drawn, group))
    ordered, values = group[order], drawn[order].astype(np.int64)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sizes = np.diff(np.r_[starts, len(ordered)])
    if sizes.max(initial=0) > room:
        raise ValueError(f"room: {sizes.max()} values in one group, only {room} distinct ones")
    which = np.repeat(np.arange(len(starts)), sizes)
    rank = np.arange(len(ordered)) - starts[which]
    # v_i = max(s_i, v_(i-1) + 1) is rank + the running maximum of s - rank, per group: each group is lifted above
    # the one before so that the running maximum does not carry across groups
    lift = which * (len(ordered) + room)
    moved = np.maximum.accumulate(values - rank + lift) - lift + rank
    top = np.maximum.reduceat(moved, starts) if len(starts) else moved
    over = (top >= room)[which]
    moved[over] = (room - sizes[which] + rank)[over]
    distinct = np.empty_like(moved)
    distinct[order] = moved
    return distinct


_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


def id_numbers(area: np.ndarray, birth: np.ndarray, sequence: np.ndarray) -> pa.Array:
    """18-digit resident id numbers (GB 11643): area code, yyyymmdd, 3-digit sequence, ISO 7064 check."""
    body = area.astype(np.int64) * 10**11 + birth.astype(np.int64) * 1000 + sequence
    text, digits = digit_matrix(body, 17)
    return _append_check(text, (digits @ _ID_WEIGHTS) % 11, "10X98765432")


def epoch_us(day: date, hours: float = 0.0) -> int:
    """Microseconds since the Unix epoch of local (China) midnight of ``day`` plus ``hours``."""
    local = datetime(day.year, day.month, day.day, tzinfo=CHINA_TZ) + timedelta(hours=hours)
    return int(local.timestamp()) * 1_000_000


HOUR_US = 3_600_000_000
DAY_US = 24 * HOUR_US
