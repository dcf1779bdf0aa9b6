"""Run a simulated city day by day and write its events, ground truth and manifest.

Memory stays bounded by one day of events: each day's frames are turned into Arrow columns and appended to
the Parquet files (a row group per kind and day) before the next day is generated.
"""

from __future__ import annotations

import ctypes
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa

from aegis.simulate import catalog, texts
from aegis.simulate.config import SimConfig
from aegis.simulate.fraud import FraudPlan, plan_fraud, spam
from aegis.simulate.output import TIMESTAMP, EventSink, write_truth
from aegis.simulate.population import ACCOUNT_ROLES, BANK_NAMES, NUMBER_ROLES, City, build_city
from aegis.simulate.registry import DAY_US, epoch_us, take
from aegis.simulate.traffic import CELLS_PER_STATION, CHANNELS, Frame, Pools, Traffic, concat, select

Progress = Callable[[str, int, int], None]


def _keep_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of returning it to the system.

    Every day allocates and frees arrays of the same few sizes; on virtual machines where touching fresh
    pages is slow, handing them back and faulting them in again costs more than generating the events.
    Peak memory is unchanged (it is the largest day), so this only trades nothing for speed.
    """
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(-3, 1 << 30)  # M_MMAP_THRESHOLD: large arrays from the heap, not fresh mmaps
    libc.mallopt(-1, 2**31 - 1)  # M_TRIM_THRESHOLD: never trim the heap
    pa.set_memory_pool(pa.system_memory_pool())


class _Materialiser:
    """Turns frames (integer references) into the Arrow columns of each event kind."""

    def __init__(self, city: City, pools: Pools) -> None:
        self.city = city
        self.numbers, self.imsi = city.numbers.text("number"), city.numbers.text("imsi")
        self.accounts, self.imei = city.accounts.text("account"), city.devices.text("imei")
        self.bank = city.accounts["bank"]
        self.texts, self.urls = pa.array(pools.texts), pa.array(pools.urls)
        self.packages = pa.array([a[0] for a in pools.apps])
        self.app_names = pa.array([a[1] for a in pools.apps])
        self.signers = pa.array([a[2] for a in pools.apps])
        n_cells = (int(city.station.max()) + 1) * CELLS_PER_STATION
        self.cells = pa.array([f"XM-{i // CELLS_PER_STATION:02d}-{i % CELLS_PER_STATION:02d}" for i in range(n_cells)])
        self.channels = pa.array(CHANNELS)

    def __call__(self, kind: str, f: Frame) -> dict[str, pa.Array]:
        n = len(f["time"])
        t = pa.array(f["time"]).cast(TIMESTAMP)
        if kind == "call":
            return {
                "caller": take(self.numbers, f["caller"]),
                "callee": take(self.numbers, f["callee"]),
                "start": t,
                "duration_s": pa.array(f["duration_s"]),
                "direction": pa.repeat("out", n),
                "cell_id": take(self.cells, f["cell"]),
                "imei": take(self.imei, f["device"]),
                "imsi": take(self.imsi, f["caller"]),
            }
        if kind == "sms":
            return {
                "sender": take(self.numbers, f["sender"]),
                "receiver": take(self.numbers, f["receiver"]),
                "time": t,
                "text": take(self.texts, f["text"]),
            }
        if kind == "transfer":
            return {
                "payer_account": take(self.accounts, f["payer"]),
                "payee_account": take(self.accounts, f["payee"]),
                "payer_bank": take(BANK_NAMES, self.bank[f["payer"]]),
                "payee_bank": take(BANK_NAMES, self.bank[f["payee"]]),
                "amount": pa.array(f["amount"]),
                "currency": pa.repeat("CNY", n),
                "time": t,
                "channel": take(self.channels, f["channel"]),
            }
        if kind == "url_visit":
            return {
                "person_id": take(self.city.person_id, f["person"]),
                "number": take(self.numbers, f["number"]),
                "url": take(self.urls, f["url"]),
                "time": t,
            }
        if kind == "app_install":
            return {
                "device_id": take(self.imei, f["device"]),
                "person_id": take(self.city.person_id, f["person"]),
                "package": take(self.packages, f["app"]),
                "app_name": take(self.app_names, f["app"]),
                "signer": take(self.signers, f["app"]),
                "time": t,
            }
        raise ValueError(f"kind: no frames for {kind!r}")


def simulate(config: SimConfig, out: Path, progress: Progress | None = None) -> dict:
    """Simulate ``config`` into ``out`` (events/, truth/, manifest.json); returns the manifest.

    Deterministic: the same config (seed included) writes byte-identical event and truth files. The city is
    written beside ``out`` first and moved in once whole (manifest.json last), so a run stopped part-way (Ctrl-C,
    SIGTERM, a full disk) leaves ``out`` as it was, never some days of events without their truth.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        manifest = _simulate(config, partial, progress)
        out.mkdir(exist_ok=True)
        for name in ("events", "truth", "manifest.json"):
            target = out / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            (partial / name).rename(target)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return manifest


def _simulate(config: SimConfig, out: Path, progress: Progress | None) -> dict:
    began = time.perf_counter()
    _keep_freed_memory()
    report = progress or (lambda stage, done, total: None)
    out = Path(out)
    seeds = np.random.SeedSequence(config.seed).spawn(3 + config.days)
    city_rng, fraud_rng, spam_rng = (np.random.default_rng(s) for s in seeds[:3])
    report("population", 0, 1)
    city = build_city(config, city_rng)
    pools = Pools()
    traffic = Traffic(config, city, pools, city_rng)
    plan = plan_fraud(config, city, pools, fraud_rng)
    report("population", 1, 1)

    sink = EventSink(out)
    sink.write("person", city.person_columns)
    for kind, parts in (("sim_opening", city.sim_openings), ("account_opening", city.account_openings)):
        for columns in parts:
            sink.write(kind, columns)
    materialise = _Materialiser(city, pools)
    transfer_ids: dict[int, str] = {}

    def write_day(frames: dict[str, Frame]) -> None:
        for kind, frame in frames.items():
            ids = sink.write(kind, materialise(kind, frame))
            if kind == "transfer":
                fraud_rows = np.flatnonzero(frame["ref"] >= 0)
                transfer_ids.update(
                    zip(frame["ref"][fraud_rows].tolist(), ids.take(pa.array(fraud_rows)).to_pylist(), strict=True)
                )

    # one writer thread: Arrow and Parquet release the GIL, so day d is written while day d+1 is drawn;
    # waiting for the previous day before handing over the next keeps at most two days in memory
    start_us = epoch_us(config.start)
    with ThreadPoolExecutor(max_workers=1) as writer:
        pending: Future[None] | None = None
        for day in range(config.days):
            frames = _day_frames(config, city, traffic, plan, seeds[3 + day], spam_rng, day, start_us + day * DAY_US)
            if pending is not None:
                pending.result()
                report("day", day, config.days)
            pending = writer.submit(write_day, frames)
        if pending is not None:
            pending.result()
            report("day", config.days, config.days)

    sink.write("report", _reports(city, plan, pools))
    sink.close()
    _write_truth(out, city, plan, pools, transfer_ids)
    manifest = {
        "config": config.as_dict(),
        "seed": config.seed,
        "rows": sink.counts,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "elapsed_s": round(time.perf_counter() - began, 1),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    report("done", 1, 1)
    return manifest


def _day_frames(
    config: SimConfig,
    city: City,
    traffic: Traffic,
    plan: FraudPlan,
    seed: np.random.SeedSequence,
    spam_rng: np.random.Generator,
    day: int,
    day_us: int,
) -> dict[str, Frame]:
    """One day's events of every kind: ordinary life, the gangs' spam and the planned fraud, in time order."""
    ordinary = traffic.day(np.random.default_rng(seed), day)
    stray = spam(plan, config, city, spam_rng, day_us)
    frames = {}
    for kind, frame in ordinary.items():
        planned = plan.frames[kind]
        parts = [frame, select(planned, (planned["time"] >= day_us) & (planned["time"] < day_us + DAY_US))]
        parts.append(stray.get(kind, {}))
        if kind == "transfer":
            for part in parts[1:]:
                part.setdefault("ref", np.full(len(part.get("time", [])), -1, dtype=np.int64))
        merged = concat([{k: v for k, v in p.items() if k in frame} for p in parts if p])
        # a quiet day of a small city may have none of a kind at all: then the (empty) ordinary frame stands
        frames[kind] = select(merged, np.argsort(merged["time"], kind="stable")) if merged else frame
    return frames


def _reports(city: City, plan: FraudPlan, pools: Pools) -> dict[str, pa.Array]:
    numbers, accounts = city.numbers.text("number"), city.accounts.text("account")
    rows = [v for v in plan.victims if v.report_time is not None]
    rows.sort(key=lambda v: v.report_time or 0)

    def strings(pool: pa.Array, index: set[int]) -> list[str]:
        return [pool[i].as_py() for i in sorted(index)]

    loss = [round(sum(x[1] for x in v.losses), 2) for v in rows]
    list_type = pa.list_(pa.string())
    return {
        "victim_id": pa.array([city.person_id[v.person].as_py() for v in rows], pa.string()),
        "time": pa.array([v.report_time for v in rows], pa.int64()),
        "fraud_type": pa.array([v.fraud_type.value for v in rows], pa.string()),
        "loss": pa.array(loss, pa.float64()),
        "numbers": pa.array([strings(numbers, v.numbers) for v in rows], list_type),
        "accounts": pa.array([sorted({accounts[x[2]].as_py() for x in v.losses}) for v in rows], list_type),
        "urls": pa.array([[pools.urls[u] for u in sorted(v.urls)] for v in rows], list_type),
        "apps": pa.array([[pools.apps[a][0] for a in sorted(v.apps)] for v in rows], list_type),
        "text": pa.array(
            [texts.report_text(v.fraud_type, x, len(v.losses)) for v, x in zip(rows, loss, strict=True)], pa.string()
        ),
    }


def _gang_ids(gang: np.ndarray, plan: FraudPlan) -> pa.Array:
    return take(pa.array([g.gang_id for g in plan.gangs], pa.string()), gang)


def _write_truth(out: Path, city: City, plan: FraudPlan, pools: Pools, transfer_ids: dict[int, str]) -> None:
    role, gang = city.numbers["role"], city.numbers["gang"]
    write_truth(
        out,
        "numbers",
        pa.table(
            {
                "number": city.numbers.text("number"),
                "person_id": take(city.person_id, city.numbers["owner"]),
                "is_fraud": pa.array(role > 0),
                "gang_id": _gang_ids(gang, plan),
                "role": take(pa.array(NUMBER_ROLES), role),
            }
        ),
    )
    role, gang, hop = city.accounts["role"], city.accounts["gang"], city.accounts["hop"]
    mule = np.isin(role, [ACCOUNT_ROLES.index("mule"), ACCOUNT_ROLES.index("cashout")])
    write_truth(
        out,
        "accounts",
        pa.table(
            {
                "account": city.accounts.text("account"),
                "bank": take(BANK_NAMES, city.accounts["bank"]),
                "person_id": take(city.person_id, city.accounts["owner"]),
                "is_mule": pa.array(mule),
                "gang_id": _gang_ids(gang, plan),
                "role": take(pa.array(ACCOUNT_ROLES), role),
                "hop_level": pa.array(hop, mask=hop < 0),
            }
        ),
    )
    legit = [d for d, _ in catalog.SITES]
    fraud = pools.fraud_domains
    write_truth(
        out,
        "domains",
        pa.table(
            {
                "domain": pa.array(legit + [d[0] for d in fraud], pa.string()),
                "is_fraud": pa.array([False] * len(legit) + [True] * len(fraud)),
                "gang_id": pa.array([None] * len(legit) + [plan.gangs[d[1]].gang_id for d in fraud], pa.string()),
                "fraud_type": pa.array([None] * len(legit) + [d[2] for d in fraud], pa.string()),
                "imitated_brand": pa.array([None] * len(legit) + [d[3] or None for d in fraud], pa.string()),
            }
        ),
    )
    apps = pools.apps
    write_truth(
        out,
        "apps",
        pa.table(
            {
                "package": pa.array([a[0] for a in apps], pa.string()),
                "signer": pa.array([a[2] for a in apps], pa.string()),
                "is_fraud": pa.array([a[3] == "fraud_app" for a in apps]),
                "gang_id": pa.array([plan.gangs[a[4]].gang_id if a[4] >= 0 else None for a in apps], pa.string()),
                "category": pa.array([a[3] for a in apps], pa.string()),
            }
        ),
    )
    victims = plan.victims
    write_truth(
        out,
        "victims",
        pa.table(
            {
                "person_id": pa.array([city.person_id[v.person].as_py() for v in victims], pa.string()),
                "fraud_type": pa.array([v.fraud_type.value for v in victims], pa.string()),
                "gang_id": pa.array([plan.gangs[v.gang].gang_id for v in victims], pa.string()),
                "campaign_id": pa.array([v.campaign for v in victims], pa.string()),
                "first_contact_time": pa.array([v.first_contact for v in victims], pa.int64()).cast(TIMESTAMP),
                "first_loss_time": pa.array([v.losses[0][0] for v in victims], pa.int64()).cast(TIMESTAMP),
                "total_loss": pa.array([round(sum(x[1] for x in v.losses), 2) for v in victims], pa.float64()),
                "n_loss_transfers": pa.array([len(v.losses) for v in victims], pa.int64()),
                "reported": pa.array([v.report_time is not None for v in victims]),
                "report_time": pa.array([v.report_time for v in victims], pa.int64()).cast(TIMESTAMP),
            }
        ),
    )
    refs = sorted(transfer_ids)
    write_truth(
        out,
        "fraud_transfers",
        pa.table(
            {
                "event_id": pa.array([transfer_ids[r] for r in refs], pa.string()),
                "victim_id": pa.array(
                    [city.person_id[victims[plan.transfer_refs[r][0]].person].as_py() for r in refs], pa.string()
                ),
                "gang_id": pa.array([plan.gangs[plan.transfer_refs[r][1]].gang_id for r in refs], pa.string()),
                "hop": pa.array([plan.transfer_refs[r][2] for r in refs], pa.int64()),
            }
        ),
    )
    write_truth(
        out,
        "gangs",
        pa.table(
            {
                "gang_id": pa.array([g.gang_id for g in plan.gangs], pa.string()),
                "fraud_type": pa.array([g.fraud_type.value for g in plan.gangs], pa.string()),
                "n_numbers": pa.array([len(g.numbers) for g in plan.gangs], pa.int64()),
                "n_accounts": pa.array([sum(len(x) for x in g.levels) for g in plan.gangs], pa.int64()),
                "n_domains": pa.array([g.n_domains for g in plan.gangs], pa.int64()),
                "n_apps": pa.array([len(g.apps) for g in plan.gangs], pa.int64()),
            }
        ),
    )
