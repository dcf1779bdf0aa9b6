"""Opening the store: SQLite by default, PostgreSQL when ``AEGIS_DATABASE_URL`` points at one.

Opening always brings the schema up to date with the Alembic migrations that ship in the package, so the
embedded default needs no set-up and a PostgreSQL deployment runs the same migrations.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from aegis.reasons import InputError, Reason

DEFAULT_URL = "sqlite:///var/aegis.db"


def database_url(url: str | None = None) -> str:
    return url or os.environ.get("AEGIS_DATABASE_URL") or DEFAULT_URL


WRITE = "aegis_write"
"""the execution option of a transaction that writes (see :func:`begin_write`)"""


def begin_write(engine: Engine) -> AbstractContextManager[Connection]:
    """A transaction that writes, as ``engine.begin()``; on SQLite it holds the write lock from its first
    statement (BEGIN IMMEDIATE), so what it reads cannot change before it writes: two officers taking one
    warning at once are served one after the other, as PostgreSQL's row locks serve them."""
    return engine.execution_options(**{WRITE: True}).begin()


def _sqlite_begin(connection: Connection) -> None:
    # pysqlite's own BEGIN is deferred and comes only before the first INSERT/UPDATE/DELETE, so a use case's
    # reads ran outside its transaction and two writers could both act on what they read (SQLAlchemy's
    # documented recipe: turn the driver's handling off in _sqlite_pragmas and emit BEGIN here). Readers keep
    # a plain BEGIN: in WAL mode they neither wait for a writer nor block one.
    connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get(WRITE) else "BEGIN")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the API, the dashboard) run while an ingest writes; NORMAL is durable at each
    # commit in WAL mode except on power loss, which is the usual trade for an embedded store.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


SUPPORTED = ("sqlite", "postgresql")



def _not_aegis(path: str | None) -> InputError:
    return InputError(Reason("database：{path}不是Aegis的库（没有Aegis的数据库结构；`aegis db upgrade` 会在其中建立）",
                             path=path))


def _is_sqlite(path: Path) -> bool:
    """Whether a file starts as every SQLite database does (its documented 16-byte header string)."""
    with path.open("rb") as handle:
        return handle.read(16) == b"SQLite format 3\x00"


def make_engine(url: str | None = None, *, existing: bool = False) -> Engine:
    """An engine for ``url`` (default: :func:`database_url`). With ``existing``, an embedded store must be there
    already: a command that reads (lists, counts, works on warnings or orders) would otherwise create an empty
    one at a mistyped path and answer with nothing."""
    url = database_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(Reason("database：“{url}”不是数据库URL（sqlite:///PATH 或 postgresql://USER@HOST/DB）",
                                url=url)) from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise InputError(Reason("database：不支持“{backend}”（只支持sqlite或postgresql）",
                                backend=parsed.get_backend_name()))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if existing and parsed.database in (None, "", ":memory:"):
            raise InputError(Reason("database：内存中的SQLite库里没有可读的内容（请给出文件：sqlite:///PATH）"))
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            if existing and not path.is_file():
                raise InputError(Reason("database：找不到库{path}（`aegis ingest` 或 `aegis db upgrade` 会创建一个；"
                                        "请检查 --db 或 $AEGIS_DATABASE_URL）", path=parsed.database))
            if existing and not path.stat().st_size:  # refused before a connection writes a WAL header into it
                raise _not_aegis(parsed.database)
            if path.is_file() and path.stat().st_size and not _is_sqlite(path):
                raise InputError(Reason("database：{path}不是SQLite库（请检查 --db 或 $AEGIS_DATABASE_URL）",
                                        path=parsed.database))
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config  # Alembic is imported only when a store needs migrating (0.4 s a command)

    config = Config()
    config.set_main_option("script_location", str(resources.files("aegis.store") / "migrations"))
    config.attributes["engine"] = engine
    return config


HEAD = "0016"
"""the newest migration's revision (a test holds it to the migrations folder): a store already at it is opened
without importing Alembic, which cost every command about 0.4 s"""


def known_revisions() -> frozenset[str]:
    """The migrations this Aegis has (their files' four-digit revisions), read without importing Alembic."""
    versions = resources.files("aegis.store") / "migrations" / "versions"
    return frozenset(entry.name[:4] for entry in versions.iterdir()
                     if entry.name.endswith(".py") and entry.name[:4].isdigit())


def revision(engine: Engine) -> str | None:
    """The schema's migration revision, as Alembic keeps it in its version table (None for a store with no
    schema yet)."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine) -> str | None:
    """Apply every migration not yet applied (a no-op on an up-to-date store); the revision it found the store
    at (None: a new store), read under the migrations' lock."""
    from alembic import command

    found = revision(engine)
    if found is not None and found not in known_revisions():
        # a store a newer Aegis migrated: Alembic's "Can't locate revision" came as a 100-line traceback from every
        # command, reading ones too
        raise InputError(Reason(
            "database：库的结构版本是{found}，这个Aegis只认得到{head}为止（库由更新的Aegis写过）：请用更新的Aegis打开它",
            found=found, head=HEAD))
    config = alembic_config(engine)
    command.upgrade(config, "head")
    return config.attributes.get("found")


def open_engine(url: str | None = None, *, existing: bool = False) -> Engine:
    """:func:`make_engine`, with the schema brought up to date."""
    engine = make_engine(url, existing=existing)
    found = revision(engine)
    if found is None and existing:
        # a store is there (make_engine saw to that) but Aegis never made it: another application's database,
        # an empty file. A command that only reads must not migrate it into one of Aegis's.
        where = engine.url.database if engine.url.get_backend_name() == "sqlite" else engine.url.render_as_string()
        engine.dispose()
        raise _not_aegis(where)
    if found != HEAD:
        upgrade(engine)
    return engine
