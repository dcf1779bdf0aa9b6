from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, event, insert, inspect, select, text
from sqlalchemy.exc import DBAPIError

from aegis.events import Transfer
from aegis.reasons import render
from aegis.store import AuditLog, EventRepository, open_engine, upgrade
from aegis.store.repositories import AuditLog as AuditLogClass
from aegis.store.schema import EVENT_TABLES
from legacy_ids import as_written_id


def _transfer(amount: str, minute: int = 0) -> dict:
    return _record(amount, minute).model_dump()


def _record(amount: str, minute: int = 0, second: int = 0) -> Transfer:
    return Transfer(
        payer_account="6222000011112222",
        payee_account="6217000033334444",
        payer_bank="ICBC",
        payee_bank="CCB",
        amount=amount,
        time=f"2026-10-01 10:{minute:02d}:{second:02d}",
    )


def store_as_written(engine: Engine, transfers: list[Transfer]) -> None:
    """Transfers as a store written before ids read amounts to the fen holds them: under the amount as written."""
    with engine.begin() as connection:
        connection.execute(insert(EVENT_TABLES["transfer"]),
                           [{**t.model_dump(), "event_id": as_written_id(t)} for t in transfers])


def test_schema_is_created_and_upgrade_is_idempotent(engine):
    upgrade(engine)
    upgrade(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"call", "sms", "transfer", "report", "audit_log", "ingest_run", "alembic_version"} <= tables


def test_inserts_are_idempotent_and_money_and_times_round_trip(engine):
    repo = EventRepository(engine)
    rows = [_transfer("0.10", 1), _transfer("99999999.99", 2)]
    with engine.begin() as connection:
        assert len(repo.add_many("transfer", rows, connection)) == 2
    with engine.begin() as connection:
        assert repo.add_many("transfer", rows, connection) == set()
        # what the store gives back is what validation made of the rows: the same events, not other values
        assert repo.differs("transfer", rows, connection) == [False, False]
        assert repo.differs("transfer", [dict(rows[0], amount=Decimal("0.11"))], connection) == [True]
    frame = repo.frame("transfer")
    assert len(frame) == 2
    assert sorted(frame["amount"]) == [Decimal("0.10"), Decimal("99999999.99")]
    assert frame["time"].min() == datetime(2026, 10, 1, 2, 1, tzinfo=UTC)


def test_a_transfer_stored_under_its_amount_as_written_is_that_transfer_again(engine):
    """A store written before ids read amounts to the fen holds "10.5" under another id than "10.50" gets now:
    a row of that transfer, spelled either way, is the stored one; a row with an id of its own stays its own."""
    old = [_record("10.5", 1), _record("800", 2), _record("1,000.50", 3), _record("7.25", 4), _record("1e3", 5)]
    store_as_written(engine, old)
    repo = EventRepository(engine)
    same = [t.model_dump() for t in old]
    respelled = [_transfer(amount, minute) for amount, minute in
                 (("10.50", 1), ("800.00", 2), ("1000.5", 3), ("7.250", 4), ("1000", 5))]
    given = {**respelled[0], "event_id": "bank-42"}
    with engine.begin() as connection:
        stored = [as_written_id(t) for t in old]
        assert [r["event_id"] for r in repo.as_stored("transfer", [*respelled, given], connection)] == [
            *stored, "bank-42"]
        assert repo.add_many("transfer", same, connection) == set()
        assert repo.add_many("transfer", [*respelled, given], connection) == {"bank-42"}
    assert repo.ids("transfer") == {*stored, "bank-42"}


def test_former_ids_are_looked_up_in_one_query_a_batch(engine):
    """The look-up of former ids costs one query for a batch, not one a row, on either engine."""
    transfers = [_record(f"{n}.5", n // 60 % 60, n % 60) for n in range(1, 3001)]
    store_as_written(engine, transfers[::2])
    repo = EventRepository(engine)
    statements: list[str] = []

    def listener(connection, cursor, statement, *rest) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    respelled = [_record(f"{n}.50", n // 60 % 60, n % 60).model_dump() for n in range(1, 3001)]
    try:
        with engine.begin() as connection:
            new = repo.add_many("transfer", respelled, connection)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert new == {t.event_id for t in transfers[1::2]}
    assert repo.count("transfer") == 3000
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_failed_transaction_stores_nothing(engine):
    repo = EventRepository(engine)
    try:
        with engine.begin() as connection:
            repo.add_many("transfer", [_transfer("5.00")], connection)
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    assert repo.count("transfer") == 0


def test_audit_log_appends_and_offers_no_update(engine):
    log = AuditLog(engine)
    log.append(
        actor="station:中华派出所/officer-7",
        action="warning.raise",
        subject_type="person",
        subject_id="p-1",
        reasons=["收到冒充公检法短信", "通话12分钟"],
        details={"level": "high"},
    )
    log.append(
        actor="system", action="decision.block", subject_type="number", subject_id="17000000000", reasons=["诈骗号码"]
    )
    entries = log.entries()
    assert [e["action"] for e in entries] == ["warning.raise", "decision.block"]
    assert render(entries[0]["reasons"]) == ["收到冒充公检法短信", "通话12分钟"]
    assert entries[0]["at"].tzinfo is not None
    assert log.entries("person", "p-1")[0]["details"] == {"level": "high"}
    assert not any(hasattr(AuditLogClass, name) for name in ("update", "delete", "remove"))
    # nor does the database let any client rewrite it
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="audit_log is append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    assert [e["actor"] for e in log.entries()] == ["station:中华派出所/officer-7", "system"]
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="audit_log is append-only"), engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_log"))


def test_a_domain_and_a_long_events_lead_are_stored_whole(engine):
    """A URL decision's subject is its domain, up to 253 characters; a lead's id an event's (up to 80) and its
    kind: PostgreSQL's VARCHAR(80) refused both, failing the batch they came in (migration 0010 widens them)."""
    from aegis.store.schema_warnings import warning_lead

    domain = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(domain) == 253
    AuditLog(engine).append(actor="system", action="decision.url.block", subject_type="domain", subject_id=domain,
                            reasons=["钓鱼网站"])
    assert [e["subject_id"] for e in AuditLog(engine).entries("domain", domain)] == [domain]
    lead = f"{'e' * 80}:sms"
    with engine.begin() as conn:
        conn.execute(warning_lead.insert().values(warning_id="wrn-1", lead_id=lead, time=datetime.now(UTC),
                                                  probability=0.9, level="high"))
        assert conn.execute(select(warning_lead.c.lead_id)).scalar_one() == lead


def test_default_url_is_embedded_sqlite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AEGIS_DATABASE_URL", raising=False)
    engine = open_engine()
    assert engine.dialect.name == "sqlite"
    assert (tmp_path / "var" / "aegis.db").is_file()
    engine.dispose()


@pytest.mark.parametrize(("url", "message"), [
    ("foo", "database: 'foo' is not a database URL"),
    ("mysql://a@b/c", "database: 'mysql' is not supported"),
])
def test_a_database_url_aegis_cannot_open_is_named(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        open_engine(url)


def test_a_file_that_is_no_sqlite_store_is_named_and_left_as_it_is(tmp_path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_text("hello, not a database\n")
    for existing in (True, False):
        with pytest.raises(ValueError, match=f"database: {notes} is not a SQLite store"):
            open_engine(f"sqlite:///{notes}", existing=existing)
    assert notes.read_text() == "hello, not a database\n"


def test_a_command_that_reads_does_not_make_another_applications_database_a_store(tmp_path) -> None:
    """Reading commands open a store that must exist (``existing``): an empty file or another application's
    SQLite database is named, not migrated into an Aegis store; a command that writes (ingest, db upgrade) may."""
    import sqlite3

    other, empty = tmp_path / "other.db", tmp_path / "empty.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE x (a)")
    connection.close()
    empty.touch()
    for path in (other, empty):
        with pytest.raises(ValueError, match=f"database: {path} is not an Aegis store"):
            open_engine(f"sqlite:///{path}", existing=True)
    assert empty.stat().st_size == 0
    with sqlite3.connect(other) as connection:
        assert connection.execute("SELECT name FROM sqlite_master").fetchall() == [("x",)]
    connection.close()
    open_engine(f"sqlite:///{empty}").dispose()  # made a store by a command that writes
    open_engine(f"sqlite:///{empty}", existing=True).dispose()


def test_migrations_build_exactly_the_declared_schema(engine: Engine) -> None:
    """Alembic's head and the tables declared in aegis.store.schema* agree (no missing migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from aegis.store.schema import metadata

    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_chases_stored_before_the_seed_table_give_it_each_transfer_once(database_url: str) -> None:
    """Migration 0009 fills fund_chase_seed from the chases already stored: a transfer in two goes to the first."""
    from alembic import command
    from sqlalchemy import insert, select

    from aegis.store.engine import alembic_config, make_engine
    from aegis.store.schema_funds import fund_chase, fund_chase_seed

    engine = make_engine(database_url)
    try:
        config = alembic_config(engine)
        command.upgrade(config, "0008")
        at = datetime(2026, 10, 1, tzinfo=UTC)
        rows = [(f"CH-{n}", [f"T{s}" for s in seeds], at.replace(hour=n))
                for n, seeds in ((2, [1, 2]), (1, [2, 3]), (3, []))]
        with engine.begin() as conn:
            conn.execute(insert(fund_chase), [
                {"chase_id": cid, "report_event_id": None, "victims": ["P"],
                 "seeds": [{"event_id": e, "victim": "P", "amount": "1.00"} for e in seeds], "loss": Decimal(1),
                 "rule": "fifo", "max_hops": 4, "status": "open", "traced_at": when, "reached": [], "flagged": [],
                 "policy_version": "1", "created_by": "desk", "created_at": when, "updated_at": when}
                for cid, seeds, when in rows])
        command.upgrade(config, "head")
        with engine.connect() as conn:
            stored = dict(conn.execute(select(fund_chase_seed.c.event_id, fund_chase_seed.c.chase_id)).all())
        assert stored == {"T1": "CH-2", "T2": "CH-1", "T3": "CH-1"}
    finally:
        engine.dispose()


def test_orders_answered_before_answer_times_were_kept_take_theirs_from_their_history(database_url: str) -> None:
    """Migration 0012 gives each order the bank had answered its answer's time, from the order's audit entries (an
    acknowledgement is no answer); an order not answered yet has none."""
    from alembic import command
    from sqlalchemy import insert, select

    from aegis.store.engine import alembic_config, make_engine
    from aegis.store.schema import audit_log
    from aegis.store.schema_funds import fund_chase, fund_order

    engine = make_engine(database_url)
    try:
        config = alembic_config(engine)
        command.upgrade(config, "0011")
        at = datetime(2026, 10, 1, 2, tzinfo=UTC)
        with engine.begin() as conn:
            conn.execute(insert(fund_chase).values(
                chase_id="CH", report_event_id=None, victims=["P"], seeds=[], loss=Decimal(1), rule="fifo",
                max_hops=4, status="open", traced_at=at, reached=[], flagged=[], policy_version="1",
                created_by="desk", created_at=at, updated_at=at))
            conn.execute(insert(fund_order), [
                {"order_id": oid, "chase_id": "CH", "kind": "stop_payment", "account": f"A{oid}", "bank": "B",
                 "state": state, "hop": 1, "seq": 0, "requested": Decimal(100), "held": None, "taint": {}, "path": [],
                 "reasons": [], "legal_basis": "x" * 10, "contact": None, "respond_by": at, "hold_until": None,
                 "reject_reason": None, "parent_order_id": None, "policy_version": "1", "issued_by": "desk",
                 "issued_at": at, "updated_at": at}
                for oid, state in (("O1", "released"), ("O2", "acknowledged"))])
            conn.execute(insert(audit_log), [
                {"at": at.replace(minute=minute), "actor": "bank", "action": f"order.stop_payment.{state}",
                 "subject_type": "fund_order", "subject_id": oid, "reasons": [], "details": {}}
                for oid, state, minute in (("O1", "acknowledged", 10), ("O1", "executed", 40), ("O1", "released", 50),
                                           ("O2", "acknowledged", 5))])
        command.upgrade(config, "head")
        with engine.connect() as conn:
            answered = dict(conn.execute(select(fund_order.c.order_id, fund_order.c.answered_at)).all())
        assert answered == {"O1": at.replace(minute=40), "O2": None}
    finally:
        engine.dispose()


def test_db_upgrade_and_counts_speak_chinese_or_english(tmp_path) -> None:
    from typer.testing import CliRunner

    from aegis.cli.main import app

    url = f"sqlite:///{tmp_path / 'counted.db'}"
    upgraded = CliRunner().invoke(app, ["db", "upgrade", "--db", url])
    assert upgraded.exit_code == 0 and "已建立数据库结构" in upgraded.stdout
    assert "数据库结构已是最新版本" in CliRunner().invoke(app, ["db", "upgrade", "--db", url]).stdout
    assert "schema up to date" in CliRunner().invoke(app, ["db", "upgrade", "--db", url, "--lang", "en"]).stdout
    engine = open_engine(url)
    with engine.begin() as connection:
        EventRepository(engine).add_many("transfer", [_transfer("1200.00"), _transfer("5.00", 1)], connection)
    engine.dispose()
    counted = CliRunner().invoke(app, ["db", "counts", "--db", url])
    assert counted.exit_code == 0, counted.output
    rows = dict(line.strip("│ ").split(" │ ") for line in counted.stdout.splitlines() if line.startswith("│"))
    rows = {kind.strip(): n.strip() for kind, n in rows.items()}
    assert "事件类型" in counted.stdout and "事件数" in counted.stdout
    assert rows["转账"] == "2" and rows["网址访问"] == "0"
    english = CliRunner().invoke(app, ["db", "counts", "--db", url, "--lang", "en"]).stdout
    assert "kind" in english and "events" in english and "URL visit" in english and "网址访问" not in english


def test_db_upgrade_says_which_revisions_it_applied(tmp_path) -> None:
    from alembic import command
    from typer.testing import CliRunner

    from aegis.cli.main import app
    from aegis.store.engine import alembic_config, make_engine, revision

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    command.upgrade(alembic_config(engine), "0006")
    engine.dispose()
    upgraded = CliRunner().invoke(app, ["db", "upgrade", "--db", url, "--lang", "en"])
    assert upgraded.exit_code == 0, upgraded.output
    engine = make_engine(url)
    head = revision(engine)
    engine.dispose()
    assert head != "0006"
    assert f"schema upgraded from revision 0006 to {head}" in " ".join(upgraded.stdout.split())


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite:///:memory:", "sqlite://"])
def test_a_command_that_reads_refuses_an_in_memory_store(url: str) -> None:
    from typer.testing import CliRunner

    from aegis.cli.main import app

    with pytest.raises(ValueError, match="in-memory SQLite store holds nothing"):
        open_engine(url, existing=True)
    listed = CliRunner().invoke(app, ["db", "counts", "--db", url])
    assert listed.exit_code != 0 and "database：内存中的SQLite库里没有可读的内容" in listed.output
    # nor is one made: it would end with the command
    made = CliRunner().invoke(app, ["db", "upgrade", "--db", url, "--lang", "en"])
    assert made.exit_code == 2 and "in-memory SQLite store ends with the command" in made.output


def test_migrations_started_together_on_a_new_database_all_succeed(database_url: str) -> None:
    import subprocess
    import sys

    from aegis.store.engine import make_engine, revision

    # processes, as commands are started (Alembic's context is one per process, not per thread)
    script = f"from aegis.store import open_engine; open_engine({database_url!r})"
    runs = [subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    failures = [err for run in runs if (err := run.communicate(timeout=120)[1]) and run.returncode]
    assert failures == []
    engine = make_engine(database_url)
    try:
        assert revision(engine) is not None and inspect(engine).has_table("fund_chase_seed")
    finally:
        engine.dispose()


def test_the_head_revision_a_store_is_opened_at_is_the_newest_migration(tmp_path) -> None:
    from alembic.script import ScriptDirectory

    from aegis.store.engine import HEAD, alembic_config, make_engine, revision

    engine = make_engine(f"sqlite:///{tmp_path / 'head.db'}")
    assert ScriptDirectory.from_config(alembic_config(engine)).get_current_head() == HEAD
    assert revision(engine) is None
    opened = open_engine(f"sqlite:///{tmp_path / 'head.db'}")
    assert revision(opened) == HEAD
    engine.dispose()
    opened.dispose()


def test_a_store_a_newer_aegis_migrated_is_refused_in_one_line(tmp_path) -> None:
    """Every command, reading ones too, names the store's revision and this Aegis's newest, instead of Alembic's
    traceback ("Can't locate revision")."""
    from sqlalchemy import text
    from typer.testing import CliRunner

    from aegis.cli.main import app
    from aegis.store.engine import HEAD, known_revisions

    assert HEAD in known_revisions() and "0001" in known_revisions()
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    engine = open_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    for command in (["db", "counts"], ["db", "upgrade"], ["warnings", "list", "--user", "c", "--role", "city_centre"]):
        said = CliRunner().invoke(app, [*command, "--db", url, "--lang", "en"])
        assert said.exit_code != 0 and "Traceback" not in said.output, said.output
        assert said.stderr.strip() == (f"error: database: the store's schema is at revision 0099, and this Aegis knows "
                                       f"revisions up to {HEAD} only (a newer Aegis wrote to it): open it with a newer "
                                       "Aegis"), said.stderr
