"""Importer for IBM AMLSim graphs: ``nodes.csv`` (accounts) and ``transactions.csv`` (transfers).

AMLSim (https://github.com/IBM/AMLSim, Apache-2.0) simulates a bank's transfers with laundering patterns
(cycles, fan-in, ...) planted among ordinary ones. Its files:

- accounts: ``nodeid, isFraud, init_balance, fraudStep`` (``isFraud`` 1 = account in a laundering pattern);
- transfers: ``sourceNodeId, targetNodeId, value, time`` (``time`` is a simulation step, one day).

The importer renames the transfer columns to the Aegis :class:`~aegis.events.models.Transfer` names and turns
steps into timestamps (:data:`ORIGIN` + ``time`` days), so the account profile code sees the same frame it
sees for any other source. ``fraudStep`` and ``init_balance`` are dropped: the step an account joins a
pattern is ground truth, and a bank's opening balances are not part of a transfer stream.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from aegis.features.account_profile import TransferGraph
from aegis.reasons import Reason
from aegis.training.task import DataError, fraud_flags, id_column, read_csv

FORMAT = "amlsim"
ORIGIN = pd.Timestamp("2020-01-01")
STEP = pd.Timedelta(days=1)

MAX_AMOUNT = 10**13
"""the largest transfer read: more than any bank moves at once, and below it a float still holds every cent
(``inf`` and ``1e300`` were read as amounts and summed into every profile they touched)"""
MAX_STEP = 36_525
"""the last step read, a century of days after :data:`ORIGIN` (a larger one overflowed the timestamps)"""

ACCOUNT_ID, LABEL = "nodeid", "isFraud"
TRANSFER_RENAME = {"sourceNodeId": "payer_account", "targetNodeId": "payee_account", "value": "amount",
                   "time": "time"}


def read_amlsim(accounts: Path, transfers: Path, *, labelled: bool) -> tuple[TransferGraph, np.ndarray | None]:
    """The graph (accounts in file order) and, when ``labelled``, the labels ``"1"``/``"0"`` in that order.

    Raises :class:`DataError` naming the file and the column for a missing file or column, an unreadable or
    out-of-range value or a duplicate account (unless not ``labelled`` and its rows are exact copies: the graph
    then lists it as often as the file does). The accounts file lists the accounts to learn from, score or
    measure, labelled or not: transfers may name others (a held-out share of a graph's accounts beside all its
    transfers), which are profiled as counterparties, with no label and no row of their own.
    """
    nodes = _read(accounts, [ACCOUNT_ID, *([LABEL] if labelled else [])])
    ids = id_column(nodes[ACCOUNT_ID], accounts, ACCOUNT_ID)
    duplicated = ids[ids.duplicated()]
    if len(duplicated) and labelled:  # which of two rows' labels to learn, or to measure against, is anyone's guess
        raise DataError(Reason("{path}：列“{column}”：账户{account}出现了两次", path=str(accounts), column=ACCOUNT_ID,
                               account=duplicated.iloc[0]))
    if len(duplicated):  # to score, a row repeated exactly is the account scored again (training.account)
        distinct = nodes.assign(**{ACCOUNT_ID: ids}).drop_duplicates()[ACCOUNT_ID]
        if distinct.duplicated().any():
            raise DataError(Reason("{path}：列“{column}”：账户{account}出现了不止一次，各行却不同"
                                   "（完全相同的行按同一行计分）", path=str(accounts), column=ACCOUNT_ID,
                                   account=distinct[distinct.duplicated()].iloc[0]))
    labels = None
    if labelled:
        raw = fraud_flags(nodes[LABEL])
        bad = raw.isna()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(Reason("{path}：列“{column}”：第{row}行数据为“{value}”，{expected}", path=str(accounts),
                                   column=LABEL, row=row + 1, value=nodes[LABEL].iloc[row],
                                   expected=Reason("应为0或1")))
        labels = raw.astype(int).astype(str).to_numpy()

    raw_t = _read(transfers, list(TRANSFER_RENAME))
    t = raw_t[list(TRANSFER_RENAME)].rename(columns=TRANSFER_RENAME)
    source = {v: k for k, v in TRANSFER_RENAME.items()}
    for col in ("payer_account", "payee_account"):
        t[col] = id_column(t[col], transfers, source[col])
    for col, check in (("amount", lambda s: (s > 0) & (s <= MAX_AMOUNT)), ("time", lambda s: s.between(0, MAX_STEP))):
        values = pd.to_numeric(t[col], errors="coerce")
        bad = ~check(values).fillna(False)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            value = raw_t[source[col]].iloc[row]
            expected = (Reason("应为不超过{limit:,}的正数", limit=MAX_AMOUNT) if col == "amount"
                        else Reason("应为0到{limit:,}之间的数", limit=MAX_STEP))
            raise DataError(Reason("{path}：列“{column}”：第{row}行数据为“{value}”，{expected}", path=str(transfers),
                                   column=source[col], row=row + 1, value=value, expected=expected))
        t[col] = values
    known = pd.Index(ids)
    t["time"] = ORIGIN + t["time"] * STEP
    return TransferGraph(known, t), labels


def _read(path: Path, required: list[str]) -> pd.DataFrame:
    frame = read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(Reason("{path}：缺少列“{column}”（AMLSim格式需要{columns}）", path=str(path), column=missing[0],
                               columns=", ".join(required)))
    return frame
