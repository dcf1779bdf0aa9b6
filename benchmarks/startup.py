"""Cold start of the real-time decision path: `aegis decide` as a new process on a file of three requests, and
`aegis serve` until it has answered its first decision, against `python -c "import sklearn"` timed in the same
run.

The baseline is what any command that scores with a scikit-learn model pays before it reads its first request:
the interpreter's start and scikit-learn's import (which brings numpy and scipy). Aegis's detectors are trained
with it, so the ratio says how the decision path's start compares with the least a scikit-learn scorer pays
(under 1: the path does not even import it), and it is comparable between a quiet and a loaded machine where
seconds are not. Cases: three SMS without a link (the text model, and jieba's dictionary to explain the fraud
one), three SMS with links (the URL model too), three transfers (no model: the store's profiles and warnings),
and `aegis serve` from its start until its first SMS decision with a link is answered (and how long that request
took once the server had accepted it). "Cold" is a new process; the files it reads are in the operating
system's cache (an untimed run of each case first; it also builds jieba's dictionary cache). Median of the runs,
the cases taken in turn within each run.

    .venv/bin/python benchmarks/startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results

AEGIS = [str(Path(sys.executable).with_name("aegis"))]
SMS = [{"sender": "17012345678", "text": "【公安局】您涉嫌洗钱案件，请立即将资金转入安全账户配合调查"},
       {"sender": "13800000002", "text": "妈，我今晚加班不回家吃饭了"},
       {"sender": "13800000003", "text": "您的快递已到小区门口驿站，请凭取件码取件"}]
SMS_LINKS = [{"sender": "13800000011", "text": "您的ETC已失效，请登录 http://etc-gov.top/a1 认证，逾期停用"},
             {"sender": "13800000012", "text": "妈，我今晚加班不回家吃饭了"},
             {"sender": "13800000014", "text": "【中国移动】本月账单已出，详情 https://u.10010.cn/x 查看"}]
TRANSFERS = [{"payer_account": f"621200000000000{i}", "payee_account": f"622200000000000{i}", "amount": amount}
             for i, amount in enumerate(("800.00", "50000.00", "12.50"))]
HEADERS = {"Content-Type": "application/json", "X-Aegis-User": "bench", "X-Aegis-Role": "telco",
           "X-Aegis-Institution": "bench"}


def timed(run: Callable[[], None]) -> tuple[float, float]:
    """Wall seconds of ``run`` and the CPU seconds (user + system) of the child processes it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run()
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def command(*args: str) -> Callable[[], None]:
    return lambda: subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def serve_until_first_decision(db: str, first_request_s: list[float]) -> None:
    """Start `aegis serve` and ask for an SMS decision until one is answered; ``first_request_s`` gets how long
    that answered request took (from its connection: what the server's first caller waits)."""
    with socket.socket() as probe:  # a free port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([*AEGIS, "serve", "--port", str(port), "--db", db],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    body = json.dumps(SMS_LINKS[0], ensure_ascii=False).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/decisions/sms", data=body, headers=HEADERS)
    try:
        while True:
            try:
                asked = time.perf_counter()
                answer = json.loads(urllib.request.urlopen(request, timeout=60).read())
                first_request_s.append(time.perf_counter() - asked)
                break
            except urllib.error.HTTPError:
                raise
            except OSError:  # not listening yet
                if server.poll() is not None:
                    raise RuntimeError("aegis serve stopped before it answered") from None
                time.sleep(0.02)
        assert answer["action"] == "block", answer
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/aegis.db"
        subprocess.run([*AEGIS, "db", "upgrade", "--db", db], check=True, capture_output=True)
        files = {}
        for name, rows in (("sms", SMS), ("sms_links", SMS_LINKS), ("transfer", TRANSFERS)):
            files[name] = Path(tmp) / f"{name}.jsonl"
            files[name].write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
        first_request_s: list[float] = []
        cases = {
            "baseline_import_sklearn": command(sys.executable, "-c", "import sklearn"),
            "decide_sms": command(*AEGIS, "decide", "sms", str(files["sms"]), "--db", db),
            "decide_sms_links": command(*AEGIS, "decide", "sms", str(files["sms_links"]), "--db", db),
            "decide_transfer": command(*AEGIS, "decide", "transfer", str(files["transfer"]), "--db", db),
            "serve_first_decision": lambda: serve_until_first_decision(db, first_request_s),
        }
        for run in cases.values():
            run()
        first_request_s.clear()
        measured: dict[str, list[tuple[float, float]]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, run in cases.items():
                measured[name].append(timed(run))
    figures = {name: {"wall_s": round(statistics.median(w for w, _ in runs), 3),
                      "cpu_s": round(statistics.median(c for _, c in runs), 3)} for name, runs in measured.items()}
    figures["serve_first_decision"]["first_request_s"] = round(statistics.median(first_request_s), 3)
    base = figures["baseline_import_sklearn"]
    for name, figure in figures.items():
        if name != "baseline_import_sklearn":
            figure["wall_vs_baseline"] = round(figure["wall_s"] / base["wall_s"], 2)
            figure["cpu_vs_baseline"] = round(figure["cpu_s"] / base["cpu_s"], 2)
    path = write_results("startup", {
        "data": "3 SMS without a link (one fraud), 3 SMS with links, 3 transfers, each a JSONL file decided by a "
                "new `aegis decide` process on an embedded store; `aegis serve` from its start to its first SMS "
                "decision with a link answered",
        "notes": "baseline = `python -c \"import sklearn\"` in the same run; median of the runs, the cases in turn "
                 "within each run; CPU = user + system seconds of the process",
        "runs": args.runs, **figures,
    })
    print(path.read_text())


if __name__ == "__main__":
    main()
