"""Ordinary daily life in the city, one day at a time, as whole-day numpy arrays.

A day's events of one kind form a *frame*: a dict of equal-length numpy columns that refer to the city's
registries and pools by integer index (a number, an account, a text of the pool). Frames are cheap to
concatenate with the fraud events, sort by time and turn into Arrow columns in one ``take`` per column.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from aegis.simulate import catalog, texts
from aegis.simulate.config import SimConfig
from aegis.simulate.population import OCCUPATIONS, City
from aegis.simulate.registry import HOUR_US, epoch_us

Frame = dict[str, np.ndarray]
MINUTE_US = HOUR_US // 60
CHANNELS = ("mobile", "online", "counter", "atm", "pos", "third_party")
#: relative call volume by local hour: quiet nights, a morning peak and a higher evening peak
HOURLY = np.array(
    [
        0.3,
        0.15,
        0.08,
        0.06,
        0.08,
        0.3,
        1.0,
        2.4,
        4.0,
        5.4,
        6.0,
        5.6,
        4.4,
        4.3,
        4.9,
        5.2,
        5.3,
        5.6,
        6.1,
        6.4,
        5.8,
        4.2,
        2.6,
        1.1,
    ]
)
CELLS_PER_STATION = 20


@dataclass
class Pools:
    """Strings shared by many events (texts, URLs, apps); events hold an index into them."""

    texts: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    #: (package, display name, signer, category, gang index or -1)
    apps: list[tuple[str, str, str, str, int]] = field(default_factory=list)
    #: (domain, gang, fraud type, imitated brand)
    fraud_domains: list[tuple[str, int, str, str]] = field(default_factory=list)

    def add_texts(self, values: list[str]) -> np.ndarray:
        first = len(self.texts)
        self.texts.extend(values)
        return np.arange(first, len(self.texts))


def signer_of(publisher: str) -> str:
    """A stable certificate fingerprint for a publisher (hex SHA-1 length)."""
    return hashlib.sha1(f"cert:{publisher}".encode()).hexdigest()


def concat(frames: list[Frame]) -> Frame:
    frames = [f for f in frames if f and len(next(iter(f.values())))]
    if not frames:
        return {}
    return {k: np.concatenate([f[k] for f in frames]) for k in frames[0]}


def select(frame: Frame, mask: np.ndarray) -> Frame:
    return {k: v[mask] for k, v in frame.items()}


def _cdf(weights: np.ndarray) -> np.ndarray:
    cdf = np.cumsum(weights, dtype=np.float64)
    return cdf / cdf[-1]


class Traffic:
    """Generates ordinary calls, SMS, transfers, web visits and app installs for one day at a time."""

    def __init__(self, config: SimConfig, city: City, pools: Pools, rng: np.random.Generator) -> None:
        self.config, self.city = config, city
        self.expected = city.activity * city.n  # mean 1: a resident's share of the city's events
        self.hour_cdf = _cdf(HOURLY)
        self.slot_cdf = _cdf(1.0 / np.arange(1, config.contacts_per_person + 1) ** 0.9)
        self.merchant_cdf = _cdf(city.merchant_weight)
        self.personal_texts = pools.add_texts(texts.ordinary_pool(rng, 1500, personal=True))
        self.service_texts = pools.add_texts(texts.ordinary_pool(rng, 3000, personal=False))
        site_weight = 1.0 / np.arange(1, len(catalog.SITES) + 1)
        first_url, spans = len(pools.urls), []
        for (domain, paths), w in zip(catalog.SITES, site_weight, strict=True):
            pools.urls.extend(f"https://{domain}{p}" for p in paths)
            spans += [w / len(paths)] * len(paths)
        self.url_index = np.arange(first_url, len(pools.urls))
        self.url_cdf = _cdf(np.array(spans))
        n_apps = len(catalog.APPS) + len(catalog.REMOTE_CONTROL_APPS)
        self.app_index = np.arange(len(pools.apps), len(pools.apps) + n_apps)
        for package, name, publisher in catalog.APPS:
            pools.apps.append((package, name, signer_of(publisher), "normal", -1))
        for package, name, publisher in catalog.REMOTE_CONTROL_APPS:
            pools.apps.append((package, name, signer_of(publisher), "remote_control", -1))
        app_weight = np.concatenate([np.ones(len(catalog.APPS)), np.full(len(catalog.REMOTE_CONTROL_APPS), 0.3)])
        self.app_cdf = _cdf(app_weight)
        # residents who ring strangers for a living, the hard negatives of fraud-number detection: delivery
        # riders call their customers (short calls, often called back), telemarketers cold-call lists (short,
        # mostly unanswered, rarely called back), much as a gang's callers do
        riders = np.flatnonzero(city.occupation == OCCUPATIONS.index("外卖骑手"))
        staff = np.flatnonzero(city.occupation == OCCUPATIONS.index("企业职员"))
        marketers = rng.choice(staff, size=min(len(staff), city.n // 400), replace=False)
        self.work_callers = np.concatenate([riders, marketers])
        self.work_is_rider = np.arange(len(self.work_callers)) < len(riders)
        self.work_rate = np.where(self.work_is_rider, 20, 50)
        self.work_answered = np.where(self.work_is_rider, 0.85, 0.45)
        self.work_called_back = np.where(self.work_is_rider, 0.3, 0.03)
        # the config's calls per resident and day include these and their call-backs: ordinary calls make up the rest
        work = (self.work_rate * (1 + self.work_answered * self.work_called_back)).sum() / city.n
        self.ordinary_call_rate = max(0.0, config.calls_per_person_day - work)

    # helpers -------------------------------------------------------------------------------------------
    def people(self, rng: np.random.Generator, rate: float) -> np.ndarray:
        """The residents behind a day's events of one kind, each as often as their activity makes them.

        One Poisson count per resident then ``repeat``: a sequential pass, unlike sampling from the
        activity distribution (a cache miss per event on a million-entry table).
        """
        return np.repeat(np.arange(self.city.n), rng.poisson(self.expected * rate))

    def times(self, rng: np.random.Generator, day_us: int, count: int) -> np.ndarray:
        hour = np.searchsorted(self.hour_cdf, rng.random(count))
        return day_us + hour * HOUR_US + rng.integers(0, HOUR_US, size=count)

    def number_of(self, rng: np.random.Generator, person: np.ndarray, second_share: float) -> np.ndarray:
        sim2 = self.city.sim2[person]
        return np.where((sim2 >= 0) & (rng.random(len(person)) < second_share), sim2, self.city.sim1[person])

    def contact(self, rng: np.random.Generator, person: np.ndarray) -> np.ndarray:
        slot = np.searchsorted(self.slot_cdf, rng.random(len(person)))
        return self.city.contacts[person, slot]

    def cell(self, rng: np.random.Generator, person: np.ndarray) -> np.ndarray:
        station = np.where(
            rng.random(len(person)) < 0.8,
            self.city.station[person],
            rng.integers(0, self.city.station.max() + 1, len(person)),
        )
        return station * CELLS_PER_STATION + rng.integers(0, CELLS_PER_STATION, len(person))

    # kinds -----------------------------------------------------------------------------------------------
    def day(self, rng: np.random.Generator, index: int) -> dict[str, Frame]:
        day_us = epoch_us(self.config.start + timedelta(days=index))
        return {
            "call": concat([self.calls(rng, day_us), self.work_calls(rng, day_us)]),
            "sms": self.sms(rng, day_us),
            "transfer": self.transfers(rng, day_us, (self.config.start + timedelta(days=index)).day),
            "url_visit": self.visits(rng, day_us),
            "app_install": self.installs(rng, day_us),
        }

    def calls(self, rng: np.random.Generator, day_us: int) -> Frame:
        c = self.city
        caller = self.people(rng, self.ordinary_call_rate)
        n = len(caller)
        kind = rng.random(n)
        to_contact = kind < self.config.contact_call_share
        to_service = kind > 1 - (1 - self.config.contact_call_share) / 3
        callee_person = np.where(to_contact, self.contact(rng, caller), rng.integers(0, c.n, n))
        callee_person = np.where(callee_person == caller, (caller + 1) % c.n, callee_person)
        callee = np.where(
            to_service, c.services[rng.integers(0, len(c.services), n)], self.number_of(rng, callee_person, 0.1)
        )
        answered = rng.random(n) > 0.15
        duration = np.where(answered, np.clip(rng.lognormal(np.log(55), 1.0, n), 1, 7200), 0).astype(np.int64)
        return {
            "caller": self.number_of(rng, caller, 0.2),
            "callee": callee,
            "time": self.times(rng, day_us, n),
            "duration_s": duration,
            "cell": self.cell(rng, caller),
            "device": c.device[caller],
        }

    def work_calls(self, rng: np.random.Generator, day_us: int) -> Frame:
        """A day's calls of the riders (about 20 each) and telemarketers (about 50), with their call-backs."""
        c = self.city
        counts = rng.poisson(self.work_rate)
        caller = np.repeat(self.work_callers, counts)
        who = np.repeat(np.arange(len(self.work_callers)), counts)
        n = len(caller)
        callee = rng.integers(0, c.n, n)
        callee = np.where(callee == caller, (callee + 1) % c.n, callee)
        answered = rng.random(n) < self.work_answered[who]
        duration = np.where(
            answered, np.clip(rng.lognormal(np.log(np.where(self.work_is_rider[who], 30, 25)), 0.7), 1, 900), 0
        )
        t = day_us + rng.integers(9 * HOUR_US, 21 * HOUR_US, n)
        back = np.flatnonzero(answered & (rng.random(n) < self.work_called_back[who]))
        return concat(
            [
                {
                    "caller": c.sim1[caller],
                    "callee": c.sim1[callee],
                    "time": t,
                    "duration_s": duration.astype(np.int64),
                    # riders ring from wherever they ride; telemarketers from their desk, one cell all day
                    "cell": np.where(
                        self.work_is_rider[who],
                        self.cell(rng, caller),
                        c.station[caller].astype(np.int64) * CELLS_PER_STATION + caller % CELLS_PER_STATION,
                    ),
                    "device": c.device[caller],
                },
                {
                    "caller": c.sim1[callee[back]],
                    "callee": c.sim1[caller[back]],
                    "time": t[back] + rng.integers(MINUTE_US, 60 * MINUTE_US, len(back)),
                    "duration_s": rng.integers(5, 60, len(back)),
                    "cell": self.cell(rng, callee[back]),
                    "device": c.device[callee[back]],
                },
            ]
        )

    def sms(self, rng: np.random.Generator, day_us: int) -> Frame:
        c = self.city
        person = self.people(rng, self.config.sms_per_person_day)
        n = len(person)
        personal = rng.random(n) < 0.35
        sender = np.where(personal, self.number_of(rng, person, 0.2), c.services[rng.integers(0, len(c.services), n)])
        receiver = np.where(personal, self.number_of(rng, self.contact(rng, person), 0.1), c.sim1[person])
        text = np.where(
            personal,
            self.personal_texts[rng.integers(0, len(self.personal_texts), n)],
            self.service_texts[rng.integers(0, len(self.service_texts), n)],
        )
        return {"sender": sender, "receiver": receiver, "time": self.times(rng, day_us, n), "text": text}

    def transfers(self, rng: np.random.Generator, day_us: int, day_of_month: int) -> Frame:
        c = self.city
        payer_person = self.people(rng, self.config.transfers_per_person_day)
        n = len(payer_person)
        shopping = rng.random(n) < 0.6
        merchant = c.merchants[np.searchsorted(self.merchant_cdf, rng.random(n))]
        payee = np.where(shopping, merchant, c.account1[self.contact(rng, payer_person)])
        amount = np.where(shopping, rng.lognormal(np.log(80), 1.1, n), rng.lognormal(np.log(500), 1.2, n))
        channel = np.where(
            shopping,
            rng.choice([4, 5, 0], size=n, p=[0.3, 0.5, 0.2]),
            rng.choice([0, 1, 3, 2], size=n, p=[0.7, 0.2, 0.05, 0.05]),
        )
        payer = c.account1[payer_person]
        atm = channel == CHANNELS.index("atm")  # a withdrawal: into the payer's bank's cash ledger, in hundreds
        payee = np.where(atm, c.cash[c.accounts["bank"][payer]], payee)
        amount = np.where(atm, np.maximum(np.round(amount, -2), 100), amount)
        frame = {
            "payer": payer,
            "payee": payee,
            "amount": amount,
            "time": self.times(rng, day_us, n),
            "channel": channel,
        }
        if day_of_month == 10:  # payday
            staff = np.flatnonzero(c.employer >= 0)
            frame = concat(
                [
                    frame,
                    {
                        "payer": c.employer[staff],
                        "payee": c.account1[staff],
                        "amount": c.salary[staff],
                        "time": day_us + rng.integers(9 * HOUR_US, 12 * HOUR_US, len(staff)),
                        "channel": np.ones(len(staff), dtype=np.int64),
                    },
                ]
            )
        frame["amount"] = np.maximum(np.round(frame["amount"], 2), 0.01)
        frame["ref"] = np.full(len(frame["payer"]), -1, dtype=np.int64)
        return frame

    def visits(self, rng: np.random.Generator, day_us: int) -> Frame:
        person = self.people(rng, self.config.visits_per_person_day)
        n = len(person)
        return {
            "person": person,
            "number": self.city.sim1[person],
            "time": self.times(rng, day_us, n),
            "url": self.url_index[np.searchsorted(self.url_cdf, rng.random(n))],
        }

    def installs(self, rng: np.random.Generator, day_us: int) -> Frame:
        person = self.people(rng, self.config.installs_per_person_day)
        n = len(person)
        return {
            "device": self.city.device[person],
            "person": person,
            "time": self.times(rng, day_us, n),
            "app": self.app_index[np.searchsorted(self.app_cdf, rng.random(n))],
        }
