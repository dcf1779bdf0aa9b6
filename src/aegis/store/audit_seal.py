"""Seals over the audit log: a running SHA-256 over its entries, so that an entry changed, removed or slipped in
after it was sealed shows, whoever did it and however (a SQL shell with the triggers dropped, an edit of the
SQLite file, a backup restored over it).

Migration 0007 makes the log append-only for every client that keeps to SQL; a seal covers the rest. Each seal
records the entries it adds (those after the seal before it, up to an id), how many, and the digest after
them: the previous seal's digest folded with each entry's own SHA-256, in id order, from 32 zero bytes before
the first seal. :func:`verify` computes them all again from the entries. Someone able to rewrite the log and
every seal alike is caught only by a digest kept outside the store: each seal prints its digest as an
**anchor**, to be filed or published elsewhere and given back to :func:`verify`.

Written here rather than taken from a library: the transparency logs that do this (Trillian, immudb) are
servers of their own, and a hash chain over rows the store already orders is a fold over ``hashlib``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, text

from aegis.reasons import InputError, Reason
from aegis.store.engine import begin_write
from aegis.store.schema import audit_log, audit_seal

GENESIS = bytes(32)
"""the digest before the first seal"""

_BATCH = 5_000
"""entries read per round trip when folding (a server-side cursor on PostgreSQL)"""

ANCHOR = re.compile(r"[0-9a-f]{64}")


def entry_digest(entry: Mapping[Any, Any]) -> bytes:
    """One entry's SHA-256: every column, as canonical JSON (keys sorted, no spaces, the time in ISO 8601 UTC),
    so the same entry read from SQLite or PostgreSQL gives the same bytes."""
    fields = {
        "id": int(entry["id"]),
        "at": entry["at"].astimezone(UTC).isoformat(),
        "actor": entry["actor"],
        "action": entry["action"],
        "subject_type": entry["subject_type"],
        "subject_id": entry["subject_id"],
        "reasons": entry["reasons"],
        "details": entry["details"],
        "request_key": entry["request_key"],
    }
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(canonical.encode()).digest()


def fold(digest: bytes, entries: Iterable[Mapping[Any, Any]]) -> tuple[bytes, int, int | None]:
    """``digest`` carried over ``entries`` (in id order): the digest after them, how many, the last id."""
    count, last = 0, None
    for entry in entries:
        digest = hashlib.sha256(digest + entry_digest(entry)).digest()
        count, last = count + 1, int(entry["id"])
    return digest, count, last


@dataclass(frozen=True)
class Seal:
    id: int
    sealed_at: datetime
    sealed_by: str
    after_id: int
    last_id: int
    entries: int
    digest: str


def _entries(connection: Connection, after_id: int, up_to: int | None = None) -> Iterator[Mapping[Any, Any]]:
    query = select(audit_log).where(audit_log.c.id > after_id).order_by(audit_log.c.id)
    if up_to is not None:
        query = query.where(audit_log.c.id <= up_to)
    for row in connection.execute(query.execution_options(yield_per=_BATCH)):
        yield row._mapping


def _seals(connection: Connection) -> list[Seal]:
    return [Seal(**row._mapping) for row in connection.execute(select(audit_seal).order_by(audit_seal.c.id))]


def latest(engine: Engine) -> Seal | None:
    with engine.connect() as connection:
        row = connection.execute(select(audit_seal).order_by(audit_seal.c.id.desc()).limit(1)).first()
    return Seal(**row._mapping) if row else None


def seal(engine: Engine, *, by: str) -> tuple[Seal | None, bool]:
    """Seal the entries since the last seal: the newest seal, and whether this call wrote it (nothing new since
    the last one writes nothing; None: the log is empty).

    Entries are sealed in id order, so none may still arrive below the ids sealed. On PostgreSQL the seal takes
    a lock on the log that waits for every transaction that has written to it and holds off new writers until
    it commits (a fraction of a second: it reads only the entries since the last seal); a second sealer waits
    too. SQLite serves one writer at a time anyway."""
    with begin_write(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
        row = connection.execute(select(audit_seal).order_by(audit_seal.c.id.desc()).limit(1)).first()
        before = Seal(**row._mapping) if row else None
        start = bytes.fromhex(before.digest) if before else GENESIS
        after_id = before.last_id if before else 0
        digest, count, last_id = fold(start, _entries(connection, after_id))
        if not count or last_id is None:
            return before, False
        values: dict[str, Any] = {"sealed_at": datetime.now(UTC), "sealed_by": by, "after_id": after_id,
                                  "last_id": last_id, "entries": count, "digest": digest.hex()}
        new_id = connection.execute(insert(audit_seal).values(values).returning(audit_seal.c.id)).scalar_one()
    return Seal(id=new_id, **values), True


@dataclass
class Verification:
    """What :func:`verify` found: ``problems`` empty means every sealed entry is as it was sealed."""

    entries: int = 0
    sealed: int = 0
    seals: int = 0
    head: str | None = None
    problems: list[Reason] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def unsealed(self) -> int:
        return self.entries - self.sealed


def parse_anchors(anchors: Iterable[str]) -> list[str]:
    """Anchors as given (hex digests a seal printed), checked before anything is read."""
    parsed = []
    for anchor in anchors:
        value = anchor.strip().lower()
        if not ANCHOR.fullmatch(value):
            raise InputError(Reason("--anchor：“{value}”不是封存摘要（64位十六进制）", value=anchor))
        parsed.append(value)
    return parsed


def verify(engine: Engine, anchors: Iterable[str] = ()) -> Verification:
    """Fold every entry again and compare each seal; each ``anchor`` must be the digest of one of the seals.
    A seal that does not match is reported and the fold goes on from its stored digest, so each damaged range
    is named on its own."""
    wanted = parse_anchors(anchors)
    found = Verification()
    with engine.connect() as connection:
        seals = _seals(connection)
        digest, previous = GENESIS, 0
        for s in seals:
            if s.after_id != previous:
                found.problems.append(Reason("封存#{seal}：接续的是条目{after}之后，上一个封存止于条目{previous}",
                                             seal=s.id, after=s.after_id, previous=previous))
                digest = _start_of(seals, s)
            digest, count, _ = fold(digest, _entries(connection, s.after_id, s.last_id))
            found.entries += count
            if count != s.entries:
                found.problems.append(Reason("封存#{seal}（条目{first}至{last}）：封存时{sealed}条，现有{count}条",
                                             seal=s.id, first=s.after_id + 1, last=s.last_id, sealed=s.entries,
                                             count=count))
            elif digest.hex() != s.digest:
                found.problems.append(Reason("封存#{seal}（条目{first}至{last}）：摘要不符，其中有条目被改动",
                                             seal=s.id, first=s.after_id + 1, last=s.last_id))
            found.sealed += count
            digest, previous = bytes.fromhex(s.digest), s.last_id
        found.entries += sum(1 for _ in _entries(connection, previous))
    found.seals = len(seals)
    found.head = seals[-1].digest if seals else None
    digests = {s.digest for s in seals}
    found.problems += [Reason("锚点{anchor}不是任何封存的摘要：封存被改写过", anchor=a) for a in wanted
                       if a not in digests]
    return found


def _start_of(seals: list[Seal], seal: Seal) -> bytes:
    """The digest a seal continues from, as the seals say (the one that ends where it starts)."""
    before = [s for s in seals if s.last_id == seal.after_id and s.id < seal.id]
    return bytes.fromhex(before[-1].digest) if before else GENESIS
