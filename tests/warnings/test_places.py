"""A police user's station and a bureau user's district must be places the store's residents are registered in,
and a station user's district the station's own (aegis.usecases.places)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner
from wdata import SYSTEM, add_residents, request

from aegis.api.app import create_app
from aegis.cli.warnings import app as cli
from aegis.usecases import warnings as uc
from aegis.usecases.actor import Actor, PermissionDenied, Role


@pytest.fixture
def warned(sqlite_engine: Engine) -> Engine:
    add_residents(sqlite_engine)
    uc.raise_warnings(sqlite_engine, SYSTEM, [request(person="P1", lead="L1")])
    return sqlite_engine


def test_an_unknown_station_or_district_is_refused_not_shown_an_empty_queue(warned: Engine) -> None:
    for actor, field in ((Actor("o", Role.police_station, station="siming-zhonghau"), "station"),
                         (Actor("o", Role.district_bureau, district="simming"), "district"),
                         # the right station of another city, and a city misspelt
                         (Actor("o", Role.police_station, city="泉州市", station="siming-zhonghua"), "city"),
                         (Actor("c", Role.city_centre, city="厦门"), "city")):
        with pytest.raises(PermissionDenied) as refused:
            uc.list_warnings(warned, actor)
        assert refused.value.text("zh").startswith(f"{field}：")
        with pytest.raises(PermissionDenied):
            uc.warning_stats(warned, actor)
    # named as the residents are registered, the same places see their warnings
    assert len(uc.list_warnings(warned, Actor("o", Role.police_station, city="厦门市", station="siming-zhonghua"))) == 1
    assert len(uc.list_warnings(warned, Actor("o", Role.district_bureau, district="siming"))) == 1


def test_a_station_user_may_not_name_another_district(warned: Engine) -> None:
    wid = uc.list_warnings(warned, SYSTEM)[0]["warning_id"]
    wrong = Actor("o", Role.police_station, district="huli", station="siming-zhonghua")
    with pytest.raises(PermissionDenied) as refused:
        uc.take_warning(warned, wrong, wid)
    assert refused.value.text("zh") == "district：“siming-zhonghua”属于siming，不属于“huli”"
    assert refused.value.text("en").startswith("district: ")
    assert uc.get_warning(warned, SYSTEM, wid)["status"] == "new"  # nothing was done
    right = Actor("o", Role.police_station, district="siming", station="siming-zhonghua")
    assert uc.take_warning(warned, right, wid)["status"] == "assigned"


def test_the_api_and_the_cli_refuse_an_unknown_station_by_name(warned: Engine) -> None:
    client = TestClient(create_app(warned))
    invented = {"X-Aegis-User": "o1", "X-Aegis-Role": "police_station", "X-Aegis-Station": quote("不存在派出所")}
    answer = client.get("/api/v1/warnings?lang=en", headers=invented)
    assert answer.status_code == 403 and answer.json()["detail"].startswith("station: ")
    assert "不存在派出所" in answer.json()["detail"]
    url = str(warned.url)
    said = CliRunner().invoke(cli, ["list", "--user", "o", "--role", "police_station", "--station", "不存在派出所",
                                    "--db", url])
    assert said.exit_code != 0 and "station：" in said.output and "Traceback" not in said.output
    assert len(said.output.strip().splitlines()) == 1


def test_a_station_name_two_districts_share_is_told_apart_by_the_district(warned: Engine) -> None:
    """A resident of huli registered at siming-zhonghua: the station's name now stands in two districts. Its users
    must say which district is theirs, and each sees its own district's warnings only (siming's user saw and took
    huli's too, the listing being scoped by the station's name alone)."""
    from wdata import add_person

    add_person(str(warned.url), "P9", "huli", "siming-zhonghua")
    uc.raise_warnings(warned, SYSTEM, [request(person="P9", lead="L9")])
    with pytest.raises(PermissionDenied) as refused:
        uc.list_warnings(warned, Actor("o", Role.police_station, station="siming-zhonghua"))
    assert refused.value.text("zh") == "district：huli、siming都有“siming-zhonghua”，须指明是哪个区的"
    for district, person in (("siming", "P1"), ("huli", "P9")):
        actor = Actor("o", Role.police_station, district=district, station="siming-zhonghua")
        assert [w["person_id"] for w in uc.list_warnings(warned, actor)] == [person]
        other = next(w for w in uc.list_warnings(warned, SYSTEM) if w["person_id"] not in (person, "P2", "P3"))
        with pytest.raises(uc.UnknownWarning):
            uc.take_warning(warned, actor, other["warning_id"])


def test_the_api_refuses_a_city_no_resident_is_registered_in_on_every_route(warned: Engine) -> None:
    client = TestClient(create_app(warned))
    misspelt = {"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre", "X-Aegis-City": quote("厦门")}
    for path in ("/api/v1/warnings", "/api/v1/warnings/stats", "/api/v1/funds/reports", "/api/v1/audit"):
        answer = client.get(f"{path}?lang=en", headers=misspelt)
        assert answer.status_code == 403 and answer.json()["detail"].startswith("city: no resident"), path
    right = client.get("/api/v1/warnings", headers={**misspelt, "X-Aegis-City": quote("厦门市")})
    assert right.status_code == 200 and len(right.json()) == 1
