"""Real-time decisions: block, warn or pass a call, an SMS, a URL or a transfer, with reasons.

Scores come in process from the shipped detectors (text, URL) and from the store's current risk profiles of
numbers and accounts (kept fresh by ``aegis profiles refresh``). Every block and warning is written to the
audit log with its reasons, the policy version and who asked.

A decision pays only for what its channel uses: each detector is loaded when a request first needs it (an SMS
without a link never loads the URL model), and the modules behind a detector or a warning are imported there,
not with this one (the URL model's scikit-learn and LightGBM take seconds to import; a transfer needs neither).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from sqlalchemy import Engine, func, select

from aegis.actions.orders import fen
from aegis.actions.warnings import WarningRequest
from aegis.decisions.evidence import Signal, combine
from aegis.decisions.policy import Action, DecisionPolicy, default_policy
from aegis.decisions.warning_policy import level_rank
from aegis.detectors.base import Detector, Verdict
from aegis.events.models import Ident, Outside, PositiveMoney, Time, WebAddress, fraud_type_name
from aegis.events.numbers import canonical_number
from aegis.events.times import not_ahead
from aegis.events.urls import MAX_LINKS, find_links
from aegis.features.official_numbers import is_official
from aegis.names import CODE_NAMES, name_of
from aegis.reasons import DEFAULT_LANG, InputError, Lang, Reason, listing, loaded, stored, yuan
from aegis.store.engine import begin_write
from aegis.store.repositories import AuditLog, DecisionReplies, RiskProfileRepository
from aegis.store.schema import EVENT_TABLES
from aegis.store.schema_warnings import warning
from aegis.usecases import unshown
from aegis.usecases.actor import INSTITUTION_ROLES, SYSTEM, Actor, PermissionDenied, Role, mask

MAX_BATCH = 1_000
"""the most requests decided in one call: one batch's audit entries are written in one transaction, and a
caller waiting on a block / warn / pass should not wait behind a bulk job"""


DECIDERS: dict[str, frozenset[Role]] = {
    # a telco connects calls and delivers SMS; an internet platform delivers messages (its chats, its inbox)
    "sms": frozenset({Role.telco, Role.platform, Role.city_centre, Role.system}),
    # only the telco sees a call while it is set up and going on
    "call": frozenset({Role.telco, Role.city_centre, Role.system}),
    # a platform opens the links its users tap; a telco blocks fraud sites on its network (涉诈网址拦截)
    "url": frozenset({Role.platform, Role.telco, Role.city_centre, Role.system}),
    # a bank holds a payment, and so does a payment platform (支付宝, 微信支付: the third-party channel)
    "transfer": frozenset({Role.bank, Role.platform, Role.city_centre, Role.system}),
}
"""Who may ask for a real-time decision on each channel: the institutions that carry that channel and must
act on the answer, and the city anti-fraud centre (to try a rule, to answer for a partner without a gateway).
Police stations and district bureaus act on warnings, not on traffic; analysts and auditors read. A decision
about a person writes to the audit log under the asker's name, so a role that carries no traffic of a channel
has nothing to ask about it. ``system`` is Aegis itself (the operator's batch ``aegis decide``, the demo)."""


def may_decide(role: Role) -> list[str]:
    """The channels ``role`` may ask decisions on."""
    return [channel for channel, roles in DECIDERS.items() if role in roles]


def _dialable(number: str) -> str:
    """A number one could dial: three digits at least (110 is the shortest), more than a country code alone. "-",
    "+" or "+86" named no one, yet became a decision's subject in the audit log."""
    national = number.removeprefix("+86").removeprefix("0086") if number.startswith(("+86", "0086")) else number
    if sum(c.isdigit() for c in national) < 3:
        raise ValueError(f"'{number}' is no phone number: it needs three digits at least, after any country code")
    return number


#: a phone number of a request, in its canonical form (+86 139-1234-5678 is 13912345678) before it is checked as
#: an id (which allows no spaces or parentheses): as risk profiles are keyed, and as the audit log names the
#: decision's subject
Number = Annotated[Ident, BeforeValidator(canonical_number), AfterValidator(_dialable)]


class Strict(Outside):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Request(Strict):
    request_id: Ident | None = Field(
        default=None,
        description="the caller's own id for this request: a retry with the same id records nothing twice (no "
        "second audit entry, no second lead on a warning); ids are the caller's, so two banks may use the same. "
        "The same id with other contents is another request, decided and recorded as such",
    )


class SmsIn(Request):
    sender: Number
    receiver: Number | None = None
    text: Annotated[str, Field(min_length=1, max_length=2000)]


MAX_TRANSCRIPT = 6_000
"""the characters of a call's transcript a decision reads: some 25 minutes of Chinese speech (about 250
characters a minute), far more than the first minutes a warning during the call is about, and at most 1,000 a
turn; 50 turns of 2,000 each (100,000 characters a call, a hundred million in a batch) was a stall, not a call"""


class CallIn(Request):
    caller: Number
    callee: Number | None = None
    transcript: list[Annotated[str, Field(max_length=1000)]] = Field(
        default_factory=list,
        max_length=50,
        description=f"the caller's first turns so far, to warn while the call is still going on: at most 50 turns "
        f"of 1,000 characters, {MAX_TRANSCRIPT:,} in all",
    )

    @field_validator("transcript")
    @classmethod
    def _short_enough(cls, turns: list[str]) -> list[str]:
        total = sum(len(t) for t in turns)
        if total > MAX_TRANSCRIPT:
            raise InputError(Reason("共{total}个字符，超过判定所读的{most}个：请只发送最前面几轮", total=f"{total:,}",
                                    most=f"{MAX_TRANSCRIPT:,}"))
        return turns


class UrlIn(Request):
    url: Annotated[WebAddress, Field(description=(
        "an http(s) URL, or a link without its scheme as SMS write it (etc-gov.top/a1, read as http://), with a "
        "host name or IP address"))]
    person_id: Ident | None = None


class TransferIn(Request):
    payer_account: Ident
    payee_account: Ident
    amount: PositiveMoney
    time: Time | None = Field(
        default=None,
        description="when the payment is made (default: now): ISO 8601 or compact (20261001102030), a naive time "
        "being China time; a bare number (epoch seconds) is refused. The payer's warnings open now count, "
        "whatever this time says (a lagging clock must not slip past a warning raised since)",
    )

    @field_validator("time")
    @classmethod
    def _not_ahead(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        """A time ahead of now by more than :data:`~aegis.events.times.MAX_CLOCK_SKEW` is refused, as ingest
        refuses an event's, except in a replay of recorded events (``context={"replay": True}``: the demo
        decides a simulated city's payments at their own time)."""
        context = info.context or {}
        if value is None or context.get("replay"):
            return value
        try:
            return not_ahead(value, context.get("now") or datetime.now(UTC))
        except ValueError as exc:
            raise ValueError(f"{exc}: a payment is decided as it is made, not before") from None

    @model_validator(mode="after")
    def _to_another_account(self) -> Self:
        if self.payee_account == self.payer_account:  # as ingest refuses a transfer event
            raise InputError(Reason("payee_account：须与payer_account不同"))
        return self


class Decision(BaseModel):
    request_id: str | None = None
    """the request's own id, when it gave one: a batch's answers can be matched to its requests by it"""
    action: Action
    score: float
    fraud_type: str | None
    fraud_type_name: str | None = None
    names: dict[str, str] = Field(default_factory=dict)
    """the action's name in the language asked for (``{"action": "拦截"}``)"""
    reasons: list[str]
    policy_version: str
    _reply: dict[str, Any] | None = PrivateAttr(default=None)
    """the answer as :data:`~aegis.store.schema.decision_reply` keeps it, for a request with its own id"""


@cache
def shipped_detector(kind: str) -> Detector:
    """The shipped model of ``kind``, loaded on its first use and kept for the process."""
    from aegis.training.modelstore import load_model

    return load_model(None, kind).detector


#: a made-up fraud SMS with a link, which needs the text model, the reasons' segmenter and the URL model
_WARM_UP = "您的ETC已失效，请登录 http://etc-gov.top/a1 认证，逾期停用"


def warm(engine: Engine) -> None:
    """Load what real-time decisions use (the text and URL models, jieba's dictionary for a fraud text's
    reasons, the modules behind them) by deciding one made-up SMS that needs them all, recording nothing: a
    server calls it before it listens, so its first request is answered as fast as the next."""
    Decider(engine, SYSTEM, record=False).sms([SmsIn(sender="10000000000", text=_WARM_UP)])


def _from_verdict(verdict: Verdict, source: Reason) -> Signal:
    """A detector's verdict as evidence, each reason headed by what was scored ("短信内容：…"). A verdict of fraud
    (0.5 or more) that names no reason of its own is shown by its score: no block or warning goes without one."""
    fraud = verdict.score >= 0.5
    reasons = verdict.reasons[:3] or ((_risk_score(verdict.score),) if fraud else ())
    return Signal(verdict.score, tuple(_about(source, r) for r in reasons), verdict.fraud_type if fraud else None)


def _about(source: Reason, reason: Reason) -> Reason:
    return Reason("{source}：{reason}", source=source, reason=reason)


def _risk_score(score: float) -> Reason:
    """The reason of evidence that names none of its own (a stored risk profile, a detector's verdict): its score."""
    return Reason("风险评分{score:.2f}", score=score)


class Decider:
    """Decides batches of requests of one channel. Thin API and CLI layers call these methods."""

    def __init__(
        self,
        engine: Engine,
        actor: Actor,
        policy: DecisionPolicy | None = None,
        detectors: dict[str, Detector] | None = None,
        lang: Lang = DEFAULT_LANG,
        *,
        record: bool = True,
        replay: bool = False,
    ) -> None:
        """``lang`` is the language of the reasons in the returned decisions; the audit log keeps them as
        messages, readable in either. ``record=False`` is a what-if run (a policy tried on past requests before
        it goes live): the decisions come back and nothing is written, since nothing was decided about anyone.

        A payer's warnings count as they stand now, whatever time a payment carries: the money moves now, and a
        gateway whose clock lags, or that sends when the customer began the payment, must not slip past a warning
        raised since (a payment dated 2020 passed a payer under an urgent warning, unaudited). ``replay=True``
        decides recorded payments at their own time instead, with the warnings as they stood then (the demo
        replays its simulated city's payments so)."""
        self.engine = engine
        self.lang = lang
        self.record = record
        self.replay = replay
        self.actor = actor
        self.policy = policy or default_policy()
        self.risk = RiskProfileRepository(engine)
        self.audit = AuditLog(engine)
        self._detectors = detectors or {}

    def detector(self, kind: str) -> Detector:
        return self._detectors.get(kind) or shipped_detector(kind)

    def _may(self, channel: str) -> None:
        """Refuse a role that may not ask for decisions on ``channel`` (:data:`DECIDERS`), before any work."""
        role = self.actor.role
        if role not in DECIDERS[channel]:
            asked = listing(sorted(r.value for r in DECIDERS[channel] if r is not Role.system))
            own = may_decide(role)
            raise PermissionDenied(
                Reason("role：{role}无权请求对{channel}的实时决策（仅{asked}可以）；{role}可决策：{own}",
                       role=role.value, channel=channel, asked=asked, own=listing(own)) if own else
                Reason("role：{role}无权请求对{channel}的实时决策（仅{asked}可以）；{role}不能请求任何实时决策",
                       role=role.value, channel=channel, asked=asked)
            )

    # -- evidence ---------------------------------------------------------------------------------------
    def _number_signals(self, numbers: Sequence[str], role: Reason) -> list[Signal]:
        known = self.risk.get_many("number", numbers)
        signals = []
        for number in numbers:
            profile = known.get(number)
            if profile is None or is_official(number):  # an official number's risk profile is a false flag
                signals.append(Signal(0.0, ()))
            else:
                reasons = tuple(loaded(profile["reasons"][:3])) or (_risk_score(float(profile["score"])),)
                signals.append(
                    Signal(float(profile["score"]), tuple(_about(role, r) for r in reasons), profile.get("fraud_type"))
                )
        return signals

    def _url_signals(self, urls: Sequence[str]) -> list[Signal]:
        if not urls:
            return []
        from aegis.detectors.url import PHISHING
        from aegis.features.url_features import host_of

        verdicts = self.detector("url").predict(list(urls))
        hosts = [host_of(u) for u in urls]
        profiles = self.risk.get_many("domain", hosts)
        signals = []
        for url, host, verdict in zip(urls, hosts, verdicts, strict=True):
            # without the invisible characters a browser drops from a host (ab\u200bc.com is abc.com to it), which
            # would show the auditor a name that reads as another; a Chinese host is shown as written, not as punycode
            source = Reason("网址 {url}", url="".join(c for c in url if not unshown(c, layout=()))[:60])
            signal = _from_verdict(verdict, source)
            profile = profiles.get(host)
            # a domain's profile is the URL detector's verdict on the riskiest URL visited there: news only when
            # that was phishing (a legitimate one says no more than this URL's own score), and it is a model's
            # verdict, not a list, so its own reasons say why
            if profile is not None and profile["label"] == PHISHING:
                visited = Reason("域名{host}下访问过的网址", host=host)
                reasons = tuple(loaded(profile["reasons"][:2])) or (_risk_score(float(profile["score"])),)
                signal = combine([signal, Signal(float(profile["score"]), tuple(_about(visited, r) for r in reasons),
                                                 profile.get("fraud_type"))])
            signals.append(signal)
        return signals

    def _text_signals(self, texts: Sequence[str], source: Reason) -> list[Signal]:
        if not texts:
            return []
        return [_from_verdict(v, source) for v in self.detector("text").predict(list(texts))]

    # -- channels ---------------------------------------------------------------------------------------
    def sms(self, items: Sequence[SmsIn]) -> list[Decision]:
        self._may("sms")
        texts = self._text_signals([i.text for i in items], Reason("短信内容"))
        senders = self._number_signals([i.sender for i in items], Reason("发送方号码"))
        every = [find_links(i.text, None) for i in items]
        links = [found[:MAX_LINKS] for found in every]
        # every link of the batch in one call of the URL detector, then handed back to its message in order
        link_signals = iter(self._url_signals([url for found in links for url in found]))
        decisions: list[Decision] = []
        audits: list[dict[str, Any]] = []
        for item, text, sender, found, written in zip(items, texts, senders, links, every, strict=True):
            # a message's links are one piece of evidence, its riskiest link: they were chosen together, so two
            # short links that each may only warn do not add up to a block as independent signals would
            riskiest = max((next(link_signals) for _ in found), key=lambda s: s.score, default=None)
            stuffed = [_stuffed(len(written))] if len(written) > MAX_LINKS else []
            evidence = combine([text, sender, *([riskiest] if riskiest else []), *stuffed])
            decisions.append(
                self._decide("sms", evidence, "number", item.sender, {"receiver": item.receiver}, audits,
                             item)
            )
        return self._recorded(decisions, audits)

    def call(self, items: Sequence[CallIn]) -> list[Decision]:
        self._may("call")
        from aegis.detectors.text import join_turns

        callers = self._number_signals([i.caller for i in items], Reason("主叫号码"))
        talking = [n for n, item in enumerate(items) if item.transcript]
        heard = dict(zip(talking, self._text_signals([join_turns(items[n].transcript) for n in talking],
                                                     Reason("通话内容")), strict=True))
        decisions: list[Decision] = []
        audits: list[dict[str, Any]] = []
        for n, (item, caller) in enumerate(zip(items, callers, strict=True)):
            evidence = combine([caller, heard[n]] if n in heard else [caller])
            decisions.append(self._decide("call", evidence, "number", item.caller, {"callee": item.callee}, audits,
                                          item))
        return self._recorded(decisions, audits)

    def url(self, items: Sequence[UrlIn]) -> list[Decision]:
        """Decisions on links. The audit log keeps one under the link's domain (its subject, as risk profiles are
        keyed: at most 253 characters, where a URL runs to 2,048), the whole URL in its details."""
        from aegis.features.url_features import host_of

        self._may("url")
        signals = self._url_signals([i.url for i in items])
        audits: list[dict[str, Any]] = []
        decisions = [
            self._decide("url", s, "domain", host_of(i.url), {"url": i.url, "person_id": i.person_id}, audits, i)
            for i, s in zip(items, signals, strict=True)
        ]
        return self._recorded(decisions, audits)

    def transfer(self, items: Sequence[TransferIn]) -> list[Decision]:
        self._may("transfer")
        payees = self._account_signals([i.payee_account for i in items])
        payers, warnings = zip(*self._payer_warnings(items), strict=True) if items else ((), ())
        large = Decimal(str(self.policy.transfer_new_payee_large_amount))
        earliest = self._earliest_payments([i for i in items if i.amount >= large])
        decisions: list[Decision] = []
        audits: list[dict[str, Any]] = []
        for item, payee, payer, weighed in zip(items, payees, payers, warnings, strict=True):
            signals = [payee]
            before = earliest.get((item.payer_account, item.payee_account))
            # a first payment: none stored before this one (a replayed payment finds itself stored, not before)
            if item.amount >= large and (before is None or (item.time is not None and before >= item.time)):
                first = Reason("首次向该收款账户转账且金额较大（{amount}元）", amount=yuan(item.amount))
                signals.append(Signal(0.3, (first,)))
            evidence = combine([*signals, payer])
            if weighed is not None and self.actor.role in INSTITUTION_ROLES:
                alone = combine(signals)
                if self.policy.decide("transfer", alone.score) is self.policy.decide("transfer", evidence.score):
                    # the warning changes nothing the institution does: it is told nothing of it (see
                    # _payer_warnings), neither in the reasons nor in the score or the fraud type
                    evidence = alone
            decisions.append(
                self._decide(
                    "transfer",
                    evidence,
                    "account",
                    item.payer_account,
                    {"payee_account": item.payee_account, "amount": str(item.amount),
                     **({"payer_warning": weighed.warning_id} if weighed is not None else {})},
                    audits,
                    item,
                    consulted=weighed is not None,
                )
            )
        # the decisions are audited first, in one transaction: a batch cut off while the warnings are told has
        # every block on record, and its retry (same request ids) tells the rest without a second entry
        recorded = self._recorded(decisions, audits)
        if self.record:
            self._tell_the_warnings(items, recorded, warnings)
        return recorded

    def _tell_the_warnings(self, items: Sequence[TransferIn], decisions: Sequence[Decision],
                           warnings: Sequence[Any]) -> None:
        """A payment held or warned while its payer is under a warning is news for the officer on that warning:
        the person is paying now. It becomes a lead on the warning, at the urgent level (which re-routes a
        less severe warning and brings its deadline closer), through the warnings use case. Only a warning still
        open gets it (the lead names the warning's person and fraud type, so the warnings use case finds it; a
        warning closed in the moment between would see a new one opened, which an officer then closes)."""
        now = datetime.now(UTC)
        leads = []
        for item, decision, open_warning in zip(items, decisions, warnings, strict=True):
            # a replayed payment whose warning has been closed since is history, not news
            if open_warning is None or open_warning.closed_at is not None or decision.action is Action.allow:
                continue
            # the news is now (a live payment dated earlier by a lagging clock is happening now), or, replayed,
            # when the payment was made
            at = item.time if self.replay and item.time is not None else now
            # the same payment told twice is one lead: by the caller's request id, else by what and when
            key = (self._request_key("transfer", item) if item.request_id else
                   f"{item.payer_account}|{item.payee_account}|{fen(item.amount)}|{(item.time or at).isoformat()}")
            news = Reason("正在向账户{payee}转账{amount}元（{action}）", payee=mask(item.payee_account),
                          amount=yuan(item.amount), action=CODE_NAMES[decision.action.value])
            leads.append(WarningRequest(open_warning.person_id, open_warning.fraud_type, decision.score, "urgent",
                                        (news,), "transfer-" + hashlib.sha1(key.encode()).hexdigest()[:24], at,
                                        given_by=self.actor.label))
        if leads:
            from aegis.usecases.warnings import raise_warnings

            # Aegis raises it (a bank may not raise warnings); the lead names the bank's user who asked
            raise_warnings(self.engine, SYSTEM, leads)

    def _account_signals(self, accounts: Sequence[str]) -> list[Signal]:
        known = self.risk.get_many("account", accounts)
        signals = []
        for account in accounts:
            profile = known.get(account)
            if profile is None:
                signals.append(Signal(0.0, ()))
                continue
            reasons = tuple(loaded(profile["reasons"][:3])) or (_risk_score(float(profile["score"])),)
            payee = Reason("收款账户")
            signals.append(
                Signal(float(profile["score"]), tuple(_about(payee, r) for r in reasons), profile.get("fraud_type"))
            )
        return signals

    def _payer_warnings(self, items: Sequence[TransferIn]) -> list[tuple[Signal, Any]]:
        """For each transfer, its payer's most severe warning open at the payment's time (the account's owner
        from its opening, 开户), as a signal and the warning's row (None without one): a person being warned of
        fraud who pays now may be paying the fraudster, which is what police-bank linkage holds payments for.
        Weighted by level as the policy says.

        Whose warnings a bank or platform is told of: only its own customers'. A warning is police information
        about a person, shared with the institution that holds the person's account so that it can hold the
        payment; so for a bank or a platform the payer is the owner of the account *as opened at that
        institution* (the opening records which one). An account the store knows only as another institution's,
        or not at all, has no owner for it: the payer's warnings are neither used nor disclosed (no reason names
        them, no lead is fed to them, so asking about a stranger's account learns nothing and touches no warning),
        and the payment is weighed by its payee and its amount alone. The city centre and Aegis itself see every
        opening (a city centre that names its city, ``X-Aegis-City``, its city's warnings only).

        What the institution is told of its own customer's warning is what it needs to act, no more (最小必要,
        as a privacy officer of the anti-fraud centre would have it): that the payer is under an open warning when
        that holds or warns the payment, so that its call-back asks the customer about that kind of scam (the
        fraud type: "has someone claiming to be the police asked you to move money to a safe account?"). Not the
        warning's level, which the action already carries (held: urgent; warned: high), and nothing at all when
        the warning changes no action (a medium warning on a small payment that passes anyway): the payment is
        then answered as for anyone, so that a batch of one-yuan payments screens no customer for warnings.
        Every decision that weighed a warning is on the audit log, a pass too, with the warning's id: it read
        police information about a person, and the centre must be able to see who was screened, and by whom.
        A level the policy gives no weight (low) is not weighed: that decision is any other."""
        weights = self.policy.transfer_payer_warning
        none = Signal(0.0, ())
        if not items or not any(weights.values()):
            return [(none, None)] * len(items)
        opening = EVENT_TABLES["account_opening"]
        query = select(opening.c.account, opening.c.person_id).where(
            opening.c.account.in_({i.payer_account for i in items}))
        if self.actor.role in INSTITUTION_ROLES:
            query = query.where(opening.c.institution == self.actor.institution)
        with self.engine.connect() as connection:
            owners: dict[str, set[str]] = {}
            for account, person in connection.execute(query).all():
                owners.setdefault(account, set()).add(person)  # one number at two institutions: two owners
            rows = connection.execute(
                select(warning.c.warning_id, warning.c.person_id, warning.c.level, warning.c.fraud_type,
                       warning.c.first_lead_at, warning.c.closed_at)
                .where(warning.c.person_id.in_(set().union(*owners.values())),
                       # a city centre of a named city weighs its city's warnings only (Actor.covers)
                       *([warning.c.city == self.actor.city] if self.actor.city and self.actor.role is not Role.system
                         else []))
            ).all() if owners else []
        by_person: dict[str, list[Any]] = {}
        for row in rows:
            by_person.setdefault(row.person_id, []).append(row)
        now = datetime.now(UTC)
        signals: list[tuple[Signal, Any]] = []
        for item in items:
            then = self.replay and item.time is not None
            at = item.time if then and item.time is not None else now
            # raised before the payment (a lead from this very payment must not count), not closed by then
            open_then = [w for person in owners.get(item.payer_account, ()) for w in by_person.get(person, [])
                         if w.first_lead_at < at and (w.closed_at is None or (then and w.closed_at > at))]
            worst = min(open_then, key=lambda w: level_rank(w.level), default=None)
            if worst is None or not weights.get(worst.level):
                signals.append((none, None))
                continue
            reason = (Reason("付款人有一条未办结的预警，可能正在被骗") if self.actor.role in INSTITUTION_ROLES else
                      Reason("付款人有一条未办结的预警（{level}），可能正在被骗", level=CODE_NAMES[worst.level]))
            signals.append((Signal(weights[worst.level], (reason,), worst.fraud_type), worst))
        return signals

    def _earliest_payments(self, items: Sequence[TransferIn]) -> dict[tuple[str, str], datetime]:
        """When each (payer, payee) pair of ``items`` first paid, among the stored transfers: one query for the
        batch, through the payer index."""
        if not items:
            return {}
        table = EVENT_TABLES["transfer"]
        pairs = {(i.payer_account, i.payee_account) for i in items}
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(table.c.payer_account, table.c.payee_account, func.min(table.c.time))
                .where(table.c.payer_account.in_({p for p, _ in pairs}),
                       table.c.payee_account.in_({q for _, q in pairs}))
                .group_by(table.c.payer_account, table.c.payee_account)
            ).all()
        return {(payer, payee): first for payer, payee, first in rows if (payer, payee) in pairs}

    def _decide(
        self,
        channel: str,
        evidence: Signal,
        subject_type: str,
        subject_id: str,
        details: dict[str, Any],
        audits: list[dict[str, Any]],
        request: Request,
        *,
        consulted: bool = False,
    ) -> Decision:
        """The decision on one request; a block or warning adds its audit entry to ``audits``, which the channel
        writes for the whole batch in one transaction (once per ``request_id``, when the caller gives one). So
        does a pass that ``consulted`` police information about a person (a payer's warning): a look at personal
        data is on the log whatever it answered."""
        action = self.policy.decide(channel, evidence.score)
        reasons = evidence.reasons or (Reason("未发现风险"),)
        decision = self._shown(request.request_id, action, round(evidence.score, 6), evidence.fraud_type, reasons,
                               self.policy.version)
        key = self._request_key(channel, request) if request.request_id else None
        if key is not None:
            decision._reply = {"request_key": key, "channel": channel, "action": action.value,
                               "score": decision.score, "fraud_type": decision.fraud_type,
                               "reasons": stored(reasons), "policy_version": decision.policy_version}
        if action is not Action.allow or consulted:
            audits.append({
                "actor": self.actor.label,
                "action": f"decision.{channel}.{action.value}",
                "subject_type": subject_type,
                "subject_id": subject_id,
                "reasons": reasons,
                "details": {
                    "score": decision.score,
                    "fraud_type": decision.fraud_type,
                    "policy_version": decision.policy_version,
                    **{k: v for k, v in details.items() if v is not None},
                    **({"request_id": request.request_id} if request.request_id else {}),
                },
                "request_key": key,
            })
        return decision

    def _request_key(self, channel: str, request: Request) -> str:
        """A request id is the caller's: scoped by the institution (or the user) that sent it and the channel,
        and bound to what it asked. A retry asks the same and records nothing twice; an id used again for another
        request (a caller's bug) is another request, decided and audited as such, never hidden behind the first."""
        # what was asked, as validation made it: a sum to the fen (7000, "7000.00" and 7000.0 are one payment)
        values = {k: fen(v) if isinstance(v, Decimal) else v
                  for k, v in request.model_dump(exclude={"request_id"}).items()}
        asked = hashlib.sha1(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return f"{self.actor.institution or self.actor.label}|{channel}|{request.request_id}|{asked}"

    def _recorded(self, decisions: list[Decision], audits: list[dict[str, Any]]) -> list[Decision]:
        """The batch's audit entries and the answers to its requests with their own id, in one transaction; the
        answers as given. A retry of a request answered before gets that answer again, however things stand now
        (its warning closed, a profile refreshed, another policy): what the caller acted on is what was recorded,
        and a retry adds no audit entry. A what-if run records nothing and reads no earlier answer."""
        replies = {d._reply["request_key"]: d._reply for d in decisions if d._reply is not None}
        if not self.record or not (replies or audits):  # a batch of passes without ids takes no write lock
            return decisions
        with begin_write(self.engine) as connection:
            at = datetime.now(UTC)
            first = DecisionReplies.keep(connection, [{**r, "at": at} for r in replies.values()])
            earlier = DecisionReplies.given(connection, replies.keys() - first)
            self.audit.append_many([a for a in audits if a.get("request_key") is None or a["request_key"] in first],
                                   connection=connection)
        return [self._as_given(d, earlier[d._reply["request_key"]])
                if d._reply is not None and d._reply["request_key"] in earlier else d for d in decisions]

    def _as_given(self, decision: Decision, reply: Any) -> Decision:
        """The answer stored for ``decision``'s request, in this call's language."""
        return self._shown(decision.request_id, Action(reply.action), reply.score, reply.fraud_type,
                           loaded(reply.reasons), reply.policy_version)

    def _shown(self, request_id: str | None, action: Action, score: float, fraud_type: str | None,
               reasons: Sequence[Reason], policy_version: str) -> Decision:
        """A decision as the caller reads it: names and reasons in this call's language."""
        return Decision(
            request_id=request_id,
            action=action,
            score=score,
            fraud_type=fraud_type,
            fraud_type_name=fraud_type_name(fraud_type, self.lang),
            names={"action": name_of(action.value, self.lang)},
            reasons=[r.text(self.lang) for r in reasons],
            policy_version=policy_version,
        )


STUFFED_SCORE = 0.6
"""a message with more distinct links than are scored (:data:`aegis.events.urls.MAX_LINKS`) warns by that alone:
people do not text six different addresses at once, and padding is how a look-alike would hide past the cap"""


def _stuffed(n: int) -> Signal:
    return Signal(STUFFED_SCORE, (Reason("含{n}个不同链接（逐一评估前{k}个）", n=n, k=MAX_LINKS),))
