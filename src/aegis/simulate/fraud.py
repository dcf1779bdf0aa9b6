"""Fraud in the simulated city: gangs, their supply chain, victims' timelines and the laundering of the money.

Gangs are few and victims are few (about one per 10,000 residents a day), so they are built with plain
Python loops; only the gangs' mass dialling and spam (stray calls to residents who never become victims,
the hard negatives) is generated as whole-day arrays.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from aegis.events.models import FraudType
from aegis.reasons import InputError, Reason
from aegis.simulate import catalog, geography, texts
from aegis.simulate.config import SimConfig
from aegis.simulate.population import (
    ACCOUNT_ROLES,
    N_AGENTS,
    PHONE_TACS,
    SIMBOX_TACS,
    City,
    account_openings,
    add_accounts,
    add_devices,
    add_numbers,
    sim_openings,
)
from aegis.simulate.registry import DAY_US, HOUR_US, epoch_us
from aegis.simulate.traffic import CELLS_PER_STATION, Frame, Pools, concat, signer_of

MINUTE_US = 60_000_000
#: share of the mule accounts (laundering levels before the cash-out) that are the mule's own everyday card
RENTED_CARD_SHARE = 0.4


@dataclass(frozen=True)
class Profile:
    """How a fraud type unfolds: who falls for it, how fast, how much, through which channels."""

    age: tuple[float, float]  # mean and spread of victims' age
    male: float  # share of men among victims
    lag_h: tuple[float, float]  # first contact -> first loss, hours
    losses: tuple[int, int]  # number of loss transfers (inclusive range)
    gap_h: tuple[float, float]  # between losses, hours
    amount: float  # median first loss, yuan
    growth: float  # each further loss is this many times the previous
    calls: int  # grooming calls before the first loss
    link: bool  # a link (SMS and visit to a fraud domain)
    app: bool  # a fraud app is installed
    remote: bool  # a screen-sharing app is installed
    wins: int  # small payouts to the victim before the losses ("rebates", "profits")
    simbox: bool  # gangs of this type dial through SIM-boxes
    report_delay_h: float  # median delay from last loss to report


T = FraudType
PROFILES: dict[FraudType, Profile] = {
    T.order_brushing: Profile((26, 7), 0.35, (24, 120), (2, 4), (2, 30), 800, 2.5, 1, True, True, False, 2, False, 12),
    T.pig_butchering: Profile(
        (40, 9), 0.5, (14 * 24, 45 * 24), (2, 5), (48, 240), 20000, 2.0, 6, True, True, False, 1, False, 48
    ),
    T.impersonate_police: Profile(
        (62, 12), 0.45, (0.5, 6), (1, 3), (0.3, 3), 50000, 1.2, 2, True, False, True, 0, True, 6
    ),
    T.impersonate_customer_service: Profile(
        (32, 9), 0.45, (0.3, 4), (1, 3), (0.2, 2), 8000, 1.3, 2, True, False, True, 0, True, 6
    ),
    T.fake_loan: Profile((30, 7), 0.6, (24, 96), (2, 4), (3, 24), 2000, 1.8, 1, True, True, False, 0, True, 24),
    T.impersonate_boss: Profile(
        (40, 8), 0.4, (0.2, 3), (1, 2), (0.3, 2), 30000, 1.0, 1, False, False, False, 0, False, 4
    ),
    T.sextortion: Profile((28, 8), 0.9, (6, 48), (1, 3), (1, 12), 5000, 1.5, 1, True, True, False, 0, False, 24),
    T.fake_game_trading: Profile(
        (19, 4), 0.75, (2, 30), (1, 3), (0.5, 6), 1500, 1.5, 0, True, False, False, 0, False, 12
    ),
    T.impersonate_military: Profile(
        (45, 9), 0.6, (24, 120), (1, 2), (6, 48), 15000, 1.5, 3, False, False, False, 0, True, 12
    ),
    T.online_gambling: Profile(
        (33, 8), 0.85, (72, 336), (2, 5), (12, 72), 5000, 1.6, 0, True, True, False, 2, False, 48
    ),
    T.benefits_phishing: Profile(
        (50, 12), 0.5, (0.1, 2), (1, 2), (0.1, 1), 6000, 1.0, 0, True, False, False, 0, False, 6
    ),
    T.other: Profile((65, 12), 0.45, (2, 72), (1, 3), (6, 48), 3000, 1.3, 2, True, False, False, 0, True, 12),
}
_APP_NAMES: dict[FraudType, tuple[str, ...]] = {
    T.order_brushing: ("任务大厅", "点赞赚", "悬赏猫"),
    T.pig_butchering: ("鑫汇理财", "华泰VIP", "数字资产宝"),
    T.fake_loan: ("速借贷", "微粒金", "快易花"),
    T.sextortion: ("蜜聊", "约爱", "知音"),
    T.online_gambling: ("澳门娱乐", "皇冠体育", "星辉棋牌"),
}
_APP_WORDS = ("licai", "loan", "chat", "task", "game", "vip", "pay", "wallet")
_PATHS = ("login", "verify", "index.html", "app/download", "kefu", "h5/#/home", "reg?code=8821")


@dataclass
class Gang:
    index: int
    gang_id: str
    fraud_type: FraudType
    callers: np.ndarray  # number indices used to talk to victims
    numbers: np.ndarray  # all the gang's numbers
    levels: list[np.ndarray]  # account indices per level: 1..L-1 mules, L cash-out
    urls: list[int] = field(default_factory=list)
    apps: list[int] = field(default_factory=list)
    spam_texts: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    n_domains: int = 0
    #: cash-out account -> its bank's cash ledger (where its ATM withdrawals go)
    cash_ledger: dict[int, int] = field(default_factory=dict)
    #: yuan withdrawn per (cash-out account, China-time day): the card's daily ATM limit applies
    withdrawn: dict[tuple[int, int], float] = field(default_factory=dict)


@dataclass
class Victim:
    person: int
    fraud_type: FraudType
    gang: int
    campaign: str
    first_contact: int
    losses: list[tuple[int, float, int]] = field(default_factory=list)  # (time, amount, payee account)
    numbers: set[int] = field(default_factory=set)
    urls: set[int] = field(default_factory=set)
    apps: set[int] = field(default_factory=set)
    report_time: int | None = None


@dataclass
class FraudPlan:
    gangs: list[Gang]
    victims: list[Victim]
    #: frames of victim-targeted events over the whole window (they are few), by kind
    frames: dict[str, Frame]
    #: fraud transfer refs: (victim index, gang index, hop) by ``ref`` value of the transfer frame
    transfer_refs: list[tuple[int, int, int]]
    #: the gangs' numbers, how much each dials (SIM-boxes most), its gang, and each gang's spam texts
    spam_numbers: np.ndarray
    spam_weight: np.ndarray
    spam_gang: np.ndarray
    spam_texts: np.ndarray


class _Events:
    """Collects the few victim-related events row by row, then turns them into frames."""

    def __init__(self, start_us: int, end_us: int) -> None:
        self.rows: dict[str, list[tuple]] = {k: [] for k in ("call", "sms", "transfer", "url_visit", "app_install")}
        self.start_us, self.end_us = start_us, end_us

    def inside(self, t: int) -> bool:
        return self.start_us <= t < self.end_us

    def add(self, kind: str, t: int, *values: object) -> bool:
        if self.inside(t):
            self.rows[kind].append((t, *values))
            return True
        return False

    def frames(self) -> dict[str, Frame]:
        names = {
            "call": ("time", "caller", "callee", "duration_s", "cell", "device"),
            "sms": ("time", "sender", "receiver", "text"),
            "transfer": ("time", "payer", "payee", "amount", "channel", "ref"),
            "url_visit": ("time", "person", "number", "url"),
            "app_install": ("time", "device", "person", "app"),
        }
        out = {}
        for kind, cols in names.items():
            rows = self.rows[kind]
            out[kind] = {
                c: np.array([r[i] for r in rows], dtype=np.float64 if c == "amount" else np.int64)
                for i, c in enumerate(cols)
            }
        return out


def _type_weights(city: City, profile: Profile) -> np.ndarray:
    mean, spread = profile.age
    w = np.exp(-0.5 * ((city.age - mean) / spread) ** 2)
    return w * np.where(city.male, profile.male, 1 - profile.male)


def _pick(rng: np.random.Generator, weights: np.ndarray, k: int, excluded: np.ndarray) -> np.ndarray:
    w = np.where(excluded, 0.0, weights)
    k = min(k, int((w > 0).sum()))
    chosen = rng.choice(len(w), size=k, replace=False, p=w / w.sum()) if k else np.empty(0, np.int64)
    excluded[chosen] = True
    return chosen


def _domains(rng: np.random.Generator, kind: FraudType, count: int, taken: set[str]) -> list[tuple[str, str]]:
    brands = [(b, stem) for b, stem, kinds in catalog.BRANDS if kind.value in kinds] or [("", "")]
    out: list[tuple[str, str]] = []
    while len(out) < count:
        brand, stem = brands[rng.integers(len(brands))]
        word = catalog.FRAUD_DOMAIN_WORDS[rng.integers(len(catalog.FRAUD_DOMAIN_WORDS))]
        tld = catalog.FRAUD_TLDS[rng.integers(len(catalog.FRAUD_TLDS))]
        shape = rng.integers(3) if stem else 2
        name = (f"{stem}-{word}", f"{word}{stem}", f"{word}{rng.integers(10, 999)}{stem}")[shape]
        domain = f"{name}.{tld}"
        if domain not in taken:
            taken.add(domain)
            out.append((domain, brand))
    return out


def plan_fraud(config: SimConfig, city: City, pools: Pools, rng: np.random.Generator) -> FraudPlan:
    """Build the gangs and their resources, choose the victims and lay out every fraud event in the window."""
    start_us = epoch_us(config.start)
    end_us = start_us + config.days * DAY_US
    scale = config.people / 1_000_000
    excluded = np.zeros(city.n, dtype=bool)  # residents already given a part (mule, victim)
    young = np.exp(-0.5 * ((city.age - 24) / 6) ** 2)
    straw_w = np.where(city.age >= 60, 2.0, 1.0) * np.where(city.district >= 4, 2.0, 1.0)  # elderly, outskirts
    gangs: list[Gang] = []
    openings: list[partial[dict]] = []
    rented_cards: list[tuple[np.ndarray, int, int]] = []  # residents' own cards rented to a gang, by level
    taken_domains: set[str] = set()
    number_gang: dict[int, int] = {}
    kinds = [FraudType(k) for k, share in config.type_shares.items() if share > 0]

    for kind in kinds:
        profile = PROFILES[kind]
        for _ in range(config.gangs_per_type):
            g = len(gangs)
            gang_id = f"G{g + 1:03d}"
            # dealer SIMs: opened in a burst at one or two partner outlets, under straw persons' ids
            n_callers = int(max(3, round(40 * scale * rng.uniform(0.5, 1.5))))
            n_simbox = int(max(4, round(24 * scale))) if profile.simbox else 0
            n_iot = int(max(2, round(10 * scale))) if rng.random() < 0.3 else 0
            straw = rng.choice(city.n, size=n_callers + n_simbox + n_iot, p=straw_w / straw_w.sum())
            phones = add_devices(city.devices, max(1, n_callers // 2), PHONE_TACS)
            telco = rng.choice(3, size=n_callers + n_simbox)
            callers = add_numbers(
                city.numbers,
                telco[:n_callers],
                owner=straw[:n_callers],
                device=phones[np.arange(n_callers) % len(phones)],
                role=1,
                gang=g,
            )
            numbers = [callers]
            if n_simbox:
                box = add_devices(city.devices, 1, SIMBOX_TACS)
                numbers.append(
                    add_numbers(
                        city.numbers,
                        telco[n_callers:],
                        owner=straw[n_callers : n_callers + n_simbox],
                        device=box[0],
                        role=2,
                        gang=g,
                    )
                )
            if n_iot:
                iot_phones = add_devices(city.devices, max(1, n_iot // 3), PHONE_TACS)
                numbers.append(
                    add_numbers(
                        city.numbers,
                        np.zeros(n_iot, dtype=np.int64),
                        iot=True,
                        owner=straw[-n_iot:],
                        device=iot_phones[np.arange(n_iot) % len(iot_phones)],
                        role=3,
                        gang=g,
                    )
                )
            all_numbers = np.concatenate(numbers)
            dealer_district = int(rng.integers(0, len(geography.DISTRICTS)))
            opened = start_us - int(rng.integers(3, 40)) * DAY_US + int(rng.integers(9, 17)) * HOUR_US
            times = opened + np.sort(rng.integers(0, 4 * HOUR_US, len(all_numbers)))
            outlet = 5 + rng.integers(0, N_AGENTS, 2)[rng.integers(0, 2, len(all_numbers))]
            for iot, sel in ((False, slice(0, n_callers + n_simbox)), (True, slice(n_callers + n_simbox, None))):
                if len(all_numbers[sel]):
                    openings.append(
                        partial(
                            sim_openings,
                            city,
                            all_numbers[sel],
                            straw[sel],
                            outlet[sel],
                            np.full(len(all_numbers[sel]), dealer_district),
                            times[sel],
                            iot=iot,
                        )
                    )
            for number in all_numbers:
                number_gang[int(number)] = g
            # mule accounts in laundering levels; a mule often rents out cards at several banks
            depth = int(rng.integers(2, 6))
            sizes = (
                [int(max(2, round(rng.uniform(6, 20) * max(scale, 0.2))))]
                + [int(max(2, round(rng.uniform(3, 10) * max(scale, 0.2)))) for _ in range(depth - 2)]
                + [int(rng.integers(2, 5))]
            )
            levels = []
            for level, size in enumerate(sizes, start=1):
                mules = _pick(rng, young, (size + 1) // 2, excluded)
                owners = mules[np.arange(size) % len(mules)]
                role = ACCOUNT_ROLES.index("cashout" if level == depth else "mule")
                # a mule often rents out the card they have used for years (salary in, shopping out), which
                # hides the laundering among ordinary traffic; cash-out cards are fresh ones
                first_card = np.arange(size) < len(mules)  # a mule's own card can fill one slot only
                rented = (level < depth) & first_card & (rng.random(size) < RENTED_CARD_SHARE)
                fresh = add_accounts(
                    city.accounts,
                    rng.integers(0, len(catalog.BANKS), int((~rented).sum())),
                    owner=owners[~rented],
                    role=role,
                    gang=g,
                    hop=level,
                )
                accounts = np.empty(size, dtype=np.int64)
                accounts[~rented], accounts[rented] = fresh, city.account1[owners[rented]]
                if rented.any():
                    rented_cards.append((accounts[rented], g, level))
                openings.append(
                    partial(
                        account_openings,
                        city,
                        fresh,
                        owners[~rented],
                        start_us
                        - rng.integers(5, 90, len(fresh)) * DAY_US
                        + rng.integers(9 * HOUR_US, 17 * HOUR_US, len(fresh)),
                    )
                )
                levels.append(accounts)
            gang = Gang(
                g, gang_id, kind, callers=np.concatenate(numbers[:1] + numbers[2:]), numbers=all_numbers, levels=levels
            )
            cashout_banks = city.accounts.current("bank")[levels[-1]]
            gang.cash_ledger = {int(a): int(city.cash[b]) for a, b in zip(levels[-1], cashout_banks, strict=True)}
            if profile.link:
                domains = _domains(rng, kind, int(rng.integers(2, 5)), taken_domains)
                gang.n_domains = len(domains)
                for domain, brand in domains:
                    pools.fraud_domains.append((domain, g, kind.value, brand))
                    for path in rng.choice(_PATHS, size=2, replace=False):
                        gang.urls.append(len(pools.urls))
                        pools.urls.append(f"https://{domain}/{path}")
            if profile.app:
                signer = signer_of(f"gang-{gang_id}-{rng.integers(1 << 30)}")
                for name in rng.choice(_APP_NAMES[kind], size=int(rng.integers(1, 3)), replace=False):
                    package = f"com.{_APP_WORDS[rng.integers(len(_APP_WORDS))]}{rng.integers(100, 999)}.app"
                    gang.apps.append(len(pools.apps))
                    pools.apps.append((package, str(name), signer, "fraud_app", g))
            gang.spam_texts = pools.add_texts(
                [
                    texts.fraud_text(kind, pools.urls[gang.urls[i % len(gang.urls)]] if gang.urls else "", rng)
                    for i in range(6)
                ]
            )
            gangs.append(gang)

    for registry in (city.numbers, city.accounts, city.devices):
        registry.freeze()
    for cards, g, level in rented_cards:
        city.accounts["role"][cards] = ACCOUNT_ROLES.index("mule")
        city.accounts["gang"][cards] = g
        city.accounts["hop"][cards] = level
    # openings are written once the registries are frozen: building them earlier re-joins growing columns
    for opening in openings:
        columns = opening()
        (city.account_openings if "account" in columns else city.sim_openings).append(columns)
    events = _Events(start_us, end_us)
    victims: list[Victim] = []
    refs: list[tuple[int, int, int]] = []
    # a resident falls victim once in the window, and the gangs' straw persons and mules are no victims: a rate the
    # residents left cannot meet is refused, not met with fewer victims, all of the first types drawn
    free = int((~excluded).sum())
    asked = config.people * config.days * config.victims_per_10k_day / 10_000
    if asked > free:
        most = math.floor(free * 10_000 / (config.people * config.days) * 10) / 10
        raise InputError(Reason(
            "victims_per_10k_day：这座城市{days}天至多容得下每万人每天{most:g}名受害人（收到{got:g}，约{asked:,.0f}名）："
            "每位居民至多受骗一次，{people:,}名居民中只有{free:,}名不是团伙的人头或跑分人",
            days=config.days, most=most, got=config.victims_per_10k_day, asked=asked, people=config.people, free=free))
    total = min(int(rng.poisson(asked)), free)  # a draw above its mean by chance is held at what the city holds
    shares = np.array([config.type_shares[k] for k in kinds], dtype=float)
    counts = rng.multinomial(total, shares / shares.sum())
    remote_apps = [i for i, a in enumerate(pools.apps) if a[3] == "remote_control"]
    for kind, count in zip(kinds, counts, strict=True):
        kind_gangs = [g for g in gangs if g.fraud_type == kind]
        for person in _pick(rng, _type_weights(city, PROFILES[kind]), int(count), excluded):
            gang = kind_gangs[int(rng.integers(len(kind_gangs)))]
            victim = _victim_story(
                rng,
                city,
                gang,
                int(person),
                start_us,
                end_us,
                events,
                refs,
                len(victims),
                remote_apps,
                pools,
                config.report_share,
            )
            victims.append(victim)

    for victim in victims:
        paid = [city.account1[victim.person]] if victim.losses else []
        city.accounts["role"][paid] = ACCOUNT_ROLES.index("victim")
        city.accounts["hop"][paid] = 0
    spam_numbers = np.array(sorted(number_gang), dtype=np.int64)
    return FraudPlan(
        gangs,
        victims,
        events.frames(),
        refs,
        spam_numbers,
        spam_weight=np.array([1.0, 1.0, 3.0, 2.0])[city.numbers["role"][spam_numbers]],
        spam_gang=np.array([number_gang[int(x)] for x in spam_numbers], dtype=np.int64),
        spam_texts=np.stack([g.spam_texts for g in gangs]) if gangs else np.empty((0, 0), np.int64),
    )


def _victim_story(
    rng: np.random.Generator,
    city: City,
    gang: Gang,
    person: int,
    start_us: int,
    end_us: int,
    ev: _Events,
    refs: list[tuple[int, int, int]],
    v: int,
    remote_apps: list[int],
    pools: Pools,
    report_share: float,
) -> Victim:
    """One victim's timeline: contact, grooming, losses, laundering of each loss, and maybe a report."""
    p = PROFILES[gang.fraud_type]
    first_loss = (
        start_us + int(rng.integers(0, (end_us - start_us) // DAY_US)) * DAY_US + int(rng.uniform(8, 22) * HOUR_US)
    )
    lag = int(rng.uniform(*p.lag_h) * HOUR_US)
    t0 = first_loss - lag
    victim = Victim(person, gang.fraud_type, gang.index, f"{gang.gang_id}-C{(t0 // (7 * DAY_US)) % 1000:03d}", t0)
    handler = int(gang.callers[rng.integers(len(gang.callers))])
    my_number = int(city.sim1[person])
    device = int(city.device[person])
    cell = int(city.station[person]) * CELLS_PER_STATION + int(rng.integers(CELLS_PER_STATION))

    def call(t: int, seconds: float, back: bool = False) -> None:
        numbers = (my_number, handler) if back else (handler, my_number)
        dev = device if back else int(city.numbers["device"][handler])
        where = cell if back else int(gang_cell(city, np.array([handler]))[0])
        if ev.add("call", t, numbers[0], numbers[1], int(seconds), where, dev):
            victim.numbers.add(handler)

    if p.link:
        sender = int(gang.numbers[rng.integers(len(gang.numbers))])
        url = gang.urls[int(rng.integers(len(gang.urls)))]
        text = pools.add_texts([texts.fraud_text(gang.fraud_type, pools.urls[url], rng)])[0]
        if ev.add("sms", t0, sender, my_number, int(text)):
            victim.numbers.add(sender)
        t_visit = t0 + int(rng.uniform(1, 30) * MINUTE_US)
        if ev.add("url_visit", t_visit, person, my_number, url):
            victim.urls.add(url)
        if p.app and gang.apps:
            app = gang.apps[int(rng.integers(len(gang.apps)))]
            if ev.add("app_install", t_visit + int(rng.uniform(2, 20) * MINUTE_US), device, person, app):
                victim.apps.add(app)
    if p.calls or not p.link:
        call(t0 + (int(rng.uniform(5, 60) * MINUTE_US) if p.link else 0), rng.lognormal(np.log(600), 0.6))
    for _ in range(max(0, p.calls - 1)):
        t = t0 + int(rng.uniform(0.1, 0.95) * lag)
        call(t, rng.lognormal(np.log(400), 0.7), back=bool(rng.random() < 0.3))
    if p.remote and remote_apps:
        app = remote_apps[int(rng.integers(len(remote_apps)))]
        if ev.add("app_install", first_loss - int(rng.uniform(5, 25) * MINUTE_US), device, person, app):
            victim.apps.add(app)
    my_account = int(city.account1[person])
    level1 = gang.levels[0]
    for _ in range(p.wins):
        t = t0 + int(rng.uniform(0.2, 0.8) * lag)
        ev.add(
            "transfer",
            t,
            int(level1[rng.integers(len(level1))]),
            my_account,
            round(float(rng.uniform(10, 200)), 2),
            0,
            -1,
        )

    t, amount = first_loss, p.amount * rng.lognormal(0, 0.5)
    for i in range(int(rng.integers(p.losses[0], p.losses[1] + 1))):
        if i:
            t += int(rng.uniform(*p.gap_h) * HOUR_US)
            amount *= p.growth * rng.lognormal(0, 0.2)
        if t >= end_us:
            break
        value = max(round(float(amount), 2), 1.0)
        payee = int(level1[rng.integers(len(level1))])
        if p.link and rng.random() < 0.7:
            url = gang.urls[int(rng.integers(len(gang.urls)))]
            if ev.add("url_visit", t - int(rng.uniform(1, 10) * MINUTE_US), person, my_number, url):
                victim.urls.add(url)
        _fraud_transfer(ev, refs, (v, gang.index, 0), t, my_account, payee, value, 0 if rng.random() < 0.8 else 1)
        victim.losses.append((t, value, payee))
        _launder(rng, ev, refs, v, gang, payee, value, t, level=1)
    if victim.losses and rng.random() < report_share:
        report = victim.losses[-1][0] + int(rng.lognormal(np.log(p.report_delay_h), 0.7) * HOUR_US)
        if report < end_us:
            victim.report_time = report
    return victim


def _fraud_transfer(ev: _Events, refs: list[tuple[int, int, int]], ref: tuple[int, int, int], t: int, payer: int,
                    payee: int, value: float, channel: int) -> None:
    """A transfer of the fraud's money, tied to its (victim, gang, hop level) record for the truth tables."""
    refs.append(ref)
    ev.add("transfer", t, payer, payee, value, channel, len(refs) - 1)


def _launder(
    rng: np.random.Generator,
    ev: _Events,
    refs: list[tuple[int, int, int]],
    v: int,
    gang: Gang,
    account: int,
    amount: float,
    t: int,
    level: int,
) -> None:
    """Move ``amount`` on from ``account`` (at ``level``): split, merge into shared accounts, end at cash-out."""
    if level >= len(gang.levels):
        _cash_out(rng, ev, refs, v, gang, account, amount, t, level)
        return
    pieces = 1 if amount < 3000 else int(rng.integers(1, 4))
    shares = rng.dirichlet(np.ones(pieces)) if pieces > 1 else np.ones(1)
    kept = amount * (1 - rng.uniform(0.005, 0.02))  # the runner's commission
    targets = gang.levels[level]
    for share in shares:
        value = round(float(kept * share), 2)
        if value < 0.01:
            continue
        when = t + int(rng.lognormal(np.log(20), 0.8) * MINUTE_US)
        target = int(targets[rng.integers(len(targets))])
        _fraud_transfer(ev, refs, (v, gang.index, level), when, account, target, value,
                        1 if rng.random() < 0.5 else 5)
        _launder(rng, ev, refs, v, gang, target, value, when, level + 1)


#: usual limits of a debit card at an ATM: per withdrawal and per day (yuan)
ATM_MAX_WITHDRAWAL = 5_000
ATM_DAILY_LIMIT = 20_000
_CST_US = 8 * HOUR_US


def _cash_out(
    rng: np.random.Generator,
    ev: _Events,
    refs: list[tuple[int, int, int]],
    v: int,
    gang: Gang,
    account: int,
    amount: float,
    t: int,
    level: int,
) -> None:
    """The runner empties the cash-out card at ATMs, which sets the clock of a freeze.

    Withdrawals start within the hour or so after the money lands, a few minutes apart, at most
    ``ATM_MAX_WITHDRAWAL`` each and ``ATM_DAILY_LIMIT`` a card a day; what the day's limit leaves waits for
    the next morning, and less than 100 yuan stays on the card.
    """
    ledger = gang.cash_ledger[account]
    left = amount
    when = t + int(rng.lognormal(np.log(40), 0.7) * MINUTE_US)
    while left >= 100:
        day = (when + _CST_US) // DAY_US
        room = ATM_DAILY_LIMIT - gang.withdrawn.get((account, day), 0.0)
        if room < 100:  # the card's limit is spent for today: next morning, 8:00-11:00 China time
            when = (day + 1) * DAY_US - _CST_US + int(rng.uniform(8, 11) * HOUR_US)
            continue
        value = float(min(ATM_MAX_WITHDRAWAL, room, left) // 100 * 100)
        gang.withdrawn[(account, day)] = gang.withdrawn.get((account, day), 0.0) + value
        left -= value
        _fraud_transfer(ev, refs, (v, gang.index, level), when, account, ledger, value, 3)
        when += int(rng.uniform(1, 4) * MINUTE_US)


def gang_cell(city: City, numbers: np.ndarray) -> np.ndarray:
    """The cell a gang number's calls are placed from: one fixed site per number (the SIM-box or the phone in
    the gang's rented flat sits in one place), spread over the city."""
    cells = (int(city.station.max()) + 1) * CELLS_PER_STATION
    return (np.asarray(numbers, dtype=np.int64) * 7919 + 17) % cells


def spam(plan: FraudPlan, config: SimConfig, city: City, rng: np.random.Generator, day_us: int) -> dict[str, Frame]:
    """The gangs' mass dialling and spam SMS of one day, with the few call-backs they get."""
    if not len(plan.spam_numbers):
        return {}
    cdf = np.cumsum(plan.spam_weight)
    cdf /= cdf[-1]
    n = int(rng.poisson(city.n * config.stray_calls_per_person_day))
    number = plan.spam_numbers[np.searchsorted(cdf, rng.random(n))]
    # each number dials in a burst: a start hour of its own today, calls spread over about an hour
    burst = day_us + (9 + (number * 7 + day_us // DAY_US) % 11) * HOUR_US
    t = burst + rng.exponential(40 * MINUTE_US, n).astype(np.int64)
    callee_person = rng.integers(0, city.n, n)
    answered = rng.random(n) > 0.45
    duration = np.where(answered, np.clip(rng.lognormal(np.log(20), 0.8, n), 1, 600), 0).astype(np.int64)
    device = city.numbers["device"][number]
    calls = {
        "time": t,
        "caller": number,
        "callee": city.sim1[callee_person],
        "duration_s": duration,
        "cell": gang_cell(city, number),
        "device": device,
    }
    back = np.flatnonzero(answered & (rng.random(n) < config.callback_share))
    callbacks = {
        "time": t[back] + rng.integers(MINUTE_US, 120 * MINUTE_US, len(back)),
        "caller": city.sim1[callee_person[back]],
        "callee": number[back],
        "duration_s": rng.integers(0, 60, len(back)),
        "cell": city.station[callee_person[back]].astype(np.int64) * CELLS_PER_STATION,
        "device": city.device[callee_person[back]],
    }
    m = int(rng.poisson(city.n * config.spam_sms_per_person_day))
    which = rng.integers(0, len(plan.spam_numbers), m)
    sender = plan.spam_numbers[which]
    text = plan.spam_texts[plan.spam_gang[which], rng.integers(0, plan.spam_texts.shape[1], m)]
    hour = rng.uniform(9, 21, m)
    sms = {
        "time": day_us + (hour * HOUR_US).astype(np.int64),
        "sender": sender,
        "receiver": city.sim1[rng.integers(0, city.n, m)],
        "text": text,
    }
    return {"call": concat([calls, callbacks]), "sms": sms}
