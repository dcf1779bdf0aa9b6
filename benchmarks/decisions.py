"""Real-time decision benchmark: requests decided in batches (the API's JSON list, up to 1,000) against the same
requests decided one per call, in the same process, on the same embedded store and shipped models.

Both paths do the whole job. ``--channel sms`` (default): the text model with reasons, the links' URL model, the
senders' risk profiles and an audit entry for every block and warning; the SMS are the Aegis corpus's messages (a
third fraud, many with links), their senders a mix of numbers with and without a stored risk profile.
``--channel transfer``: the payees' risk profiles, the payers' open warnings (through their account openings),
the first-payment check against the stored transfers, the audit entries and the leads a held payment adds to its
payer's warning; one payer in 20 is under a warning, one payee in 10 has a risky profile, one payment in 4 is
large.

    .venv/bin/python benchmarks/decisions.py [--channel sms|transfer] [--n 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results

from aegis.actions.warnings import WarningRequest
from aegis.events.models import AccountOpening, Person, Transfer
from aegis.reasons import Reason
from aegis.store import EventRepository, RiskProfileRepository, open_engine
from aegis.training.text_default import build_corpus
from aegis.usecases.actor import SYSTEM
from aegis.usecases.decisions import MAX_BATCH, Decider, SmsIn, TransferIn, shipped_detector
from aegis.usecases.warnings import raise_warnings


def requests(n: int) -> tuple[list[SmsIn], list[dict]]:
    corpus = build_corpus().sample(frac=1.0, random_state=0)
    rng = np.random.default_rng(0)
    texts = corpus["text"].tolist()[:n]
    senders = [f"1{rng.integers(3, 10)}{rng.integers(0, 10**9):09d}" for _ in texts]
    risky = [{"entity_id": s, "score": 0.95, "label": "1", "fraud_type": "impersonate_police",
              "reasons": ["一个IMEI上有12个IMSI（疑似猫池）"]} for s in senders[::7]]
    return [SmsIn(sender=s, text=t) for s, t in zip(senders, texts, strict=True)], risky


def transfer_store(engine: Any, n: int) -> list[TransferIn]:
    """A store with account openings, past transfers, risky payees and warned payers; ``n`` transfer requests."""
    rng = np.random.default_rng(0)
    payers = [f"62120000{i:08d}" for i in range(n // 3)]
    payees = [f"62220000{i:08d}" for i in range(n // 3)]
    at = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    people = [Person(person_id=f"P{i}", age=50, gender="F", occupation="职员", city="厦门市", district="siming",
                     station="siming-zhonghua").model_dump() for i in range(len(payers))]
    openings = [AccountOpening(person_id=f"P{i}", account=a, institution="工商银行", branch="中华支行",
                               time=at - timedelta(days=400)).model_dump() for i, a in enumerate(payers)]
    past = [Transfer(payer_account=payers[i], payee_account=payees[j], payer_bank="工商银行", payee_bank="建设银行",
                     amount="100.00", time=at - timedelta(days=int(rng.integers(1, 60)))).model_dump()
            for i, j in rng.integers(0, len(payers), size=(n, 2))]
    events = EventRepository(engine)
    with engine.begin() as connection:
        events.add_many("person", people, connection)
        events.add_many("account_opening", openings, connection)
        events.add_many("transfer", past, connection)
    RiskProfileRepository(engine).upsert_many("account", [
        {"entity_id": a, "score": 0.95, "label": "1", "fraud_type": "money_mule", "reasons": ["资金快进快出"]}
        for a in payees[::10]], model="benchmark")
    warned = [WarningRequest(f"P{i}", "impersonate_police", 0.9, "urgent", (Reason("接到涉诈号码来电"),), f"lead-{i}",
                             at - timedelta(hours=1)) for i in range(0, len(payers), 20)]
    raise_warnings(engine, SYSTEM, warned, now=at)
    amounts = np.where(rng.random(n) < 0.25, rng.integers(5_000, 50_000, n), rng.integers(10, 2_000, n))
    return [TransferIn(payer_account=payers[int(i)], payee_account=payees[int(j)], amount=Decimal(int(a)))
            for i, j, a in zip(rng.integers(0, len(payers), n), rng.integers(0, len(payees), n), amounts,
                               strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--channel", choices=("sms", "transfer"), default="sms")
    parser.add_argument("--n", "--sms", type=int, default=3000, help="requests (SMS or transfers)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    seconds: dict[str, list[float]] = {"batch": [], "one_by_one": []}
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1):
        engine = open_engine(f"sqlite:///{tmp}/aegis.db")
        decider = Decider(engine, SYSTEM)
        if args.channel == "sms":
            items, risky = requests(args.n)
            RiskProfileRepository(engine).upsert_many("number", risky, model="benchmark")
            shipped_detector("text"), shipped_detector("url")
            data = f"{len(items)} SMS of the Aegis corpus, {len(risky)} senders with a risky profile"
        else:
            items = transfer_store(engine, args.n)
            data = f"{len(items)} transfers; 1 payer in 20 warned, 1 payee in 10 risky, 1 payment in 4 large"
        decide = getattr(decider, args.channel)
        decide(items[:10])  # loads jieba and warms the caches for both paths

        def batch() -> list:
            return [d for start in range(0, len(items), MAX_BATCH) for d in decide(items[start:start + MAX_BATCH])]

        def one_by_one() -> list:
            return [decide([item])[0] for item in items]

        stopped = 0
        for _ in range(args.rounds):
            for name, run in (("batch", batch), ("one_by_one", one_by_one)):
                start = time.perf_counter()
                decisions = run()
                seconds[name].append(time.perf_counter() - start)
                stopped = sum(d.action.value != "pass" for d in decisions)
    best = {name: min(s) for name, s in seconds.items()}
    unit = "sms_per_s" if args.channel == "sms" else "transfers_per_s"
    figures = {name: {unit: round(len(items) / best[name]), "seconds": round(best[name], 2)} for name in best}
    path = write_results("decisions" if args.channel == "sms" else "decisions_transfer", {
        "data": f"{data}; {stopped} blocked or warned (each audited)",
        "notes": "batch = lists of up to 1,000 requests (one call of each model or query and one audit "
                 "transaction each); baseline one_by_one = the same requests one per call. Best of the rounds, "
                 "one thread.",
        "rounds": args.rounds, **figures,
        "batch_vs_one_by_one": round(figures["batch"][unit] / figures["one_by_one"][unit], 2),
    })
    print(path.read_text())


if __name__ == "__main__":
    main()
