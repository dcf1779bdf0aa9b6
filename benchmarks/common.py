"""Helpers shared by the benchmarks: machine description, child-process peak memory, results files."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sized
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
Batch = TypeVar("Batch", bound=Sized)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor()
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:  # other jobs on the machine slow a run down: the load when the results were written says how much
        load = [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        load = []
    return {
        "load_average_1_5_15_min": load,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory_gib, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_child(code: str, *args: str) -> tuple[dict[str, Any], float]:
    """Run ``code`` in a fresh interpreter; returns what it printed as JSON and its peak RSS in MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest child so far: run the smaller job first
    return json.loads(done.stdout.strip().splitlines()[-1]), max(peak_kib, before) / 1024


def write_results(name: str, figures: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **figures,
    }
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    return path


def throughput(score: Callable[[Batch], Any], batch: Batch) -> tuple[float, float]:
    """Items per wall-clock second for one call on ``batch``, and CPU microseconds per item (``process_time``
    is less hit by other load on a shared machine, though a busy machine still slows the caches)."""
    start, cpu = time.perf_counter(), time.process_time()
    score(batch)
    return len(batch) / (time.perf_counter() - start), (time.process_time() - cpu) / len(batch) * 1e6


def latencies_ms(score: Callable[[Batch], Any], singles: Iterable[Batch]) -> np.ndarray:
    """Milliseconds of each call, one call per ready-made batch of one item (a request as it comes)."""
    out = []
    for one in singles:
        start = time.perf_counter()
        score(one)
        out.append((time.perf_counter() - start) * 1000)
    return np.array(out)
