"""The warning workflow over a real store: dedupe, routing, jurisdiction, escalation, outcomes, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError
from wdata import CENTRE, RESIDENTS, SYSTEM, T0, add_residents, request, station_actor

from aegis.actions.warnings import OUTCOMES, WarningRequest, WorkflowError, new_warning, next_status
from aegis.decisions.warning_policy import load_policy
from aegis.reasons import render
from aegis.store.repositories import AuditLog
from aegis.store.schema_warnings import warning
from aegis.usecases import warnings as uc
from aegis.usecases.actor import Actor, PermissionDenied, Role


def test_one_open_warning_per_person_and_type_and_a_retry_changes_nothing(city: Engine) -> None:
    assert uc.raise_warnings(city, SYSTEM, [request()], now=T0)["opened"] == 1
    assert uc.raise_warnings(city, SYSTEM, [request()], now=T0) == {
        "opened": 0, "updated": 0, "unchanged": 1, "unknown_person": 0}
    counts = uc.raise_warnings(city, SYSTEM, [request(lead="lead-2", level="urgent", p=0.99)], now=T0)
    assert counts["updated"] == 1
    (row,) = uc.list_warnings(city, CENTRE)
    assert (row["lead_count"], row["level"], row["probability"], row["queue"]) == (2, "urgent", 0.99, "city")
    assert render(row["reasons"])[0] == "reason of lead-2"
    # another fraud type about the same person is another warning
    uc.raise_warnings(city, SYSTEM, [request(ftype="order_brushing")], now=T0)
    assert len(uc.list_warnings(city, CENTRE)) == 2


def test_the_database_refuses_a_second_open_warning(city: Engine) -> None:
    uc.raise_warnings(city, SYSTEM, [request()], now=T0)
    twin = new_warning(request(lead="other-first-lead"), load_policy(), city="厦门市", district="siming",
                       station="siming-zhonghua", now=T0)
    with pytest.raises(IntegrityError), city.begin() as connection:
        connection.execute(insert(warning).values(**twin))


@pytest.mark.parametrize(("level", "queue", "channel", "hours"), [
    ("urgent", "city", "visit", 0.5), ("high", "district", "visit", 6), ("medium", "station", "call", 24),
    ("low", "station", "sms", 24)])
def test_routing_by_level_and_fraud_type(city: Engine, level: str, queue: str, channel: str, hours: float) -> None:
    uc.raise_warnings(city, SYSTEM, [request(level=level)], now=T0)  # impersonate_police: shorter deadlines
    (row,) = uc.list_warnings(city, CENTRE)
    assert (row["queue"], row["channel"], row["station"]) == (queue, channel, "siming-zhonghua")
    assert row["deadline"] - T0 == timedelta(hours=hours)


def test_a_station_never_sees_or_touches_another_stations_warnings(city: Engine) -> None:
    uc.raise_warnings(city, SYSTEM, [request(person=p, lead=p) for p in RESIDENTS], now=T0)
    mine = uc.list_warnings(city, station_actor("P1"))
    assert [r["person_id"] for r in mine] == ["P1"]
    theirs = uc.list_warnings(city, station_actor("P2"))[0]["warning_id"]
    for attempt in (lambda: uc.get_warning(city, station_actor("P1"), theirs),
                    lambda: uc.take_warning(city, station_actor("P1"), theirs),
                    lambda: uc.close_warning(city, station_actor("P1"), theirs, outcome="false_alarm", note="房东")):
        with pytest.raises(LookupError):
            attempt()
    district = Actor("d1", Role.district_bureau, district="siming")
    assert sorted(r["person_id"] for r in uc.list_warnings(city, district)) == ["P1", "P2"]
    assert len(uc.list_warnings(city, CENTRE)) == 3
    with pytest.raises(PermissionDenied):
        uc.list_warnings(city, Actor("b", Role.bank, institution="厦门银行"))
    with pytest.raises(PermissionDenied):
        uc.raise_warnings(city, station_actor("P1"), [request()])


def test_an_officer_shown_warnings_is_in_the_audit_log_and_a_system_job_is_not(city: Engine) -> None:
    uc.raise_warnings(city, SYSTEM, [request(person=p, lead=p) for p in RESIDENTS], now=T0)
    log = AuditLog(city)
    before = len(log.entries())
    assert len(uc.list_warnings(city, SYSTEM)) == 3  # a job's reads are no person's
    assert uc.list_warnings(city, station_actor("P1", "o2"), level="high") == []  # nor is a list that showed none
    assert len(log.entries()) == before
    officer = station_actor("P1")
    wid = uc.list_warnings(city, officer, open_only=True)[0]["warning_id"]
    uc.get_warning(city, officer, wid)
    listed, read = log.entries()[before:]
    assert (listed["action"], listed["actor"], listed["subject_id"]) == ("warning.list", officer.label, "*")
    assert listed["details"]["ids"] == [wid] and listed["details"]["shown"] == 1
    assert listed["details"]["open_only"] is True
    assert (read["action"], read["subject_type"], read["subject_id"]) == ("warning.read", "warning", wid)
    assert render(read["reasons"], "en") == ["shown personal data"]
    # the warning's own history stays what was done about it, not who looked
    assert [h["action"] for h in uc.get_warning(city, officer, wid)["history"]] == ["warning.raise"]


def test_workflow_steps_outcome_and_audit(city: Engine) -> None:
    uc.raise_warnings(city, SYSTEM, [request()], now=T0)
    officer = station_actor("P1")
    wid = uc.list_warnings(city, officer)[0]["warning_id"]
    with pytest.raises(WorkflowError):
        uc.close_warning(city, officer, wid, outcome="dissuaded")  # must be taken first
    uc.take_warning(city, officer, wid)
    assert uc.record_contact(city, officer, wid, channel="call", result="unreachable")["status"] == "locating"
    assert uc.record_contact(city, officer, wid, channel="visit", result="reached")["status"] == "contacted"
    closed = uc.close_warning(city, officer, wid, outcome="dissuaded", note="说明了冒充公检法的套路")
    assert (closed["status"], closed["outcome"], closed["open_key"]) == ("closed", "dissuaded", None)
    with pytest.raises(ValueError, match="outcome"):
        uc.close_warning(city, officer, wid, outcome="maybe")
    history = uc.get_warning(city, officer, wid)["history"]
    assert [h["action"] for h in history] == ["warning.raise", "warning.take", "warning.contact",
                                              "warning.contact", "warning.close"]
    assert history[1]["actor"] == officer.label
    # closed: a new lead (after the close) opens a new warning
    after = datetime.now(UTC) + timedelta(minutes=1)
    assert uc.raise_warnings(city, SYSTEM, [request(lead="lead-9", at=after)], now=after)["opened"] == 1
    stats = uc.warning_stats(city, CENTRE)
    assert stats["overall"] == {"total": 2, "open": 1, "closed": 1, "precision": 1.0, "outcomes": {
        "dissuaded": 1, "already_defrauded": 0, "false_alarm": 0}}
    assert stats["by_level"]["medium"]["closed"] == 1


def test_overdue_warnings_climb_one_tier_at_a_time(city: Engine) -> None:
    uc.raise_warnings(city, SYSTEM, [request(level="medium"), request(person="P3", lead="x", level="medium")],
                      now=T0)
    officer = station_actor("P1")
    wid = uc.list_warnings(city, officer)[0]["warning_id"]
    uc.take_warning(city, officer, wid)
    later = T0 + timedelta(hours=25)  # medium impersonate_police: 24 h
    district = Actor("d1", Role.district_bureau, district="siming")
    moved = uc.escalate_overdue(city, district, now=later)
    assert [(m["warning_id"], m["queue"], m["status"], m["assigned_to"]) for m in moved] == [
        (wid, "district", "new", None)]
    assert uc.escalate_overdue(city, district, now=later) == []  # new deadline: 12 h at the district
    moved = uc.escalate_overdue(city, CENTRE, now=later + timedelta(hours=13))
    assert sorted((m["person_id"], m["queue"]) for m in moved) == [("P1", "city"), ("P3", "district")]
    with pytest.raises(PermissionDenied):
        uc.escalate_overdue(city, officer, now=later)
    entries = AuditLog(city).entries("warning", wid)
    assert [e["action"] for e in entries].count("warning.escalate") == 2
    # the reason reads in either language, the deadline in China time (T0 + 24 h = 10-06 17:00 CST)
    escalated = next(e for e in entries if e["action"] == "warning.escalate")
    assert render(escalated["reasons"], "en") == ["contact deadline 2026-10-06 17:00 passed"]
    # a reached person stops the clock
    uc.take_warning(city, CENTRE, wid)
    uc.record_contact(city, CENTRE, wid, channel="visit", result="reached")
    assert uc.escalate_overdue(city, CENTRE, now=later + timedelta(days=9)) == [] or all(
        m["warning_id"] != wid for m in uc.escalate_overdue(city, CENTRE, now=later + timedelta(days=9)))


def test_a_warning_escalated_while_locating_is_the_next_tiers_to_take(city: Engine) -> None:
    uc.raise_warnings(city, SYSTEM, [request(level="medium")], now=T0)
    officer = station_actor("P1")
    wid = uc.list_warnings(city, officer)[0]["warning_id"]
    uc.take_warning(city, officer, wid, now=T0)
    uc.record_contact(city, officer, wid, channel="call", result="unreachable", now=T0)
    district = Actor("d1", Role.district_bureau, district="siming")
    (moved,) = uc.escalate_overdue(city, district, now=T0 + timedelta(hours=25))
    assert (moved["queue"], moved["status"], moved["assigned_to"]) == ("district", "locating", None)
    taken = uc.take_warning(city, district, wid, now=T0 + timedelta(hours=26))
    assert (taken["status"], taken["assigned_to"]) == ("locating", district.label)
    with pytest.raises(WorkflowError, match="is taken by district_bureau:"):
        uc.take_warning(city, officer, wid, now=T0 + timedelta(hours=26))


def test_unknown_persons_are_counted_not_raised(city: Engine) -> None:
    assert uc.raise_warnings(city, SYSTEM, [request(person="P404")])["unknown_person"] == 1


def test_a_taken_warning_is_its_officers_and_a_tier_escalates_only_what_waits_at_or_below_it(city: Engine) -> None:
    uc.raise_warnings(city, SYSTEM, [request()], now=T0)
    mine, colleague = station_actor("P1", "s1"), station_actor("P1", "s2")
    wid = uc.list_warnings(city, mine)[0]["warning_id"]
    uc.take_warning(city, mine, wid, now=T0)
    for step in (lambda: uc.record_contact(city, colleague, wid, channel="call", result="reached", now=T0),
                 lambda: uc.close_warning(city, colleague, wid, outcome="false_alarm", note="房东", now=T0)):
        with pytest.raises(PermissionDenied, match=f"warning {wid}: it was taken by police_station:"):
            step()
    assert uc.get_warning(city, CENTRE, wid)["status"] == "assigned"
    uc.record_contact(city, mine, wid, channel="call", result="reached", now=T0)
    district = Actor("d1", Role.district_bureau, district="siming")
    uc.close_warning(city, district, wid, outcome="dissuaded", now=T0)  # a supervising tier may
    # an urgent warning waits in the city centre's queue: a district does not move it, the centre does
    uc.raise_warnings(city, SYSTEM, [request(person="P2", level="urgent", lead="u-1")], now=T0)
    later = T0 + timedelta(hours=1)
    assert uc.escalate_overdue(city, district, now=later) == []
    assert [m["person_id"] for m in uc.escalate_overdue(city, CENTRE, now=later)] == ["P2"]


def test_a_lead_that_says_what_the_warning_says_adds_no_second_reason(city: Engine) -> None:
    from aegis.reasons import Reason

    first = request()
    uc.raise_warnings(city, SYSTEM, [first], now=T0)
    # the same text from values that do not show (a float rounded away in the message)
    again = WarningRequest("P1", "impersonate_police", 0.9, "medium",
                           (Reason("转账{amount:.0f}元", amount=800.2), Reason("转账{amount:.0f}元", amount=800.4),
                            Reason("reason of lead-1")), "lead-2", T0)
    uc.raise_warnings(city, SYSTEM, [again], now=T0)
    (row,) = uc.list_warnings(city, CENTRE)
    assert render(row["reasons"]) == ["转账800元", "reason of lead-1"]


def test_a_count_that_grows_is_shown_once_in_its_newest_value_and_named_things_each(city: Engine) -> None:
    from aegis.reasons import Reason

    def lead(n: int, lead_id: str, phrase: str) -> WarningRequest:
        return WarningRequest("P1", "impersonate_police", 0.9, "medium",
                              (Reason("接触风险号码后首次向新收款人转账{n}笔", n=n),
                               Reason("短信内容：含'{p}'", p=phrase)),
                              lead_id, T0)

    for n, phrase in ((2, "安全账户"), (3, "公安局"), (4, "安全账户")):
        uc.raise_warnings(city, SYSTEM, [lead(n, f"lead-{n}", phrase)], now=T0)
    (row,) = uc.list_warnings(city, CENTRE)
    assert render(row["reasons"]) == ["接触风险号码后首次向新收款人转账4笔", "短信内容：含'安全账户'",
                                      "短信内容：含'公安局'"]


def test_a_refused_contact_step_reads_as_a_sentence(city: Engine) -> None:
    uc.raise_warnings(city, SYSTEM, [request()], now=T0)
    wid = uc.list_warnings(city, CENTRE)[0]["warning_id"]
    with pytest.raises(WorkflowError, match="cannot record a contact as reached on a warning that is new"):
        uc.record_contact(city, station_actor("P1"), wid, channel="call", result="reached", now=T0)


def test_notes_and_reasons_are_kept_as_a_person_can_read_them(engine: Engine) -> None:
    add_residents(engine)
    uc.raise_warnings(engine, SYSTEM, [request(person="P1", lead="L0")], now=T0)
    [row] = uc.list_warnings(engine, SYSTEM)
    officer = station_actor("P1")
    uc.take_warning(engine, officer, row["warning_id"], now=T0)
    with pytest.raises(ValueError, match="note: must not contain a NUL character"):
        uc.record_contact(engine, officer, row["warning_id"], channel="call", result="reached", note="a\x00b", now=T0)
    with pytest.raises(ValueError, match="note: at most 500 characters"):
        uc.record_contact(engine, officer, row["warning_id"], channel="call", result="reached", note="长" * 501,
                          now=T0)
    # nor an escape sequence, which recoloured or hid what the auditor's terminal showed: refused, nothing recorded
    with pytest.raises(ValueError, match=r"note: must not contain control or invisible characters \(U\+001B at"):
        uc.record_contact(engine, officer, row["warning_id"], channel="call", result="reached",
                          note="a\x1b[31mred\x07", now=T0)
    assert uc.get_warning(engine, officer, row["warning_id"])["status"] == "assigned"
    uc.record_contact(engine, officer, row["warning_id"], channel="call", result="reached", now=T0)
    uc.close_warning(engine, officer, row["warning_id"], outcome="dissuaded", note="  ", now=T0)
    # without a note a step still says what happened, in either language
    steps = {e["action"]: e["reasons"] for e in AuditLog(engine).entries("warning", row["warning_id"])}
    assert render(steps["warning.contact"]) == ["电话：已联系上"]
    assert render(steps["warning.close"], "en") == ["closed: dissuaded"]


def test_only_an_outcome_about_what_the_person_did_needs_them_reached() -> None:
    for status in ("assigned", "locating"):
        assert next_status(status, "close", outcome="false_alarm") == "closed"
        for outcome, said in (("dissuaded", "dissuaded"), ("already_defrauded", "already defrauded")):
            with pytest.raises(WorkflowError, match=f"^outcome: {said} needs a contact that reached the person "
                                                    f"first \\(the warning is {status}\\)"):
                next_status(status, "close", outcome=outcome)
    assert all(next_status("contacted", "close", outcome=o) == "closed" for o in OUTCOMES)
    # a warning nobody has taken is told so first, whatever the outcome
    with pytest.raises(WorkflowError, match=r"^status: cannot close a warning that is new"):
        next_status("new", "close", outcome="dissuaded")


def test_a_warning_is_closed_dissuaded_only_once_a_contact_reached_the_person(city: Engine) -> None:
    uc.raise_warnings(city, SYSTEM, [request(person=p, lead=p) for p in ("P1", "P2")], now=T0)
    officer, wid = station_actor("P1"), uc.list_warnings(city, station_actor("P1"))[0]["warning_id"]
    uc.take_warning(city, officer, wid, now=T0)
    for outcome, said in (("dissuaded", "dissuaded"), ("already_defrauded", "already defrauded")):
        with pytest.raises(WorkflowError, match=f"outcome: {said} needs a contact that reached the person first "
                                                "\\(the warning is assigned\\): record a contact with the result "
                                                "reached"):
            uc.close_warning(city, officer, wid, outcome=outcome, now=T0)
    uc.record_contact(city, officer, wid, channel="call", result="unreachable", now=T0)
    with pytest.raises(WorkflowError, match="the warning is locating"):  # an attempt that failed reached no one
        uc.close_warning(city, officer, wid, outcome="dissuaded", now=T0)
    # neither may a supervising tier, which may close others' warnings
    with pytest.raises(WorkflowError, match="outcome: dissuaded needs a contact"):
        uc.close_warning(city, CENTRE, wid, outcome="dissuaded", now=T0)
    uc.record_contact(city, officer, wid, channel="visit", result="reached", now=T0)
    closed = uc.close_warning(city, officer, wid, outcome="dissuaded", now=T0)
    assert (closed["status"], closed["outcome"]) == ("closed", "dissuaded")
    history = [h["action"] for h in uc.get_warning(city, officer, wid)["history"]]
    assert history == ["warning.raise", "warning.take", "warning.contact", "warning.contact", "warning.close"]
    # a false alarm needs no one reached: the city centre takes one and closes it so
    other = uc.list_warnings(city, station_actor("P2"))[0]["warning_id"]
    uc.take_warning(city, CENTRE, other, now=T0)
    assert uc.close_warning(city, CENTRE, other, outcome="false_alarm", note="收款人是其房东", now=T0)["outcome"] == (
        "false_alarm")


def test_a_retried_take_or_close_answers_with_the_warning_and_records_nothing_again(engine: Engine) -> None:
    add_residents(engine)
    uc.raise_warnings(engine, SYSTEM, [request(person="P1", lead="L0")], now=T0)
    [row] = uc.list_warnings(engine, SYSTEM)
    officer, wid = station_actor("P1"), row["warning_id"]
    first = uc.take_warning(engine, officer, wid, now=T0)
    assert uc.take_warning(engine, officer, wid, now=T0 + timedelta(minutes=1)) == first
    with pytest.raises(WorkflowError, match=f"warning {wid} is taken by {officer.label}"):  # no retry, and told why
        uc.take_warning(engine, station_actor("P1", "other"), wid, now=T0)
    uc.record_contact(engine, officer, wid, channel="call", result="reached", now=T0)
    # the officer who holds it, taking it again after a call, is answered with it as it stands (not "taken by" them)
    again = uc.take_warning(engine, officer, wid, now=T0 + timedelta(minutes=2))
    assert (again["status"], again["assigned_to"]) == ("contacted", officer.label)
    closed = uc.close_warning(engine, officer, wid, outcome="dissuaded", now=T0)
    assert uc.close_warning(engine, officer, wid, outcome="dissuaded", now=T0 + timedelta(hours=1)) == closed
    with pytest.raises(WorkflowError):  # a closed warning is not closed again otherwise
        uc.close_warning(engine, officer, wid, outcome="false_alarm", note="房东", now=T0)
    # nor by a supervisor who did not close it, with the same outcome: that is no retry of theirs, and they are told
    supervisor = Actor("d1", Role.district_bureau, district=row["district"])
    with pytest.raises(WorkflowError, match="a warning that is closed"):
        uc.close_warning(engine, supervisor, wid, outcome="dissuaded", now=T0)
    actions = [e["action"] for e in AuditLog(engine).entries("warning", wid)]
    assert actions.count("warning.take") == 1 and actions.count("warning.close") == 1


def test_a_lead_from_before_a_warning_was_closed_opens_no_new_one(engine: Engine) -> None:
    add_residents(engine)
    uc.raise_warnings(engine, SYSTEM, [request(person="P1", lead="L0", at=T0)], now=T0)
    [row] = uc.list_warnings(engine, SYSTEM)
    officer = station_actor("P1")
    uc.take_warning(engine, officer, row["warning_id"], now=T0)
    uc.record_contact(engine, officer, row["warning_id"], channel="call", result="reached", now=T0)
    closed_at = T0 + timedelta(hours=1)
    uc.close_warning(engine, officer, row["warning_id"], outcome="dissuaded", now=closed_at)
    # a payment decided a minute before the close, told to the warnings after it: the outcome answers for it
    late = uc.raise_warnings(engine, SYSTEM, [request(person="P1", lead="L1", at=closed_at - timedelta(minutes=1))],
                             now=closed_at + timedelta(minutes=1))
    assert late["unchanged"] == 1 and len(uc.list_warnings(engine, SYSTEM)) == 1
    # what happens after the close is news again
    later = uc.raise_warnings(engine, SYSTEM, [request(person="P1", lead="L2", at=closed_at + timedelta(days=1))],
                              now=closed_at + timedelta(days=1))
    assert later["opened"] == 1 and len(uc.list_warnings(engine, SYSTEM)) == 2


def test_a_colleague_of_the_same_tier_does_not_write_another_officers_outcome(city: Engine) -> None:
    """District and centre colleagues contacted and closed a warning another officer of their tier held (the black-box
    audit): the outcome they write is the label the models learn from. As between stations, only a higher tier may."""
    uc.raise_warnings(city, SYSTEM, [request()], now=T0)
    wid = uc.list_warnings(city, station_actor("P1"))[0]["warning_id"]
    district = uc.get_warning(city, CENTRE, wid)["district"]
    holder, colleague = (Actor(u, Role.district_bureau, district=district) for u in ("d1", "d2"))
    uc.take_warning(city, holder, wid, now=T0)
    for step in (lambda: uc.record_contact(city, colleague, wid, channel="call", result="reached", now=T0),
                 lambda: uc.close_warning(city, colleague, wid, outcome="false_alarm", note="房东", now=T0)):
        with pytest.raises(PermissionDenied, match=f"it was taken by {holder.label}"):
            step()
    below = station_actor("P1")  # a lower tier neither
    with pytest.raises(PermissionDenied):
        uc.record_contact(city, below, wid, channel="call", result="reached", now=T0)
    uc.record_contact(city, holder, wid, channel="call", result="reached", now=T0)
    assert uc.close_warning(city, CENTRE, wid, outcome="dissuaded", now=T0)["status"] == "closed"  # a supervisor
    # between two of the centre's officers alike
    uc.raise_warnings(city, SYSTEM, [request(person="P2", level="urgent", lead="u-1")], now=T0)
    urgent = next(w["warning_id"] for w in uc.list_warnings(city, CENTRE) if w["person_id"] == "P2")
    uc.take_warning(city, CENTRE, urgent, now=T0)
    with pytest.raises(PermissionDenied, match=f"it was taken by {CENTRE.label}"):
        uc.record_contact(city, Actor("c2", Role.city_centre), urgent, channel="visit", result="reached", now=T0)


def test_a_close_retried_with_another_note_is_refused_not_dropped(engine: Engine) -> None:
    add_residents(engine)
    uc.raise_warnings(engine, SYSTEM, [request(person="P1", lead="L0")], now=T0)
    officer, wid = station_actor("P1"), uc.list_warnings(engine, SYSTEM)[0]["warning_id"]
    uc.take_warning(engine, officer, wid, now=T0)
    closed = uc.close_warning(engine, officer, wid, outcome="false_alarm", note="本人在场", now=T0)
    assert uc.close_warning(engine, officer, wid, outcome="false_alarm", note="本人在场", now=T0) == closed
    with pytest.raises(WorkflowError, match="a warning that is closed"):
        uc.close_warning(engine, officer, wid, outcome="false_alarm", note="另有说明", now=T0)
    notes = [render(e["reasons"], "zh") for e in AuditLog(engine).entries("warning", wid)
             if e["action"] == "warning.close"]
    assert notes == [["办结：误报", "本人在场"]]


def _three_by_severity(city: Engine) -> list[str]:
    """Urgent P1 due first, medium P2 due next, urgent P3 due last (its lead came two days later): most severe
    first, P3 comes before P2 although P2 is due sooner. Their ids in that order."""
    uc.raise_warnings(city, SYSTEM, [request(person="P1", lead="a", level="urgent"),
                                     request(person="P2", lead="b", level="medium"),
                                     request(person="P3", lead="c", level="urgent", at=T0 + timedelta(days=2))],
                      now=T0)
    everyone = {w["person_id"]: w["warning_id"] for w in uc.list_warnings(city, SYSTEM)}
    return [everyone[p] for p in ("P1", "P3", "P2")]


def test_a_capped_list_keeps_the_most_severe_and_pages_reach_every_warning(city: Engine) -> None:
    """A list cut to its limit by deadline, then sorted by level, showed urgent P1 and medium P2 and left urgent P3
    out (the black-box audit); the order is now the query's, before the limit, and an offset reaches the rest."""
    ordered = _three_by_severity(city)
    deadlines = {w["warning_id"]: w["deadline"] for w in uc.list_warnings(city, SYSTEM)}
    assert deadlines[ordered[2]] < deadlines[ordered[1]]  # the medium one is due before the second urgent one
    assert [w["warning_id"] for w in uc.list_warnings(city, CENTRE, open_only=True, limit=2)] == ordered[:2]
    pages = [[w["warning_id"] for w in uc.list_warnings(city, CENTRE, limit=1, offset=at)] for at in range(4)]
    assert pages == [[ordered[0]], [ordered[1]], [ordered[2]], []]
    assert uc.count_warnings(city, CENTRE) == 3 and uc.count_warnings(city, CENTRE, level="urgent") == 2
    assert uc.count_warnings(city, station_actor("P1")) == 1
    # each page's read names the warnings it showed, and where the page began
    reads = [e for e in AuditLog(city).entries() if e["action"] == "warning.list"]
    assert [e["details"]["ids"] for e in reads[-3:]] == [[ordered[0]], [ordered[1]], [ordered[2]]]
    assert [e["details"]["offset"] for e in reads[-3:]] == [0, 1, 2]
    for bad, field in (({"offset": -1}, "offset"), ({"limit": 0}, "limit"), ({"limit": 1001}, "limit")):
        with pytest.raises(uc.WarningsError, match=f"^{field}: "):
            uc.list_warnings(city, CENTRE, **bad)  # type: ignore[arg-type]


def test_a_request_id_sent_again_with_other_terms_is_refused_and_an_exact_retry_records_nothing(city: Engine) -> None:
    """{"channel": "call", "result": "unreachable", "request_id": "r-1"} then {"channel": "visit", "result":
    "reached", "request_id": "r-1"} recorded two attempts under one id (the black-box audit)."""
    uc.raise_warnings(city, SYSTEM, [request()], now=T0)
    officer = station_actor("P1")
    wid = uc.list_warnings(city, officer)[0]["warning_id"]
    uc.take_warning(city, officer, wid, now=T0)
    first = uc.record_contact(city, officer, wid, channel="call", result="unreachable", request_id="r-1", now=T0)
    for other in ({"channel": "visit", "result": "reached"}, {"channel": "call", "result": "reached"},
                  {"channel": "call", "result": "unreachable", "note": "另有说明"}):
        with pytest.raises(WorkflowError, match="^request_id: r-1 was used for another contact "
                                                r"\(call: unreachable\); a retry repeats its request exactly"):
            uc.record_contact(city, officer, wid, request_id="r-1", now=T0, **other)
    assert uc.record_contact(city, officer, wid, channel="call", result="unreachable", request_id="r-1",
                             now=T0 + timedelta(minutes=1)) == first
    contacts = [e for e in AuditLog(city).entries("warning", wid) if e["action"] == "warning.contact"]
    assert [(e["details"]["channel"], e["details"]["result"]) for e in contacts] == [("call", "unreachable")]
    # a new id is a new attempt
    assert uc.record_contact(city, officer, wid, channel="visit", result="reached", request_id="r-2",
                             now=T0)["status"] == "contacted"
    assert uc.get_warning(city, officer, wid)["status"] == "contacted"


def test_a_false_alarm_is_closed_only_with_a_note_saying_why(city: Engine) -> None:
    """A warning could be closed as a false alarm with no note (the black-box audit), and its leads then teach the
    model what is normal with nothing to check the label by. Blank is no note; the other outcomes need none."""
    uc.raise_warnings(city, SYSTEM, [request(person=p, lead=p) for p in ("P1", "P2")], now=T0)
    officer = station_actor("P1")
    wid = uc.list_warnings(city, officer)[0]["warning_id"]
    uc.take_warning(city, officer, wid, now=T0)
    for blank in ("", "   \n"):
        with pytest.raises(ValueError, match=r"^note: closing as false alarm needs a note saying why \(its leads"):
            uc.close_warning(city, officer, wid, outcome="false_alarm", note=blank, now=T0)
    assert uc.get_warning(city, officer, wid)["status"] == "assigned"  # nothing recorded
    closed = uc.close_warning(city, officer, wid, outcome="false_alarm", note="收款人是其房东", now=T0)
    assert (closed["status"], closed["outcome"]) == ("closed", "false_alarm")
    steps = {e["action"]: e["reasons"] for e in AuditLog(city).entries("warning", wid)}
    assert render(steps["warning.close"]) == ["办结：误报", "收款人是其房东"]
    other = station_actor("P2")
    theirs = uc.list_warnings(city, other)[0]["warning_id"]
    uc.take_warning(city, other, theirs, now=T0)
    uc.record_contact(city, other, theirs, channel="call", result="reached", now=T0)
    assert uc.close_warning(city, other, theirs, outcome="dissuaded", now=T0)["outcome"] == "dissuaded"


def test_a_lead_that_re_routes_a_warning_says_in_its_audit_entry_where_it_waited_and_until_when(city: Engine) -> None:
    """A bank's held payment (a more severe lead, given from outside) moved a warning's level, queue and deadline, and
    its ``warning.update`` entry kept only the new level (the black-box audit): the history could not say where
    the warning had waited."""
    from dataclasses import replace

    uc.raise_warnings(city, SYSTEM, [request(level="medium")], now=T0)
    (before,) = uc.list_warnings(city, SYSTEM)
    held = replace(request(lead="bank-hold-1", level="urgent", p=0.97, at=T0 + timedelta(hours=1)),
                   given_by="bank:xm-bank/gw")
    assert uc.raise_warnings(city, SYSTEM, [held], now=T0 + timedelta(hours=1))["updated"] == 1
    (after,) = uc.list_warnings(city, SYSTEM)
    assert (before["queue"], after["queue"]) == ("station", "city") and after["deadline"] < before["deadline"]
    entry = [e for e in AuditLog(city).entries("warning", after["warning_id"]) if e["action"] == "warning.update"][-1]
    details = entry["details"]
    assert (details["from_level"], details["level"]) == ("medium", "urgent")
    assert (details["from_queue"], details["to_queue"]) == ("station", "city")
    assert (details["from_deadline"], details["deadline"]) == (before["deadline"].isoformat(),
                                                               after["deadline"].isoformat())
    assert details["lead_given_by"] == "bank:xm-bank/gw" and details["lead_id"] == "bank-hold-1"
    # a lead that only adds to the warning says so too: nothing moved
    uc.raise_warnings(city, SYSTEM, [request(lead="lead-3", level="low", at=T0 + timedelta(hours=2))],
                      now=T0 + timedelta(hours=2))
    quiet = [e for e in AuditLog(city).entries("warning", after["warning_id"]) if e["action"] == "warning.update"][-1]
    assert quiet["details"]["from_queue"] == quiet["details"]["to_queue"] == "city"
    assert quiet["details"]["from_deadline"] == quiet["details"]["deadline"] == after["deadline"].isoformat()
