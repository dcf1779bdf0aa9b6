"""Seals over the audit log: a SHA-256 chain that shows an entry changed, removed or slipped in below a seal, and
anchors that show the seals themselves rewritten. On SQLite and on a real PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from aegis.cli.main import app as cli
from aegis.reasons import InputError
from aegis.store import AuditLog, begin_write, open_engine
from aegis.store.audit_seal import entry_digest, seal, verify
from aegis.store.schema import audit_log, audit_seal
from aegis.usecases.actor import Actor, PermissionDenied, Role
from aegis.usecases.audit import seal_audit, verify_audit


def _append(engine: Engine, n: int, start: int = 0) -> None:
    AuditLog(engine).append_many([{"actor": "system/aegis", "action": "decision.sms.block", "subject_type": "number",
                                   "subject_id": f"139{start + i:08d}", "reasons": ["冒充客服"],
                                   "details": {"score": 0.97, "n": start + i}} for i in range(n)])


def _tamper(engine: Engine, *statements: str) -> None:
    """What someone with the database's own rights can still do: lift the append-only triggers, then write."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
            connection.execute(text("ALTER TABLE audit_seal DISABLE TRIGGER USER"))
        else:
            for name in ("audit_log_no_update", "audit_log_no_delete", "audit_seal_no_update", "audit_seal_no_delete"):
                connection.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        for statement in statements:
            connection.execute(text(statement))


def test_each_seal_covers_the_entries_since_the_one_before(engine):
    assert seal(engine, by="t") == (None, False)  # an empty log: nothing to seal
    _append(engine, 3)
    first, wrote = seal(engine, by="system/aegis")
    assert wrote and first is not None and (first.after_id, first.entries) == (0, 3)
    assert seal(engine, by="t") == (first, False)  # a retry, or a schedule with nothing new, writes nothing
    _append(engine, 2, start=3)
    second, wrote = seal(engine, by="t")
    assert wrote and second is not None and (second.after_id, second.last_id, second.entries) == (first.last_id,
                                                                                                   first.last_id + 2, 2)
    assert second.digest != first.digest
    _append(engine, 1, start=5)
    found = verify(engine, anchors=[first.digest, second.digest.upper()])
    assert found.intact, found.problems
    assert (found.entries, found.sealed, found.unsealed, found.seals, found.head) == (6, 5, 1, 2, second.digest)


def test_a_digest_reads_an_entry_as_stored_on_either_backend(engine):
    """The bytes hashed are the entry as read back (unicode, nested JSON, floats, nulls), the same as written."""
    written = {"id": 7, "at": datetime(2026, 11, 29, 1, 2, 3, 456789, tzinfo=UTC), "actor": "police_station:中华/警员1",
               "action": "warning.close", "subject_type": "person", "subject_id": "P-1",
               "reasons": [{"msg": "已劝阻：{who}", "args": {"who": "本人"}}],
               "details": {"score": 0.1, "levels": [1, 2.5, None], "note": "“引号”\n换行"}, "request_key": None}
    with engine.begin() as connection:
        connection.execute(insert(audit_log).values(written))
        stored = connection.execute(select(audit_log)).one()._mapping
    assert entry_digest(stored) == entry_digest(written)
    assert entry_digest({**written, "details": {**written["details"], "score": 0.10000001}}) != entry_digest(written)


def test_a_change_a_removal_and_an_entry_slipped_in_are_each_named_by_their_seal(engine):
    for start in (0, 3, 6):
        _append(engine, 3, start=start)
        seal(engine, by="t")
    _append(engine, 1, start=9)  # not sealed yet: nothing to compare it with
    ids = [e["id"] for e in AuditLog(engine).entries()]
    _tamper(engine, f"UPDATE audit_log SET actor = 'someone else' WHERE id = {ids[1]}",
            f"DELETE FROM audit_log WHERE id = {ids[4]}")
    found = verify(engine)
    assert not found.intact
    problems = [p.text("en") for p in found.problems]
    assert len(problems) == 2, problems
    assert problems[0].startswith("seal #1 ") and "digest differs" in problems[0]
    assert problems[1].startswith("seal #2 ") and "3 entries when sealed, 2 now" in problems[1]
    # the removed entry put back with other words: the count is right again, the digest is not
    _tamper(engine, f"INSERT INTO audit_log (id, at, actor, action, subject_type, subject_id, reasons, details) "
                    f"SELECT {ids[4]}, at, actor, action, subject_type, '13900000000', reasons, details "
                    f"FROM audit_log WHERE id = {ids[3]}")
    problems = [p.text("en") for p in verify(engine).problems]
    assert len(problems) == 2 and problems[1].startswith("seal #2 ") and "digest differs" in problems[1], problems


def test_only_an_anchor_kept_elsewhere_shows_a_log_rewritten_with_its_seals(engine):
    _append(engine, 4)
    anchor = seal(engine, by="t")[0].digest  # type: ignore[union-attr]
    _tamper(engine, "UPDATE audit_log SET subject_id = '13800000000'", "DELETE FROM audit_seal")
    seal(engine, by="t")  # sealed again over the rewritten entries: consistent in itself
    assert verify(engine).intact
    found = verify(engine, anchors=[anchor])
    assert [p.text("en") for p in found.problems] == [f"anchor {anchor} is no seal's digest: the seals were rewritten"]


def test_seals_are_append_only_in_the_database(engine):
    _append(engine, 1)
    seal(engine, by="t")
    for statement in ("UPDATE audit_seal SET digest = 'x'", "DELETE FROM audit_seal"):
        with pytest.raises(DBAPIError, match="audit_seal is append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="audit_seal is append-only"), engine.begin() as connection:
            connection.execute(text("TRUNCATE audit_seal"))


def test_entries_written_while_seals_are_taken_are_sealed_in_order(engine):
    """Writers hold their transactions open a moment after appending (as a use case does while it goes on), so a
    sealer that did not wait for them would seal ids above one still to commit, and verify would find it."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for i in range(25):
                with begin_write(engine) as connection:
                    AuditLog(engine).append_many([{"actor": f"system/w{w}", "action": "decision.call.warn",
                                                   "subject_type": "number", "subject_id": f"1{w}{i:09d}"}],
                                                 connection=connection)
                    time.sleep(0.005)
                time.sleep(0.005)  # and let a sealer in between
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    def sealer() -> None:
        try:
            while not stop.is_set():
                seal(engine, by="system/sealer")
        except BaseException as exc:
            errors.append(exc)

    writers = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    sealers = [threading.Thread(target=sealer) for _ in range(2)]
    for thread in (*writers, *sealers):
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in sealers:
        thread.join()
    assert not errors, errors
    seal(engine, by="t")
    found = verify(engine)
    assert found.intact, [p.text("en") for p in found.problems]
    assert (found.entries, found.sealed) == (100, 100) and found.seals >= 2
    with engine.connect() as connection:
        chain = connection.execute(select(audit_seal.c.after_id, audit_seal.c.last_id).order_by(audit_seal.c.id)).all()
    assert all(after == before_last for (after, _), (_, before_last) in zip(chain[1:], chain[:-1], strict=True))


def test_who_may_seal_and_verify(sqlite_engine):
    _append(sqlite_engine, 1)
    for role in (Role.system, Role.city_centre, Role.auditor):
        seal_audit(sqlite_engine, Actor("u1", role))
        assert verify_audit(sqlite_engine, Actor("u1", role)).intact
    with pytest.raises(PermissionDenied):
        seal_audit(sqlite_engine, Actor("u1", Role.analyst))
    with pytest.raises(InputError, match="--anchor"):
        verify_audit(sqlite_engine, Actor("u1", Role.auditor), ["not-a-digest"])


def test_the_commands_print_the_anchor_and_exit_1_on_a_broken_log(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    runner = CliRunner()
    open_engine(url).dispose()
    assert "nothing to seal" in runner.invoke(cli, ["db", "seal", "--db", url, "--lang", "en"]).output
    _append(open_engine(url, existing=True), 3)
    sealed = runner.invoke(cli, ["db", "seal", "--db", url, "--lang", "en", "--user", "ops1"])
    assert sealed.exit_code == 0 and "sealed the audit log's entries 1 to 3 (3 entries): seal #1" in sealed.output
    anchor = sealed.output.rsplit(": ", 1)[1].strip()
    assert len(anchor) == 64
    checked = runner.invoke(cli, ["db", "verify", "--db", url, "--anchor", anchor, "--lang", "en"])
    assert checked.exit_code == 0 and "audit log intact: 3 entries, 3 sealed (1 seals)" in checked.output
    refused = runner.invoke(cli, ["db", "verify", "--db", url, "--anchor", "abc", "--lang", "en"])
    assert refused.exit_code == 2 and "--anchor: 'abc' is not a seal's digest" in refused.output
    _tamper(open_engine(url), "DELETE FROM audit_log WHERE id = 2")
    broken = runner.invoke(cli, ["db", "verify", "--db", url, "--json"])
    assert broken.exit_code == 1
    assert '"intact": false' in broken.output and '"unsealed": 0' in broken.output
