"""Shared fixtures: a fresh store on SQLite and, for real, on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from aegis.store import open_engine

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATASETS = SHARED / "datasets"


def postgres_server_url() -> str | None:
    url = os.environ.get("AEGIS_TEST_POSTGRES_URL")
    if not url and os.environ.get("CI"):
        pytest.fail("CI must run the store tests on PostgreSQL: AEGIS_TEST_POSTGRES_URL is not set")
    return url


def fresh_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A new, empty database for one test; dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'aegis.db'}"
        return
    server = postgres_server_url()
    if not server:
        pytest.skip("no PostgreSQL server (set AEGIS_TEST_POSTGRES_URL, as `make test` does)")
    name = f"aegis_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(server).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(request.param, tmp_path)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = open_engine(f"sqlite:///{tmp_path / 'aegis.db'}")
    yield engine
    engine.dispose()


def shared_dataset(*parts: str) -> Path:
    path = DATASETS.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data set not present: {path}")
    return path
