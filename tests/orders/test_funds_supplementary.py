"""Supplementary orders (追加止付): money that reaches an account after its first order gets an order too."""

from __future__ import annotations

from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from fdata import BANK_B, BANK_C, CITY, minutes, transfer
from sqlalchemy import Engine
from typer.testing import CliRunner

from aegis.actions.orders import coverage, order_id
from aegis.api.app import create_app
from aegis.cli.funds import app as funds_cli
from aegis.events.models import AccountOpening, Transfer
from aegis.reasons import render
from aegis.store import AuditLog, EventRepository
from aegis.usecases import funds
from aegis.usecases.actor import Actor


def store(engine: Engine, transfers: list[Transfer]) -> None:
    repo = EventRepository(engine)
    with engine.begin() as conn:
        repo.add_many("transfer", [t.model_dump() for t in transfers], conn)
        opening = AccountOpening(person_id="PV", account="VA", institution="bank-A", branch="x", time=minutes(-9999))
        repo.add_many("account_opening", [opening.model_dump()], conn)


def answer(engine: Engine, bank: Actor, oid: str, held: str, at: float) -> None:
    funds.respond(engine, bank, oid, "acknowledge", now=minutes(at))
    funds.respond(engine, bank, oid, "execute", held=D(held), now=minutes(at))


def test_a_further_loss_into_a_held_account_gets_a_supplementary_order(engine: Engine) -> None:
    """V pays mule M1 1,000, then (still deceived) 2,000 more after M1 was already held."""
    first, second = transfer("VA", "M1", "1000", 0), transfer("VA", "M1", "2000", 30)
    store(engine, [first, second])
    view = funds.open_chase(engine, CITY, victim="PV", loss_transfers=[first.event_id], now=minutes(10))
    [stop] = view.orders
    answer(engine, BANK_B, stop.order_id, "1000", 15)

    new = funds.add_losses(engine, CITY, view.chase_id, [second.event_id], now=minutes(40))
    [extra] = new
    assert (extra.account, extra.seq, extra.requested, extra.state.value) == ("M1", 1, D("2000.00"), "issued")
    assert extra.parent_order_id == stop.order_id and extra.order_id == order_id(view.chase_id, "M1", "stop_payment", 1)
    assert extra.taint == {"PV": D("2000.00")}
    assert any(r.startswith("追加止付") and "1,000.00" in r for r in extra.reasons)
    chase = funds.get_chase(engine, CITY, view.chase_id)
    assert chase.loss == D("3000.00")
    # a retried request adds nothing, and a look again finds nothing new either
    assert funds.add_losses(engine, CITY, view.chase_id, [second.event_id], now=minutes(41)) == []
    assert funds.retrace(engine, CITY, view.chase_id, now=minutes(42)) == []

    answer(engine, BANK_B, extra.order_id, "2000", 45)
    freezes = funds.escalate(engine, CITY, view.chase_id, now=minutes(60))
    assert sorted((f.seq, f.requested) for f in freezes) == [(0, D("1000.00")), (1, D("2000.00"))]
    for freeze in freezes:
        answer(engine, BANK_B, freeze.order_id, str(freeze.requested), 70)
    states = {(o.kind.value, o.seq): o.state.value for o in funds.list_orders(engine, CITY)}
    assert states == {
        ("stop_payment", 0): "superseded",
        ("stop_payment", 1): "superseded",
        ("freeze", 0): "executed",
        ("freeze", 1): "executed",
    }
    returned = funds.return_funds(engine, CITY, view.chase_id, now=minutes(2000))
    assert returned.per_victim == {"PV": D("3000.00")}
    actions = [e["action"] for e in AuditLog(engine).entries("fund_chase", view.chase_id)]
    # the officer shown the whole chase (get_chase above) is on its log too, between what was done to it
    assert actions == ["chase.open", "chase.add_losses", "chase.retrace", "chase.read", "chase.retrace"]


def test_money_moved_on_into_an_ordered_account_is_ordered_again(engine: Engine) -> None:
    """M1 splits V's 3,000 to M2 and M3; M2 is held, M3 passes its half on to M2 before its bank answers."""
    loss = transfer("VA", "M1", "3000", 0)
    store(
        engine,
        [
            loss,
            transfer("M1", "M2", "1500", 5, "BB"),
            transfer("M1", "M3", "1500", 6, "BC"),
            transfer("M3", "M2", "1500", 15, "CB"),
        ],
    )
    view = funds.open_chase(engine, CITY, victim="PV", loss_transfers=[loss.event_id], now=minutes(10))
    by_account = {o.account: o for o in view.orders}
    assert {a: o.requested for a, o in by_account.items()} == {"M2": D("1500.00"), "M3": D("1500.00")}
    answer(engine, BANK_B, by_account["M2"].order_id, "1500", 12)
    funds.respond(engine, BANK_C, by_account["M3"].order_id, "acknowledge", now=minutes(20))
    result = funds.respond(engine, BANK_C, by_account["M3"].order_id, "moved_on", now=minutes(20))
    assert result.follow_ups == []  # the supplementary order is bank B's: bank C is not shown it
    [extra] = [o for o in funds.list_orders(engine, BANK_B) if o.seq == 1]
    assert (extra.account, extra.seq, extra.requested) == ("M2", 1, D("1500.00"))
    assert extra.parent_order_id == by_account["M2"].order_id  # its own bank's earlier order: shown to that bank


def test_a_victim_added_to_the_chase_is_ordered_her_own_money_only(engine: Engine) -> None:
    """Three victims each pay mule M1 1,000; M1 then passes 500 to M2. The chase opens on the first, and the
    others' losses are added one by one: each supplementary order on M1 claims the new victim's money only,
    so the return gives each victim all she lost and leaves nothing unallocated."""
    losses = [transfer(f"V{i}A", "M1", "1000", i) for i in (1, 2, 3)]
    store(engine, [*losses, transfer("M1", "M2", "500", 4, "BC")])
    repo = EventRepository(engine)
    with engine.begin() as conn:
        repo.add_many("account_opening", [AccountOpening(person_id=f"P{i}", account=f"V{i}A", institution="bank-A",
                                                         branch="x", time=minutes(-9999)).model_dump()
                                          for i in (1, 2, 3)], conn)
    view = funds.open_chase(engine, CITY, victim="P1", loss_transfers=[losses[0].event_id], now=minutes(10))
    [first] = view.orders
    assert (first.account, first.taint) == ("M1", {"P1": D("1000.00")})
    [second] = funds.add_losses(engine, CITY, view.chase_id, [losses[1].event_id], victim="P2", now=minutes(11))
    assert (second.account, second.requested, second.taint) == ("M1", D("1000.00"), {"P2": D("1000.00")})
    third = {o.account: o for o in funds.add_losses(engine, CITY, view.chase_id, [losses[2].event_id], victim="P3",
                                                   now=minutes(12))}
    # newest money first: the 500 M1 passed on was P3's
    assert {a: (o.requested, o.taint) for a, o in third.items()} == {
        "M1": (D("500.00"), {"P3": D("500.00")}), "M2": (D("500.00"), {"P3": D("500.00")})}
    bank = {"bank-B": BANK_B, "bank-C": BANK_C}
    for stop in funds.list_orders(engine, CITY):
        answer(engine, bank[stop.bank], stop.order_id, str(stop.requested), 20)
    for freeze in funds.escalate(engine, CITY, view.chase_id, now=minutes(30)):
        answer(engine, bank[freeze.bank], freeze.order_id, str(freeze.requested), 40)
    returned = funds.return_funds(engine, CITY, view.chase_id, now=minutes(60))
    assert returned.per_victim == {"P1": D("1000.00"), "P2": D("1000.00"), "P3": D("1000.00")}
    assert all(amount == 0 for amount in returned.unallocated.values())


def test_a_partial_freeze_returns_what_it_holds_of_each_victim(engine: Engine) -> None:
    """P1's and P2's money sit in M1, chased apart; the bank froze only 200 of P1's 1,000 and all 500 of P2's.
    Pooled, M1's 700 goes back as frozen: P1 200, P2 500 (not by the 1,000 P1's freeze asked for), and each
    freeze's audit entry names no more than it held."""
    losses = [transfer("V1A", "M1", "1000", 0), transfer("V2A", "M1", "500", 1)]
    store(engine, losses)
    repo = EventRepository(engine)
    with engine.begin() as conn:
        repo.add_many("account_opening", [AccountOpening(person_id=f"P{i}", account=f"V{i}A", institution="bank-A",
                                                         branch="x", time=minutes(-9999)).model_dump()
                                          for i in (1, 2)], conn)
    chases = [funds.open_chase(engine, CITY, victim=f"P{i}", loss_transfers=[loss.event_id], now=minutes(10))
              for i, loss in ((1, losses[0]), (2, losses[1]))]
    for chase in chases:
        [stop] = chase.orders
        answer(engine, BANK_B, stop.order_id, str(stop.requested), 12)
    [f1], [f2] = (funds.escalate(engine, CITY, c.chase_id, now=minutes(20)) for c in chases)
    answer(engine, BANK_B, f1.order_id, "200", 25)
    answer(engine, BANK_B, f2.order_id, "500", 25)
    returned = funds.return_funds(engine, CITY, chases[0].chase_id, now=minutes(100))
    assert returned.per_victim == {"P1": D("200.00"), "P2": D("500.00")}
    assert returned.unallocated == {"M1": D("0.00")}
    for freeze, text in ((f1, "200.00 yuan returned to P1"), (f2, "500.00 yuan returned to P2")):
        [entry] = [e for e in AuditLog(engine).entries("fund_order", freeze.order_id)
                   if e["action"] == "order.freeze.returned"]
        assert render(entry["reasons"], "en")[1:] == [text]
    # the second chase's return finds its freeze returned with the first's: it names that batch, returns nothing
    # again, and so does the first chase's return asked a second time
    for chase in reversed(chases):
        again = funds.return_funds(engine, CITY, chase.chase_id, now=minutes(101))
        assert (again.batch_id, again.per_victim, again.earlier_batches) == (None, {}, [returned.batch_id])
    said = CliRunner().invoke(funds_cli, ["return", chases[1].chase_id, "--db",
                                          engine.url.render_as_string(hide_password=False), "--lang", "en"])
    assert said.exit_code == 0
    assert " ".join(said.stdout.split()) == (
        f"no new return: this chase's frozen money was returned in batch {returned.batch_id}")


def test_coverage_counts_what_each_answer_accounts_for() -> None:
    def row(oid: str, account: str, seq: int, state: str, requested: str, held: str | None, at: float,
            **taint: str) -> object:
        return SimpleNamespace(
            order_id=oid, account=account, seq=seq, state=state, requested=D(requested),
            held=None if held is None else D(held), issued_at=minutes(at), taint=taint or {"V1": requested},
        )

    orders = [
        # superseded by its freeze: same money, and the 100 its bank could not hold was answered for
        row("s0", "A", 0, "released", "900", "800", 0, V1="600", V2="300"),
        row("f0", "A", 0, "executed", "800", "800", 5, V1="500", V2="300"),
        row("s1", "A", 1, "issued", "300", None, 9, V3="300"),  # pending: counts what it asks for
        row("m0", "B", 0, "moved_on", "500", None, 0),  # gone: answered for, not ordered from its bank again
        row("r0", "C", 0, "rejected", "400", None, 0),  # refused: a person deals with it
        # held less than asked: the bank answered for all of it (the rest is gone), no second order for it
        row("p0", "E", 0, "executed", "106.25", "1.23", 0),
        row("h0", "F", 0, "expired", "300", "150", 0, V1="200", V2="100"),  # held half, lapsed: all answered for
    ]
    covers = coverage(orders)
    assert {a: (c.amount, c.next_seq, c.last_order, dict(c.by_victim)) for a, c in covers.items()} == {
        "A": (D("1200"), 2, "s1", {"V1": D("600"), "V2": D("300"), "V3": D("300")}),
        "B": (D("500"), 1, "m0", {"V1": D("500")}),
        "C": (D("400"), 1, "r0", {"V1": D("400")}),
        "E": (D("106.25"), 1, "p0", {"V1": D("106.25")}),
        "F": (D("300"), 1, "h0", {"V1": D("200"), "V2": D("100")}),
    }


@pytest.fixture
def held_chase(engine: Engine) -> str:
    first, second = transfer("VA", "M1", "1000", 0), transfer("VA", "M1", "2000", 30)
    store(engine, [first, second])
    view = funds.open_chase(engine, CITY, victim="PV", loss_transfers=[first.event_id], now=minutes(10))
    answer(engine, BANK_B, view.orders[0].order_id, "1000", 15)
    return view.chase_id


def test_api_adds_losses_and_retraces(engine: Engine, held_chase: str) -> None:
    client = TestClient(create_app(engine))
    headers = {"X-Aegis-User": "desk", "X-Aegis-Role": "city_centre"}
    second = transfer("VA", "M1", "2000", 30).event_id
    bad = client.post(f"/api/v1/funds/chases/{held_chase}/losses", json={"loss_transfers": []}, headers=headers)
    assert bad.status_code == 422 and "loss_transfers" in bad.text
    added = client.post(f"/api/v1/funds/chases/{held_chase}/losses", json={"loss_transfers": [second]},
                        headers=headers)
    assert added.status_code == 200 and [(o["seq"], D(o["requested"])) for o in added.json()] == [(1, D(2000))]
    again = client.post(f"/api/v1/funds/chases/{held_chase}/retrace", headers=headers)
    assert again.status_code == 200 and again.json() == []
    bank = {"X-Aegis-User": "duty", "X-Aegis-Role": "bank", "X-Aegis-Institution": "bank-B"}
    assert client.post(f"/api/v1/funds/chases/{held_chase}/retrace", headers=bank).status_code == 403


def test_cli_add_losses_and_retrace(held_chase: str, database_url: str) -> None:
    runner = CliRunner()
    second = transfer("VA", "M1", "2000", 30).event_id
    done = runner.invoke(funds_cli, ["add-losses", held_chase, second, "--db", database_url])
    assert done.exit_code == 0, done.output
    assert "2000" in done.output
    missing = runner.invoke(funds_cli, ["add-losses", held_chase, "no-such-transfer", "--db", database_url])
    assert missing.exit_code != 0 and "no-such-transfer" in missing.output
    assert runner.invoke(funds_cli, ["retrace", held_chase, "--db", database_url]).exit_code == 0


def test_moved_on_before_the_store_sees_the_money_leave_orders_it_no_second_time(engine: Engine) -> None:
    """The bank answers before its outgoing transfer reaches the store: the trace still sees the money in M1.
    Each "moved on" used to order the same 1,000 on M1 again (seq 1, 2, 3 ...)."""
    loss = transfer("VA", "M1", "1000", 0)
    store(engine, [loss])
    view = funds.open_chase(engine, CITY, victim="PV", loss_transfers=[loss.event_id], now=minutes(10))
    [stop] = view.orders
    funds.respond(engine, BANK_B, stop.order_id, "acknowledge", now=minutes(12))
    result = funds.respond(engine, BANK_B, stop.order_id, "moved_on", now=minutes(13))
    assert result.follow_ups == [] and [o.order_id for o in funds.list_orders(engine, CITY)] == [stop.order_id]
    # nor does a look again, by the centre or after another bank's answer: the bank has said it is gone
    assert funds.retrace(engine, CITY, view.chase_id, now=minutes(14)) == []
    assert [o.order_id for o in funds.list_orders(engine, CITY)] == [stop.order_id]
    # when the transfer that moved it arrives, a look again follows the money to the next account
    store(engine, [transfer("M1", "M2", "990", 11, banks="BC")])
    [follow] = funds.retrace(engine, CITY, view.chase_id, now=minutes(20))
    assert (follow.account, follow.requested) == ("M2", D("990.00"))
