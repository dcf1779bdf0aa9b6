"""Reading the audit log: who decided what about whom, when, and why.

Every block, warning, order and workflow step is appended there with its reasons (:class:`aegis.store.AuditLog`).
The city centre and auditors read it. An auditor checks decisions without acting on anyone, so the personal
data in the entries (phone and account numbers, ID numbers) is masked for them as in any export; reading the
log is itself recorded, since it shows personal data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, select

from aegis.events.numbers import canonical_number
from aegis.names import SUBJECT_NAMES
from aegis.reasons import DEFAULT_LANG, InputError, Lang, Reason, listing, render
from aegis.store import audit_seal
from aegis.store.audit_seal import Seal
from aegis.store.repositories import AuditLog
from aegis.store.schema import EVENT_TABLES
from aegis.usecases.actor import POLICE_ROLES, Actor, PermissionDenied, Role, mask

READERS = frozenset({Role.city_centre, Role.auditor})

_SEP = r"[ \t\u3000.+_/\\·()（）\-\u2010-\u2015\u2212\uff0d]{1,3}"
"""what people put between the groups of a number: spaces (an ideographic one too), dots, slashes, underscores,
brackets (a mobile number's first three in them: (139)1234-5678) and any hyphen or dash, a Chinese keyboard's
full-width one (139－1234－5678) and an em dash (139—1234—5678) among them; up to three of them together
(139 - 1234 - 5678)"""

_IDENTIFIER = re.compile(
    rf"(?<!\d)(?:1\d{{2}}(?:{_SEP})?\d{{4}}(?:{_SEP})?\d{{4}}|0\d{{2,3}}(?:{_SEP})?\d{{3,4}}(?:{_SEP})?\d{{4}}"
    rf"|\d{{4}}(?:{_SEP}\d{{3,6}}){{2,4}}(?:{_SEP}\d{{1,2}})?"
    rf"|\d{{6}}(?:(?:{_SEP})?\d){{11}}[\dXx]|\d[\d*]{{5,}}[\dXx])(?!\d)"
)
"""a phone, card or ID number wherever it stands, in a subject, a reason or a detail, letters beside it or not
(tel13912345678, ID3502...): seven or more digits in a row (an ID number may end in X; one already masked has
stars inside; full-width digits are digits too), a mobile number written in its three groups with any of
:data:`_SEP` between them (139-1234-5678, 139 1234 5678, 139.1234.5678, 139+1234+5678 as a query string's space,
139－1234－5678), a landline with its area code ((010)1234-5678, 0592-1234567), a card written in groups (of
four, the last of up to six: 6222 0200 0000 00012; a last digit or two split off, 6222 0200 0000 0001 2, is the
card's too, where it was left in clear beside the card's masked rest), an ID written in groups
(350203 19800101 001X). Dates (2026-10-01: groups of two) and times are neither. A source's own id that holds
seven digits in a row is masked too: the safe side."""

_AEGIS_ID = re.compile(r"(?<![\w-])[A-Za-z]{2,3}-(?=[0-9]*[a-f])[0-9a-f]{20}(?:[0-9a-f]{4})?(?![\w-])")
"""the ids Aegis makes (CH-, OR-, RB-, wrn- and a 10-byte digest; an event's kind and a 12-byte digest): they
name records, not people, and an auditor must be able to look them up. A digest of digits only (one in
10,000) does not pass for one: a number written so is masked."""


def is_aegis_id(text: str) -> bool:
    """Whether ``text`` is one of the ids Aegis makes (:data:`_AEGIS_ID`), which an auditor must be able to look up."""
    return _AEGIS_ID.fullmatch(text) is not None


_MASKED = re.compile(f"(?P<own>{_AEGIS_ID.pattern})|{_IDENTIFIER.pattern}")
"""one pass over a text: Aegis's own ids, found first where they start, are kept; identifiers elsewhere masked"""


def masked_text(text: str) -> str:
    """``text`` with every identifier in it masked (:func:`aegis.usecases.actor.mask`), Aegis's own ids kept."""
    return _MASKED.sub(lambda m: m.group() if m.group("own") else mask(m.group()), text)


def _texts(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` (an entry, its details, its reasons) with ``change`` applied to every text in it."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, dict):
        return {k: _texts(v, change) for k, v in value.items()}
    if isinstance(value, list):
        return [_texts(v, change) for v in value]
    return value


def record_read(engine: Engine, actor: Actor, *, action: str, subject_type: str, subject_id: str,
                shown: Sequence[str], details: Mapping[str, Any] | None = None) -> None:
    """Note in the audit log that a police officer was shown personal data: which records (``shown``: the ids of
    the warnings, orders or reports, at most :data:`MAX_SHOWN` of them, and how many), as asked (``details``: the
    filters). Who looked at whose case is asked after a leak, and only the log can answer; a read that showed
    nothing, a system job's and a masked reader's leave no entry."""
    if actor.role not in POLICE_ROLES or not shown:
        return
    AuditLog(engine).append(actor=actor.label, action=action, subject_type=subject_type, subject_id=subject_id,
                            reasons=[Reason("查看个人信息")],
                            details={**(details or {}), "shown": len(shown), "ids": list(shown[:MAX_SHOWN])})


MAX_SHOWN = 200
"""the most record ids one read's entry lists (a list is at most this long by default)"""


def subject_ids(subject_id: str) -> tuple[str, ...]:
    """The ids under which the log may keep ``subject_id``: as written, and a phone number in the canonical form
    (:func:`aegis.events.numbers.canonical_number`) in which the decisions record their subjects, so that
    ``+86 157-0000-4501`` finds the entries about 15700004501. Both, not only the canonical form: a subject that
    merely looks like a number (an account, a source's id) is kept as written.

    >>> subject_ids("+86 157-0000-4501"), subject_ids("P1")
    (('+86 157-0000-4501', '15700004501'), ('P1',))
    """
    canonical = canonical_number(subject_id.strip())
    return tuple(dict.fromkeys((subject_id, canonical)))


def read_audit(engine: Engine, actor: Actor, *, subject_type: str | None = None, subject_id: str | None = None,
               action: str | None = None, limit: int = 100, lang: Lang = DEFAULT_LANG) -> list[dict[str, Any]]:
    """The newest ``limit`` entries, newest first, filtered by subject (:func:`subject_ids`: however a phone number
    is written) and by action (a prefix: ``decision.`` is every decision), reasons as text in ``lang``; masked
    unless the actor may see personal data. The CLI and the API both read it here."""
    actor.require(READERS, Reason("查看审计日志"))
    if actor.city:
        # an entry is about a number, an account, a domain, an order as often as a person: the log has no city to
        # scope it by, and a reader of one city would read every other city's entries (unmasked, for a centre)
        raise PermissionDenied(Reason("city：审计日志不分城市，只能按全库查阅；{city}的用户无权查阅", city=actor.city))
    if not 1 <= limit <= 10_000:
        raise InputError(Reason("limit：须在1到{most}之间（收到{limit}）", most=10_000, limit=limit))
    if subject_type and subject_type not in SUBJECT_NAMES:  # an empty one is no filter, as an empty subject id
        raise InputError(Reason("{field}：“{value}”不在可选值{allowed}之中", field="subject_type", value=subject_type,
                                allowed=listing(SUBJECT_NAMES)))
    log = AuditLog(engine)
    wanted = subject_ids(subject_id) if subject_id else None
    # the log's own reads are found by their subject only when asked for (subject_type audit_log): each search by
    # a subject is itself an entry about that subject, and a few searches would push its history out of the list
    own_reads = subject_type == "audit_log" or not subject_id
    entries = [{**e, "reasons": render(e["reasons"], lang)}
               for e in log.recent(subject_type=subject_type, subject_id=wanted, action_prefix=action, limit=limit,
                                   other_than=() if own_reads else ("audit_log",))]
    log.append(actor=actor.label, action="audit.read", subject_type="audit_log", subject_id=subject_id or "*",
               reasons=[Reason("查阅审计日志")],
               details={"subject_type": subject_type, "action": action, "limit": limit, "entries": len(entries),
                        "ids": [e["id"] for e in entries[:MAX_SHOWN]]})
    if actor.sees_personal_data:
        return entries
    entries = [_texts(e, decoded) for e in entries]
    names = _names_pattern(person_names(engine, entries))
    return [_masked_entry(e, names) for e in entries]


_ESCAPED = re.compile(r"%[0-9A-Fa-f]{2}")


def decoded(text: str) -> str:
    """``text`` with its percent-escapes decoded, as a browser shows a link: a number written %31%33%39... or a name
    as UTF-8 escapes passed every pattern, and a link is where a phishing page carries its victim's data. Decoded
    again while escapes remain (at most :data:`DECODINGS` times): escaped twice (%2531...), once decoded still
    read as a number to anyone who decodes it once more."""
    for _ in range(DECODINGS):
        if not _ESCAPED.search(text):
            break
        text = unquote(text)
    return text


DECODINGS = 8
"""how many layers of percent-escapes :func:`decoded` takes off (a link escaped within a link is two)"""

HAN = "\u3400-\u9fff\uf900-\ufaff"
"""the Chinese characters (CJK unified ideographs, extension A and the compatibility ones)"""

NAME_GAP = "[ \u3000.·・]?"
"""what may stand between a name's characters as people space one out (唐 建 磊, 唐·建磊, 唐.建.磊)"""

_HAN_RUN = re.compile(f"[{HAN}·]{{2,}}")
SPACED_RUN = re.compile(f"[{HAN}](?:{NAME_GAP}[{HAN}])+")
"""two or more Chinese characters, spaced out as a name may be (唐 建 磊): a name, for all a pattern can tell"""
NAME_LENGTHS = range(2, 7)
"""the lengths of the names looked for in an entry's texts: two to four characters as nearly every Chinese name,
up to six for a compound family name or a minority's name written in characters (艾力·买买提)"""


def person_names(engine: Engine, entries: Sequence[Mapping[str, Any]]) -> set[str]:
    """The names the store holds that ``entries`` write: of the persons they are about (their ``person`` subject or
    the ``person_id`` of their details), whatever their length, and of any other person the store holds whose name
    stands in a text (a note about one person names her cousin, a phishing link its victim): a name is personal
    data as a number is, though no pattern tells it from other words. The texts' runs of Chinese characters are
    looked up, each stretch of :data:`NAME_LENGTHS` characters, among the persons' names (indexed)."""
    ids = {str(e["subject_id"]) for e in entries if e["subject_type"] == "person"}
    ids |= {str(e["details"]["person_id"]) for e in entries
            if isinstance(e.get("details"), dict) and e["details"].get("person_id")}
    written: set[str] = set()

    def gather(text: str) -> str:
        # the runs as written, and with what spaces a name out taken from between their characters
        runs = _HAN_RUN.findall(text) + [re.sub(f"[^{HAN}]", "", run) for run in SPACED_RUN.findall(text)]
        for run in runs:
            written.update(run[at:at + n] for n in NAME_LENGTHS for at in range(len(run) - n + 1))
        return text

    _texts(list(entries), gather)
    person = EVENT_TABLES["person"]
    found: set[str] = set()
    with engine.connect() as connection:
        for column, wanted in ((person.c.person_id, sorted(ids)), (person.c.name, sorted(written))):
            for start in range(0, len(wanted), 900):
                query = select(person.c.name).where(column.in_(wanted[start:start + 900]))
                found.update(name.strip() for name in connection.execute(query).scalars() if name and name.strip())
    return {name for name in found if len(name) >= 2}


def masked_name(name: str) -> str:
    """A person's name as a masked reader sees it: the first character (a Chinese family name) and a star for each
    other one, 叶雪婷 -> 叶**."""
    return name[:1] + "*" * (len(name) - 1)


def _names_pattern(names: set[str]) -> re.Pattern[str] | None:
    # the longest first, so that 欧阳小明 is masked whole rather than as 欧阳 and a rest
    # each name as written or spaced out (唐 建 磊)
    return re.compile("|".join(NAME_GAP.join(re.escape(c) for c in n) for n in sorted(names, key=len, reverse=True))
                      ) if names else None


def _masked_entry(entry: dict[str, Any], names: re.Pattern[str] | None) -> dict[str, Any]:
    if names is None:
        shown = _texts(entry, masked_text)
    else:
        shown = _texts(entry, lambda text: names.sub(lambda m: masked_name(m.group()), masked_text(text)))
    if shown.get("request_key"):
        # the key ends in a digest of the request, whose numbers are masked here: a few thousand guesses at the
        # hidden digits of a caller and a callee found them both (10^8 hashes, 90 s), so a masked reader gets the
        # key without it; the log keeps it whole (a retry is known by it)
        shown["request_key"] = shown["request_key"].rsplit("|", 1)[0] + "|" + "*" * 16
    if entry["action"] == "audit.read" and not is_aegis_id(entry["subject_id"]) and entry["subject_id"] != "*":
        # what a reader searched for: a number, a name, an account; the search is shown, not whom it was about
        shown["subject_id"] = mask(entry["subject_id"])
    return shown


KEEPERS = frozenset({Role.system, Role.city_centre, Role.auditor})
"""who may seal the log and check it against its seals: the operator's jobs, the city centre, auditors (neither
shows personal data: a seal holds counts, ids and digests)"""


def seal_audit(engine: Engine, actor: Actor) -> tuple[Seal | None, bool]:
    """Seal the entries appended since the last seal (:func:`aegis.store.audit_seal.seal`): the newest seal, and
    whether this call wrote it. Run it on a schedule and file each digest it prints outside the store."""
    actor.require(KEEPERS, Reason("封存审计日志"))
    return audit_seal.seal(engine, by=actor.label)


def verify_audit(engine: Engine, actor: Actor, anchors: Sequence[str] = ()) -> audit_seal.Verification:
    """Check every sealed entry against its seal, and each anchor (a digest filed elsewhere) against the seals."""
    actor.require(KEEPERS, Reason("核验审计日志"))
    audit_seal.parse_anchors(anchors)  # a mistyped anchor is refused before the log is read
    return audit_seal.verify(engine, anchors)
