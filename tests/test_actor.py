"""Who acts: an actor is named in the audit log as its role and its own place, or refused."""

from __future__ import annotations

import pytest

from aegis.reasons import InputError
from aegis.usecases.actor import Actor, Role, Unidentified


@pytest.mark.parametrize(("role", "places", "label"), [
    (Role.telco, {"institution": "CMCC"}, "telco:CMCC/u"),
    (Role.bank, {"institution": "工商银行", "city": "厦门市"}, "bank:工商银行/u"),
    (Role.platform, {"institution": "某小贷平台"}, "platform:某小贷平台/u"),
    (Role.police_station, {"district": "思明区", "station": "中华派出所"}, "police_station:中华派出所/u"),
    (Role.district_bureau, {"district": "思明区"}, "district_bureau:思明区/u"),
    (Role.city_centre, {"city": "厦门市"}, "city_centre:厦门市/u"),
    (Role.auditor, {}, "auditor/u"),
])
def test_an_actor_is_labelled_by_its_own_place(role, places, label):
    assert Actor("u", role, **places).label == label


@pytest.mark.parametrize(("role", "places", "field"), [
    # the audit's cases: a telco's station took the telco's place in the label, an auditor posed as a bank
    (Role.telco, {"institution": "CMCC", "station": "思明区中华派出所"}, "station"),
    (Role.auditor, {"institution": "bank1"}, "institution"),
    (Role.telco, {"institution": "CMCC", "district": "思明区"}, "district"),
    (Role.city_centre, {"district": "思明区"}, "district"),
    (Role.district_bureau, {"district": "思明区", "station": "中华派出所"}, "station"),
    (Role.police_station, {"district": "思明区", "station": "中华派出所", "institution": "CMCC"}, "institution"),
    (Role.analyst, {"station": "中华派出所"}, "station"),
    (Role.system, {"institution": "CMCC"}, "institution"),
])
def test_a_place_the_role_has_none_of_is_refused_naming_it(role, places, field):
    with pytest.raises(InputError) as refused:
        Actor("u", role, **places)
    assert not isinstance(refused.value, Unidentified)
    assert str(refused.value).startswith(f"{field}: the {role.value} role has no {field}")


@pytest.mark.parametrize(("field", "value", "code"), [
    ("user", "t9\nrole=city_centre", "000A"), ("user", "\x1b[31mt9", "001B"), ("user", "t\t9", "0009"),
    ("institution", "CMCC\x1b[0m", "001B"), ("institution", "CM\u202eCC", "202E"), ("city", "厦门\r", "000D"),
    # letters to Unicode that show as nothing: "o1" and a Hangul filler read as "o1" in the log
    ("user", "o1\u3164", "3164"), ("user", "o\u115f1", "115F"), ("user", "o1\uffa0", "FFA0"),
    ("user", "o\u034f1", "034F"),
    ("institution", "CMCC\ufe0f", "FE0F"), ("user", "o1\u2800", "2800"),
])
def test_control_and_invisible_characters_in_a_name_are_refused(field, value, code):
    names = {"user_id": "u", "institution": "CMCC"} | {"user_id" if field == "user" else field: value}
    with pytest.raises(InputError, match=f"^{field}: must not contain control or invisible characters "
                                         f"\\(U\\+{code} at character"):
        Actor(role=Role.telco, **names)


def test_a_station_or_district_with_control_characters_is_refused():
    with pytest.raises(InputError, match=r"^station: must not contain control"):
        Actor("u", Role.police_station, district="思明区", station="中华\x00派出所")
    with pytest.raises(InputError, match=r"^district: must not contain control"):
        Actor("u", Role.police_station, district="思明\u200b区", station="中华派出所")


def test_a_missing_name_is_unidentified():
    for role, places in ((Role.telco, {}), (Role.police_station, {"district": "思明区"}),
                         (Role.district_bureau, {}), (Role.city_centre, {})):
        with pytest.raises(Unidentified):
            Actor(" " if role is Role.city_centre else "u", role, **places)


def test_a_user_name_with_a_slash_is_refused_as_it_would_read_as_another_actor():
    """The label ends "/user": with a "/" in the name, station A's user "B/u" and station "A/B"'s user "u" are
    one label, and the log could not tell who acted."""
    assert Actor("u", Role.police_station, district="d", station="A/B").label == "police_station:A/B/u"
    for name in ("B/u", "B／u", "B∕u", "B⁄u"):  # and the slashes a reader takes for one: full-width, division...
        with pytest.raises(InputError, match=r"^user: must not contain '/'"):
            Actor(name, Role.police_station, district="d", station="A")


def test_the_api_refuses_a_user_header_with_a_slash(sqlite_engine):
    from fastapi.testclient import TestClient

    from aegis.api.app import create_app

    refused = TestClient(create_app(sqlite_engine)).get(
        "/api/v1/audit", headers={"X-Aegis-User": "A/u", "X-Aegis-Role": "city_centre"})
    assert refused.status_code == 400 and refused.json()["detail"].startswith("user: must not contain '/'")


def test_the_funds_commands_name_the_user_option_when_its_name_is_refused(tmp_path):
    from typer.testing import CliRunner

    from aegis.cli.funds import app as funds_cli
    from aegis.store import open_engine

    url = f"sqlite:///{tmp_path / 'a.db'}"
    open_engine(url).dispose()  # a store there, so the user is what is refused
    refused = CliRunner().invoke(funds_cli, ["orders", "list", "--user", "a/b", "--db", url])
    assert refused.exit_code == 2 and refused.stderr.startswith("错误：--user：不能含“/”"), refused.stderr
