"""``aegis warnings ...``: the warning queues from the command line, for each role.

Who acts is given by ``--user`` and ``--role`` (plus ``--district`` / ``--station`` for those roles); the use
cases decide what that actor may see and do. Errors are one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from aegis.cli.common import LangOpt, err, out, user_errors
from aegis.reasons import Lang
from aegis.usecases.actor import Actor, Role


def _uc() -> Any:
    """The use cases, imported on first use: they load the models' libraries, which every command of
    ``aegis`` would otherwise pay for at start-up."""
    from aegis.usecases import warnings

    return warnings

app = typer.Typer(help="Warnings and dissuasion (预警劝阻): list, take, contact, close, escalate, stats, pace, "
                       "retrain.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

User = Annotated[str, typer.Option("--user", help="Your user id (recorded in the audit log).")]
RoleOpt = Annotated[Role, typer.Option("--role", help="Your role: city_centre, district_bureau, police_station.")]
District = Annotated[str | None, typer.Option("--district", help="Your district (district bureau users).")]
Station = Annotated[str | None, typer.Option("--station", help="Your police station (station users).")]
Db = Annotated[str | None, typer.Option("--db", help="Database URL (default: $AEGIS_DATABASE_URL).")]
Note = Annotated[str, typer.Option(help="What happened, in your words (kept in the audit log as written).")]


def _context(db: str | None, user: str, role: Role, district: str | None, station: str | None) -> tuple[Any, Actor]:
    from aegis.store import open_engine

    actor = Actor(user, role, district=district, station=station)
    return open_engine(db), actor


def _show(rows: list[dict[str, Any]], lang: Lang) -> None:
    table = Table("id", "level", "type", "P", "status", "queue", "station", "deadline", "assigned to", "reasons")
    for r in (_uc().shown(row, lang) for row in rows):
        table.add_row(r["warning_id"], r["level"], r["fraud_type_name"], f"{r['probability']:.2f}", r["status"],
                      r["queue"], r["station"], r["deadline"].strftime("%Y-%m-%d %H:%M"), r["assigned_to"] or "",
                      "; ".join(r["reasons"][:2]))
    out.print(table)


@app.command("list")
@user_errors
def list_(user: User, role: RoleOpt, district: District = None, station: Station = None, db: Db = None,
          status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
          queue: Annotated[str | None, typer.Option(help="Only this tier's queue: station, district, city.")] = None,
          open_only: Annotated[bool, typer.Option("--open", help="Only open warnings.")] = False,
          lang: LangOpt = "zh") -> None:
    """List the warnings of your jurisdiction, most severe first."""
    engine, actor = _context(db, user, role, district, station)
    _show(_uc().list_warnings(engine, actor, status=status, queue=queue, open_only=open_only), lang)


@app.command()
@user_errors
def take(warning_id: str, user: User, role: RoleOpt, district: District = None, station: Station = None,
         db: Db = None, lang: LangOpt = "zh") -> None:
    """Take a new warning: it becomes yours to contact the person."""
    engine, actor = _context(db, user, role, district, station)
    _show([_uc().take_warning(engine, actor, warning_id)], lang)


@app.command()
@user_errors
def contact(warning_id: str, user: User, role: RoleOpt,
            channel: Annotated[str, typer.Option(help="sms, call (96110-style) or visit.")],
            result: Annotated[str, typer.Option(help="reached or unreachable (-> locating).")],
            note: Note = "", district: District = None, station: Station = None, db: Db = None,
            lang: LangOpt = "zh") -> None:
    """Record a contact attempt with the person."""
    engine, actor = _context(db, user, role, district, station)
    _show([_uc().record_contact(engine, actor, warning_id, channel=channel, result=result, note=note)], lang)


@app.command()
@user_errors
def close(warning_id: str, user: User, role: RoleOpt,
          outcome: Annotated[str, typer.Option(help="dissuaded, already_defrauded or false_alarm.")],
          note: Note = "", district: District = None, station: Station = None, db: Db = None,
          lang: LangOpt = "zh") -> None:
    """Close a warning with its outcome (the label that measures warning precision)."""
    engine, actor = _context(db, user, role, district, station)
    _show([_uc().close_warning(engine, actor, warning_id, outcome=outcome, note=note)], lang)


@app.command("escalate-overdue")
@user_errors
def escalate_overdue(user: User, role: RoleOpt, district: District = None, station: Station = None,
                     db: Db = None, lang: LangOpt = "zh") -> None:
    """Move warnings whose contact deadline passed up to the next tier's queue."""
    engine, actor = _context(db, user, role, district, station)
    moved = _uc().escalate_overdue(engine, actor)
    _show(moved, lang)
    out.print(f"{len(moved)} warning(s) escalated")


@app.command()
@user_errors
def stats(user: User, role: RoleOpt, district: District = None, station: Station = None, db: Db = None) -> None:
    """Warning counts, outcomes and precision per level and fraud type, over your jurisdiction."""
    engine, actor = _context(db, user, role, district, station)
    out.print_json(json.dumps(_uc().warning_stats(engine, actor), ensure_ascii=False))


@app.command()
@user_errors
def pace(sim: Annotated[Path | None, typer.Option(help="A simulated city instead of the store.")] = None,
         user: Annotated[str | None, typer.Option("--user", help="Your user id (for the store).")] = None,
         role: Annotated[Role | None, typer.Option("--role", help="Your role (for the store: city_centre).")] = None,
         quantile: Annotated[float, typer.Option(help="Quantile of contact-to-loss times.", min=0.01,
                                                 max=0.99)] = 0.1,
         min_cases: Annotated[int, typer.Option(help="Fewest cases for a fraud type to get a pace.", min=1)] = 5,
         db: Db = None, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Measure each fraud type's pace (first contact -> first loss) from reported cases, for the policy."""
    from aegis.usecases import pace as uc

    if sim is None and (user is None or role is None):
        raise ValueError("user: --user and --role are needed to read the store (or give --sim)")
    with err.status("reading reports and the events they name"):
        if sim is not None:
            result = uc.pace_from_sim(sim, quantile=quantile, min_cases=min_cases)
        else:
            engine, actor = _context(db, user, role, None, None)  # type: ignore[arg-type]
            result = uc.pace_from_store(engine, actor, quantile=quantile, min_cases=min_cases)
    if as_json:
        out.print_json(json.dumps(result, ensure_ascii=False))
        return
    table = Table("fraud type", "cases", f"hours (q{quantile:g})")
    for ftype, row in result["by_fraud_type"].items():
        table.add_row(ftype, str(row["cases"]), f"{row['hours']:.2f}")
    out.print(table)
    out.print(f"{result['timelines']} case timelines from {result['reports']} reports. For the policy file:")
    out.print(yaml.safe_dump({"pace": {"hours": result["policy_hours"]}}, sort_keys=False), highlight=False)


@app.command()
@user_errors
def retrain(user: User, role: RoleOpt,
            sim: Annotated[Path, typer.Option(help="The simulated training city (`aegis simulate --seed 1 "
                                                   "--people 20000 --days 30 --victims-per-10k-day 3`).")],
            model_out: Annotated[Path, typer.Option("--out", help="Folder for the retrained model.")],
            db: Db = None) -> None:
    """Retrain the warning model on the training city plus the store's leads, labelled by reports and outcomes."""
    engine, actor = _context(db, user, role, None, None)
    with err.status("replaying the store and the training city, then learning (minutes)"):
        card = _uc().retrain(engine, actor, sim, model_out)
    store = card.get("data", {}).get("store", {})
    out.print(f"learnt from {store.get('lead_rows')} of the store's lead rows ({store.get('victim_rows')} of "
              f"victims: {store.get('reported_victims')} reported, {store.get('closed_warnings')} warnings "
              f"closed, {store.get('false_alarms')} false alarms) beside the training city; written to "
              f"{model_out}", highlight=False)
