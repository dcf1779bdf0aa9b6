"""Reading the audit log: the city centre sees it whole, an auditor masked, others not at all; reads are logged."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from aegis.api.app import create_app
from aegis.cli.main import app as cli
from aegis.reasons import Reason
from aegis.store import AuditLog
from aegis.usecases.actor import Actor, Role
from aegis.usecases.audit import masked_text, read_audit

TELCO = {"X-Aegis-User": "gw-1", "X-Aegis-Role": "telco", "X-Aegis-Institution": quote("中国移动")}
SCAM = "【公安局】您涉嫌洗钱案件，请立即将资金转入安全账户配合调查，否则冻结您名下账户"


def test_masking_keeps_the_shape_of_identifiers_and_nothing_else() -> None:
    assert masked_text("向账户6222000011112222转账800.00元") == "向账户622*********2222转账800.00元"
    assert masked_text("ID 11010519491231002X, 2026-11-28, 订单12345") == "ID 110***********002X, 2026-11-28, 订单12345"
    # letters beside a number, and the ways people write phones and cards, hide it no more
    assert masked_text("tel13912345678/id350205199108119691") == "tel139****5678/id350***********9691"
    assert masked_text("回电139-1234-5678或+86 139 1234 5678") == "回电139******5678或+86 139******5678"
    assert masked_text("卡号6222 0204 2421 0048，2026-10-01 10:00") == "卡号622************0048，2026-10-01 10:00"
    assert masked_text("身份证350203 19800101 001X、139.1234.5678") == "身份证350*************001X、139******5678"
    # a card's last digit written apart from its last group is the card's: it showed five digits at the end
    assert masked_text("卡号6222 0200 0000 0001 2，") == "卡号622**************01 2，"
    # as people write them: a Chinese keyboard's full-width hyphen and space, dashes, brackets, slashes, spaced
    # separators, a card grouped 4-4-4-5 or by dots and underscores, a landline with its area code
    for written in ("139－1234－5678", "139\u30001234\u30005678", "(139)1234-5678", "139—1234—5678", "139/1234/5678",
                    "139 - 1234 - 5678", "139  1234  5678", "6222 0200 0000 00012", "6222.0200.0000.0001",
                    "6222_0200_0000_0001", "(010)1234-5678", "0592-1234567", "１３９１２３４５６７８"):
        shown = masked_text(f"家属电话{written}。")
        assert shown.startswith("家属电话") and shown.endswith("。") and "*" in shown, written
        assert sum(c.isdigit() for c in shown) <= 8, shown  # the first three and the last four (five) are kept
    for kept in ("2026-10-01 10:00", "2026/10/01", "1,929.22元", "12:30:45", "09:30-10:45", "0.5-1.2万", "编号012-345"):
        assert masked_text(kept) == kept


def test_the_ids_aegis_makes_are_records_not_people_and_stay_readable() -> None:
    """An auditor looks warnings, orders and events up by id: masking the digits inside them lost the trail."""
    from aegis.actions.orders import stable_id
    from aegis.actions.warnings import warning_id
    from aegis.events.models import Sms

    ids = [warning_id("13912345678", "impersonate_police", "L1"), stable_id("OR", "CH-1", "6222000011112222"),
           Sms(sender="10086", receiver="13912345678", text="x", time="2026-10-01 10:00").event_id]
    line = f"POST /api/v1/warnings/{ids[0]}/take {ids[1]} {ids[2]} 13912345678"
    assert masked_text(line) == f"POST /api/v1/warnings/{ids[0]}/take {ids[1]} {ids[2]} 139****5678"
    # a number dressed as one is not one: digits only, or another length, or glued to more text
    assert masked_text("wrn-13912345678901234567") == "wrn-139*************4567"
    assert masked_text("OR-598123456a9443a3d922d4") == "OR-59*****56a9443a3d922d4"  # shorter than a mobile


def test_a_fragment_of_a_number_shows_no_more_than_its_ends() -> None:
    """A reason quotes part of an ID or a card ("你的身份证11010119"): the first three and last four of eight
    digits left one hidden. One shorter than a mobile number keeps two at each end; a full one as before."""
    assert masked_text("安全账户62220201") == "安全账户62****01"
    assert masked_text("ID 110101199") == "ID 11*****99"
    assert masked_text("13912345678 6222020200001234567") == "139****5678 622************4567"


def test_the_api_access_log_masks_the_numbers_in_request_lines() -> None:
    import logging

    from aegis.api.logs import MaskedAccess, log_config

    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/api/v1/audit?subject_id=13912345678", "1.1", 200), None)
    assert MaskedAccess().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /api/v1/audit?subject_id=139****5678 HTTP/1.1" 200'
    for written in ("139+1234+5678", "139%201234%205678"):  # a space as clients encode it
        record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '"%s %s"',
                                   ("GET", f"/api/v1/audit?subject_id={written}"), None)
        assert MaskedAccess().filter(record) and record.getMessage() == '"GET /api/v1/audit?subject_id=139******5678"'
    assert log_config()["handlers"]["access"]["filters"] == ["masked"]


def test_a_request_line_cannot_write_lines_of_its_own_into_the_access_log() -> None:
    """Decoded to be masked, a query's %0D%0A would break the line and let a client forge an entry after it."""
    import logging

    from aegis.api.logs import MaskedAccess

    forged = "x%0D%0AINFO:%20127.0.0.1:1%20-%20%22GET%20/fake%20HTTP/1.1%22%20200%20OK%1B[2J%E2%80%AE%00"
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '"%s %s"',
                               ("GET", f"/api/v1/audit?subject_id={forged}"), None)
    assert MaskedAccess().filter(record)
    line = record.getMessage()
    # a value that is no code is masked whole; what is left of it, its ends, encoded again
    assert line == '"GET /api/v1/audit?subject_id=x%0D%0A' + "*" * 49 + '2J%E2%80%AE%00"'
    assert line.isprintable()


def test_the_centre_reads_the_log_whole_an_auditor_masked_and_a_telco_not_at_all(engine: Engine) -> None:
    client = TestClient(create_app(engine))
    decided = client.post("/api/v1/decisions/sms", json={"sender": "17012345678", "receiver": "13800000001",
                                                         "text": SCAM}, headers=TELCO)
    assert decided.json()["action"] != "pass"
    AuditLog(engine).append(actor="system", action="warning.raise", subject_type="person", subject_id="P1",
                            reasons=[Reason("正在向账户{payee}转账", payee="6222000011112222")])
    centre = client.get("/api/v1/audit?action=decision.", headers={"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre"})
    assert centre.status_code == 200
    [entry] = centre.json()
    assert entry["subject_id"] == "17012345678" and entry["actor"].startswith("telco:")
    assert entry["reasons"] == decided.json()["reasons"]

    auditor = {"X-Aegis-User": "a1", "X-Aegis-Role": "auditor"}
    masked = client.get("/api/v1/audit?lang=en", headers=auditor).json()
    # newest first: the centre's read above, the warning, the decision
    actions = ["audit.read", "warning.raise", f"decision.sms.{decided.json()['action']}"]
    assert [e["action"] for e in masked] == actions
    assert masked[1]["reasons"] == ["正在向账户622*********2222转账"]  # no English for a test's own message
    assert masked[2]["subject_id"] == "170****5678" and "13800000001" not in json.dumps(masked, ensure_ascii=False)
    assert client.get("/api/v1/audit", headers=TELCO).status_code == 403

    # every read is itself on the log, with who read and what they asked for
    reads = AuditLog(engine).recent(action_prefix="audit.read")
    assert [r["actor"] for r in reads] == ["auditor/a1", "city_centre/c1"]
    assert reads[1]["details"]["action"] == "decision."
    # the action filter ignores case alike on SQLite and PostgreSQL
    shouted = client.get("/api/v1/audit?action=DECISION.SMS", headers={"X-Aegis-User": "c1",
                                                                      "X-Aegis-Role": "city_centre"})
    assert [e["id"] for e in shouted.json()] == [entry["id"]]

    url = engine.url.render_as_string(hide_password=False)
    listed = CliRunner().invoke(cli, ["audit", "--user", "a2", "--role", "auditor", "--db", url, "--json",
                                      "--subject-type", "number", "--limit", "5"])
    assert listed.exit_code == 0, listed.output
    assert [e["subject_id"] for e in json.loads(listed.stdout)] == ["170****5678"]
    refused = CliRunner().invoke(cli, ["audit", "--user", "b", "--role", "analyst", "--db", url])
    assert refused.exit_code == 2 and "analyst无权查看审计日志" in refused.stderr
    # the log is read citywide: a station user is told who reads it, not asked for a --station audit has not
    refused = CliRunner().invoke(cli, ["audit", "--user", "s", "--role", "police_station", "--db", url])
    assert refused.exit_code == 2 and refused.stderr == (
        "错误：--role：police_station无权查看审计日志（审计日志按全市查看，限auditor、city_centre之一）\n")
    refused = CliRunner().invoke(cli, ["audit", "--user", "s", "--role", "police_station", "--db", url, "--lang", "en"])
    assert refused.exit_code == 2 and refused.stderr == ("error: --role: police_station may not read the audit log "
                                                         "(it is read citywide, by one of auditor, city_centre)\n")
    none = CliRunner().invoke(cli, ["audit", "--user", "c", "--role", "city_centre", "--db", url, "--subject-id", "x"])
    assert none.exit_code == 0 and none.stdout.strip() == "没有符合条件的审计日志条目"


def test_the_listing_shows_what_people_wrote_escaped_never_acted_on(sqlite_engine: Engine, monkeypatch) -> None:
    """Free text is refused control characters now, but the log may hold some from before (or written another
    way): the listing shows each by its escape, and brackets as brackets, not as rich's markup."""
    from aegis.cli.common import out

    written = ["a\x1b[31mred\x07", "ok\rforged", "paid \u202eeulav", "csi\x9b2J",
               "note [/x] [conceal]hidden[/conceal]"]
    AuditLog(sqlite_engine).append(actor="police_station:s/o1", action="warning.contact", subject_type="warning",
                                   subject_id="wrn-1", reasons=[Reason.literal(w) for w in written])
    monkeypatch.setattr(out, "width", 250)  # a wide terminal: each reason whole on its line
    url = sqlite_engine.url.render_as_string(hide_password=False)
    listed = CliRunner().invoke(cli, ["audit", "--user", "c", "--role", "city_centre", "--db", url,
                                      "--action", "warning.", "--lang", "en"])
    assert listed.exit_code == 0, listed.output
    assert (r"a\x1b[31mred\x07; ok\rforged; paid \u202eeulav; csi\x9b2J; note [/x] [conceal]hidden[/conceal]"
            in listed.stdout)
    assert not any(char in listed.stdout for char in "\x1b\x07\r\u202e\x9b")
    # the JSON keeps them as they are stored, each as its JSON escape: JSON escapes the C0 controls only
    said = CliRunner().invoke(cli, ["audit", "--user", "c", "--role", "city_centre", "--db", url,
                                    "--action", "warning.", "--json"]).stdout
    assert json.loads(said)[0]["reasons"] == written
    assert r"paid \u202eeulav" in said and r"csi\u009b2J" in said and not any(c in said for c in "\u202e\x9b")


def test_a_phone_number_is_found_however_it_is_written_by_the_api_and_the_cli(engine: Engine) -> None:
    client = TestClient(create_app(engine))
    sms = {"sender": "+86 157-0000-4501", "text": SCAM}
    assert client.post("/api/v1/decisions/sms", json=sms, headers=TELCO).json()["action"] != "pass"
    AuditLog(engine).append(actor="system", action="warning.raise", subject_type="person", subject_id="P1")
    centre = {"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre"}
    url = engine.url.render_as_string(hide_password=False)
    for written in ("+86 157-0000-4501", "15700004501", "0086-157-0000-4501", "157 0000 4501"):
        # (the reads are on the log too, about the audit log: asked for by action)
        found = client.get("/api/v1/audit", params={"subject_id": written, "action": "decision."}, headers=centre)
        assert [(e["subject_id"], e["action"][:13]) for e in found.json()] == [("15700004501", "decision.sms.")]
        listed = CliRunner().invoke(cli, ["audit", "--user", "c", "--role", "city_centre", "--db", url, "--json",
                                          "--subject-id", written, "--subject-type", "number"])
        assert [e["subject_id"] for e in json.loads(listed.stdout)] == ["15700004501"]
    # a subject that is no phone number is looked up as written
    person = {"subject_type": "person"}
    assert [e["subject_id"] for e in client.get("/api/v1/audit", params={**person, "subject_id": "P1"},
                                                headers=centre).json()] == ["P1"]
    assert client.get("/api/v1/audit", params={**person, "subject_id": "p1"}, headers=centre).json() == []


def test_an_auditor_sees_the_names_of_the_persons_entries_are_about_masked(engine: Engine) -> None:
    """An officer's note names the person ("上门未见到叶雪婷本人"): no pattern tells a name from other words, but the
    store knows whose warning it is, and so whose name to mask; a search by a name is shown masked too."""
    from aegis.events.models import Person
    from aegis.store import EventRepository

    with engine.begin() as connection:
        EventRepository(engine).add_many("person", [
            Person(person_id="P7", name="叶雪婷", age=66, gender="F", occupation="退休人员", city="厦门市",
                   district="集美区", station="灌口派出所").model_dump()], connection)
    log = AuditLog(engine)
    log.append(actor="police_station:灌口派出所/o1", action="warning.contact", subject_type="warning",
               subject_id="wrn-a8e8470ebc72f7f3b1ce", reasons=["上门未见到叶雪婷本人，邻居说叶雪婷去银行了"],
               details={"person_id": "P7"})
    centre = Actor("c1", Role.city_centre)
    read_audit(engine, centre, subject_id="叶雪婷")
    shown = read_audit(engine, Actor("a1", Role.auditor), subject_type="audit_log")
    assert shown[0]["subject_id"] == "叶**"  # the centre's search by a name
    [contact] = read_audit(engine, Actor("a1", Role.auditor), action="warning.contact")
    assert contact["reasons"] == ["上门未见到叶**本人，邻居说叶**去银行了"]
    assert contact["subject_id"] == "wrn-a8e8470ebc72f7f3b1ce"  # a record's id, to be looked up
    assert "叶雪婷" in json.dumps(read_audit(engine, centre, action="warning.contact"), ensure_ascii=False, default=str)


def test_a_search_by_subject_is_not_crowded_out_by_the_searches_before_it(engine: Engine) -> None:
    log = AuditLog(engine)
    for action in ("warning.raise", "warning.take"):
        log.append(actor="system", action=action, subject_type="warning", subject_id="wrn-92db0c6fbf0f8f7e1a62")
    auditor = Actor("a1", Role.auditor)
    for _ in range(3):
        found = read_audit(engine, auditor, subject_id="wrn-92db0c6fbf0f8f7e1a62", limit=2)
        assert [e["action"] for e in found] == ["warning.take", "warning.raise"]
    searches = read_audit(engine, auditor, subject_type="audit_log", subject_id="wrn-92db0c6fbf0f8f7e1a62")
    assert [e["action"] for e in searches] == ["audit.read"] * 3
    # and each read names the entries it showed, so that who saw whose data can be answered
    assert searches[-1]["details"]["ids"] == [e["id"] for e in found]


def test_the_access_log_masks_a_name_searched_for_and_keeps_a_records_id() -> None:
    import logging

    from aegis.api.logs import MaskedAccess

    for asked, logged in (("%E5%8F%B6%E9%9B%AA%E5%A9%B7&limit=1", "叶**&limit=1"),
                          ("wrn-a8e8470ebc72f7f3b1ce", "wrn-a8e8470ebc72f7f3b1ce"), ("P0001234", "P0******")):
        record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '"%s %s"',
                                   ("GET", f"/api/v1/audit?subject_id={asked}"), None)
        assert MaskedAccess().filter(record)
        assert record.getMessage() == f'"GET /api/v1/audit?subject_id={logged}"'


def test_an_auditor_is_not_shown_the_request_digest_that_its_masked_numbers_could_be_found_from(engine: Engine) -> None:
    """A decision's request key ends in a digest of the request: hashing the 10^4 numbers that fit a masked caller
    (and as many callees) against it found the numbers the auditor was shown masked."""
    client = TestClient(create_app(engine))
    asked = {"sender": "17012345678", "receiver": "13800000001", "text": SCAM, "request_id": "r-1"}
    assert client.post("/api/v1/decisions/sms", json=asked, headers=TELCO).json()["action"] != "pass"
    [kept] = AuditLog(engine).recent(action_prefix="decision.")
    [shown] = read_audit(engine, Actor("a1", Role.auditor), action="decision.")
    assert kept["request_key"].rsplit("|", 1)[1] not in json.dumps(shown, ensure_ascii=False, default=str)
    assert shown["request_key"] == kept["request_key"].rsplit("|", 1)[0] + "|****************"
    [whole] = read_audit(engine, Actor("c1", Role.city_centre), action="decision.")
    assert whole["request_key"] == kept["request_key"]


def test_a_reader_of_a_named_city_is_refused_the_log_that_has_no_city(engine: Engine) -> None:
    """A centre of 泉州市 read 厦门市's entries unmasked: the log is not kept by city, so one city's reader cannot be
    shown its own part of it, and is refused rather than shown every city's."""
    from aegis.events.models import Person
    from aegis.store import EventRepository
    from aegis.usecases.actor import PermissionDenied

    with engine.begin() as conn:  # a resident of the other city, which is then a city the store knows
        EventRepository(engine).add_many("person", [Person(
            person_id="Q1", age=30, gender="M", occupation="职员", city="泉州市", district="丰泽区",
            station="东湖派出所").model_dump()], conn)

    AuditLog(engine).append(actor="system", action="warning.raise", subject_type="person", subject_id="P1")
    for role in (Role.city_centre, Role.auditor):
        with pytest.raises(PermissionDenied, match=r"^city: the audit log is not kept by city"):
            read_audit(engine, Actor("c1", role, city="泉州市"))
    client = TestClient(create_app(engine))
    refused = client.get("/api/v1/audit", headers={"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre",
                                                   "X-Aegis-City": quote("泉州市")})
    assert refused.status_code == 403 and refused.json()["detail"].startswith("city：审计日志不分城市")
    assert len(read_audit(engine, Actor("c1", Role.city_centre))) == 1


def test_an_auditor_sees_every_stored_persons_name_masked_and_a_links_escaped_digits_too(engine: Engine) -> None:
    """Only the names of the persons an entry is about were masked: a note about 叶雪婷 naming her cousin 林敏雨 (a
    resident too), and a phishing link's ``n=叶雪婷`` with no person_id, showed them whole, as it did a number
    written in percent-escapes (%31%33%39...)."""
    from aegis.events.models import Person
    from aegis.store import EventRepository

    with engine.begin() as connection:
        EventRepository(engine).add_many("person", [
            Person(person_id=p, name=n, age=40, gender="F", occupation="职员", city="厦门市", district="集美区",
                   station="灌口派出所").model_dump() for p, n in (("P7", "叶雪婷"), ("P8", "林敏雨"))], connection)
    log = AuditLog(engine)
    log.append(actor="police_station:灌口派出所/o1", action="warning.contact", subject_type="warning",
               subject_id="wrn-a8e8470ebc72f7f3b1ce", details={"person_id": "P7"},
               reasons=["已电话联系叶雪婷，其表姐林敏雨（350211200002254175）陪同"])
    link = "http://etc-gov.top/u?n=%E5%8F%B6%E9%9B%AA%E5%A9%B7&m=%31%33%39%31%32%33%34%35%36%37%38&k=叶雪婷"
    log.append(actor="platform:微信/u1", action="decision.url.block", subject_type="domain", subject_id="etc-gov.top",
               reasons=[Reason("网址 {url}", url=link[:60])], details={"url": link})
    auditor = Actor("a1", Role.auditor)
    [contact] = read_audit(engine, auditor, action="warning.contact")
    assert contact["reasons"] == ["已电话联系叶**，其表姐林**（350***********4175）陪同"]
    [url] = read_audit(engine, auditor, action="decision.url")
    shown = json.dumps(url, ensure_ascii=False, default=str)
    assert "叶雪婷" not in shown and "13912345678" not in shown and "%31%33" not in shown and "%E5" not in shown
    assert url["details"]["url"] == "http://etc-gov.top/u?n=叶**&m=139****5678&k=叶**"
    # escaped twice (one decoding left %31%33%39... to read), and a name spaced out as people write one
    twice = "%2531%2533%2539%2531%2532%2533%2534%2535%2536%2537%2538 %25E5%258F%25B6%25E9%259B%25AA%25E5%25A9%25B7"
    log.append(actor="police_station:灌口派出所/o1", action="warning.close", subject_type="warning",
               subject_id="wrn-a8e8470ebc72f7f3b1ce", details={"note": twice},
               reasons=["表姐林 敏 雨、林·敏雨、林.敏.雨陪同"])
    [closed] = read_audit(engine, auditor, action="warning.close")
    assert closed["details"]["note"] == "139****5678 叶**"
    assert closed["reasons"] == ["表姐林****、林***、林****陪同"]


def test_the_access_log_masks_a_name_or_a_number_in_any_part_of_a_request_line() -> None:
    """Only subject_id was searched for names, and digits were masked only in the groups numbers are written in: a
    name as a path's id or ?action=, a number spaced out digit by digit, stayed in the log whole."""
    import logging

    from aegis.api.logs import MaskedAccess

    for asked, logged in (
            ("/api/v1/warnings/%E5%8F%B6%E9%9B%AA%E5%A9%B7", "/api/v1/warnings/叶**"),
            ("/api/v1/warnings/1%203%209%201%202%203%204%205%206%207%208", "/api/v1/warnings/1 3************** 7 8"),
            ("/api/v1/audit?action=%E5%8F%B6%E9%9B%AA%E5%A9%B7&limit=5", "/api/v1/audit?action=叶**&limit=5"),
            ("/api/v1/audit?%E5%8F%B6%E9%9B%AA%E5%A9%B7=1", "/api/v1/audit?叶**=1"),
            ("/api/v1/warnings?status=new&lang=en&offset=200", "/api/v1/warnings?status=new&lang=en&offset=200"),
            ("/api/v1/audit?action=decision.sms&subject_type=audit_log",
             "/api/v1/audit?action=decision.sms&subject_type=audit_log"),
            ("/api/v1/funds/contacts?at=2026-10-01T10:00:00%2B08:00",
             "/api/v1/funds/contacts?at=2026-10-01T10:00:00+08:00"),
            ("/api/v1/funds/orders/OR-cd34de35d541c7f68f57/response",
             "/api/v1/funds/orders/OR-cd34de35d541c7f68f57/response"),
            ("/api/v1/audit?subject_id=1+3+9+1+2+3+4+5+6+7+8", "/api/v1/audit?subject_id=1 3************** 7 8"),
            # a name after a code, an id or a number in the same part: the name masked too (it was left whole)
            ("/api/v1/audit?action=warning.%E5%94%90%E5%BB%BA%E7%A3%8A", "/api/v1/audit?action=warning.唐**"),
            ("/api/v1/audit?subject_id=P0000000-%E5%94%90%E5%BB%BA%E7%A3%8A",
             "/api/v1/audit?subject_id=P0******-唐**"),
            ("/api/v1/warnings/wrn-62fd69507c6fd94e4597%20%E5%94%90%E5%BB%BA%E7%A3%8A",
             "/api/v1/warnings/wrn-62fd69507c6fd94e4597 唐**")):
        record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '"%s %s"', ("GET", asked), None)
        assert MaskedAccess().filter(record)
        assert record.getMessage() == f'"GET {logged}"', asked
