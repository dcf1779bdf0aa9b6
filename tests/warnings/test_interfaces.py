"""API routes and CLI commands: each role works its own jurisdiction only."""

from __future__ import annotations

import json
from datetime import UTC, timedelta
from urllib.parse import quote

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner
from wdata import RESIDENTS, SYSTEM, T0, add_person, request

from aegis.api.app import create_app
from aegis.cli.warnings import app as cli
from aegis.usecases import warnings as uc


def headers(person: str) -> dict[str, str]:
    district, station = RESIDENTS[person]
    return {"X-Aegis-User": "o1", "X-Aegis-Role": "police_station", "X-Aegis-District": district,
            "X-Aegis-Station": station}


def test_api_station_workflow_and_isolation(sqlite_engine: Engine) -> None:
    from wdata import add_residents

    add_residents(sqlite_engine)
    uc.raise_warnings(sqlite_engine, SYSTEM, [request(person=p, lead=p) for p in RESIDENTS])
    client = TestClient(create_app(sqlite_engine))
    mine = client.get("/api/v1/warnings", headers=headers("P1")).json()
    assert [w["person_id"] for w in mine] == ["P1"]
    theirs = client.get("/api/v1/warnings", headers=headers("P2")).json()[0]["warning_id"]
    assert client.get(f"/api/v1/warnings/{theirs}", headers=headers("P1")).status_code == 404
    assert client.post(f"/api/v1/warnings/{theirs}/take", headers=headers("P1")).status_code == 404
    wid = mine[0]["warning_id"]
    assert client.post(f"/api/v1/warnings/{wid}/close", headers=headers("P1"),
                       json={"outcome": "dissuaded"}).status_code == 409
    assert client.post(f"/api/v1/warnings/{wid}/take", headers=headers("P1")).json()["status"] == "assigned"
    # dissuaded is a label that needs the person reached: refused as the workflow's other refusals are, 409
    unreached = client.post(f"/api/v1/warnings/{wid}/close?lang=en", headers=headers("P1"),
                            json={"outcome": "dissuaded"})
    assert unreached.status_code == 409
    assert unreached.json()["detail"].startswith("outcome: dissuaded needs a contact that reached the person first")
    hidden = client.post(f"/api/v1/warnings/{wid}/contact?lang=en", headers=headers("P1"),
                         json={"channel": "call", "result": "reached", "note": "ok\u202eeulav"})
    assert hidden.status_code == 422 and hidden.json()["detail"].startswith("note: must not contain control or")
    body = {"channel": "call", "result": "reached", "note": "96110 回访"}
    for _ in range(2):  # a retry after a lost answer, with the attempt's id: one attempt
        assert client.post(f"/api/v1/warnings/{wid}/contact", headers=headers("P1"),
                           json={**body, "request_id": "c-1"}).status_code == 200
    history = client.get(f"/api/v1/warnings/{wid}", headers=headers("P1")).json()["history"]
    assert [h["action"] for h in history].count("warning.contact") == 1
    for bad in ("c 1", "", "x" * 65):  # refused by the body's schema, named, in one shape
        refused = client.post(f"/api/v1/warnings/{wid}/contact", headers=headers("P1"),
                              json={**body, "request_id": bad})
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "request_id"]
    closed = client.post(f"/api/v1/warnings/{wid}/close", headers=headers("P1"),
                         json={"outcome": "false_alarm", "note": "收款人是其房东"})
    assert closed.json()["outcome"] == "false_alarm"
    detail = client.get(f"/api/v1/warnings/{wid}", headers=headers("P1")).json()
    assert [h["action"] for h in detail["history"]][-1] == "warning.close"
    assert client.get("/api/v1/warnings/stats", headers=headers("P1")).json()["overall"]["precision"] == 0.0
    bank = {"X-Aegis-User": "b", "X-Aegis-Role": "bank", "X-Aegis-Institution": "xm-bank"}
    assert client.get("/api/v1/warnings", headers=bank).status_code == 403
    # a limit outside 1-1000 and a field the step does not take are named, not quietly mended or dropped
    assert client.get("/api/v1/warnings?limit=0", headers=headers("P1")).status_code == 422
    odd = client.post(f"/api/v1/warnings/{wid}/contact", headers=headers("P1"),
                      json={**body, "colour": "red"})
    assert odd.status_code == 422 and odd.json()["detail"][0]["loc"] == ["body", "colour"]
    # so is a query parameter the route does not take: "open" is no filter here, and ignoring it listed closed ones
    wrong = client.get("/api/v1/warnings?open=true", headers=headers("P1"))
    assert wrong.status_code == 422 and wrong.json()["detail"][0]["loc"] == ["query", "open"]
    assert "open_only" in wrong.json()["detail"][0]["msg"]
    assert client.get("/api/v1/warnings?open_only=true&lang=en", headers=headers("P1")).json() == []
    for route in ("/api/v1/health", "/api/v1/warnings/stats"):  # the language is every route's to take
        assert client.get(f"{route}?lang=en", headers=headers("P1")).status_code == 200
    # and one given twice, which FastAPI took the last of: limit=1&limit=1000 listed them all, and a proxy's
    # appended status=new hid the closed ones asked for
    for query, names in (("limit=1&limit=1000", ["limit"]), ("status=closed&status=new", ["status"]),
                         ("lang=en&status=new&lang=zh&status=new", ["lang", "status"])):
        twice = client.get(f"/api/v1/warnings?{query}", headers=headers("P1"))
        assert twice.status_code == 422 and [e["loc"] for e in twice.json()["detail"]] == [["query", n] for n in names]
        assert twice.json()["detail"][0]["type"] == "duplicate_parameter"


def test_cli_lists_own_queue_and_reports_errors_in_one_line(tmp_path) -> None:
    from wdata import add_residents

    from aegis.store import open_engine

    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = open_engine(url)
    add_residents(engine)
    uc.raise_warnings(engine, SYSTEM, [request(person=p, lead=f"L{i}", at=T0) for i, p in enumerate(RESIDENTS)],
                      now=T0)
    district, station = RESIDENTS["P1"]
    who = ["--user", "o1", "--role", "police_station", "--district", district, "--station", station, "--db", url]
    runner = CliRunner()
    listed = runner.invoke(cli, ["list", *who])
    assert listed.exit_code == 0 and "P1" not in listed.output  # ids only, no other station's rows
    assert listed.output.count("wrn-") == 1
    # the deadline in China time, as officers read it (stored in UTC, eight hours behind)
    from aegis.events.models import CHINA_TZ

    mine = next(w for w in uc.list_warnings(engine, SYSTEM) if w["person_id"] == "P1")
    china, utc = (mine["deadline"].astimezone(tz).strftime("%H:%M") for tz in (CHINA_TZ, UTC))
    assert china != utc and china in listed.output and utc not in listed.output
    other = uc.list_warnings(engine, SYSTEM)
    foreign = next(w["warning_id"] for w in other if w["person_id"] == "P3")
    failed = runner.invoke(cli, ["take", foreign, *who])
    assert failed.exit_code == 2 and failed.stderr == f"错误：warning：您的辖区内没有预警{foreign}\n"
    failed = runner.invoke(cli, ["take", foreign, *who, "--lang", "en"])
    assert failed.exit_code == 2 and failed.stderr == f"error: warning: no warning {foreign} in your jurisdiction\n"
    # closing dissuaded before anyone reached the person, or a note that would hide from the auditor: one line each
    mine_id = mine["warning_id"]
    assert runner.invoke(cli, ["take", mine_id, *who]).exit_code == 0
    unreached = runner.invoke(cli, ["close", mine_id, "--outcome", "dissuaded", *who, "--lang", "en"])
    assert unreached.exit_code == 2 and unreached.stderr == (
        "error: --outcome: dissuaded needs a contact that reached the person first (the warning is assigned): record a "
        "contact with the result reached, then close\n")
    # the same refusal in Chinese by default, the field named alike in both languages
    unreached = runner.invoke(cli, ["close", mine_id, "--outcome", "dissuaded", *who])
    assert unreached.exit_code == 2 and unreached.stderr == (
        "错误：--outcome：办结为劝阻成功须先有一次联系到本人的记录（预警现为已接收）：先记录结果为已联系上的联系，再结案\n")
    # a step the warning's status does not allow, and another station officer's step on a taken warning
    officer = f"police_station:{station}/o1"
    taken = runner.invoke(cli, ["take", mine_id, "--user", "o2", *who[2:]])
    assert taken.exit_code == 2 and taken.stderr == f"错误：status：预警{mine_id}已由{officer}接手\n"
    taken = runner.invoke(cli, ["take", mine_id, "--user", "o2", *who[2:], "--lang", "en"])
    assert taken.exit_code == 2 and taken.stderr == f"error: status: warning {mine_id} is taken by {officer}\n"
    contact = ["contact", mine_id, "--channel", "call", "--result", "reached", "--user", "o2", *who[2:]]
    denied = runner.invoke(cli, contact)
    assert denied.exit_code == 2 and denied.stderr == f"错误：预警{mine_id}：已由{officer}接手\n"
    denied = runner.invoke(cli, [*contact, "--lang", "en"])
    assert denied.exit_code == 2 and denied.stderr == f"error: warning {mine_id}: it was taken by {officer}\n"
    hidden = runner.invoke(cli, ["contact", mine_id, "--channel", "call", "--result", "reached",
                                 "--note", "a\x1b[31mred", *who, "--lang", "en"])
    assert hidden.exit_code == 2 and hidden.stderr == (
        "error: --note: must not contain control or invisible characters (U+001B at character 2)\n")
    assert uc.get_warning(engine, SYSTEM, mine_id)["status"] == "assigned"
    assert runner.invoke(cli, ["escalate-overdue", *who]).exit_code == 2  # stations do not escalate
    centre = ["--user", "c", "--role", "city_centre", "--db", url]
    # raised at T0, every warning is overdue now: those below the centre move up a tier, the centre's own stay
    queues = [w["queue"] for w in uc.list_warnings(engine, SYSTEM)]
    escalated = runner.invoke(cli, ["escalate-overdue", *centre, "--lang", "en"])
    assert escalated.exit_code == 0, escalated.output
    assert (f"{len(queues) - queues.count('city')} warning(s) moved up a tier; {queues.count('city')} already at "
            "the city centre, overdue, given a new deadline") in " ".join(escalated.output.split())
    figures = json.loads(runner.invoke(cli, ["stats", *centre, "--json"]).stdout)
    shown = runner.invoke(cli, ["stats", *centre])
    assert shown.exit_code == 0 and "全部" in shown.output and "紧急" in shown.output
    # one row for all, one per level and one per fraud type, each with its count of warnings
    assert shown.output.count("│") // 9 == 1 + len(figures["by_level"]) + len(figures["by_fraud_type"])
    assert f"│ {figures['overall']['total']} " in shown.output
    assert T0 + timedelta(days=10) > T0
    for command in ("list", "take", "contact", "close", "escalate-overdue", "stats", "pace"):
        assert runner.invoke(cli, [command, "--help"]).exit_code == 0
    # a misspelt filter is named, not answered with an empty list
    for option, message in (("--status", "status: 'bogus' is not one of new, assigned"),
                            ("--queue", "queue: 'bogus' is not one of station, district, city"),
                            ("--level", "level: 'bogus' is not one of ")):
        refused = runner.invoke(cli, ["list", *centre, option, "bogus"])
        assert refused.exit_code == 2 and "“bogus”不在可选值" in refused.stderr, refused.output
        refused = runner.invoke(cli, ["list", *centre, option, "bogus", "--lang", "en"])
        assert refused.exit_code == 2 and message in refused.stderr, refused.output
    # a role without warnings is refused for what it is, not asked for an --institution the command lacks
    # (in the reader's language, whichever comes first on the line: --lang is read before --role)
    for role in ("bank", "telco", "auditor"):
        refused = runner.invoke(cli, ["list", "--user", "u", "--role", role, "--db", url])
        assert refused.exit_code == 2 and f"{role}没有可处理的预警" in refused.output, refused.output
        refused = runner.invoke(cli, ["list", "--user", "u", "--role", role, "--db", url, "--lang", "en"])
        assert refused.exit_code == 2 and f"{role} has no warnings to work on" in refused.output, refused.output
    refused = runner.invoke(cli, ["pace", "--user", "u", "--role", "police_station", "--db", url])
    assert refused.exit_code == 2 and "police_station不能测算诈骗节奏" in refused.output, refused.output
    refused = runner.invoke(cli, ["pace", "--user", "u", "--role", "police_station", "--db", url, "--lang", "en"])
    assert refused.exit_code == 2 and "may not measure fraud pace" in refused.output, refused.output


def test_a_warnings_reasons_read_in_english_on_request_in_the_api_and_the_cli(tmp_path, monkeypatch) -> None:
    from dataclasses import replace

    from wdata import add_residents

    from aegis.cli.common import out
    from aegis.reasons import Reason
    from aegis.store import open_engine

    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = open_engine(url)
    add_residents(engine)
    why = (Reason("7天内访问诈骗网站{n}次", n=3), Reason("安装了远程控制/屏幕共享APP"))
    uc.raise_warnings(engine, SYSTEM, [replace(request(), reasons=why)], now=T0)
    client = TestClient(create_app(engine))
    zh = client.get("/api/v1/warnings", headers=headers("P1")).json()[0]
    en = client.get("/api/v1/warnings?lang=en", headers=headers("P1")).json()[0]
    assert zh["reasons"] == ["7天内访问诈骗网站3次", "安装了远程控制/屏幕共享APP"]
    assert en["reasons"] == ["3 visit(s) to a fraud site in 7 days", "remote-control / screen-sharing app installed"]
    assert (zh["fraud_type"], zh["fraud_type_name"]) == ("impersonate_police", "冒充公检法")
    police = "impersonating police, prosecutors or courts"
    assert (en["fraud_type"], en["fraud_type_name"]) == ("impersonate_police", police)
    # coded fields keep their codes and carry their names beside them
    assert (zh["status"], zh["names"]["status"], en["names"]["status"]) == ("new", "待接收", "new")
    assert (zh["queue"], zh["names"]["queue"], en["names"]["queue"]) == ("station", "派出所", "police station")
    assert zh["names"]["level"] != en["names"]["level"] == en["level"]
    taken = client.post(f"/api/v1/warnings/{en['warning_id']}/take?lang=en", headers=headers("P1")).json()
    assert taken["reasons"] == en["reasons"]
    detail = client.get(f"/api/v1/warnings/{en['warning_id']}", headers={**headers("P1"), "Accept-Language": "en"})
    assert [e["reasons"] for e in detail.json()["history"]] == [en["reasons"], ["taken"]]
    district, station = RESIDENTS["P1"]
    who = ["--user", "o1", "--role", "police_station", "--district", district, "--station", station, "--db", url]
    monkeypatch.setattr(out, "width", 250)  # a wide terminal: the table shows whole reasons
    listed = CliRunner().invoke(cli, ["list", *who, "--lang", "en"])
    assert listed.exit_code == 0 and "3 visit(s) to a fraud site in 7 days" in listed.output
    assert police in listed.output
    # the table's words switch too: headers, the level, status and queue of the warning
    assert all(word in listed.output for word in ("level", "status", "assigned to", "police station", "assigned"))
    chinese = CliRunner().invoke(cli, ["list", *who]).output
    assert "7天内访问诈骗网站3次" in chinese
    assert all(word in chinese for word in ("级别", "处置状态", "承办人", "已接收", "派出所"))
    assert "level" not in chinese and "assigned to" not in chinese


def test_the_acting_users_headers_name_a_city_and_may_be_raw_utf8(sqlite_engine: Engine) -> None:
    from wdata import add_residents

    add_residents(sqlite_engine)  # residents of 厦门市
    from aegis.events.models import Person
    from aegis.store import EventRepository

    with sqlite_engine.begin() as conn:  # a resident of the other city, which is then a city the store knows
        EventRepository(sqlite_engine).add_many("person", [Person(
            person_id="Q1", age=30, gender="M", occupation="职员", city="北京市", district="丰泽区",
            station="东湖派出所").model_dump()], conn)
    uc.raise_warnings(sqlite_engine, SYSTEM, [request(person=p, lead=p) for p in RESIDENTS])
    client = TestClient(create_app(sqlite_engine))
    centre = {"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre"}
    # percent-encoded UTF-8 as documented, or raw UTF-8 bytes: the same city
    for city in (quote("厦门市"), "厦门市".encode()):
        assert len(client.get("/api/v1/warnings", headers={**centre, "X-Aegis-City": city}).json()) == 3
    # another city's centre sees none of them, nor any one by its id
    beijing = {**centre, "X-Aegis-City": quote("北京市")}
    assert client.get("/api/v1/warnings", headers=beijing).json() == []
    wid = uc.list_warnings(sqlite_engine, SYSTEM)[0]["warning_id"]
    assert client.get(f"/api/v1/warnings/{wid}", headers=beijing).status_code == 404
    # the audit log names who acted: an empty user is refused
    assert client.get("/api/v1/warnings", headers={**centre, "X-Aegis-User": " "}).status_code == 401


def _store_with_warnings(tmp_path) -> tuple[Engine, str]:
    """Every resident warned, P1 twice over (a second lead with the features the model saw)."""
    from dataclasses import replace

    from wdata import add_residents

    from aegis.store import open_engine

    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = open_engine(url)
    add_residents(engine)
    seen = {"age": 60.0, "cur_score": 0.9, "n_fraud_url_7d": 0.0}
    uc.raise_warnings(engine, SYSTEM, [request(person=p, lead=f"L{i}", at=T0) for i, p in enumerate(RESIDENTS)],
                      now=T0)
    uc.raise_warnings(engine, SYSTEM, [replace(request(lead="L9", level="urgent", at=T0 + timedelta(hours=1)),
                                               features=seen)], now=T0 + timedelta(hours=1))
    return engine, url


def test_warnings_list_keeps_ids_and_figures_whole_in_80_columns_and_prints_json(tmp_path, monkeypatch) -> None:
    import re

    from rich.cells import cell_len

    from aegis.cli.common import out

    engine, url = _store_with_warnings(tmp_path)
    centre = ["--user", "c", "--role", "city_centre", "--db", url]
    monkeypatch.setattr(out, "width", 80)  # what COLUMNS=80 gives rich
    for lang in ("zh", "en"):
        listed = CliRunner().invoke(cli, ["list", *centre, "--lang", lang])
        assert listed.exit_code == 0, listed.output
        # each id whole on one line, copyable; the probabilities whole; nothing past the 80th column
        ids = {w["warning_id"] for w in uc.list_warnings(engine, SYSTEM)}
        assert set(re.findall(r"wrn-[0-9a-f]{20}", listed.output)) == ids
        assert listed.output.count("0.85") == 3 and "siming-zhonghua" in listed.output
        assert max(cell_len(line) for line in listed.output.splitlines()) <= 80
    # narrower than the ids and figures need, the table runs past the edge rather than cut an id short
    monkeypatch.setattr(out, "width", 30)
    narrow = CliRunner().invoke(cli, ["list", *centre])
    assert set(re.findall(r"wrn-[0-9a-f]{20}", narrow.output)) == ids
    # --json: the same rows, every field, the names in the language asked for
    as_json = CliRunner().invoke(cli, ["list", *centre, "--json", "--lang", "en"])
    rows = json.loads(as_json.stdout)
    assert [r["warning_id"] for r in rows] == [w["warning_id"] for w in uc.list_warnings(engine, SYSTEM)]
    assert rows[0]["level"] == "urgent" and rows[0]["names"]["level"] == "urgent"
    assert rows[0]["person_id"] == "P1" and rows[0]["deadline"].startswith("2026-10-05T")
    filtered = json.loads(CliRunner().invoke(cli, ["list", *centre, "--json", "--level", "medium"]).stdout)
    assert {r["person_id"] for r in filtered} == {"P2", "P3"}


def test_warnings_list_says_when_nothing_matches_instead_of_an_empty_table(tmp_path) -> None:
    _, url = _store_with_warnings(tmp_path)
    centre = ["--user", "c", "--role", "city_centre", "--db", url]
    for args, said in ((["--level", "low"], "没有符合条件的预警"),
                       (["--level", "low", "--lang", "en"], "no warnings match"),
                       (["--status", "closed", "--open"], "没有符合条件的预警")):
        none = CliRunner().invoke(cli, ["list", *centre, *args])
        assert none.exit_code == 0 and none.stdout.strip() == said, none.output
    add_person(url, "P4", "huli", "huli-other")  # a station with a resident, none of them warned
    elsewhere = ["--user", "o", "--role", "police_station", "--district", "huli", "--station", "huli-other",
                 "--db", url]
    assert CliRunner().invoke(cli, ["list", *elsewhere]).stdout.strip() == "辖区内没有预警"
    assert json.loads(CliRunner().invoke(cli, ["list", *centre, "--level", "low", "--json"]).stdout) == []


def test_warnings_show_prints_the_warning_its_leads_and_history_as_the_api_does(tmp_path, monkeypatch) -> None:
    from aegis.cli.common import out

    engine, url = _store_with_warnings(tmp_path)
    wid = next(w["warning_id"] for w in uc.list_warnings(engine, SYSTEM) if w["person_id"] == "P1")
    district, station = RESIDENTS["P1"]
    who = ["--user", "o1", "--role", "police_station", "--district", district, "--station", station, "--db", url]
    monkeypatch.setattr(out, "width", 80)
    shown = CliRunner().invoke(cli, ["show", wid, *who])
    assert shown.exit_code == 0, shown.output
    # the warning, both its leads with the features the model saw (non-zero ones), and its history
    assert wid in shown.stdout and "P1" in shown.stdout and "reason of L9" in shown.stdout
    assert "L0" in shown.stdout and "L9" in shown.stdout and "cur_score=0.9" in shown.stdout
    assert "n_fraud_url_7d" not in shown.stdout
    assert "warning.raise" in shown.stdout and "warning.update" in shown.stdout
    english = CliRunner().invoke(cli, ["show", wid, *who, "--lang", "en"]).stdout
    assert "features the model saw" in english and "history" in english
    detail = json.loads(CliRunner().invoke(cli, ["show", wid, *who, "--json"]).stdout)
    api = TestClient(create_app(engine)).get(f"/api/v1/warnings/{wid}", headers=headers("P1")).json()
    assert [lead["lead_id"] for lead in detail["leads"]] == [lead["lead_id"] for lead in api["leads"]] == ["L0", "L9"]
    assert detail["leads"][1]["features"] == api["leads"][1]["features"]
    assert [h["action"] for h in detail["history"]] == [h["action"] for h in api["history"]]
    # another station's warning is no warning of yours, as in the API
    theirs = next(w["warning_id"] for w in uc.list_warnings(engine, SYSTEM) if w["person_id"] == "P3")
    refused = CliRunner().invoke(cli, ["show", theirs, *who])
    assert refused.exit_code == 2 and "没有预警" in refused.stderr and "Traceback" not in refused.output
    refused = CliRunner().invoke(cli, ["show", theirs, *who, "--lang", "en"])
    assert refused.exit_code == 2 and "no warning" in refused.stderr and "Traceback" not in refused.output


def test_a_capped_list_keeps_the_most_severe_in_the_api_and_the_cli_and_says_what_it_left_out(tmp_path) -> None:
    from test_workflow import _three_by_severity
    from wdata import add_residents

    from aegis.store import open_engine

    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = open_engine(url)
    add_residents(engine)
    ordered = _three_by_severity(engine)
    client = TestClient(create_app(engine))
    centre = {"X-Aegis-User": "c", "X-Aegis-Role": "city_centre"}
    capped = client.get("/api/v1/warnings?open_only=true&limit=2", headers=centre).json()
    assert [w["warning_id"] for w in capped] == ordered[:2]
    rest = client.get("/api/v1/warnings?open_only=true&limit=2&offset=2", headers=centre).json()
    assert [w["warning_id"] for w in rest] == ordered[2:]
    refused = client.get("/api/v1/warnings?offset=-1", headers=centre)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["query", "offset"]
    who = ["--user", "c", "--role", "city_centre", "--db", url]
    runner = CliRunner()
    shown = runner.invoke(cli, ["list", *who, "--limit", "2"])
    assert shown.exit_code == 0, shown.output
    assert [i for i in ordered if i in shown.stdout] == ordered[:2]
    assert shown.stdout.rstrip().endswith("显示第1至2条，共3条：其余用 --limit、--offset 查看")
    page = runner.invoke(cli, ["list", *who, "--limit", "2", "--offset", "2", "--json", "--lang", "en"])
    assert [w["warning_id"] for w in json.loads(page.stdout)] == ordered[2:]  # the note is not in the JSON
    assert page.stderr == "showing 3 to 3 of 3: use --limit and --offset for the rest\n"
    whole = runner.invoke(cli, ["list", *who])
    assert whole.exit_code == 0 and "共3条" not in whole.output and all(i in whole.stdout for i in ordered)
    past = runner.invoke(cli, ["list", *who, "--offset", "5"])
    assert past.exit_code == 0 and past.stdout.strip() == "--offset 5已越过最后一条（共3条）"
    for option, value, said in (("--limit", "0", "错误：--limit：须在1到1000之间（收到0）\n"),
                                ("--offset", "-1", "错误：--offset：须在0到1,000,000,000之间（收到-1）\n"),
                                # beyond a 64-bit integer it failed inside the database driver
                                ("--offset", str(2**63), f"错误：--offset：须在0到1,000,000,000之间（收到{2**63}）\n")):
        refused = runner.invoke(cli, ["list", *who, option, value])
        assert refused.exit_code == 2 and refused.stderr == said, refused.output


def test_the_apis_refusals_of_a_step_read_in_the_requests_language(sqlite_engine: Engine) -> None:
    """The workflow's 409s and the use cases' 422s came in English whatever the request asked, while the same
    routes' 403 and 404 followed it (the black-box audit); and the 409 told an API user to run a command."""
    from wdata import add_residents

    add_residents(sqlite_engine)
    uc.raise_warnings(sqlite_engine, SYSTEM, [request()])
    client = TestClient(create_app(sqlite_engine))
    wid = client.get("/api/v1/warnings", headers=headers("P1")).json()[0]["warning_id"]
    english = [{"params": {"lang": "en"}}, {"headers": {"Accept-Language": "en-GB,en;q=0.9"}}]

    def refusal(path: str, body: dict[str, str] | None = None, **ask: dict[str, str]) -> tuple[int, str]:
        answer = client.post(f"/api/v1/warnings/{wid}/{path}", json=body, params=ask.get("params"),
                             headers={**headers("P1"), **ask.get("headers", {})})
        return answer.status_code, answer.json()["detail"]

    untaken = refusal("close", {"outcome": "false_alarm", "note": "房东"})
    assert untaken[0] == 409 and untaken[1].startswith("status：") and "不能执行" in untaken[1]
    for ask in english:
        said = refusal("close", {"outcome": "false_alarm", "note": "房东"}, **ask)[1]
        assert said.startswith("status: cannot close a warning")
    client.post(f"/api/v1/warnings/{wid}/take", headers=headers("P1"))
    unreached = refusal("close", {"outcome": "dissuaded"})
    assert unreached[0] == 409 and unreached[1].startswith("outcome：") and "`" not in unreached[1]
    for ask in english:
        said = refusal("close", {"outcome": "dissuaded"}, **ask)[1]
        assert said.startswith("outcome: dissuaded needs a contact that reached") and "warnings contact" not in said
    blank = {"channel": "call", "result": "reached", "note": "a\x1bb"}
    assert refusal("contact", blank) == (422, "note：不能含控制字符或不可见字符（第2个字符U+001B）")
    for ask in english:
        assert refusal("contact", blank, **ask) == (
            422, "note: must not contain control or invisible characters (U+001B at character 2)")


def test_a_refused_step_is_told_by_the_names_the_tables_show_not_by_codes(tmp_path) -> None:
    """``错误：status：预警处于new状态，不能执行close（可执行：take）`` showed the codes (the black-box audit)."""
    from wdata import add_residents

    from aegis.store import open_engine

    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = open_engine(url)
    add_residents(engine)
    uc.raise_warnings(engine, SYSTEM, [request()], now=T0)
    wid = uc.list_warnings(engine, SYSTEM)[0]["warning_id"]
    district, station = RESIDENTS["P1"]
    who = ["--user", "o1", "--role", "police_station", "--district", district, "--station", station, "--db", url]
    runner = CliRunner()

    def refused(*args: str) -> tuple[str, str]:
        zh, en = (runner.invoke(cli, [*args, wid, *who, *lang]) for lang in ([], ["--lang", "en"]))
        assert zh.exit_code == en.exit_code == 2, zh.output
        return zh.stderr, en.stderr

    assert refused("close", "--outcome", "false_alarm", "--note", "房东") == (
        "错误：status：预警处于待接收状态，不能执行办结（可执行：签收）\n",
        "error: status: cannot close a warning that is new (allowed: take)\n")
    assert refused("contact", "--channel", "call", "--result", "reached") == (
        "错误：status：预警处于待接收状态，不能记录联系结果已联系上（可执行：签收）\n",
        "error: status: cannot record a contact as reached on a warning that is new (allowed: take)\n")
    assert runner.invoke(cli, ["take", wid, *who]).exit_code == 0
    assert refused("close", "--outcome", "already_defrauded") == (
        "错误：--outcome：办结为已被骗须先有一次联系到本人的记录（预警现为已接收）：先记录结果为已联系上的联系，再结案\n",
        "error: --outcome: already defrauded needs a contact that reached the person first (the warning is assigned): "
        "record a contact with the result reached, then close\n")
    assert runner.invoke(cli, ["close", wid, "--outcome", "false_alarm", "--note", "房东", *who]).exit_code == 0
    assert refused("close", "--outcome", "false_alarm", "--note", "另一说明") == (
        "错误：status：预警已办结，不能执行办结\n", "error: status: cannot close a warning that is closed\n")
    assert refused("contact", "--channel", "visit", "--result", "unreachable") == (
        "错误：status：预警已办结，不能记录联系结果未联系上\n",
        "error: status: cannot record a contact as unreachable on a warning that is closed\n")


def test_a_role_the_command_does_not_take_is_refused_in_one_line_naming_role(tmp_path) -> None:
    """A bank's --role came back as Typer's box of several lines headed "Invalid value for '--role'" (the black-box
    audit); ``aegis audit --role police_station`` says it in one line, 错误：--role：…, exit 2, as every command
    does now. An existing file given as retrain's --out is named as --out, not as a raw OS error."""
    from aegis.store import open_engine

    url = f"sqlite:///{tmp_path / 'a.db'}"
    open_engine(url).dispose()
    runner = CliRunner()
    sim = ["--sim", str(tmp_path)]
    commands = [["list"], ["show", "wrn-x"], ["take", "wrn-x"], ["contact", "wrn-x", "--channel", "call", "--result",
                "reached"], ["close", "wrn-x", "--outcome", "dissuaded"], ["stats"], ["escalate-overdue"]]
    for command in commands:
        for lang, said in (([], "错误：--role：bank没有可处理的预警（须为city_centre、district_bureau或"
                                "police_station）\n"),
                           (["--lang", "en"], "error: --role: bank has no warnings to work on (city_centre, "
                                              "district_bureau or police_station)\n")):
            refused = runner.invoke(cli, [*command, "--user", "u", "--role", "bank", "--db", url, *lang])
            assert (refused.exit_code, refused.stderr, refused.stdout) == (2, said, ""), (command, refused.output)
        unknown = runner.invoke(cli, [*command, "--user", "u", "--role", "mayor", "--db", url])
        assert (unknown.exit_code, unknown.stderr) == (
            2, "错误：--role：“mayor”不在可选值city_centre、district_bureau、police_station之中\n"), unknown.output
    centre_jobs = {"raise": ("生成预警", "raise a warning"), "pace": ("测算诈骗节奏", "measure fraud pace"),
                   "retrain": ("重新训练预警模型", "retrain the warning model")}
    for command, (zh, en) in centre_jobs.items():
        extra = [*sim, "--out", str(tmp_path / "m")] if command == "retrain" else []
        for role, lang, said in (("police_station", [], f"错误：--role：police_station不能{zh}（须为city_centre）\n"),
                                 ("bank", ["--lang", "en"], f"error: --role: bank may not {en} (city_centre)\n"),
                                 ("mayor", [], "错误：--role：“mayor”不在可选值city_centre之中\n")):
            refused = runner.invoke(cli, [command, "--user", "u", "--role", role, "--db", url, *extra, *lang])
            assert (refused.exit_code, refused.stderr) == (2, said), (command, refused.output)
    taken = tmp_path / "model.bin"
    taken.write_text("a file")
    for lang, said in (([], f"错误：--out：{taken}是文件，此处需要文件夹\n"),
                       (["--lang", "en"], f"error: --out: {taken} is a file, where a folder is needed\n")):
        refused = runner.invoke(cli, ["retrain", "--user", "u", "--role", "city_centre", "--db", url, *sim,
                                      "--out", str(taken), *lang])
        assert (refused.exit_code, refused.stderr) == (2, said), refused.output
    assert taken.read_text() == "a file"


def _taken_by_p1(tmp_path):
    """A store of its own (the CLI reads it by URL) with one warning, taken by P1's officer: its URL, engine, an
    API client and the warning's id."""
    from wdata import add_residents

    from aegis.store import open_engine

    url = f"sqlite:///{tmp_path / 'a.db'}"
    engine = open_engine(url)
    add_residents(engine)
    uc.raise_warnings(engine, SYSTEM, [request()], now=T0)
    client = TestClient(create_app(engine))
    wid = client.get("/api/v1/warnings", headers=headers("P1")).json()[0]["warning_id"]
    client.post(f"/api/v1/warnings/{wid}/take", headers=headers("P1"))
    return url, engine, client, wid


def test_a_contacts_request_id_reused_with_other_terms_is_a_409_naming_it_and_one_line_in_the_cli(tmp_path) -> None:
    from aegis.store.repositories import AuditLog

    url, engine, client, wid = _taken_by_p1(tmp_path)
    path = f"/api/v1/warnings/{wid}/contact"
    first = client.post(path, headers=headers("P1"), json={"channel": "call", "result": "unreachable",
                                                           "request_id": "r-1"})
    assert first.status_code == 200 and first.json()["status"] == "locating"
    changed = client.post(f"{path}?lang=en", headers=headers("P1"),
                          json={"channel": "visit", "result": "reached", "request_id": "r-1"})
    assert changed.status_code == 409 and changed.json()["detail"].startswith("request_id: r-1 was used for another")
    chinese = client.post(path, headers=headers("P1"), json={"channel": "visit", "result": "reached",
                                                             "request_id": "r-1"})
    assert chinese.status_code == 409
    assert chinese.json()["detail"].startswith("request_id：r-1已用于另一次联系（电话：未联系上）")
    again = client.post(path, headers=headers("P1"), json={"channel": "call", "result": "unreachable",
                                                           "request_id": "r-1"})
    assert again.status_code == 200 and again.json() == first.json()
    district, station = RESIDENTS["P1"]
    who = ["--user", "o1", "--role", "police_station", "--district", district, "--station", station, "--db", url]
    refused = CliRunner().invoke(cli, ["contact", wid, "--channel", "visit", "--result", "reached", "--request-id",
                                       "r-1", *who, "--lang", "en"])
    assert refused.exit_code == 2 and refused.stderr == (
        "error: --request-id: r-1 was used for another contact (call: unreachable); a retry repeats its request "
        "exactly, and a new contact takes a new --request-id\n")
    contacts = [e for e in AuditLog(engine).entries("warning", wid) if e["action"] == "warning.contact"]
    assert len(contacts) == 1 and uc.get_warning(engine, SYSTEM, wid)["status"] == "locating"


def test_closing_a_false_alarm_without_a_note_is_refused_naming_note_in_the_api_and_the_cli(tmp_path) -> None:
    url, engine, client, wid = _taken_by_p1(tmp_path)
    for body in ({"outcome": "false_alarm"}, {"outcome": "false_alarm", "note": " "}):
        refused = client.post(f"/api/v1/warnings/{wid}/close?lang=en", headers=headers("P1"), json=body)
        assert refused.status_code == 422 and refused.json()["detail"].startswith("note: closing as false alarm")
    refused = client.post(f"/api/v1/warnings/{wid}/close", headers=headers("P1"), json={"outcome": "false_alarm"})
    assert refused.status_code == 422 and refused.json()["detail"] == (
        "note：办结为误报须写明原因（其线索将作为正常样本用于重新训练模型）")
    district, station = RESIDENTS["P1"]
    who = ["--user", "o1", "--role", "police_station", "--district", district, "--station", station, "--db", url]
    cli_refused = CliRunner().invoke(cli, ["close", wid, "--outcome", "false_alarm", *who])
    # the API names its field, the command its option
    assert cli_refused.exit_code == 2 and cli_refused.stderr == f"错误：--{refused.json()['detail']}\n"
    closed = CliRunner().invoke(cli, ["close", wid, "--outcome", "false_alarm", "--note", "收款人是其房东", *who])
    assert closed.exit_code == 0 and uc.get_warning(engine, SYSTEM, wid)["outcome"] == "false_alarm"


def test_the_apis_escalated_rows_say_which_queue_each_was_in(sqlite_engine: Engine) -> None:
    """POST /warnings/escalate-overdue returned the rows without the ``from_queue`` the use case gives them (the
    black-box audit), which the command line and the audit entry have."""
    from wdata import add_residents

    add_residents(sqlite_engine)
    uc.raise_warnings(sqlite_engine, SYSTEM, [request(person="P1", lead="a", level="medium"),
                                              request(person="P2", lead="b", level="urgent")], now=T0)
    client = TestClient(create_app(sqlite_engine))
    moved = client.post("/api/v1/warnings/escalate-overdue?lang=en",
                        headers={"X-Aegis-User": "c", "X-Aegis-Role": "city_centre"})
    assert moved.status_code == 200, moved.text
    rows = {w["person_id"]: w for w in moved.json()}
    assert [(rows[p]["from_queue"], rows[p]["queue"]) for p in ("P1", "P2")] == [("station", "district"),
                                                                               ("city", "city")]
    assert rows["P1"]["names"]["from_queue"] == "police station"


def test_a_workflow_body_with_a_key_given_twice_is_refused_naming_it(sqlite_engine: Engine) -> None:
    """{"channel": "call", "result": "reached", "result": "unreachable"} was recorded as unreachable (the black-box
    audit): the last of a repeated key won, silently. Now the body is refused and nothing is recorded."""
    from wdata import add_residents

    from aegis.store.repositories import AuditLog

    add_residents(sqlite_engine)
    uc.raise_warnings(sqlite_engine, SYSTEM, [request()])
    client = TestClient(create_app(sqlite_engine))
    wid = client.get("/api/v1/warnings", headers=headers("P1")).json()[0]["warning_id"]
    client.post(f"/api/v1/warnings/{wid}/take", headers=headers("P1"))
    body = '{"channel": "call", "result": "reached", "result": "unreachable"}'
    answer = client.post(f"/api/v1/warnings/{wid}/contact", content=body.encode(),
                         headers={**headers("P1"), "Content-Type": "application/json"})
    assert answer.status_code == 422
    assert [(e["loc"], e["type"]) for e in answer.json()["detail"]] == [(["body", "result"], "duplicate_key")]
    assert [e["action"] for e in AuditLog(sqlite_engine).entries("warning", wid)] == ["warning.raise", "warning.take"]
    assert uc.get_warning(sqlite_engine, SYSTEM, wid)["status"] == "assigned"


def test_an_offset_or_a_minimum_beyond_any_store_is_a_422_naming_it_not_a_500(sqlite_engine: Engine) -> None:
    """offset=2^63 failed inside the database driver (OverflowError, a 500 and a stack trace)."""
    client = TestClient(create_app(sqlite_engine))
    centre = {"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre"}
    for path, field in ((f"/api/v1/warnings?offset={2**63}", "offset"),
                        ("/api/v1/warnings?offset=1000000001", "offset"),
                        ("/api/v1/warnings/pace?min_cases=99999999999999999999999", "min_cases")):
        answer = client.get(path, headers=centre)
        assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["query", field], path
    assert client.get("/api/v1/warnings?offset=1000000000", headers=centre).json() == []
