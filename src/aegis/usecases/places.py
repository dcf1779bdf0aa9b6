"""The jurisdictions a store knows (三级联动): the cities, districts and police stations its residents are
registered in.

A police user names a station, a bureau user a district, a centre its city (the gateway's headers, the CLI's
options). Until the identity issue brings a directory of officers, the residents' own registrations are the
directory: a misspelt or invented place is refused rather than taken as a jurisdiction that merely has nothing in
it (its user saw an empty queue and took it for a quiet day), a station user may not name a district that is not
the station's, and a station name two districts share must be told apart by its district.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from aegis.reasons import Reason, listing
from aegis.store.schema import EVENT_TABLES
from aegis.usecases.actor import Actor, PermissionDenied, Role

person = EVENT_TABLES["person"]


def home_places(connection: Connection, persons: Iterable[str]) -> dict[str, tuple[str | None, str, str]]:
    """Where each of ``persons`` the store knows is registered: city, district, police station."""
    wanted = sorted(set(persons))
    out: dict[str, tuple[str | None, str, str]] = {}
    for start in range(0, len(wanted), 900):  # SQLite's bound parameters, as the store's other look-ups
        query = select(person.c.person_id, person.c.city, person.c.district, person.c.station).where(
            person.c.person_id.in_(wanted[start:start + 900]))
        out.update((r.person_id, (r.city, r.district, r.station)) for r in connection.execute(query))
    return out


def check_place(connection: Connection, actor: Actor) -> None:
    """Refuses a city, a police station or a district bureau the store has no resident of (within the actor's city,
    when it names one), a station user's district other than the station's own, and a station user who does not
    say which of two districts' stations of that name is theirs."""
    if actor.role is Role.system:
        return
    check_city(connection, actor)
    if actor.role is Role.police_station:
        query = select(person.c.district).where(person.c.station == actor.station).distinct()
        if actor.city:
            query = query.where(person.c.city == actor.city)
        districts = sorted(connection.execute(query).scalars())
        if not districts:
            raise PermissionDenied(Reason(
                "station：本库没有登记在“{station}”的居民，无从确定它的辖区（派出所名称须与居民登记的一致）",
                station=f"{actor.city or ''}{actor.station}"))
        if actor.district and actor.district not in districts:
            raise PermissionDenied(Reason("district：“{station}”属于{districts}，不属于“{district}”",
                                          station=actor.station, districts=listing(districts),
                                          district=actor.district))
        if not actor.district and len(districts) > 1:
            # the listing would be scoped by the name alone: each district's station would work the other's
            raise PermissionDenied(Reason("district：{districts}都有“{station}”，须指明是哪个区的",
                                          station=actor.station, districts=listing(districts)))
    elif actor.role is Role.district_bureau:
        query = select(person.c.district).where(person.c.district == actor.district).limit(1)
        if actor.city:
            query = query.where(person.c.city == actor.city)
        if connection.execute(query).first() is None:
            raise PermissionDenied(Reason(
                "district：本库没有登记在“{district}”的居民，无从确定它的辖区（分局名称须与居民登记的一致）",
                district=f"{actor.city or ''}{actor.district}"))


def check_city(connection: Connection, actor: Actor) -> None:
    """Refuses a city (the actor's, when it names one) the store has no resident of."""
    if actor.city and actor.role is not Role.system and connection.execute(
            select(person.c.city).where(person.c.city == actor.city).limit(1)).first() is None:
        raise PermissionDenied(Reason(
            "city：本库没有登记在“{city}”的居民，无从确定它的辖区（城市名称须与居民登记的一致）", city=actor.city))
