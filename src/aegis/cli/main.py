"""The ``aegis`` command: a thin shell over the use cases.

Every command turns known errors (bad input, a missing model, an unreachable database) into one line naming
what is wrong and a non-zero exit, never a stack trace.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from aegis import __version__
from aegis.cli.common import (
    DbOption,
    LangOpt,
    Stopwatch,
    china_time,
    err,
    fail,
    figure,
    file_on_the_way,
    finite,
    in_cli_terms,
    json_text,
    lang_of,
    out,
    say,
    show,
    table,
    text,
    user_errors,
    whole,
    written_to,
)
from aegis.cli.warnings import stats_table
from aegis.names import SUBJECT_NAMES, action_name, name_of
from aegis.reasons import Explained, InputError, Lang, Reason, joined, listing, yuan

if TYPE_CHECKING:
    from aegis.usecases import Say

app = typer.Typer(
    help="Aegis (反诈神盾): prevent, control and investigate telecom and online fraud.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The store: migrations, counts, the audit log's seals.", no_args_is_help=True)
app.add_typer(db_app, name="db")
profiles_app = typer.Typer(help="Risk profiles of numbers, accounts and domains, which real-time decisions read.",
                           no_args_is_help=True)
app.add_typer(profiles_app, name="profiles")


def _mount_workflows() -> None:
    from aegis.cli.funds import app as funds_app
    from aegis.cli.warnings import app as warnings_app

    app.add_typer(warnings_app, name="warnings", help="Warnings and dissuasion (预警劝阻), by jurisdiction.")
    app.add_typer(funds_app, name="funds", help="Stop-payment, freeze and return of fraud money (止付冻结).")





def _version(value: bool) -> None:
    if value:
        out.print(f"aegis {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Aegis (反诈神盾)."""
    _lang_from_environment()
    _stop_as_interrupt()


def _stop_as_interrupt() -> None:
    """A stop asked of the process (SIGTERM: ``kill``, systemd, a container's end) unwinds the command: open
    transactions roll back, files in progress (an ingest's reject file) are removed, one line says so, and it
    exits 143 (128 + SIGTERM), as a process ended by the signal would. Python's default ends the process on the
    spot, leaving them behind. ``serve`` installs its own handler."""
    import signal

    def stop(signum: int, frame: object) -> None:
        fail(_lang_of_argv(), Reason("已按停止信号中止：已保存的部分保留，未完成的已撤回"))
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


@contextlib.contextmanager
def deferred_stops() -> Iterator[None]:
    """Holds Ctrl-C and SIGTERM off while a step that must end whole runs (a batch recorded and printed): a stop
    asked meanwhile is handled, and unwinds the command, when the step has ended. Python's own handlers are swapped
    for one that notes the stop, not the signals masked: in a process with other threads (a native library's) the
    kernel hands a masked signal to one of those, and Python's handler ran anyway."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():  # handlers are the main thread's alone
        yield
        return
    asked: list[signal.Signals] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda signum, frame: asked.append(signal.Signals(signum)))
                for signum in held}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if asked:  # the first stop asked, as it would have been handled then
            handler = previous[asked[0]]
            if callable(handler):
                handler(asked[0], None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(asked[0])


def _lang_of_argv() -> Lang:
    """The command line's ``--lang``, else ``$AEGIS_LANG`` (:func:`aegis.cli.common.lang_of`): for what is said
    outside a command's own body."""
    from aegis.reasons import parse_lang

    args = sys.argv
    given = next((a.split("=", 1)[1] for a in args if a.startswith("--lang=")), None) or next(
        (args[i + 1] for i, a in enumerate(args[:-1]) if a == "--lang"), None)
    return lang_of({"lang": parse_lang(given)} if given else {})


def _lang_from_environment() -> None:
    """``$AEGIS_LANG`` read as every command reads it: zh, en, or a locale (``en_US.UTF-8``: English; one of
    another language: the default, Chinese), as ``serve`` reads it. Only ``--lang`` itself must say zh or en.
    Runs before a command's options are read (Click calls the group first)."""
    import os

    from aegis.reasons import parse_lang

    if "AEGIS_LANG" in os.environ:
        os.environ["AEGIS_LANG"] = parse_lang(os.environ["AEGIS_LANG"])


def progress_bar(description: str) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=not sys.stderr.isatty(),
        disable=not sys.stderr.isatty(),
    )


@app.command()
@user_errors
@in_cli_terms({"reject_file": "--rejects"})
def ingest(
    kind: Annotated[
        str,
        typer.Argument(
            help="Event kind: person, call, sms, transfer, url_visit, app_install, "
            "sim_opening, account_opening, report."
        ),
    ],
    file: Annotated[Path, typer.Argument(help="A CSV, JSONL or Parquet file.")],
    rejects: Annotated[
        Path | None, typer.Option(help="Where to write rejected rows (default: FILE.rejects.csv), when the run "
                                       "ends; an earlier run's reject file there is replaced.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per transaction.")] = 5000,
    db: DbOption = None,
    lang: LangOpt = "zh",
) -> None:
    """Validate and store an event file; bad rows go to a reject file with line, field and reason."""
    from aegis.ingest import ingest_file
    from aegis.store import open_engine

    engine = open_engine(db)
    with progress_bar("ingest") as bar:
        task = bar.add_task(f"{name_of(kind, lang)} ← {file.name}", total=None)
        result = ingest_file(
            engine,
            kind,
            file,
            reject_file=rejects,
            batch_size=batch_size,
            on_total=lambda n: bar.update(task, total=n),
            progress=lambda n: bar.advance(task, n),
        )
    say(lang, Reason("{kind}：读取{read:,}行，存入{stored:,}行，已存过{duplicate:,}行，拒收{rejected:,}行",
                     kind=name_of(kind, lang), read=result.read, stored=result.stored, duplicate=result.duplicate,
                     rejected=result.rejected))
    for reject in result.sample_rejects:  # the reason as validation gave it
        line = Reason("第{line}行：{field}：{reason}", line=reject.line, field=reject.field, reason=reject.reason)
        err.print(f"  {line.text(lang)}", highlight=False)
    if result.rejected > len(result.sample_rejects):
        more = Reason("另有{n:,}行被拒收", n=result.rejected - len(result.sample_rejects))
        err.print(f"  {more.text(lang)}", highlight=False)
    if result.reject_file:
        say(lang, Reason("被拒收的行：{path}", path=str(result.reject_file)))
    if result.rejected and not (result.stored or result.duplicate):
        # nothing of the file could be used: a script running the ingest must notice
        fail(lang, Reason("{file}：每一行都被拒收", file=str(file)))
        raise typer.Exit(1)


@db_app.command("upgrade")
@user_errors
def db_upgrade(db: DbOption = None, lang: LangOpt = "zh") -> None:
    """Create or migrate the store's schema to the latest version."""
    from aegis.store import database_url, make_engine, upgrade
    from aegis.store.engine import revision

    engine = make_engine(db, existing=False)
    if engine.url.get_backend_name() == "sqlite" and engine.url.database in (None, "", ":memory:"):
        raise InputError(Reason("--db：内存中的SQLite库随命令结束而消失（请给出文件：sqlite:///PATH）"))
    before = upgrade(engine)
    after, url = revision(engine), _masked_url(database_url(db))
    if before == after:
        say(lang, Reason("数据库结构已是最新版本（{after}）：{url}", after=after, url=url))
    elif before is None:
        say(lang, Reason("已建立数据库结构（版本 {after}）：{url}", after=after, url=url))
    else:
        say(lang, Reason("数据库结构已从版本 {before} 升级到 {after}：{url}", before=before, after=after, url=url))


@db_app.command("counts")
@user_errors
def db_counts(db: DbOption = None, lang: LangOpt = "zh") -> None:
    """How many events of each kind are stored."""
    from aegis.store import EventRepository, open_engine

    shown = table(lang, Reason("事件类型"), figure(Reason("事件数")))
    for kind, n in EventRepository(open_engine(db, existing=True)).counts().items():
        shown.add_row(name_of(kind, lang), f"{n:,}")
    out.print(shown)


AnchorOpt = Annotated[list[str] | None, typer.Option(
    "--anchor", help="A digest an earlier seal printed, filed outside the store: it must still be one of the seals' "
                     "(repeatable).")]


@db_app.command("seal")
@user_errors
def db_seal(
    user: Annotated[str | None, typer.Option(help="The operator sealing (kept with the seal); Aegis itself by "
                                                  "default, as a scheduled job.")] = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the seal as JSON.")] = False,
    lang: LangOpt = "zh",
) -> None:
    """Seal the audit log's entries since the last seal with a SHA-256 chain.

    File the digest it prints (the anchor) outside the store, so that `db verify --anchor` can tell a rewritten
    log. Run it on a schedule."""
    from dataclasses import asdict

    from aegis.store import open_engine
    from aegis.usecases.actor import SYSTEM, Actor, Role
    from aegis.usecases.audit import seal_audit

    actor = Actor(user, Role.system) if user is not None else SYSTEM
    newest, wrote = seal_audit(open_engine(db, existing=True), actor)
    if as_json:
        print(json_text({"sealed": wrote, "seal": asdict(newest) if newest else None}, default=str))
        return
    if newest is None:
        say(lang, Reason("审计日志还没有条目，无可封存"))
        return
    if wrote:
        say(lang, Reason("已封存审计日志条目{first}至{last}（{entries:,}条）：封存#{seal}", first=newest.after_id + 1,
                         last=newest.last_id, entries=newest.entries, seal=newest.id))
    else:
        say(lang, Reason("封存#{seal}（至条目{last}）以来没有新条目", seal=newest.id, last=newest.last_id))
    say(lang, Reason("锚点（请存放在本库之外）：{digest}", digest=newest.digest))


@db_app.command("verify")
@user_errors
def db_verify(
    anchor: AnchorOpt = None,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
    lang: LangOpt = "zh",
) -> None:
    """Check the audit log against its seals; exit 1 if anything is wrong.

    Every sealed entry must be as it was sealed, none removed or slipped in, and each --anchor one of the seals."""
    from aegis.store import open_engine
    from aegis.usecases.actor import SYSTEM
    from aegis.usecases.audit import verify_audit

    found = verify_audit(open_engine(db, existing=True), SYSTEM, anchor or ())
    if as_json:
        print(json_text({"intact": found.intact, "entries": found.entries, "sealed": found.sealed,
                         "unsealed": found.unsealed, "seals": found.seals, "head": found.head,
                         "anchors": len(anchor or ()), "problems": [p.text(lang) for p in found.problems]},
                        default=str))
    else:
        for problem in found.problems:
            fail(lang, problem)
        summary = Reason("审计日志{state}：{entries:,}条，{sealed:,}条已封存（{seals}个封存），{unsealed:,}条尚未封存",
                         state=Reason("完好") if found.intact else Reason("与封存不符"), entries=found.entries,
                         sealed=found.sealed, seals=found.seals, unsealed=found.unsealed)
        (say if found.intact else fail)(lang, summary)
        if anchor and found.intact:
            say(lang, Reason("{n}个锚点都在封存之中", n=len(anchor)))
        if found.head:
            say(lang, Reason("最新锚点：{digest}", digest=found.head))
    if not found.intact:
        raise typer.Exit(1)


def _masked_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
@user_errors
def schemas(
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the JSON Schema files.")] = Path("docs/schemas"),
) -> None:
    """Export the event records as JSON Schema files."""
    from aegis.events.schemas import export_schemas

    for path in export_schemas(out_dir):
        out.print(str(path), highlight=False)


@app.command()
@user_errors
@in_cli_terms({"people": "--people", "seed": "--seed", "victims_per_10k_day": "--victims-per-10k-day"},
              heads={"days": "--days"})  # "days" is a word of the messages' English too (at most 366 days)
def simulate(
    people: Annotated[int, typer.Option(min=150, help="Residents of the city (150 to 2,000,000).")] = 10_000,
    days: Annotated[int, typer.Option(min=1, help="Days to simulate (1 to 366).")] = 14,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same city.")] = 1,
    victims: Annotated[float, typer.Option("--victims-per-10k-day", callback=finite(),
                                           help="New fraud victims per 10,000 residents a day (0 to 10000; a "
                                                "rate more than the city's residents can hold is refused, naming "
                                                "the most it holds).")] = 1.0,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for events/ and truth/.")] = Path("var/sim"),
    force: Annotated[bool, typer.Option("--force", help="Write into --out even if it holds files (a city there is "
                                                        "overwritten).")] = False,
    lang: LangOpt = "zh",
) -> None:
    """Simulate a city: residents, ordinary traffic, fraud campaigns, and the ground truth."""
    from aegis.simulate import SimConfig
    from aegis.simulate import simulate as run
    from aegis.training.task import DataError

    in_the_way = file_on_the_way(out_dir)
    if in_the_way is not None:
        raise DataError(Reason("--out：{path}是文件，此处需要文件夹", path=str(in_the_way)))
    if out_dir.exists() and any(out_dir.iterdir()) and not force:
        raise DataError(Reason("--out：{path}不是空的（其中的城市会被覆盖：要覆盖请加 --force，或换一个文件夹）",
                               path=str(out_dir)))
    try:
        config = SimConfig(people=people, days=days, seed=seed, victims_per_10k_day=victims)
    except ValueError as exc:
        raise DataError(exc.reason if isinstance(exc, Explained) else str(exc)) from None
    with progress_bar("simulate") as bar:
        task = bar.add_task(Reason("模拟").text(lang), total=None)

        def advance(stage: str, done: int, total: int) -> None:
            named = _SIM_STAGES.get(stage)
            bar.update(task, description=named.text(lang) if named else stage, completed=done, total=total)

        try:
            manifest = run(config, out_dir, progress=advance)
        except OSError as exc:  # the city is written aside first: the system names that folder, not --out
            raise DataError(written_to("--out", out_dir, exc)) from None
    shown = table(lang, Reason("事件类型"), figure(Reason("行数")))
    for kind, n in manifest["rows"].items():
        shown.add_row(name_of(kind, lang), f"{n:,}")
    out.print(shown)
    say(lang, Reason("已写入{path}", path=str(out_dir)))


#: the stages of :func:`aegis.simulate.simulate` its progress bar names
_SIM_STAGES: dict[str, Reason] = {"population": Reason("生成居民"), "day": Reason("逐日模拟"), "done": Reason("完成")}


@app.command()
@user_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    db: DbOption = None,
    max_body_mb: Annotated[int, typer.Option(min=1, max=1024, help="The largest request body taken, in MiB; a "
                                             "larger one is refused with 413.")] = 16,
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs); it listens once the decisions' models are loaded."""
    import uvicorn

    from aegis.api.app import create_app
    from aegis.api.logs import log_config
    from aegis.store import open_engine
    from aegis.usecases.decisions import warm

    # a store that is not there is a typo'd path, not a new deployment (`aegis db upgrade` makes one)
    engine = open_engine(db, existing=True)
    # the decisions' models load before the server listens (a few seconds): once it answers, a first request
    # waits no longer than the next, and a health check that answers means decisions are ready
    warm(engine)
    uvicorn.run(create_app(engine, max_body_bytes=max_body_mb * 2**20), host=host, port=port,
                log_config=log_config())


@app.command()
@user_errors
def decide(
    channel: Annotated[str, typer.Argument(help="sms, call, url or transfer.")],
    file: Annotated[Path, typer.Argument(help="A JSONL, CSV or Parquet file (told by its suffix), one request a line "
                                              "or row, with the API's fields; CSV may be UTF-8 or GBK.")],
    db: DbOption = None,
    lang: LangOpt = "zh",
    policy: Annotated[Path | None, typer.Option(
        help="Try this decisions policy file instead of the shipped one: a what-if run on past requests, so "
             "nothing is written to the audit log; a summary of the actions goes to stderr.")] = None,
) -> None:
    """Decide block / warn / pass for each request in a file; one JSON decision per line on stdout.

    The operator's batch: decided and audited as Aegis itself (the system role), on any channel. Running the same
    file again is a retry: a row without a request_id gets one from the file and its line, so the answers recorded
    by a stopped run are printed again and nothing is recorded twice."""
    import hashlib
    from collections import Counter

    import orjson
    from pydantic import BaseModel

    from aegis.decisions.policy import load_policy
    from aegis.ingest import validate_rows
    from aegis.ingest.readers import FileFormatError, detect_format, file_encoding, read_batches
    from aegis.store import open_engine
    from aegis.training.task import DataError, check_file
    from aegis.usecases import decisions
    from aegis.usecases.actor import SYSTEM

    models: dict[str, type[BaseModel]] = {
        "sms": decisions.SmsIn,
        "call": decisions.CallIn,
        "url": decisions.UrlIn,
        "transfer": decisions.TransferIn,
    }
    if channel not in models:
        raise DataError(Reason("{field}：“{value}”不在可选值{allowed}之中", field="channel", value=channel,
                               allowed=listing(models)))
    # the readers of `aegis ingest`, so that a file is read alike by both (its encoding, blank cells, lists)
    check_file(file)
    try:
        fmt = detect_format(file)
        rows = [row for batch in read_batches(file, fmt, encoding=file_encoding(file, fmt)) for row in batch]
    except FileFormatError as exc:
        raise DataError(exc.reason) from None
    valid, rejects = validate_rows(models[channel], rows)
    if rejects:  # nothing is decided from a file with a bad line; the first is named
        first = rejects[0]
        raise DataError(Reason("{file}：第{line}行：{field}：{reason}", file=file.name, line=first.line,
                               field=first.field, reason=first.reason))
    # a run of the same file again is a retry: a request without an id of its own gets one from the file and its
    # line, so a run stopped after a batch was recorded (kill -9 too) prints that batch's answers when run again and
    # records nothing twice; the API's callers give their own ids
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:16]
    requests = [request if getattr(request, "request_id", None) else
                request.model_copy(update={"request_id": f"{digest}:{raw.line}"}) for raw, request in valid]
    tried = load_policy(policy) if policy is not None else None
    decider = decisions.Decider(open_engine(db, existing=True), SYSTEM, tried, lang=lang, record=tried is None)
    actions: Counter[str] = Counter()
    for start in range(0, len(requests), decisions.MAX_BATCH):
        # a batch is recorded and printed whole: a stop (Ctrl-C, SIGTERM) asked meanwhile waits for its last line,
        # where it landed between the two and left recorded decisions the operator was never shown
        with deferred_stops():
            for decision in getattr(decider, channel)(requests[start:start + decisions.MAX_BATCH]):
                actions[decision.action.value] += 1
                print(orjson.dumps(decision.model_dump(mode="json")).decode())
            sys.stdout.flush()
    if tried is not None:
        summary = Reason("试行策略 {version}：拦截{block}、提醒{warn}、放行{allow}；未写入审计日志",
                         version=tried.version, block=actions["block"], warn=actions["warn"], allow=actions["pass"])
        err.print(summary.text(lang), highlight=False)


@profiles_app.command("refresh")
@user_errors
def profiles_refresh(
    db: DbOption = None,
    days: Annotated[float, typer.Option(callback=finite(0, 36500), help="Read the events of this many days before "
                                                                        "the latest stored one (0: all of them; at "
                                                                        "most 36500).")] = 30,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
    lang: LangOpt = "zh",
) -> None:
    """Rebuild and score the risk profiles from the stored events (the batch job behind real-time decisions)."""
    from datetime import timedelta

    from aegis.store import open_engine
    from aegis.usecases.actor import SYSTEM
    from aegis.usecases.profiles import refresh_profiles

    window = timedelta(days=days) if days else None
    result = refresh_profiles(open_engine(db, existing=True), SYSTEM, progress=Stopwatch(lang), window=window)
    if as_json:
        print(json.dumps({"since": result.since.isoformat() if result.since else None,
                          "profiles": result.profiles, "flagged": result.flagged}))
        return
    shown = table(lang, Reason("实体"), Reason("画像数"), Reason("标记涉诈"), title=Reason("风险画像"))
    for kind, count in result.profiles.items():
        shown.add_row(name_of(kind, lang), f"{count:,}", f"{result.flagged.get(kind, 0):,}")
    out.print(shown)
    since = china_time(result.since) if result.since else None
    say(lang, Reason("事件窗口：自{since}（北京时间）起", since=since) if since else Reason("事件窗口：全部事件"))


@app.command()
@user_errors
@in_cli_terms({"limit": "--limit", "subject_type": "--subject-type", "subject_id": "--subject-id"},
              heads={"action": "--action", "user": "--user"})
def audit(
    user: Annotated[str, typer.Option("--user", help="Who is reading (the read is recorded too).")],
    role: Annotated[str, typer.Option("--role", help="city_centre, or auditor (sees personal data masked).")],
    subject_type: Annotated[str | None, typer.Option(help="Only entries about this kind: "
                                                          f"{', '.join(SUBJECT_NAMES)}.")] = None,
    subject_id: Annotated[str | None, typer.Option(help="Only entries about this one.")] = None,
    action: Annotated[str | None, typer.Option(help="Only actions starting so, e.g. decision. or "
                                                    "warning.close")] = None,
    limit: Annotated[int, typer.Option(help="The newest this many entries (1 to 10000).")] = 50,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the entries as JSON.")] = False,
    lang: LangOpt = "zh",
) -> None:
    """Read the audit log: who decided what about whom, when and why, newest first."""
    from aegis.store import open_engine
    from aegis.training.task import DataError
    from aegis.usecases.actor import Actor, Role
    from aegis.usecases.audit import READERS, read_audit

    try:
        reader = Role(role)
    except ValueError:
        raise DataError(Reason("{field}：“{value}”不在可选值{allowed}之中", field="--role", value=role,
                               allowed=listing(r.value for r in Role))) from None
    if reader not in READERS:
        # said before an Actor is made, which would ask a station user for the --station this command has not:
        # the log is read citywide, never by district or station
        raise DataError(Reason("--role：{role}无权查看审计日志（审计日志按全市查看，限{readers}之一）", role=role,
                               readers=listing(sorted(r.value for r in READERS))))
    entries = read_audit(open_engine(db, existing=True), Actor(user, reader), subject_type=subject_type,
                         subject_id=subject_id, action=action, limit=limit, lang=lang)
    if as_json:
        print(json_text(entries, default=str))
        return
    if not entries:
        say(lang, Reason("没有符合条件的审计日志条目"))
        return
    # an action by its name, and its code below, which --action filters by
    shown = table(lang, whole(Reason("时间"), Reason("（北京时间）")), Reason("操作人"),
                  text(Reason("操作"), Reason("代码")), whole(Reason("对象")), Reason("理由"), title=Reason("审计日志"),
                  compact=True)
    for e in entries:
        shown.add_row(china_time(e["at"], "\n", seconds=True), e["actor"],
                      f"{action_name(e['action'], lang)}\n{e['action']}", f"{e['subject_type']}:\n{e['subject_id']}",
                      joined(e["reasons"], lang))
    show(shown)


@app.command()
@user_errors
@in_cli_terms({"people": "--people", "seed": "--seed"}, heads={"days": "--days"})
def demo(
    people: Annotated[int, typer.Option(min=1000, help="Residents of the demo city (1,000 to 2,000,000).")] = 5_000,
    days: Annotated[int, typer.Option(min=2, help="Days to simulate (2 to 366).")] = 7,
    seed: Annotated[int, typer.Option(help="Random seed of the city.")] = 2026,
    workdir: Annotated[Path, typer.Option(help="Where the city and its SQLite store go.")] = Path("var/demo"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    lang: LangOpt = "zh",
) -> None:
    """Simulate a small city and run it through Aegis end to end: ingest, detect, decide, warn, freeze."""
    from aegis.usecases.demo import DemoConfig, run_demo

    stopwatch = Stopwatch(lang)
    summary = run_demo(DemoConfig(people=people, days=days, seed=seed, workdir=workdir), stopwatch)
    summary["seconds"] = round(stopwatch.elapsed(), 1)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
        return
    _print_demo(summary, lang)


#: the demo's counts of warnings raised and of money chased, by their keys in the summary
_DEMO_COUNTS: dict[str, Reason] = {
    "leads": Reason("线索"),
    "requests": Reason("预警请求"),
    "opened": Reason("新开"),
    "updated": Reason("更新"),
    "unchanged": Reason("未变"),
    "unknown_person": Reason("查无此人"),
    "orders": Reason("指令"),
    "loss": Reason("损失"),
    "stopped": Reason("已止付"),
    "frozen": Reason("已冻结"),
    "returned": Reason("已返还"),
}


def _counts(block: dict[str, Any], lang: Lang) -> str:
    named = (
        f"{_DEMO_COUNTS[k].text(lang) if k in _DEMO_COUNTS else k} {v}"
        for k, v in block.items()
        if not isinstance(v, (dict, list))
    )
    return Reason("、").text(lang).join(named)


def _share(value: float | None) -> str:
    """A precision or recall of the demo; blank where there was nothing to measure (0/0), as in the warnings'."""
    return "" if value is None else f"{value:.3f}"


def _print_demo(summary: dict[str, Any], lang: Lang) -> None:
    city = summary["city"]
    out.rule(Reason("Aegis 演示：{people:,}名居民，{days}天（随机种子{seed}）", **city).text(lang))
    stored = sum(v["stored"] for v in summary["ingested"].values())
    rejected = sum(v["rejected"] for v in summary["ingested"].values())
    say(lang, Reason("已存储事件：{stored:,}   拒收：{rejected:,}", stored=stored, rejected=rejected))

    shown = table(lang, Reason("检测器（控）"), Reason("实体数"), Reason("真实涉诈"), Reason("标记"), Reason("精确率"),
                  Reason("召回率"), title=Reason("检测器对照真值"))
    for name, q in summary["detectors"].items():
        shown.add_row(
            name_of(name, lang),
            f"{q['entities']:,}",
            str(q["fraud"]),
            str(q["flagged"]),
            _share(q["precision"]),
            _share(q["recall"]),
        )
    out.print(shown)
    account = summary["detectors"]["account"]
    if account.get("active_recall") is not None:
        say(lang, Reason(
            "  账户：{days}天内转移过受害人资金的{active}个跑分、取现账户，召回率{recall:.3f}；其余{idle}个只有普通转账"
            "（出租、收购来的卡尚在静默：归开户核验与再核验管，即断卡）",
            days=city["days"], active=account["active_fraud"], recall=account["active_recall"],
            idle=account["fraud"] - account["active_fraud"],
        ))

    shown = table(lang, Reason("渠道"), Reason("抽样数"), Reason("真实涉诈"), Reason("拦截 / 提醒 / 放行"),
                  Reason("精确率"), Reason("召回率"), title=Reason("抽样实时决策"))
    for name, d in summary["decisions"].items():
        actions = d["actions"]
        shown.add_row(
            name_of(name, lang),
            str(d["sampled"]),
            str(d["fraud"]),
            f"{actions.get('block', 0)} / {actions.get('warn', 0)} / {actions.get('pass', 0)}",
            _share(d["precision"]),
            _share(d["recall"]),
        )
    out.print(shown)
    if "transfer" in summary["decisions"]:
        paid = summary["decisions"]["transfer"]
        say(lang, Reason(
            "  转账：受害人付给诈骗方的{fraud}笔与普通转账{ordinary}笔，各按转账当时尚未办结的预警与收款账户的画像决策",
            fraud=paid["fraud"], ordinary=paid["sampled"] - paid["fraud"],
        ))

    warnings = summary["warnings"]
    heading = Reason("预警（防）：").text(lang)
    out.print(f"[bold]{heading}[/bold]" + _counts(warnings["raised"], lang), highlight=False)
    say(lang, Reason("  城市中的受害人：{victims}人；走完劝阻流程的预警：{walked}条（一人可有不同诈骗类型的预警）",
                     victims=warnings["victims"], walked=warnings["walked"]))
    out.print(stats_table(warnings["stats"], lang, fraud_types=False,
                          title=Reason("各级预警（按诈骗节奏分级；走完流程的按城市真值办结）")))
    heading = Reason("资金（止付冻结）：").text(lang)
    funds = {k: yuan(v) if k in ("loss", "stopped", "frozen", "returned") else v for k, v in summary["funds"].items()}
    out.print(f"[bold]{heading}[/bold]" + _counts(funds, lang), highlight=False)
    say(lang, Reason("审计日志条目：{entries:,}；存储：{store}；用时{seconds}秒", entries=summary["audit_entries"],
                     store=summary["store"], seconds=summary["seconds"]))
    sealed = summary["audit_seal"]
    if sealed["digest"]:
        say(lang, Reason("审计日志已封存并核验{state}；锚点：{digest}", digest=sealed["digest"],
                         state=Reason("完好") if sealed["intact"] else Reason("与封存不符")))


KindArg = Annotated[str, typer.Argument(help="Detector: text, number, url or account.")]
DataOpt = Annotated[list[Path] | None, typer.Option("--data", help="Input file (repeatable).")]
EdgesOpt = Annotated[Path | None, typer.Option("--edges", help="Edge list (number detector).")]
AccountsOpt = Annotated[list[Path] | None, typer.Option("--accounts", help="Accounts file (account detector).")]
TransfersOpt = Annotated[list[Path] | None, typer.Option("--transfers", help="Transfers file (account detector).")]
FormatOpt = Annotated[str | None, typer.Option("--format", help="Input format, e.g. amlsim.")]


def _inputs(
    data: list[Path] | None,
    edges: Path | None,
    accounts: list[Path] | None,
    transfers: list[Path] | None,
    fmt: str | None,
) -> Any:
    from aegis.training.task import Inputs

    return Inputs(
        data=tuple(data or ()),
        edges=edges,
        accounts=tuple(accounts or ()),
        transfers=tuple(transfers or ()),
        format=fmt,
    )


@app.command()
@user_errors
def train(
    kind: KindArg,
    out_dir: Annotated[Path, typer.Option("--out", help="Model folder to write.")],
    data: DataOpt = None,
    edges: EdgesOpt = None,
    accounts: AccountsOpt = None,
    transfers: TransfersOpt = None,
    fmt: FormatOpt = None,
    folds: Annotated[int, typer.Option(help="Cross-validation folds for the model card (0: none).")] = 5,
    lang: LangOpt = "zh",
) -> None:
    """Train a detector on labelled files and write it with its model card."""
    from aegis.usecases.models import train as train_model

    result = train_model(kind, _inputs(data, edges, accounts, transfers, fmt), out_dir, folds=folds,
                         progress=Stopwatch(lang))
    say(lang, Reason("模型已写入{path}", path=str(result.out)))
    if result.card["metrics"]:
        from aegis.cli.figures import print_figures

        print_figures(result.card["metrics"], lang)


@app.command()
@user_errors
def predict(
    kind: KindArg,
    out_file: Annotated[Path, typer.Option("--out", help="PRED.csv to write.")],
    model: Annotated[Path | None, typer.Option(help="Model folder (default: the shipped model).")] = None,
    data: DataOpt = None,
    edges: EdgesOpt = None,
    accounts: AccountsOpt = None,
    transfers: TransfersOpt = None,
    fmt: FormatOpt = None,
    reasons: Annotated[bool, typer.Option(help="Add fraud_type and reasons columns.")] = False,
    lang: LangOpt = "zh",
) -> None:
    """Score files: one row per input row, in input order, with score and label."""
    from aegis.usecases.models import predict as predict_rows

    n = predict_rows(kind, model, _inputs(data, edges, accounts, transfers, fmt), out_file, reasons=reasons,
                     lang=lang, say=_warning(lang))
    say(lang, Reason("已写入{n:,}条预测：{path}", n=n, path=str(out_file)))


WORKFLOWS = ("warnings", "funds")


@app.command()
@user_errors
def evaluate(
    kind: Annotated[
        str, typer.Argument(help="A detector (text, number, url, account) or a workflow (warnings, funds).")
    ],
    model: Annotated[Path | None, typer.Option(help="Model folder (default: the shipped model).")] = None,
    data: DataOpt = None,
    edges: EdgesOpt = None,
    accounts: AccountsOpt = None,
    transfers: TransfersOpt = None,
    fmt: FormatOpt = None,
    sim: Annotated[Path | None, typer.Option(help="A simulated city (`aegis simulate`), for workflows.")] = None,
    policy: Annotated[Path | None, typer.Option(
        help="A workflow's policy file to try (default: the shipped one): warnings.yaml or funds.yaml.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    lang: LangOpt = "zh",
) -> None:
    """Measure a model against labelled files, or a workflow against a simulated city's truth."""
    from aegis.training.task import DataError

    if kind not in WORKFLOWS and kind not in ("text", "number", "url", "account"):
        raise DataError(Reason("kind：“{kind}”不在text、number、url、account（检测器）或{workflows}（业务流程）之中",
                               kind=kind, workflows=listing(WORKFLOWS)))
    if kind in WORKFLOWS:
        if sim is None or not (sim / "truth").is_dir():
            raise DataError(Reason("--sim：评估{kind}需要模拟城市的文件夹（含truth/）", kind=kind))
        if kind == "warnings":
            from aegis.usecases.warning_sim import evaluate_sim

            figures = evaluate_sim(sim, model, policy)
        else:
            from aegis.actions.orders import load_policy as load_funds_policy
            from aegis.usecases.funds import evaluate_funds_sim

            figures = evaluate_funds_sim(sim, policy=load_funds_policy(policy))
    else:
        if policy is not None:
            raise DataError(Reason("--policy：只有业务流程（warnings、funds）使用策略文件"))
        from aegis.usecases.models import evaluate as evaluate_model

        figures = evaluate_model(kind, model, _inputs(data, edges, accounts, transfers, fmt), say=_warning(lang))
    if as_json:
        print(json.dumps(figures, ensure_ascii=False, indent=2, default=str))
        return
    from aegis.cli.figures import print_figures

    print_figures(figures, lang)


def _warning(lang: Lang) -> Say:
    """What a use case warns of, one line on stderr after 警告： (warning: in English)."""
    def warn(message: Reason | str) -> None:
        said = message.text(lang) if isinstance(message, Reason) else message
        err.print(Reason("警告：{message}", message=said).text(lang), style="yellow", highlight=False, markup=False)

    return warn


_mount_workflows()

if __name__ == "__main__":
    app()
