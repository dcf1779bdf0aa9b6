"""Per-number behaviour profiles from call and SMS records, and features over the number-to-number graph.

A *number profile* is one row per phone number with the columns of :data:`PROFILE_COLUMNS` (what each one
means is written there). The same column names are filled by :func:`profile_from_events` from Aegis
:class:`~aegis.events.models.Call` / :class:`~aegis.events.models.Sms` records and by the Sichuan importer
(:mod:`aegis.datasets.sichuan`) from its pre-aggregated columns, so one number detector can be trained on
either; a column a source cannot fill is left out (the detector reads it as missing).

Device fields (``imei``, ``imsi``, ``cell_id``) of a call belong to the party whose network recorded it: the
caller when ``direction`` is ``out``, the callee when it is ``in``.

All functions are pure (pandas in, pandas out), so the embedded loop and a distributed job call the same
code.

>>> calls = pd.DataFrame({"caller": ["a", "a", "b"], "callee": ["b", "c", "a"],
...                       "start": pd.to_datetime(["2026-01-05 02:00", "2026-01-05 10:00",
...                                                "2026-01-06 11:00"], utc=True),
...                       "duration_s": [5, 60, 30]})
>>> profile = profile_from_events(calls)
>>> profile.loc["a", ["n_calls", "n_out_calls", "n_callees", "callback_rate"]].tolist()
[3.0, 2.0, 2.0, 0.5]
"""

from __future__ import annotations

import re
import weakref

import numpy as np
import pandas as pd
import scipy.sparse as sp

from aegis.events.models import CHINA_TZ
from aegis.events.numbers import canonical_number

PROFILE_COLUMNS: dict[str, str] = {
    # calls
    "n_calls": "call records, both directions",
    "n_out_calls": "outgoing calls",
    "out_share": "outgoing calls / all calls",
    "n_callees": "distinct counterparties of calls",
    "calls_per_callee_mean": "calls per counterparty: mean",
    "calls_per_callee_median": "calls per counterparty: median",
    "calls_per_callee_max": "calls per counterparty: max",
    "dur_per_callee_mean": "total call seconds per counterparty: mean",
    "dur_per_callee_median": "total call seconds per counterparty: median",
    "dur_per_callee_max": "total call seconds per counterparty: max",
    "dur_mean": "call duration (s): mean",
    "dur_median": "call duration (s): median",
    "dur_max": "call duration (s): max",
    "dur_min": "call duration (s): min",
    "call_hour_mode": "most frequent hour of day of calls (China time)",
    "call_hour_mode_count": "calls in that hour",
    "call_hour_nunique": "distinct hours of day with calls",
    "call_day_mode": "most frequent day of month of calls",
    "call_day_mode_count": "calls on that day",
    "call_day_nunique": "distinct days of month with calls",
    "n_imei": "distinct handsets (IMEI) the number used",
    "n_places": "distinct places of calls (cells; cities in Sichuan)",
    # SIM-box and call-centre behaviour
    "n_imsi": "distinct SIMs (IMSI) the number used",
    "imsis_per_imei_max": "most SIMs seen on one of the number's handsets (many: SIM-box, 猫池)",
    "short_out_share": "share of outgoing calls shorter than SHORT_CALL_S",
    "callback_rate": "share of called numbers that also called this number",
    "night_share": "share of calls between 00:00 and 06:00 China time",
    # SMS
    "n_sms": "SMS, both directions",
    "n_sms_peers": "distinct SMS counterparties",
    "sms_per_peer": "SMS per counterparty",
    "n_sms_in": "SMS received",
    "sms_in_share": "SMS received / all SMS",
    "sms_hour_mode": "most frequent hour of day of SMS",
    "sms_hour_mode_count": "SMS in that hour",
    "sms_hour_nunique": "distinct hours of day with SMS",
    "sms_day_mode": "most frequent day of month of SMS",
    "sms_day_mode_count": "SMS on that day",
    "sms_day_nunique": "distinct days of month with SMS",
    # caller-ID spoofing heuristics on the number itself
    "id_short_code": "1 when the number looks like an official service or short code (110, 955xx, 10086...)",
    "id_odd_length": "1 when a +86 / 0086 number does not have 11 national digits",
    "id_foreign": "1 when the number has an international prefix other than China's",
}
"""Profile columns shared by every source, with their meaning."""

SHORT_CALL_S = 10
"""Outgoing calls shorter than this are 'short' (robocalls, SIM-box bursts, one-ring scams)."""

_SHORT_CODE = re.compile(r"^(?:11[0-9]|12[0-9]{1,3}|9[56][0-9]{3,4}|100[0-9]{2}|400[0-9]{7}|800[0-9]{7})$")
_INTERNATIONAL = re.compile(r"^(?:\+|00)([0-9]+)$")


def canonical_numbers(numbers: pd.Series) -> pd.Series:
    """Each number of a column in its canonical form (:func:`~aegis.events.numbers.canonical_number`), so that a
    CDR's +8613912345678 and a request's 13912345678 are one number; each distinct value is worked out once."""
    distinct = numbers.dropna().unique()
    return numbers.map(dict(zip(distinct, map(canonical_number, distinct), strict=True)))


def spoofing_flags(numbers: pd.Series) -> pd.DataFrame:
    """Caller-ID heuristics on the number strings: official-looking short codes, odd +86 lengths, foreign
    prefixes. A genuine short code never originates from a subscriber line, so on a CDR it means spoofing."""
    text = numbers.astype(str).str.replace(r"[\s\-]", "", regex=True)
    international = text.str.extract(_INTERNATIONAL, expand=False)
    chinese = international.str.startswith("86", na=False)
    return pd.DataFrame(
        {
            "id_short_code": text.str.fullmatch(_SHORT_CODE).astype(float),
            "id_odd_length": (chinese & (international.str.len() != 13)).astype(float),
            "id_foreign": (international.notna() & ~chinese).astype(float),
        },
        index=numbers.index,
    )


def _mode_stats(keys: pd.Series, values: pd.Series, prefix: str) -> pd.DataFrame:
    """Mode, count at the mode and number of distinct values of ``values`` per key."""
    counts = pd.DataFrame({"k": keys.to_numpy(), "v": values.to_numpy()}).value_counts().reset_index()
    top = counts.sort_values(["k", "count", "v"], ascending=[True, False, True]).drop_duplicates("k")
    return pd.DataFrame(
        {
            f"{prefix}_mode": top.set_index("k")["v"].astype(float),
            f"{prefix}_mode_count": top.set_index("k")["count"].astype(float),
            f"{prefix}_nunique": counts.groupby("k").size().astype(float),
        }
    )


def _local(times: pd.Series) -> pd.Series:
    times = pd.to_datetime(times, utc=True)
    return times.dt.tz_convert(CHINA_TZ)


def _call_profile(calls: pd.DataFrame) -> pd.DataFrame:
    calls = calls.copy()
    direction = calls["direction"].astype(str) if "direction" in calls else pd.Series("out", index=calls.index)
    # the party that owns the device fields (see the module docstring)
    calls["owner"] = np.where(direction == "in", calls["callee"], calls["caller"])
    both = pd.concat(
        [
            calls.assign(number=calls["caller"], peer=calls["callee"], out=1),
            calls.assign(number=calls["callee"], peer=calls["caller"], out=0),
        ],
        ignore_index=True,
    )
    local = _local(both["start"])
    both["hour"], both["day"] = local.dt.hour, local.dt.day
    both["short_out"] = (both["out"] == 1) & (both["duration_s"] < SHORT_CALL_S)
    by = both.groupby("number")
    profile = pd.DataFrame(
        {
            "n_calls": by.size(),
            "n_out_calls": by["out"].sum(),
            "n_callees": by["peer"].nunique(),
            "dur_mean": by["duration_s"].mean(),
            "dur_median": by["duration_s"].median(),
            "dur_max": by["duration_s"].max(),
            "dur_min": by["duration_s"].min(),
            "night_share": by["hour"].apply(lambda h: float((h < 6).mean())),
        }
    ).astype(float)
    profile["out_share"] = profile["n_out_calls"] / profile["n_calls"]
    n_out = profile["n_out_calls"].replace(0, np.nan)
    profile["short_out_share"] = by["short_out"].sum() / n_out
    pairs = both.groupby(["number", "peer"]).agg(calls=("out", "size"), seconds=("duration_s", "sum"))
    per_peer = pairs.groupby(level="number")
    for name, column in (("calls_per_callee", "calls"), ("dur_per_callee", "seconds")):
        profile[f"{name}_mean"] = per_peer[column].mean()
        profile[f"{name}_median"] = per_peer[column].median()
        profile[f"{name}_max"] = per_peer[column].max()
    called = set(zip(calls["caller"], calls["callee"], strict=True))
    out_pairs = pd.DataFrame(sorted(called), columns=["number", "peer"])
    out_pairs["back"] = [(b, a) in called for a, b in zip(out_pairs["number"], out_pairs["peer"], strict=True)]
    profile["callback_rate"] = out_pairs.groupby("number")["back"].mean()
    profile = profile.join(_mode_stats(both["number"], both["hour"], "call_hour"))
    profile = profile.join(_mode_stats(both["number"], both["day"], "call_day"))
    for field, name in (("imei", "n_imei"), ("imsi", "n_imsi"), ("cell_id", "n_places")):
        if field in calls and calls[field].notna().any():
            profile[name] = calls.dropna(subset=[field]).groupby("owner")[field].nunique()
    if {"imei", "imsi"} <= set(calls.columns) and calls["imei"].notna().any():
        devices = calls.dropna(subset=["imei", "imsi"])
        sims_on = devices.groupby("imei")["imsi"].nunique()
        used = devices[["owner", "imei"]].drop_duplicates()
        profile["imsis_per_imei_max"] = used.assign(sims=used["imei"].map(sims_on)).groupby("owner")["sims"].max()
    return profile


def _sms_profile(sms: pd.DataFrame) -> pd.DataFrame:
    both = pd.concat(
        [
            sms.assign(number=sms["sender"], peer=sms["receiver"], inbound=0),
            sms.assign(number=sms["receiver"], peer=sms["sender"], inbound=1),
        ],
        ignore_index=True,
    )
    local = _local(both["time"])
    by = both.groupby("number")
    profile = pd.DataFrame(
        {"n_sms": by.size(), "n_sms_peers": by["peer"].nunique(), "n_sms_in": by["inbound"].sum()}
    ).astype(float)
    profile["sms_per_peer"] = profile["n_sms"] / profile["n_sms_peers"]
    profile["sms_in_share"] = profile["n_sms_in"] / profile["n_sms"]
    profile = profile.join(_mode_stats(both["number"], local.dt.hour, "sms_hour"))
    return profile.join(_mode_stats(both["number"], local.dt.day, "sms_day"))


def profile_from_events(calls: pd.DataFrame, sms: pd.DataFrame | None = None,
                        numbers: pd.Index | list[str] | None = None) -> pd.DataFrame:
    """One profile row per number (index ``number``) over all the given records.

    ``calls`` has the columns of :class:`~aegis.events.models.Call` (``direction``, ``cell_id``, ``imei``,
    ``imsi`` optional); ``sms`` those of :class:`~aegis.events.models.Sms`. The window is whatever the
    frames hold: cut them first to profile a month or a day. ``numbers`` picks (and orders) the rows;
    by default every number seen. Counts of numbers with no records of a kind are 0, ratios are missing.
    """
    parts = [_call_profile(calls)] if len(calls) else []
    if sms is not None and len(sms):
        parts.append(_sms_profile(sms))
    profile = pd.concat(parts, axis=1) if parts else pd.DataFrame()
    index = pd.Index(numbers if numbers is not None else profile.index, dtype=str, name="number")
    profile = profile.reindex(index)
    counts = [c for c in ("n_calls", "n_out_calls", "n_callees", "n_sms", "n_sms_peers", "n_sms_in")
              if c in profile]
    profile[counts] = profile[counts].fillna(0.0)
    profile = profile.join(spoofing_flags(index.to_series()))
    return profile[[c for c in PROFILE_COLUMNS if c in profile.columns]]


def call_graph(calls: pd.DataFrame, sms: pd.DataFrame | None = None) -> pd.DataFrame:
    """The undirected number-to-number graph: one row ``a, b`` (``a < b``) per pair that called or texted."""
    pairs = [calls[["caller", "callee"]].to_numpy(dtype=str)]
    if sms is not None and len(sms):
        pairs.append(sms[["sender", "receiver"]].to_numpy(dtype=str))
    both = np.concatenate(pairs) if pairs else np.empty((0, 2), dtype=str)
    both = np.sort(both, axis=1)
    return pd.DataFrame(both, columns=["a", "b"]).drop_duplicates().reset_index(drop=True)


GRAPH_COLUMNS: dict[str, str] = {
    "degree": "distinct numbers in contact",
    "nb_fraud": "known fraud numbers in contact",
    "nb_normal": "known normal numbers in contact",
    "nb_fraud_share": "known fraud / known neighbours",
    "nb_known_share": "neighbours with a known label / all neighbours",
    "nb2_fraud_share": "the same two hops away (random-walk weighted, never back to the number itself)",
}
"""Graph features per number, with their meaning."""


class ContactGraph:
    """The undirected contact graph indexed once: node ids -> rows of a CSR adjacency (0/1, no self-loops).

    Building it converts and sorts every edge; scoring a few numbers then touches only their rows. Get it
    through :func:`contact_graph`, which keeps one per edge frame, so the caller that passes the same
    416k-edge frame with every request pays for the conversion once.
    """

    def __init__(self, edges: pd.DataFrame) -> None:
        ends = np.concatenate([edges["a"].to_numpy(dtype=str), edges["b"].to_numpy(dtype=str)])
        codes, uniques = pd.factorize(ends)
        self.ids = pd.Index(uniques, dtype=str)
        n, half = len(self.ids), len(edges)
        a, b = codes[:half], codes[half:]
        keep = a != b
        adj = sp.coo_matrix((np.ones(keep.sum()), (a[keep], b[keep])), shape=(n, n)).tocsr()
        self.adj = ((adj + adj.T) > 0).astype(float).tocsr()
        self.degree = np.asarray(self.adj.sum(axis=1)).ravel()
        self.walk = (sp.diags(1.0 / np.maximum(self.degree, 1)) @ self.adj).tocsr()
        # probability of i -> j -> i, removed from two-hop sums so a node never sees its own label
        self.back = np.asarray(self.walk.multiply(self.walk.T).sum(axis=1)).ravel()

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, nodes: pd.Index) -> np.ndarray:
        """Row of each node in the adjacency, -1 for nodes without edges."""
        return self.ids.get_indexer(nodes.astype(str))

    def indicator(self, nodes: pd.Index) -> np.ndarray:
        """1.0 at the rows of ``nodes`` that are in the graph."""
        out = np.zeros(len(self))
        rows = self.positions(nodes)
        out[rows[rows >= 0]] = 1.0
        return out


_GRAPHS: dict[int, tuple[weakref.ref[pd.DataFrame], ContactGraph]] = {}


def contact_graph(edges: pd.DataFrame) -> ContactGraph:
    """The :class:`ContactGraph` of ``edges``, built on first use and kept while the frame lives.

    Keyed by the frame object (frames are mutable and unhashable, so not by content): pass the same frame
    to reuse the index; do not edit a frame in place after it has been used.
    """
    key = id(edges)
    cached = _GRAPHS.get(key)
    if cached is not None and cached[0]() is edges:
        return cached[1]
    graph = ContactGraph(edges)
    _GRAPHS[key] = (weakref.ref(edges, lambda _: _GRAPHS.pop(key, None)), graph)
    return graph


def graph_features(edges: pd.DataFrame | ContactGraph, nodes: pd.Index, labels: pd.Series) -> pd.DataFrame:
    """Neighbourhood label statistics for ``nodes`` over the undirected graph ``edges`` (columns ``a, b``,
    or an already built :class:`ContactGraph`).

    ``labels`` maps node ids to 1 (fraud) / 0 (normal); nodes not in it are unknown. A node's own label never
    enters its own features (no self-loops, two-hop walks that return to the node are removed), so scoring a
    labelled node does not leak its label.
    """
    graph = edges if isinstance(edges, ContactGraph) else contact_graph(edges)
    labels = labels.set_axis(labels.index.astype(str))
    fraud = graph.indicator(labels.index[labels.to_numpy() == 1])
    normal = graph.indicator(labels.index[labels.to_numpy() == 0])
    rows = graph.positions(nodes)
    inside = rows[rows >= 0]
    adj, walk = graph.adj[inside], graph.walk[inside]
    degree = graph.degree[inside]
    nb_fraud, nb_normal = adj @ fraud, adj @ normal
    back = graph.back[inside]
    # two hops through the neighbours' rows only, not the whole graph
    middle = np.unique(walk.indices)
    onward = graph.walk[middle] @ np.column_stack([fraud, normal])
    two = walk[:, middle] @ onward
    two_fraud = np.clip(two[:, 0] - back * fraud[inside], 0, None)
    two_normal = np.clip(two[:, 1] - back * normal[inside], 0, None)
    known = nb_fraud + nb_normal
    two_known = two_fraud + two_normal
    with np.errstate(invalid="ignore", divide="ignore"):
        found = np.column_stack([
            degree,
            nb_fraud,
            nb_normal,
            np.where(known > 0, nb_fraud / known, np.nan),
            np.where(degree > 0, known / degree, np.nan),
            np.where(two_known > 1e-12, two_fraud / two_known, np.nan),
        ])
    # nodes without edges: degree 0, no neighbours, so no shares
    values = np.full((len(rows), len(GRAPH_COLUMNS)), np.nan)
    values[:, :3] = 0.0
    values[rows >= 0] = found
    return pd.DataFrame(values, index=nodes.astype(str), columns=list(GRAPH_COLUMNS))
