"""What every ``aegis`` command shares: the consoles, the tables, and the rule that a user's error is one line,
exit 2."""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar

import typer
from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.segment import SegmentLines
from rich.table import Column, Table
from rich.text import Text as RichText

from aegis.reasons import LANGS, Explained, Lang, Reason, error_text, parse_lang
from aegis.usecases import unshown

F = TypeVar("F", bound=Callable[..., Any])


class _Stdout(Console):
    def on_broken_pipe(self) -> None:
        """A reader that stopped early (``| head``) ends the command in :func:`user_errors`, as it does for
        print(), rather than in rich's own way (exit code 1)."""
        raise BrokenPipeError


out = _Stdout()
err = Console(stderr=True, soft_wrap=True)

LangOpt = Annotated[
    Lang,
    # eager: read before the other options, so a check of one of them (--role) answers in this language
    typer.Option("--lang", envvar="AEGIS_LANG", case_sensitive=False, is_eager=True,
                 help="Language of what is shown: tables, names and reasons (default: $AEGIS_LANG, else zh)."),
]


DbOption = Annotated[
    str | None,
    typer.Option("--db", help="Database URL (default: $AEGIS_DATABASE_URL, else sqlite:///var/aegis.db)."),
]
"""every command's --db: the fallback is said, for a command run where it is missing names var/aegis.db"""


@dataclass(frozen=True)
class Head:
    """A column: its header, one message a line (two fields stacked in one column, one above the other, keep a
    table narrow), and what its cells hold. Text wraps; a whole value (an id, an account, a time) and a figure
    never break, so that they can be copied and read; figures align right."""

    lines: tuple[Reason, ...]
    kind: Literal["text", "whole", "figure"] = "text"


def text(*lines: Reason) -> Head:
    return Head(lines)


def whole(*lines: Reason) -> Head:
    return Head(lines, "whole")


def figure(*lines: Reason) -> Head:
    return Head(lines, "figure")


def _escaped(value: str, escape: Callable[[str], str]) -> str:
    """``value`` with each character that a terminal would act on or not show (:func:`aegis.usecases.unshown`: an
    escape sequence, a bidi override) written as ``escape`` writes it. Free text is refused such characters on the
    way in; this keeps what the store held before, or got by another way, from reaching the terminal raw."""
    if value.replace("\n", "").replace("\t", "").isprintable():  # the usual case, told at C speed: none there
        return value
    return "".join(escape(char) if unshown(char) else char for char in value)


def plain(value: str) -> RichText:
    """Text as it was written, to print: never read as rich's markup (a note holding ``[/x]`` stopped the listing
    with a traceback, one holding ``[conceal]`` hid words), a character that a terminal would act on or not show
    written as its escape, ``\\x1b`` or ``\\u202e`` (:func:`_escaped`)."""
    return RichText(_escaped(value, lambda char: ascii(char)[1:-1]))


def json_text(value: Any, *, default: Callable[[Any], Any]) -> str:
    """``value`` as indented JSON for a terminal or a script, non-ASCII text as it is and a character that a
    terminal would act on or not show as its JSON escape (``\\u001b``, :func:`_escaped`): the same JSON to a
    parser. (JSON escapes only the C0 controls itself.)"""
    return _escaped(json.dumps(value, ensure_ascii=False, indent=2, default=default),
                    lambda char: json.dumps(char)[1:-1])


class _Cells(Table):
    """A table whose text cells are shown as written (:func:`plain`): a record's cells hold what people wrote."""

    def add_row(self, *renderables: Any, style: Any = None, end_section: bool = False) -> None:
        super().add_row(*(plain(r) if isinstance(r, str) else r for r in renderables), style=style,
                        end_section=end_section)


def table(lang: Lang, *columns: Reason | Head, title: Reason | None = None, compact: bool = False) -> Table:
    """A table whose column headers (and title) are messages, shown in ``lang``.

    ``compact`` is for listings of records (warnings, orders, log entries), printed with :func:`show`: no borders
    between the columns, two spaces instead, so that an 80-column terminal gives its room to the cells."""
    # text wraps between words and folds only a word longer than its column: Chinese has no spaces to wrap at
    # (nor have the Chinese names of banks and stations in an English table), and an ellipsis would cut them short
    heads = [c if isinstance(c, Head) else Head((c,)) for c in columns]
    style: dict[str, Any] = (dict(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
                             if compact else {})
    return _Cells(*(Column("\n".join(r.text(lang) for r in h.lines), overflow="fold", no_wrap=h.kind != "text",
                          justify="right" if h.kind == "figure" else "left") for h in heads),
                 title=None if title is None else title.text(lang), **style)


#: the fewest cells a text column is given when :func:`show` weighs whether a table fits the terminal
_NARROWEST_TEXT = 4


def show(shown: Table) -> None:
    """Print a compact table of :func:`table` as wide as the terminal. Text wraps; whole values and figures stay whole
    on their line, their headers wrap between words if room is short, and where even then they (with a few cells
    for each text column) need more than the terminal, the table is as wide as they need, past the edge: an id cut
    short is no id."""
    def widest(cells: Iterable[Any], *, words: bool = False) -> int:
        pieces = (piece for cell in cells for piece in (str(cell).split() if words else str(cell).splitlines()))
        return max((cell_len(piece) for piece in pieces), default=0)

    def need(headers: bool) -> int:
        gaps = 2 * (len(shown.columns) - 1)
        return gaps + sum(
            max(widest(c.cells), widest([c.header], words=not headers), 1) if c.no_wrap
            else min(widest([c.header, *c.cells]), _NARROWEST_TEXT) for c in shown.columns)

    if need(headers=True) > out.width:
        for column in shown.columns:
            if column.no_wrap:
                column.max_width = max(widest(column.cells), widest([column.header], words=True), 1)
                column.header = RichText(str(column.header), no_wrap=False)
    width = need(headers=False)
    if width <= out.width:
        out.print(shown)
    else:  # print() would narrow it to the terminal again
        out.print(SegmentLines(out.render_lines(shown, out.options.update(width=width), pad=False), new_lines=True),
                  crop=False)


def print_json(value: Any) -> None:
    """``value`` as indented JSON on stdout (times in ISO 8601), for scripts."""
    def plain(item: Any) -> str:
        return item.isoformat() if isinstance(item, date) else str(item)

    print(json_text(value, default=plain))


def say(lang: Lang, message: Reason) -> None:
    """One line of output in ``lang``, its values (a path, a station's name) shown as written (:func:`plain`) and
    left whole for the terminal to wrap: a path or a digest copied from it is the path or the digest."""
    out.print(plain(message.text(lang)), highlight=False, soft_wrap=True)


def _message(exc: BaseException, lang: Lang = "en") -> str:
    """What went wrong, in one line: an :class:`~aegis.reasons.Explained` error in ``lang``, a KeyError's own
    words without the quotes its str() adds, an OS error's file and reason without the errno."""
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror.lower()}" if exc.filename else exc.strerror.lower()
    return error_text(exc, lang)


_ERROR = Reason("错误：")


def written_to(option: str, path: Path, exc: OSError) -> Reason:
    """Why ``path``, given as ``option``, could not be written, in the command's words rather than the system's
    (English, naming whatever file it failed on, a hidden folder written aside included): the option, the path as
    given, and the cause by its errno."""
    causes = {errno.EACCES: Reason("没有写入权限"), errno.EPERM: Reason("没有写入权限"),
              errno.EROFS: Reason("文件系统只读"), errno.ENOSPC: Reason("磁盘空间不足"),
              errno.EDQUOT: Reason("磁盘空间不足")}
    cause = causes.get(exc.errno or 0) or Reason("系统拒绝写入（{code}）",
                                                 code=errno.errorcode.get(exc.errno or 0, str(exc.errno)))
    return Reason("{option}：无法写入{path}：{cause}", option=option, path=str(path), cause=cause)


def file_on_the_way(path: Path) -> Path | None:
    """The file that stands where ``path`` needs a folder: ``path`` itself or the nearest of its existing parents,
    when that is no folder (None: there is none)."""
    for place in (path, *path.parents):
        if place.exists():
            return None if place.is_dir() else place
    return None


def fail(lang: Lang, message: Reason | str) -> None:
    """One line on stderr saying what went wrong, after 错误： (error: in English); the message as it is, whatever
    brackets it holds (:func:`plain`: it may quote a value read from a file)."""
    err.print(RichText.assemble((_ERROR.text(lang), "red"),
                                plain(message.text(lang) if isinstance(message, Reason) else message)), highlight=False)


def refuse_option(ctx: typer.Context, reason: Reason) -> NoReturn:
    """Refuse an option's value from its check (its ``callback``) as :func:`user_errors` refuses a command's input:
    one line, beginning with the option (``--role：``), in the command's language (its ``--lang``, read first,
    else ``$AEGIS_LANG``), exit 2. Typer's own refusal is a box of several lines headed in English."""
    fail(lang_of(ctx.params), reason)
    raise typer.Exit(2)


def finite(low: float | None = None, high: float | None = None
           ) -> Callable[[typer.Context, typer.CallbackParam, float | None], float | None]:
    """The check of a float option (its ``callback``): a finite number, from ``low`` to ``high`` if they are given,
    refused as :func:`user_errors` refuses a command's input (one line naming the option, in the command's
    language, exit 2). Typer reads ``nan``, ``inf`` and ``-inf`` as floats, as ``float()`` does; NaN is neither
    above nor below a bound, and Typer's own ``min``/``max`` refused it as too large (or too small), so the range
    is checked here instead."""
    def check(ctx: typer.Context, param: typer.CallbackParam, value: float | None) -> float | None:
        if value is None:
            return None
        option = param.opts[0]
        if not math.isfinite(value):
            refused = Reason("{option}：须为有限的数（收到{value}）", option=option, value=f"{value:g}")
        elif low is not None and high is not None and not low <= value <= high:
            refused = Reason("{option}：须在{low:g}到{high:g}之间（收到{value:g}）", option=option, low=low, high=high,
                             value=value)
        else:
            return value
        refuse_option(ctx, refused)
    return check


def lang_of(kwargs: Mapping[str, Any]) -> Lang:
    """The language of a command's output: its ``--lang``, or for a command without one (``serve``, ``schemas``)
    what ``$AEGIS_LANG`` says, else Chinese."""
    lang = kwargs.get("lang")
    return lang if lang in LANGS else parse_lang(os.environ.get("AEGIS_LANG"))


def user_errors(func: F) -> F:
    """Errors a user can fix (bad input, a missing file or model, a refused step, an unknown id, no access,
    an unreachable database) become one line on stderr and exit code 2, never a stack trace. The line starts
    错误： (error: under ``--lang en``); what follows is the error's own words.

    Every input error of Aegis (IngestError, DataError, ModelError, PolicyError, validation) is a ValueError;
    PermissionDenied is a PermissionError, and other OS errors (a file that cannot be read or written) name
    their file.

    Output piped into a reader that stops early (``| head``) ends the command quietly with 141, as a Unix tool
    killed by SIGPIPE does, not with an error about a broken pipe.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import OperationalError

        try:
            result = func(*args, **kwargs)
            sys.stdout.flush()  # what is still buffered meets the closed pipe here, not at exit
            return result
        except BrokenPipeError:
            _quiet_stdout()
            raise typer.Exit(141) from None
        except (ValueError, LookupError, OSError) as exc:
            lang = lang_of(kwargs)
            fail(lang, _message(exc, lang))
            raise typer.Exit(2) from None
        except OperationalError as exc:
            # one line: a driver's message may run on to a hint on the next (psycopg: "Is the server running ...")
            said = " ".join(line.strip() for line in str(exc.orig).splitlines() if line.strip())
            fail(lang_of(kwargs), Reason("数据库：{error}", error=said))
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that Python's last flush at exit finds no closed pipe to complain about
    (the way the Python documentation gives for SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # a stdout without a file descriptor (a test's capture) has nothing to flush
        pass


def in_cli_terms(names: Mapping[str, str], heads: Mapping[str, str] | None = None) -> Callable[[F], F]:
    """The use cases name what is wrong by the API's field names (``report_event_id: ...``); a command that
    calls them names its own options instead (``--report: ...``), so the message matches what was typed.
    ``names`` maps each field name (a whole word of the message) to the option or command to say; ``heads`` a
    field name that is also a word of the message's English (district, level) to its option, said only where the
    name heads the message (``district: a district bureau user needs a district``); put it under
    :func:`user_errors`."""
    # a whole word, not part of an option already named (--held) nor of a longer name; ASCII word characters
    # only, for a name stands next to Chinese ones in a Chinese message (其max_hops为6)
    words = re.compile(r"(?<![A-Za-z0-9_-])(" + "|".join(map(re.escape, names)) + r")(?![A-Za-z0-9_-])")
    heads = dict(heads or {})
    head = re.compile(r"^(" + "|".join(map(re.escape, heads)) + r")(?=[:：])")

    def rename(said: str) -> str:
        said = words.sub(lambda m: names[m.group()], said) if names else said
        return head.sub(lambda m: heads[m.group()], said) if heads else said

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except (ValueError, LookupError) as exc:
                said = _message(exc)
                if rename(said) == said:
                    raise
                if isinstance(exc, Explained):  # renamed in whichever language it is shown
                    raise _Renamed(exc, rename) from None
                raise ValueError(rename(said)) from None

        return wrapper  # type: ignore[return-value]

    return decorate


class _Renamed(Explained, ValueError):
    """An :class:`~aegis.reasons.Explained` error with the API's field names put in the command's terms."""

    def __init__(self, error: Explained, rename: Callable[[str], str]) -> None:
        super().__init__(error.reason)
        self.rename = rename

    def text(self, lang: Lang = "zh") -> str:
        return self.rename(super().text(lang))


class Stopwatch:
    """Prints each stage of a long job on stderr with the seconds since the job started, in ``lang``."""

    def __init__(self, lang: Lang = "zh") -> None:
        self.started = time.monotonic()
        self.lang = lang

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, message: Reason | str) -> None:
        text = message.text(self.lang) if isinstance(message, Reason) else message
        err.print(f"[dim]{self.elapsed():6.1f}s[/dim] {text}", highlight=False)


def china_time(at: datetime, sep: str = " ", *, seconds: bool = False) -> str:
    """A stored time (UTC) as officers and the centre read it: China time, ``sep`` between date and clock."""
    from aegis.events.models import CHINA_TZ

    return at.astimezone(CHINA_TZ).strftime(f"%Y-%m-%d{sep}%H:%M{':%S' if seconds else ''}")
