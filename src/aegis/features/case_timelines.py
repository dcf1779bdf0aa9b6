"""How fast each fraud type takes the money: case timelines from citizens' reports and the events they name.

A report (警情) names the numbers, accounts and links the fraud used. The victim's *first contact* is their
earliest call or SMS with one of those numbers, or visit to one of those links; the *first loss* is their
earliest transfer to one of those accounts (both before the report). Their difference is the case's
contact-to-loss time, and a low quantile of it per fraud type, the type's **pace**, says how soon dissuasion
must reach a person for the warning to come in time: minutes for impersonated police, weeks for
pig-butchering. The warning policy (:mod:`aegis.decisions.warning_policy`) reads the pace table.

Pure (data frames in, data frames out), so the store, a simulated city and a distributed job compute it alike.

>>> t = pd.Timestamp("2026-10-01 08:00", tz="UTC")
>>> reports = pd.DataFrame({"victim_id": ["p1"], "time": [t + pd.Timedelta(days=2)],
...                         "fraud_type": ["impersonate_police"], "numbers": [["s1"]], "accounts": [["m1"]]})
>>> calls = pd.DataFrame({"caller": ["s1"], "callee": ["n1"], "start": [t]})
>>> transfers = pd.DataFrame({"payer_account": ["a1"], "payee_account": ["m1"],
...                           "time": [t + pd.Timedelta(hours=3)]})
>>> owners = pd.Series({"n1": "p1"}), pd.Series({"a1": "p1"})
>>> case_timelines(reports, owners, calls=calls, transfers=transfers, horizon_h=0)["hours"].tolist()
[3.0]
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from aegis.features.number_profile import canonical_numbers

HORIZON_H = 7 * 24.0
"""cases are measured only once the events have run this long (see :func:`case_timelines`)"""
TIMELINE_COLUMNS = ("case", "victim_id", "fraud_type", "first_contact", "first_loss", "hours")


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).astype("datetime64[ns, UTC]")


def _named(reports: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per (case, entity named in ``column``), with the victim and the report time."""
    if column not in reports:
        return pd.DataFrame(columns=["case", "victim_id", "report_time", "entity"])
    named = reports[["victim_id", "time", column]].rename(columns={"time": "report_time", column: "entity"})
    named = named.assign(case=np.arange(len(reports))).explode("entity").dropna(subset=["entity"])
    return named.astype({"entity": str})


def _earliest(named: pd.DataFrame, touches: pd.DataFrame) -> pd.Series:
    """Per case, the earliest time the victim touched one of its named entities before the report.

    ``touches`` has ``person_id, entity, time``: who touched what, when.
    """
    if named.empty or touches.empty:
        return pd.Series(dtype="datetime64[ns, UTC]")
    hits = named.merge(touches, left_on=["victim_id", "entity"], right_on=["person_id", "entity"])
    hits = hits[hits["time"] <= hits["report_time"]]
    return hits.groupby("case")["time"].min()


def _owned(ids: pd.Series, owner: pd.Series) -> pd.Series:
    return ids.astype(str).map(owner)


def case_timelines(
    reports: pd.DataFrame,
    owners: tuple[pd.Series, pd.Series],
    *,
    calls: pd.DataFrame | None = None,
    sms: pd.DataFrame | None = None,
    url_visits: pd.DataFrame | None = None,
    transfers: pd.DataFrame | None = None,
    observed_from: pd.Timestamp | None = None,
    horizon_h: float = HORIZON_H,
) -> pd.DataFrame:
    """One row per report whose first contact and first loss are both found (columns :data:`TIMELINE_COLUMNS`).

    ``owners`` is (number -> person, account -> person). Event frames carry the record field names
    (``caller, callee, start``; ``sender, receiver, time``; ``person_id, url, time``;
    ``payer_account, payee_account, time``); any may be None.

    The events begin at ``observed_from`` (default: the earliest contact event). A scam that began before
    then shows a later contact as its first and looks faster than it was, so cases that lost money within
    ``horizon_h`` of that start are left out: a time up to the horizon is then measured whole, and the fast
    end of each type (what the pace is) is not biased while it lies within the horizon.
    """
    number_owner, account_owner = owners
    reports = reports.reset_index(drop=True).assign(time=lambda r: _utc(r["time"]))
    contacts: list[pd.DataFrame] = []
    for frame, a, b, when in ((calls, "caller", "callee", "start"), (sms, "sender", "receiver", "time")):
        if frame is None or frame.empty:
            continue
        at = _utc(frame[when])
        numbers = {side: canonical_numbers(frame[side].astype(str)) for side in (a, b)}
        for mine, theirs in ((a, b), (b, a)):  # either end may be the victim
            contacts.append(pd.DataFrame({"person_id": _owned(numbers[mine], number_owner),
                                          "entity": numbers[theirs], "time": at}))
    if url_visits is not None and not url_visits.empty:
        contacts.append(pd.DataFrame({"person_id": url_visits["person_id"], "entity": url_visits["url"].astype(str),
                                      "time": _utc(url_visits["time"])}))
    touched = pd.concat(contacts, ignore_index=True).dropna(subset=["person_id"]) if contacts else pd.DataFrame()
    numbers = _named(reports, "numbers")  # a report's numbers as the calls' and SMS' are: canonical
    named = pd.concat([numbers.assign(entity=canonical_numbers(numbers["entity"])), _named(reports, "urls")],
                      ignore_index=True)
    first_contact = _earliest(named, touched)

    paid = pd.DataFrame()
    if transfers is not None and not transfers.empty:
        paid = pd.DataFrame({"person_id": _owned(transfers["payer_account"], account_owner),
                             "entity": transfers["payee_account"].astype(str),
                             "time": _utc(transfers["time"])}).dropna(subset=["person_id"])
    first_loss = _earliest(_named(reports, "accounts"), paid)

    out = reports[["victim_id", "fraud_type"]].assign(
        case=np.arange(len(reports)), first_contact=first_contact, first_loss=first_loss
    ).dropna(subset=["first_contact", "first_loss"])
    out = out[out["first_loss"] >= out["first_contact"]]
    if observed_from is None and len(touched):
        observed_from = touched["time"].min()
    if observed_from is not None:
        out = out[out["first_loss"] >= pd.Timestamp(observed_from) + pd.Timedelta(hours=horizon_h)]
    out["hours"] = (out["first_loss"] - out["first_contact"]).dt.total_seconds() / 3600.0
    return out[list(TIMELINE_COLUMNS)].reset_index(drop=True)


def fraud_pace(timelines: pd.DataFrame, *, quantile: float = 0.1, min_cases: int = 5) -> pd.DataFrame:
    """Per fraud type with at least ``min_cases`` timelines: ``cases`` and ``hours``, the ``quantile`` of the
    contact-to-loss time (the fast end: a warning timed to it is in time for most victims of the type)."""
    if not 0 < quantile < 1:
        raise ValueError(f"quantile: {quantile} must lie strictly between 0 and 1")
    grouped = timelines.groupby("fraud_type")["hours"]
    table = pd.DataFrame({"cases": grouped.size(), "hours": grouped.quantile(quantile)})
    return table[table["cases"] >= min_cases].sort_values("hours")


def pace_hours(table: pd.DataFrame) -> Mapping[str, float]:
    """The policy's ``pace.hours`` mapping from a :func:`fraud_pace` table, rounded down to a tenth of an hour
    (rounding must not give a deadline more time than the cases did), never below 0.1."""
    return {str(t): max(0.1, float(np.floor(h * 10) / 10)) for t, h in table["hours"].items()}
