"""The jurisdictions a store knows (三级联动): the districts and police stations its residents are registered in.

A police user names a station, a bureau user a district (the gateway's headers, the CLI's options). Until the
identity issue brings a directory of officers, the residents' own registrations are the directory: a misspelt or
invented station is refused rather than taken as a jurisdiction that merely has nothing in it (its user saw an
empty queue and took it for a quiet day), and a station user may not name a district that is not the station's.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from aegis.reasons import Reason, listing
from aegis.store.schema import EVENT_TABLES
from aegis.usecases.actor import Actor, PermissionDenied, Role

person = EVENT_TABLES["person"]


def check_place(connection: Connection, actor: Actor) -> None:
    """Refuses a police station or district bureau the store has no resident of (in the actor's city, when it
    names one), and a station user's district other than the station's own."""
    if actor.role is Role.police_station:
        query = select(person.c.district).where(person.c.station == actor.station).distinct()
        if actor.city:
            query = query.where(person.c.city == actor.city)
        districts = sorted(connection.execute(query).scalars())
        if not districts:
            raise PermissionDenied(Reason(
                "station：本库没有登记在“{station}”的居民，无从确定它的辖区（派出所名称须与居民登记的一致）",
                station=actor.station))
        if actor.district and actor.district not in districts:
            raise PermissionDenied(Reason("district：“{station}”属于{districts}，不属于“{district}”",
                                          station=actor.station, districts=listing(districts),
                                          district=actor.district))
    elif actor.role is Role.district_bureau:
        query = select(person.c.district).where(person.c.district == actor.district).limit(1)
        if actor.city:
            query = query.where(person.c.city == actor.city)
        if connection.execute(query).first() is None:
            raise PermissionDenied(Reason(
                "district：本库没有登记在“{district}”的居民，无从确定它的辖区（分局名称须与居民登记的一致）",
                district=actor.district))
