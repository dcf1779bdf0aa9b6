"""What the log's entries are about: a closed set of kinds, each named, which a reader filters on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from aegis.api.app import create_app
from aegis.cli.main import app as cli
from aegis.names import SUBJECT_NAMES
from aegis.store import AuditLog
from aegis.store.schema import audit_log

CENTRE = {"X-Aegis-User": "c1", "X-Aegis-Role": "city_centre"}


def test_every_kind_of_subject_has_a_name_in_both_languages() -> None:
    for kind, name in SUBJECT_NAMES.items():
        assert name.text("zh") != kind and name.text("en") != name.text("zh"), kind


def test_the_log_refuses_an_entry_about_a_kind_it_does_not_know_and_keeps_the_batch_whole(engine: Engine) -> None:
    log = AuditLog(engine)
    with pytest.raises(ValueError, match="chase"):
        log.append_many([
            {"actor": "system", "action": "warning.raise", "subject_type": "warning", "subject_id": "wrn-1"},
            {"actor": "system", "action": "chase.read", "subject_type": "chase", "subject_id": "CH-1"},
        ])
    assert log.entries() == []


def test_a_mistyped_kind_is_told_not_answered_with_an_empty_log(engine: Engine) -> None:
    AuditLog(engine).append(actor="system", action="warning.raise", subject_type="warning", subject_id="wrn-1")
    client = TestClient(create_app(engine))
    told = client.get("/api/v1/audit", params={"subject_type": "warnings"}, headers=CENTRE)
    assert told.status_code == 422 and "subject_type" in told.text and "warnings" in told.text
    assert "fund_chase" in told.text  # the kinds it may be
    found = client.get("/api/v1/audit", params={"subject_type": "warning"}, headers=CENTRE).json()
    assert [e["subject_id"] for e in found] == ["wrn-1"]
    # an empty kind is no filter, as an empty subject id is: the whole log (its reads since among it)
    unfiltered = client.get("/api/v1/audit", params={"subject_type": ""}, headers=CENTRE)
    assert unfiltered.status_code == 200 and "wrn-1" in [e["subject_id"] for e in unfiltered.json()]
    url = engine.url.render_as_string(hide_password=False)
    refused = CliRunner().invoke(cli, ["audit", "--user", "c", "--role", "city_centre", "--db", url,
                                       "--subject-type", "order"])
    assert refused.exit_code != 0 and "--subject-type" in refused.stderr and "fund_order" in refused.stderr
    assert "Traceback" not in refused.output


def test_a_chase_read_by_an_officer_is_found_with_what_was_done_to_it(engine: Engine) -> None:
    """Earlier versions logged a chase's reads under another kind (``chase``) than its writes (``fund_chase``),
    so an auditor asking after one chase missed who looked at it; those entries are found under today's kind."""
    with engine.begin() as connection:  # as an earlier version wrote it: the log keeps what it was given
        connection.execute(audit_log.insert(), [{
            "at": datetime.now(UTC), "actor": "city_centre/c0",
            "action": "chase.read", "subject_type": "chase", "subject_id": "CH-old", "reasons": [], "details": {},
        }])
    AuditLog(engine).append(actor="city_centre/c1", action="chase.open", subject_type="fund_chase",
                            subject_id="CH-old")
    client = TestClient(create_app(engine))
    found = client.get("/api/v1/audit", params={"subject_type": "fund_chase", "subject_id": "CH-old"},
                       headers=CENTRE).json()
    assert [e["action"] for e in found] == ["chase.open", "chase.read"]


def test_the_cli_names_the_kinds_it_filters_on() -> None:
    said = CliRunner().invoke(cli, ["audit", "--help"], terminal_width=400).stdout
    assert all(kind in said for kind in SUBJECT_NAMES), said
