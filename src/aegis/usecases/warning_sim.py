"""Warnings on a simulated city: its entity risk, training the fusion model there, and measuring warnings
against its truth.

Entity risk on simulated cities (:func:`sim_entity_risk`) is stated plainly: the citizens' reports of the
city (each reported number, account, domain and app is known as risky from the report's time on), plus
*simulated detector coverage* drawn from the simulator's truth (each fraud number, domain, app and mule
account is flagged with probability ``coverage``, and a share ``false_rate`` of ordinary numbers and payee
accounts is flagged by mistake), plus the shipped text model for SMS when present.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aegis.actions import warnings as wf
from aegis.decisions.warning_policy import LEVELS, Policy, load_policy
from aegis.detectors.victim import NORMAL, VictimDetector
from aegis.features.url_features import host_of
from aegis.features.victim_leads import (
    Directory,
    EntityRisk,
    risk_table,
)
from aegis.reasons import InputError, MissingFile, Reason
from aegis.usecases.warning_pipeline import (
    LEAD_EVENT_KINDS,
    REMOTE_CONTROL_PACKAGES,
    WarningPipeline,
    daily_batches,
    lead_labels,
    popular_hosts,
    requests_from,
    risk_from_reports,
    text_scorer_from_default_model,
)

# --- entity risk of a simulated city --------------------------------------------------------------------------


def sim_entity_risk(
    sim_dir: Path, *, coverage: float = 0.7, false_rate: float = 0.002, seed: int = 0, text: bool = True
) -> EntityRisk:
    """Entity risk for a simulated city: its reports, simulated detector coverage from its truth, text model."""
    truth = sim_dir / "truth"
    if not (truth / "gangs.parquet").is_file():
        raise MissingFile(Reason("sim：{sim}不是模拟城市（没有truth/文件夹；请用`aegis simulate`生成）",
                                 sim=str(sim_dir)))
    rng = np.random.default_rng(seed)
    gangs = pd.read_parquet(truth / "gangs.parquet").set_index("gang_id")["fraud_type"]

    def flagged(frame: pd.DataFrame, entity: str, is_fraud: pd.Series, types: pd.Series) -> pd.DataFrame:
        hit = is_fraud.to_numpy() & (rng.random(len(frame)) < coverage)
        wrong = ~is_fraud.to_numpy() & (rng.random(len(frame)) < false_rate)
        scores = np.where(hit, rng.uniform(0.6, 1.0, len(frame)), rng.uniform(0.5, 0.8, len(frame)))
        sel = hit | wrong
        known_types = [t if isinstance(t, str) else None for t in types.to_numpy()[sel]]
        return risk_table(
            frame[entity][sel].astype(str).tolist(),
            scores[sel],
            [t if flag else None for t, flag in zip(known_types, hit[sel], strict=True)],
        )

    numbers = pd.read_parquet(truth / "numbers.parquet")
    accounts = pd.read_parquet(truth / "accounts.parquet")
    domains = pd.read_parquet(truth / "domains.parquet")
    apps = pd.read_parquet(truth / "apps.parquet")
    fraud_apps = apps["category"] == "fraud_app"
    simulated = EntityRisk(
        numbers=flagged(numbers, "number", numbers["is_fraud"].astype(bool), numbers["gang_id"].map(gangs)),
        accounts=flagged(accounts, "account", accounts["is_mule"].astype(bool), accounts["gang_id"].map(gangs)),
        domains=flagged(domains, "domain", domains["is_fraud"].astype(bool), domains["fraud_type"]),
        apps=flagged(apps, "package", fraud_apps, apps["gang_id"].map(gangs)),
        remote_apps=REMOTE_CONTROL_PACKAGES | frozenset(apps.loc[apps["category"] == "remote_control", "package"]),
    )
    simulated.domains["entity"] = simulated.domains["entity"].astype(str).map(host_of)
    # the same guard as the store's: a false flag on a site half the city visits is dropped, not warned about
    visits = pd.read_parquet(sim_dir / "events" / "url_visit.parquet", columns=["person_id", "url"])
    residents = len(pd.read_parquet(sim_dir / "events" / "person.parquet", columns=["person_id"]))
    popular = popular_hosts(visits, residents)
    simulated.domains = simulated.domains[~simulated.domains["entity"].isin(popular)].reset_index(drop=True)
    risk = simulated.merged(
        risk_from_reports(pd.read_parquet(sim_dir / "events" / "report.parquet"), simulated.remote_apps)
    )
    risk.text_scorer = text_scorer_from_default_model() if text else None
    return risk


# --- reading a simulated city ----------------------------------------------------------------------------------


def read_sim_events(sim_dir: Path) -> tuple[dict[str, pd.DataFrame], Directory, pd.DataFrame]:
    events = sim_dir / "events"
    if not events.is_dir():
        raise MissingFile(Reason("sim：{sim}中没有events/文件夹（请先模拟一座城市）", sim=str(sim_dir)))
    frames = {k: pd.read_parquet(events / f"{k}.parquet") for k in LEAD_EVENT_KINDS}
    person = pd.read_parquet(events / "person.parquet", columns=["person_id", "age", "district", "station"])
    directory = Directory.from_frames(
        pd.read_parquet(events / "sim_opening.parquet", columns=["number", "person_id"]),
        pd.read_parquet(events / "account_opening.parquet", columns=["account", "person_id"]),
        person,
    )
    return frames, directory, person


def sim_features(sim_dir: Path, risk: EntityRisk, policy: Policy | None = None) -> pd.DataFrame:
    """Fusion feature rows of every lead of a simulated city, replayed in daily batches."""
    frames, directory, _ = read_sim_events(sim_dir)
    pipeline = WarningPipeline(None, policy or load_policy(), risk, directory)
    rows = [pipeline.features(batch) for batch in daily_batches(frames)]
    rows = [r for r in rows if len(r)]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def train_from_sim(sim_dir: Path, out: Path, *, risk_seed: int = 0, n_estimators: int = 200,
                   store: tuple[pd.DataFrame, pd.Series, dict[str, Any]] | None = None,
                   city: str | None = None, reproduce: str | None = None) -> dict[str, Any]:
    """Train the fusion model on one simulated city and save it with its card.

    ``city`` names the city on the card instead of its folder (a temporary one is gone once trained), and
    ``reproduce`` is the command that trains the same model again.

    ``store`` (rows, labels and what the card should say, from
    :func:`aegis.usecases.warnings.store_training_rows`) adds a deployment's own leads, labelled by its
    citizens' reports and its closed warnings: what officers found out flows back into the model.
    """
    from aegis.training.modelstore import save_model

    risk = sim_entity_risk(sim_dir, seed=risk_seed)
    rows = sim_features(sim_dir, risk)
    victims = pd.read_parquet(sim_dir / "truth" / "victims.parquet")
    labels = lead_labels(rows, victims)
    keep = labels.notna().to_numpy()
    rows, labels = rows[keep], labels[keep]
    if store is not None:
        # the store's person ids must not meet the simulated city's in one cross-validation group
        real = store[0].assign(person_id="store:" + store[0]["person_id"].astype(str))
        rows = pd.concat([rows, real], ignore_index=True)
        labels = pd.concat([labels, store[1]], ignore_index=True)
    detector = VictimDetector(n_estimators=n_estimators).fit(rows, labels.to_numpy())
    manifest = sim_dir / "manifest.json"
    config = json.loads(manifest.read_text()).get("config", {}) if manifest.exists() else {}
    data = {
        "simulated_city": city or str(sim_dir),
        "people": config.get("people"),
        "days": config.get("days"),
        "seed": config.get("seed"),
        "lead_rows": len(rows),
        "victim_rows": int((labels != NORMAL).sum()),
        "victims": len(victims),
        "entity_risk": f"reports + simulated detector coverage 0.7 / false rate 0.002 (seed {risk_seed})"
        + (" + text model" if risk.text_scorer else ""),
        **({"store": store[2]} if store is not None else {}),
    }
    notes = (
        "Trained on a simulated city" + (" and a deployment's store" if store is not None else " only") + ". "
        "Out-of-fold figures are grouped by person; the figures that count come from "
        "`aegis evaluate warnings --sim DIR` on a city of another seed."
        + (f" Reproduce: `{reproduce}`." if reproduce else "")
    )
    return save_model(detector, out, data=data, metrics=detector.cv_metrics_, notes=notes)


# --- evaluation --------------------------------------------------------------------------------------------


def _quantile_h(values: pd.Series, q: float) -> float | None:
    return None if values.empty else round(float(values.quantile(q)) / 3600.0, 2)


def contact_deadlines(requests: list[wf.WarningRequest], policy: Policy, first_loss: pd.Series) -> pd.Series:
    """Per victim, the earliest contact deadline its warnings had before the first fraudulent transfer.

    Replays the requests through the workflow's own rules (:func:`aegis.actions.warnings.new_warning` and
    :func:`~aegis.actions.warnings.update_with_lead`: a later, more severe lead can only bring the deadline
    closer), ignoring requests made once the money had gone. Persons never warned in time are absent.
    """
    open_rows: dict[str, dict[str, Any]] = {}
    for request in sorted(requests, key=lambda r: r.time):
        loss = first_loss.get(request.person_id)
        if loss is None or request.time >= loss:
            continue
        key = wf.open_key(request.person_id, request.fraud_type)
        row = open_rows.get(key)
        if row is None:
            open_rows[key] = wf.new_warning(request, policy, city=None, district="", station="", now=request.time)
        else:
            row.update(wf.update_with_lead(row, request, policy, request.time) or {})
    deadlines = pd.Series({key: row["deadline"] for key, row in open_rows.items()}, dtype="datetime64[ns, UTC]")
    return deadlines.groupby(deadlines.index.str.split("|").str[0]).min()


def evaluate_sim(
    sim_dir: Path, model: Path | None = None, policy: Path | None = None, *, risk_seed: int = 1
) -> dict[str, Any]:
    """Replay a simulated city through the fusion loop and measure its warnings against the truth.

    A warning is the first due request about a (person, predicted fraud type); it counts as "before the
    first transfer" only if raised strictly before the victim's first fraudulent transfer.
    """
    from aegis.training.modelstore import load_model

    victims = pd.read_parquet(sim_dir / "truth" / "victims.parquet").drop_duplicates("person_id")
    if victims.empty:  # before the replay's minutes: the figures are all about victims
        raise InputError(Reason("--sim：{sim}中的城市没有可用来衡量预警的诈骗受害人（请模拟更多的人或天数，"
                                "或调高 --victims-per-10k-day）", sim=str(sim_dir)))
    loaded = load_model(model, "victim")
    pol = load_policy(policy)
    risk = sim_entity_risk(sim_dir, seed=risk_seed)
    frames, directory, person = read_sim_events(sim_dir)
    pipeline = WarningPipeline(loaded.detector, pol, risk, directory)  # type: ignore[arg-type]
    scored = [pipeline.step(batch) for batch in daily_batches(frames)]
    scored = [s for s in scored if len(s)]
    all_rows = (
        pd.concat(scored, ignore_index=True)
        if scored
        else pd.DataFrame(columns=["person_id", "time", "level", "predicted_type", "probability"])
    )
    due = all_rows[all_rows["level"] != ""].sort_values("time")
    warnings = due.drop_duplicates(["person_id", "predicted_type"], keep="first")

    first_loss = victims.set_index("person_id")["first_loss_time"]
    times = [pd.to_datetime(f["start" if k == "call" else "time"], utc=True) for k, f in frames.items() if len(f)]
    days = (
        max(1.0, (max(t.max() for t in times) - min(t.min() for t in times)).total_seconds() / 86400) if times else 1.0
    )
    people = len(person)

    earliest = warnings.groupby("person_id")["time"].min()
    v = victims.assign(warned_at=victims["person_id"].map(earliest))
    v["before"] = v["warned_at"].notna() & (v["warned_at"] < v["first_loss_time"])
    v["lead_s"] = (v["first_loss_time"] - v["warned_at"]).dt.total_seconds()
    deadline = v["person_id"].map(contact_deadlines(requests_from(all_rows), pol, first_loss))
    v["in_time"] = deadline.notna() & (deadline <= v["first_loss_time"])
    w = warnings.assign(
        true_victim=warnings["person_id"].isin(first_loss.index),
        true_type=warnings["person_id"].map(victims.set_index("person_id")["fraud_type"]),
    )

    def victim_block(sub: pd.DataFrame) -> dict[str, Any]:
        lead = sub.loc[sub["before"], "lead_s"]
        return {
            "victims": len(sub),
            "warned_before_first_transfer": round(float(sub["before"].mean()), 3) if len(sub) else None,
            "contact_deadline_before_first_transfer": round(float(sub["in_time"].mean()), 3) if len(sub) else None,
            "lead_time_h_median": _quantile_h(lead, 0.5),
            "lead_time_h_p10": _quantile_h(lead, 0.1),
        }

    def warning_block(sub: pd.DataFrame) -> dict[str, Any]:
        return {
            "warnings": len(sub),
            "precision": round(float(sub["true_victim"].mean()), 3) if len(sub) else None,
            "warnings_per_10k_people_day": round(len(sub) / people / days * 1e4, 3),
        }

    def level_block(sub: pd.DataFrame, level: str) -> dict[str, Any]:
        """Where a level's warnings go, and whether their first deadline fell before a victim's first loss."""
        if sub.empty:
            return {"queues": {}, "victim_warnings_deadline_in_time": None}
        queues = sub["predicted_type"].map(lambda t: pol.dispatch(level, t).queue).value_counts()
        deadline = sub["time"] + sub["predicted_type"].map(lambda t: pd.Timedelta(pol.dispatch(level, t).deadline))
        loss = sub["person_id"].map(first_loss)
        real = loss.notna()
        return {
            "queues": {q: int(n) for q, n in queues.items()},
            "victim_warnings_deadline_in_time": round(float((deadline[real] < loss[real]).mean()), 3)
            if real.any() else None,
        }

    by_type: dict[str, Any] = {}
    for ftype in sorted(set(victims["fraud_type"]) | set(w["predicted_type"])):
        by_type[ftype] = {**victim_block(v[v["fraud_type"] == ftype]), **warning_block(w[w["predicted_type"] == ftype])}
    on_victims = w[w["true_victim"]]
    return {
        "sim": str(sim_dir),
        "people": people,
        "days": round(days, 1),
        "model": loaded.card.get("data", {}),
        "policy_version": pol.version,
        "entity_risk": f"reports + simulated detector coverage 0.7 / false rate 0.002 (seed {risk_seed})"
        + (" + text model" if risk.text_scorer else ""),
        "overall": {
            **victim_block(v),
            **warning_block(w),
            "type_accuracy_on_victims": round(
                float((on_victims["predicted_type"] == on_victims["true_type"]).mean()), 3
            )
            if len(on_victims)
            else None,
        },
        "by_level": {lv: {**warning_block(w[w["level"] == lv]), **level_block(w[w["level"] == lv], lv)}
                     for lv in LEVELS},
        "by_fraud_type": by_type,
        "targets": {"warned_before_first_transfer": 0.8, "precision": 0.8},
    }
