"""Residents of the simulated city and what identifies them: SIMs, devices, bank accounts, social circles.

Everything is built as whole-population numpy arrays (one draw per attribute), never per person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from aegis.simulate import catalog, geography
from aegis.simulate.config import SimConfig
from aegis.simulate.registry import (
    DAY_US,
    Registry,
    digits_to_string,
    distinct_within,
    epoch_us,
    id_numbers,
    luhn_strings,
    scramble,
    take,
)

OCCUPATIONS = tuple(name for name, _ in catalog.OCCUPATIONS)
_WORKING = ("企业职员", "工人", "教师", "医护人员", "公务员", "外卖骑手")
NUMBER_ROLES = ("normal", "fraud_caller", "simbox", "iot")
#: "cash" is a bank's cash ledger: an ATM withdrawal is a transfer (channel atm) from the card into it
ACCOUNT_ROLES = ("normal", "victim", "mule", "cashout", "merchant", "cash")
BANK_NAMES = pa.array([b for b, _, _ in catalog.BANKS])
TELCO_NAMES = pa.array([t for t, _, _ in catalog.TELCOS])
_MNC = (0, 1, 11)
#: type allocation codes of common handset models, and of GSM gateways (SIM-boxes)
PHONE_TACS = np.array(
    [
        35332509,
        35391110,
        86891204,
        86753603,
        35209810,
        86012345,
        35467811,
        86400104,
        35875905,
        86152003,
        86978904,
        35696710,
    ],
    dtype=np.int64,
)
SIMBOX_TACS = np.array([86321701, 35888406], dtype=np.int64)


@dataclass
class City:
    """The population and its identifiers; events refer to these by integer index."""

    n: int
    age: np.ndarray
    male: np.ndarray
    occupation: np.ndarray
    district: np.ndarray
    station: np.ndarray
    person_id: pa.Array
    sim1: np.ndarray
    sim2: np.ndarray
    device: np.ndarray
    account1: np.ndarray
    employer: np.ndarray
    salary: np.ndarray
    contacts: np.ndarray
    activity: np.ndarray
    merchants: np.ndarray
    merchant_weight: np.ndarray
    #: each bank's cash ledger account, by bank index (ATM withdrawals go there)
    cash: np.ndarray
    services: np.ndarray
    numbers: Registry
    accounts: Registry
    devices: Registry
    #: Arrow columns of the registry events (openings), written once before the days
    person_columns: dict[str, pa.Array]
    sim_openings: list[dict[str, pa.Array]] = field(default_factory=list)
    account_openings: list[dict[str, pa.Array]] = field(default_factory=list)


def _ages(rng: np.random.Generator, n: int) -> np.ndarray:
    # residents old enough to hold a phone, shaped like a young, growing city
    bins = np.array([14, 18, 25, 35, 45, 55, 65, 75, 91])
    weights = np.array([0.05, 0.12, 0.22, 0.19, 0.15, 0.12, 0.09, 0.06])
    b = rng.choice(len(weights), size=n, p=weights / weights.sum())
    return rng.integers(bins[b], bins[b + 1]).astype(np.int16)


def _occupations(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    shares = np.array([s for _, s in catalog.OCCUPATIONS])
    working = shares.copy()
    working[[OCCUPATIONS.index("学生"), OCCUPATIONS.index("退休人员")]] = 0
    occupation = rng.choice(len(shares), size=len(age), p=working / working.sum())
    student = (age < 23) & (rng.random(len(age)) < np.where(age < 19, 0.97, 0.6))
    retired = (age >= 60) & (rng.random(len(age)) < 0.85)
    occupation[student] = OCCUPATIONS.index("学生")
    occupation[retired] = OCCUPATIONS.index("退休人员")
    return occupation.astype(np.int8)


def add_numbers(numbers: Registry, telco: np.ndarray, iot: bool = False, **columns: object) -> np.ndarray:
    """Numbers of the given telcos, with IMSIs, unique by construction; returns their registry indices.

    IoT cards get 13-digit "1440" numbers, phones 11-digit numbers with their telco's prefixes.
    """
    idx = np.arange(numbers.size, numbers.size + len(telco))
    if iot:
        values = 1440 * 10**9 + scramble(idx, 10**9)
    else:
        prefixes = [np.array(p, dtype=np.int64) for _, p, _ in catalog.TELCOS]
        prefix = np.empty(len(telco), dtype=np.int64)
        for t, pfx in enumerate(prefixes):
            sel = telco == t
            prefix[sel] = pfx[idx[sel] * 31 % len(pfx)]
        values = prefix * 10**8 + scramble(idx, 10**8)
    imsi = np.array([46000 + m for m in _MNC])[telco] * 10**10 + scramble(idx, 10**10)
    return numbers.add(
        len(telco), number=digits_to_string(values), imsi=digits_to_string(imsi), value=values, telco=telco, **columns
    )


def add_devices(devices: Registry, count: int, tacs: np.ndarray) -> np.ndarray:
    idx = np.arange(devices.size, devices.size + count, dtype=np.int64)
    body = tacs[idx % len(tacs)] * 10**6 + scramble(idx // len(tacs), 10**6)
    return devices.add(count, imei=luhn_strings(body, 14))


def add_accounts(accounts: Registry, bank: np.ndarray, **columns: object) -> np.ndarray:
    bins = np.array([int(b) for _, b, _ in catalog.BANKS], dtype=np.int64)
    # 19 digits: the BIN, 12 of the card and the Luhn check digit a real card carries last
    body = bins[bank] * 10**12 + scramble(np.arange(accounts.size, accounts.size + len(bank)), 10**12)
    account = luhn_strings(body, 18)
    values = pc.cast(account, pa.int64()).to_numpy()
    return accounts.add(len(bank), account=account, value=values, bank=bank, **columns)


def _names(rng: np.random.Generator, n: int) -> pa.Array:
    surnames = pa.array(list(catalog.SURNAMES))
    given = pa.array(list(catalog.GIVEN_CHARS))
    first = take(given, rng.integers(0, len(given), n))
    second = take(given, np.where(rng.random(n) < 0.7, rng.integers(0, len(given), n), -1))
    second = pc.fill_null(second, "")
    return pc.binary_join_element_wise(take(surnames, rng.integers(0, len(surnames), n)), first, second, "")


def opening_times(rng: np.random.Generator, start_us: int, count: int, max_days: float, min_days: float = 0):
    """Times ``min_days``..``max_days`` before the start, during opening hours (9:00-18:00 local)."""
    days_back = rng.integers(int(min_days) + 1, int(max_days) + 2, size=count)
    return start_us - days_back * DAY_US + rng.integers(9 * 3600, 18 * 3600, size=count) * 1_000_000


def build_city(config: SimConfig, rng: np.random.Generator) -> City:
    n = config.people
    start_us = epoch_us(config.start)
    age = _ages(rng, n)
    male = rng.random(n) < 0.51
    occupation = _occupations(rng, age)
    pop = np.array([d.population for d in geography.DISTRICTS], dtype=float)
    district = rng.choice(len(pop), size=n, p=pop / pop.sum()).astype(np.int8)
    first_station = np.cumsum([0] + [len(d.stations) for d in geography.DISTRICTS])
    n_stations = np.diff(first_station)
    station = (first_station[district] + (rng.random(n) * n_stations[district]).astype(int)).astype(np.int16)

    person_id = pc.binary_join_element_wise("P", pc.utf8_lpad(digits_to_string(np.arange(n)), 7, "0"), "")
    codes = np.array([int(d.code) for d in geography.DISTRICTS])
    birth_year = config.start.year - age.astype(np.int64) - (rng.random(n) < 0.5)
    birth = birth_year * 10_000 + rng.integers(1, 13, n) * 100 + rng.integers(1, 29, n)
    # 500 sequences per district, birth date and sex (the last digit is odd for men), each held by one resident
    drawn = rng.integers(0, 500, n)
    sequence = distinct_within((codes[district] * 10**8 + birth) * 2 + male, drawn, 500) * 2 + male
    districts = pa.array([d.name for d in geography.DISTRICTS])
    stations = pa.array([s for _, s in geography.STATIONS])
    person_columns = {
        "person_id": person_id,
        "id_number": id_numbers(codes[district], birth, sequence),
        "name": _names(rng, n),
        "age": pa.array(age.astype(np.int64)),
        "gender": pa.array(np.where(male, "M", "F")),
        "occupation": take(pa.array(OCCUPATIONS), occupation),
        "city": pa.array([geography.CITY] * n),
        "district": take(districts, district),
        "station": take(stations, station),
    }

    numbers = Registry(("number", "imsi"), ("value", "telco", "owner", "device", "role", "gang"))
    devices = Registry(("imei",), ())
    accounts = Registry(("account",), ("value", "bank", "owner", "role", "gang", "hop"))
    telco_p = np.array([s for _, _, s in catalog.TELCOS])

    device = add_devices(devices, n, PHONE_TACS)
    has2 = np.flatnonzero(rng.random(n) < config.second_sim_share)
    owners = np.concatenate([np.arange(n), has2])
    sims = add_numbers(numbers, rng.choice(3, size=len(owners), p=telco_p), owner=owners, device=device[owners], role=0)
    sim1, sim2 = sims[:n], np.full(n, -1, dtype=np.int64)
    sim2[has2] = sims[n:]
    services = numbers.add(len(catalog.SERVICE_NUMBERS), number=pa.array(catalog.SERVICE_NUMBERS), role=0)

    # social circles: mostly the same district, drawn for everyone at once
    k = config.contacts_per_person
    order = np.argsort(district, kind="stable")
    starts = np.searchsorted(district[order], np.arange(len(pop)))
    sizes = np.bincount(district, minlength=len(pop))
    own = np.repeat(district, k).reshape(n, k)
    local = order[np.minimum(starts[own] + (rng.random((n, k)) * sizes[own]).astype(np.int64), n - 1)]
    contacts = np.where(rng.random((n, k)) < 0.7, local, rng.integers(0, n, size=(n, k)))
    self_loop = contacts == np.arange(n)[:, None]
    contacts[self_loop] = (contacts[self_loop] + 1) % n
    activity = rng.lognormal(0, 0.6, n) * np.where(age >= 65, 0.6, 1.0)

    bank_p = np.array([s for _, _, s in catalog.BANKS])
    n_acc = rng.choice([1, 2, 3], size=n, p=[0.45, 0.4, 0.15])
    acc_owner = np.repeat(np.arange(n), n_acc)
    acc = add_accounts(
        accounts, rng.choice(len(bank_p), size=len(acc_owner), p=bank_p / bank_p.sum()), owner=acc_owner, role=0
    )
    account1 = acc[np.concatenate([[0], np.cumsum(n_acc)[:-1]])]

    # shopkeepers hold a merchant account; employers pay the working residents
    shopkeepers = np.flatnonzero(occupation == OCCUPATIONS.index("个体户"))
    merchants = add_accounts(
        accounts,
        rng.choice(len(bank_p), size=len(shopkeepers), p=bank_p / bank_p.sum()),
        owner=shopkeepers,
        role=ACCOUNT_ROLES.index("merchant"),
    )
    merchant_weight = rng.pareto(1.2, len(merchants)) + 1
    working = np.isin(occupation, [OCCUPATIONS.index(o) for o in _WORKING])
    employer = np.where(
        working, merchants[rng.choice(len(merchants), size=n, p=merchant_weight / merchant_weight.sum())], -1
    )
    salary = np.round(rng.lognormal(np.log(7000), 0.45, n), -1)
    cash = add_accounts(accounts, np.arange(len(catalog.BANKS)), role=ACCOUNT_ROLES.index("cash"))

    city = City(
        n=n,
        age=age,
        male=male,
        occupation=occupation,
        district=district,
        station=station,
        person_id=person_id,
        sim1=sim1,
        sim2=sim2,
        device=device,
        account1=account1,
        employer=employer,
        salary=salary,
        contacts=contacts,
        activity=activity / activity.sum(),
        merchants=merchants,
        merchant_weight=merchant_weight / merchant_weight.sum(),
        cash=cash,
        services=services,
        numbers=numbers,
        accounts=accounts,
        devices=devices,
        person_columns=person_columns,
    )
    outlet = np.where(
        rng.random(len(sims)) < 0.5, rng.integers(0, 5, len(sims)), rng.integers(5, 5 + N_AGENTS, len(sims))
    )
    city.sim_openings.append(
        sim_openings(
            city, sims, owners, outlet, district[owners], opening_times(rng, start_us, len(sims), 3650), iot=False
        )
    )
    holders = np.concatenate([acc, merchants])
    city.account_openings.append(
        account_openings(
            city, holders, np.concatenate([acc_owner, shopkeepers]), opening_times(rng, start_us, len(holders), 3650)
        )
    )
    return city


_DISTRICT_NAMES = pa.array([d.name for d in geography.DISTRICTS])
_LOCATIONS = pa.array([geography.CITY + d.name for d in geography.DISTRICTS])
_BRANCHES = pa.array([f"厦门{d.name}支行" for d in geography.DISTRICTS])
#: outlets selling SIMs in each district: 5 telco halls (codes 0-4), then partner agents (codes 5-)
N_AGENTS = 200
_OUTLETS = pa.array([f"营业厅{k}" for k in range(1, 6)] + [f"合作代理点{k:03d}" for k in range(1, N_AGENTS + 1)])


def sim_openings(
    city: City,
    sims: np.ndarray,
    owners: np.ndarray,
    outlet: np.ndarray,
    district: np.ndarray,
    times: np.ndarray,
    iot: bool,
) -> dict[str, pa.Array]:
    """SIM sales: which outlet (telco hall or partner agent, by code) sold which number to whom, when."""
    telco_of = city.numbers.current("telco")[sims]
    return {
        "person_id": take(city.person_id, owners),
        "number": city.numbers.current("number").take(pa.array(sims)),
        "imsi": city.numbers.current("imsi").take(pa.array(sims)),
        "institution": take(TELCO_NAMES, telco_of),
        "agent": pc.binary_join_element_wise(
            take(TELCO_NAMES, telco_of), take(_DISTRICT_NAMES, district), take(_OUTLETS, outlet), ""
        ),
        "time": pa.array(times, pa.int64()),
        "location": take(_LOCATIONS, district),
        "iot": pa.array(np.full(len(sims), iot)),
    }


def account_openings(city: City, accounts: np.ndarray, owners: np.ndarray, times: np.ndarray) -> dict[str, pa.Array]:
    district = city.district[owners]
    return {
        "person_id": take(city.person_id, owners),
        "account": city.accounts.current("account").take(pa.array(accounts)),
        "institution": take(BANK_NAMES, city.accounts.current("bank")[accounts]),
        "branch": take(_BRANCHES, district),
        "time": pa.array(times, pa.int64()),
        "location": take(_LOCATIONS, district),
    }
