"""``aegis funds ...``: chase a victim's money, answer orders as a bank, release, return."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from aegis.cli.common import (
    DbOption,
    LangOpt,
    china_time,
    figure,
    in_cli_terms,
    out,
    print_json,
    say,
    show,
    table,
    text,
    user_errors,
    whole,
)
from aegis.names import name_of
from aegis.reasons import Explained, InputError, Lang, Reason, listing, yuan

app = typer.Typer(
    help="Funds chase (紧急止付、冻结、返还): trace, order, answer, release, return.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
orders_app = typer.Typer(help="Stop-payment and freeze orders.", no_args_is_help=True)
app.add_typer(orders_app, name="orders")


UserOption = Annotated[str | None, typer.Option(
    "--user", help="Who is acting, recorded in the audit log (default: your login name, not an anonymous one).")]
RoleOption = Annotated[str, typer.Option(
    "--role", help="city_centre (chases, holds, returns) or bank (answers its orders).")]
CentreRoleOption = Annotated[str, typer.Option(
    "--role", help="city_centre: the chase desk's command (a bank answers with respond and lists its orders with "
                   "orders list).")]
BankOption = Annotated[str | None, typer.Option("--institution", help="The bank's name, for --role bank.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@in_cli_terms({}, heads={"institution": "--institution", "user": "--user"})
def _actor(user: str | None, role: str, institution: str | None) -> Any:
    import getpass

    from aegis.usecases.actor import Actor, Role
    from aegis.usecases.funds import CHASE_ROLES

    # (a district bureau or station asks the city centre: the chase is the city's, 三级联动 ends here). Not the
    # system role, as over HTTP: a person at a shell is no job of Aegis's, and the audit log must not read as one
    allowed = sorted(r.value for r in {*CHASE_ROLES, Role.bank} if r is not Role.system)
    if role not in allowed:
        raise InputError(Reason("--role：资金命令供{allowed}使用，而不是“{role}”", allowed=listing(allowed), role=role))
    try:
        return Actor(user or getpass.getuser(), Role(role), institution=institution)
    except ValueError as exc:  # the actor's own words name the field at fault (user, institution)
        raise InputError(exc.reason if isinstance(exc, Explained) else str(exc)) from None


def _centre(user: str | None, role: str) -> Any:
    """The actor of a command that only the centre runs (it has no --institution): a bank is told which commands are
    its own, not asked for an option the command does not have."""
    if role == "bank":
        raise InputError(Reason("--role：银行用 respond 答复、用 orders list 查看自己的指令；此命令由city_centre执行"))
    return _actor(user, role, None)


def _engine(db: str | None) -> Any:
    from aegis.store import open_engine

    return open_engine(db, existing=True)  # chases and orders live in a store that exists


def _amount(option: str, text: str) -> Decimal:
    """A sum of money checked as the API checks it (:data:`aegis.events.models.PositiveMoney`)."""
    from pydantic import TypeAdapter, ValidationError

    from aegis.events.models import PositiveMoney

    try:
        return TypeAdapter(PositiveMoney).validate_python(text.strip())  # type: ignore[no-any-return]
    except ValidationError as exc:
        raise InputError(Reason("{option}：“{text}”：{error}", option=option, text=text,
                                error=exc.errors()[0]["msg"])) from None


def _print_orders(orders: list[Any], as_json: bool, lang: Lang, *, none: Reason) -> None:
    """Orders as JSON, or as a table of two lines an order (an 80-column terminal holds their ids and sums
    whole), or, when there are none, the line ``none`` saying why."""
    orders = [o.in_language(lang) for o in orders]
    if as_json:
        print_json([o.model_dump(mode="json") for o in orders])
        return
    if not orders:
        say(lang, none)
        return
    shown = table(lang, whole(Reason("指令"), Reason("账户")), text(Reason("类型"), Reason("状态")), Reason("银行"),
                  figure(Reason("跳数"), Reason("序号")), figure(Reason("要求金额"), Reason("已控金额")),
                  whole(Reason("答复时限"), Reason("（北京时间）")), compact=True)
    for o in orders:
        shown.add_row(
            f"{o.order_id}\n{o.account}",
            f"{o.names['kind']}\n" + (Reason("{state}（逾期）", state=o.names["state"]).text(lang) if o.late
                                      else o.names["state"]),
            o.bank,
            f"{o.hop}\n{o.seq}",
            f"{o.requested:.2f}\n{'' if o.held is None else f'{o.held:.2f}'}",
            china_time(o.respond_by, "\n"),
        )
    show(shown)


def _print_chase(view: Any, lang: Lang, *, again: bool = False) -> None:
    """A chase as officers read it: its victims and loss, the sinks the money reached, and its orders; ``again``
    says it was open already (a chase asked for twice)."""
    say(lang, Reason("追查{chase}：受害人{victims}，损失{loss}元", chase=view.chase_id, victims="、".join(view.victims),
                     loss=yuan(view.loss)))
    if again:
        say(lang, Reason("（已在追查中：指令未重复下达）"))
    for sink in view.flagged:
        say(lang, Reason("  资金出口（{kind}）：{account}（{amount}元）", kind=name_of(sink["sink"], lang),
                         account=sink["account"], amount=yuan(sink["amount"])))
    _print_orders(view.orders, False, lang, none=Reason(
        "未下达指令：没有账户留有足以下达指令的涉案资金（不到止付下限，或在收款账户以后的账户里不到流经资金的策略占比）"))


#: what a trace that orders nothing new says (a retrace, further losses)
NOTHING_NEW = Reason("没有新的指令：资金没有到达新的账户，已有指令的账户也没有新流入")


@app.command()
@user_errors
@in_cli_terms({"report_event_id": "--report", "loss_transfers": "--loss", "max_hops": "--max-hops", "rule": "--rule",
               "add_losses": "`aegis funds add-losses`"})
def chase(
    report: Annotated[str | None, typer.Option(help="Report event id to chase.")] = None,
    victim: Annotated[str | None, typer.Option(help="Victim id (with --loss).")] = None,
    loss: Annotated[list[str] | None, typer.Option(help="A loss transfer's event id (repeatable).")] = None,
    rule: Annotated[str | None, typer.Option(
        help="lifo (newest money leaves first, with the policy's max_dwell), fifo or proportional "
             "(default: the policy's).")] = None,
    max_hops: Annotated[int | None, typer.Option(min=1, max=20, help="Hop limit (default: the policy's).")] = None,
    user: UserOption = None,
    role: RoleOption = "city_centre",
    institution: BankOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    lang: LangOpt = "zh",
) -> None:
    """Open a chase: trace the loss transfers and send stop-payment orders to the banks."""
    from aegis.usecases.funds import open_chase

    if report is not None and (victim or loss):
        raise InputError(Reason("--report：追查从报案开启，或从 --victim 和 --loss 开启，不能两者都给（报案追查的"
                                "更多损失请用`aegis funds add-losses`补充）"))
    if report is None and not (victim and loss):
        missing = "--loss" if victim else "--victim" if loss else "--report"
        raise InputError(Reason("{missing}：追查从 --report REPORT_ID 开启，或从 --victim VICTIM_ID 及其损失转账"
                                "开启（每笔一个 --loss TRANSFER_ID）", missing=missing))
    view = open_chase(
        _engine(db),
        _actor(user, role, institution),
        report_event_id=report,
        victim=victim,
        loss_transfers=loss or [],
        rule=rule,
        max_hops=max_hops,
    ).in_language(lang)
    if as_json:
        print_json(view.model_dump(mode="json"))
        return
    _print_chase(view, lang, again=not view.opened_now)


@orders_app.command("list")
@user_errors
def orders_list(
    chase_id: Annotated[str | None, typer.Option("--chase", help="Only this chase.")] = None,
    state: Annotated[str | None, typer.Option(help="Only this state.")] = None,
    overdue: Annotated[bool, typer.Option(
        "--overdue", help="Only those still unanswered past their deadline (to ring the bank about).")] = False,
    user: UserOption = None,
    role: RoleOption = "city_centre",
    institution: BankOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
    lang: LangOpt = "zh",
) -> None:
    """List orders (a bank sees only its own); their reasons show with --json."""
    from aegis.usecases.funds import list_orders

    orders = list_orders(_engine(db), _actor(user, role, institution), chase_id=chase_id, state=state,
                         overdue=overdue)
    _print_orders(orders, as_json, lang, none=Reason("没有符合条件的指令"))


@app.command()
@user_errors
@in_cli_terms({"held": "--held", "reason": "--reason", "action": "ACTION"})
def respond(
    order_id: Annotated[str, typer.Argument(help="The order.")],
    action: Annotated[str, typer.Argument(help="acknowledge, execute, reject or moved_on.")],
    held: Annotated[str | None, typer.Option(help="Amount held (execute).")] = None,
    reason: Annotated[str | None, typer.Option(help="Why (reject).")] = None,
    user: UserOption = None,
    role: RoleOption = "bank",
    institution: BankOption = None,
    db: DbOption = None,
    lang: LangOpt = "zh",
) -> None:
    """Answer an order as its bank; moved_on makes the chase order the next hop."""
    from aegis.usecases.funds import respond as answer

    result = answer(
        _engine(db),
        _actor(user, role, institution),
        order_id,
        action,
        held=_amount("--held", held) if held else None,
        reason=reason,
    )
    out.print(f"{result.order.order_id}: {name_of(result.order.state.value, lang)}", highlight=False)
    if result.follow_ups:
        say(lang, Reason("后续指令："))
        _print_orders(result.follow_ups, False, lang, none=NOTHING_NEW)
    elif action == "moved_on":
        # a bank sees only the follow-ups sent to itself
        say(lang, Reason("没有发给本行的后续指令") if role == "bank" else
            Reason("没有后续指令：库中还没有资金转入的新账户（转出的转账入库后，用 aegis funds retrace 续查）"))


@app.command("show")
@user_errors
def show_chase(
    chase_id: Annotated[str, typer.Argument(help="The chase.")],
    user: UserOption = None,
    role: CentreRoleOption = "city_centre",
    db: DbOption = None,
    as_json: JsonOption = False,
    lang: LangOpt = "zh",
) -> None:
    """A chase whole: its victims and losses, where the money was at the last trace, and its orders."""
    from aegis.usecases.funds import get_chase

    view = get_chase(_engine(db), _centre(user, role), chase_id).in_language(lang)
    if as_json:
        print_json(view.model_dump(mode="json"))
        return
    _print_chase(view, lang)


@app.command()
@user_errors
def escalate(
    chase_id: Annotated[str, typer.Argument(help="The chase.")],
    user: UserOption = None,
    role: CentreRoleOption = "city_centre",
    db: DbOption = None,
    as_json: JsonOption = False,
    lang: LangOpt = "zh",
) -> None:
    """Follow the chase's executed stop-payments with freezes (a stop-payment past its hold is expired instead,
    and listed as such)."""
    from aegis.actions.orders import OrderKind
    from aegis.usecases.funds import escalate as run

    changed = run(_engine(db), _centre(user, role), chase_id)
    _print_orders(changed, as_json, lang, none=Reason("没有新的冻结：本案没有等待跟进冻结的已执行止付"))
    lapsed = sum(o.kind is OrderKind.stop_payment for o in changed)
    if lapsed and not as_json:
        say(lang, Reason("{n}条止付已过期，未能转为冻结：其资金已不再受控", n=lapsed))


@app.command()
@user_errors
def expire(
    user: UserOption = None,
    role: CentreRoleOption = "city_centre",
    db: DbOption = None,
    as_json: JsonOption = False,
    lang: LangOpt = "zh",
) -> None:
    """Mark every executed hold whose period has run out as expired (run it from a scheduler, e.g. hourly)."""
    from aegis.usecases.funds import expire_orders

    expired = expire_orders(_engine(db), _centre(user, role))
    if as_json:
        print_json(expired)
        return
    say(lang, Reason("到期的止付、冻结：{n}条", n=len(expired)))
    for order_id in expired:
        out.print(order_id, highlight=False)


@app.command()
@user_errors
def retrace(
    chase_id: Annotated[str, typer.Argument(help="The chase.")],
    user: UserOption = None,
    role: CentreRoleOption = "city_centre",
    db: DbOption = None,
    lang: LangOpt = "zh",
) -> None:
    """Trace the chase again now; order new accounts and supplementary holds (追加止付)."""
    from aegis.usecases.funds import retrace as run

    _print_orders(run(_engine(db), _centre(user, role), chase_id), False, lang, none=NOTHING_NEW)


@app.command("add-losses")
@user_errors
@in_cli_terms({"loss_transfers": "TRANSFERS"})
def add_losses(
    chase_id: Annotated[str, typer.Argument(help="The chase.")],
    transfers: Annotated[list[str], typer.Argument(help="Event ids of the further loss transfers.")],
    victim: Annotated[str | None, typer.Option(help="Whose losses (default: the chase's victim).")] = None,
    user: UserOption = None,
    role: CentreRoleOption = "city_centre",
    db: DbOption = None,
    lang: LangOpt = "zh",
) -> None:
    """Add further loss transfers to a chase (补充报案), then trace and order again."""
    from aegis.usecases.funds import add_losses as run

    _print_orders(run(_engine(db), _centre(user, role), chase_id, transfers, victim=victim), False, lang,
                  none=NOTHING_NEW)


@app.command()
@user_errors
def release(
    order_id: Annotated[str, typer.Argument(help="The order.")],
    reason: Annotated[str, typer.Option(help="Why the hold is lifted.")],
    user: UserOption = None,
    role: CentreRoleOption = "city_centre",
    db: DbOption = None,
    lang: LangOpt = "zh",
) -> None:
    """Lift an executed hold."""
    from aegis.usecases.funds import release as run

    order = run(_engine(db), _centre(user, role), order_id, reason)
    out.print(f"{order.order_id}: {name_of(order.state.value, lang)}", highlight=False)


@app.command()
@user_errors
def reissue(
    order_id: Annotated[str, typer.Argument(help="The rejected order.")],
    reason: Annotated[str, typer.Option(help="Why it is issued again (the paper the bank asked for, who was called).")],
    user: UserOption = None,
    role: CentreRoleOption = "city_centre",
    db: DbOption = None,
    as_json: JsonOption = False,
    lang: LangOpt = "zh",
) -> None:
    """Issue an order a bank rejected again, as a new order following it."""
    from aegis.usecases.funds import reissue as run

    _print_orders([run(_engine(db), _centre(user, role), order_id, reason)], as_json, lang, none=NOTHING_NEW)


@app.command("return")
@user_errors
def return_(
    chase_id: Annotated[str, typer.Argument(help="The chase.")],
    user: UserOption = None,
    role: CentreRoleOption = "city_centre",
    db: DbOption = None,
    as_json: JsonOption = False,
    lang: LangOpt = "zh",
) -> None:
    """Return the frozen money of the chase's accounts to the victims, pro rata; what no victim can be given
    (the bank froze the holder's own money too, or the victims are made whole) is shown as unallocated."""
    from aegis.usecases.funds import return_funds

    result = return_funds(_engine(db), _centre(user, role), chase_id)
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    if result.expired:
        say(lang, Reason("{n}条冻结已过期：其资金归还账户持有人，不予返还", n=len(result.expired)))
    if result.batch_id is None:
        earlier = "、".join(result.earlier_batches)
        say(lang, Reason("没有新的返还：本案的冻结资金已由返还批次{batches}返还", batches=earlier)
            if earlier else Reason("没有返还：本案账户上没有已执行的冻结"))
        return
    shown = table(lang, whole(Reason("受害人")), figure(Reason("返还金额")), compact=True)
    for victim, amount in result.per_victim.items():
        shown.add_row(victim, f"{amount:.2f}")
    show(shown)
    for account, amount in sorted(result.unallocated.items()):
        if amount > 0:
            say(lang, Reason("未分配：账户{account}的{amount}元留归账户持有人", account=account, amount=yuan(amount)))


@app.command()
@user_errors
def contacts(
    load: Annotated[bool, typer.Option(help="(Re)load the shipped duty posts first.")] = False,
    user: UserOption = None,
    role: RoleOption = "city_centre",
    institution: BankOption = None,
    db: DbOption = None,
    lang: LangOpt = "zh",
) -> None:
    """Banks' duty posts for orders, and who is on duty now."""
    from aegis.usecases.funds import bank_contacts, load_bank_contacts

    engine, actor = _engine(db), _actor(user, role, institution)
    if load:
        load_bank_contacts(engine, actor)
    posts = bank_contacts(engine, actor)
    if not posts:
        say(lang, Reason("没有银行值班岗位：用 --load 载入随附的岗位"))
        return
    shown = table(lang, Reason("银行"), Reason("角色"), Reason("岗位"), whole(Reason("电话")), Reason("值班时间"),
                  Reason("在岗"), compact=True)
    on_duty = Reason("是").text(lang)
    for c in posts:
        shown.add_row(c["bank"], name_of(c["role"], lang), c["post"], c["phone"], c["hours"],
                      on_duty if c["on_duty"] else "")
    show(shown)


@app.command()
@user_errors
def demo(
    sim: Annotated[Path, typer.Option("--sim", help="A simulator output folder.")],
    victims: Annotated[int, typer.Option(min=1, help="Reported victims to chase.")] = 5,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    lang: LangOpt = "zh",
) -> None:
    """Chase the money of some simulated victims end to end with simulated banks; a summary of the chases, the
    orders and the money stopped, frozen and returned."""
    from aegis.store import open_engine
    from aegis.usecases.funds import run_demo_chase

    summary = run_demo_chase(open_engine(db), sim, victims)  # a store of its own may be new
    if as_json:
        print_json(summary)
        return
    states = Reason("、").text(lang).join(f"{name_of(state, lang)} {n:,}"
                                         for state, n in summary["orders_by_state"].items())
    say(lang, Reason("资金追查演示：追查{chases}起，下达指令{orders:,}条（{states}）", chases=len(summary["chases"]),
                     orders=summary["orders"], states=states or "—"))
    if summary["already_open"]:
        say(lang, Reason("其中{n}起此前已在此库中开启：所示为库中的指令与金额，不是这次新下达的",
                         n=len(summary["already_open"])))
    money = ("loss", "stopped", "frozen", "returned")
    shown = table(lang, figure(Reason("损失")), figure(Reason("已止付")), figure(Reason("已冻结")),
                  figure(Reason("已返还")), title=Reason("金额（元）"), compact=True)
    shown.add_row(*(yuan(summary[k]) for k in money))
    show(shown)
    if not Decimal(summary["frozen"]) and not Decimal(summary["returned"]):
        say(lang, Reason("没有返还：追查的账户上没有已执行的冻结"))
        return
    shown = table(lang, whole(Reason("受害人")), figure(Reason("损失（元）")), figure(Reason("返还金额")),
                  title=Reason("各受害人返还"), compact=True)
    for victim, money in summary["returned_per_victim"].items():
        shown.add_row(victim, yuan(money["loss"]), yuan(money["returned"]))
    show(shown)


@app.command()
@user_errors
def reports(
    chased: Annotated[bool | None, typer.Option(
        "--chased/--not-chased", help="Only reports with a chase, or only those without (default: all).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many, newest first.")] = 100,
    user: UserOption = None,
    role: CentreRoleOption = "city_centre",
    db: DbOption = None,
    as_json: JsonOption = False,
    lang: LangOpt = "zh",
) -> None:
    """List the reports (警情) a chase opens from, newest first, each with its chase: the REPORT_ID of `chase`."""
    from aegis.events import fraud_type_name
    from aegis.usecases.funds import list_reports

    found = list_reports(_engine(db), _centre(user, role), chased=chased, limit=limit)
    if as_json:
        print_json([r.model_dump(mode="json") for r in found])
        return
    if not found:
        say(lang, Reason("没有符合条件的报案"))
        return
    # three lines a report (its id, the victim, its chase), so that an 80-column terminal holds every id whole
    shown = table(lang, whole(Reason("报案"), Reason("受害人"), Reason("追查")),
                  whole(Reason("诈骗类型"), Reason("收款账户")), figure(Reason("损失")),
                  whole(Reason("时间"), Reason("（北京时间）")), compact=True)
    for r in found:
        shown.add_row(f"{r.event_id}\n{r.victim_id}\n{r.chase_id or '-'}",
                      f"{fraud_type_name(r.fraud_type, lang)}\n" + "\n".join(r.accounts), f"{r.loss:.2f}",
                      china_time(r.time, "\n"))
    show(shown)
