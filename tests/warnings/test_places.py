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
                         # the right station of another city
                         (Actor("o", Role.police_station, city="泉州市", station="siming-zhonghua"), "station")):
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
