"""Warnings and their dissuasion workflow, as pure functions over plain rows (no database here).

A warning lives through ``new -> assigned -> contacted -> closed`` (outcome: dissuaded, already defrauded or
false alarm; the first two only once a contact reached the person); a contact attempt that does not reach the
person sends it to ``locating`` (落地查找: an officer goes to find them). Until the person is reached, the
deadline of the level runs; when it is breached the warning climbs to the next tier's queue (station ->
district -> city) with that tier's deadline.

The use cases (``aegis.usecases.warnings``) read and write the rows; what may happen next is decided here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aegis.decisions.warning_policy import Policy, level_rank
from aegis.names import named
from aegis.reasons import Explained, Reason, as_reason, listing, loaded, stored

STATUSES = ("new", "assigned", "contacted", "locating", "closed")
OPEN_STATUSES = ("new", "assigned", "contacted", "locating")
#: statuses in which the contact deadline still runs (the person has not been reached)
UNREACHED = ("new", "assigned", "locating")
OUTCOMES = ("dissuaded", "already_defrauded", "false_alarm")
CONTACT_RESULTS = ("reached", "unreachable")
#: the outcomes that say what the person did, which only someone who reached them can know: they stopped
#: (dissuaded) or they had paid (already defrauded). Both are labels: they measure the warnings' precision and make
#: the warning's leads a victim's when the model is retrained, so they rest on a contact recorded as reached. A
#: false alarm needs none: it is found without the person too (the risky payee is their landlord, the lead a
#: mistaken match), and a warning whose person cannot be reached must still be closable.
NEEDS_REACHED = ("dissuaded", "already_defrauded")
MAX_REASONS = 8

#: (status, action) -> next status
TRANSITIONS: dict[tuple[str, str], str] = {
    ("new", "take"): "assigned",
    ("locating", "take"): "locating",
    ("assigned", "reached"): "contacted",
    ("assigned", "unreachable"): "locating",
    ("locating", "reached"): "contacted",
    ("locating", "unreachable"): "locating",
    ("assigned", "close"): "closed",
    ("contacted", "close"): "closed",
    ("locating", "close"): "closed",
}


class WorkflowError(Explained, ValueError):
    """A step that the workflow does not allow from the warning's current state (in the command's language)."""


def next_status(status: str, action: str, *, outcome: str | None = None) -> str:
    """The status after ``action`` (a contact's result for a contact; a close with its ``outcome``)."""
    try:
        after = TRANSITIONS[(status, action)]
    except KeyError:
        # said by the names the tables show (待接收, 办结), not the codes: a contact's results are one step there
        allowed = dict.fromkeys("contact" if a in CONTACT_RESULTS else a for s, a in sorted(TRANSITIONS) if s == status)
        shown = {"status": named(status), "action": named(action), "allowed": listing(map(named, allowed))}
        # a contact's result is a step too: "reached" reads as a verb only in its own phrase
        if action in CONTACT_RESULTS:
            reason = (Reason("status：预警处于{status}状态，不能记录联系结果{action}（可执行：{allowed}）", **shown)
                      if allowed else Reason("status：预警已办结，不能记录联系结果{action}", **shown))
        else:
            reason = (Reason("status：预警处于{status}状态，不能执行{action}（可执行：{allowed}）", **shown)
                      if allowed else Reason("status：预警已办结，不能执行{action}", **shown))
        raise WorkflowError(reason) from None
    # a warning is contacted from its first contact recorded as reached until it is closed (no other step leads
    # there or away), so its status says whether the person was reached
    if action == "close" and outcome in NEEDS_REACHED and status != "contacted":
        # said for the API and the command line alike: a contact whose result is reached, however it is sent
        raise WorkflowError(Reason("outcome：办结为{outcome}须先有一次联系到本人的记录（预警现为{status}）："
                                   "先记录结果为{reached}的联系，再结案", outcome=named(outcome), status=named(status),
                                   reached=named("reached")))
    return after


@dataclass(frozen=True)
class WarningRequest:
    """"Warn about this person for this fraud type": what the fusion decided at one lead."""

    person_id: str
    fraud_type: str
    probability: float
    level: str
    reasons: tuple[Reason, ...]
    lead_id: str
    time: datetime
    features: Mapping[str, float | None] | None = None
    """the fusion features at this lead, kept with the warning so that its outcome can label them"""
    given_by: str | None = None
    """who gave the lead when it is not Aegis's own fusion: the label of the user whose request it came from (a
    bank's gateway deciding a payment), shown in the warning's history as ``lead_given_by``"""


def open_key(person_id: str, fraud_type: str) -> str:
    return f"{person_id}|{fraud_type}"


def warning_id(person_id: str, fraud_type: str, first_lead_id: str) -> str:
    """Stable id: the same first lead about the same person and type always gives the same warning id."""
    digest = hashlib.blake2b(f"{person_id}\x1f{fraud_type}\x1f{first_lead_id}".encode(), digest_size=10)
    return f"wrn-{digest.hexdigest()}"


def new_warning(request: WarningRequest, policy: Policy, *, city: str | None, district: str, station: str,
                now: datetime) -> dict[str, Any]:
    """The row of a freshly raised warning, routed by level and fraud type."""
    dispatch = policy.dispatch(request.level, request.fraud_type)
    return {
        "warning_id": warning_id(request.person_id, request.fraud_type, request.lead_id),
        "person_id": request.person_id,
        "fraud_type": request.fraud_type,
        "open_key": open_key(request.person_id, request.fraud_type),
        "level": request.level,
        "probability": float(request.probability),
        "reasons": stored(request.reasons[:MAX_REASONS]),
        "status": "new",
        "city": city,
        "district": district,
        "station": station,
        "queue": dispatch.queue,
        "channel": dispatch.channel,
        "deadline": request.time + dispatch.deadline,
        "escalations": 0,
        "lead_count": 1,
        "last_lead_id": request.lead_id,
        "first_lead_at": request.time,
        "last_lead_at": request.time,
        "policy_version": policy.version,
        "created_at": now,
        "updated_at": now,
    }


def update_with_lead(row: dict[str, Any], request: WarningRequest, policy: Policy, now: datetime
                     ) -> dict[str, Any] | None:
    """Changes to an open warning for a new lead about the same person and type; None for a repeated lead.

    A more severe level re-routes the warning (channel, queue) and can only bring its deadline closer.
    """
    if request.lead_id == row["last_lead_id"]:
        return None
    changes: dict[str, Any] = {
        "probability": max(float(row["probability"]), float(request.probability)),
        "reasons": stored(_newest_first(request.reasons, loaded(row["reasons"]))),
        "lead_count": int(row["lead_count"]) + 1,
        "last_lead_id": request.lead_id,
        "last_lead_at": max(row["last_lead_at"], request.time),
        "updated_at": now,
    }
    if level_rank(request.level) < level_rank(row["level"]):
        dispatch = policy.dispatch(request.level, request.fraud_type)
        changes["level"] = request.level
        changes["channel"] = dispatch.channel
        if row["status"] in UNREACHED:
            higher = max(_tier(row["queue"]), _tier(dispatch.queue))
            changes["queue"] = _QUEUES[higher]
            changes["deadline"] = min(row["deadline"], request.time + dispatch.deadline)
    return changes


def _newest_first(new: Sequence[Reason | str], old: Sequence[Reason]) -> list[Reason]:
    """The new lead's reasons, then the older ones, each once, at most :data:`MAX_REASONS`. A reason that only
    counts or weighs (its values all numbers: "转账4笔") is kept in its newest count, not beside its older ones
    ("4笔", "3笔", "2笔"); one that names something (a phrase, a number called) is kept for each thing named."""
    kept: dict[Any, Reason] = {}
    for reason in map(as_reason, [*new, *old]):
        numbers_only = reason.args and all(isinstance(v, int | float) for v in reason.args.values())
        kept.setdefault(reason.msg if numbers_only else reason.text(), reason)
    return list(kept.values())[:MAX_REASONS]


_QUEUES = ("station", "district", "city")


def _tier(queue: str) -> int:
    return _QUEUES.index(queue)


def escalation(row: dict[str, Any], policy: Policy, now: datetime) -> dict[str, Any] | None:
    """Changes for a warning whose deadline passed before the person was reached; None if none is due.

    The warning moves to the next tier's queue, unassigned so that tier takes it (a warning still being located
    stays ``locating``, the others wait as ``new``); at the city centre it stays, with whoever holds it, and
    only its escalation count and deadline move, so an overdue urgent case keeps showing as overdue.
    """
    if row["status"] not in UNREACHED or row["deadline"] > now:
        return None
    upper = policy.next_queue(row["queue"])
    queue = upper or row["queue"]
    return {
        "queue": queue,
        "status": "new" if upper and row["status"] == "assigned" else row["status"],
        "assigned_to": None if upper else row.get("assigned_to"),
        "deadline": now + policy.escalation_deadline(queue),
        "escalations": int(row["escalations"]) + 1,
        "updated_at": now,
    }
