"""Real-time decision benchmark: SMS decided in batches (the API's JSON list, up to 1,000) against the same SMS
decided one request per call, in the same process, on the same embedded store and shipped models.

Both paths do the whole job: the text model with reasons, the links' URL model, the senders' risk profiles and
an audit entry for every block and warning. The SMS are the Aegis corpus's messages (a third fraud, many with
links), their senders a mix of numbers with and without a stored risk profile.

    .venv/bin/python benchmarks/decisions.py [--sms 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results

from aegis.store import RiskProfileRepository, open_engine
from aegis.training.text_default import build_corpus
from aegis.usecases.actor import SYSTEM
from aegis.usecases.decisions import MAX_BATCH, Decider, SmsIn, shipped_detector


def requests(n: int) -> tuple[list[SmsIn], list[dict]]:
    corpus = build_corpus().sample(frac=1.0, random_state=0)
    rng = np.random.default_rng(0)
    texts = corpus["text"].tolist()[:n]
    senders = [f"1{rng.integers(3, 10)}{rng.integers(0, 10**9):09d}" for _ in texts]
    risky = [{"entity_id": s, "score": 0.95, "label": "1", "fraud_type": "impersonate_police",
              "reasons": ["一个IMEI上有12个IMSI（疑似猫池）"]} for s in senders[::7]]
    return [SmsIn(sender=s, text=t) for s, t in zip(senders, texts, strict=True)], risky


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sms", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    items, risky = requests(args.sms)
    seconds: dict[str, list[float]] = {"batch": [], "one_by_one": []}
    with tempfile.TemporaryDirectory() as tmp, threadpool_limits(1):
        engine = open_engine(f"sqlite:///{tmp}/aegis.db")
        RiskProfileRepository(engine).upsert_many("number", risky, model="benchmark")
        decider = Decider(engine, SYSTEM)
        shipped_detector("text"), shipped_detector("url")
        decider.sms(items[:10])  # loads jieba and warms the caches for both paths

        def batch() -> list:
            return [d for start in range(0, len(items), MAX_BATCH) for d in decider.sms(items[start:start + MAX_BATCH])]

        def one_by_one() -> list:
            return [decider.sms([item])[0] for item in items]

        stopped = 0
        for _ in range(args.rounds):
            for name, run in (("batch", batch), ("one_by_one", one_by_one)):
                start = time.perf_counter()
                decisions = run()
                seconds[name].append(time.perf_counter() - start)
                stopped = sum(d.action.value != "pass" for d in decisions)
    best = {name: min(s) for name, s in seconds.items()}
    figures = {
        name: {"sms_per_s": round(len(items) / best[name]), "seconds": round(best[name], 2)} for name in best
    }
    path = write_results("decisions", {
        "data": f"{len(items)} SMS of the Aegis corpus, {len(risky)} senders with a risky profile; "
                f"{stopped} blocked or warned (each audited)",
        "notes": "batch = lists of up to 1,000 requests (one text-model call, one URL-model call and one audit "
                 "transaction each); baseline one_by_one = the same requests one per call. Best of the rounds, "
                 "one thread.",
        "rounds": args.rounds, **figures,
        "batch_vs_one_by_one": round(figures["batch"]["sms_per_s"] / figures["one_by_one"]["sms_per_s"], 2),
    })
    print(path.read_text())


if __name__ == "__main__":
    main()
