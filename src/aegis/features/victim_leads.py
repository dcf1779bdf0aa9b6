"""Warning leads (预警线索) about persons, and the windowed per-person features the victim fusion scores.

Two streaming stages, each ``update(state, batch) -> (state, output)`` over pandas frames (DESIGN.md), so the
embedded loop calls them on hourly batches and a distributed engine can call them per person partition:

1. :func:`extract_leads` turns raw events (calls, SMS, transfers, URL visits, app installs) into leads about
   the person involved, given *entity risk*: which numbers, payee accounts, domains and apps are risky, and
   a scorer for SMS texts. Entity risk is a plain input (:class:`EntityRisk`), so the extractor does not
   care whether it came from the detectors' risk profiles, a shared blacklist or citizens' reports.
2. :func:`fusion_features` turns each new lead into one row of features of its person over sliding windows
   (1 h, 24 h, 7 d, 30 d): counts and summed risk of each lead kind, call time with risky numbers, money sent
   to new or risky payees, per-fraud-type evidence, the person's age.

Leads are kept only when they say something: a call or SMS with a number not known as risky is no lead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aegis.events.models import FraudType
from aegis.features.number_profile import canonical_numbers
from aegis.features.official_numbers import is_official
from aegis.features.url_features import host_of

LEAD_KINDS: tuple[str, ...] = (
    "risky_call",  # a call with a number known as risky, either direction
    "fraud_sms",  # an SMS from a risky number or with fraud text
    "fraud_url",  # a visit to a risky domain
    "fraud_app",  # a fraud app installed
    "remote_app",  # a screen-sharing / remote-control app installed
    "risky_payee",  # a transfer to a payee account known as risky
    "new_payee",  # a first transfer to a new payee soon after a risky contact, or a large one
    "large_after_contact",  # a transfer far above the person's habit within 72 h of a risky contact
)
CONTACT_KINDS = frozenset({"risky_call", "fraud_sms", "fraud_url", "fraud_app", "remote_app"})
FRAUD_TYPES: tuple[str, ...] = tuple(t.value for t in FraudType)
WINDOWS: dict[str, pd.Timedelta] = {
    "1h": pd.Timedelta(hours=1), "24h": pd.Timedelta(hours=24), "7d": pd.Timedelta(days=7),
    "30d": pd.Timedelta(days=30),
}
LEAD_COLUMNS = ("lead_id", "person_id", "time", "kind", "score", "fraud_type", "entity", "duration_s", "amount")

#: a transfer counts as "large" when it is this many times the person's typical amount, and at least
LARGE_FACTOR, LARGE_MIN_YUAN, LARGE_ALONE_YUAN = 3.0, 1000.0, 20000.0
CONTACT_MEMORY = pd.Timedelta(days=7)
LARGE_AFTER = pd.Timedelta(hours=72)

TextScorer = Callable[[Sequence[str]], tuple[np.ndarray, Sequence[str | None]]]
"""texts -> (P(fraud) per text, fraud type per text or None)"""


def risk_table(entities: Sequence[str] = (), scores: Sequence[float] | float = 1.0,
               fraud_types: Sequence[str | None] | str | None = None,
               since: Sequence[pd.Timestamp | None] | None = None) -> pd.DataFrame:
    """A table of risky entities: ``entity, score, fraud_type, since`` (risk known from ``since``; NaT = always)."""
    n = len(entities)
    frame = pd.DataFrame({
        "entity": pd.Series(list(entities), dtype="string"),
        "score": np.broadcast_to(np.asarray(scores, dtype=float), (n,)).copy(),
        "fraud_type": pd.Series(list(fraud_types) if isinstance(fraud_types, Sequence)
                                and not isinstance(fraud_types, str) else [fraud_types] * n, dtype="object"),
        "since": pd.to_datetime(pd.Series(list(since) if since is not None else [pd.NaT] * n), utc=True),
    })
    return frame


def _merge_tables(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Union of two risk tables; an entity in both keeps its earliest ``since`` and highest score."""
    both = pd.concat([a, b], ignore_index=True)
    if both.empty:
        return risk_table()
    both = both.sort_values(["entity", "score"], ascending=[True, False])
    first = both.groupby("entity", sort=False).agg(score=("score", "max"), fraud_type=("fraud_type", "first"))
    since = both.groupby("entity", sort=False)["since"].min()
    never = both["since"].isna().groupby(both["entity"], sort=False).any()
    since[never.reindex(since.index).to_numpy()] = pd.NaT
    return first.assign(since=since).reset_index()


@dataclass
class EntityRisk:
    """What is known about the risk of entities; every table has ``entity, score, fraud_type, since``."""

    numbers: pd.DataFrame = field(default_factory=risk_table)
    accounts: pd.DataFrame = field(default_factory=risk_table)
    domains: pd.DataFrame = field(default_factory=risk_table)
    apps: pd.DataFrame = field(default_factory=risk_table)
    #: packages of legitimate screen-sharing / remote-control apps (public knowledge)
    remote_apps: frozenset[str] = frozenset()
    text_scorer: TextScorer | None = None
    #: below this score an entity or a text gives no lead
    min_score: float = 0.5

    def __post_init__(self) -> None:
        # an official service number is never a risky entity, whatever a detector or a report said of it; numbers
        # are known by their canonical form, as events are looked up (two spellings of one number become one)
        if not self.numbers.empty:
            numbers = self.numbers.assign(entity=canonical_numbers(self.numbers["entity"].astype(str)))
            numbers = numbers[~numbers["entity"].map(is_official)].reset_index(drop=True)
            self.numbers = _merge_tables(numbers, risk_table()) if numbers["entity"].duplicated().any() else numbers

    def merged(self, other: EntityRisk) -> EntityRisk:
        return EntityRisk(
            numbers=_merge_tables(self.numbers, other.numbers), accounts=_merge_tables(self.accounts, other.accounts),
            domains=_merge_tables(self.domains, other.domains), apps=_merge_tables(self.apps, other.apps),
            remote_apps=self.remote_apps | other.remote_apps, text_scorer=self.text_scorer or other.text_scorer,
            min_score=min(self.min_score, other.min_score))

    @staticmethod
    def lookup(table: pd.DataFrame, entities: pd.Series, times: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """Score and fraud type of each entity as known at each time (0 and None when unknown then)."""
        score = np.zeros(len(entities))
        ftype = np.full(len(entities), None, dtype=object)
        if table.empty or entities.empty:
            return score, ftype
        indexed = table.drop_duplicates("entity")
        pos = pd.Index(indexed["entity"].astype(str)).get_indexer(entities.astype(str).to_numpy())
        hit = np.flatnonzero(pos >= 0)
        if not len(hit):
            return score, ftype
        p = pos[hit]
        # as int64 nanoseconds NaT is the smallest value, so "always known" needs no case of its own
        known = _ns(times.iloc[hit]) >= _ns(indexed["since"])[p]
        score[hit[known]] = indexed["score"].to_numpy(dtype=float)[p[known]]
        ftype[hit[known]] = indexed["fraud_type"].to_numpy(dtype=object)[p[known]]
        return score, ftype


@dataclass
class Directory:
    """Who holds what: number -> person, account -> person, person -> age."""

    number_owner: Mapping[str, str]
    account_owner: Mapping[str, str]
    age: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # looked up for millions of events a day: keep them as indexed Series, not dicts
        numbers = pd.Series(self.number_owner, dtype=object)
        # a number is known by its canonical form, as the events' numbers are looked up (+86139... is 139...);
        # of two spellings of one number, the later opening holds it
        numbers.index = canonical_numbers(pd.Series(numbers.index.astype(str), dtype=object)).to_numpy()
        self.number_owner = numbers[~numbers.index.duplicated(keep="last")]
        self.account_owner = pd.Series(self.account_owner, dtype=object)

    @classmethod
    def from_frames(cls, sim_opening: pd.DataFrame, account_opening: pd.DataFrame,
                    person: pd.DataFrame | None = None) -> Directory:
        numbers = sim_opening.drop_duplicates("number", keep="last")
        accounts = account_opening.drop_duplicates("account", keep="last")
        return cls(
            pd.Series(numbers["person_id"].to_numpy(dtype=object), index=numbers["number"].astype(str)),
            pd.Series(accounts["person_id"].to_numpy(dtype=object), index=accounts["account"].astype(str)),
            {} if person is None else dict(zip(person["person_id"], person["age"].astype(int), strict=True)),
        )


@dataclass
class LeadState:
    """What lead extraction remembers between batches, per person and per payer-payee pair."""

    #: sorted hashes of (payer account, payee account) pairs already seen
    seen_pairs: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    #: per payer person: number of transfers and sum of log amounts, for the "typical amount"
    habits: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        {"n": pd.Series(dtype=float), "log_sum": pd.Series(dtype=float)}))
    #: per person: time of the last risky contact
    last_contact: pd.Series = field(default_factory=lambda: pd.Series(dtype="datetime64[ns, UTC]"))


def _empty_leads() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(LEAD_COLUMNS, (
        "object", "object", "datetime64[ns, UTC]", "object", float, "object", "object", float, float),
        strict=True)})


def _leads(frame: pd.DataFrame, kind: str, person: pd.Series, score: np.ndarray, ftype: np.ndarray,
           entity: pd.Series, time_col: str, duration: np.ndarray | None = None,
           amount: np.ndarray | None = None) -> pd.DataFrame:
    n = len(frame)
    return pd.DataFrame({
        "lead_id": (frame["event_id"].astype(str) + ":" + kind).to_numpy(),
        "person_id": person.to_numpy(dtype=object),
        "time": _utc_ns(frame[time_col]).to_numpy(),
        "kind": kind,
        "score": score.astype(float),
        "fraud_type": ftype,
        "entity": entity.astype(str).to_numpy(),
        "duration_s": np.zeros(n) if duration is None else duration.astype(float),
        "amount": np.zeros(n) if amount is None else amount.astype(float),
    })


def _utc_ns(values: pd.Series) -> pd.Series:
    """Times as nanosecond UTC (sources differ in resolution; merges and searches need one)."""
    return pd.to_datetime(values, utc=True).astype("datetime64[ns, UTC]")


def _ns(values: pd.Series) -> np.ndarray:
    return pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("ns").asi8


def _owner(series: pd.Series, owners: Mapping[str, str]) -> pd.Series:
    """The person holding each identifier (None when unknown), aligned with ``series``."""
    table = owners if isinstance(owners, pd.Series) else pd.Series(owners, dtype=object)
    pos = pd.Index(table.index.astype(str)).get_indexer(series.astype(str).to_numpy())
    values = np.where(pos >= 0, table.to_numpy(dtype=object)[np.maximum(pos, 0)] if len(table) else None, None)
    return pd.Series(values, index=series.index, dtype=object)


def _call_leads(calls: pd.DataFrame, risk: EntityRisk, d: Directory) -> list[pd.DataFrame]:
    out = []
    times = pd.to_datetime(calls["start"], utc=True)
    numbers = {side: canonical_numbers(calls[side]) for side in ("caller", "callee")}
    # a call from a risky number to a resident, then a resident calling a risky number back
    for risky_side, person_side in (("caller", "callee"), ("callee", "caller")):
        score, ftype = risk.lookup(risk.numbers, numbers[risky_side], times)
        person = _owner(numbers[person_side], d.number_owner)
        keep = (score >= risk.min_score) & person.notna().to_numpy()
        sel = calls[keep]
        out.append(_leads(sel, "risky_call", person[keep], score[keep], ftype[keep], sel[risky_side], "start",
                          duration=sel["duration_s"].to_numpy(dtype=float)))
    return out


def _sms_leads(sms: pd.DataFrame, risk: EntityRisk, d: Directory) -> pd.DataFrame:
    times = pd.to_datetime(sms["time"], utc=True)
    score, ftype = risk.lookup(risk.numbers, canonical_numbers(sms["sender"]), times)
    if risk.text_scorer is not None and len(sms):
        # texts repeat (templates, campaigns): score each distinct text once
        codes, uniques = pd.factorize(sms["text"])
        t_score, t_type = risk.text_scorer(list(uniques))
        t_score = np.asarray(t_score, dtype=float)[codes]
        t_type = np.asarray(list(t_type), dtype=object)[codes]
        better = t_score > score
        score = np.where(better, t_score, score)
        ftype = np.where(better & (ftype == None), t_type, ftype)  # noqa: E711 (element-wise)
    person = _owner(canonical_numbers(sms["receiver"]), d.number_owner)
    keep = (score >= risk.min_score) & person.notna().to_numpy()
    return _leads(sms[keep], "fraud_sms", person[keep], score[keep], ftype[keep], sms["sender"][keep], "time")


def _url_leads(visits: pd.DataFrame, risk: EntityRisk, d: Directory) -> pd.DataFrame:
    times = pd.to_datetime(visits["time"], utc=True)
    codes, urls = pd.factorize(visits["url"].astype(str))  # a city visits few distinct URLs: parse each once
    host = pd.Series(np.array([host_of(u) for u in urls], dtype=object)[codes], index=visits.index)
    score, ftype = risk.lookup(risk.domains, host, times)
    # a listed registered domain covers its sub-domains: try the host without its first label
    parent = host.fillna("").str.split(".", n=1).str[1].fillna("")
    p_score, p_type = risk.lookup(risk.domains, parent, times)
    better = p_score > score
    score, ftype = np.where(better, p_score, score), np.where(better, p_type, ftype)
    person = visits["person_id"]
    if "number" in visits:
        person = person.fillna(_owner(canonical_numbers(visits["number"]), d.number_owner))
    keep = (score >= risk.min_score) & person.notna().to_numpy()
    return _leads(visits[keep], "fraud_url", person[keep], score[keep], ftype[keep], host[keep], "time")


def _app_leads(installs: pd.DataFrame, risk: EntityRisk) -> list[pd.DataFrame]:
    times = pd.to_datetime(installs["time"], utc=True)
    score, ftype = risk.lookup(risk.apps, installs["package"], times)
    by_signer, signer_type = risk.lookup(risk.apps, installs["signer"], times)  # a listed signer taints its apps
    better = by_signer > score
    score, ftype = np.where(better, by_signer, score), np.where(better, signer_type, ftype)
    has_person = installs["person_id"].notna().to_numpy()
    fraud = (score >= risk.min_score) & has_person
    remote = installs["package"].isin(risk.remote_apps).to_numpy() & has_person & ~fraud
    return [
        _leads(installs[fraud], "fraud_app", installs["person_id"][fraud], score[fraud], ftype[fraud],
               installs["package"][fraud], "time"),
        _leads(installs[remote], "remote_app", installs["person_id"][remote], np.ones(int(remote.sum())),
               np.full(int(remote.sum()), None, dtype=object), installs["package"][remote], "time"),
    ]


def _transfer_leads(transfers: pd.DataFrame, contacts: pd.DataFrame, risk: EntityRisk, d: Directory,
                    state: LeadState) -> tuple[LeadState, list[pd.DataFrame]]:
    """Transfers to risky payees, first transfers to new payees and large transfers after a risky contact."""
    t = transfers.assign(time=_utc_ns(transfers["time"])).sort_values("time", kind="stable")
    t = t.assign(person_id=_owner(t["payer_account"], d.account_owner).astype(object))
    t = t[t["person_id"].notna()].reset_index(drop=True)
    if t.empty:
        return state, []
    amount = t["amount"].astype(float).to_numpy()
    score, ftype = risk.lookup(risk.accounts, t["payee_account"], t["time"])
    pair = pd.util.hash_array((t["payer_account"].astype(str) + "|" + t["payee_account"].astype(str)).to_numpy())
    new = ~np.isin(pair, state.seen_pairs) & ~pd.Series(pair).duplicated().to_numpy()

    habit = state.habits.reindex(t["person_id"])
    known = habit["n"].fillna(0).to_numpy() >= 3
    typical = np.exp(habit["log_sum"].to_numpy() / np.maximum(habit["n"].to_numpy(), 1))
    large = np.where(known, amount >= np.maximum(LARGE_FACTOR * typical, LARGE_MIN_YUAN), amount >= LARGE_ALONE_YUAN)

    # the latest risky contact before each transfer: remembered ones plus this batch's
    history = pd.concat([
        pd.DataFrame({"person_id": state.last_contact.index.astype(object), "contact": state.last_contact.to_numpy()}),
        contacts[["person_id", "time"]].rename(columns={"time": "contact"}),
    ], ignore_index=True).dropna()
    history["person_id"] = history["person_id"].astype(object)
    history["contact"] = _utc_ns(history["contact"])
    history = history.sort_values("contact")
    history["time"] = history["contact"]
    joined = pd.merge_asof(t[["person_id", "time"]].reset_index(), history, on="time", by="person_id",
                           direction="backward").set_index("index").sort_index()
    since = (t["time"] - joined["contact"]).to_numpy()
    recent = pd.notna(since) & (since <= CONTACT_MEMORY.to_timedelta64())
    soon = pd.notna(since) & (since <= LARGE_AFTER.to_timedelta64())

    risky = score >= risk.min_score
    new_lead = new & ~risky & (recent | large)
    large_lead = large & soon
    none = np.full(len(t), None, dtype=object)
    out = [
        _leads(t[risky], "risky_payee", t["person_id"][risky], score[risky], ftype[risky], t["payee_account"][risky],
               "time", amount=amount[risky]),
        _leads(t[new_lead], "new_payee", t["person_id"][new_lead], np.where(recent, 0.8, 0.5)[new_lead],
               none[new_lead], t["payee_account"][new_lead], "time", amount=amount[new_lead]),
        _leads(t[large_lead], "large_after_contact", t["person_id"][large_lead], np.full(int(large_lead.sum()), 0.9),
               none[large_lead], t["payee_account"][large_lead], "time", amount=amount[large_lead]),
    ]
    logs = pd.DataFrame({"person_id": t["person_id"], "n": 1.0, "log_sum": np.log(np.maximum(amount, 0.01))})
    habits = state.habits.add(logs.groupby("person_id")[["n", "log_sum"]].sum(), fill_value=0)
    seen = np.union1d(state.seen_pairs, pair)
    return LeadState(seen, habits, state.last_contact), out


def extract_leads(state: LeadState, events: Mapping[str, pd.DataFrame], risk: EntityRisk,
                  directory: Directory) -> tuple[LeadState, pd.DataFrame]:
    """Leads found in one batch of events (frames keyed by event kind, record field names as columns).

    Batches must come in time order; within a batch any order is fine.
    """
    parts: list[pd.DataFrame] = []
    if len(calls := events.get("call", pd.DataFrame())):
        parts += _call_leads(calls, risk, directory)
    if len(sms := events.get("sms", pd.DataFrame())):
        parts.append(_sms_leads(sms, risk, directory))
    if len(visits := events.get("url_visit", pd.DataFrame())):
        parts.append(_url_leads(visits, risk, directory))
    if len(installs := events.get("app_install", pd.DataFrame())):
        parts += _app_leads(installs, risk)
    parts = [p for p in parts if len(p)]
    contacts = pd.concat(parts, ignore_index=True) if parts else _empty_leads()
    if len(transfers := events.get("transfer", pd.DataFrame())):
        state, money = _transfer_leads(transfers, contacts, risk, directory, state)
        parts += [p for p in money if len(p)]
    if len(contacts):
        latest = contacts.groupby("person_id")["time"].max()
        state.last_contact = pd.concat([state.last_contact, latest]).groupby(level=0).max()
    leads = pd.concat(parts, ignore_index=True) if parts else _empty_leads()
    return state, leads.sort_values(["time", "lead_id"], kind="stable").reset_index(drop=True)


# --- fusion features -------------------------------------------------------------------------------------

FEATURES: tuple[str, ...] = (
    *(f"n_{k}_{w}" for k in LEAD_KINDS for w in WINDOWS),
    *(f"s_{k}_30d" for k in LEAD_KINDS),
    "call_s_24h", "call_s_7d", "max_call_s_7d", "amount_24h", "amount_7d",
    *(f"ev_{t}" for t in FRAUD_TYPES),
    "n_types_30d", "h_since_first_30d", "age",
    *(f"cur_{k}" for k in LEAD_KINDS), "cur_score", "cur_log_amount", "cur_duration_s",
)


@dataclass
class FusionState:
    """The leads of the last 30 days of each person (what the windows need to look back at)."""

    recent: pd.DataFrame = field(default_factory=_empty_leads)


def _window_sums(key: np.ndarray, values: np.ndarray, width: int, at: np.ndarray) -> np.ndarray:
    """For rows sorted by ``key`` (person code << 40 | seconds), the sum of ``values`` over (key - width, key]
    at the rows ``at``.

    Hand-written with searchsorted and cumulative sums because pandas' grouped time rolling costs a Python
    call per person, which is too slow for a city's worth of persons.
    """
    start = np.searchsorted(key, key[at] - width, side="right")
    cs = np.concatenate([np.zeros((1, *values.shape[1:])), np.cumsum(values, axis=0)])
    return cs[at + 1] - cs[start]


def fusion_features(state: FusionState, leads: pd.DataFrame, age: Mapping[str, int] | None = None
                    ) -> tuple[FusionState, pd.DataFrame]:
    """One feature row per new lead (in ``leads`` order): the person's situation at that lead's time.

    Returns the rows with ``lead_id, person_id, time, fraud_type, kind`` first, then :data:`FEATURES`.
    """
    if leads.empty:
        return state, pd.DataFrame(columns=["lead_id", "person_id", "time", "kind", "fraud_type", *FEATURES])
    new_ids = leads["lead_id"].to_numpy()
    # only the history of the persons in this batch is looked at: the cost follows the batch, not the city
    touched = state.recent["person_id"].isin(set(leads["person_id"])).to_numpy()
    everything = pd.concat([state.recent[touched], leads], ignore_index=True).drop_duplicates("lead_id", keep="last")
    everything = everything.sort_values(["person_id", "time", "lead_id"], kind="stable").reset_index(drop=True)
    code, _ = pd.factorize(everything["person_id"])
    seconds = everything["time"].astype("int64").to_numpy() // 10**9
    seconds = seconds - seconds.min()
    key = (code.astype(np.int64) << 40) | seconds

    at = np.flatnonzero(everything["lead_id"].isin(set(new_ids)).to_numpy())  # only new leads get rows
    kind = everything["kind"].to_numpy()
    onehot = np.stack([(kind == k) for k in LEAD_KINDS], axis=1).astype(float)
    # Scores count in steps of 0.1: the text model gives every copy of one SMS template the same exact score,
    # and a model that could read 0.990992 learnt which templates the training city's victims happened to get
    # and warned everyone who received them in the next city.
    score = np.floor(everything["score"].to_numpy(dtype=float) * 10.0) / 10.0
    duration = np.where(kind == "risky_call", everything["duration_s"].to_numpy(dtype=float), 0.0)
    amount = everything["amount"].to_numpy(dtype=float)
    ftype = everything["fraud_type"].to_numpy(dtype=object)
    type_hot = np.stack([(ftype == t) for t in FRAUD_TYPES], axis=1) * score[:, None]

    cols: dict[str, np.ndarray] = {}
    for w, span in WINDOWS.items():
        counts = _window_sums(key, onehot, int(span.total_seconds()), at)
        for i, k in enumerate(LEAD_KINDS):
            cols[f"n_{k}_{w}"] = counts[:, i]
    month = int(WINDOWS["30d"].total_seconds())
    week, day = int(WINDOWS["7d"].total_seconds()), int(WINDOWS["24h"].total_seconds())
    risk_sums = _window_sums(key, onehot * score[:, None], month, at)
    for i, k in enumerate(LEAD_KINDS):
        cols[f"s_{k}_30d"] = risk_sums[:, i]
    cols["call_s_24h"] = _window_sums(key, duration, day, at)
    cols["call_s_7d"] = _window_sums(key, duration, week, at)
    # the longest risky call of the week: grooming calls are long, stray calls short
    cols["max_call_s_7d"] = _rolling_max(key, duration, week)[at]
    cols["amount_24h"] = np.log1p(_window_sums(key, amount, day, at))
    cols["amount_7d"] = np.log1p(_window_sums(key, amount, week, at))
    evidence = _window_sums(key, type_hot, month, at)
    for i, t in enumerate(FRAUD_TYPES):
        cols[f"ev_{t}"] = evidence[:, i]
    cols["n_types_30d"] = (evidence > 0).sum(axis=1).astype(float)
    first = np.searchsorted(key, key[at] - month, side="right")
    cols["h_since_first_30d"] = (seconds[at] - seconds[first]) / 3600.0
    cols["age"] = everything["person_id"].iloc[at].map(age or {}).astype(float).fillna(-1.0).to_numpy()
    for i, k in enumerate(LEAD_KINDS):
        cols[f"cur_{k}"] = onehot[at, i]
    cols["cur_score"] = score[at]
    cols["cur_log_amount"] = np.log1p(amount[at])
    cols["cur_duration_s"] = duration[at]

    head = everything[["lead_id", "person_id", "time", "kind", "fraud_type"]].iloc[at].reset_index(drop=True)
    table = pd.concat([head, pd.DataFrame(cols, columns=list(FEATURES))], axis=1)
    rows = table.set_index("lead_id").loc[new_ids].reset_index()
    kept = pd.concat([state.recent[~touched], everything], ignore_index=True)
    horizon = leads["time"].max() - WINDOWS["30d"]
    state = FusionState(kept[kept["time"] > horizon].reset_index(drop=True))
    return state, rows


def _rolling_max(key: np.ndarray, values: np.ndarray, width: int) -> np.ndarray:
    """Max of ``values`` over (key - width, key] for rows sorted by key: a sparse table of range maxima."""
    n = len(values)
    if n == 0:
        return values
    start = np.searchsorted(key, key - width, side="right")
    levels = [values]
    span = 1
    while span * 2 <= n:
        prev = levels[-1]
        levels.append(np.maximum(prev[:-span], prev[span:]) if len(prev) > span else prev)
        span *= 2
    end = np.arange(n) + 1
    length = end - start
    j = np.floor(np.log2(np.maximum(length, 1))).astype(int)
    out = np.empty(n)
    for level in np.unique(j):
        sel = j == level
        table = levels[level]
        out[sel] = np.maximum(table[start[sel]], table[end[sel] - (1 << level)])
    return out
