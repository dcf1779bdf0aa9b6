"""Funds tracing benchmark: 6-hop traces over a synthetic store of transfers, against plain networkx.

The store: ``--transfers`` transfers (10,000,000 by default) between ``transfers / 5`` accounts whose
activity is skewed (log-normal weights: a few busy accounts, many quiet ones), 200 large merchants that
receive a tenth of all payments (flagged as sinks), over 90 days, plus laundering chains (victim -> mule ->
split to 3-5 mules -> forward -> merge into a collector -> ATM cash-out or a crypto exchange).

Each trace starts from one transfer (half of them the chains' loss transfers, half random ones), by event
id, goes 6 hops and includes the seed look-up. The baseline is a plain time-respecting breadth-first
traversal in networkx (earliest arrival per account, no amounts at all) with the same sinks and hop limit.
The rules measured: FIFO, LIFO with the shipped 24-hour dwell (``lifo_dwell_24h``, the default of
``src/aegis/data/policy/funds.yaml``), LIFO without a dwell, and proportional; each on the same seeds.
A networkx graph of the whole store does not fit a reasonable memory budget, so it is built over the edges
the traversals can touch: the outgoing transfers of every account that a time-respecting 6-hop walk from
the benchmark's seeds reaches. Those traversals see exactly the edges they would see in the full graph.

    .venv/bin/python benchmarks/tracing.py [--transfers 10000000] [--traces 200]
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import write_results

from aegis.funds import TransferIndex, trace

DAY_NS = 86_400 * 10**9
START_NS = 1_780_000_000 * 10**9  # mid-2026
MERCHANTS = 200
HOPS = 6
SHIPPED_DWELL = timedelta(hours=24)  # max_dwell of src/aegis/data/policy/funds.yaml
# name in the results -> trace() options; lifo_dwell_24h is the shipped rule
RULES: dict[str, dict[str, Any]] = {
    "fifo": {"rule": "fifo"},
    "lifo_dwell_24h": {"rule": "lifo", "max_dwell": SHIPPED_DWELL},
    "lifo": {"rule": "lifo"},
    "proportional": {"rule": "proportional"},
}


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def synthetic_store(n: int, rng: np.random.Generator) -> tuple[pa.Table, np.ndarray, set[int]]:
    """The transfers table, the chains' loss-transfer event ids, and the sink accounts."""
    accounts = max(n // 5, 1000)
    weight = rng.lognormal(0.0, 1.5, accounts)
    cdf = np.cumsum(weight / weight.sum())
    payer = np.searchsorted(cdf, rng.random(n)).astype(np.int64)
    payee = np.searchsorted(cdf, rng.random(n)).astype(np.int64)
    merchant_ids = np.arange(accounts, accounts + MERCHANTS)
    to_merchant = rng.random(n) < 0.1
    payee[to_merchant] = rng.choice(merchant_ids, int(to_merchant.sum()))
    same = payer == payee
    payee[same] = (payee[same] + 1) % accounts
    amount = np.round(rng.lognormal(5.5, 1.2, n), 2) + 0.01
    when = START_NS + rng.integers(0, 90 * DAY_NS, n)

    chains = min(1000, max(n // 10_000, 10))
    exchange, cash = accounts + MERCHANTS, accounts + MERCHANTS + 1
    next_account = cash + 1
    rows: list[tuple[int, int, float, int]] = []
    seeds = []
    for _ in range(chains):
        victim, first = next_account, next_account + 1
        next_account += 2
        t = START_NS + int(rng.integers(0, 60 * DAY_NS))
        loss = float(np.round(rng.uniform(20_000, 200_000), 2))
        seeds.append(len(rows))
        rows.append((victim, first, loss, t))
        split = int(rng.integers(3, 6))
        mules = list(range(next_account, next_account + split))
        collector = next_account + split
        next_account += split + 1
        for i, mule in enumerate(mules):
            share = loss / split
            t_mule = t + (i + 1) * 600 * 10**9
            rows.append((first, mule, share, t_mule))
            hop = int(rng.integers(0, accounts))  # an ordinary account used as a runner
            rows.append((mule, hop, share, t_mule + 3600 * 10**9))
            rows.append((hop, collector, share, t_mule + 7200 * 10**9))
        rows.append((collector, exchange if rng.random() < 0.5 else cash, loss, t + DAY_NS))
    extra = np.array(rows, dtype=object)
    k = len(rows)
    payer[-k:] = extra[:, 0].astype(np.int64)
    payee[-k:] = extra[:, 1].astype(np.int64)
    amount[-k:] = extra[:, 2].astype(np.float64)
    when[-k:] = extra[:, 3].astype(np.int64)
    channel = np.zeros(n, dtype=np.int8)
    channel[n - k :][extra[:, 1].astype(np.int64) == cash] = 1
    table = pa.table(
        {
            "event_id": pa.array(np.arange(n, dtype=np.int64)),
            "payer_account": payer,
            "payee_account": payee,
            "amount": amount,
            "time": pa.array(when, type=pa.timestamp("ns", tz="UTC")),
            "channel": pa.DictionaryArray.from_arrays(pa.array(channel), pa.array(["mobile", "atm"])),
        }
    )
    return table, (n - k) + np.array(seeds, dtype=np.int64), {*merchant_ids.tolist(), exchange}


def reachable_edges(index: TransferIndex, seed_rows: np.ndarray, sink_codes: np.ndarray) -> np.ndarray:
    """Rows going out of every account a time-respecting walk of HOPS hops from the seeds reaches.

    Vectorised over each hop's frontier (earliest arrival per account, as in ``networkx_trace``).
    """
    rows: list[np.ndarray] = []
    never = np.iinfo(np.int64).max
    for seed in seed_rows:
        arrival = np.full(index.n_accounts, never)
        codes, ranks = np.array([index.payee[seed]]), np.array([seed])
        arrival[codes] = ranks
        for _ in range(HOPS):
            keep = ~np.isin(codes, sink_codes)
            codes, ranks = codes[keep], ranks[keep]
            starts, ends = index.out_offsets[codes], index.out_offsets[codes + 1]
            lengths = ends - starts
            within = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
            out = index.out_rows[np.repeat(starts, lengths) + within].astype(np.int64)
            rows.append(out)
            later = out > np.repeat(ranks, lengths)
            out = out[later]
            targets = index.payee[out]
            first = pd.DataFrame({"target": targets, "row": out}).groupby("target")["row"].min()
            better = first.to_numpy() < arrival[first.index.to_numpy()]
            codes, ranks = first.index.to_numpy()[better], first.to_numpy()[better]
            arrival[codes] = ranks
    return np.unique(np.concatenate(rows))


def networkx_graph(index: TransferIndex, rows: np.ndarray) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    graph.add_edges_from(
        (int(u), int(v), {"rank": int(r), "amount": float(a)})
        for u, v, r, a in zip(index.payer[rows], index.payee[rows], rows, index.amount[rows], strict=True)
    )
    return graph


def networkx_trace(graph: nx.MultiDiGraph, index: TransferIndex, seed_id: int, sinks: set[int]) -> int:
    """Earliest-arrival, time-respecting BFS of HOPS hops: the plain traversal a tracer is compared with."""
    seed = index.rows_of([seed_id])[seed_id]
    start = int(index.payee[seed])
    arrival = {start: seed}
    frontier = {start: seed}
    for _ in range(HOPS):
        following = {}
        for node, rank in frontier.items():
            if node in sinks or node not in graph:
                continue
            for target, edges in graph[node].items():
                for data in edges.values():
                    if data["rank"] > rank and data["rank"] < arrival.get(target, sys.maxsize):
                        arrival[target] = following[target] = data["rank"]
        frontier = following
    return len(arrival)


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "max_ms": round(float(ms.max()), 2),
    }


def significant(x: float, digits: int = 3) -> float:
    """``x`` to ``digits`` significant digits (a p99 ratio to networkx is ~0.0005: 3 decimals read 0.0)."""
    return float(f"{x:.{digits}g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transfers", type=int, default=10_000_000)
    parser.add_argument("--traces", type=int, default=200)
    parser.add_argument("--min-amount", type=float, default=1.0)
    parser.add_argument("--nx-traces", type=int, default=20, help="seeds also traced with networkx")
    args = parser.parse_args()
    rng = np.random.default_rng(5)

    started = time.perf_counter()
    table, chain_seeds, sink_labels = synthetic_store(args.transfers, rng)
    generate_s = time.perf_counter() - started
    before = rss_mib()
    started = time.perf_counter()
    index = TransferIndex.from_table(table, source="synthetic")
    build_s = time.perf_counter() - started
    del table
    gc.collect()
    started = time.perf_counter()
    index.rows_of([0])
    id_lookup_s = time.perf_counter() - started
    print(
        f"store {len(index):,} transfers, {index.n_accounts:,} accounts: generated {generate_s:.1f}s, "
        f"index {build_s:.1f}s, id look-up table {id_lookup_s:.1f}s, {index.nbytes / 2**20:.0f} MiB",
        flush=True,
    )

    half = args.traces // 2
    seed_ids = [*rng.choice(chain_seeds, half, replace=False).tolist()]
    seed_ids += rng.integers(0, len(index), args.traces - len(seed_ids)).tolist()
    options = {"sinks": dict.fromkeys(sink_labels, "large_merchant"), "sink_channels": {"atm": "cash_out"}}
    figures: dict[str, Any] = {}
    for rule, rule_options in RULES.items():
        seconds, reached, gaps = [], [], []
        for seed_id in seed_ids:
            started = time.perf_counter()
            result = trace(index, [seed_id], max_hops=HOPS, min_amount=args.min_amount, **rule_options, **options)
            seconds.append(time.perf_counter() - started)
            reached.append(len(result.accounts))
            gaps.append(result.unaccounted())
        figures[f"{rule}_seconds"] = seconds
        figures[rule] = {
            **percentiles(seconds),
            "accounts_reached_median": int(np.median(reached)),
            "accounts_reached_max": int(max(reached)),
            "largest_conservation_gap": float(max(gaps)),
        }
        print(rule, figures[rule], flush=True)

    sink_codes = {code for label in sink_labels if (code := index.account_code(label)) is not None}
    started = time.perf_counter()
    nx_seeds = seed_ids[: args.nx_traces // 2] + seed_ids[half : half + args.nx_traces - args.nx_traces // 2]
    seed_rows = np.array([index.rows_of([s])[s] for s in nx_seeds])
    rows = reachable_edges(index, seed_rows, np.fromiter(sink_codes, dtype=np.int64))
    graph = networkx_graph(index, rows)
    nx_build_s = time.perf_counter() - started
    seconds, reached = [], []
    for seed_id in nx_seeds:
        started = time.perf_counter()
        reached.append(networkx_trace(graph, index, seed_id, sink_codes))
        seconds.append(time.perf_counter() - started)
    figures["networkx"] = {
        **percentiles(seconds),
        "accounts_reached_median": int(np.median(reached)),
        "graph_edges": graph.number_of_edges(),
        "graph_build_s": round(nx_build_s, 1),
        "traces": len(nx_seeds),
        **{
            f"{rule}_on_the_same_seeds": percentiles([figures[f"{rule}_seconds"][seed_ids.index(s)] for s in nx_seeds])
            for rule in ("fifo", "lifo_dwell_24h")
        },
    }
    print("networkx", figures["networkx"], flush=True)
    load = Path("/proc/loadavg").read_text().split()[:3]
    path = write_results(
        "tracing",
        {
            "transfers": len(index),
            "accounts": index.n_accounts,
            "traces": args.traces,
            "max_hops": HOPS,
            "min_amount": args.min_amount,
            "generate_s": round(generate_s, 1),
            "index_build_s": round(build_s, 1),
            "id_lookup_build_s": round(id_lookup_s, 1),
            "index_mib": round(index.nbytes / 2**20),
            "rss_growth_for_index_mib": round(rss_mib() - before),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "rules": {rule: figures[rule] for rule in RULES},
            "shipped_max_dwell_h": SHIPPED_DWELL.total_seconds() / 3600,
            "networkx_plain_traversal": figures["networkx"],
            **{
                f"{q}_ratio_{rule}_to_networkx_same_seeds": significant(
                    figures["networkx"][f"{rule}_on_the_same_seeds"][f"{q}_ms"] / figures["networkx"][f"{q}_ms"]
                )
                for rule in ("fifo", "lifo_dwell_24h")
                for q in ("p99", "p50")
            },
            "load_average_at_end": load,
            "notes": (
                "tracer timings include the seed look-up by event id and the rule's accounting (FIFO, LIFO with the "
                "shipped 24-hour dwell, LIFO without a dwell, proportional); "
                "networkx does a time-respecting earliest-arrival BFS without amounts, on a graph built "
                "over the outgoing edges of every account reachable in 6 hops from its seeds (a networkx graph "
                "of the whole store does not fit a reasonable budget); networkx runs on --nx-traces of the "
                "seeds (half chains, half random) and the ratios compare the tracer on those same seeds; the "
                "machine was shared with other jobs (see load_average_at_end)"
            ),
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
