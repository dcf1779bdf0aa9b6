"""Importer for the Sichuan fraud-number aggregates (shared/datasets/cdr/sichuan).

The set (Sichuan 2020 fraud-number competition, as aggregated by the GAT-COBO authors) has one row per
number: ``node`` (its id in ``edges.csv``), ``phone_no_m`` (the hashed number), aggregates of its calls
(``voc``), SMS, app traffic and billing, and ``label`` (1 fraud, 0 normal). :data:`COLUMN_MAP` renames the
columns that mean what an Aegis profile column means (:data:`aegis.features.number_profile.PROFILE_COLUMNS`):

==========================  ============================  ===================================================
Sichuan                     Aegis profile                 note
==========================  ============================  ===================================================
opposite_count              n_calls                       call records
opposite_unique             n_callees                     distinct counterparties
voccalltype1                n_out_calls                   calltype_id 1 = outgoing
voc_calltype1               out_share
imeis                       n_imei
city_name_call              n_places                      distinct cities (Aegis: cells)
phone2opposite_{mean,...}   calls_per_callee_{mean,...}   mean, median, max
phone2oppo_sum_{mean,...}   dur_per_callee_{mean,...}     mean, median, max
call_dur_{mean,...}         dur_{mean,...}                mean, median, max, min
voc_hour_{mode,...}         call_hour_{mode,...}          mode, mode_count, nunique
voc_day_{mode,...}          call_day_{mode,...}           mode, mode_count, nunique
sms_count                   n_sms
sms_nunique                 n_sms_peers
sms_rate                    sms_per_peer
calltype_2                  n_sms_in                      SMS calltype_id 2 = received
calltype_rate               sms_in_share
hour_{mode,...}             sms_hour_{mode,...}           mode, mode_count, nunique
day_{mode,...}              sms_day_{mode,...}            mode, mode_count, nunique
==========================  ============================  ===================================================

The rest have no event-side counterpart and keep their names (``sichuan_`` prefixed so a reader knows
where they come from): ``county_name_call``, ``city_name_nunique``, ``county_name_nunique``,
``calltype_id_unique`` (roaming and call-type spread), ``busi_count`` and ``flow_*`` / ``month_ids`` /
``flow_month`` (app traffic), ``arpu_*`` (monthly billing). Empty cells are missing values.
"""

from __future__ import annotations

from functools import reduce
from pathlib import Path

import pandas as pd

from aegis.reasons import Reason
from aegis.training.task import DataError, finite, fraud_flags, id_column, read_csv

_STATS = ("mean", "median", "max")
_MODE = ("mode", "mode_count", "nunique")

COLUMN_MAP: dict[str, str] = {
    "opposite_count": "n_calls",
    "opposite_unique": "n_callees",
    "voccalltype1": "n_out_calls",
    "voc_calltype1": "out_share",
    "imeis": "n_imei",
    "city_name_call": "n_places",
    **{f"phone2opposite_{s}": f"calls_per_callee_{s}" for s in _STATS},
    **{f"phone2oppo_sum_{s}": f"dur_per_callee_{s}" for s in _STATS},
    **{f"call_dur_{s}": f"dur_{s}" for s in (*_STATS, "min")},
    **{f"voc_hour_{s}": f"call_hour_{s}" for s in _MODE},
    **{f"voc_day_{s}": f"call_day_{s}" for s in _MODE},
    "sms_count": "n_sms",
    "sms_nunique": "n_sms_peers",
    "sms_rate": "sms_per_peer",
    "calltype_2": "n_sms_in",
    "calltype_rate": "sms_in_share",
    **{f"hour_{s}": f"sms_hour_{s}" for s in _MODE},
    **{f"day_{s}": f"sms_day_{s}" for s in _MODE},
}
"""Sichuan column -> Aegis profile column, for the columns that mean the same thing."""

SICHUAN_ONLY = (
    "county_name_call", "city_name_nunique", "county_name_nunique", "calltype_id_unique", "busi_count",
    "flow_mean", "flow_median", "flow_min", "flow_max", "flow_var", "flow_sum", "month_ids", "flow_month",
    "arpu_mean", "arpu_var", "arpu_max", "arpu_min", "arpu_median", "arpu_sum", "arpu_skew", "arpu_sem",
    "arpu_quantile",
)
"""Columns kept under a ``sichuan_`` prefix."""

REQUIRED = ("node", *COLUMN_MAP, *SICHUAN_ONLY)


def _read(path: Path, ids: list[str]) -> pd.DataFrame:
    """The file with its ``ids`` columns read as written (a float column's ``3716.0``, when one is blank, is read
    back by :func:`~aegis.training.task.id_column`), the rest as pandas infers them."""
    return read_csv(path, dtype=dict.fromkeys(ids, str))


def _numeric(frame: pd.DataFrame, columns: list[str], path: Path) -> pd.DataFrame:
    out = frame[columns].apply(pd.to_numeric, errors="coerce").astype(float)
    bad = out.isna() & frame[columns].notna()
    if bad.any().any():
        column = bad.any().idxmax()
        row = int(bad[column].to_numpy().argmax()) + 1
        raise DataError(Reason("{path}：列“{column}”不是数字（第{row}行数据）", path=str(path), column=column, row=row))
    return finite(out, path)


def read_profiles(path: Path, *, labelled: bool) -> tuple[pd.DataFrame, pd.Series | None]:
    """Profiles indexed by node id (as strings, like the edges) and, when ``labelled``, the labels (0/1).

    Raises :class:`DataError` naming the file and the column when a column is missing or not numeric.
    """
    frame = _read(path, ["node"])
    required = (*REQUIRED, "label") if labelled else REQUIRED
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(Reason("{path}：缺少列“{column}”（四川汇总文件需要{columns}）", path=str(path),
                               column=missing[0], columns=", ".join(required)))
    nodes = id_column(frame["node"], path, "node")
    if labelled and nodes.duplicated().any():  # to score, a row repeated exactly is scored as the one (training.number)
        raise DataError(Reason("{path}：列“node”中“{node}”重复出现", path=str(path),
                               node=nodes[nodes.duplicated()].iloc[0]))
    profiles = _numeric(frame, [*COLUMN_MAP, *SICHUAN_ONLY], path)
    profiles = profiles.rename(columns={**COLUMN_MAP, **{c: f"sichuan_{c}" for c in SICHUAN_ONLY}})
    profiles.index = pd.Index(nodes, name="number")
    if not labelled:
        return profiles, None
    labels = fraud_flags(frame["label"])
    bad = labels.isna()
    if bad.any():
        raise DataError(Reason("{path}：列“label”须为0或1（第{row}行数据）", path=str(path),
                               row=int(bad.to_numpy().argmax()) + 1))
    return profiles, pd.Series(labels.astype(int).to_numpy(), index=profiles.index, name="label")


def is_sichuan(columns: pd.Index | list[str]) -> bool:
    """Whether a CSV header looks like the Sichuan aggregate format: its id columns, one of them is enough (so
    that a file missing the other is told which, not that it lacks an Aegis profile's ``number``)."""
    names = set(columns)
    return bool(names & {"node", "phone_no_m"}) and "number" not in names


EDGE_COLUMNS = (("node_a", "node_b"), ("a", "b"), ("caller", "callee"))
"""Accepted headers of an edge file: Sichuan's, Aegis's :func:`call_graph`, or raw caller/callee pairs."""


def read_edges(path: Path) -> pd.DataFrame:
    """An undirected edge list as ``a, b`` strings."""
    frame = _read(path, [name for pair in EDGE_COLUMNS for name in pair])
    for a, b in EDGE_COLUMNS:
        if {a, b} <= set(frame.columns):
            blank = frame[[a, b]].isna()
            if blank.any().any():  # the first blank row, in whichever of the two columns it is
                row = int(blank.any(axis=1).to_numpy().argmax())
                raise DataError(Reason("{path}：列“{column}”为空（第{row}行数据）", path=str(path),
                                       column=a if blank[a].iloc[row] else b, row=row + 1))
            return pd.DataFrame({"a": id_column(frame[a], path, a), "b": id_column(frame[b], path, b)})
    wanted = reduce(lambda first, then: Reason("{first}或{then}", first=first, then=then),
                    [Reason.literal(f"{a},{b}") for a, b in EDGE_COLUMNS])
    raise DataError(Reason("{path}：缺少列“{column}”（边文件需要列{wanted}）", path=str(path),
                           column=EDGE_COLUMNS[0][0], wanted=wanted))
