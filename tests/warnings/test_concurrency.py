"""Writers at the same moment: one officer takes a warning, and a lead raced by several raisers counts once.

On PostgreSQL the use cases lock the warning's row; on SQLite every writing transaction holds the store's write
lock from its first statement (``aegis.store.begin_write``). Before that, SQLite let five of ten officers take
one warning and audited a lead three times.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Engine, func, select
from wdata import SYSTEM, T0, add_residents, request, station_actor

from aegis.actions.warnings import WorkflowError
from aegis.store.schema import audit_log
from aegis.store.schema_warnings import warning, warning_lead
from aegis.usecases import warnings as uc

AT_ONCE = 8


def _all_at_once(call: Callable[[int], Any]) -> list[Any]:
    """``call(i)`` from AT_ONCE threads released together; each result, or the exception it raised."""
    gate = threading.Barrier(AT_ONCE)

    def run(i: int) -> Any:
        gate.wait()
        try:
            return call(i)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(AT_ONCE) as pool:
        return list(pool.map(run, range(AT_ONCE)))


def _audited(engine: Engine, action: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(audit_log)
                                      .where(audit_log.c.action == action)).scalar_one())


def test_one_of_several_officers_taking_a_warning_at_once_gets_it(engine: Engine) -> None:
    add_residents(engine)
    uc.raise_warnings(engine, SYSTEM, [request(person="P1", lead="L0")], now=T0)
    [row] = uc.list_warnings(engine, SYSTEM)
    results = _all_at_once(lambda i: uc.take_warning(engine, station_actor("P1", f"officer{i}"),
                                                     row["warning_id"], now=T0))
    taken = [r for r in results if isinstance(r, dict)]
    assert len(taken) == 1, results
    assert all(isinstance(r, ValueError) for r in results if not isinstance(r, dict))
    assert _audited(engine, "warning.take") == 1
    assert uc.list_warnings(engine, SYSTEM)[0]["assigned_to"] == taken[0]["assigned_to"]


def test_a_lead_sent_by_several_raisers_at_once_is_taken_and_audited_once(engine: Engine) -> None:
    add_residents(engine)
    uc.raise_warnings(engine, SYSTEM, [request(person="P1", lead="L0")], now=T0)
    leads = [request(person="P1", lead=f"L{n}", p=0.5 + n / 100) for n in range(1, 6)]
    _all_at_once(lambda i: uc.raise_warnings(engine, SYSTEM, leads, now=T0))
    with engine.connect() as connection:
        count = connection.execute(select(warning.c.lead_count)).scalar_one()
        kept = connection.execute(select(func.count()).select_from(warning_lead)).scalar_one()
    assert (count, kept) == (6, 6)
    assert _audited(engine, "warning.update") == 5 and _audited(engine, "warning.raise") == 1


def test_a_contact_retried_with_its_request_id_is_recorded_once_even_when_sent_at_once(engine: Engine) -> None:
    add_residents(engine)
    uc.raise_warnings(engine, SYSTEM, [request(person="P1", lead="L0")], now=T0)
    [row] = uc.list_warnings(engine, SYSTEM)
    officer = station_actor("P1")
    uc.take_warning(engine, officer, row["warning_id"], now=T0)

    def attempt(request_id: str | None, result: str = "unreachable") -> Any:
        return uc.record_contact(engine, officer, row["warning_id"], channel="call", result=result,
                                 request_id=request_id, now=T0)

    results = _all_at_once(lambda i: attempt("att-1"))
    assert all(isinstance(r, dict) for r in results), results
    assert _audited(engine, "warning.contact") == 1
    attempt("att-1")  # a late retry
    assert _audited(engine, "warning.contact") == 1
    attempt("att-2")  # another attempt, and one without an id: each recorded
    attempt(None)
    try:  # an id sent again with another result is no retry: refused, not recorded as another attempt
        attempt("att-1", result="reached")
    except WorkflowError as exc:
        assert str(exc).startswith("request_id: att-1 was used for another contact")
    else:
        raise AssertionError("an id sent again with another result was taken")
    attempt("att-3", result="reached")
    assert _audited(engine, "warning.contact") == 4
    assert uc.list_warnings(engine, SYSTEM)[0]["status"] == "contacted"
    try:
        attempt("不是 id")
    except ValueError as exc:
        assert str(exc).startswith("request_id: must be 1 to 64")
    else:
        raise AssertionError("a request id with spaces was taken")
    with engine.connect() as connection:
        keys = connection.execute(select(audit_log.c.request_key).where(audit_log.c.action == "warning.contact")
                                  ).scalars().all()
    assert sum(k is not None for k in keys) == 3 and len(set(keys) - {None}) == 3
