"""GET /api/v1/funds/contacts: banks' duty posts, on duty or not at a time read as the API reads every time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from aegis.api.app import create_app
from aegis.reasons import InputError
from aegis.usecases.actor import Actor, Role
from aegis.usecases.funds import bank_contacts, load_bank_contacts

CENTRE = {"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre"}
FREEZE_DESK = ("中国工商银行", "freeze_officer")  # staffed 08:30-17:30 China time


@pytest.fixture
def client(sqlite_engine):
    load_bank_contacts(sqlite_engine, Actor("c1", Role.city_centre))
    with TestClient(create_app(sqlite_engine)) as client:
        yield client


def _freeze_desk_on_duty(client, at: str) -> bool:
    answer = client.get("/api/v1/funds/contacts", params={"at": at}, headers=CENTRE)
    assert answer.status_code == 200, answer.text
    return next(c["on_duty"] for c in answer.json() if (c["bank"], c["role"]) == FREEZE_DESK)


def test_at_is_read_as_other_api_times(client):
    assert _freeze_desk_on_duty(client, "2026-10-01T02:00:00Z")  # 10:00 China time
    assert not _freeze_desk_on_duty(client, "2026-10-01T12:00:00Z")  # 20:00
    assert _freeze_desk_on_duty(client, "2026-10-01T10:00:00")  # naive: China time, as a transfer's time is
    assert _freeze_desk_on_duty(client, "20261001100000")  # compact, as bank exports write it
    assert not _freeze_desk_on_duty(client, "2026-10-01 20:00")


@pytest.mark.parametrize(("at", "why"), [
    ("9999-12-31T23:59:59Z", "out of range"), ("0001-01-01T00:00:00Z", "out of range"),
    ("46296", "is a bare number, not a time"), ("1790000000", "is a bare number, not a time"),
    ("tomorrow", "datetime"),
])
def test_a_time_that_is_no_time_is_refused_naming_at(client, at, why):
    answer = client.get("/api/v1/funds/contacts", params={"at": at}, headers=CENTRE)
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["loc"] == ["query", "at"] and why in error["msg"]


def test_the_use_case_names_at_for_a_naive_or_out_of_range_time(sqlite_engine):
    centre = Actor("c1", Role.city_centre)
    with pytest.raises(InputError, match=r"^at: give a timezone-aware time"):
        bank_contacts(sqlite_engine, centre, at=datetime(2026, 10, 1, 10))
    for year in (1, 9999):
        with pytest.raises(InputError, match=f"^at: the year {year} is out of range"):
            bank_contacts(sqlite_engine, centre, at=datetime(year, 12, 31, 23, 59, tzinfo=UTC))
