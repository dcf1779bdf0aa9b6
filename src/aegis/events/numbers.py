"""Phone numbers in one canonical form, so that a number is one key however a source wrote it.

A telco's CDR writes ``+8613912345678``, a bank's gateway ``139 1234 5678``, a citizen's report
``0086-139-1234-5678``: all one subscriber. Risk profiles are keyed by :func:`canonical_number`, and every
look-up of a number (a real-time decision, the warnings' lead extraction) asks with it.

The canonical form of a mainland number is its national form: separators (spaces, dashes, dots, parentheses,
full-width ones too) removed, China's country code (+86, 0086, or a bare 86 before a mobile number) dropped
from an 11-digit mobile number and from a landline, whose trunk 0 comes back (+86 21 1234 5678 is
02112345678). Any other number keeps its digits as written: short service numbers (a +86 before one is an odd
form the number detector's spoofing heuristics want to see), foreign numbers, IoT cards, and text that is not
a phone number at all (an alphanumeric sender id).

Written here rather than with Google's ``phonenumbers``: the only question Aegis asks is "which mainland number
is this", answered by a few lines that read like the numbering plan, where ``phonenumbers`` brings some 50 MB
of metadata for every country to the real-time decisions' start-up, and would also rewrite foreign numbers and
reject the short and IoT numbers the detectors read as they are.

>>> [canonical_number(n) for n in ("+8613912345678", "0086-139-1234-5678", "139 1234 5678", "8613912345678")]
['13912345678', '13912345678', '13912345678', '13912345678']
>>> canonical_number("+86 (0)21 6123 4567"), canonical_number("+86-10-8888-6666"), canonical_number("010-88886666")
('02161234567', '01088886666', '01088886666')
>>> canonical_number("96110"), canonical_number("+8695588"), canonical_number("+1 415 555 0100")
('96110', '+8695588', '+14155550100')
>>> national_number("+8695588")
'95588'
"""

from __future__ import annotations

import functools
import re

#: full-width digits and signs (Chinese input methods) to ASCII; separators to nothing
_FOLD = str.maketrans(
    "０１２３４５６７８９＋", "0123456789+", " \t\u3000-－‐–—.．()（）"
)
_DIALLED = re.compile(r"\+?\d+")
_CHINA = re.compile(r"(\+86|0086|86)(\d+)")
_MOBILE = re.compile(r"1\d{10}")
#: a landline after the country code, maybe with its trunk 0 kept in: area code 10 or 2x and 8 digits, or a
#: three-digit area code and 7 or 8 digits
_LANDLINE = re.compile(r"0?((?:10|2\d)\d{8}|[3-9]\d{9,10})")


@functools.lru_cache(maxsize=1 << 18)  # a city's numbers recur in every batch of its events
def canonical_number(number: str) -> str:
    """``number`` in the canonical form of the module's docstring (as given when it is no phone number)."""
    if not isinstance(number, str) or (number.isascii() and number.isdigit() and not number.startswith(("86", "00"))):
        return number  # the common case: digits already national
    dialled = number.strip().translate(_FOLD)
    if not _DIALLED.fullmatch(dialled):
        return number
    china = _CHINA.fullmatch(dialled)
    if china is not None:
        code, national = china.groups()
        if _MOBILE.fullmatch(national):
            return national
        landline = _LANDLINE.fullmatch(national)
        if landline is not None and code != "86":  # a bare 86 before a landline reads as a local number too
            return "0" + landline.group(1)
    return dialled


def national_number(number: str) -> str:
    """The canonical number without China's country code even where the canonical form keeps it (``+8695588``):
    for matching lists of short service numbers, never as a key."""
    canonical = canonical_number(number)
    for code in ("+86", "0086"):
        if canonical.startswith(code):
            return canonical[len(code):]
    return canonical
