"""The simulated city's geography: 厦门市, its six districts and their police stations.

Kept apart from the simulator because the same table routes warnings (三级联动): a warning about a person
goes to the station of their home jurisdiction, then its district bureau, then the city centre.
Populations are the 2020 census figures (rounded) and set how residents spread over the districts.
"""

from __future__ import annotations

from dataclasses import dataclass

CITY = "厦门市"


@dataclass(frozen=True)
class District:
    name: str
    #: the 6-digit administrative division code, the first six digits of a resident's id number
    code: str
    population: int
    stations: tuple[str, ...]


DISTRICTS: tuple[District, ...] = (
    District("思明区", "350203", 1_073_000, ("中华", "鹭江", "开元", "厦港", "嘉莲", "莲前", "筼筜", "梧村")),
    District("湖里区", "350206", 1_036_000, ("湖里", "江头", "殿前", "禾山", "金山")),
    District("集美区", "350211", 1_036_000, ("集美", "侨英", "杏林", "灌口", "后溪")),
    District("海沧区", "350205", 583_000, ("海沧", "新阳", "东孚", "嵩屿")),
    District("同安区", "350212", 856_000, ("大同", "祥平", "西柯", "五显", "新民")),
    District("翔安区", "350213", 571_000, ("新店", "马巷", "内厝", "大嶝", "新圩")),
)


def station_name(district: District, station: str) -> str:
    """Full station name as used in records, e.g. "思明区中华派出所"."""
    return f"{district.name}{station}派出所"


#: every station of the city as (district name, full station name), in a fixed order
STATIONS: tuple[tuple[str, str], ...] = tuple((d.name, station_name(d, s)) for d in DISTRICTS for s in d.stations)

_DISTRICT_OF_STATION = dict((s, d) for d, s in STATIONS)


def district_of(station: str) -> str:
    """The district bureau above a police station (raises KeyError for an unknown station)."""
    return _DISTRICT_OF_STATION[station]


def jurisdiction_chain(station: str) -> tuple[str, str, str]:
    """(station, district, city): the three levels that share a warning."""
    return station, district_of(station), CITY
