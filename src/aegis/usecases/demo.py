"""The demo: a small simulated city run through Aegis end to end, measured against the simulator's truth.

simulate -> ingest into the embedded store -> refresh risk profiles (number, account, URL detectors)
-> real-time decisions on a sample of SMS and calls -> warnings raised, routed and walked through the
dissuasion workflow -> money chased, stopped, frozen and returned for reported victims -> summary.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aegis.decisions.policy import Action
from aegis.events.times import CHINA_TZ
from aegis.features.url_features import host_of
from aegis.ingest import ingest_file
from aegis.names import named
from aegis.reasons import InputError, Reason
from aegis.simulate import SimConfig, simulate
from aegis.store import AuditLog, open_engine
from aegis.usecases import Say
from aegis.usecases.actor import SYSTEM
from aegis.usecases.audit import seal_audit, verify_audit
from aegis.usecases.decisions import CallIn, Decider, Decision, SmsIn, TransferIn
from aegis.usecases.profiles import refresh_profiles

#: ingest order: people and the openings that link numbers and accounts to them come first
INGEST_ORDER = (
    "person",
    "sim_opening",
    "account_opening",
    "call",
    "sms",
    "transfer",
    "url_visit",
    "app_install",
    "report",
)


@dataclass(frozen=True)
class DemoConfig:
    people: int = 5_000
    days: int = 7
    seed: int = 2026
    #: a city in a fraud wave, so that two weeks hold enough victims to measure anything
    victims_per_10k_day: float = 3.0
    workdir: Path = Path("var/demo")
    sample_decisions: int = 400


def _ratio(hits: int, of: int) -> float | None:
    """``hits / of`` to three decimals; None when there is nothing to measure (0/0), not a 0.000 that would read as
    "all of them wrong" or "none of them found"."""
    return round(hits / of, 3) if of else None


def _precision_recall(truth: np.ndarray, flagged: np.ndarray) -> dict[str, float | None]:
    hits = int((truth & flagged).sum())
    return {"precision": _ratio(hits, int(flagged.sum())), "recall": _ratio(hits, int(truth.sum()))}


def _quality(truth: pd.Series, labelled: pd.Series, active: set[str] | None = None) -> dict[str, Any]:
    """Precision and recall of the entities ``labelled`` fraud (the store's label, at the detector's own threshold)
    against ``truth``; with ``active``, also the recall among the fraud entities that did the fraud in the window
    (the rest left no trace a detector could read)."""
    y = truth.reindex(labelled.index, fill_value=False).to_numpy(bool)
    flagged = labelled.to_numpy(bool)
    quality: dict[str, Any] = {"entities": len(y), "fraud": int(y.sum()), "flagged": int(flagged.sum()),
                               **_precision_recall(y, flagged)}
    if active is not None:
        acting = y & labelled.index.isin(list(active))
        quality["active_fraud"] = int(acting.sum())
        quality["active_recall"] = _ratio(int(flagged[acting].sum()), int(acting.sum()))
    return quality


def _laundering_accounts(sim_dir: Path) -> set[str]:
    """Mule and cash-out accounts that moved a victim's money in the window (the simulator's fraud transfers);
    the other mules were only recruited, or only passed ordinary payments, while the city was watched."""
    chain = pd.read_parquet(sim_dir / "truth" / "fraud_transfers.parquet", columns=["event_id"])
    transfers = pd.read_parquet(
        sim_dir / "events" / "transfer.parquet", columns=["event_id", "payer_account", "payee_account"]
    )
    moved = transfers[transfers["event_id"].isin(chain["event_id"])]
    return set(moved["payer_account"].astype(str)) | set(moved["payee_account"].astype(str))


MARK = ".aegis-demo"
"""the file a demo leaves in its folder: the folder is a demo's, and the next demo may replace what it wrote"""

_WRITTEN = ("city", "aegis.db", "aegis.db-journal", "aegis.db-wal", "aegis.db-shm")
"""what a demo writes in its folder (the city, the SQLite store and SQLite's side files)"""


def _clear_workdir(workdir: Path) -> None:
    """Make ``workdir`` ready for a demo: a missing or empty folder is used as it is; a folder an earlier demo
    left (:data:`MARK`) loses what that demo wrote and keeps anything else. Any other folder is refused, not
    emptied: ``--workdir var`` would otherwise delete the store beside it, ``--workdir .`` the checkout."""
    if workdir.exists() and not workdir.is_dir():
        raise InputError(Reason("--workdir：{path}是文件，此处需要文件夹", path=str(workdir)))
    if workdir.is_dir() and any(workdir.iterdir()) and not (workdir / MARK).is_file():
        raise InputError(Reason("--workdir：{path}不是空的，也不是此前演示留下的文件夹（演示会在其中写入city/和"
                                "aegis.db）：请给出空文件夹或新文件夹", path=str(workdir)))
    for name in _WRITTEN:
        written = workdir / name
        if written.is_dir() and not written.is_symlink():
            shutil.rmtree(written)
        elif written.exists() or written.is_symlink():
            written.unlink()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARK).write_text("aegis demo\n", encoding="utf-8")


def run_demo(config: DemoConfig, say: Say | None = None) -> dict[str, Any]:
    say = say or (lambda _: None)
    sim_dir, db = config.workdir / "city", config.workdir / "aegis.db"
    # every value is checked before an earlier demo's city and store are removed: a typo must not cost them
    city = SimConfig(people=config.people, days=config.days, seed=config.seed,
                     victims_per_10k_day=config.victims_per_10k_day)
    _clear_workdir(config.workdir)
    summary: dict[str, Any] = {"city": {"people": config.people, "days": config.days, "seed": config.seed}}

    say(Reason("模拟一座{people:,}人的城市，共{days}天", people=config.people, days=config.days))
    simulate(city, sim_dir)
    truth = {
        name: pd.read_parquet(sim_dir / "truth" / f"{name}.parquet")
        for name in ("numbers", "accounts", "domains", "victims")
    }

    engine = open_engine(f"sqlite:///{db}")
    ingested = {}
    for kind in INGEST_ORDER:
        say(Reason("导入{kind}", kind=named(kind)))
        # a replay, as of the city's own end: it may be dated after today, as its payments decided below
        result = ingest_file(engine, kind, sim_dir / "events" / f"{kind}.parquet",
                             now=datetime.combine(city.start + timedelta(days=city.days), time(), CHINA_TZ))
        ingested[kind] = {"stored": result.stored, "rejected": result.rejected}
    summary["ingested"] = ingested

    say(Reason("刷新风险画像（号码、账户、网址检测器）"))
    refreshed = refresh_profiles(engine, SYSTEM, progress=say)
    fraud_accounts = truth["accounts"].set_index("account")["role"].isin(["mule", "cashout"])
    summary["detectors"] = {
        "number": _quality(truth["numbers"].set_index("number")["is_fraud"], refreshed.labelled["number"]),
        "account": _quality(fraud_accounts, refreshed.labelled["account"], active=_laundering_accounts(sim_dir)),
        "domain": _quality(
            truth["domains"].assign(site=truth["domains"]["domain"].map(host_of)).groupby("site")["is_fraud"].max(),
            refreshed.labelled["domain"],
        ),
    }

    say(Reason("对抽样短信和来电做实时决策"))
    summary["decisions"] = _sample_decisions(sim_dir, truth["numbers"], engine, config)

    from aegis.usecases.funds import run_demo_chase
    from aegis.usecases.warnings import raise_warnings_for_city, walk_demo_workflow, warning_stats

    say(Reason("生成预警（按人融合线索）并按辖区派发"))
    raised = raise_warnings_for_city(engine, SYSTEM)
    walked = walk_demo_workflow(engine, set(truth["victims"]["person_id"]), count=10)
    summary["warnings"] = {
        "raised": raised,
        "walked": len(walked),
        "stats": warning_stats(engine, SYSTEM),
        "victims": len(truth["victims"]),
    }

    say(Reason("对抽样转账做实时决策：按转账当时的预警与收款账户画像"))
    summary["decisions"]["transfer"] = _sample_transfer_decisions(sim_dir, engine, config)

    say(Reason("追查报案受害人的资金：止付、冻结、返还"))
    summary["funds"] = run_demo_chase(engine, sim_dir, n_victims=5)
    summary["audit_entries"] = len(AuditLog(engine).entries())
    newest, _ = seal_audit(engine, SYSTEM)  # as a scheduled job would, and checked at once
    summary["audit_seal"] = {"digest": newest.digest if newest else None,
                             "intact": verify_audit(engine, SYSTEM).intact}
    summary["store"] = str(db)
    engine.dispose()
    return summary


def _sample_decisions(sim_dir: Path, numbers: pd.DataFrame, engine: Any, config: DemoConfig) -> dict[str, Any]:
    """Half the sample from fraud numbers, half from everyone else; decisions against the truth."""
    rng = np.random.default_rng(config.seed)
    fraud_numbers = set(numbers.loc[numbers["is_fraud"], "number"])
    sms = pd.read_parquet(sim_dir / "events" / "sms.parquet", columns=["sender", "receiver", "text"])
    calls = pd.read_parquet(sim_dir / "events" / "call.parquet", columns=["caller", "callee"])
    decider = Decider(engine, SYSTEM)
    figures: dict[str, Any] = {}
    for channel, frame, who in (("sms", sms, "sender"), ("call", calls, "caller")):
        is_fraud = frame[who].isin(fraud_numbers).to_numpy()
        half = config.sample_decisions // 2
        picks = []
        for mask in (is_fraud, ~is_fraud):
            rows = np.flatnonzero(mask)
            picks.append(rng.choice(rows, size=min(half, len(rows)), replace=False) if len(rows) else rows)
        sample = frame.iloc[np.concatenate(picks)]
        truth = sample[who].isin(fraud_numbers).to_numpy()
        if channel == "sms":
            decisions = decider.sms(
                [SmsIn(sender=r.sender, receiver=r.receiver, text=r.text) for r in sample.itertuples()]
            )
        else:
            decisions = decider.call([CallIn(caller=r.caller, callee=r.callee) for r in sample.itertuples()])
        figures[channel] = _decision_figures(truth, decisions)
    return figures


def _sample_transfer_decisions(sim_dir: Path, engine: Any, config: DemoConfig) -> dict[str, Any]:
    """Every payment a victim made to the fraudsters (the first hop of the simulator's fraud transfers) and as
    many ordinary transfers, decided at their own time: a payer counts as warned only by a warning raised
    before the payment and not yet closed then. The payees' profiles are those of the whole window."""
    chain = pd.read_parquet(sim_dir / "truth" / "fraud_transfers.parquet", columns=["event_id", "hop"])
    columns = ["event_id", "payer_account", "payee_account", "amount", "time"]
    transfers = pd.read_parquet(sim_dir / "events" / "transfer.parquet", columns=columns)
    paid = transfers[transfers["event_id"].isin(chain.loc[chain["hop"] == 0, "event_id"])]
    ordinary = transfers[~transfers["event_id"].isin(chain["event_id"])]
    rng = np.random.default_rng(config.seed)
    picked = rng.choice(len(ordinary), size=min(config.sample_decisions // 2, len(ordinary)), replace=False)
    sample = pd.concat([paid, ordinary.iloc[picked]])
    truth = sample["event_id"].isin(paid["event_id"]).to_numpy()
    # a replay: a simulated city may be dated after today, which a live request may not
    decisions = Decider(engine, SYSTEM, replay=True).transfer([
        TransferIn.model_validate({"payer_account": r.payer_account, "payee_account": r.payee_account,
                                   "amount": Decimal(str(r.amount)).quantize(Decimal("0.01")),
                                   "time": r.time.to_pydatetime()}, context={"replay": True})
        for r in sample.itertuples()
    ])
    return _decision_figures(truth, decisions)


def _decision_figures(truth: np.ndarray, decisions: list[Decision]) -> dict[str, Any]:
    """How many were sampled and truly fraud, the actions taken, and their precision and recall (block or warn
    counts as stopped)."""
    stopped = np.array([d.action != "pass" for d in decisions])
    return {
        "sampled": len(decisions),
        "fraud": int(truth.sum()),
        "actions": {action.value: sum(d.action is action for d in decisions) for action in Action},
        **_precision_recall(truth.astype(bool), stopped.astype(bool)),
    }
