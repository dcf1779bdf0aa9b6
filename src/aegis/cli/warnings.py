"""``aegis warnings ...``: the warning queues from the command line, for each role.

Who acts is given by ``--user`` and ``--role`` (plus ``--district`` / ``--station`` for those roles); the use
cases decide what that actor may see and do. Errors are one line on stderr and exit code 2.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

from aegis.cli.common import (
    DbOption,
    LangOpt,
    Stopwatch,
    china_time,
    err,
    figure,
    finite,
    in_cli_terms,
    out,
    plain,
    print_json,
    refuse_option,
    say,
    show,
    table,
    text,
    user_errors,
    whole,
)
from aegis.events import fraud_type_name
from aegis.names import name_of
from aegis.reasons import InputError, Lang, Reason, listing
from aegis.usecases.actor import POLICE_ROLES, Actor, Role


def _uc() -> Any:
    """The use cases, imported on first use: they load the models' libraries, which every command of
    ``aegis`` would otherwise pay for at start-up."""
    from aegis.usecases import warnings

    return warnings

app = typer.Typer(help="Warnings and dissuasion (预警劝阻): raise, list, show, take, contact, close, escalate, "
                       "stats, pace, retrain.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

User = Annotated[str, typer.Option("--user", help="Your user id (recorded in the audit log).")]


def _role(ctx: typer.Context, role: str | None, roles: Collection[Role]) -> Role | None:
    """A --role's value as a role; one that is none is refused in one line naming the ``roles`` the command takes,
    as the other refusals of --role are (Typer's own was a box, headed in English, listing every role)."""
    if role is None:
        return None
    try:
        return Role(role)
    except ValueError:
        refuse_option(ctx, Reason("{field}：“{value}”不在可选值{allowed}之中", field="--role", value=role,
                                  allowed=listing(sorted(roles))))


def _police(ctx: typer.Context, role: str | None) -> Role | None:
    """Warnings are the police's work (三级联动): a bank or telco user has no queue here (nor --institution)."""
    found = _role(ctx, role, POLICE_ROLES)
    if found is not None and found not in POLICE_ROLES:
        refuse_option(ctx, Reason("--role：{role}没有可处理的预警（须为city_centre、district_bureau或police_station）",
                                  role=found.value))
    return found


def _centre(action: Reason) -> Callable[[typer.Context, str | None], Role | None]:
    """A --role check for the city-wide jobs (raising, retraining, measuring pace), which are the centre's."""
    def check(ctx: typer.Context, role: str | None) -> Role | None:
        found = _role(ctx, role, [Role.city_centre])
        if found is not None and found is not Role.city_centre:
            refuse_option(ctx, Reason("--role：{role}不能{action}（须为city_centre）", role=found.value, action=action))
        return found
    return check


# read as text and made a role by its check (a Role is a str): Typer's own reading refused an unknown role in a box
RoleOpt = Annotated[str, typer.Option("--role", callback=_police,
                                      help="Your role: city_centre, district_bureau, police_station.")]
District = Annotated[str | None, typer.Option("--district", help="Your district (district bureau users).")]
Station = Annotated[str | None, typer.Option("--station", help="Your police station (station users).")]
Db = DbOption
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]
Note = Annotated[str, typer.Option(help="What happened, in your words (kept in the audit log as written).")]


#: the fields the use cases name that are a warning command's options, said as the options (only where the field
#: heads the message: they are words of its English too); a warning's status, named by a step it refuses, is no
#: option of that step's command
_JURISDICTION = {"district": "--district", "station": "--station"}
_in_cli_terms = in_cli_terms({}, heads=_JURISDICTION)


def _context(db: str | None, user: str, role: str, district: str | None, station: str | None) -> tuple[Any, Actor]:
    from aegis.store import open_engine

    actor = Actor(user, Role(role), district=district, station=station)
    return open_engine(db, existing=True), actor  # warnings live in a store that exists


def _show(rows: list[dict[str, Any]], lang: Lang) -> None:
    """Warnings, two lines each, so that an 80-column terminal has room for their reasons."""
    shown = table(lang, whole(Reason("编号"), Reason("派出所")), figure(Reason("级别"), Reason("概率")),
                  text(Reason("诈骗类型"), Reason("处置状态")), whole(Reason("联系时限"), Reason("（北京时间）")),
                  text(Reason("队列"), Reason("承办人")), Reason("理由"), compact=True)
    for r in (_uc().shown(row, lang) for row in rows):
        names = r["names"]
        shown.add_row(f"{r['warning_id']}\n{r['station']}", f"{names['level']}\n{r['probability']:.2f}",
                      f"{r['fraud_type_name']}\n{names['status']}", china_time(r["deadline"], "\n"),
                      f"{names['queue']}\n{r['assigned_to'] or ''}", "\n".join(r["reasons"][:2]))
    show(shown)


@app.command("list")
@user_errors
@in_cli_terms({"limit": "--limit", "offset": "--offset"},
              heads={**_JURISDICTION, "level": "--level", "status": "--status", "queue": "--queue"})
def list_(user: User, role: RoleOpt, district: District = None, station: Station = None, db: Db = None,
          status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
          queue: Annotated[str | None, typer.Option(help="Only this tier's queue: station, district, city.")] = None,
          level: Annotated[str | None, typer.Option(help="Only this level: urgent, high, medium, low.")] = None,
          open_only: Annotated[bool, typer.Option("--open", help="Only open warnings.")] = False,
          limit: Annotated[int, typer.Option(help="Show at most this many (1 to 1000).")] = 200,
          offset: Annotated[int, typer.Option(help="Skip this many first, in the same order (the next page).")] = 0,
          as_json: Json = False, lang: LangOpt = "zh") -> None:
    """List the warnings of your jurisdiction, most severe first (`show` one for its leads and history). When
    more match than are shown, a last line (on stderr with --json) says how many and how to see the rest."""
    engine, actor = _context(db, user, role, district, station)
    filters = {"status": status, "queue": queue, "level": level, "open_only": open_only}
    rows = _uc().list_warnings(engine, actor, limit=limit, offset=offset, **filters)
    # counted only when the page may have left some out: a first page shorter than its limit holds them all
    total = _uc().count_warnings(engine, actor, **filters) if len(rows) == limit or offset else len(rows)
    if as_json:
        print_json([_uc().shown(row, lang) for row in rows])
    elif rows:
        _show(rows, lang)
    elif not total:
        say(lang, Reason("没有符合条件的预警") if any(filters.values()) else Reason("辖区内没有预警"))
    if len(rows) < total:
        left = (Reason("显示第{first}至{last}条，共{total}条：其余用 --limit、--offset 查看", first=offset + 1,
                       last=offset + len(rows), total=total) if rows
                else Reason("--offset {offset}已越过最后一条（共{total}条）", offset=offset, total=total))
        (err if as_json else out).print(plain(left.text(lang)), highlight=False, soft_wrap=True)


@app.command("show")
@user_errors
@_in_cli_terms
def show_(warning_id: str, user: User, role: RoleOpt, district: District = None, station: Station = None,
          db: Db = None, as_json: Json = False, lang: LangOpt = "zh") -> None:
    """Show one warning whole: its fields, its reasons, the leads behind it (with the features the model saw) and
    what was done about it."""
    engine, actor = _context(db, user, role, district, station)
    r = _uc().shown(_uc().get_warning(engine, actor, warning_id), lang)
    if as_json:
        print_json(r)
        return
    names = r["names"]
    fields = table(lang, Reason("项目"), Reason("内容"), compact=True)
    fields.show_header = False
    for name, value in (
        (Reason("编号"), r["warning_id"]), (Reason("人员"), r["person_id"]), (Reason("诈骗类型"), r["fraud_type_name"]),
        (Reason("级别"), names["level"]), (Reason("概率"), f"{r['probability']:.2f}"),
        (Reason("处置状态"), names["status"]), (Reason("队列"), names["queue"]), (Reason("辖区"), r["district"]),
        (Reason("派出所"), r["station"]), (Reason("渠道"), names.get("channel", "")),
        (Reason("联系时限（北京时间）"), china_time(r["deadline"])), (Reason("升级次数"), str(r["escalations"])),
        (Reason("承办人"), r["assigned_to"] or ""), (Reason("联系方式"), names.get("contact_channel", "")),
        (Reason("办结结果"), names.get("outcome", "")), (Reason("线索数"), str(r["lead_count"])),
        (Reason("首条线索"), china_time(r["first_lead_at"])), (Reason("末条线索"), china_time(r["last_lead_at"])),
        (Reason("策略版本"), r["policy_version"]), (Reason("理由"), "\n".join(r["reasons"])),
    ):
        fields.add_row(name.text(lang), value)
    show(fields)
    leads = table(lang, whole(Reason("编号"), Reason("时间")), figure(Reason("级别"), Reason("概率")),
                  Reason("模型所见特征（非零）"), title=Reason("线索"), compact=True)
    for lead in r["leads"]:
        seen = " ".join(f"{k}={v:g}" for k, v in sorted((lead["features"] or {}).items()) if v)
        leads.add_row(f"{lead['lead_id']}\n{china_time(lead['time'])}",
                      f"{name_of(lead['level'], lang)}\n{lead['probability']:.2f}", seen)
    show(leads)
    history = table(lang, whole(Reason("时间")), Reason("操作人"), Reason("操作"), Reason("理由"),
                    title=Reason("处置记录"), compact=True)
    for entry in r["history"]:
        history.add_row(china_time(entry["at"]), entry["actor"], entry["action"], "\n".join(entry["reasons"]))
    show(history)


@app.command()
@user_errors
@_in_cli_terms
def take(warning_id: str, user: User, role: RoleOpt, district: District = None, station: Station = None,
         db: Db = None, lang: LangOpt = "zh") -> None:
    """Take a new warning: it becomes yours to contact the person."""
    engine, actor = _context(db, user, role, district, station)
    _show([_uc().take_warning(engine, actor, warning_id)], lang)


@app.command()
@user_errors
@in_cli_terms({"request_id": "--request-id"},
              heads={**_JURISDICTION, "channel": "--channel", "result": "--result", "note": "--note"})
def contact(warning_id: str, user: User, role: RoleOpt,
            channel: Annotated[str, typer.Option(help="sms, call (96110-style) or visit.")],
            result: Annotated[str, typer.Option(help="reached or unreachable (-> locating).")],
            note: Note = "", district: District = None, station: Station = None, db: Db = None,
            request_id: Annotated[str | None, typer.Option(
                help="Your id of this attempt: the same command run again with it records nothing twice.")] = None,
            lang: LangOpt = "zh") -> None:
    """Record a contact attempt with the person."""
    engine, actor = _context(db, user, role, district, station)
    _show([_uc().record_contact(engine, actor, warning_id, channel=channel, result=result, note=note,
                                request_id=request_id)], lang)


@app.command()
@user_errors
@in_cli_terms({}, heads={**_JURISDICTION, "outcome": "--outcome", "note": "--note"})
def close(warning_id: str, user: User, role: RoleOpt,
          outcome: Annotated[str, typer.Option(help="dissuaded, already_defrauded or false_alarm.")],
          note: Note = "", district: District = None, station: Station = None, db: Db = None,
          lang: LangOpt = "zh") -> None:
    """Close a warning with its outcome (the label that measures warning precision)."""
    engine, actor = _context(db, user, role, district, station)
    _show([_uc().close_warning(engine, actor, warning_id, outcome=outcome, note=note)], lang)


@app.command("escalate-overdue")
@user_errors
@_in_cli_terms
def escalate_overdue(user: User, role: RoleOpt, district: District = None, station: Station = None,
                     db: Db = None, lang: LangOpt = "zh") -> None:
    """Move warnings whose contact deadline passed up to the next tier's queue."""
    engine, actor = _context(db, user, role, district, station)
    moved = _uc().escalate_overdue(engine, actor)
    if moved:
        _show(moved, lang)
    up = sum(row["queue"] != row["from_queue"] for row in moved)
    say(lang, Reason("{up}条预警升至上一级；{kept}条已在市中心，逾期重新计时", up=up, kept=len(moved) - up))


def stats_table(stats: dict[str, Any], lang: Lang, *, title: Reason | None = None, fraud_types: bool = True) -> Any:
    """Counts, outcomes and precision of :func:`aegis.usecases.warnings.warning_stats`: all, each level and (with
    ``fraud_types``) each fraud type, one row each."""
    shown = table(lang, Reason("预警"), Reason("预警数"), Reason("未办结"), Reason("已办结"), Reason("劝阻成功"),
                  Reason("已被骗"), Reason("误报"), Reason("精确率（已办结）"), title=title)
    rows = [(Reason("全部").text(lang), stats["overall"]) if "overall" in stats else None,
            *((name_of(level, lang), block) for level, block in stats["by_level"].items()),
            *((fraud_type_name(ftype, lang), block) for ftype, block in stats.get("by_fraud_type", {}).items()
              if fraud_types)]
    for row in rows:
        if row is None:
            continue
        name, block = row
        outcomes = block["outcomes"]
        precision = "" if block["precision"] is None else f"{block['precision']:.2f}"
        shown.add_row(name, str(block["total"]), str(block["open"]), str(block["closed"]),
                      str(outcomes["dissuaded"]), str(outcomes["already_defrauded"]), str(outcomes["false_alarm"]),
                      precision)
    return shown


@app.command()
@user_errors
@_in_cli_terms
def stats(user: User, role: RoleOpt, district: District = None, station: Station = None, db: Db = None,
          as_json: Json = False, lang: LangOpt = "zh") -> None:
    """Warning counts, outcomes and precision per level and fraud type, over your jurisdiction."""
    engine, actor = _context(db, user, role, district, station)
    figures = _uc().warning_stats(engine, actor)
    if as_json:
        out.print_json(json.dumps(figures, ensure_ascii=False))
        return
    out.print(stats_table(figures, lang))


@app.command()
@user_errors
def pace(sim: Annotated[Path | None, typer.Option(help="A simulated city instead of the store.")] = None,
         user: Annotated[str | None, typer.Option("--user", help="Your user id (for the store).")] = None,
         role: Annotated[str | None, typer.Option("--role", callback=_centre(Reason("测算诈骗节奏")),
                                                   help="Your role (for the store: city_centre).")] = None,
         quantile: Annotated[float, typer.Option(help="Quantile of contact-to-loss times (0.01 to 0.99).",
                                                 callback=finite(0.01, 0.99))] = 0.1,
         min_cases: Annotated[int, typer.Option(help="Fewest cases for a fraud type to get a pace.", min=1)] = 5,
         db: Db = None, as_json: Json = False, lang: LangOpt = "zh") -> None:
    """Measure each fraud type's pace (first contact -> first loss) from reported cases, for the policy."""
    from aegis.usecases import pace as uc

    if sim is None and (user is None or role is None):
        raise InputError(Reason("--user：读取库须给出 --user 和 --role（或给出 --sim）"))
    with err.status(Reason("读取报案及其所指的事件").text(lang)):
        if sim is not None:
            result = uc.pace_from_sim(sim, quantile=quantile, min_cases=min_cases)
        else:
            engine, actor = _context(db, user, role, None, None)  # type: ignore[arg-type]
            result = uc.pace_from_store(engine, actor, quantile=quantile, min_cases=min_cases)
    if as_json:
        out.print_json(json.dumps(result, ensure_ascii=False))
        return
    if result["by_fraud_type"]:
        paces = table(lang, Reason("诈骗类型"), Reason("案件数"), Reason("小时（{q:g}分位）", q=quantile))
        for ftype, row in result["by_fraud_type"].items():
            paces.add_row(fraud_type_name(ftype, lang), str(row["cases"]), f"{row['hours']:.2f}")
        out.print(paces)
    if not result["policy_hours"]:
        # an empty table pasted into the policy would turn pace grading off: say why there is none instead
        say(lang, Reason("{timelines}条案件时间线，来自{reports}份报案：没有哪种诈骗类型达到{min_cases}起案件，"
                         "测不出节奏，策略文件保持不变", timelines=result["timelines"], reports=result["reports"],
                         min_cases=min_cases))
        return
    say(lang, Reason("{timelines}条案件时间线，来自{reports}份报案。写入策略文件：", timelines=result["timelines"],
                     reports=result["reports"]))
    out.print(yaml.safe_dump({"pace": {"hours": result["policy_hours"]}}, sort_keys=False), highlight=False)


@app.command("raise")
@user_errors
def raise_(user: User,
           role: Annotated[str, typer.Option("--role", callback=_centre(Reason("生成预警")), help="Your role.")],
           model: Annotated[Path | None, typer.Option(help="Warning model folder (default: the shipped one).")] = None,
           policy: Annotated[Path | None, typer.Option(help="Warnings policy file (default: the shipped one).")] = None,
           days: Annotated[float, typer.Option(
               callback=finite(0, 36500), help="Raise only the leads of the last N days of events (0: all of them; "
                                               "at most 36500). The replay starts 30 days earlier, as far as the "
                                               "fusion looks back.")] = 0,
           db: Db = None, as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
           lang: LangOpt = "zh") -> None:
    """Read the stored events through the fusion model, day by day, and raise and route the warnings that are due
    (run after ingest and `aegis profiles refresh`; a re-run raises nothing twice)."""
    from datetime import timedelta

    engine, actor = _context(db, user, role, None, None)
    window = timedelta(days=days) if days else None
    counts = _uc().raise_warnings_for_city(engine, actor, model=model, policy=policy, window=window,
                                           progress=Stopwatch(lang))
    if as_json:
        print(json.dumps(counts))
        return
    say(lang, Reason("线索{leads}条，预警请求{requests}条：新开{opened}、更新{updated}、未变{unchanged}、查无此人"
                     "{unknown_person}", **counts))


@app.command()
@user_errors
def retrain(user: User,
            role: Annotated[str, typer.Option("--role", callback=_centre(Reason("重新训练预警模型")),
                                               help="Your role.")],
            sim: Annotated[Path, typer.Option(help="The simulated training city (`aegis simulate --seed 1 "
                                                   "--people 20000 --days 30 --victims-per-10k-day 3`).")],
            model_out: Annotated[Path, typer.Option("--out", help="Folder for the retrained model.")],
            db: Db = None, lang: LangOpt = "zh") -> None:
    """Retrain the warning model on the training city plus the store's leads, labelled by reports and outcomes."""
    engine, actor = _context(db, user, role, None, None)
    with err.status(Reason("回放存储和训练城市，然后学习（需数分钟）").text(lang)):
        card = _uc().retrain(engine, actor, sim, model_out)
    say(lang, _uc().learnt(card.get("data", {}).get("store", {}), model_out))
