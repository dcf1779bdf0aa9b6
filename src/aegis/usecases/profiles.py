"""Refreshing the risk profiles of numbers, accounts and domains from the stored events.

This is the batch job of DESIGN.md's "the engine keeps those profiles fresh": it rebuilds each entity's
features from the events in the store, scores them with the detectors, and replaces the ``risk_profile``
rows the real-time decision API reads. Re-running it over the same events writes the same rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from aegis.decisions.evidence import sent_content, with_links, with_sent_content
from aegis.decisions.policy import DecisionPolicy, default_policy
from aegis.detectors.base import Detector, Verdict
from aegis.detectors.number import NumberBatch
from aegis.detectors.text import TextDetector
from aegis.events.urls import find_links
from aegis.features.account_profile import TransferGraph
from aegis.features.number_profile import call_graph, canonical_numbers, profile_from_events
from aegis.features.url_features import host_of
from aegis.reasons import InputError, Reason, stored
from aegis.store.repositories import EventRepository, RiskProfileRepository
from aegis.training.modelstore import load_model
from aegis.usecases import Say
from aegis.usecases.actor import Actor, Role


@dataclass
class RefreshResult:
    profiles: dict[str, int] = field(default_factory=dict)
    """profiles written per entity type"""
    flagged: dict[str, int] = field(default_factory=dict)
    """of which labelled fraud by their detector"""
    scores: dict[str, pd.Series] = field(default_factory=dict)
    """score per entity id, per entity type (for evaluation against a truth)"""
    labelled: dict[str, pd.Series] = field(default_factory=dict)
    """whether the stored label is fraud, per entity id, per entity type: the detector's own threshold, as the
    decisions read it (a score alone says nothing of where the model draws its line)"""
    since: datetime | None = None
    """the start of the window of events read (None: all of them)"""


def _rows(ids: pd.Index, verdicts: list[Verdict], features: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    records = features.replace({np.nan: None}).to_dict("records") if features is not None else None
    return [
        {
            "entity_id": str(entity),
            "score": float(v.score),
            "label": v.label,
            "fraud_type": v.fraud_type,
            "reasons": stored(v.reasons),
            "features": records[i] if records is not None else {},
        }
        for i, (entity, v) in enumerate(zip(ids, verdicts, strict=True))
    ]


def refresh_profiles(
    engine: Engine,
    actor: Actor,
    *,
    detectors: Mapping[str, Detector] | None = None,
    policy: DecisionPolicy | None = None,
    progress: Say | None = None,
    window: timedelta | None = None,
) -> RefreshResult:
    """Score every number that called or texted, every account that sent or received, every visited domain.

    A number's profile joins what it texted (:func:`aegis.decisions.evidence.with_sent_content`, under the
    policy's ``sender_content`` rule), each SMS read as a decision reads it: its text and its links. With
    ``window``, only the events of that span before the latest stored one are read (a month of a city, not its
    whole history); entities quiet in the window keep the profile they had. The result's ``since`` says where the
    window began (None: all events)."""
    actor.require({Role.system, Role.city_centre}, Reason("刷新风险画像"))
    if window is not None and window <= timedelta(0):
        raise InputError(Reason("window：须为正（收到{window}）", window=str(window)))
    say = progress or (lambda _: None)
    chosen = dict(detectors or {})

    def detector(kind: str) -> Detector:
        if kind not in chosen:
            chosen[kind] = load_model(None, kind).detector
        return chosen[kind]

    events, risk = EventRepository(engine), RiskProfileRepository(engine)
    result = RefreshResult()
    if window is not None:
        latest = [t for t in (events.last_time(k) for k in ("call", "sms", "transfer", "url_visit")) if t]
        result.since = max(latest) - window if latest else None
    since = result.since

    def write(kind: str, ids: pd.Index, verdicts: list[Verdict], features: pd.DataFrame | None = None) -> None:
        risk.upsert_many(kind, _rows(ids, verdicts, features), model=type(detector(_DETECTOR[kind])).__name__)
        result.profiles[kind] = len(ids)
        labelled = [v.label not in ("0", "normal", "legitimate") for v in verdicts]
        result.flagged[kind] = sum(labelled)
        result.scores[kind] = pd.Series([v.score for v in verdicts], index=ids.astype(str), name=kind)
        result.labelled[kind] = pd.Series(labelled, index=ids.astype(str), name=kind, dtype=bool)

    say(Reason("号码：统计通话与短信画像"))
    calls = events.frame("call", ["caller", "callee", "start", "duration_s", "direction", "cell_id", "imei", "imsi"],
                         since=since)
    sms = events.frame("sms", ["sender", "receiver", "time", "text"], since=since)
    # events keep numbers as their source wrote them; a profile is keyed by the canonical number, as decisions and
    # lead extraction look it up (a CDR's +8613912345678 and a request's 139 1234 5678 are one number)
    for frame, columns in ((calls, ("caller", "callee")), (sms, ("sender", "receiver"))):
        for column in columns:
            frame[column] = canonical_numbers(frame[column])
    if len(calls) or len(sms):
        active = pd.Index(pd.concat([calls["caller"], sms["sender"]]).unique(), dtype=str)
        profiles = profile_from_events(calls, sms, numbers=active)
        verdicts = detector("number").predict(NumberBatch(profiles, call_graph(calls, sms)))
        if len(sms):
            # what a number texted counts beside how it calls: the text detector reads every SMS once, the URL
            # detector every link in them once
            say(Reason("号码：阅读其发送的短信"))
            text = detector("text")
            if not isinstance(text, TextDetector):
                raise TypeError(f"detectors: 'text' must be a TextDetector, not {type(text).__name__}")
            rule = (policy or default_policy()).sender_content
            texts = sms["text"].tolist()
            content = sent_content(sms["sender"].astype(str).tolist(), sms["receiver"].astype(str).tolist(),
                                   *with_links(*text.assess(texts), _riskiest_links(texts, detector("url"))),
                                   rule=rule)
            verdicts = [with_sent_content(v, content.get(n), rule)
                        for n, v in zip(profiles.index, verdicts, strict=True)]
            profiles = profiles.assign(
                n_sms_fraud=[content[n].fraud if n in content else 0 for n in profiles.index],
                sms_fraud_top=[content[n].top_score if n in content else 0.0 for n in profiles.index])
        write("number", profiles.index, verdicts, profiles)

    say(Reason("账户：统计转账画像"))
    transfers = events.frame("transfer", ["payer_account", "payee_account", "amount", "time", "channel"], since=since)
    if len(transfers):
        transfers["amount"] = transfers["amount"].astype(float)
        accounts = pd.Index(pd.concat([transfers["payer_account"], transfers["payee_account"]]).unique(), dtype=str)
        verdicts = detector("account").predict(TransferGraph(accounts, transfers.drop(columns="channel")))
        # an ATM withdrawal's payee is the bank's cash ledger, not a customer: paid by crowds, it would look like
        # the biggest mule in town. Accounts that only ever receive withdrawals are not profiled.
        ledgers = set(transfers.loc[transfers["channel"] == "atm", "payee_account"]) - set(
            transfers.loc[transfers["channel"] != "atm", "payee_account"]
        ) - set(transfers["payer_account"])
        keep = [i for i, account in enumerate(accounts) if account not in ledgers]
        write("account", accounts[keep], [verdicts[i] for i in keep])

    say(Reason("域名：为访问过的网址评分"))
    visits = events.frame("url_visit", ["url"], since=since)
    if len(visits):
        urls = visits["url"].drop_duplicates()
        by_url = pd.DataFrame({"url": urls.to_numpy(), "host": [host_of(u) for u in urls]})
        verdicts = detector("url").predict(by_url["url"].tolist())
        by_url["score"] = [v.score for v in verdicts]
        best = by_url.sort_values("score", ascending=False).drop_duplicates("host")
        chosen_verdicts = [verdicts[i] for i in best.index]
        write("domain", pd.Index(best["host"]), chosen_verdicts)
    return result


_DETECTOR = {"number": "number", "account": "account", "domain": "url"}


def _riskiest_links(texts: list[str], url: Detector) -> list[Verdict | None]:
    """The URL detector's verdict on each text's riskiest link (None: it has none); each link scored once."""
    found = [find_links(t) for t in texts]
    unique = list(dict.fromkeys(u for links in found for u in links))
    verdicts = dict(zip(unique, url.predict(unique), strict=True)) if unique else {}
    return [max((verdicts[u] for u in links), key=lambda v: v.score) if links else None for links in found]
