"""Ingest benchmark: rows/s and peak memory of `aegis ingest` against a plain pandas baseline.

The baseline reads the same CSV with pandas and appends it to SQLite with ``DataFrame.to_sql``: no
validation, no reject file, no idempotence. The ratio says what Aegis's per-row validation, stable ids and
crash-safe batches cost.

    .venv/bin/python benchmarks/ingest.py [--rows 500000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import run_child, write_results

AEGIS = """
import json, sys, time
from pathlib import Path
from aegis.ingest import ingest_file
from aegis.store import open_engine
engine = open_engine(sys.argv[2])
start = time.perf_counter()
result = ingest_file(engine, "call", Path(sys.argv[1]))
print(json.dumps({"seconds": time.perf_counter() - start, "stored": result.stored}))
"""

BASELINE = """
import json, sys, time
import pandas as pd
from sqlalchemy import create_engine
engine = create_engine(sys.argv[2])
start = time.perf_counter()
stored = 0
for chunk in pd.read_csv(sys.argv[1], chunksize=5000, dtype=str):
    stored += chunk.to_sql("call", engine, if_exists="append", index=False)
print(json.dumps({"seconds": time.perf_counter() - start, "stored": stored}))
"""


def make_calls(path: Path, rows: int) -> None:
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2026-10-01 00:00:00") + pd.to_timedelta(np.sort(rng.integers(0, 30 * 86400, rows)), "s")
    frame = pd.DataFrame(
        {
            "caller": (13_000_000_000 + rng.integers(0, 5_000_000, rows)).astype(str),
            "callee": (15_000_000_000 + rng.integers(0, 5_000_000, rows)).astype(str),
            "start": start.strftime("%Y-%m-%d %H:%M:%S"),
            "duration_s": rng.integers(0, 900, rows),
            "direction": "out",
            "cell_id": "XM" + pd.Series(rng.integers(0, 2000, rows)).astype(str),
        }
    )
    frame.to_csv(path, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "calls.csv"
        make_calls(csv, args.rows)
        base, base_mem = run_child(BASELINE, str(csv), f"sqlite:///{tmp}/baseline.db")
        started = time.perf_counter()
        ours, ours_mem = run_child(AEGIS, str(csv), f"sqlite:///{tmp}/aegis.db")
        wall = time.perf_counter() - started
    figures = {
        "rows": args.rows,
        "aegis_rows_per_s": round(ours["stored"] / ours["seconds"]),
        "aegis_peak_rss_mib": round(ours_mem),
        "aegis_wall_s_with_startup": round(wall, 1),
        "baseline": "pandas read_csv + DataFrame.to_sql into SQLite (no validation)",
        "baseline_rows_per_s": round(base["stored"] / base["seconds"]),
        "baseline_peak_rss_mib": round(base_mem),
        "ratio_vs_baseline": round((ours["stored"] / ours["seconds"]) / (base["stored"] / base["seconds"]), 3),
    }
    path = write_results("ingest", figures)
    print(path.read_text())


if __name__ == "__main__":
    main()
