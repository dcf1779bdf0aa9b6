"""Typed, validated records for everything that happens in the city.

Every record is validated at the border (ingestion, the API) and carries a stable ``event_id``: when the
source gives none, the id is a hash of the record's identifying fields as validation leaves them (times in
UTC, an amount to the fen), so that a retried delivery of the same record, or a re-export that spells it
otherwise, is recognised and stored once.

Times are timezone-aware; a naive time is read as China Standard Time (UTC+8), the local time of every
source Aegis is built for, and stored in UTC (:mod:`aegis.events.times`, which also reads the ways spreadsheets
and bank exports write them, and refuses a bare number).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import re
import typing
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar

import babel.core
import babel.numbers
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from aegis.events.numbers import canonical_number
from aegis.events.times import CHINA_TZ, not_ahead, to_utc, written_time
from aegis.events.urls import url_refusal
from aegis.reasons import DEFAULT_LANG, Lang, Reason

GROUPED = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
"""an amount with its thousands grouped by commas (``1,929.22``); a minus sign is let through to the check of
the amount's sign, which then names the real problem"""
FULL_WIDTH = str.maketrans("０１２３４５６７８９，．－", "0123456789,.-")


def grouped_amount(value: Any) -> Any:
    """An amount written with thousands separators (as spreadsheets and bank statements show money), or in
    full-width digits (as Chinese input methods type them), in the plain form :class:`~decimal.Decimal` reads."""
    if not isinstance(value, str):
        return value
    text = value.strip().translate(FULL_WIDTH)
    if "," not in text:
        return text
    if GROUPED.fullmatch(text) is None:
        raise ValueError(f"'{value.strip()}': commas must group the digits in threes, as in 1,929.22 "
                         "(the decimal mark is a point)")
    return text.replace(",", "")


class Gender(StrEnum):
    female = "F"
    male = "M"


class Direction(StrEnum):
    outgoing = "out"
    incoming = "in"


class Channel(StrEnum):
    mobile = "mobile"
    online = "online"
    counter = "counter"
    atm = "atm"
    pos = "pos"
    third_party = "third_party"


class FraudType(StrEnum):
    """The typology of shared/GLOSSARY.md; values are the codes used in data files."""

    order_brushing = "order_brushing"
    pig_butchering = "pig_butchering"
    impersonate_police = "impersonate_police"
    impersonate_customer_service = "impersonate_customer_service"
    fake_loan = "fake_loan"
    impersonate_boss = "impersonate_boss"
    sextortion = "sextortion"
    fake_game_trading = "fake_game_trading"
    impersonate_military = "impersonate_military"
    online_gambling = "online_gambling"
    benefits_phishing = "benefits_phishing"
    other = "other"


FRAUD_TYPE_NAMES: dict[FraudType, Reason] = {
    FraudType.order_brushing: Reason("刷单返利"),
    FraudType.pig_butchering: Reason("杀猪盘/虚假投资理财"),
    FraudType.impersonate_police: Reason("冒充公检法"),
    FraudType.impersonate_customer_service: Reason("冒充客服"),
    FraudType.fake_loan: Reason("虚假贷款/征信"),
    FraudType.impersonate_boss: Reason("冒充领导熟人"),
    FraudType.sextortion: Reason("裸聊敲诈"),
    FraudType.fake_game_trading: Reason("网络游戏虚假交易"),
    FraudType.impersonate_military: Reason("冒充军警"),
    FraudType.online_gambling: Reason("网络赌博"),
    FraudType.benefits_phishing: Reason("社保卡/ETC钓鱼"),
    FraudType.other: Reason("其他"),
}
"""each fraud type's name for people (the glossary's), in Chinese and English"""


OTHER_RISK_NAMES: dict[str, Reason] = {
    "money_mule": Reason("涉诈资金账户（跑分、取现）"),
}
"""risks that Aegis names which are not fraud types of the typology: the account detector's mule accounts"""


def fraud_type_name(code: str | None, lang: Lang = DEFAULT_LANG) -> str | None:
    """The name of a fraud type code (or of :data:`OTHER_RISK_NAMES`) for people; a label that is neither (a
    training set's own labels) is shown as written."""
    if code is None:
        return None
    if code in OTHER_RISK_NAMES:
        return OTHER_RISK_NAMES[code].text(lang)
    try:
        return FRAUD_TYPE_NAMES[FraudType(code)].text(lang)
    except ValueError:
        return code

# Identifiers: phone numbers, account numbers, device ids. Kept as strings (leading zeros, '+').
IDENT_CHARS = r"[0-9A-Za-z+_\-.:]"
"""the characters of an identifier (and of a client's request id)"""
Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=f"^{IDENT_CHARS}+$")]
_IDENT = re.compile(f"{IDENT_CHARS}+")


def _phone(value: Any) -> Any:
    return canonical_number(value) if isinstance(value, str) else value


#: a phone number, stored in its canonical form (:func:`aegis.events.numbers.canonical_number`: ``+86 139-1234-5678``
#: and ``１３９１２３４５６７８`` are ``13912345678``), so that one event re-exported with its numbers written
#: another way is the same event, and a number is one key in the store as in the look-ups; a short, foreign or IoT
#: number, or a sender's name, is kept as written
PhoneNumber = Annotated[str, BeforeValidator(_phone), Field(
    min_length=1, max_length=64, pattern=f"^{IDENT_CHARS}+$",
    description="a phone number as written (+86 139-1234-5678, 0086…, full-width digits), stored in its canonical "
                "form (13912345678); a short, foreign or IoT number or a sender's name as written")]
#: a point in time, normalised to UTC (naive input is China time); ISO 8601, as spreadsheets write it, or compact
Time = Annotated[datetime, BeforeValidator(written_time), AfterValidator(to_utc)]
FEN = Decimal("0.01")
"""one fen (分), the smallest sum of money: amounts carry at most two places"""
MAX_AMOUNT = 10**12
"""every sum of money is less than a trillion yuan (一万亿元), far above any one payment, loss or hold: a larger
one is a slip (an account number in the amount column, digits pasted twice), refused by ingest, the API and
the CLI alike rather than stored, summed into a victim's loss and chased"""


def web_address(value: str) -> str:
    """``value`` if a browser could open it (:func:`aegis.events.urls.url_refusal`), else the reason as an error:
    a visit to, or a decision on, ``javascript:``, ``http://`` or ``xn--`` would store or audit a string no one
    could visit."""
    refusal = url_refusal(value)
    if refusal is not None:
        raise ValueError(refusal)
    return value


#: a web address as events and decision requests carry it: http(s), or a link without its scheme as SMS write it
WebAddress = Annotated[str, Field(min_length=4, max_length=2048), AfterValidator(web_address)]
#: a sum of money, its thousands grouped by commas or not
Money = Annotated[Decimal, Field(ge=0, lt=MAX_AMOUNT, max_digits=18, decimal_places=2),
                  BeforeValidator(grouped_amount)]
#: a sum that moves or is held: more than zero, to the fen
PositiveMoney = Annotated[Decimal, Field(gt=0, lt=MAX_AMOUNT, max_digits=18, decimal_places=2),
                          BeforeValidator(grouped_amount)]


def holds_nul(value: Any) -> bool:
    """Whether a text (or a list of texts) holds a NUL character, which PostgreSQL's text cannot store."""
    if isinstance(value, str):
        return "\x00" in value
    return isinstance(value, list | tuple) and any(isinstance(v, str) and "\x00" in v for v in value)


class Outside(BaseModel):
    """Base of every model that takes values from outside (files, requests): no text may hold a NUL character,
    which PostgreSQL's text cannot store (one NUL failed a whole ingest batch there, and a decision with a 500)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if holds_nul(value):
            raise ValueError("must not contain a NUL character")
        return value


class Record(Outside):
    """Base of every stored record: strict about unknown fields, with a stable id."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True, use_enum_values=True)

    kind: ClassVar[str]
    #: the fields that identify one real-world happening; hashed into ``event_id`` when none is given
    identity: ClassVar[tuple[str, ...]]
    #: the time field used for ordering and partitioning
    time_field: ClassVar[str | None] = "time"
    #: whether an identifying field is an amount (a Decimal), which derived ids once hashed as written
    _amounts: ClassVar[bool] = False
    #: the identifying fields that are phone numbers (:data:`PhoneNumber`), which derived ids once hashed as written
    _phones: ClassVar[tuple[str, ...]] = ()

    #: empty means "derive it from the identifying fields" (done after validation, on normalised values)
    event_id: Annotated[str, Field(max_length=80)] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        annotations = [cls.model_fields[name].annotation for name in getattr(cls, "identity", ())]
        cls._amounts = any(Decimal in (a, *typing.get_args(a)) for a in annotations)
        cls._phones = tuple(name for name in getattr(cls, "identity", ()) if any(
            isinstance(m, BeforeValidator) and m.func is _phone for m in cls.model_fields[name].metadata))

    @model_validator(mode="after")
    def _happened(self, info: ValidationInfo) -> Any:
        """Given a clock (``context={"now": ...}``), as ingest gives it, a record dated ahead of it is refused
        (:func:`~aegis.events.times.not_ahead`). Without one, as a record read back from the store or built by a
        test, it is not: the store may hold what came in before the check."""
        now = (info.context or {}).get("now")
        if now is None or self.time_field is None:
            return self
        try:
            not_ahead(getattr(self, self.time_field), now)
        except ValueError as exc:
            raise ValueError(f"{self.time_field}: {exc}: an event is stored once it has happened") from None
        return self

    @model_validator(mode="after")
    def _derive_id(self) -> Any:
        if not self.event_id:
            object.__setattr__(self, "event_id", self.derive_id(self))
        return self

    @classmethod
    def derive_id(cls, record: Record | Mapping[str, Any]) -> str:
        """The id of a record (or of its row, as :meth:`model_dump` gives it) that gives none: a hash of its kind
        and identifying fields, each as validation leaves it, an amount to the fen ("10.5" and "10.50" are one
        sum, one event)."""
        return cls._hash([_id_part(value) for value in cls._identifying(record)])

    @classmethod
    def former_ids(cls, record: Record | Mapping[str, Any], written: Mapping[str, Any] | None = None) -> list[str]:
        """The other ids Aegis may have derived for this record before :meth:`derive_id` read amounts to the
        fen, when it hashed an amount as its file wrote it (see :func:`as_written`), or before it read phone
        numbers in their canonical form, when it hashed a number as written (``written``: the row as it came, if
        known), most likely first. A store written then holds the record under one of them, which is that
        record's id there (see ``EventRepository.as_stored``). None for a record with an id of its own, nor for
        the kinds whose identifying fields hold no amount or phone number."""
        if not cls._amounts and not (cls._phones and written):
            return []
        values = cls._identifying(record)
        parts = [_id_part(value) for value in values]
        own_id = record["event_id"] if isinstance(record, Mapping) else record.event_id
        if cls._phones and written:
            # an earlier Aegis stored a number as its file wrote it, if it was an identifier then (no spaces);
            # a row written canonically, as nearly all are, costs no hash here
            spelled = [_as_written_number(written.get(name), part) if name in cls._phones else part
                       for name, part in zip(cls.identity, parts, strict=True)]
            return [cls._hash(spelled)] if spelled != parts and own_id == cls._hash(parts) else []
        if own_id != cls._hash(parts):
            return []
        spellings = [as_written(v) if isinstance(v, Decimal) else [part] for v, part in zip(values, parts, strict=True)]
        derived_parts = tuple(parts)
        return [cls._hash(spelled) for spelled in itertools.product(*spellings) if spelled != derived_parts]

    @classmethod
    def _identifying(cls, record: Record | Mapping[str, Any]) -> list[Any]:
        if isinstance(record, Mapping):
            return [record[name] for name in cls.identity]
        return [getattr(record, name) for name in cls.identity]

    @classmethod
    def _hash(cls, parts: Sequence[str]) -> str:
        digest = hashlib.blake2b("\x1f".join([cls.kind, *parts]).encode(), digest_size=12).hexdigest()
        return f"{cls.kind[:3]}-{digest}"


def _as_written_number(written: Any, canonical: str) -> str:
    """A number as a derived id hashed it before numbers were read canonically: as validation left it (stripped),
    where it was an identifier then; else ``canonical`` (no store can hold it otherwise)."""
    if isinstance(written, str) and _IDENT.fullmatch(written.strip()):
        return written.strip()
    return canonical


def _id_part(value: Any) -> str:
    """One identifying value as a derived id hashes it."""
    if value is None:
        return ""
    if isinstance(value, datetime):  # in UTC already (Time): "10:00" China time and "02:00Z" are one time
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.quantize(FEN))
    return str(value)


def as_written(amount: Decimal) -> list[str]:
    """The spellings of ``amount`` that derived ids hashed when they took it as written (``str`` of the
    Decimal read from the file, which keeps the places it was written with, whatever commas, full-width
    digits, sign or leading zeros it had), the to-the-fen one first. Validation took any number of trailing
    zeros and exponents; these are the ones money is written with: whole yuan, one to six places (fixed-scale
    exports: SQL Server's money has four, a decimal(18,6) column six), and every exponent form of a whole
    amount (``8e2``, ``80e1``, a spreadsheet's ``8.00E+02``: Decimal keeps them as ``8E+2``, ``8.0E+2``,
    ``8.00E+2``). Seven places or more is not looked for.

    >>> as_written(Decimal("10.5"))
    ['10.50', '10.5', '10.500', '10.5000', '10.50000', '10.500000']
    >>> as_written(Decimal("800"))[:3], as_written(Decimal("800"))[-2:]
    (['800.00', '800', '800.0'], ['8.0E+2', '8E+2'])
    >>> as_written(Decimal("1234.56"))
    ['1234.56', '1234.560', '1234.5600', '1234.56000', '1234.560000']
    """
    fen = str(amount.quantize(FEN))  # "800.00": amounts carry two places at most, so this is exact
    whole, places = fen.split(".")
    spellings = [fen]
    if places == "00":
        spellings.append(whole)
    if places[1] == "0":
        spellings.append(fen[:-1])
    spellings += [fen + "0" * extra for extra in range(1, 5)]
    if places == "00" and whole.rstrip("0") != whole:  # a whole amount ending in zeros: its exponent forms
        digits = whole.lstrip("0")
        for exponent in range(1, len(whole) - len(whole.rstrip("0")) + 1):
            spellings.append(str(Decimal(digits[:-exponent] + "E" + str(exponent))))
    return spellings


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _resident_id(number: str) -> str:
    """An 18-digit resident id (GB 11643): its birth date must be a date and its last character the ISO 7064
    MOD 11-2 check of the others. Written here because the check is a line, where a library (python-stdnum)
    would be a dependency for it; the simulator writes ids the same way."""
    try:
        date.fromisoformat(f"{number[6:10]}-{number[10:12]}-{number[12:14]}")
    except ValueError:
        raise ValueError(f"'{number[6:14]}' (digits 7-14) is not a birth date") from None
    check = "10X98765432"[sum(int(d) * w for d, w in zip(number, _ID_WEIGHTS, strict=False)) % 11]
    if number[17].upper() != check:
        raise ValueError(f"the check character is {number[17]}, the other digits make it {check}")
    return number.upper()


class Person(Record):
    """A resident: demographics and home jurisdiction (city > district > police station)."""

    kind: ClassVar[str] = "person"
    identity: ClassVar[tuple[str, ...]] = ("person_id",)
    time_field: ClassVar[str | None] = None

    person_id: Ident
    id_number: Annotated[str, Field(pattern=r"^[0-9]{17}[0-9Xx]$"), AfterValidator(_resident_id)] | None = None
    name: Annotated[str, Field(max_length=64)] | None = None
    age: Annotated[int, Field(ge=0, le=120)]
    gender: Gender
    occupation: Annotated[str, Field(min_length=1, max_length=64)]
    city: Annotated[str, Field(min_length=1, max_length=64)]
    district: Annotated[str, Field(min_length=1, max_length=64)]
    station: Annotated[str, Field(min_length=1, max_length=64)]


class Call(Record):
    """One call detail record (CDR), seen from the caller's network."""

    kind: ClassVar[str] = "call"
    identity: ClassVar[tuple[str, ...]] = ("caller", "callee", "start")
    time_field: ClassVar[str | None] = "start"

    caller: PhoneNumber
    callee: PhoneNumber
    start: Time
    duration_s: Annotated[int, Field(ge=0, le=86_400)]
    direction: Direction = Direction.outgoing
    cell_id: Ident | None = None
    imei: Ident | None = None
    imsi: Ident | None = None

    @model_validator(mode="after")
    def _distinct_parties(self) -> Call:
        if self.caller == self.callee:
            raise ValueError("callee: must differ from caller")
        return self


class Sms(Record):
    kind: ClassVar[str] = "sms"
    identity: ClassVar[tuple[str, ...]] = ("sender", "receiver", "time", "text")

    sender: PhoneNumber
    receiver: PhoneNumber
    time: Time
    text: Annotated[str, Field(min_length=1, max_length=2000)]


def _currency_code(code: str) -> str:
    # Babel's ISO 4217 table (already here for the translations) rather than a list of our own
    if not babel.numbers.is_currency(code):
        raise ValueError(f"'{code}' is not an ISO 4217 currency code (CNY, HKD, USD ...)")
    return code


@functools.cache
def _tender_on(day: date) -> frozenset[str]:
    """The currencies that were legal tender somewhere on ``day`` (CLDR's territory tables, through Babel)."""
    territories = babel.core.get_global("territory_currencies")
    return frozenset(c for t in territories for c in babel.numbers.get_territory_currencies(t, day, tender=True))


class Transfer(Record):
    kind: ClassVar[str] = "transfer"
    identity: ClassVar[tuple[str, ...]] = ("payer_account", "payee_account", "time", "amount")

    payer_account: Ident
    payee_account: Ident
    payer_bank: Annotated[str, Field(min_length=1, max_length=64)]
    payee_bank: Annotated[str, Field(min_length=1, max_length=64)]
    amount: PositiveMoney
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$"), AfterValidator(_currency_code)] = "CNY"
    time: Time
    channel: Channel = Channel.mobile

    @model_validator(mode="after")
    def _distinct_accounts(self) -> Transfer:
        if self.payer_account == self.payee_account:
            raise ValueError("payee_account: must differ from payer_account")
        # a code of the table that was no money anyone paid with that day (DEM in 2026, XAU, XXX) is a mistake
        if self.currency not in _tender_on(self.time.astimezone(CHINA_TZ).date()):
            raise ValueError(f"currency: {self.currency} was no legal tender on {self.time.date()}")
        return self


class UrlVisit(Record):
    kind: ClassVar[str] = "url_visit"
    identity: ClassVar[tuple[str, ...]] = ("person_id", "number", "url", "time")

    person_id: Ident | None = None
    number: PhoneNumber | None = None
    url: WebAddress
    time: Time

    @model_validator(mode="after")
    def _who(self) -> UrlVisit:
        if self.person_id is None and self.number is None:
            raise ValueError("person_id: a visit needs a person_id or a number")
        return self


class AppInstall(Record):
    kind: ClassVar[str] = "app_install"
    identity: ClassVar[tuple[str, ...]] = ("device_id", "package", "time")

    device_id: Ident
    person_id: Ident | None = None
    package: Annotated[str, Field(min_length=1, max_length=256)]
    app_name: Annotated[str, Field(max_length=128)] | None = None
    signer: Annotated[str, Field(min_length=1, max_length=128)]
    time: Time


class SimOpening(Record):
    """A SIM card sold to a person: the link between a number and a person."""

    kind: ClassVar[str] = "sim_opening"
    identity: ClassVar[tuple[str, ...]] = ("number", "time")

    person_id: Ident
    number: PhoneNumber
    imsi: Ident | None = None
    institution: Annotated[str, Field(min_length=1, max_length=64)]
    agent: Annotated[str, Field(min_length=1, max_length=64)]
    time: Time
    location: Annotated[str, Field(max_length=128)] | None = None
    iot: bool = False


class AccountOpening(Record):
    """A bank or payment account opened by a person: the link between an account and a person."""

    kind: ClassVar[str] = "account_opening"
    identity: ClassVar[tuple[str, ...]] = ("account", "institution")

    person_id: Ident
    account: Ident
    institution: Annotated[str, Field(min_length=1, max_length=64)]
    branch: Annotated[str, Field(min_length=1, max_length=64)]
    time: Time
    location: Annotated[str, Field(max_length=128)] | None = None


class Report(Record):
    """A citizen's report to the police (警情): the start of a case."""

    kind: ClassVar[str] = "report"
    identity: ClassVar[tuple[str, ...]] = ("victim_id", "time", "fraud_type")

    victim_id: Ident
    time: Time
    fraud_type: FraudType
    loss: Money = Decimal("0")
    numbers: list[PhoneNumber] = Field(default_factory=list, max_length=100)
    accounts: list[Ident] = Field(default_factory=list, max_length=100)
    urls: list[Annotated[str, Field(max_length=2048)]] = Field(default_factory=list, max_length=100)
    apps: list[Annotated[str, Field(max_length=256)]] = Field(default_factory=list, max_length=100)
    text: Annotated[str, Field(max_length=10_000)] = ""


EVENT_TYPES: dict[str, type[Record]] = {
    model.kind: model
    for model in (Person, Call, Sms, Transfer, UrlVisit, AppInstall, SimOpening, AccountOpening, Report)
}
