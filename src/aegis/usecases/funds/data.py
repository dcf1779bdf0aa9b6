"""Where a chase reads transfers from: the store's events, or a simulated city's files (the demo, the evaluation)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from aegis.actions.orders import (
    FundsPolicy,
)
from aegis.funds import Seed, TransferIndex
from aegis.reasons import MissingFile, NotFound, Reason
from aegis.store.repositories import EventRepository
from aegis.usecases.actor import mask
from aegis.usecases.funds.records import FOREIGN_CURRENCY, ChaseError

TRANSFER_COLUMNS = [
    "event_id",
    "payer_account",
    "payee_account",
    "payer_bank",
    "payee_bank",
    "amount",
    "time",
]
#: the currency chases follow and order in: the amounts of orders, returns and reasons are yuan
YUAN = "CNY"


@dataclass
class FundsData:
    """The transfers a chase follows, with each account's bank, and the victims' reports and accounts."""

    transfers: pd.DataFrame
    reports: pd.DataFrame = field(default_factory=pd.DataFrame)
    openings: pd.DataFrame = field(default_factory=pd.DataFrame)
    large_merchants: frozenset[str] | None = None
    _index: TransferIndex | None = field(default=None, repr=False)
    _banks: dict[str, str] | None = field(default=None, repr=False)

    @classmethod
    def from_store(cls, engine: Engine) -> FundsData:
        events = EventRepository(engine)
        return cls(
            transfers=events.frame("transfer", [*TRANSFER_COLUMNS, "channel", "currency"]),
            reports=events.frame("report", ["event_id", "victim_id", "time", "loss", "accounts"]),
            openings=events.frame("account_opening", ["person_id", "account", "institution"]),
        )

    @classmethod
    def from_sim(cls, sim_dir: Path) -> FundsData:
        events = Path(sim_dir) / "events"
        if not (events / "transfer.parquet").is_file():
            raise MissingFile(Reason("{path}：没有这个文件（{sim}是模拟器的输出吗？）",
                                     path=str(events / "transfer.parquet"), sim=str(sim_dir)))
        return cls(
            transfers=pd.read_parquet(events / "transfer.parquet",
                                      columns=[*TRANSFER_COLUMNS, "channel", "currency"]),
            reports=pd.read_parquet(
                events / "report.parquet", columns=["event_id", "victim_id", "time", "loss", "accounts"]
            ),
            openings=pd.read_parquet(
                events / "account_opening.parquet", columns=["person_id", "account", "institution"]
            ),
        )

    @property
    def index(self) -> TransferIndex:
        if self._index is None:
            transfers = self.transfers
            if "currency" in transfers.columns:
                foreign = transfers["currency"].notna() & (transfers["currency"] != YUAN)
                if foreign.any():
                    channel = transfers["channel"] if "channel" in transfers.columns else None
                    transfers = transfers.assign(channel=channel).astype({"channel": object})
                    transfers.loc[foreign, "channel"] = FOREIGN_CURRENCY
            self._index = TransferIndex.from_table(transfers, source="transfers")
        return self._index

    def bank_of(self, account: str) -> str:
        if self._banks is None:
            t = self.transfers
            pairs = pd.concat(
                [
                    pd.DataFrame({"a": t["payer_account"], "b": t["payer_bank"]}),
                    pd.DataFrame({"a": t["payee_account"], "b": t["payee_bank"]}),
                ]
            ).drop_duplicates("a")
            self._banks = dict(zip(pairs["a"], pairs["b"], strict=True))
        return self._banks.get(account, "unknown")

    def sinks(self, policy: FundsPolicy) -> dict[str, str]:
        """Accounts where tracing stops: the policy's known sinks and the large merchants of the data."""
        if self.large_merchants is None:
            payers = self.transfers.groupby("payee_account")["payer_account"].nunique()
            self.large_merchants = frozenset(payers.index[payers >= policy.sinks.large_merchant_min_payers])
        return {**dict.fromkeys(self.large_merchants, "large_merchant"), **policy.sinks.accounts}

    def restricted(self, accounts: Iterable[str], blocked: Iterable[str] = ()) -> FundsData:
        """Only the transfers touching ``accounts`` (their whole ledgers), without the ``blocked`` ones.

        A trace only ever reads the ledgers of the accounts it reaches, so restricting to a superset of them
        changes nothing and makes rebuilding the index cheap; dropping transfers models holds.
        """
        keep = set(accounts)
        t = self.transfers
        mask = t["payer_account"].isin(keep) | t["payee_account"].isin(keep)
        blocked = set(blocked)
        if blocked:
            mask &= ~t["event_id"].isin(blocked)
        return replace(self, transfers=t[mask].reset_index(drop=True), _index=None, _banks=self._banks)

    def check_losses(self, victim: str, rows: dict[str, int]) -> None:
        """Refuse loss transfers that the victim did not pay: a chase orders banks to stop payments on the
        accounts the money reached, so a wrong transfer would freeze innocent people's money. A loss is paid
        from an account the victim opened (the store's account openings)."""
        own = set(self.openings.loc[self.openings["person_id"] == victim, "account"])
        if not own:
            raise NotFound(Reason("victim {victim}：库中没有此人开立的账户", victim=victim))
        for event_id, row in rows.items():
            payer = self.index.account_label(int(self.index.payer[row]))
            if payer not in own:
                raise ChaseError(Reason("损失转账{event}：付款账户{account}不是受害人{victim}的账户", event=event_id,
                                        account=mask(payer), victim=victim))

    def not_yuan(self, rows: dict[str, int]) -> dict[str, str]:
        """The currency of each of these transfers paid in another currency than yuan."""
        index = self.index
        if index.channel is None or FOREIGN_CURRENCY not in index.channels:
            return {}
        foreign = [event_id for event_id, row in rows.items() if index.channel_name(row) == FOREIGN_CURRENCY]
        found = self.transfers.loc[self.transfers["event_id"].isin(foreign), ["event_id", "currency"]]
        return dict(zip(found["event_id"], found["currency"], strict=True))

    def check_currency(self, rows: dict[str, int]) -> None:
        """Refuse loss transfers paid in another currency than yuan: the chase's sums would be wrong."""
        foreign = sorted(self.not_yuan(rows).items())
        if foreign:
            event_id, currency = foreign[0]
            raise ChaseError(Reason("损失转账{event}：以{currency}支付；追查只跟踪人民币（{yuan}）转账", event=event_id,
                                    currency=currency, yuan=YUAN))

    def report_seeds(self, report_event_id: str) -> tuple[str, list[Seed]]:
        """The victim and the loss transfers of a report: from the victim's accounts to those reported."""
        rows = (
            self.reports[self.reports["event_id"] == report_event_id] if len(self.reports) else self.reports
        )
        if not len(rows):
            raise NotFound(Reason("report {report}：没有这条报案", report=report_event_id))
        report = rows.iloc[0]
        payees = set(report["accounts"] if report["accounts"] is not None else [])
        if not payees:
            raise ChaseError(Reason("报案{report}：未写明收款账户；请改为给出损失转账", report=report_event_id))
        own = set(self.openings.loc[self.openings["person_id"] == report["victim_id"], "account"])
        index = self.index
        upto = index.rows_before(pd.Timestamp(report["time"]).to_pydatetime())
        rows = [r for account in sorted(own) for r in self.out_rows(account) if r < upto]
        losses = [
            index.event_id(r) for r in sorted(rows) if index.account_label(int(index.payee[r])) in payees
        ]
        if not losses:
            raise ChaseError(Reason("报案{report}：受害人的账户没有转入所报账户的转账", report=report_event_id))
        victim = str(report["victim_id"])
        return victim, [Seed(event_id=e, victim=victim) for e in losses]

    def out_rows(self, account: str) -> np.ndarray:
        """Index rows of the account's outgoing transfers, in time order."""
        index = self.index
        code = index.account_code(account)
        if code is None:
            return np.zeros(0, dtype=np.int64)
        return index.out_rows[index.out_offsets[code] : index.out_offsets[code + 1]]
