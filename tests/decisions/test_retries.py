"""Retries of one decision request at the same moment: one answer, given to every try, and one audit entry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, func, select

from aegis.store import RiskProfileRepository
from aegis.store.schema import audit_log, decision_reply
from aegis.usecases.actor import Actor, Role
from aegis.usecases.decisions import Decider, TransferIn

AT_ONCE = 8


def test_tries_of_one_request_at_once_get_one_answer_and_one_entry(engine: Engine) -> None:
    """A gateway that times out and retries while the first try is still being decided: every try is answered as
    the first one stored was, and the log holds one block."""
    RiskProfileRepository(engine).upsert_many("account", [
        {"entity_id": "6222000000000888", "score": 0.96, "label": "1", "reasons": []}], model="test")
    gate = threading.Barrier(AT_ONCE)
    bank = Actor("gw", Role.bank, institution="工商银行")
    pay = TransferIn(payer_account="6212000000000010", payee_account="6222000000000888", amount="450",
                     request_id="pay-once")

    def try_once(_: int) -> dict:
        gate.wait()
        return Decider(engine, bank).transfer([pay])[0].model_dump()

    with ThreadPoolExecutor(AT_ONCE) as pool:
        answers = list(pool.map(try_once, range(AT_ONCE)))
    assert answers[0]["action"] == "block"
    assert all(a == answers[0] for a in answers)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(audit_log)).scalar_one() == 1
        assert connection.execute(select(func.count()).select_from(decision_reply)).scalar_one() == 1


def test_a_what_if_run_neither_reads_nor_keeps_answers(engine: Engine) -> None:
    """A policy tried on past requests decides each afresh (its point is the new answer) and stores nothing."""
    RiskProfileRepository(engine).upsert_many("account", [
        {"entity_id": "6222000000000999", "score": 0.96, "label": "1", "reasons": []}], model="test")
    bank = Actor("gw", Role.bank, institution="工商银行")
    pay = TransferIn(payer_account="6212000000000011", payee_account="6222000000000999", amount="450",
                     request_id="pay-what-if")
    assert Decider(engine, bank).transfer([pay])[0].action.value == "block"
    RiskProfileRepository(engine).upsert_many("account", [
        {"entity_id": "6222000000000999", "score": 0.01, "label": "0", "reasons": []}], model="test")
    assert Decider(engine, bank, record=False).transfer([pay])[0].action.value == "pass"
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(decision_reply)).scalar_one() == 1
