"""The chase on a hand-made city: orders, bank answers, follow-ups, freezes and returns, on the store."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from fastapi.testclient import TestClient
from fdata import BANK_B, BANK_C, CITY, minutes, transfer
from sqlalchemy import Engine
from typer.testing import CliRunner

from aegis.actions.orders import IllegalTransition, OrderState
from aegis.api.app import create_app
from aegis.cli.funds import app as funds_cli
from aegis.events.models import AccountOpening, Report, Transfer
from aegis.reasons import render
from aegis.store import AuditLog, EventRepository, open_engine
from aegis.usecases import funds
from aegis.usecases.actor import PermissionDenied


@pytest.fixture
def city(engine: Engine) -> dict[str, Transfer]:
    """Victims V and W pay mule M1 (bank-B), who passes V's money on to M2 (bank-C) after 20 minutes.

    "V's money" by FIFO: the tests of the chase's mechanics below open their chases with ``rule="fifo"`` (the
    amounts they check follow it); the shipped rule, LIFO, splits M1's payment between W's money and V's.
    Bank names are ASCII here because HTTP headers (X-Aegis-Institution) carry only Latin-1.
    """
    events = {
        "v": transfer("VA", "M1", "1000", minutes(0)),
        "w": transfer("WA", "M1", "500", minutes(5)),
        "m": transfer("M1", "M2", "990", minutes(20), "BC"),
    }
    repo = EventRepository(engine)
    with engine.begin() as conn:
        repo.add_many("transfer", [e.model_dump() for e in events.values()], conn)
        repo.add_many(
            "account_opening",
            [
                AccountOpening(
                    person_id=p, account=a, institution="bank-A", branch="x", time=minutes(-9999)
                ).model_dump()
                for p, a in (("PV", "VA"), ("PW", "WA"))
            ],
            conn,
        )
        repo.add_many(
            "report",
            [
                Report(
                    victim_id="PV",
                    time=minutes(60),
                    fraud_type="impersonate_police",
                    loss=D("1000"),
                    accounts=["M1"],
                ).model_dump()
            ],
            conn,
        )
    return events


def report_id(engine: Engine) -> str:
    return EventRepository(engine).frame("report", ["event_id"])["event_id"][0]


def test_chase_from_a_report_orders_where_the_money_is_and_is_idempotent(engine: Engine, city: dict) -> None:
    view = funds.open_chase(engine, CITY, report_event_id=report_id(engine), now=minutes(60))
    assert view.victims == ["PV"] and view.loss == D("1000.00") and view.rule == "lifo"
    # the shipped policy's rule, LIFO: M1's payment of 990 takes the newest money first, W's 500 and then 490
    # of V's, so at the report 490 of V's money is in M2 and 510 still in M1 (FIFO, oldest first, sent 990 of
    # V's on and left 10 in M1, below the 100 floor: one order, on M2; the tests below pin FIFO)
    assert [(o.account, o.bank, o.kind.value, o.state.value, o.requested) for o in view.orders] == [
        ("M1", "bank-B", "stop_payment", "issued", D("510.00")),
        ("M2", "bank-C", "stop_payment", "issued", D("490.00")),
    ]
    held, order = view.orders
    assert held.path == [city["v"].event_id]
    assert order.path == [city["v"].event_id, city["m"].event_id]
    assert "反电信网络诈骗法" in order.legal_basis and order.respond_by == minutes(90)
    again = funds.open_chase(engine, CITY, report_event_id=report_id(engine), now=minutes(70))
    assert again.chase_id == view.chase_id and len(again.orders) == 2
    with pytest.raises(funds.ChaseError, match=f"rule: chase {view.chase_id} is open with rule lifo, not fifo"):
        funds.open_chase(engine, CITY, report_event_id=report_id(engine), rule="fifo", now=minutes(70))
    audit = AuditLog(engine).entries("fund_order", order.order_id)
    assert [e["action"] for e in audit] == ["order.stop_payment.issued"]
    assert render(audit[0]["reasons"])[0].startswith("资金路径")
    assert render(audit[0]["reasons"], "en")[0].startswith("money trail: ")


def test_each_bank_sees_and_answers_only_its_own_orders(engine: Engine, city: dict) -> None:
    view = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[city["v"].event_id],
                            now=minutes(60))
    oid = view.orders[0].order_id
    assert [o.order_id for o in funds.list_orders(engine, BANK_C)] == [oid]
    assert funds.list_orders(engine, BANK_B) == []
    with pytest.raises(PermissionDenied, match="bank-B may not see"):
        funds.list_orders(engine, BANK_B, bank="bank-C")
    # another bank's order, or a chase it has no order in, is answered as one that does not exist: a 403 told a
    # bank that the id was real
    for asked in (oid, "OR-000000000000000000aa"):
        with pytest.raises(LookupError, match=rf"^order {asked}: no such order$"):
            funds.respond(engine, BANK_B, asked, "acknowledge")
    for asked in (view.chase_id, "CH-00000000000000000000"):
        with pytest.raises(LookupError, match=rf"^chase {asked}: no such chase$"):
            funds.list_orders(engine, BANK_B, chase_id=asked)
    assert [o.order_id for o in funds.list_orders(engine, BANK_C, chase_id=view.chase_id)] == [oid]
    with pytest.raises(PermissionDenied):
        funds.get_chase(engine, BANK_C, view.chase_id)
    with pytest.raises(IllegalTransition, match=f"order {oid}: cannot go from issued to executed"):
        funds.respond(engine, BANK_C, oid, "execute", held=D("10"))
    funds.respond(engine, BANK_C, oid, "acknowledge", now=minutes(65))
    with pytest.raises(funds.ChaseError, match="held"):
        funds.respond(engine, BANK_C, oid, "execute", held=D("5000"), now=minutes(66))


def test_moved_on_follows_the_money_to_the_next_hop(engine: Engine, city: dict) -> None:
    view = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[city["v"].event_id],
                            now=minutes(10))
    first = view.orders[0]
    assert (first.account, first.requested) == ("M1", D("1000.00"))  # before the money moved
    bank_b = BANK_B
    funds.respond(engine, bank_b, first.order_id, "acknowledge", now=minutes(25))
    result = funds.respond(engine, bank_b, first.order_id, "moved_on", now=minutes(25))
    assert result.order.state.value == "moved_on"
    # bank B is not shown bank C's order (C's customer's account and sum); the centre and bank C see it
    assert result.follow_ups == []
    [follow] = [o for o in funds.list_orders(engine, CITY, chase_id=view.chase_id) if o.order_id != first.order_id]
    assert [o.order_id for o in funds.list_orders(engine, BANK_C)] == [follow.order_id]
    assert (follow.account, follow.bank, follow.requested, follow.parent_order_id) == (
        "M2",
        "bank-C",
        D("990.00"),
        first.order_id,
    )
    assert follow.reasons[0].startswith("续查")
    actions = [e["action"] for e in AuditLog(engine).entries("fund_order")]
    assert actions == [
        "order.stop_payment.issued",
        "order.stop_payment.acknowledged",
        "order.stop_payment.moved_on",
        "order.stop_payment.issued",
    ]


def test_stop_freeze_return_with_two_victims_sharing_an_account(engine: Engine, city: dict) -> None:
    """V and W both paid M1; nothing moved yet at minute 10, so M1 holds 1000 of V's and 500 of W's."""
    chases = [
        funds.open_chase(engine, CITY, victim=v, loss_transfers=[city[k].event_id], now=minutes(10))
        for v, k in (("PV", "v"), ("PW", "w"))
    ]
    for view in chases:
        (order,) = view.orders
        funds.respond(engine, BANK_B, order.order_id, "acknowledge", now=minutes(12))
        funds.respond(engine, BANK_B, order.order_id, "execute", held=order.requested, now=minutes(12))
        (freeze,) = funds.escalate(engine, CITY, view.chase_id, now=minutes(60))
        assert (freeze.kind.value, freeze.requested) == ("freeze", order.requested)
        funds.respond(engine, BANK_B, freeze.order_id, "acknowledge", now=minutes(61))
        funds.respond(engine, BANK_B, freeze.order_id, "execute", held=freeze.requested, now=minutes(61))
    assert {
        o.kind.value: o.state.value for o in funds.list_orders(engine, CITY, chase_id=chases[0].chase_id)
    } == {"stop_payment": "superseded", "freeze": "executed"}
    returned = funds.return_funds(engine, CITY, chases[0].chase_id, now=minutes(600))
    assert returned.per_victim == {"PV": D("1000.00"), "PW": D("500.00")}  # the pooled account goes to both
    # each freeze's audit entry names its own part of the pooled return, so that the entries add up
    given = {}
    for order in returned.orders:
        [entry] = [e for e in AuditLog(engine).entries("fund_order", order) if e["action"] == "order.freeze.returned"]
        given[order] = render(entry["reasons"], "en")[1:]
    assert sorted(given.values()) == [["1,000.00 yuan returned to PV"], ["500.00 yuan returned to PW"]]
    assert funds.return_funds(engine, CITY, chases[1].chase_id).per_victim == {}  # nothing left to return
    states = {o.state.value for o in funds.list_orders(engine, CITY) if o.kind.value == "freeze"}
    assert states == {"returned"}
    returned_freeze = next(o for o in funds.list_orders(engine, CITY, chase_id=chases[0].chase_id)
                           if o.kind.value == "freeze")
    with pytest.raises(IllegalTransition):  # returned money is the victims' now: there is no hold to lift
        funds.release(engine, CITY, returned_freeze.order_id, "court order")
    # the stop-payment was superseded when its freeze took over, not released: a release asked of it is refused
    # (it would say the money was freed while the freeze holds it), and says what holds the money
    with pytest.raises(IllegalTransition, match=r"superseded to released \(the freeze that took it over holds"):
        funds.release(engine, CITY, chases[0].orders[0].order_id, "court order")
    # spaces are no reason, and a NUL is refused before PostgreSQL fails on it
    with pytest.raises(funds.ChaseError, match="reason: releasing a hold needs a reason"):
        funds.release(engine, CITY, chases[0].orders[0].order_id, " \n ")
    with pytest.raises(ValueError, match="reason: must not contain a NUL"):
        funds.release(engine, CITY, chases[0].orders[0].order_id, "court\x00order")


def _held_stop_payment(engine: Engine, city: dict) -> tuple[funds.ChaseView, str]:
    """V's chase (FIFO), its stop-payment at bank-C acknowledged and executed (900 held) a minute after."""
    view = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[city["v"].event_id],
                            now=minutes(60))
    oid = view.orders[0].order_id
    funds.respond(engine, BANK_C, oid, "acknowledge", now=minutes(61))
    funds.respond(engine, BANK_C, oid, "execute", held=D("900"), now=minutes(61))
    return view, oid


def test_expiry_and_release(engine: Engine, city: dict) -> None:
    _, oid = _held_stop_payment(engine, city)
    assert funds.expire_orders(engine, CITY, now=minutes(61 + 47 * 60)) == []
    assert funds.expire_orders(engine, CITY, now=minutes(61 + 48 * 60)) == [oid]


def test_a_lapsed_stop_payment_is_not_escalated_and_a_lapsed_freeze_not_returned(engine: Engine, city: dict) -> None:
    view, oid = _held_stop_payment(engine, city)
    # 48 hours on, nobody asked for a freeze: the stop-payment has lapsed, and escalating it now is too late; it
    # says so, naming the lapsed stop-payment, rather than returning nothing as if there had been none
    [lapsed] = funds.escalate(engine, CITY, view.chase_id, now=minutes(61 + 48 * 60))
    assert (lapsed.order_id, lapsed.kind.value, lapsed.state.value) == (oid, "stop_payment", "expired")
    [stop] = funds.list_orders(engine, CITY, chase_id=view.chase_id)
    assert stop.state.value == "expired"
    assert funds.escalate(engine, CITY, view.chase_id, now=minutes(62 + 48 * 60)) == []  # reported once
    [entry] = [e for e in AuditLog(engine).entries("fund_order", oid) if e["action"] == "order.stop_payment.expired"]
    assert entry["actor"] == "system/aegis" and render(entry["reasons"])[0].startswith("期限届满")



def test_a_freeze_executed_after_its_stop_payment_lapsed_shows_the_gap(engine: Engine, city: dict) -> None:
    view, oid = _held_stop_payment(engine, city)
    [freeze] = funds.escalate(engine, CITY, view.chase_id, now=minutes(62))
    # the bank freezes two days later, when the 48-hour stop-payment has run out: not "taken over by the freeze"
    funds.respond(engine, BANK_C, freeze.order_id, "acknowledge", now=minutes(61 + 49 * 60))
    funds.respond(engine, BANK_C, freeze.order_id, "execute", held=D("900"), now=minutes(61 + 49 * 60))
    states = {o.kind.value: o.state.value for o in funds.list_orders(engine, CITY, chase_id=view.chase_id)}
    assert states == {"stop_payment": "expired", "freeze": "executed"}
    [entry] = [e for e in AuditLog(engine).entries("fund_order", oid) if e["action"] == "order.stop_payment.expired"]
    assert render(entry["reasons"], "en")[1] == f"had lapsed when freeze {freeze.order_id} was executed"


def test_the_commands_say_when_holds_had_lapsed(engine: Engine, city: dict) -> None:
    """The test city's clock is October 2026: by now every hold of it has run out, which the commands say."""
    url = engine.url.render_as_string(hide_password=False)
    view, oid = _held_stop_payment(engine, city)
    done = CliRunner().invoke(funds_cli, ["escalate", view.chase_id, "--db", url, "--lang", "en"])
    assert done.exit_code == 0 and oid in done.stdout
    assert " ".join(done.stdout.split()).endswith(
        "1 stop-payments had lapsed and could not become freezes: their money is no longer held")


def test_a_lapsed_freeze_is_not_returned(engine: Engine, city: dict) -> None:
    view, _ = _held_stop_payment(engine, city)
    [freeze] = funds.escalate(engine, CITY, view.chase_id, now=minutes(62))
    funds.respond(engine, BANK_C, freeze.order_id, "acknowledge", now=minutes(63))
    funds.respond(engine, BANK_C, freeze.order_id, "execute", held=D("900"), now=minutes(63))
    # the freeze lasts six months: a return after that gives nothing back, and the freeze is expired
    returned = funds.return_funds(engine, CITY, view.chase_id, now=minutes(63 + 181 * 24 * 60))
    assert (returned.batch_id, returned.per_victim, returned.expired) == (None, {}, [freeze.order_id])
    assert {o.kind.value: o.state.value for o in funds.list_orders(engine, CITY, chase_id=view.chase_id)} == {
        "stop_payment": "superseded", "freeze": "expired"}


def test_api_and_cli(engine: Engine, city: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(create_app(engine))
    city_headers = {"X-Aegis-User": "desk", "X-Aegis-Role": "city_centre"}
    bank_headers = {"X-Aegis-User": "duty", "X-Aegis-Role": "bank", "X-Aegis-Institution": "bank-C"}
    # FIFO, as the fixture's amounts: one order, on M2 at bank-C
    opened = client.post(
        "/api/v1/funds/chases", json={"report_event_id": report_id(engine), "rule": "fifo"}, headers=city_headers
    )
    assert opened.status_code == 201, opened.text
    oid = opened.json()["orders"][0]["order_id"]
    # a retry finds the chase open: 200, the same chase and orders, and "opened_now" is no field of it
    retried = client.post(
        "/api/v1/funds/chases", json={"report_event_id": report_id(engine), "rule": "fifo"}, headers=city_headers
    )
    assert retried.status_code == 200 and retried.json() == opened.json()
    assert "opened_now" not in retried.json()
    other_terms = client.post("/api/v1/funds/chases?lang=en", json={"report_event_id": report_id(engine),
                                                                    "max_hops": 2}, headers=city_headers)
    assert other_terms.status_code == 422 and "is open with max_hops" in other_terms.json()["detail"]
    # in the request's language, Chinese unless English is asked for, as the routes' other refusals
    chinese = client.post("/api/v1/funds/chases", json={"report_event_id": report_id(engine), "max_hops": 2},
                          headers=city_headers)
    assert chinese.status_code == 422 and "max_hops" in chinese.json()["detail"]
    assert not chinese.json()["detail"].isascii()
    assert (
        client.get(f"/api/v1/funds/chases/{opened.json()['chase_id']}", headers=bank_headers).status_code
        == 403
    )
    assert [o["order_id"] for o in client.get("/api/v1/funds/orders", headers=bank_headers).json()] == [oid]
    assert opened.json()["orders"][0]["reasons"][0].startswith("资金路径：")
    english = client.get("/api/v1/funds/orders?lang=en", headers=bank_headers).json()[0]
    assert english["reasons"][0].startswith("money trail: ") and "messages" not in english
    bad = client.post(
        f"/api/v1/funds/orders/{oid}/response", json={"action": "execute", "held": "1"},
        headers={**bank_headers, "Accept-Language": "en"}
    )
    assert bad.status_code == 409 and "issued to executed" in bad.json()["detail"]
    bad = client.post(
        f"/api/v1/funds/orders/{oid}/response", json={"action": "execute", "held": "1"}, headers=bank_headers
    )
    assert bad.status_code == 409 and not bad.json()["detail"].isascii()
    ok = client.post(
        f"/api/v1/funds/orders/{oid}/response", json={"action": "acknowledge"}, headers=bank_headers
    )
    assert ok.json()["order"]["state"] == "acknowledged"
    again = client.get(f"/api/v1/funds/chases/{opened.json()['chase_id']}?lang=en", headers=city_headers).json()
    # the centre reads the same reasons, the money's whole trail in the first, where the bank reads its last hop
    [whole] = [o["reasons"] for o in again["orders"]]
    assert whole[1:] == english["reasons"][1:] and whole[0].count("→") == len(again["orders"][0]["path"]) - 1
    assert english["reasons"][0].startswith(f"money trail: … → {again['orders'][0]['path'][-1]} (")
    assert again["orders"][0]["names"] == {"kind": "stop-payment", "state": "acknowledged"}
    assert "lang" not in again["orders"][0]
    chinese = client.get(f"/api/v1/funds/chases/{opened.json()['chase_id']}", headers=city_headers).json()
    assert chinese["orders"][0]["names"] == {"kind": "止付", "state": "银行已签收"}
    assert client.get("/api/v1/funds/orders/nope", headers=bank_headers).status_code in (404, 405)
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    listed = runner.invoke(
        funds_cli, ["orders", "list", "--db", url, "--role", "bank", "--institution", "bank-C", "--json"]
    )
    assert listed.exit_code == 0 and oid in listed.stdout
    in_english = runner.invoke(funds_cli, ["orders", "list", "--db", url, "--json", "--lang", "en"])
    assert json.loads(in_english.stdout)[0]["reasons"] == whole  # the centre's, as the API gave it
    from aegis.cli.common import out

    monkeypatch.setattr(out, "width", 250)  # a wide terminal: no word of the table wraps
    tables = {lang: runner.invoke(funds_cli, ["orders", "list", "--db", url, "--lang", lang]).stdout
              for lang in ("zh", "en")}
    assert "state" in tables["en"] and "acknowledged" in tables["en"] and "stop-payment" in tables["en"]
    assert "状态" in tables["zh"] and "银行已签收" in tables["zh"] and "止付" in tables["zh"]
    assert "state" not in tables["zh"]
    chased_again = runner.invoke(funds_cli, ["chase", "--report", report_id(engine), "--db", url, "--lang", "en"])
    assert chased_again.exit_code == 0 and "already being chased: no order issued twice" in chased_again.stdout
    assert [o.order_id for o in funds.list_orders(engine, CITY)] == [oid]
    refused = runner.invoke(
        funds_cli, ["respond", oid, "acknowledge", "--db", url, "--institution", "bank-B"]
    )
    missing = runner.invoke(funds_cli, ["respond", "OR-000000000000000000aa", "acknowledge", "--db", url,
                                        "--institution", "bank-B"])
    assert (refused.exit_code, refused.stderr) == (missing.exit_code, missing.stderr.replace(
        "OR-000000000000000000aa", oid)) and "没有这条指令" in refused.stderr
    assert "bank-C" not in refused.stderr  # nor does it say whose it is
    # without --user the audit log names the login that acted, not an anonymous "cli"
    held = runner.invoke(funds_cli, ["respond", oid, "execute", "--held", "1", "--db", url, "--role", "bank",
                                     "--institution", "bank-C"])
    assert held.exit_code == 0, held.output
    last = AuditLog(engine).entries("fund_order")[-1]
    assert (last["action"], last["actor"]) == ("order.stop_payment.executed", f"bank:bank-C/{getpass.getuser()}")


def test_a_loss_the_victim_did_not_pay_is_refused_before_any_order(engine: Engine, city: dict) -> None:
    # W's payment is not V's loss: ordering on it would freeze money of people V never dealt with
    with pytest.raises(funds.ChaseError, match=r"loss transfer .*: paid from account .*, which is not an account "
                                               r"of victim PV"):
        funds.open_chase(engine, CITY, victim="PV", loss_transfers=[city["w"].event_id], now=minutes(60))
    with pytest.raises(LookupError, match="victim NOBODY: no account opened by this person"):
        funds.open_chase(engine, CITY, victim="NOBODY", loss_transfers=[city["v"].event_id], now=minutes(60))
    assert funds.list_orders(engine, CITY) == []
    with pytest.raises(funds.ChaseError, match="from a report or from a victim and the loss transfers, not both"):
        funds.open_chase(engine, CITY, report_event_id="any", victim="PV", now=minutes(60))
    view = funds.open_chase(engine, CITY, victim="PV", loss_transfers=[city["v"].event_id], now=minutes(60))
    orders = funds.list_orders(engine, CITY)
    with pytest.raises(funds.ChaseError, match="not an account of victim PV"):
        funds.add_losses(engine, CITY, view.chase_id, [city["m"].event_id], now=minutes(70))
    assert funds.get_chase(engine, CITY, view.chase_id).victims == ["PV"]
    assert funds.list_orders(engine, CITY) == orders
    # another victim of the same gang may be added, with their own payment
    added = funds.add_losses(engine, CITY, view.chase_id, [city["w"].event_id], victim="PW", now=minutes(70))
    assert funds.get_chase(engine, CITY, view.chase_id).victims == ["PV", "PW"] and added is not None


def test_bad_filters_and_amounts_are_named_not_answered_empty(engine: Engine, city: dict) -> None:
    client = TestClient(create_app(engine))
    headers = {"X-Aegis-User": "desk", "X-Aegis-Role": "city_centre"}
    refused = client.get("/api/v1/funds/orders?state=bogus", headers={**headers, "Accept-Language": "en"})
    assert refused.status_code == 422 and refused.json()["detail"].startswith("state: 'bogus' is not one of issued")
    assert client.get("/api/v1/funds/orders?state=bogus", headers=headers).json()["detail"].startswith("state：")
    view = funds.open_chase(engine, CITY, report_event_id=report_id(engine), now=minutes(60))
    url = engine.url.render_as_string(hide_password=False)
    for held in ("abc", "nan", "-5", "1.234"):
        result = CliRunner().invoke(funds_cli, ["respond", view.orders[0].order_id, "execute", "--held", held,
                                                "--db", url, "--institution", "bank-C"])
        assert result.exit_code == 2 and result.stderr.startswith("错误：--held：“"), result.output



def test_a_loss_transfer_is_chased_once(engine: Engine, city: dict) -> None:
    """V's payment chased from V's losses, then from V's report: a second chase would order the same money twice."""
    v, w = city["v"].event_id, city["w"].event_id
    first = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[v], now=minutes(60))
    orders = funds.list_orders(engine, CITY)
    assert len(orders) == 1
    # the report names the same payment: it is the same chase, and nothing is ordered again
    reported = funds.open_chase(engine, CITY, report_event_id=report_id(engine), now=minutes(61))
    assert reported.chase_id == first.chase_id and not reported.opened_now
    # W's chase takes W's payment, and may not take V's as well
    other = funds.open_chase(engine, CITY, rule="fifo", victim="PW", loss_transfers=[w], now=minutes(62))
    with pytest.raises(funds.ChaseError, match=f"already chased elsewhere: {v} in {first.chase_id}"):
        funds.add_losses(engine, CITY, other.chase_id, [v], victim="PV", now=minutes(63))
    assert funds.get_chase(engine, CITY, other.chase_id).victims == ["PW"]
    assert funds.get_chase(engine, CITY, first.chase_id).orders == first.orders
    # V pays again: a chase asked for over both payments follows the new one only, and says it skipped the other
    again = transfer("VA", "M1", "300", minutes(64))
    with engine.begin() as conn:
        EventRepository(engine).add_many("transfer", [again.model_dump()], conn)
    both = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[v, again.event_id], now=minutes(65))
    assert both.chase_id not in {first.chase_id, other.chase_id} and both.loss == D("300.00")
    assert [o.requested for o in both.orders] == [D("300.00")]
    opened = AuditLog(engine).entries("fund_chase", both.chase_id)
    assert [e["details"].get("already_chased") for e in opened] == [{v: first.chase_id}]
    # asked again, the same chase answers as it stands
    retried = funds.open_chase(engine, CITY, victim="PV", loss_transfers=[v, again.event_id], now=minutes(66))
    assert retried.chase_id == both.chase_id and not retried.opened_now
    assert len(funds.list_orders(engine, CITY)) == 3
    with pytest.raises(funds.ChaseError, match=f"every loss transfer is already chased, in {both.chase_id} "
                                               r"\(add further losses to that chase with add_losses\)"):
        funds.open_chase(engine, CITY, victim="PV", loss_transfers=[again.event_id], now=minutes(67))
    assert len(funds.list_orders(engine, CITY)) == 3


def test_money_moved_on_in_another_currency_is_flagged_not_ordered_as_yuan(engine: Engine, city: dict) -> None:
    """M2 sends 100 of V's money on in US dollars: no exchange rate, so the trail stops there, flagged."""
    usd = transfer("M2", "M9", "100", minutes(30), "CC").model_copy(update={"currency": "USD"})
    loss_in_usd = transfer("VA", "M1", "700", minutes(31)).model_copy(update={"currency": "USD"})
    with engine.begin() as conn:
        EventRepository(engine).add_many("transfer", [usd.model_dump(), loss_in_usd.model_dump()], conn)
    view = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[city["v"].event_id],
                            now=minutes(40))
    assert [(o.account, o.requested) for o in view.orders] == [("M2", D("890.00"))]
    assert view.flagged == [{"account": "M9", "hop": 3, "sink": "foreign_currency", "amount": "100.00"}]
    with pytest.raises(funds.ChaseError, match=f"loss transfer {loss_in_usd.event_id}: paid in USD; a chase "
                                               r"follows yuan \(CNY\) transfers only"):
        funds.add_losses(engine, CITY, view.chase_id, [loss_in_usd.event_id], now=minutes(41))
    assert funds.get_chase(engine, CITY, view.chase_id).loss == D("1000.00")


def test_a_reports_loss_in_another_currency_is_left_out_and_its_yuan_ones_chased(engine: Engine, city: dict) -> None:
    usd = transfer("VA", "M1", "200", minutes(30)).model_copy(update={"currency": "USD"})
    with engine.begin() as conn:
        EventRepository(engine).add_many("transfer", [usd.model_dump()], conn)
    view = funds.open_chase(engine, CITY, report_event_id=report_id(engine), now=minutes(60))
    assert view.loss == D("1000.00") and view.orders
    [opened] = AuditLog(engine).entries("fund_chase", view.chase_id)
    assert opened["details"]["not_yuan"] == {usd.event_id: "USD"}


def test_the_funds_demo_refuses_a_store_with_officers_chases(engine: Engine, city: dict, tmp_path) -> None:
    """The demo's banks are make-believe: in a store with real chases they would answer real orders."""
    view = funds.open_chase(engine, CITY, report_event_id=report_id(engine), now=minutes(60))
    before = AuditLog(engine).entries()
    with pytest.raises(funds.ChaseError, match=rf"database: this store holds chases opened by others \({view.chase_id}"
                                               rf", by {CITY.label}\); .* Run the demo on a store of its own"):
        funds.run_demo_chase(engine, tmp_path / "no-city-needed")
    assert AuditLog(engine).entries() == before


def test_the_centre_lists_the_reports_a_chase_opens_from(engine: Engine, city: dict) -> None:
    [report] = funds.list_reports(engine, CITY)
    assert (report.victim_id, report.accounts, report.loss, report.chase_id) == ("PV", ["M1"], D("1000.00"), None)
    assert funds.list_reports(engine, CITY, chased=True) == []
    view = funds.open_chase(engine, CITY, report_event_id=report.event_id, now=minutes(60))
    assert [r.chase_id for r in funds.list_reports(engine, CITY, chased=True)] == [view.chase_id]
    assert funds.list_reports(engine, CITY, chased=False) == []
    with pytest.raises(PermissionDenied):
        funds.list_reports(engine, BANK_B)
    client = TestClient(create_app(engine))
    listed = client.get("/api/v1/funds/reports?chased=true",
                        headers={"X-Aegis-User": "desk", "X-Aegis-Role": "city_centre"})
    assert listed.status_code == 200 and [r["chase_id"] for r in listed.json()] == [view.chase_id]
    bank = {"X-Aegis-User": "duty", "X-Aegis-Role": "bank", "X-Aegis-Institution": "bank-B"}
    assert client.get("/api/v1/funds/reports", headers=bank).status_code == 403
    url = engine.url.render_as_string(hide_password=False)
    listed = CliRunner().invoke(funds_cli, ["reports", "--db", url])
    assert listed.exit_code == 0 and report.event_id in listed.stdout and view.chase_id in listed.stdout
    assert "2026-10-03" in listed.stdout and "11:00" in listed.stdout  # the report's time in China time (T0 + 1 h)
    shown = json.loads(CliRunner().invoke(funds_cli, ["reports", "--chased", "--json", "--db", url]).stdout)
    assert [r["event_id"] for r in shown] == [report.event_id]
    none = CliRunner().invoke(funds_cli, ["reports", "--not-chased", "--db", url, "--lang", "en"])
    assert none.exit_code == 0 and none.stdout.strip() == "no reports match"


def test_a_rented_cards_owner_paying_a_friend_a_day_later_gets_the_friend_no_order(engine: Engine, tmp_path) -> None:
    """The shipped policy (LIFO, 24 h dwell) on a rented everyday card: the owner's savings, V's 10,000 forwarded
    within minutes, and the owner paying friend F a day later. The fast forwards carry V's money; the 1,000 that
    settled on the card is ordered there, and F, who got the owner's money, gets no order. Under FIFO the
    forwards took the owner's savings first and the friend's 800 was "V's money": F was held, an innocent."""
    events = [
        transfer("EMPLOYER", "M", "5000", minutes(-5 * 24 * 60)),
        transfer("VA", "M", "10000", minutes(0)),
        transfer("M", "G1", "6000", minutes(3), "BC"),
        transfer("M", "G2", "3000", minutes(7), "BC"),
        transfer("M", "F", "800", minutes(26 * 60), "BC"),
    ]
    loss = events[1].event_id
    fifo_store = open_engine(f"sqlite:///{tmp_path / 'fifo.db'}")
    try:
        for store in (engine, fifo_store):
            repo = EventRepository(store)
            with store.begin() as conn:
                repo.add_many("transfer", [e.model_dump() for e in events], conn)
                opening = AccountOpening(person_id="PV", account="VA", institution="bank-A", branch="x",
                                         time=minutes(-9999))
                repo.add_many("account_opening", [opening.model_dump()], conn)
        view = funds.open_chase(engine, CITY, victim="PV", loss_transfers=[loss], now=minutes(50 * 60))
        assert view.rule == "lifo"
        assert sorted((o.account, o.requested) for o in view.orders) == [
            ("G1", D("6000.00")), ("G2", D("3000.00")), ("M", D("1000.00"))
        ]
        fifo = funds.open_chase(fifo_store, CITY, victim="PV", loss_transfers=[loss], rule="fifo",
                                now=minutes(50 * 60))
        assert sorted((o.account, o.requested) for o in fifo.orders) == [
            ("F", D("800.00")), ("G1", D("1000.00")), ("G2", D("3000.00")), ("M", D("5200.00"))
        ]
    finally:
        fifo_store.dispose()


def test_orders_keep_ids_and_sums_whole_in_80_columns(engine: Engine, city: dict,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from rich.cells import cell_len

    from aegis.cli.common import out

    # a bank's real account number, 19 digits, receives V's money
    card = "6222020555378070887"
    onward = transfer("M2", card, "500", minutes(30), "CC")
    with engine.begin() as conn:
        EventRepository(engine).add_many("transfer", [onward.model_dump()], conn)
    view = funds.open_chase(engine, CITY, report_event_id=report_id(engine), rule="fifo", now=minutes(60))
    url = engine.url.render_as_string(hide_password=False)
    monkeypatch.setattr(out, "width", 80)  # what COLUMNS=80 gives rich
    for lang in ("zh", "en"):
        listed = CliRunner().invoke(funds_cli, ["orders", "list", "--db", url, "--lang", lang])
        assert listed.exit_code == 0, listed.output
        lines = listed.stdout.splitlines()
        assert set(re.findall(r"OR-[0-9a-f]{20}", listed.stdout)) == {o.order_id for o in view.orders}
        assert any(card in line for line in lines)  # the account on one line, not folded over several
        assert "500.00" in listed.stdout and "490.00" in listed.stdout  # sums whole
        assert max(cell_len(line) for line in lines) <= 80


def test_commands_that_order_or_return_nothing_say_so(engine: Engine, city: dict) -> None:
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    db = ["--db", url]
    # W pays 50 to M3: below the policy's floor, nothing to order
    small = transfer("WA", "M3", "50", minutes(30))
    with engine.begin() as conn:
        EventRepository(engine).add_many("transfer", [small.model_dump()], conn)
    chased = runner.invoke(funds_cli, ["chase", "--victim", "PW", "--loss", small.event_id, *db])
    assert chased.exit_code == 0, chased.output
    assert "未下达指令：没有账户留有足以下达指令的涉案资金" in chased.stdout and "OR-" not in chased.stdout
    # FIFO: all of V's money at bank-C's M2, whose bank then answers below
    view = funds.open_chase(engine, CITY, report_event_id=report_id(engine), rule="fifo", now=minutes(60))
    chase_id, nothing_new = view.chase_id, "没有新的指令：资金没有到达新的账户，已有指令的账户也没有新流入"
    for args, said in (
        (["retrace", chase_id], nothing_new),
        (["retrace", chase_id, "--lang", "en"],
         "no new orders: the money reached no new account, and no ordered account received more"),
        (["add-losses", chase_id, city["v"].event_id], nothing_new),
        (["escalate", chase_id], "没有新的冻结：本案没有等待跟进冻结的已执行止付"),
        (["return", chase_id], "没有返还：本案账户上没有已执行的冻结"),
        (["return", chase_id, "--lang", "en"], "nothing returned: no freeze on the chase's accounts is executed"),
    ):
        done = runner.invoke(funds_cli, [*args, *db])
        assert done.exit_code == 0 and " ".join(done.stdout.split()) == said, (args, done.output)
    none = runner.invoke(funds_cli, ["orders", "list", "--state", "rejected", *db])
    assert none.exit_code == 0 and none.stdout.strip() == "没有符合条件的指令"
    # the bank says the money moved on, but the store shows it nowhere new yet
    oid = view.orders[0].order_id
    bank = ["--role", "bank", "--institution", "bank-C", *db]
    assert runner.invoke(funds_cli, ["respond", oid, "acknowledge", *bank]).exit_code == 0
    moved = runner.invoke(funds_cli, ["respond", oid, "moved_on", *bank, "--lang", "en"])
    assert moved.exit_code == 0
    assert moved.stdout.splitlines() == [f"{oid}: moved on", "no follow-up order for your bank"]


def test_chase_errors_name_the_commands_options_not_the_apis_fields(engine: Engine, city: dict) -> None:
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    v, w = city["v"].event_id, city["w"].event_id

    def refused(*args: str) -> str:
        result = runner.invoke(funds_cli, [*args, "--db", url])
        if result.exit_code == 2 and "--lang" not in args:  # the same error in English names the options alike
            english = refused(*args, "--lang", "en")
            assert english.startswith("error: ") and english.count("--") == result.stderr.count("--"), english
        assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
        for field in ("report_event_id", "loss_transfers", "max_hops", "add_losses"):
            assert field not in result.stderr, result.stderr
        return result.stderr

    assert refused("chase").startswith("错误：--report：追查从 --report REPORT_ID 开启，或从 --victim ")
    assert refused("chase", "--lang", "en").startswith(
        "error: --report: a chase opens from --report REPORT_ID, or from --victim ")
    assert refused("chase", "--victim", "PV").startswith("错误：--loss：")
    assert refused("chase", "--loss", v).startswith("错误：--victim：")
    assert "不能两者都给" in refused("chase", "--report", report_id(engine), "--victim", "PV")
    # V paid again: a chase of both payments, then one asked for over the first alone
    again = transfer("VA", "M1", "300", minutes(64))
    with engine.begin() as conn:
        EventRepository(engine).add_many("transfer", [again.model_dump()], conn)
    first = funds.open_chase(engine, CITY, victim="PV", loss_transfers=[v, again.event_id], now=minutes(65))
    asked_again = ("chase", "--victim", "PV", "--loss", v, "--loss", again.event_id, "--max-hops", "2")
    assert refused(*asked_again) == f"错误：--max-hops：追查{first.chase_id}进行中，其--max-hops为6，不是2\n"
    assert refused(*asked_again, "--lang", "en") == (
        f"error: --max-hops: chase {first.chase_id} is open with --max-hops 6, not 2\n")
    assert refused("chase", "--victim", "PV", "--loss", v, "--lang", "en").startswith(
        f"error: --loss: every loss transfer is already chased, in {first.chase_id} (add further losses to that "
        "chase with `aegis funds add-losses`)")
    assert refused("chase", "--victim", "PV", "--loss", v).startswith(
        f"错误：--loss：每笔损失转账都已在追查中，见{first.chase_id}（补充损失请对该追查用 `aegis funds add-losses`）")
    other = funds.open_chase(engine, CITY, victim="PW", loss_transfers=[w], now=minutes(66))
    assert refused("add-losses", other.chase_id, v, "--victim", "PV") == (
        f"错误：TRANSFERS：已在别的追查中：{v} in {first.chase_id}\n")
    # the API keeps its own field names
    client = TestClient(create_app(engine))
    centre = {"X-Aegis-User": "desk", "X-Aegis-Role": "city_centre"}
    assert "report_event_id" in client.post("/api/v1/funds/chases", json={}, headers=centre).text
    again_api = client.post("/api/v1/funds/chases?lang=en", json={"victim": "PV", "loss_transfers": [v]},
                            headers=centre)
    assert again_api.status_code == 422 and "with add_losses" in again_api.json()["detail"]


def test_the_funds_demo_prints_a_summary_in_chinese_or_english_and_its_json_on_request(
        sqlite_engine: Engine, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = {"chases": ["CH-1", "CH-2"], "already_open": [], "orders": 12,
               "orders_by_state": {"returned": 8, "released": 4},
               "loss": "52000.50", "stopped": "30000", "frozen": "30000", "returned": "29000.25",
               "returned_per_victim": {"P1": {"loss": "52000.50", "returned": "29000.25"}}}
    monkeypatch.setattr(funds, "run_demo_chase", lambda engine, sim, victims: summary)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    demo = ["demo", "--sim", str(tmp_path), "--db", url]
    chinese = CliRunner().invoke(funds_cli, demo)
    assert chinese.exit_code == 0, chinese.output
    assert "资金追查演示：追查2起，下达指令12条（已返还 8、已解除 4）" in chinese.stdout
    assert "52,000.50" in chinese.stdout and "29,000.25" in chinese.stdout and "已冻结" in chinese.stdout
    assert "{" not in chinese.stdout  # no JSON
    english = CliRunner().invoke(funds_cli, [*demo, "--lang", "en"])
    assert "funds demo: 2 chases, 12 orders (returned 8, released 4)" in english.stdout
    assert "returns per victim" in english.stdout and "frozen" in english.stdout
    as_json = CliRunner().invoke(funds_cli, [*demo, "--json"])
    assert json.loads(as_json.stdout) == summary


def test_a_report_chased_again_takes_in_the_payments_stored_since(engine: Engine, city: dict) -> None:
    """V's bank sends a payment late: the report's chase, asked for again, follows it too (it was "no such
    chase": the chase id of the larger set of losses was looked up, and the report's chase not found)."""
    first = funds.open_chase(engine, CITY, report_event_id=report_id(engine), now=minutes(60))
    late = transfer("VA", "M1", "300", minutes(50))
    with engine.begin() as conn:
        EventRepository(engine).add_many("transfer", [late.model_dump()], conn)
    again = funds.open_chase(engine, CITY, report_event_id=report_id(engine), now=minutes(70))
    assert again.chase_id == first.chase_id and not again.opened_now and again.loss == D("1300.00")
    actions = [e["action"] for e in AuditLog(engine).entries("fund_chase", first.chase_id)]
    assert actions == ["chase.open", "chase.add_losses", "chase.retrace", "chase.read"]  # the retry showed it
    assert funds.open_chase(engine, CITY, report_event_id=report_id(engine), now=minutes(71)) == again
    with pytest.raises(funds.ChaseError, match=f"max_hops: chase {first.chase_id} is open with max_hops"):
        funds.open_chase(engine, CITY, report_event_id=report_id(engine), max_hops=2, now=minutes(72))


def test_a_bank_answer_or_a_release_sent_again_changes_nothing(engine: Engine, city: dict) -> None:
    view = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[city["v"].event_id],
                            now=minutes(60))
    oid = view.orders[0].order_id
    for _ in range(2):  # a retry of each answer is no error, and is recorded once
        assert funds.respond(engine, BANK_C, oid, "acknowledge", now=minutes(61)).order.state.value == "acknowledged"
    for _ in range(2):
        result = funds.respond(engine, BANK_C, oid, "execute", held=D("900"), now=minutes(62))
        assert (result.order.state.value, result.order.held) == ("executed", D("900.00"))
    with pytest.raises(funds.ChangedMeanwhile, match=r"held: order .* was executed already, holding 900\.00"):
        funds.respond(engine, BANK_C, oid, "execute", held=D("800"), now=minutes(63))
    with pytest.raises(funds.ChaseError, match=r"held: order .* needs an amount in \(0, "):  # a retry repeats it
        funds.respond(engine, BANK_C, oid, "execute", now=minutes(63))
    with pytest.raises(funds.ChaseError, match="held: only an execute answer takes an amount, not reject"):
        funds.respond(engine, BANK_C, oid, "reject", held=D("5"), reason="x", now=minutes(63))
    for _ in range(2):
        assert funds.release(engine, CITY, oid, "court order", now=minutes(70)).state.value == "released"
    with pytest.raises(IllegalTransition):  # another reason, or another officer, is another release: refused
        funds.release(engine, CITY, oid, "another reason", now=minutes(71))
    actions = [e["action"] for e in AuditLog(engine).entries("fund_order", oid)]
    assert actions == ["order.stop_payment.issued", "order.stop_payment.acknowledged",
                       "order.stop_payment.executed", "order.stop_payment.released"]

    client = TestClient(create_app(engine))
    bank_headers = {"X-Aegis-User": "duty", "X-Aegis-Role": "bank", "X-Aegis-Institution": "bank-C"}
    other = funds.retrace(engine, CITY, view.chase_id, now=minutes(71))
    assert other == []  # the released hold covers what it held
    # over HTTP a conflicting repeat is a conflict (409), not a bad request
    answer = client.post(f"/api/v1/funds/orders/{oid}/response", json={"action": "execute", "held": "1"},
                         headers=bank_headers)
    assert answer.status_code == 409
    city_headers = {"X-Aegis-User": "desk", "X-Aegis-Role": "city_centre"}
    assert client.post("/api/v1/funds/orders/expire", headers=bank_headers).status_code == 403
    expired = client.post("/api/v1/funds/orders/expire", headers=city_headers)
    assert expired.status_code == 200 and expired.json() == []  # the one hold was released, none runs out


def test_the_same_answer_sent_several_times_at_once_is_answered_alike(engine: Engine, city: dict) -> None:
    """A bank gateway that retries on a timeout sends its answer again while the first is still being written: 2 of 6
    acknowledgements and 5 of 6 executions at once were refused as someone else's change (the black-box audit)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    view = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[city["v"].event_id],
                            now=minutes(60))
    oid, at_once = view.orders[0].order_id, 6

    def all_at_once(action: str, **terms: object) -> list[object]:
        gate = threading.Barrier(at_once)

        def answer(_: int) -> object:
            gate.wait()
            try:
                return funds.respond(engine, BANK_C, oid, action, now=minutes(61), **terms).order
            except Exception as exc:
                return exc
        with ThreadPoolExecutor(at_once) as pool:
            return list(pool.map(answer, range(at_once)))

    acknowledged = all_at_once("acknowledge")
    assert [getattr(o, "state", o) for o in acknowledged] == [OrderState.acknowledged] * at_once
    executed = all_at_once("execute", held=D("900"))
    assert [(getattr(o, "state", o), getattr(o, "held", None)) for o in executed] == [
        (OrderState.executed, D("900.00"))] * at_once
    actions = [e["action"] for e in AuditLog(engine).entries("fund_order", oid)]
    assert actions == ["order.stop_payment.issued", "order.stop_payment.acknowledged", "order.stop_payment.executed"]


def test_a_rejected_order_is_issued_again_and_a_freeze_is_not_answered_moved_on_while_held(
        engine: Engine, city: dict) -> None:
    """A rejected freeze could never be issued again (escalating found the same order), so the stop-payment lapsed
    with the money; and a freeze's bank could answer "moved on" for money its own stop-payment held (the black-box
    audit). The centre issues a rejected order again, as a new order following it."""
    view = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[city["v"].event_id],
                            now=minutes(60))
    oid = view.orders[0].order_id
    funds.respond(engine, BANK_C, oid, "reject", reason="缺少法律文书", now=minutes(61))
    again = funds.reissue(engine, CITY, oid, "已补送法律文书", now=minutes(70))
    assert (again.state, again.parent_order_id, again.attempt, again.requested, again.account) == (
        OrderState.issued, oid, 1, view.orders[0].requested, view.orders[0].account)
    assert again.order_id != oid
    assert again.reasons[:2] == [f"重新下达：原指令{oid}被驳回（缺少法律文书）", "已补送法律文书"]
    assert funds.reissue(engine, CITY, oid, "已补送法律文书", now=minutes(71)) == again  # a retry
    with pytest.raises(funds.ChangedMeanwhile, match=f"was issued again already, as {again.order_id}"):
        funds.reissue(engine, CITY, oid, "another reason", now=minutes(71))
    with pytest.raises(IllegalTransition, match="only a rejected order may be issued again"):
        funds.reissue(engine, CITY, again.order_id, "x", now=minutes(71))
    with pytest.raises(PermissionDenied):
        funds.reissue(engine, BANK_C, oid, "x", now=minutes(71))
    assert funds.retrace(engine, CITY, view.chase_id, now=minutes(72)) == []  # the money is ordered once, not twice
    funds.respond(engine, BANK_C, again.order_id, "acknowledge", now=minutes(73))
    funds.respond(engine, BANK_C, again.order_id, "execute", held=D("900"), now=minutes(74))
    [freeze] = funds.escalate(engine, CITY, view.chase_id, now=minutes(80))
    funds.respond(engine, BANK_C, freeze.order_id, "acknowledge", now=minutes(81))
    with pytest.raises(funds.ChaseError, match=f"stop-payment {again.order_id} still holds this 900.00 yuan"):
        funds.respond(engine, BANK_C, freeze.order_id, "moved_on", now=minutes(82))
    funds.respond(engine, BANK_C, freeze.order_id, "reject", reason="印章不清", now=minutes(82))
    assert funds.escalate(engine, CITY, view.chase_id, now=minutes(83)) == []  # escalating finds the rejected one
    frozen = funds.reissue(engine, CITY, freeze.order_id, "重新盖章", now=minutes(84))
    assert (frozen.kind, frozen.requested) == (freeze.kind, D("900.00"))
    funds.respond(engine, BANK_C, frozen.order_id, "acknowledge", now=minutes(85))
    funds.respond(engine, BANK_C, frozen.order_id, "execute", held=D("900"), now=minutes(86))
    states = {o.order_id: o.state.value for o in funds.list_orders(engine, CITY, chase_id=view.chase_id)}
    assert (states[oid], states[again.order_id], states[freeze.order_id], states[frozen.order_id]) == (
        "rejected", "superseded", "rejected", "executed")
    assert funds.return_funds(engine, CITY, view.chase_id, now=minutes(90)).per_victim == {"PV": D("900.00")}
    issued = [e for e in AuditLog(engine).entries("fund_order") if e["action"].endswith(".issued")
              and e["details"].get("reissue_of")]
    assert [(e["subject_id"], e["details"]["reissue_of"]) for e in issued] == [
        (again.order_id, oid), (frozen.order_id, freeze.order_id)]
    # over HTTP and from the command line alike
    client = TestClient(create_app(engine))
    city_headers = {"X-Aegis-User": "desk", "X-Aegis-Role": "city_centre"}
    bank_headers = {"X-Aegis-User": "duty", "X-Aegis-Role": "bank", "X-Aegis-Institution": "bank-C"}
    assert client.post(f"/api/v1/funds/orders/{oid}/reissue", json={"reason": "已补送法律文书"},
                       headers=bank_headers).status_code == 403
    retried = client.post(f"/api/v1/funds/orders/{oid}/reissue?lang=en", json={"reason": "已补送法律文书"},
                          headers=city_headers)
    assert retried.status_code == 200 and retried.json()["order_id"] == again.order_id
    assert retried.json()["reasons"][0] == f"issued again: order {oid} was rejected (缺少法律文书)"
    assert client.post(f"/api/v1/funds/orders/{frozen.order_id}/reissue", json={"reason": "x"},
                       headers=city_headers).status_code == 409
    url = engine.url.render_as_string(hide_password=False)
    shown = CliRunner().invoke(funds_cli, ["reissue", oid, "--reason", "已补送法律文书", "--user", "desk", "--db", url,
                                           "--json"])
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)[0]["order_id"] == again.order_id
    refused = CliRunner().invoke(funds_cli, ["reissue", frozen.order_id, "--reason", "x", "--db", url, "--lang", "en"])
    assert refused.exit_code == 2 and "only a rejected order may be issued again" in refused.stderr
    # a bank running a command of the centre's is told which are its own, not asked for an --institution it lacks
    banked = CliRunner().invoke(funds_cli, ["expire", "--role", "bank", "--db", url, "--lang", "en"])
    assert banked.exit_code == 2 and "a bank answers with respond and lists its own orders" in banked.stderr

def test_an_answer_after_its_deadline_is_kept_and_recorded_late(engine: Engine, city: dict) -> None:
    """The bank's answer is real whenever it comes (the money it holds is held), but one that comes after the
    order's deadline does not count as on time: the order says when it was answered and that it was late, the
    answers' entries in its history say by how much, and the chase's figures count it."""
    view = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[city["v"].event_id],
                            now=minutes(60))
    [order] = view.orders
    assert order.respond_by == minutes(90) and order.answered_at is None and not order.late  # 30 minutes
    funds.respond(engine, BANK_C, order.order_id, "acknowledge", now=minutes(100))
    result = funds.respond(engine, BANK_C, order.order_id, "execute", held=D("900"), now=minutes(105))
    assert (result.order.state.value, result.order.held) == ("executed", D("900.00"))
    assert result.order.answered_at == minutes(105) and result.order.late
    entries = [e for e in AuditLog(engine).entries("fund_order", order.order_id)
               if e["action"] in ("order.stop_payment.acknowledged", "order.stop_payment.executed")]
    assert [render(e["reasons"], "en")[-1] for e in entries] == [
        "answered late: the deadline was 2026-10-03 03:30:00+00:00, 10 minutes before",
        "answered late: the deadline was 2026-10-03 03:30:00+00:00, 15 minutes before"]
    assert [e["details"]["late"] for e in entries] == ["true", "true"]
    [listed] = funds.list_orders(engine, CITY, chase_id=view.chase_id)
    assert listed.late and listed.model_dump(mode="json")["late"] is True
    shown = CliRunner().invoke(funds_cli, ["orders", "list", "--db", engine.url.render_as_string(hide_password=False),
                                           "--lang", "en"])
    assert shown.exit_code == 0 and "executed (late)" in " ".join(shown.stdout.split()), shown.stdout
    # an order closed since refuses an answer, saying so, and keeps what it recorded
    funds.release(engine, CITY, order.order_id, "court order", now=minutes(120))
    with pytest.raises(IllegalTransition, match=r"cannot go from released to moved_on \(it is final\)"):
        funds.respond(engine, BANK_C, order.order_id, "moved_on", now=minutes(130))
    [listed] = funds.list_orders(engine, CITY, chase_id=view.chase_id)
    assert (listed.state.value, listed.answered_at, listed.late) == ("released", minutes(105), True)


def test_an_answer_in_time_is_not_late(engine: Engine, city: dict) -> None:
    view = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[city["v"].event_id],
                            now=minutes(60))
    oid = view.orders[0].order_id
    funds.respond(engine, BANK_C, oid, "acknowledge", now=minutes(89))
    result = funds.respond(engine, BANK_C, oid, "reject", reason="account closed", now=minutes(90))
    assert (result.order.answered_at, result.order.late) == (minutes(90), False)  # the deadline itself is in time
    entries = AuditLog(engine).entries("fund_order", oid)
    assert all("late" not in e["details"] for e in entries)
    assert not any("late" in text for e in entries for text in render(e["reasons"], "en"))


def test_the_orders_a_bank_has_not_answered_in_time_are_listed_to_ring_it_about(engine: Engine, city: dict) -> None:
    """A stop-payment unanswered past its deadline showed nothing until the bank answered; the centre lists them."""
    from aegis.reasons import NotFound

    view = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[city["v"].event_id],
                            now=minutes(60))
    [order] = view.orders
    assert funds.list_orders(engine, CITY, overdue=True, now=order.respond_by) == []  # due, not past due
    late = order.respond_by + timedelta(minutes=1)
    assert [o.order_id for o in funds.list_orders(engine, CITY, overdue=True, now=late)] == [order.order_id]
    assert [o.order_id for o in funds.list_orders(engine, BANK_C, overdue=True, now=late)] == [order.order_id]
    assert funds.list_orders(engine, BANK_B, overdue=True, now=late) == []  # another bank's
    funds.respond(engine, BANK_C, order.order_id, "acknowledge", now=late)  # acknowledged is no answer yet
    assert len(funds.list_orders(engine, CITY, overdue=True, now=late)) == 1
    funds.respond(engine, BANK_C, order.order_id, "execute", held=D("900"), now=late)
    assert funds.list_orders(engine, CITY, overdue=True, now=late) == []
    with pytest.raises(NotFound, match="chase CH-nope: no such chase"):
        funds.list_orders(engine, CITY, chase_id="CH-nope")
    client = TestClient(create_app(engine))
    city_headers = {"X-Aegis-User": "desk", "X-Aegis-Role": "city_centre"}
    assert client.get("/api/v1/funds/orders?overdue=true", headers=city_headers).json() == []
    assert client.get("/api/v1/funds/orders?chase_id=CH-nope", headers=city_headers).status_code == 404
    url = engine.url.render_as_string(hide_password=False)
    listed = CliRunner().invoke(funds_cli, ["orders", "list", "--overdue", "--db", url, "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []


def test_a_bank_sees_its_own_account_and_the_sum_not_the_victims_or_the_path_through_other_banks(
        engine: Engine, city: dict) -> None:
    """The black-box audit found a bank's own orders carrying the victims' ids and the money's whole path through
    other banks: a bank sees neither (its role does not see personal data); the centre sees them whole."""
    view = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[city["v"].event_id],
                            now=minutes(10))
    first = view.orders[0]
    funds.respond(engine, BANK_B, first.order_id, "acknowledge", now=minutes(25))
    funds.respond(engine, BANK_B, first.order_id, "moved_on", now=minutes(25))
    [whole] = [o for o in funds.list_orders(engine, CITY, chase_id=view.chase_id) if o.bank == "bank-C"]
    [seen] = funds.list_orders(engine, BANK_C)
    assert (seen.order_id, seen.account, seen.requested) == (whole.order_id, whole.account, whole.requested)
    assert list(whole.taint) == ["PV"] and list(seen.taint) == ["P*"] and sum(seen.taint.values()) == whole.requested
    assert len(whole.path) == 2 and seen.path == whole.path[-1:]
    # nor which bank's account the money moved on from, nor that bank's order (the audit found both shown)
    assert whole.parent_order_id == first.order_id and any("bank-B" in r for r in whole.reasons)
    assert seen.parent_order_id is None and "续查：涉案资金从上一跳转入本账户" in seen.reasons
    assert not any("bank-B" in r or first.order_id in r or first.account in r for r in seen.reasons)
    # the first hop's own bank reads its one transfer as the centre does: there is no hop before it to leave out
    [own] = funds.list_orders(engine, BANK_B)
    assert len(own.path) == 1 and f"资金路径：{own.path[0]}" in own.reasons
    # the reasons name the transfer into its account, not the transfers before it
    [trail] = [r for r in whole.reasons if r.startswith("资金路径")]
    assert trail == f"资金路径：{whole.path[0]} → {whole.path[1]}"
    assert whole.path[0] not in " ".join(seen.reasons)
    assert f"资金路径：……→ {whole.path[1]}（之前经他行各跳不予显示）" in seen.reasons
    # in another language too: the reasons are worded again, and masked again
    english = seen.in_language("en")
    assert english.taint == seen.taint and english.masked and whole.path[0] not in " ".join(english.reasons)
    assert any(r.startswith("money trail: … → ") for r in english.reasons)
    answered = funds.respond(engine, BANK_C, seen.order_id, "acknowledge", now=minutes(26)).order
    assert list(answered.taint) == ["P*"] and answered.path == whole.path[-1:]
    client = TestClient(create_app(engine))
    bank_headers = {"X-Aegis-User": "duty", "X-Aegis-Role": "bank", "X-Aegis-Institution": "bank-C"}
    [shown] = client.get("/api/v1/funds/orders", headers=bank_headers).json()
    assert list(shown["taint"]) == ["P*"] and len(shown["path"]) == 1


def test_cli_shows_a_chase_expires_holds_and_returns_as_json(engine: Engine) -> None:
    """The commands act at the clock's time (they take no --now), so this chase happens in the last hours."""
    start = datetime.now(UTC) - timedelta(hours=3)
    loss = transfer("VA", "M1", "1000", start)
    repo = EventRepository(engine)
    with engine.begin() as conn:
        repo.add_many("transfer", [loss.model_dump(), transfer("M1", "M2", "990", start + timedelta(minutes=20),
                                                                "BC").model_dump()], conn)
        repo.add_many("account_opening", [AccountOpening(person_id="PV", account="VA", institution="bank-A",
                                                         branch="x", time=start - timedelta(days=99)).model_dump()],
                      conn)
    view = funds.open_chase(engine, CITY, rule="fifo", victim="PV", loss_transfers=[loss.event_id])
    oid = view.orders[0].order_id
    funds.respond(engine, BANK_C, oid, "acknowledge")
    funds.respond(engine, BANK_C, oid, "execute", held=D("900"))
    url = engine.url.render_as_string(hide_password=False)
    runner = CliRunner()
    shown = runner.invoke(funds_cli, ["show", view.chase_id, "--db", url, "--json"])
    assert shown.exit_code == 0, shown.output
    assert [o["order_id"] for o in json.loads(shown.stdout)["orders"]] == [oid]
    in_english = runner.invoke(funds_cli, ["show", view.chase_id, "--db", url, "--lang", "en"])
    assert in_english.exit_code == 0 and view.chase_id in in_english.stdout and "PV" in in_english.stdout
    escalated = runner.invoke(funds_cli, ["escalate", view.chase_id, "--db", url, "--json"])
    assert escalated.exit_code == 0, escalated.output
    [freeze] = json.loads(escalated.stdout)
    assert (freeze["kind"], D(freeze["requested"])) == ("freeze", D("900"))
    funds.respond(engine, BANK_C, freeze["order_id"], "acknowledge")
    funds.respond(engine, BANK_C, freeze["order_id"], "execute", held=D("900"))
    nothing = runner.invoke(funds_cli, ["expire", "--db", url, "--json"])
    assert nothing.exit_code == 0 and json.loads(nothing.stdout) == []  # six months are not up
    returned = runner.invoke(funds_cli, ["return", view.chase_id, "--db", url, "--json"])
    assert returned.exit_code == 0, returned.output
    body = json.loads(returned.stdout)
    assert body["per_victim"] == {"PV": "900.00"} and body["unallocated"] == {"M2": "0.00"}
    district = runner.invoke(funds_cli, ["reports", "--db", url, "--role", "district_bureau", "--lang", "en"])
    assert district.exit_code == 2
    assert "--role: the funds commands are for bank, city_centre, not 'district_bureau'" in district.stderr
    # nor for a person at a shell as Aegis's own jobs (the audit log would read system/aegis), as over HTTP
    posing = runner.invoke(funds_cli, ["respond", oid, "acknowledge", "--db", url, "--role", "system", "--lang", "en"])
    assert posing.exit_code == 2 and "not 'system'" in posing.stderr
    rejected = runner.invoke(funds_cli, ["respond", oid, "reject", "--reason", "x", "--held", "5", "--db", url,
                                         "--institution", "bank-C", "--lang", "en"])
    assert rejected.exit_code == 2 and "--held: only an execute answer takes an amount, not reject" in rejected.stderr
    # in Chinese by default, the option named as typed in either language
    chinese = runner.invoke(funds_cli, ["respond", oid, "reject", "--reason", "x", "--held", "5", "--db", url,
                                        "--institution", "bank-C"])
    assert chinese.exit_code == 2
    assert chinese.stderr.strip() == "错误：--held：只有执行（execute）答复填写金额，reject不填"


def test_the_centre_shown_orders_and_reports_is_in_the_audit_log_and_a_bank_is_not(engine: Engine, city: dict) -> None:
    view = funds.open_chase(engine, CITY, report_event_id=report_id(engine), now=minutes(60))
    log = AuditLog(engine)
    before = len(log.entries())
    assert "chase.read" not in [e["action"] for e in log.entries()]  # the chase opened is logged as opened, once
    funds.list_orders(engine, BANK_C)  # its own customers' accounts: nothing a bank did not know
    assert len(log.entries()) == before
    orders = funds.list_orders(engine, CITY, chase_id=view.chase_id)
    funds.get_chase(engine, CITY, view.chase_id)
    reports = funds.list_reports(engine, CITY)
    listed, read, reported = log.entries()[before:]
    assert (listed["action"], listed["subject_type"], listed["subject_id"]) == ("order.list", "fund_chase",
                                                                                view.chase_id)
    assert listed["details"]["ids"] == [o.order_id for o in orders] and listed["actor"] == CITY.label
    assert (read["action"], read["subject_type"], read["subject_id"], read["details"]["orders"]) == (
        "chase.read", "fund_chase", view.chase_id, len(orders))
    assert reported["action"] == "report.list" and reported["details"]["ids"] == [r.event_id for r in reports]


def test_a_centre_of_a_named_city_neither_sees_nor_acts_on_another_citys_reports_chases_and_orders(
        engine: Engine, city: dict) -> None:
    """X-Aegis-City scoped the warnings only: a centre of 泉州市 read 厦门市's reports and orders and opened a chase,
    with orders to banks, for a 厦门市 victim. Another city's records are answered as ones that do not exist."""
    from urllib.parse import quote

    from aegis.events.models import Person
    from aegis.usecases.actor import Actor, Role

    with engine.begin() as conn:
        EventRepository(engine).add_many("person", [
            Person(person_id=p, age=60, gender="F", occupation="退休人员", city="厦门市", district="思明区",
                   station="中华派出所").model_dump() for p in ("PV", "PW")], conn)
    with engine.begin() as conn:  # a resident of the other city, which is then a city the store knows
        EventRepository(engine).add_many("person", [Person(
            person_id="Q1", age=30, gender="M", occupation="职员", city="泉州市", district="丰泽区",
            station="东湖派出所").model_dump()], conn)
    xiamen, quanzhou = (Actor("desk", Role.city_centre, city=c) for c in ("厦门市", "泉州市"))
    report = report_id(engine)
    assert funds.list_reports(engine, quanzhou) == [] and len(funds.list_reports(engine, xiamen)) == 1
    with pytest.raises(LookupError, match=f"^report {report}: no such report$"):
        funds.open_chase(engine, quanzhou, report_event_id=report, now=minutes(60))
    with pytest.raises(PermissionDenied, match="victim: PV is no resident registered in 泉州市"):
        funds.open_chase(engine, quanzhou, victim="PV", loss_transfers=[city["v"].event_id], now=minutes(60))
    view = funds.open_chase(engine, xiamen, report_event_id=report, now=minutes(60))
    chase, order = view.chase_id, view.orders[0].order_id
    assert {o.order_id for o in funds.list_orders(engine, xiamen)} == {o.order_id for o in view.orders}
    assert funds.list_orders(engine, quanzhou) == []
    for act in (lambda: funds.get_chase(engine, quanzhou, chase),
                lambda: funds.list_orders(engine, quanzhou, chase_id=chase),
                lambda: funds.retrace(engine, quanzhou, chase, now=minutes(61)),
                lambda: funds.escalate(engine, quanzhou, chase, now=minutes(61)),
                lambda: funds.return_funds(engine, quanzhou, chase, now=minutes(61)),
                lambda: funds.add_losses(engine, quanzhou, chase, [city["w"].event_id], now=minutes(61))):
        with pytest.raises(LookupError, match=f"^chase {chase}: no such chase$"):
            act()
    for act in (lambda: funds.release(engine, quanzhou, order, "x"),
                lambda: funds.reissue(engine, quanzhou, order, "x")):
        with pytest.raises(LookupError, match=f"^order {order}: no such order$"):
            act()
    funds.respond(engine, BANK_B, order, "acknowledge", now=minutes(62))
    funds.respond(engine, BANK_B, order, "execute", held=D("1"), now=minutes(63))
    assert funds.expire_orders(engine, quanzhou, now=minutes(60 * 24 * 30)) == []
    assert funds.expire_orders(engine, xiamen, now=minutes(60 * 24 * 30)) == [order]
    # over HTTP, the same 404 as for a chase that does not exist
    client = TestClient(create_app(engine))
    headers = {"X-Aegis-User": "u1", "X-Aegis-Role": "city_centre", "X-Aegis-City": quote("泉州市")}
    assert client.get(f"/api/v1/funds/chases/{chase}", headers=headers).status_code == 404
    assert client.get("/api/v1/funds/reports", headers=headers).json() == []
    assert client.get("/api/v1/funds/orders", headers=headers).json() == []
