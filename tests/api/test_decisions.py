"""The real-time decision API, end to end over HTTP, with the shipped models and a real store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from aegis.api.app import create_app
from aegis.decisions.evidence import Signal, combine
from aegis.decisions.policy import PolicyError, load_policy
from aegis.reasons import Reason, render, stored
from aegis.store import AuditLog, RiskProfileRepository

TELCO = {"X-Aegis-User": "gw-1", "X-Aegis-Role": "telco", "X-Aegis-Institution": quote("中国移动厦门分公司")}
BANK = {"X-Aegis-User": "gw-2", "X-Aegis-Role": "bank", "X-Aegis-Institution": quote("工商银行")}


@pytest.fixture
def client(engine):
    with TestClient(create_app(engine)) as client:
        yield client


def test_fraud_sms_is_stopped_with_reasons_and_audited(client, engine):
    fraud = {
        "sender": "17012345678",
        "receiver": "13800000001",
        "text": "【公安局】您涉嫌洗钱案件，请立即将资金转入安全账户配合调查，否则将冻结您名下全部账户",
    }
    normal = {"sender": "13800000002", "receiver": "13800000001", "text": "妈，我今晚加班不回家吃饭了"}
    response = client.post("/api/v1/decisions/sms", json=[fraud, normal], headers=TELCO)
    assert response.status_code == 200
    stopped, passed = response.json()
    assert stopped["action"] in ("block", "warn")
    assert stopped["fraud_type"] == "impersonate_police"
    assert any("安全账户" in reason or "洗钱" in reason for reason in stopped["reasons"])
    assert passed["action"] == "pass" and passed["names"] == {"action": "放行"}
    assert stopped["names"]["action"] in ("拦截", "提醒")
    entries = AuditLog(engine).entries("number", "17012345678")
    assert len(entries) == 1
    assert entries[0]["actor"] == "telco:中国移动厦门分公司/gw-1"
    assert render(entries[0]["reasons"]) == stopped["reasons"]
    assert AuditLog(engine).entries("number", "13800000002") == []


def test_call_uses_the_callers_risk_profile(client, engine):
    RiskProfileRepository(engine).upsert_many(
        "number",
        [
            {
                "entity_id": "17099998888",
                "score": 0.97,
                "label": "1",
                "fraud_type": "impersonate_police",
                "reasons": ["一个IMEI上有12个IMSI（疑似猫池）"],
            }
        ],
        model="test",
    )
    risky = client.post(
        "/api/v1/decisions/call", json={"caller": "17099998888", "callee": "13800000001"}, headers=TELCO
    ).json()
    unknown = client.post("/api/v1/decisions/call", json={"caller": "13900001111"}, headers=TELCO).json()
    assert risky["action"] == "block" and "猫池" in risky["reasons"][0]
    assert unknown["action"] == "pass"


def test_a_batch_decides_as_its_requests_one_by_one(client):
    """A batch scores its texts, links and transcripts together; each message still gets its own evidence."""
    sms = [
        {"sender": "13800000011", "text": "您的ETC已失效，请登录 http://etc-gov.top/a1 认证，逾期停用"},
        {"sender": "13800000012", "text": "妈，我今晚加班不回家吃饭了"},
        {"sender": "13800000013", "text": "积分兑换 http://icbc-ic.xyz/q 和 www.cmb-vip.cc/k 今日截止"},
        {"sender": "13800000014", "text": "【中国移动】本月账单已出，详情 https://u.10010.cn/x 查看"},
    ]
    calls = [
        {"caller": "13900000011", "transcript": ["喂，你好", "我是公安局的，你的银行卡涉嫌洗钱，要转到安全账户"]},
        {"caller": "13900000012"},
        {"caller": "13900000013", "transcript": ["喂，妈，我到家了"]},
    ]
    for channel, items in (("sms", sms), ("call", calls)):
        batch = client.post(f"/api/v1/decisions/{channel}", json=items, headers=TELCO).json()
        alone = [client.post(f"/api/v1/decisions/{channel}", json=item, headers=TELCO).json() for item in items]
        assert batch == alone
    decided = client.post("/api/v1/decisions/sms", json=sms, headers=TELCO).json()
    assert decided[1]["action"] == "pass" and decided[0]["action"] != "pass"
    assert sum("网址" in reason for reason in decided[2]["reasons"]) >= 1


def test_a_batch_longer_than_the_limit_is_refused_before_any_is_decided(client, engine):
    from aegis.usecases.decisions import MAX_BATCH

    scam = {"sender": "17055554444", "text": "【公安局】您涉嫌洗钱，请立即将资金转入安全账户配合调查"}
    refused = client.post("/api/v1/decisions/sms", json=[scam] * (MAX_BATCH + 1), headers=TELCO)
    assert refused.status_code == 422 and f"at most {MAX_BATCH}" in refused.text
    assert client.post("/api/v1/decisions/sms", json=[], headers=TELCO).status_code == 422
    assert AuditLog(engine).entries("number", "17055554444") == []
    decided = client.post("/api/v1/decisions/sms", json=[scam] * 3, headers=TELCO).json()
    entries = AuditLog(engine).entries("number", "17055554444")
    assert len(entries) == 3 == len(decided) and all(d["action"] != "pass" for d in decided)


def test_an_official_number_is_not_blocked_on_a_false_flag(client, engine):
    RiskProfileRepository(engine).upsert_many(
        "number", [{"entity_id": "96110", "score": 0.99, "label": "1", "fraud_type": None, "reasons": ["群发"]}],
        model="test",
    )
    call = client.post("/api/v1/decisions/call", json={"caller": "96110", "callee": "13800000001"}, headers=TELCO)
    assert call.json()["action"] == "pass"
    text = "【公安局】您涉嫌洗钱案件，请立即将资金转入安全账户配合调查"
    sms = {"sender": "96110", "receiver": "13800000001", "text": text}
    text_still_counts = client.post("/api/v1/decisions/sms", json=sms, headers=TELCO).json()
    assert text_still_counts["action"] in ("block", "warn")


def test_a_domain_profile_counts_only_when_a_url_visited_there_was_phishing(client, engine):
    # a domain's profile is the URL detector's verdict on the riskiest URL visited there, not a list entry
    RiskProfileRepository(engine).upsert_many("domain", [
        {"entity_id": "python.org", "score": 0.25, "label": "legitimate", "reasons": []},
        {"entity_id": "pay-check.example.net", "score": 0.97, "label": "phishing",
         "reasons": stored([Reason("登录页仿冒{brand}", brand="icbc.com.cn")])},
    ], model="test")
    legit = client.post("/api/v1/decisions/url", json={"url": "https://www.python.org/"}, headers=TELCO).json()
    assert legit["action"] == "pass"
    assert not any("访问过" in reason or "名单" in reason for reason in legit["reasons"])
    risky = client.post("/api/v1/decisions/url", json={"url": "https://pay-check.example.net/"},
                        headers=TELCO).json()
    assert risky["action"] == "block"
    assert "域名pay-check.example.net下访问过的网址：登录页仿冒icbc.com.cn" in risky["reasons"]
    # logged under the domain, the whole link in the details: a URL (up to 2,048 characters) is no subject
    long_link = "https://pay-check.example.net/login?" + "x" * 1900
    assert client.post("/api/v1/decisions/url", json={"url": long_link}, headers=TELCO).json()["action"] == "block"
    logged = [e for e in AuditLog(engine).entries() if e["action"] == "decision.url.block"]
    assert [(e["subject_type"], e["subject_id"]) for e in logged] == [("domain", "pay-check.example.net")] * 2
    assert [e["details"]["url"] for e in logged] == ["https://pay-check.example.net/", long_link]


def test_transfer_to_risky_payee_is_held(client, engine):
    RiskProfileRepository(engine).upsert_many(
        "account",
        [{"entity_id": "6222000000000009", "score": 0.95, "label": "1", "reasons": ["资金快进快出"]}],
        model="test",
    )
    held = client.post(
        "/api/v1/decisions/transfer",
        headers=BANK,
        json={"payer_account": "6217000011112222", "payee_account": "6222000000000009", "amount": "30000.00"},
    ).json()
    ordinary = client.post(
        "/api/v1/decisions/transfer",
        headers=BANK,
        json={"payer_account": "6217000011112222", "payee_account": "6222000000000001", "amount": "80.00"},
    ).json()
    assert held["action"] == "block"
    assert any("首次" in r for r in held["reasons"]) and any("快进快出" in r for r in held["reasons"])
    assert ordinary["action"] == "pass"


def test_a_large_payment_is_a_first_one_only_before_the_pair_ever_paid(client, engine):
    from datetime import UTC, datetime, timedelta

    from aegis.events.models import Transfer
    from aegis.store import EventRepository

    paid_at = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    stored = Transfer(payer_account="6212000000000101", payee_account="6222000000000202", payer_bank="工商银行",
                      payee_bank="建设银行", amount="20000.00", time=paid_at)
    with engine.begin() as connection:
        EventRepository(engine).add_many("transfer", [stored.model_dump()], connection)

    def first(at: datetime | None, payee: str = "6222000000000202") -> bool:
        body = {"payer_account": "6212000000000101", "payee_account": payee, "amount": "20000.00"}
        if at is not None:
            body["time"] = at.isoformat()
        reasons = client.post("/api/v1/decisions/transfer", headers=BANK, json=body).json()["reasons"]
        return any("首次" in r for r in reasons)

    assert not first(None)  # paid before: not a first payment now
    assert first(paid_at)  # replayed at its own time: the stored row is itself, not an earlier payment
    assert not first(paid_at + timedelta(days=1))
    assert first(None, payee="6222000000000303")


def test_a_payer_under_an_open_warning_is_held_while_it_is_open(client, engine):
    from datetime import UTC, datetime, timedelta

    from aegis.actions.warnings import WarningRequest
    from aegis.events.models import AccountOpening, Person
    from aegis.store import EventRepository
    from aegis.usecases import warnings as uc
    from aegis.usecases.actor import Actor, Role

    t0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    events = EventRepository(engine)
    with engine.begin() as connection:
        events.add_many("person", [Person(person_id=p, age=67, gender="F", occupation="退休人员", city="厦门市",
                                          district="siming", station="siming-zhonghua").model_dump()
                                   for p in ("P1", "P2")], connection)
        events.add_many("account_opening", [
            AccountOpening(person_id=p, account=a, institution="工商银行", branch="中华支行",
                           time=t0 - timedelta(days=400)).model_dump()
            for p, a in (("P1", "6212000000000001"), ("P2", "6212000000000002"))], connection)
    system = Actor("aegis", Role.system)
    lead = WarningRequest("P1", "impersonate_police", 0.97, "urgent", (Reason("接到涉诈号码来电"),), "lead-1", t0)
    assert uc.raise_warnings(engine, system, [lead], now=t0)["opened"] == 1

    def decide(payer: str, at: datetime | None = None, amount: str = "800.00") -> dict:
        body = {"payer_account": payer, "payee_account": "6222000000000555", "amount": amount}
        if at is not None:
            body["time"] = at.isoformat()
        return client.post("/api/v1/decisions/transfer", headers=BANK, json=body).json()

    def replayed(payer: str, at: datetime) -> str:
        """A recorded payment decided at its own time, as the demo replays its city's (nothing is recorded)."""
        from aegis.usecases.decisions import Decider, TransferIn

        pay = TransferIn.model_validate({"payer_account": payer, "payee_account": "6222000000000555",
                                         "amount": "800.00", "time": at}, context={"replay": True})
        return Decider(engine, Actor("gw", Role.bank, institution="工商银行"), record=False,
                       replay=True).transfer([pay])[0].action.value

    held = decide("6212000000000001")
    assert held["action"] == "block" and held["fraud_type"] == "impersonate_police"
    assert held["reasons"] == ["付款人有一条未办结的预警，可能正在被骗"]  # its level is the police's: held says it
    assert decide("6212000000000002")["action"] == "pass"  # another person's account
    # dated before the warning (a lagging clock), it is paid now, under the warning; replayed, it was paid before
    assert decide("6212000000000001", at=t0 - timedelta(hours=1))["action"] == "block"
    assert replayed("6212000000000001", t0 - timedelta(hours=1)) == "pass"

    officer = Actor("o1", Role.police_station, district="siming", station="siming-zhonghua")
    centre = Actor("c1", Role.city_centre)
    (told,) = uc.list_warnings(engine, centre)
    wid = told["warning_id"]
    # the hold is news for the officer on the warning: a lead, once per payment (a retry adds nothing)
    assert told["lead_count"] == 3 and render(told["reasons"])[0] == "正在向账户622*********0555转账800.00元（拦截）"
    decide("6212000000000001", at=t0 + timedelta(minutes=30))
    decide("6212000000000001", at=t0 + timedelta(minutes=30))
    assert uc.list_warnings(engine, centre)[0]["lead_count"] == 4
    t1 = t0 + timedelta(hours=3)
    uc.take_warning(engine, officer, wid, now=t0 + timedelta(hours=1))
    uc.record_contact(engine, officer, wid, channel="call", result="reached", now=t0 + timedelta(hours=2))
    uc.close_warning(engine, officer, wid, outcome="dissuaded", now=t1)
    assert decide("6212000000000001")["action"] == "pass"  # closed: the payer was reached and dissuaded
    # so is a live payment dated while it was open; replayed at its own time, it sees the warning open then
    assert decide("6212000000000001", at=t0 + timedelta(hours=2))["action"] == "pass"
    assert replayed("6212000000000001", t0 + timedelta(hours=2)) == "block"
    assert replayed("6212000000000001", t1 + timedelta(minutes=1)) == "pass"
    assert len(AuditLog(engine).entries("account", "6212000000000001")) == 4  # the holds
    assert len(uc.list_warnings(engine, centre)) == 1  # a payment after it was closed opens none
    # a medium warning alone lets a small payment pass; with a large first payment to a new payee it warns
    medium = WarningRequest("P2", "pig_butchering", 0.6, "medium", (Reason("访问涉诈网站"),), "lead-2", t0)
    assert uc.raise_warnings(engine, system, [medium], now=t0)["opened"] == 1
    small = decide("6212000000000002")
    # it changes nothing the bank does, so the bank is told nothing of it; the look at it is on the log
    told = (small["action"], small["score"], small["fraud_type"], small["reasons"])
    assert told == ("pass", 0.0, None, ["未发现风险"])
    [looked] = AuditLog(engine).entries("account", "6212000000000002")
    assert looked["action"] == "decision.transfer.pass" and looked["actor"] == "bank:工商银行/gw-2"
    assert looked["details"]["payer_warning"] == next(
        w["warning_id"] for w in uc.list_warnings(engine, centre) if w["person_id"] == "P2")
    large = decide("6212000000000002", amount="30000.00")
    assert large["action"] == "warn" and large["fraud_type"] == "pig_butchering"
    # paying while warned makes the medium warning urgent, for the city centre's queue
    raised = next(w for w in uc.list_warnings(engine, centre) if w["person_id"] == "P2")
    assert (raised["level"], raised["queue"]) == ("urgent", "city")
    assert large["reasons"][0] == "付款人有一条未办结的预警，可能正在被骗" and "首次" in large["reasons"][1]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"sender": "13800000001", "text": ""}, "text"), ({"text": "hi"}, "sender"),
     ({"sender": "13800000001", "text": "x", "y": 1}, "y"),
     ({"sender": "+86", "text": "hi"}, "sender"), ({"sender": "-", "text": "hi"}, "sender")],  # no one to name
)
def test_bad_requests_name_the_field(client, body, field):
    response = client.post("/api/v1/decisions/sms", json=body, headers=TELCO)
    assert response.status_code == 422
    assert field in str(response.json()["detail"])


def test_unknown_role_is_refused(client):
    response = client.post(
        "/api/v1/decisions/sms",
        json={"sender": "1", "text": "hi"},
        headers={"X-Aegis-User": "x", "X-Aegis-Role": "hacker"},
    )
    assert response.status_code == 401


def test_evidence_combines_as_noisy_or():
    combined = combine([Signal(0.5, ("a",), "fake_loan"), Signal(0.5, ("b",)), Signal(0.1, ("c",))])
    assert combined.score == pytest.approx(1 - 0.5 * 0.5)  # a weak signal adds nothing it could not explain
    assert combined.reasons == ("a", "b") and combined.fraud_type == "fake_loan"
    # evidence without reasons is no more than its own score: two of them never make a warning with no reason
    assert combine([Signal(0.46, ()), Signal(0.21, ())]) == Signal(0.46, ())
    assert combine([Signal(0.3, ("a",)), Signal(0.4, ())]).score == pytest.approx(0.4)
    assert combine([]).score == 0.0


def test_a_harmless_message_with_a_link_is_not_warned_for_want_of_reasons(client, engine):
    """The text model scores a delivery notice with a link 0.46 (normal, no reasons), the link 0.21: joined as
    evidence they once warned with "no risk found"; every warning and block now says why."""
    answers = client.post("/api/v1/decisions/sms", json=[
        {"sender": "13800003333", "text": text} for text in (
            "你的快递到了，放在门口了 http://example.com", "【顺丰】您的快件已签收，查看详情 https://www.sf-express.com/x",
            "您的ETC卡已失效，请及时登录 http://etc-gov.top/a1K2 进行认证，以免影响正常通行")],
        headers=TELCO).json()
    for answer in answers:
        assert answer["action"] == "pass" or (answer["reasons"] and "未发现风险" not in answer["reasons"]), answer
    assert answers[0]["action"] == "pass" and answers[-1]["action"] == "block"


def test_policy_file_errors_name_the_field(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("version: x\nchannels:\n  sms: {block: 0.4, warn: 0.6}\n")
    with pytest.raises(PolicyError, match="warn"):
        load_policy(path)


def test_reasons_come_in_english_on_request_and_the_audit_log_reads_in_both(client, engine):
    profile = {"entity_id": "17099997777", "score": 0.97, "label": "1", "fraud_type": None,
               "reasons": stored([Reason("一个IMEI上有{sims}个IMSI（疑似猫池）", sims=12)])}
    RiskProfileRepository(engine).upsert_many("number", [profile], model="test")
    body = {"caller": "17099997777"}
    zh = client.post("/api/v1/decisions/call", json=body, headers=TELCO).json()
    en = client.post("/api/v1/decisions/call?lang=en", json=body, headers=TELCO).json()
    browser = client.post("/api/v1/decisions/call", json=body,
                          headers={**TELCO, "Accept-Language": "en-GB,en;q=0.9"}).json()
    assert zh["reasons"] == ["主叫号码：一个IMEI上有12个IMSI（疑似猫池）"]
    upper = client.post("/api/v1/decisions/call?lang=EN", json=body, headers=TELCO).json()  # any case
    assert en["reasons"] == browser["reasons"] == upper["reasons"] == [
        "caller number: 12 SIMs (IMSIs) on one handset (IMEI): likely a SIM box"]
    assert (en["action"], en["score"]) == (zh["action"], zh["score"]) == ("block", 0.97)
    assert (zh["names"], en["names"]) == ({"action": "拦截"}, {"action": "block"})
    entries = AuditLog(engine).entries("number", "17099997777")
    assert [render(e["reasons"], "en") for e in entries] == [en["reasons"]] * 4
    assert [render(e["reasons"]) for e in entries] == [zh["reasons"]] * 4
    sms = {"sender": "17012345678", "text": "【公安局】您涉嫌洗钱案件，请立即将资金转入安全账户配合调查 http://gov-check.top/a"}
    sms_en = client.post("/api/v1/decisions/sms?lang=en", json=sms, headers=TELCO).json()
    assert sms_en["fraud_type_name"] == "benefits or ETC phishing"  # the look-alike government link outweighs
    english = ("SMS text: contains '", "URL http://gov-check.top/a: ")
    assert sms_en["reasons"] and all(r.startswith(english) for r in sms_en["reasons"])
    refused = client.post("/api/v1/decisions/call?lang=fr", json=body, headers=TELCO)
    assert refused.status_code == 422 and "lang: 'fr'" in refused.text


SMS_REQUESTS = [{"sender": "17012345678", "text": "【公安局】您涉嫌洗钱案件，请立即将资金转入安全账户配合调查"},
                {"sender": "13800000002", "text": "妈，我今晚加班不回家吃饭了"}]


def _sms_requests(tmp_path):
    """A scam and an ordinary SMS as the JSON lines `aegis decide sms` reads."""
    import json

    requests = tmp_path / "sms.jsonl"
    requests.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in SMS_REQUESTS) + "\n",
                        encoding="utf-8")
    return requests


def test_the_decide_command_reads_jsonl_and_names_the_bad_line(tmp_path):
    import json

    from typer.testing import CliRunner

    from aegis.cli.main import app

    url = f"sqlite:///{tmp_path / 'd.db'}"
    requests, lines = _sms_requests(tmp_path), SMS_REQUESTS
    runner = CliRunner()
    # a store that is not there is a typo'd --db: deciding without its profiles would pass what it should stop
    missing = runner.invoke(app, ["decide", "sms", str(requests), "--db", url])
    assert missing.exit_code == 2 and f"database：找不到库{tmp_path / 'd.db'}" in missing.output
    assert not (tmp_path / "d.db").exists()
    assert runner.invoke(app, ["db", "upgrade", "--db", url]).exit_code == 0
    done = runner.invoke(app, ["decide", "sms", str(requests), "--db", url, "--lang", "en"])
    assert done.exit_code == 0, done.output
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["action"] in ("block", "warn") and first["reasons"][0].startswith("SMS text: contains '")
    assert (second["action"], second["reasons"]) == ("pass", ["no risk found"])
    bad_line = '{"sender": "1380", "text": ""}'
    requests.write_text(json.dumps(lines[0], ensure_ascii=False) + "\n" + bad_line + "\n", encoding="utf-8")
    bad = runner.invoke(app, ["decide", "sms", str(requests), "--db", url])
    assert bad.exit_code == 2 and "sms.jsonl：第2行：text：" in bad.stderr
    requests.write_bytes(json.dumps(lines[1], ensure_ascii=False).encode("gbk") + b"\n")
    gbk = runner.invoke(app, ["decide", "sms", str(requests), "--db", url])
    assert gbk.exit_code == 2
    assert "sms.jsonl：第1行：不是UTF-8文本，而JSON lines须为UTF-8（看起来是GBK）" in gbk.stderr
    assert "Traceback" not in gbk.output
    # a file that is not there, or a folder, is named in the command's language, as ingest names it
    absent = runner.invoke(app, ["decide", "sms", str(tmp_path / "none.jsonl"), "--db", url])
    assert absent.exit_code == 2 and absent.stderr == f"错误：{tmp_path / 'none.jsonl'}：文件不存在\n"
    folder = runner.invoke(app, ["decide", "sms", str(tmp_path), "--db", url, "--lang", "en"])
    assert folder.exit_code == 2 and folder.stderr == f"error: {tmp_path}: is a folder, not a file\n"


def test_the_decide_command_run_again_on_its_file_is_a_retry(tmp_path):
    """A run stopped after a batch was recorded (kill -9 between the commit and the printing) is run again: its
    rows, named by the file's digest and their line, are answered as recorded and nothing is recorded twice."""
    import hashlib
    import json

    from typer.testing import CliRunner

    from aegis.cli.main import app

    url = f"sqlite:///{tmp_path / 'd.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade", "--db", url]).exit_code == 0
    requests = _sms_requests(tmp_path)
    first = runner.invoke(app, ["decide", "sms", str(requests), "--db", url])
    digest = hashlib.sha256(requests.read_bytes()).hexdigest()[:16]
    answers = [json.loads(line) for line in first.stdout.splitlines()]
    assert [a["request_id"] for a in answers] == [f"{digest}:1", f"{digest}:2"]
    from aegis.store import open_engine

    engine = open_engine(url, existing=True)
    logged = len(AuditLog(engine).entries("number", "17012345678"))
    assert logged == 1
    again = runner.invoke(app, ["decide", "sms", str(requests), "--db", url])
    assert [json.loads(line) for line in again.stdout.splitlines()] == answers
    assert len(AuditLog(engine).entries("number", "17012345678")) == logged
    # a row with its own id keeps it; another file (a row added) is other requests
    requests.write_text(requests.read_text(encoding="utf-8") + json.dumps(
        {**SMS_REQUESTS[0], "request_id": "mine-1"}, ensure_ascii=False) + "\n", encoding="utf-8")
    third = [json.loads(line) for line in runner.invoke(app, ["decide", "sms", str(requests), "--db", url]).stdout
             .splitlines()]
    assert third[2]["request_id"] == "mine-1" and not third[0]["request_id"].startswith(digest)
    assert len(AuditLog(engine).entries("number", "17012345678")) == logged + 2


def test_a_stop_asked_while_a_batch_is_recorded_waits_for_its_last_line() -> None:
    import os
    import signal
    import time

    from aegis.cli.main import deferred_stops

    done = []
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), deferred_stops():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler has run (the kernel delivers to whichever thread it picks)
        done.append("recorded and printed")
    assert done == ["recorded and printed"] and signal.getsignal(signal.SIGINT) is before


def test_the_decide_command_reads_csv_as_ingest_does(tmp_path):
    """A CSV, GBK as Chinese spreadsheets save it, is read by the readers of `aegis ingest` (it was read as JSON
    lines and refused as not UTF-8); a bad row is named by its line, the header being line 1."""
    import csv
    import io
    import json

    from typer.testing import CliRunner

    from aegis.cli.main import app

    url = f"sqlite:///{tmp_path / 'd.db'}"
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade", "--db", url]).exit_code == 0
    expected = runner.invoke(app, ["decide", "sms", str(_sms_requests(tmp_path)), "--db", url, "--lang", "en"])
    text = io.StringIO()
    writer = csv.DictWriter(text, ["sender", "receiver", "text"])
    writer.writeheader()
    writer.writerows(SMS_REQUESTS)
    requests = tmp_path / "sms.csv"
    requests.write_bytes(text.getvalue().encode("gbk"))
    done = runner.invoke(app, ["decide", "sms", str(requests), "--db", url, "--lang", "en"])
    assert done.exit_code == 0, done.output
    # the same answers; each file names its rows' requests by its own digest and line
    assert [{**json.loads(line), "request_id": None} for line in done.stdout.splitlines()] == [
        {**json.loads(line), "request_id": None} for line in expected.stdout.splitlines()]
    requests.write_bytes((text.getvalue() + "95588,13800000001,\n").encode("gbk"))
    bad = runner.invoke(app, ["decide", "sms", str(requests), "--db", url])
    assert bad.exit_code == 2 and f"sms.csv：第{len(SMS_REQUESTS) + 2}行：text：Field required" in bad.stderr
    transfers = tmp_path / "transfers.csv"  # an absurd sum, refused as the API and ingest refuse it
    transfers.write_text('payer_account,payee_account,amount\n6212000000000001,6222000000000555,"1,000,000,000,000,000"\n')
    absurd = runner.invoke(app, ["decide", "transfer", str(transfers), "--db", url, "--lang", "en"])
    assert absurd.exit_code == 2
    assert absurd.stderr == "error: transfers.csv: line 2: amount: Input should be less than 1000000000000\n"


def test_a_policy_is_tried_on_past_requests_without_recording(tmp_path):
    import json

    import yaml
    from typer.testing import CliRunner

    from aegis.cli.main import app
    from aegis.decisions.policy import default_policy
    from aegis.store import open_engine

    url = f"sqlite:///{tmp_path / 'd.db'}"
    requests = _sms_requests(tmp_path)
    strict = default_policy().model_dump()
    strict["version"] = "what-if-1"
    strict["channels"]["sms"] = {"block": 1.0, "warn": 1.0}  # nothing reaches 1.0: everything passes
    (tmp_path / "strict.yaml").write_text(yaml.safe_dump(strict, allow_unicode=True), encoding="utf-8")
    open_engine(url).dispose()  # the store the past requests were decided on
    runner = CliRunner()
    tried = runner.invoke(app, ["decide", "sms", str(requests), "--db", url, "--policy", str(tmp_path / "strict.yaml"),
                                "--lang", "en"])
    assert tried.exit_code == 0, tried.output
    assert [json.loads(line)["action"] for line in tried.stdout.splitlines()] == ["pass", "pass"]
    assert "trying policy what-if-1: 0 block, 0 warn, 2 pass; nothing written to the audit log" in tried.stderr
    assert AuditLog(open_engine(url)).entries() == []
    live = runner.invoke(app, ["decide", "sms", str(requests), "--db", url])
    assert json.loads(live.stdout.splitlines()[0])["action"] in ("block", "warn")
    assert len(AuditLog(open_engine(url)).entries()) == 1 and "试行" not in live.stderr
    strict["channels"]["sms"] = {"block": 0.5, "warn": 0.9}
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(strict, allow_unicode=True), encoding="utf-8")
    bad = runner.invoke(app, ["decide", "sms", str(requests), "--db", url, "--policy", str(tmp_path / "bad.yaml")])
    assert bad.exit_code == 2 and "bad.yaml：channels.sms" in bad.stderr and "warn：不能高于block" in bad.stderr
    (tmp_path / "list.yaml").write_text("- sms\n", encoding="utf-8")
    for name, message in (("nope.yaml", "nope.yaml：文件不存在"), ("list.yaml", "list.yaml：（整个文件）：")):
        refused = runner.invoke(app, ["decide", "sms", str(requests), "--db", url, "--policy", str(tmp_path / name)])
        assert refused.exit_code == 2 and message in refused.stderr and "Errno" not in refused.stderr
    assert len(AuditLog(open_engine(url)).entries()) == 1  # nothing decided under a policy that was refused


def test_a_bad_request_names_its_fields_without_echoing_the_data(client):
    one = client.post("/api/v1/decisions/sms", json={"sender": "13800000001"}, headers=TELCO)
    assert one.status_code == 422
    # only the shape that was sent: no "Input should be a valid list" for a single object
    assert one.json()["detail"] == [{"loc": ["body", "text"], "msg": "Field required", "type": "missing"}]
    many = client.post("/api/v1/decisions/sms", json=[{"sender": "13800000001", "receiver": 7}] * 300, headers=TELCO)
    detail = many.json()["detail"]
    assert many.status_code == 422 and detail[0]["loc"] == ["body", 0, "receiver"]
    assert len(detail) == 21 and detail[-1]["msg"] == "and 580 more errors"
    assert "13800000001" not in many.text  # the request's values (personal data) are not sent back
    to_itself = client.post("/api/v1/decisions/transfer", headers=BANK, json={
        "payer_account": "6212000000000001", "payee_account": "6212000000000001", "amount": "5.00"})
    assert to_itself.status_code == 422 and "must differ from payer_account" in to_itself.text
    too_long = client.post("/api/v1/decisions/sms", json=[{"sender": "13800000001", "text": "x"}] * 1001, headers=TELCO)
    assert too_long.status_code == 422 and len(too_long.text) < 200 and "at most 1000" in too_long.text


def _payer_under_warning(engine) -> None:
    """Resident P1, owner of account 6212000000000001, under an open urgent warning since an hour ago."""
    from aegis.actions.warnings import WarningRequest
    from aegis.events.models import AccountOpening, Person
    from aegis.store import EventRepository
    from aegis.usecases import warnings as uc
    from aegis.usecases.actor import Actor, Role

    with engine.begin() as connection:
        events = EventRepository(engine)
        events.add_many("person", [Person(person_id="P1", age=67, gender="F", occupation="退休人员", city="厦门市",
                                          district="siming", station="siming-zhonghua").model_dump()], connection)
        events.add_many("account_opening", [AccountOpening(
            person_id="P1", account="6212000000000001", institution="工商银行", branch="中华支行",
            time="2025-01-01T09:00:00+08:00").model_dump()], connection)
    lead = WarningRequest("P1", "impersonate_police", 0.97, "urgent", (Reason("接到涉诈号码来电"),), "lead-1",
                          datetime.now(UTC) - timedelta(hours=1))
    uc.raise_warnings(engine, Actor("aegis", Role.system), [lead])


def test_a_retried_request_with_its_id_is_recorded_once(client, engine):
    from aegis.usecases import warnings as uc
    from aegis.usecases.actor import Actor, Role

    sms = {"sender": "17012345678", "text": "【公安局】您涉嫌洗钱案件，请立即将资金转入安全账户配合调查",
           "request_id": "sms-1"}
    first = client.post("/api/v1/decisions/sms", json=sms, headers=TELCO).json()
    assert client.post("/api/v1/decisions/sms", json=[sms, sms], headers=TELCO).json() == [first, first]
    [entry] = AuditLog(engine).entries("number", "17012345678")
    assert entry["details"]["request_id"] == "sms-1"
    # the id is the caller's: another telco's "sms-1" is another request, and without an id each call counts
    other = {**TELCO, "X-Aegis-Institution": quote("中国电信")}
    client.post("/api/v1/decisions/sms", json=sms, headers=other)
    client.post("/api/v1/decisions/sms", json={k: v for k, v in sms.items() if k != "request_id"}, headers=TELCO)
    assert len(AuditLog(engine).entries("number", "17012345678")) == 3
    # an id used again for another request (a caller's bug) is that request, audited, not hidden behind the first
    reused = {**sms, "sender": "17099990000"}
    assert client.post("/api/v1/decisions/sms", json=reused, headers=TELCO).json()["action"] != "allow"
    [entry] = AuditLog(engine).entries("number", "17099990000")
    assert entry["details"]["request_id"] == "sms-1"
    assert len(AuditLog(engine).entries("number", "17012345678")) == 3

    # a payment held for a payer under a warning, retried without a time: one audit entry, one lead
    _payer_under_warning(engine)
    pay = {"payer_account": "6212000000000001", "payee_account": "6222000000000555", "amount": "800.00",
           "request_id": "pay-7"}
    for amount in ("800.00", "800", 800, 800.0):  # one payment, however its sum is written
        retry = {**pay, "amount": amount}
        assert client.post("/api/v1/decisions/transfer", json=retry, headers=BANK).json()["action"] == "block"
    assert len(AuditLog(engine).entries("account", "6212000000000001")) == 1
    assert uc.list_warnings(engine, Actor("c1", Role.city_centre))[0]["lead_count"] == 2


@pytest.mark.parametrize("dated", ["2020-01-01T00:00:00", "2026-09-01T10:00:00"])
def test_a_payment_dated_before_its_payers_warning_is_still_held_now(client, engine, dated):
    """The money moves now: a payment that carries an earlier time (a lagging clock, the time the customer began
    it) is weighed against the payer's warnings as they stand now. Replayed (the demo), it is weighed as then."""
    from aegis.usecases.actor import Actor, Role
    from aegis.usecases.decisions import Decider, TransferIn

    _payer_under_warning(engine)
    pay = {"payer_account": "6212000000000001", "payee_account": "6222000000000555", "amount": "800.00",
           "time": dated}
    held = client.post("/api/v1/decisions/transfer", json=pay, headers=BANK).json()
    assert held["action"] == "block" and any("预警" in r for r in held["reasons"])
    assert len(AuditLog(engine).entries("account", "6212000000000001")) == 1
    replayed = Decider(engine, Actor("gw", Role.bank, institution="工商银行"), record=False, replay=True).transfer(
        [TransferIn.model_validate(pay, context={"replay": True})])
    assert replayed[0].action.value == "pass"


def test_a_retry_gets_the_answer_first_given_however_things_stand_since(client, engine):
    """What a bank or carrier acted on is what the log holds: a retry with the same request id is answered as the
    first try was (not decided again on what changed since), and adds no audit entry; in the language asked now."""
    profiles = RiskProfileRepository(engine)
    risky = {"entity_id": "6222000000000777", "score": 0.97, "label": "1", "fraud_type": "impersonate_police",
             "reasons": []}
    profiles.upsert_many("account", [risky], model="test")
    pay = {"payer_account": "6212000000000009", "payee_account": "6222000000000777", "amount": "300",
           "request_id": "pay-r1"}
    held = client.post("/api/v1/decisions/transfer", json=pay, headers=BANK).json()
    assert held["action"] == "block"
    profiles.upsert_many("account", [{**risky, "score": 0.01, "label": "0"}], model="test")  # cleared since
    assert client.post("/api/v1/decisions/transfer", json=pay, headers=BANK).json() == held
    english = client.post("/api/v1/decisions/transfer?lang=en", json=pay, headers=BANK).json()
    assert (english["action"], english["score"]) == (held["action"], held["score"])
    assert english["reasons"] != held["reasons"] and "risk score 0.97" in " ".join(english["reasons"])
    assert len(AuditLog(engine).entries("account", "6212000000000009")) == 1
    # decided afresh without the id, or under a new one: the payee is clear now
    fresh = {k: v for k, v in pay.items() if k != "request_id"}
    assert client.post("/api/v1/decisions/transfer", json=fresh, headers=BANK).json()["action"] == "pass"
    assert client.post("/api/v1/decisions/transfer", json={**pay, "request_id": "pay-r2"},
                       headers=BANK).json()["action"] == "pass"

    # a pass is remembered too: a retry after the sender was found out is still the pass it was, unaudited
    sms = {"sender": "17055556666", "text": "您好，明天见", "request_id": "sms-r1"}
    passed = client.post("/api/v1/decisions/sms", json=sms, headers=TELCO).json()
    assert passed["action"] == "pass"
    profiles.upsert_many("number", [{"entity_id": "17055556666", "score": 0.95, "label": "1",
                                     "reasons": ["一个IMEI上有12个IMSI（疑似猫池）"]}], model="test")
    assert client.post("/api/v1/decisions/sms", json=[sms], headers=TELCO).json() == [passed]
    assert AuditLog(engine).entries("number", "17055556666") == []
    assert client.post("/api/v1/decisions/sms", json={**sms, "request_id": "sms-r2"},
                       headers=TELCO).json()["action"] == "block"


def test_a_nul_in_a_request_is_named_not_a_server_error(client):
    answer = client.post("/api/v1/decisions/sms", json={"sender": "17012345678", "text": "您好\u0000请回电"},
                         headers=TELCO)
    assert answer.status_code == 422
    assert [(e["loc"], e["msg"]) for e in answer.json()["detail"]] == [
        (["body", "text"], "Value error, must not contain a NUL character")]


def test_a_batch_cut_off_while_telling_the_warnings_has_its_decisions_audited(engine, monkeypatch):
    import aegis.usecases.decisions as decisions
    import aegis.usecases.warnings as warnings
    from aegis.usecases.actor import Actor, Role

    _payer_under_warning(engine)

    def cut_off(*_: object, **__: object) -> None:
        raise RuntimeError("the server was killed")

    monkeypatch.setattr(warnings, "raise_warnings", cut_off)  # the decisions import it when a warning is told
    decider = decisions.Decider(engine, Actor("gw", Role.bank, institution="工商银行"))
    pay = decisions.TransferIn(payer_account="6212000000000001", payee_account="6222000000000555",
                               amount="800.00", request_id="pay-9")
    with pytest.raises(RuntimeError):
        decider.transfer([pay])
    [entry] = AuditLog(engine).entries("account", "6212000000000001")
    assert entry["details"]["request_id"] == "pay-9"


def test_warming_the_models_up_records_nothing(engine):
    """`aegis serve` decides a made-up SMS before it listens, to load the models: no one was decided about."""
    from aegis.usecases.decisions import warm

    warm(engine)
    assert AuditLog(engine).entries("number", "10000000000") == []


# -- a number however written, who may ask, what a request may hold --------------------------------------------


@pytest.mark.parametrize("written", ["13912345678", "+8613912345678", "8613912345678", "0086-139-1234-5678",
                                     "139 1234 5678"])
def test_a_known_fraud_number_is_found_however_it_is_written(client, engine, written):
    RiskProfileRepository(engine).upsert_many("number", [
        {"entity_id": "13912345678", "score": 0.92, "label": "1", "fraud_type": "impersonate_police",
         "reasons": ["一个IMEI上有12个IMSI（疑似猫池）"]}], model="test")
    call = client.post("/api/v1/decisions/call", json={"caller": written, "callee": "+86 138 0000 0001"},
                       headers=TELCO).json()
    sms = client.post("/api/v1/decisions/sms", json={"sender": written, "text": "您好"}, headers=TELCO).json()
    assert call["action"] == sms["action"] == "block" and call["score"] == 0.92
    # the audit log names the number in its canonical form: one subject however the telcos write it
    entries = AuditLog(engine).entries("number", "13912345678")
    assert [e["action"] for e in entries] == ["decision.call.block", "decision.sms.block"]
    assert entries[0]["details"]["callee"] == "13800000001"


def test_an_official_number_behind_the_country_code_is_still_official(client, engine):
    RiskProfileRepository(engine).upsert_many(
        "number", [{"entity_id": "+8696110", "score": 0.99, "label": "1", "reasons": ["群发"]}], model="test")
    call = client.post("/api/v1/decisions/call", json={"caller": "+86 96110"}, headers=TELCO)
    assert call.json()["action"] == "pass"


def test_profiles_built_from_cdrs_with_the_country_code_meet_requests_without_it(engine):
    from aegis.events.models import Call
    from aegis.store import EventRepository
    from aegis.usecases.actor import SYSTEM
    from aegis.usecases.profiles import refresh_profiles

    t0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    # one caller, written two ways by two switches, and callees written three ways
    rows = [Call(caller=caller, callee=callee, start=t0 + timedelta(minutes=i), duration_s=5).model_dump()
            for i, (caller, callee) in enumerate([("+8617011112222", "13800000001"),
                                                   ("0086-170-1111-2222", "+8613800000001"),
                                                   ("+8617011112222", "86-138-0000-0002")])]
    with engine.begin() as connection:
        EventRepository(engine).add_many("call", rows, connection)
    refreshed = refresh_profiles(engine, SYSTEM)
    assert set(refreshed.scores["number"].index) == {"17011112222"}
    profile = RiskProfileRepository(engine).get_many("number", ["17011112222"])["17011112222"]
    assert profile["features"]["n_calls"] == 3 and profile["features"]["n_callees"] == 2
    assert profile["features"]["id_odd_length"] == 0  # a +86 mobile's 11 digits are not odd


@pytest.mark.parametrize(("role", "path", "body"), [
    ({"X-Aegis-Role": "auditor"}, "sms", {"sender": "13800000001", "text": "您好"}),
    ({"X-Aegis-Role": "analyst"}, "call", {"caller": "13800000001"}),
    ({"X-Aegis-Role": "police_station", "X-Aegis-District": "siming", "X-Aegis-Station": "zhonghua"}, "url",
     {"url": "https://example.com/"}),
    ({"X-Aegis-Role": "district_bureau", "X-Aegis-District": "siming"}, "transfer",
     {"payer_account": "6212000000000001", "payee_account": "6222000000000555", "amount": "5.00"}),
    ({**TELCO}, "transfer", {"payer_account": "6212000000000001", "payee_account": "6222000000000555",
                             "amount": "5.00"}),
    ({**BANK}, "call", {"caller": "13800000001"}),
])
def test_only_the_roles_that_carry_a_channel_may_ask_for_its_decisions(client, engine, role, path, body):
    answer = client.post(f"/api/v1/decisions/{path}", json=body, headers={"X-Aegis-User": "u1", **role,
                                                                             "Accept-Language": "en-GB,en;q=0.8"})
    assert answer.status_code == 403
    detail = answer.json()["detail"]
    assert detail.startswith(f"role: {role['X-Aegis-Role']} may not ask for real-time decisions on {path}")
    # in Chinese unless English is asked for, as the reasons are
    chinese = client.post(f"/api/v1/decisions/{path}", json=body, headers={"X-Aegis-User": "u1", **role}).json()
    assert chinese["detail"].startswith(f"role：{role['X-Aegis-Role']}无权请求对{path}的实时决策")
    may = {"telco": "may decide: sms, call, url", "bank": "may decide: transfer"}.get(role["X-Aegis-Role"],
                                                                                     "may ask for no real-time")
    assert may in detail
    assert AuditLog(engine).entries() == []


def test_the_city_centre_may_ask_on_any_channel(client):
    centre = {"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre"}
    for path, body in (("sms", {"sender": "13800000001", "text": "您好"}), ("call", {"caller": "13800000001"}),
                       ("url", {"url": "https://example.com/"}),
                       ("transfer", {"payer_account": "6212000000000001", "payee_account": "6222000000000555",
                                     "amount": "5.00"})):
        assert client.post(f"/api/v1/decisions/{path}", json=body, headers=centre).status_code == 200


def test_the_system_role_is_not_taken_from_a_header(client, engine):
    answer = client.post("/api/v1/decisions/sms", json={"sender": "13800000001", "text": "您好"},
                         headers={"X-Aegis-User": "x", "X-Aegis-Role": "system"})
    assert answer.status_code == 403 and "X-Aegis-Role: 'system'" in answer.json()["detail"]
    warnings = client.get("/api/v1/warnings", headers={"X-Aegis-User": "x", "X-Aegis-Role": "system"})
    assert warnings.status_code == 403


def test_an_identity_header_sent_twice_is_refused_and_a_name_is_read_however_typed(client, engine):
    """A proxy that appends a header rather than replacing it leaves two roles: the last one won, so an auditor
    could be read as the city centre. A bank's name with a stray space or full-width letters is its name."""
    sms = {"sender": "13800000001", "text": "您好"}
    twice = client.post("/api/v1/decisions/sms", json=sms, headers=[
        ("X-Aegis-User", "x"), ("X-Aegis-Role", "auditor"), ("X-Aegis-Role", "telco"),
        ("X-Aegis-Institution", quote("中国移动"))])
    assert twice.status_code == 400 and "X-Aegis-Role" in twice.json()["detail"]
    _payer_under_warning(engine)
    pay = {"payer_account": "6212000000000001", "payee_account": "6222000000000555", "amount": "800.00"}
    for written in (" 工商银行 ", "工商银行\u3000"):
        bank = {**BANK, "X-Aegis-Institution": quote(written)}
        assert client.post("/api/v1/decisions/transfer", json=pay, headers=bank).json()["action"] == "block"


def test_a_lead_from_a_held_payment_names_the_bank_user_who_asked(client, engine):
    from aegis.usecases import warnings as uc
    from aegis.usecases.actor import Actor, Role

    _payer_under_warning(engine)
    pay = {"payer_account": "6212000000000001", "payee_account": "6222000000000555", "amount": "800.00"}
    assert client.post("/api/v1/decisions/transfer", json=pay, headers=BANK).json()["action"] == "block"
    centre = Actor("c1", Role.city_centre)
    (told,) = uc.list_warnings(engine, centre)
    history = uc.get_warning(engine, centre, told["warning_id"])["history"]
    update = next(e for e in history if e["action"] == "warning.update")
    assert update["actor"] == "system/aegis" and update["details"]["lead_given_by"] == "bank:工商银行/gw-2"
    assert "lead_given_by" not in next(e for e in history if e["action"] == "warning.raise")["details"]


def test_a_transfer_dated_in_the_future_is_refused_naming_time(client, engine):
    _payer_under_warning(engine)
    pay = {"payer_account": "6212000000000001", "payee_account": "6222000000000555", "amount": "800.00"}
    late = client.post("/api/v1/decisions/transfer", json={**pay, "time": "2099-01-01T00:00:00"}, headers=BANK)
    assert late.status_code == 422
    [error] = late.json()["detail"]
    assert error["loc"] == ["body", "time"] and "minutes in the future" in error["msg"]
    # a gateway's clock a minute ahead is a clock, not a bad field
    ahead = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert client.post("/api/v1/decisions/transfer", json={**pay, "time": ahead}, headers=BANK).status_code == 200
    from aegis.usecases import warnings as uc
    from aegis.usecases.actor import Actor, Role

    (told,) = uc.list_warnings(engine, Actor("c1", Role.city_centre))
    assert told["last_lead_at"] < datetime.now(UTC) + timedelta(minutes=5)


def test_an_absurd_amount_is_refused_naming_it(client, engine):
    pay = {"payer_account": "6212000000000001", "payee_account": "6222000000000555"}
    for amount in ("1,000,000,000,000,000", 10**12):
        refused = client.post("/api/v1/decisions/transfer", json={**pay, "amount": amount}, headers=BANK)
        assert refused.status_code == 422
        [error] = refused.json()["detail"]
        assert error["loc"] == ["body", "amount"] and error["msg"] == "Input should be less than 1000000000000"
    assert AuditLog(engine).entries() == []
    ok = client.post("/api/v1/decisions/transfer", json={**pay, "amount": "999999999999.99"}, headers=BANK)
    assert ok.status_code == 200


def test_a_transfer_timed_by_a_bare_number_is_refused_naming_time(client):
    pay = {"payer_account": "6212000000000001", "payee_account": "6222000000000555", "amount": "800.00"}
    for number in (1790000000, 46296.31, "1790000000"):  # epoch seconds, an Excel serial: once read as 1970
        refused = client.post("/api/v1/decisions/transfer", json={**pay, "time": number}, headers=BANK)
        assert refused.status_code == 422
        [error] = refused.json()["detail"]
        assert error["loc"] == ["body", "time"] and f"'{number}' is a bare number, not a time" in error["msg"]
    for compact in ("20260101102030", 20260101):  # as bank systems compact a time: China time
        assert client.post("/api/v1/decisions/transfer", json={**pay, "time": compact}, headers=BANK).status_code == 200


def test_a_transcript_is_held_to_what_a_decision_reads(client):
    from aegis.usecases.decisions import MAX_TRANSCRIPT

    turns = ["喂" * 1000] * (MAX_TRANSCRIPT // 1000 + 1)
    long = client.post("/api/v1/decisions/call", json={"caller": "13800000001", "transcript": turns}, headers=TELCO)
    assert long.status_code == 422 and long.json()["detail"][0]["loc"] == ["body", "transcript"]
    assert f"more than the {MAX_TRANSCRIPT:,}" in long.json()["detail"][0]["msg"]
    turn = client.post("/api/v1/decisions/call", json={"caller": "13800000001", "transcript": ["喂" * 1001]},
                       headers=TELCO)
    assert turn.status_code == 422


def test_a_body_over_the_limit_is_refused_with_413(engine):
    with TestClient(create_app(engine, max_body_bytes=10_000)) as small:
        big = [{"sender": "13800000001", "text": "您好" * 500}] * 10
        declared = small.post("/api/v1/decisions/sms", json=big, headers=TELCO)
        assert declared.status_code == 413 and "more than the 10,000 bytes" in declared.json()["detail"]

        def chunks():  # a chunked body declares no length: refused as its bytes pass the limit
            for _ in range(20):
                yield b" " * 1000
        streamed = small.post("/api/v1/decisions/sms", content=chunks(),
                              headers={**TELCO, "Content-Type": "application/json"})
        assert streamed.status_code == 413 and "more than the 10,000 bytes" in streamed.json()["detail"]
        fine = small.post("/api/v1/decisions/sms", json={"sender": "13800000001", "text": "您好"}, headers=TELCO)
        assert fine.status_code == 200


SCAM = {"sender": "17012345678", "text": "【公安局】您涉嫌洗钱案件，请立即将资金转入安全账户配合调查"}


@pytest.mark.parametrize(("headers", "field"), [
    # the audit's cases: logged as telco:思明区中华派出所/t9 (the telco lost), and as auditor:bank1/t
    ({"X-Aegis-User": "t9", "X-Aegis-Role": "telco", "X-Aegis-Institution": "CMCC",
      "X-Aegis-Station": quote("思明区中华派出所")}, "station"),
    ({"X-Aegis-User": "t9", "X-Aegis-Role": "telco", "X-Aegis-Institution": "CMCC", "X-Aegis-District": "siming"},
     "district"),
    ({"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre", "X-Aegis-Institution": "bank1"}, "institution"),
])
def test_headers_that_do_not_fit_the_role_are_refused_and_nothing_is_logged(client, engine, headers, field):
    answer = client.post("/api/v1/decisions/sms", json=SCAM, headers=headers)
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(f"{field}: the {headers['X-Aegis-Role']} role has no {field}")
    assert AuditLog(engine).entries() == []
    fitting = {k: v for k, v in headers.items() if not k.endswith(field.capitalize())}
    assert client.post("/api/v1/decisions/sms", json=SCAM, headers=fitting).status_code == 200
    assert [e["actor"] for e in AuditLog(engine).entries()] in (["telco:CMCC/t9"], ["city_centre/c1"])


def test_an_auditor_naming_an_institution_is_refused(client, engine):
    auditor = {"X-Aegis-User": "t", "X-Aegis-Role": "auditor"}
    answer = client.get("/api/v1/audit", headers={**auditor, "X-Aegis-Institution": "bank1"})
    assert answer.status_code == 400 and answer.json()["detail"].startswith("institution: the auditor role has no")
    assert client.get("/api/v1/audit", headers=auditor).status_code == 200
    assert [e["actor"] for e in AuditLog(engine).entries()] == ["auditor/t"]


@pytest.mark.parametrize(("header", "value", "field", "code"), [
    ("X-Aegis-User", "gw%0Arole=city_centre", "user", "000A"),  # percent-encoded, as Chinese names are sent
    ("X-Aegis-User", "\x1b[31mgw", "user", "001B"),
    ("X-Aegis-Institution", "CMCC%1B%5B31m", "institution", "001B"),
    ("X-Aegis-Institution", quote("中国\u202e移动"), "institution", "202E"),
])
def test_control_characters_in_the_acting_users_headers_are_refused(client, engine, header, value, field, code):
    answer = client.post("/api/v1/decisions/sms", json=SCAM, headers={**TELCO, header: value})
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(f"{field}: must not contain control or invisible characters (U+{code}")
    assert AuditLog(engine).entries() == []


def test_a_station_or_district_header_with_control_characters_is_refused(client):
    station = {"X-Aegis-User": "o1", "X-Aegis-Role": "police_station", "X-Aegis-District": "siming",
               "X-Aegis-Station": "zhonghua"}
    for header, field in (("X-Aegis-Station", "station"), ("X-Aegis-District", "district")):
        answer = client.get("/api/v1/warnings", headers={**station, header: "x%1B[2J"})
        assert answer.status_code == 400 and answer.json()["detail"].startswith(f"{field}: must not contain")
    # written plainly, the headers name a user; a station no resident of the store is registered at is no place
    clean = client.get("/api/v1/warnings?lang=en", headers=station)
    assert clean.status_code == 403 and clean.json()["detail"].startswith("station: no resident")


def test_only_the_bank_that_holds_the_payers_account_is_told_of_the_payers_warning(client, engine):
    """A warning is shared with the institution of the payer's account (the opening says which), so that it can hold
    the payment: another bank or a platform asking about that account learns nothing of it and feeds it no lead,
    while the payee's risk still counts; the city centre sees it all."""
    from aegis.usecases import warnings as uc
    from aegis.usecases.actor import Actor, Role

    _payer_under_warning(engine)  # P1's account 6212000000000001, opened at 工商银行
    centre = Actor("c1", Role.city_centre)
    pay = {"payer_account": "6212000000000001", "payee_account": "6222000000000555", "amount": "800.00"}
    strangers = [{"X-Aegis-User": "p1", "X-Aegis-Role": "platform", "X-Aegis-Institution": quote("某小贷平台")},
                 {**BANK, "X-Aegis-Institution": quote("建设银行")}]
    for stranger in strangers:
        answer = client.post("/api/v1/decisions/transfer", json=pay, headers=stranger).json()
        assert (answer["action"], answer["score"], answer["fraud_type"]) == ("pass", 0.0, None)
        assert not any("预警" in reason for reason in answer["reasons"])
    assert AuditLog(engine).entries("account", "6212000000000001") == []
    assert uc.list_warnings(engine, centre)[0]["lead_count"] == 1  # no probe touched the warning

    # the payee and the amount are still weighed for a stranger's account, without the payer's warning
    RiskProfileRepository(engine).upsert_many("account", [
        {"entity_id": "6222000000000555", "score": 0.95, "label": "1", "fraud_type": "money_mule",
         "reasons": ["近24小时内收到9个陌生账户转入"]}], model="test")
    risky = client.post("/api/v1/decisions/transfer", json=pay, headers=strangers[0]).json()
    assert risky["action"] == "block" and risky["reasons"] == ["收款账户：近24小时内收到9个陌生账户转入"]
    assert uc.list_warnings(engine, centre)[0]["lead_count"] == 1

    # the payer's own bank, and the city centre, weigh the warning, and a hold is news on it
    # (the bank is not told of it where the payee alone blocks the payment: the warning changes nothing it does)
    for asker, told in ((BANK, []), ({"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre"},
                                     ["付款人有一条未办结的预警（紧急），可能正在被骗"])):
        held = client.post("/api/v1/decisions/transfer", json=pay, headers=asker).json()
        assert held["action"] == "block" and [r for r in held["reasons"] if "预警" in r] == told
    assert uc.list_warnings(engine, centre)[0]["lead_count"] == 3  # a lead from each (no request id, no time)


def test_an_account_number_opened_at_two_institutions_is_each_ones_own_customer(client, engine):
    from aegis.events.models import AccountOpening
    from aegis.store import EventRepository

    _payer_under_warning(engine)  # 6212000000000001 at 工商银行 is P1's; at the platform it is P9's, unwarned
    with engine.begin() as connection:
        EventRepository(engine).add_many("account_opening", [AccountOpening(
            person_id="P9", account="6212000000000001", institution="某支付平台", branch="线上",
            time="2025-02-01T09:00:00+08:00").model_dump()], connection)
    pay = {"payer_account": "6212000000000001", "payee_account": "6222000000000555", "amount": "800.00"}
    platform = {"X-Aegis-User": "p1", "X-Aegis-Role": "platform", "X-Aegis-Institution": quote("某支付平台")}
    assert client.post("/api/v1/decisions/transfer", json=pay, headers=platform).json()["action"] == "pass"
    centre = {"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre"}
    assert client.post("/api/v1/decisions/transfer", json=pay, headers=centre).json()["action"] == "block"


@pytest.mark.parametrize(("url", "why"), [
    ("not a url", "is not a host name"), ("javascript:alert(1)", "only http and https"), ("http://", "has no host"),
    ("http://[::1", "Invalid IPv6 URL"), ("http://xn--/", "'xn--' is not valid punycode"),
    ("ftp://example.com/a", "only http and https"), ("http://a.com:99999/", "Port out of range"),
    ("hello", "is no domain"), ("http://a b.com/", "is not a host name"),
])
def test_a_url_decision_refuses_what_is_not_a_url_naming_url(client, engine, url, why):
    answer = client.post("/api/v1/decisions/url", json={"url": url}, headers=TELCO)
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["loc"] == ["body", "url"] and why in error["msg"]
    assert AuditLog(engine).entries() == []


@pytest.mark.parametrize("url", ["https://example.com/", "etc-gov.top/a1", "www.cmb-vip.cc/k?x=1",
                                 "HTTP://Example.COM:8080/x", "http://[::1]:8080/", "http://0x7f000001/login",
                                 "http://xn--fiqs8s.cn/", "http://中国.cn/", "10.0.0.1/admin"])
def test_a_url_decision_takes_web_addresses_with_or_without_their_scheme(client, url):
    answer = client.post("/api/v1/decisions/url", json={"url": url}, headers=TELCO)
    assert answer.status_code == 200 and answer.json()["action"] in ("pass", "warn", "block")


def test_a_body_that_is_not_json_in_utf8_is_named_so(client):
    sms = '{"sender": "13800000001", "text": "您好"}'
    for media in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {**TELCO, **({"Content-Type": media} if media else {})}
        answer = client.post("/api/v1/decisions/sms", content=sms.encode(), headers=headers)
        assert answer.status_code == 415 and "application/json" in answer.json()["detail"], media
    gbk = client.post("/api/v1/decisions/sms", content=sms.encode("gbk"),
                      headers={**TELCO, "Content-Type": "application/json; charset=gbk"})
    assert gbk.status_code == 400 and "UTF-8" in gbk.json()["detail"]
    fine = client.post("/api/v1/decisions/sms", content=sms.encode(), headers={**TELCO, "Content-Type":
                                                                               "application/json; charset=utf-8"})
    assert fine.status_code == 200


def test_a_key_given_twice_in_a_body_is_refused_naming_it_not_taken_last(client, engine):
    """Python's JSON parser keeps the last of a repeated key: {"result": "reached", "result": "unreachable"} was
    recorded as unreachable (the black-box audit). Every route that reads a body refuses one, in a batch's items
    too, with a 422 shaped as the other validation errors; a body without one is read as before."""
    from fastapi.routing import APIRoute

    from aegis.api.bodies import UniqueKeysRoute

    twice = '{"sender": "13800000001", "text": "您好", "text": "中奖了，点击领取"}'
    batch = f'[{{"sender": "13800000001", "text": "您好"}}, {twice}]'
    for body in (twice, batch):
        answer = client.post("/api/v1/decisions/sms", content=body.encode(),
                             headers={**TELCO, "Content-Type": "application/json"})
        assert answer.status_code == 422, answer.text
        (error,) = answer.json()["detail"]
        assert (error["loc"], error["type"]) == (["body", "text"], "duplicate_key")
        assert error["msg"].startswith("key 'text' given more than once")
    fine = '[{"sender": "13800000001", "text": "您好"}, {"sender": "13800000002", "text": "中奖了，点击领取"}]'
    once = client.post("/api/v1/decisions/sms", content=fine.encode(), headers={**TELCO, "Content-Type":
                                                                                "application/json"})
    assert once.status_code == 200 and len(once.json()) == 2
    centre = {"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre", "Content-Type": "application/json"}
    release = client.post("/api/v1/funds/orders/OR-x/release", content=b'{"reason": "a", "reason": "b"}',
                          headers=centre)
    assert release.status_code == 422 and release.json()["detail"][0]["loc"] == ["body", "reason"]
    # every route of the API that reads a body reads it so
    routes = [*client.app.routes, *(r for included in client.app.routes
                                     for r in getattr(getattr(included, "original_router", None), "routes", []))]
    reading = [r for r in routes if isinstance(r, APIRoute) and r.body_field is not None]
    assert reading and all(isinstance(r, UniqueKeysRoute) for r in reading), [r.path for r in reading]


def test_a_city_centre_of_a_named_city_weighs_no_other_citys_warnings(client, engine):
    """A centre of 泉州市 deciding a payment of a 厦门市 resident under an urgent warning held it, naming the
    warning: the warnings of another city are none of its business (Actor.covers), here as in the warnings' list."""
    _payer_under_warning(engine)  # P1 of 厦门市
    pay = {"payer_account": "6212000000000001", "payee_account": "6222000000000555", "amount": "800.00"}
    from aegis.events.models import Person
    from aegis.store import EventRepository

    with engine.begin() as conn:  # a resident of the other city, which is then a city the store knows
        EventRepository(engine).add_many("person", [Person(
            person_id="Q1", age=30, gender="M", occupation="职员", city="泉州市", district="丰泽区",
            station="东湖派出所").model_dump()], conn)
    centre = {"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre"}
    quanzhou = client.post("/api/v1/decisions/transfer", json=pay,
                           headers={**centre, "X-Aegis-City": quote("泉州市")}).json()
    assert (quanzhou["action"], quanzhou["score"], quanzhou["reasons"]) == ("pass", 0.0, ["未发现风险"])
    assert AuditLog(engine).entries("account", "6212000000000001") == []
    xiamen = client.post("/api/v1/decisions/transfer", json=pay, headers={**centre, "X-Aegis-City": quote("厦门市")})
    assert xiamen.json()["action"] == "block"


def test_a_body_nested_too_deeply_or_with_an_overlong_integer_is_refused_for_that(client):
    """Both bodies are UTF-8; both were refused as "not JSON text in UTF-8", which named the wrong cause."""
    # deeper than the parser reads, and deep enough to run a recursive walk of the parsed body out (500 arrays
    # went to the overlong-integer check's recursion and came back "not UTF-8")
    for levels in (100_000, 500, 33):
        deep = '{"sender": "13212069819", "text": ' + "[" * levels + "]" * levels + "}"
        answer = client.post("/api/v1/decisions/sms", content=deep.encode(),
                             headers={**TELCO, "Content-Type": "application/json"})
        assert answer.status_code == 422 and answer.json()["detail"][0]["type"] == "json_too_deep", levels
        assert "nested more than 32 deep" in answer.json()["detail"][0]["msg"]
    deep_list = "[" * 500 + "]" * 500  # a batch's own list, as deep
    answer = client.post("/api/v1/decisions/sms", content=deep_list.encode(),
                         headers={**TELCO, "Content-Type": "application/json"})
    assert answer.status_code == 422 and answer.json()["detail"][0]["type"] == "json_too_deep"
    bank = {**BANK, "Content-Type": "application/json"}
    for body, loc in (('{"payer_account": "1", "payee_account": "2", "amount": ' + "9" * 5000 + "}",
                       ["body", "amount"]),
                      ('[{"payer_account": "1", "payee_account": "2", "amount": [' + "9" * 5000 + "]}]",
                       ["body", "amount"]),
                      ("9" * 5000, ["body"])):
        answer = client.post("/api/v1/decisions/transfer", content=body.encode(), headers=bank)
        assert answer.status_code == 422, answer.text
        (error,) = answer.json()["detail"]
        assert (error["loc"], error["type"]) == (loc, "int_too_long") and "4,300 digits" in error["msg"]
    # a long integer Python reads is the amount's own check's to refuse, naming it
    answer = client.post("/api/v1/decisions/transfer", headers=bank,
                         content=('{"payer_account": "1", "payee_account": "2", "amount": ' + "9" * 100 + "}").encode())
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"][-1] == "amount"
