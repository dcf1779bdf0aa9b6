"""Use cases: what a user of Aegis can do, each a function taking the acting user and its inputs."""

import unicodedata
from collections.abc import Callable, Collection

from aegis.events.models import holds_nul
from aegis.reasons import InputError, Reason, listing

Say = Callable[[Reason | str], None]
"""Told each stage of a long job as it starts (the CLI prints it with the seconds since the start). A stage an
operator watches is a message (:class:`aegis.reasons.Reason`), shown in the operator's language."""


def check_one_of(field: str, value: str | None, allowed: Collection[str]) -> None:
    """A filter or code outside its known values is the caller's mistake, named, not an empty answer."""
    if value is not None and value not in allowed:
        raise InputError(Reason("{field}：“{value}”不在可选值{allowed}之中", field=field, value=value,
                                allowed=listing(allowed)))


MAX_NOTE = 500
"""the longest note or reason a person may write (the API's limit too)"""


#: Unicode categories of the characters a reader of the text would not see as written, so that what an auditor
#: reads differs from what the log keeps: controls (Cc: an escape sequence recolours, erases or hides what a
#: terminal shows, a carriage return writes over the line), format characters (Cf: a bidi override such as
#: U+202E shows the text reversed, a zero-width space or joiner inside a phone number hides it from the
#: auditor's masking and from a search while it reads the same), and lone surrogates (Cs: a byte the terminal's
#: encoding could not decode, shown as a replacement character, which UTF-8 cannot store). All of Cf, not only
#: the bidi ones: none is invisible for a good reason in an officer's note or a bank's reason; what they serve,
#: joining emoji (U+200D) or some scripts' letters (U+200C), a note to the police can do without.
UNSHOWN_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})

#: characters outside those categories that show as nothing or as blank space while they are letters or marks to
#: Unicode (its Default_Ignorable_Code_Point property, which Python's unicodedata does not expose, less Cf): the
#: Hangul fillers (U+3164 makes a user "o1" + U+3164 read as "o1" in the log), the combining grapheme joiner,
#: Khmer's inherent vowels, Mongolian's free variation selectors, the variation selectors (VS16 after an emoji,
#: which a note can do without as it does without the joiners), and the blank Braille pattern, a visible blank
UNSHOWN_CHARACTERS = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u180b\u180c\u180d\u180f\u2800\u3164\uffa0"
    + "".join(map(chr, range(0xFE00, 0xFE10))) + "".join(map(chr, range(0xE0100, 0xE01F0)))
)

#: the controls that lay text out as it is read, kept: a note may run over lines and line up a small table
LAYOUT = frozenset("\n\t")


def unshown(char: str, *, layout: Collection[str] = LAYOUT) -> bool:
    """Whether a reader would not see ``char`` as written (:data:`UNSHOWN_CATEGORIES`), the controls of ``layout``
    aside (none for a one-line name)."""
    return char not in layout and (unicodedata.category(char) in UNSHOWN_CATEGORIES or char in UNSHOWN_CHARACTERS)


def person_text(field: str, value: str | None, *, required: bool = False) -> str:
    """Free text a person writes (an officer's note, a bank's reason), as the audit log keeps it: stripped, at most
    :data:`MAX_NOTE` characters and without NUL, which PostgreSQL's text cannot hold (a NUL failed the whole
    transaction there), nor any other character a reader would not see as written (:func:`unshown`): what the
    log shows an auditor is what was written. A required one may not be blank: spaces are no reason. Line ends
    are made one: a web form's or a Windows client's CR LF (and a lone CR) is a newline, and a byte-order mark
    that pasted text begins with is dropped, as the writer never saw either."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff").strip()
    if required and not text:
        raise InputError(Reason("{field}：不能为空", field=field))
    if len(text) > MAX_NOTE:
        raise InputError(Reason("{field}：最多{limit}个字符（收到{got}个）", field=field, limit=MAX_NOTE,
                                got=len(text)))
    if holds_nul(text):
        raise InputError(Reason("{field}：不能含NUL字符", field=field))
    hidden = next(((at, char) for at, char in enumerate(text) if unshown(char)), None)
    if hidden is not None:
        at, char = hidden
        raise InputError(Reason("{field}：不能含控制字符或不可见字符（第{at}个字符U+{code}）", field=field,
                                at=at + 1, code=f"{ord(char):04X}"))
    return text
