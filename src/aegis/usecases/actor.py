"""Who is acting: every use case takes an :class:`Actor`, and authorisation is decided here, not in the API.

Jurisdiction follows 三级联动: the city anti-fraud centre sees the whole city, a district bureau its district,
a police station its own station. Institutions (banks, telcos, platforms) see what concerns themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from aegis.reasons import Explained, InputError, Reason, listing
from aegis.usecases import unshown


class Role(StrEnum):
    city_centre = "city_centre"
    district_bureau = "district_bureau"
    police_station = "police_station"
    bank = "bank"
    telco = "telco"
    platform = "platform"
    analyst = "analyst"
    auditor = "auditor"
    system = "system"


POLICE_ROLES = frozenset({Role.city_centre, Role.district_bureau, Role.police_station})
#: roles that may see personal data unmasked (they act on a person: call, visit, freeze)
UNMASKED_ROLES = frozenset({Role.city_centre, Role.district_bureau, Role.police_station, Role.system})


class PermissionDenied(Explained, PermissionError):
    """The actor may not do this; the message says why (a :class:`~aegis.reasons.Reason`, or English as written)."""


class Unidentified(InputError):
    """The actor is not named in full (no user, or no place where the role needs one): the API's 401. Other
    refusals of an actor (a place the role has none of, a character a reader would not see) are bad input."""


INSTITUTION_ROLES = frozenset({Role.bank, Role.telco, Role.platform})
#: the places each role may name: the one it needs, and a station user's district (where the station is); any
#: other would take the place of the role's own in :attr:`Actor.label` (a telco user's station named the
#: station, not the telco, as who decided) or claim a jurisdiction the role has not
PLACES: dict[str, frozenset[Role]] = {
    "institution": INSTITUTION_ROLES,
    "station": frozenset({Role.police_station}),
    "district": frozenset({Role.district_bureau, Role.police_station}),
}

MAX_LABEL = 64
"""how much of :attr:`Actor.label` (role, place, user) the store keeps wherever it records who acted"""


SLASHES = frozenset("/／∕⁄⧸⟋")
""""/" and the characters a reader of the log takes for one: full-width (a Chinese keyboard's), the division and
fraction slashes, the big solidus and the rising diagonal"""


@dataclass(frozen=True)
class Actor:
    user_id: str
    role: Role
    city: str | None = None
    district: str | None = None
    station: str | None = None
    institution: str | None = None

    def __post_init__(self) -> None:
        """Refuses an actor the audit log would name wrongly: unnamed, named with a place its role has none of, or
        with a character a reader of the log would not see as written (an escape sequence recolours a terminal,
        a newline forges a second line; :func:`aegis.usecases.unshown`, here with no layout kept)."""
        if not self.user_id.strip():
            raise Unidentified(Reason("user：须有用户名（审计日志记下是谁操作的）"))
        for field, value in (("user", self.user_id), ("city", self.city), *(
                (field, getattr(self, field)) for field in PLACES)):
            hidden = next(((at, char) for at, char in enumerate(value or "") if unshown(char, layout=())), None)
            if hidden is not None:
                at, char = hidden
                raise InputError(Reason("{field}：不能含控制字符或不可见字符（第{at}个字符U+{code}）", field=field,
                                        at=at + 1, code=f"{ord(char):04X}"))
        if any(char in SLASHES for char in self.user_id):
            # the label ends "/user": the last "/" tells the user from the place, so a user named "中华/u1" would
            # read as user u1 of another station ("police_station:中华/u1" is station 中华派出所's user too)
            raise InputError(Reason("user：不能含“/”（审计日志以最后一个“/”分开单位和用户名）"))
        for field, roles in PLACES.items():
            if getattr(self, field) and self.role not in roles:
                raise InputError(Reason("{field}：{role}用户没有{field}（只有{roles}用户有）", field=field,
                                        role=self.role.value, roles=listing(sorted(r.value for r in roles))))
        if self.role is Role.district_bureau and not self.district:
            raise Unidentified(Reason("district：分局用户须指明分局"))
        if self.role is Role.police_station and not self.station:
            raise Unidentified(Reason("station：派出所用户须指明派出所"))
        if self.role in INSTITUTION_ROLES and not self.institution:
            raise Unidentified(Reason("institution：机构用户须指明机构"))
        if len(self.label) > MAX_LABEL:
            raise InputError(Reason("user：“{label}”超过审计日志记录操作人所留的{limit}个字符", label=self.label[:80],
                                    limit=MAX_LABEL))

    @property
    def label(self) -> str:
        """How the actor appears in the audit log."""
        where = self.station or self.district or self.institution or self.city or ""
        return f"{self.role.value}:{where}/{self.user_id}" if where else f"{self.role.value}/{self.user_id}"

    def covers(self, *, district: str | None, station: str | None, city: str | None = None) -> bool:
        """Whether a place (a person's home city, district and station) is in this actor's jurisdiction; an actor
        of a named city covers none of another city's places."""
        if self.city and city and city != self.city and self.role is not Role.system:
            return False
        if self.role in (Role.city_centre, Role.system):
            return True
        if self.role is Role.district_bureau:
            return district == self.district
        if self.role is Role.police_station:  # and of its district, where two districts have a station so named
            return station == self.station and (not self.district or district == self.district)
        return False

    def require(self, allowed: frozenset[Role] | set[Role], action: Reason) -> None:
        """Refuses an actor whose role may not do ``action`` (a phrase such as Reason("开启资金追查"), "open a
        chase" in English, that the refusal names)."""
        if self.role not in allowed:
            raise PermissionDenied(Reason("role：{role}无权{action}", role=self.role.value, action=action))

    @property
    def sees_personal_data(self) -> bool:
        return self.role in UNMASKED_ROLES


SYSTEM = Actor("aegis", Role.system)


def mask(value: str | None, keep_start: int = 3, keep_end: int = 4) -> str:
    """Mask an identifier for logs and exports: 13812345678 -> 138****5678. One shorter than a mobile number (a
    fragment of an ID or a card quoted in a reason, a bank's short account number) shows its first and last two
    characters at most, as the first three and last four would leave one or two hidden: 62220201 -> 62****01."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return value[:1] + "*" * (len(value) - 1)
    if len(value) < 11:
        keep_start, keep_end = min(keep_start, 2), min(keep_end, 2)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]
