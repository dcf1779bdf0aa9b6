"""The knobs of a simulated city. Defaults give a plausible city; tests turn rates up to get statistics."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from aegis.events.models import FraudType
from aegis.reasons import InputError, Reason

#: share of victims per fraud type, roughly the order of magnitude of published Chinese case statistics
DEFAULT_TYPE_SHARES: dict[str, float] = {
    FraudType.order_brushing: 0.26,
    FraudType.pig_butchering: 0.13,
    FraudType.impersonate_police: 0.07,
    FraudType.impersonate_customer_service: 0.12,
    FraudType.fake_loan: 0.10,
    FraudType.impersonate_boss: 0.05,
    FraudType.sextortion: 0.04,
    FraudType.fake_game_trading: 0.06,
    FraudType.impersonate_military: 0.03,
    FraudType.online_gambling: 0.05,
    FraudType.benefits_phishing: 0.06,
    FraudType.other: 0.03,
}


MIN_PEOPLE = 150
"""the gangs' laundering chains recruit their mules among the residents: a smaller city runs out of them"""

MAX_PEOPLE = 2_000_000
"""a day's events are held in memory before they are written: a million residents peak at some 3 GB (the simulator
benchmark), and a city past this bound would take more memory than a test bed's machine is likely to have"""

MAX_DAYS = 366
"""a year at most: a city is a test bed, and its days run on from ``start`` into days no store takes yet"""


@dataclass(frozen=True)
class SimConfig:
    """A city of ``people`` residents simulated for ``days`` days from ``start`` (China time, UTC+8)."""

    people: int
    days: int
    seed: int
    start: date = date(2026, 10, 1)
    # ordinary traffic, per resident per day
    calls_per_person_day: float = 2.0
    sms_per_person_day: float = 1.2
    transfers_per_person_day: float = 0.4
    visits_per_person_day: float = 1.5
    installs_per_person_day: float = 0.01
    #: social circle size: people call mostly these contacts
    contacts_per_person: int = 12
    #: share of calls going to the stable contacts (the rest: strangers and service numbers)
    contact_call_share: float = 0.85
    second_sim_share: float = 0.15
    # fraud
    #: new victims (first loss in the window) per 10,000 residents per day
    victims_per_10k_day: float = 1.0
    type_shares: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TYPE_SHARES))
    gangs_per_type: int = 2
    #: share of victims who report to the police
    report_share: float = 0.6
    #: stray calls and spam SMS from fraud numbers to ordinary residents, per resident per day
    stray_calls_per_person_day: float = 0.01
    spam_sms_per_person_day: float = 0.005
    #: share of stray-call receivers who call the number back
    callback_share: float = 0.03

    def __post_init__(self) -> None:
        if self.people < MIN_PEOPLE:
            raise InputError(Reason("people：一个城市至少需要{least}个居民", least=MIN_PEOPLE))
        if self.people > MAX_PEOPLE:
            raise InputError(Reason("people：一个城市至多{most:,}个居民（收到{got}）", most=MAX_PEOPLE,
                                    got=self.people))
        if self.days < 1:
            raise InputError(Reason("days：至少1天（收到{got}）", got=self.days))
        if self.days > MAX_DAYS:  # the least is the command's to say (the demo's is 2)
            raise InputError(Reason("days：至多{most}天（收到{got}）", most=MAX_DAYS, got=self.days))
        if set(self.type_shares) - set(FraudType):
            raise InputError(Reason("type_shares：未知的诈骗类型{types}",
                                    types=str(sorted(set(self.type_shares) - set(FraudType)))))
        if self.seed < 0:
            raise InputError(Reason("seed：须为0或以上（它是随机数生成器的起点）"))
        if not 0 <= self.victims_per_10k_day <= 10_000:  # NaN fails too
            raise InputError(Reason("victims_per_10k_day：须在0到10000之间，10000即每位居民每天一次（收到{got}）",
                                    got=self.victims_per_10k_day))
        if not 0 <= self.report_share <= 1:
            raise InputError(Reason("report_share：须在[0, 1]之内"))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["type_shares"] = {str(k): v for k, v in self.type_shares.items()}
        return data
