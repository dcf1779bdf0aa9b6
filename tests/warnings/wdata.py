"""Shared data of the warning tests (imported by conftest and the tests: conftest is not for importing)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from aegis.actions.warnings import WarningRequest
from aegis.events.models import Person
from aegis.store.repositories import EventRepository
from aegis.usecases.actor import Actor, Role

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
#: person -> (district, station); ASCII because the API carries them in HTTP headers (latin-1 only)
RESIDENTS = {
    "P1": ("siming", "siming-zhonghua"),
    "P2": ("siming", "siming-lujiang"),
    "P3": ("huli", "huli-huli"),
}
CENTRE = Actor("c1", Role.city_centre)
SYSTEM = Actor("aegis", Role.system)


def station_actor(person: str, user: str = "officer") -> Actor:
    district, station = RESIDENTS[person]
    return Actor(user, Role.police_station, district=district, station=station)


def request(person: str = "P1", level: str = "medium", lead: str = "lead-1", ftype: str = "impersonate_police",
            p: float = 0.85, at: datetime = T0) -> WarningRequest:
    return WarningRequest(person, ftype, p, level, (f"reason of {lead}",), lead, at)



def add_residents(engine: Engine) -> None:
    rows = [Person(person_id=p, age=60, gender="F", occupation="退休人员", city="厦门市", district=d, station=s)
            .model_dump() for p, (d, s) in RESIDENTS.items()]
    with engine.begin() as connection:
        EventRepository(engine).add_many("person", rows, connection)


def add_person(url: str, person: str, district: str, station: str) -> None:
    """One more resident, of a station the others are not registered in."""
    from aegis.store import open_engine

    row = Person(person_id=person, age=40, gender="M", occupation="职员", city="厦门市", district=district,
                 station=station).model_dump()
    engine = open_engine(url)
    with engine.begin() as connection:
        EventRepository(engine).add_many("person", [row], connection)
