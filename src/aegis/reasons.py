"""Reasons: why Aegis decided what it did, in Chinese first and in English on request.

Every decision about a person carries its reasons (a block, a warning, a freeze order). A :class:`Reason` is a
message and its parameters, not a finished sentence, so the same stored reason reads in Chinese on a
dispatcher's screen and in English for a reviewer who asks for it (the API's ``lang``, the CLI's ``--lang``).

The message is the Chinese text itself, written where the reason arises, with ``str.format`` fields for its
parameters, gettext style::

    Reason("外呼占比{share:.0%}", share=0.93)        # -> "外呼占比93%" / "93% of calls outgoing"

Translations live in one gettext catalogue, ``aegis/data/messages/en.po`` (msgid = the Chinese message), read
with Babel; ``tests/test_reasons.py`` extracts every ``Reason("...")`` of the package with Babel's extractor
and fails on one the catalogue lacks. A parameter may itself be a Reason (a prefix such as "主叫号码：{reason}"
around a detector's reason); it is rendered in the same language.

Stored form (JSON columns of profiles, warnings, orders and the audit log): ``{"text": <Chinese>, "msg":
<message>, "args": {...}}``; the ``text`` keeps the record readable in SQL. A plain string, as rows written
before reasons were messages and free-text notes are, reads back as a :meth:`Reason.literal`, the same in
every language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, reduce
from importlib import resources
from typing import Any, Literal, get_args

import numpy as np

Lang = Literal["zh", "en"]
LANGS: tuple[str, ...] = get_args(Lang)
DEFAULT_LANG: Lang = "zh"
_LITERAL = "{text}"


class Reason:
    """One reason: a Chinese message with ``str.format`` fields and the values that fill them."""

    __slots__ = ("args", "msg")

    def __init__(self, msg: str, /, **args: Any) -> None:
        self.msg = msg
        # numpy scalars become Python numbers, so a reason stores as JSON as it is
        self.args = {k: v.item() if isinstance(v, np.generic) else v for k, v in args.items()}

    @classmethod
    def literal(cls, text: str) -> Reason:
        """Text that is shown as written in every language (an officer's note, a bank's answer)."""
        return cls(_LITERAL, text=text)

    def text(self, lang: Lang = DEFAULT_LANG) -> str:
        template = self.msg if lang == "zh" else _catalogue(lang).get(self.msg, self.msg)
        values = {k: v.text(lang) if isinstance(v, Reason) else v for k, v in self.args.items()}
        return template.format_map(values)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"Reason({self.text()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reason) and (self.msg, self.args) == (other.msg, other.args)

    def __hash__(self) -> int:
        return hash((self.msg, tuple(sorted((k, repr(v)) for k, v in self.args.items()))))

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text(), **self._message()}

    def _message(self) -> dict[str, Any]:
        args = {k: v._message() if isinstance(v, Reason) else v for k, v in self.args.items()}
        return {"msg": self.msg, "args": args}

    @classmethod
    def from_json(cls, value: Any) -> Reason:
        """The reason a :meth:`to_json` value (or a plain string, as a literal) stands for."""
        if isinstance(value, Reason):
            return value
        if isinstance(value, str):
            return cls.literal(value)
        if isinstance(value, Mapping) and isinstance(value.get("msg"), str):
            args = {k: cls.from_json(v) if isinstance(v, Mapping) and "msg" in v else v
                    for k, v in (value.get("args") or {}).items()}
            return cls(value["msg"], **args)
        raise ValueError(f"reason: {value!r} is neither text nor a stored reason")


class Explained(Exception):
    """An error a person can fix, whose words are a :class:`Reason`: shown in Chinese or English as the command's
    ``--lang`` says (:meth:`text`; the API's ``detail`` in the request's language too), while ``str()`` stays
    English for logs and the tests that match it. The message begins with the field or option at fault, as every
    error of Aegis does::

        # en.po: "reason: rejecting order {order} needs a reason"
        raise ChaseError(Reason("reason：驳回指令{order}须说明理由", order=oid))

    A domain error class takes it as a base beside ``ValueError``; a plain string still works (shown as written)."""

    def __init__(self, message: Reason | str, /) -> None:
        super().__init__(message)
        self.reason = message if isinstance(message, Reason) else Reason.literal(message)

    def text(self, lang: Lang = DEFAULT_LANG) -> str:
        return self.reason.text(lang)

    def __str__(self) -> str:
        return self.text("en")


class InputError(Explained, ValueError):
    """Input a person can fix (a value outside its choices, a blank note, a missing option), in their language."""


class NotFound(Explained, LookupError):
    """An id that names nothing (no such order, chase or case), in the reader's language."""


class MissingFile(Explained, FileNotFoundError):
    """A file or folder a command needs is not there, in the reader's language."""


def error_text(exc: BaseException, lang: Lang = DEFAULT_LANG) -> str:
    """An error's words in ``lang`` where it has them in both (:class:`Explained`), else its own."""
    return exc.text(lang) if isinstance(exc, Explained) else str(exc)


def yuan(amount: Decimal | float | int | str) -> str:
    """An amount of yuan as reasons show it: to the fen, thousands grouped (52,000.50), the same in every
    language; "50" beside "106.25" read as two kinds of figure."""
    return f"{Decimal(str(amount)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


def joined(texts: Iterable[str], lang: Lang = DEFAULT_LANG) -> str:
    """Reasons in one line, with the separator of the language (a full-width ； in Chinese)."""
    return ("；" if lang == "zh" else "; ").join(texts)


def listing(items: Iterable[Reason | str]) -> Reason:
    """Items (messages, or names as written) as one message: a list, separated as its language separates one
    (、 in Chinese, a comma in English) when it is shown.

    >>> listing(["callback_rate", "n_calls"]).text(), listing(["callback_rate", "n_calls"]).text("en")
    ('callback_rate、n_calls', 'callback_rate, n_calls')
    """
    listed = [as_reason(item) for item in items]
    if not listed:
        return Reason.literal("")
    return reduce(lambda first, then: Reason("{first}、{then}", first=first, then=then), listed)


def as_reason(value: Reason | str) -> Reason:
    """A Reason as is; a string as a literal (free text from a person or a bank)."""
    return value if isinstance(value, Reason) else Reason.literal(value)


def stored(reasons: Iterable[Reason | str]) -> list[dict[str, Any]]:
    """Reasons in their JSON form, for a JSON column."""
    return [as_reason(r).to_json() for r in reasons]


def loaded(values: Iterable[Any] | None) -> list[Reason]:
    """Reasons back from a JSON column (either form)."""
    return [Reason.from_json(v) for v in values or ()]


def render(values: Iterable[Any] | None, lang: Lang = DEFAULT_LANG) -> list[str]:
    """Stored or live reasons as text in ``lang``."""
    return [Reason.from_json(v).text(lang) for v in values or ()]


def parse_lang(value: str | None) -> Lang:
    """``zh`` or ``en`` from a ``lang`` option, an Accept-Language header (first supported tag wins) or a locale
    (``en_US.UTF-8``); anything else is the default, Chinese."""
    # By hand: Babel negotiates among locales but does not read the header, and two languages need no more
    # than this. Browsers send their tags in order of preference, so the first supported one is taken.
    for tag in (value or "").replace(" ", "").split(","):
        primary = re.split(r"[-_.]", tag.split(";")[0])[0].lower()  # zh-CN, a locale's zh_CN.UTF-8
        if primary == "en":
            return "en"
        if primary == "zh":
            return "zh"
    return DEFAULT_LANG


@cache
def _catalogue(lang: str) -> dict[str, str]:
    from babel.messages.pofile import read_po  # on first English use: Chinese needs no catalogue

    with resources.files("aegis.data").joinpath(f"messages/{lang}.po").open("rb") as f:
        catalogue = read_po(f, locale=lang)
    return {str(m.id): str(m.string) for m in catalogue if m.id and m.string}
