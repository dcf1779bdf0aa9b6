"""Benchmark the city simulator: rows per second, peak memory, and the gain over a naive per-event loop.

    .venv/bin/python benchmarks/simulator.py                      # 1,000,000 people x 30 days
    .venv/bin/python benchmarks/simulator.py --people 20000 --days 3

The full run happens in a child process, so that its peak resident memory (``ru_maxrss`` of the children,
which counts numpy and Arrow buffers, unlike tracemalloc) is measured alone. The baseline, measured in the
same run, generates one day of ordinary calls for a small city both with a plain Python loop per call and
with the simulator's vectorised code, and reports the speed ratio.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import random
import resource
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from aegis.events.models import CHINA_TZ
from aegis.simulate import SimConfig, simulate
from aegis.simulate.engine import _Materialiser
from aegis.simulate.fraud import plan_fraud
from aegis.simulate.output import EventSink
from aegis.simulate.population import build_city
from aegis.simulate.traffic import HOURLY, Pools, Traffic

RESULTS = Path(__file__).parent / "results" / "simulator.json"


def _run(people: int, days: int, seed: int, out: str, queue: multiprocessing.Queue) -> None:
    stages: dict[str, float] = {}
    began = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        stages[f"{stage} {done}/{total}"] = round(time.perf_counter() - began, 1)

    manifest = simulate(SimConfig(people=people, days=days, seed=seed), Path(out), progress)
    queue.put({"manifest": manifest, "stages": stages})


def full_run(people: int, days: int, seed: int, out: Path) -> dict:
    queue: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
    child = multiprocessing.get_context("spawn").Process(target=_run, args=(people, days, seed, str(out), queue))
    began = time.perf_counter()
    child.start()
    result = queue.get()
    child.join()
    elapsed = time.perf_counter() - began
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    rows = result["manifest"]["rows"]
    size = sum(p.stat().st_size for p in out.rglob("*.parquet"))
    return {
        "people": people,
        "days": days,
        "seed": seed,
        "elapsed_s": round(elapsed, 1),
        "simulate_s": result["manifest"]["elapsed_s"],
        "rows": rows,
        "total_rows": sum(rows.values()),
        "rows_per_s": round(sum(rows.values()) / elapsed),
        # CPU time beside wall time: on a shared machine other processes stretch the wall clock
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "output_mb": round(size / 1e6),
        "progress_s": result["stages"],
    }


def naive_calls(people: int, rate: float, seed: int, path: Path) -> int:
    """Ordinary calls of one day the slow way: a Python loop per call, then one table write."""
    r = random.Random(seed)
    numbers = [f"13{r.randrange(10**9):09d}" for _ in range(people)]
    contacts = [[r.randrange(people) for _ in range(12)] for _ in range(people)]
    weights = list(HOURLY)
    day = datetime(2026, 10, 1, tzinfo=CHINA_TZ)
    rows = []
    for i in range(int(people * rate)):
        caller = r.randrange(people)
        callee = contacts[caller][r.randrange(12)] if r.random() < 0.85 else r.randrange(people)
        if callee == caller:
            callee = (caller + 1) % people
        hour = r.choices(range(24), weights)[0]
        start = day + timedelta(hours=hour, seconds=r.random() * 3600)
        rows.append(
            {
                "event_id": f"cal-{i + 1:010d}",
                "caller": numbers[caller],
                "callee": numbers[callee],
                "start": start.astimezone(UTC),
                "duration_s": int(r.lognormvariate(4, 1)),
                "direction": "out",
                "cell_id": None,
                "imei": None,
                "imsi": None,
            }
        )
    pq.write_table(pa.Table.from_pylist(rows), path)
    return len(rows)


def vectorised_calls(people: int, seed: int, out: Path) -> int:
    """The same day of ordinary calls through the simulator's own code path (draw, materialise, write)."""
    config = SimConfig(people=people, days=1, seed=seed)
    rng = np.random.default_rng(seed)
    city = build_city(config, rng)
    pools = Pools()
    traffic = Traffic(config, city, pools, rng)
    plan_fraud(config, city, pools, rng)
    materialise = _Materialiser(city, pools)
    sink = EventSink(out)
    began = time.perf_counter()
    frame = traffic.calls(rng, 0)
    sink.write("call", materialise("call", frame))
    sink.close()
    return len(frame["time"]), time.perf_counter() - began


def baseline(people: int, seed: int, scratch: Path) -> dict:
    rate = SimConfig(people=people, days=1, seed=seed).calls_per_person_day
    began = time.perf_counter()
    n_naive = naive_calls(people, rate, seed, scratch / "naive.parquet")
    naive_s = time.perf_counter() - began
    n_vec, vec_s = vectorised_calls(people, seed, scratch / "vectorised")
    naive_rate, vec_rate = n_naive / naive_s, n_vec / vec_s
    return {
        "people": people,
        "naive_calls_per_s": round(naive_rate),
        "vectorised_calls_per_s": round(vec_rate),
        "speedup": round(vec_rate / naive_rate, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-people", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=None, help="keep the simulated city here (default: a temp dir)")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="aegis-bench-"))
    try:
        run = full_run(args.people, args.days, args.seed, args.out or scratch / "city")
        base = baseline(args.baseline_people, args.seed, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result = {
        "benchmark": "simulator",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": multiprocessing.cpu_count(), "python": platform.python_version()},
        "run": run,
        "baseline": base,
        "target": {"people": 1_000_000, "days": 30, "max_elapsed_s": 600},
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
