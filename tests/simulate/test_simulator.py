"""Behaviour of the city simulator on a small city: the file contract, the statistics and the ground truth."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from aegis.events.models import CHINA_TZ, EVENT_TYPES, FraudType
from aegis.simulate import SimConfig, geography, simulate
from aegis.simulate.fraud import PROFILES
from aegis.simulate.output import SCHEMAS

CONFIG = SimConfig(people=20_000, days=10, seed=11, victims_per_10k_day=20.0)
TRUTH = ("numbers", "accounts", "domains", "apps", "victims", "fraud_transfers", "gangs")


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("city")
    seen: list[tuple[str, int, int]] = []
    manifest = simulate(CONFIG, out, lambda stage, done, total: seen.append((stage, done, total)))
    assert ("day", CONFIG.days, CONFIG.days) in seen
    return out, manifest


def events(out: Path, kind: str) -> pd.DataFrame:
    return pq.read_table(out / "events" / f"{kind}.parquet").to_pandas()


def truth(out: Path, name: str) -> pd.DataFrame:
    return pq.read_table(out / "truth" / f"{name}.parquet").to_pandas()


def test_files_follow_the_event_models(city: tuple[Path, dict]) -> None:
    out, manifest = city
    for kind, model in EVENT_TYPES.items():
        table = pq.read_table(out / "events" / f"{kind}.parquet")
        assert table.schema.names == list(model.model_fields), kind
        assert table.schema == SCHEMAS[kind]
        assert manifest["rows"][kind] == table.num_rows > 0, kind
        ids = table.column("event_id").to_pylist()
        assert len(set(ids)) == len(ids), f"{kind}: event ids repeat"
        rng = np.random.default_rng(0)
        rows = table.take(rng.choice(table.num_rows, size=min(300, table.num_rows), replace=False)).to_pylist()
        for row in rows:
            record = model.model_validate(row)
            assert record.event_id == row["event_id"]
    for name in TRUTH:
        assert (out / "truth" / f"{name}.parquet").exists()
    assert manifest["seed"] == CONFIG.seed and manifest["config"]["people"] == CONFIG.people


def test_ordinary_volumes_match_the_config(city: tuple[Path, dict]) -> None:
    out, manifest = city
    per_day = CONFIG.people * CONFIG.days
    assert manifest["rows"]["call"] / per_day == pytest.approx(CONFIG.calls_per_person_day, rel=0.05)
    assert manifest["rows"]["sms"] / per_day == pytest.approx(CONFIG.sms_per_person_day, rel=0.05)
    assert manifest["rows"]["url_visit"] / per_day == pytest.approx(CONFIG.visits_per_person_day, rel=0.05)
    people = events(out, "person")
    assert people["id_number"].str.fullmatch(r"35\d{15}[\dX]").all()
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    digits = np.array([list(map(int, s[:17])) for s in people["id_number"]])
    check = np.array(list("10X98765432"))[(digits @ weights) % 11]
    assert (check == people["id_number"].str[17].to_numpy()).all()
    # one id number, one resident (two born the same day in one district drew the same sequence now and then)
    assert people["id_number"].is_unique
    assert ((digits[:, 16] % 2 == 1) == (people["gender"] == "M").to_numpy()).all()
    assert set(people["station"]) <= {s for _, s in geography.STATIONS}
    assert people["district"].nunique() == 6


def _luhn_valid(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    doubled = [d * 2 - 9 if d * 2 > 9 else d * 2 for d in digits[1::2]]
    return (sum(digits[0::2]) + sum(doubled)) % 10 == 0


def test_bank_card_numbers_carry_their_luhn_check_digit(city: tuple[Path, dict]) -> None:
    """Nine in ten simulated cards failed the Luhn check a real UnionPay card passes: they carried no check digit."""
    out, _ = city
    accounts = truth(out, "accounts")["account"]
    assert accounts.str.fullmatch(r"62\d{17}").all() and accounts.is_unique
    assert all(map(_luhn_valid, accounts)) and not _luhn_valid("6222020000000000013")
    opened = events(out, "account_opening")["account"]
    assert set(opened) <= set(accounts)


def test_values_drawn_twice_in_a_group_are_moved_to_free_ones() -> None:
    from aegis.simulate.registry import distinct_within

    group = np.array([0, 0, 0, 1, 1, 0, 2, 2, 2])
    drawn = np.array([3, 3, 1, 3, 3, 4, 4, 4, 3])
    # in a range of 6, group 0's 3, 3, 1, 4 become 3, 4, 1, 5 (a 3 moves on to 4, the 4 to 5); in a range of 5 a
    # group that would run past the top is packed at the top; a group that drew no value twice keeps its values
    assert distinct_within(group, drawn, 6).tolist() == [3, 4, 1, 3, 4, 5, 4, 5, 3]
    assert distinct_within(group, drawn, 5).tolist() == [2, 3, 1, 3, 4, 4, 3, 4, 2]
    with pytest.raises(ValueError, match="room"):
        distinct_within(np.zeros(3, int), np.zeros(3, int), 2)


def test_calls_have_a_daily_rhythm_and_social_circles(city: tuple[Path, dict]) -> None:
    out, _ = city
    calls = events(out, "call")
    hour = calls["start"].dt.tz_convert(CHINA_TZ).dt.hour
    assert (hour.between(2, 4)).sum() * 10 < (hour.between(18, 20)).sum()
    ordinary = calls[calls["caller"].str.len() == 11]
    per_caller = ordinary.groupby("caller")["callee"]
    busy = per_caller.size()[lambda s: s >= 20].index
    top = (
        ordinary[ordinary["caller"].isin(busy)]
        .groupby("caller")["callee"]
        .agg(lambda s: s.value_counts().head(CONFIG.contacts_per_person).sum() / len(s))
    )
    assert top.median() > 0.7


def test_fraud_shares_per_type(city: tuple[Path, dict]) -> None:
    out, _ = city
    victims = truth(out, "victims")
    expected_total = CONFIG.people * CONFIG.days * CONFIG.victims_per_10k_day / 10_000
    assert abs(len(victims) - expected_total) < 5 * np.sqrt(expected_total)
    shares = victims["fraud_type"].value_counts(normalize=True)
    total = sum(CONFIG.type_shares.values())
    for kind, share in CONFIG.type_shares.items():
        p = share / total
        assert abs(shares.get(str(kind), 0.0) - p) < 4.5 * np.sqrt(p * (1 - p) / len(victims)) + 0.005, kind
    assert set(victims["fraud_type"]) == {k.value for k in FraudType}


def test_victim_timelines_follow_their_type(city: tuple[Path, dict]) -> None:
    out, _ = city
    victims = truth(out, "victims")
    assert (victims["first_contact_time"] < victims["first_loss_time"]).all()
    lag_h = (victims["first_loss_time"] - victims["first_contact_time"]).dt.total_seconds() / 3600
    for kind, profile in PROFILES.items():
        lags = lag_h[victims["fraud_type"] == kind.value]
        assert lags.between(profile.lag_h[0] - 1e-6, profile.lag_h[1] + 1e-6).all(), kind
    assert lag_h[victims["fraud_type"] == "impersonate_police"].max() <= 6
    assert lag_h[victims["fraud_type"] == "order_brushing"].between(24, 120).all()
    assert lag_h[victims["fraud_type"] == "pig_butchering"].min() >= 14 * 24
    # elderly for impersonated police, young for game trading
    people = events(out, "person").set_index("person_id")["age"]
    age = victims["person_id"].map(people)
    assert age[victims["fraud_type"] == "impersonate_police"].mean() > 50
    assert age[victims["fraud_type"] == "fake_game_trading"].mean() < 28


def test_victims_are_contacted_before_they_lose_money(city: tuple[Path, dict]) -> None:
    out, _ = city
    victims = truth(out, "victims")
    numbers = truth(out, "numbers")
    fraud_numbers = set(numbers.loc[numbers["is_fraud"], "number"])
    calls, sms = events(out, "call"), events(out, "sms")
    mine = numbers.dropna(subset=["person_id"]).query("not is_fraud").groupby("person_id")["number"].agg(set)
    contacted = set(calls.loc[calls["caller"].isin(fraud_numbers), "callee"]) | set(
        sms.loc[sms["sender"].isin(fraud_numbers), "receiver"]
    )
    # a recent victim (contact inside the window) heard from the gang; many non-victims did too
    recent = victims[victims["first_contact_time"] > pd.Timestamp(CONFIG.start, tz=CHINA_TZ)]
    reached = recent["person_id"].map(lambda p: bool(mine[p] & contacted))
    assert reached.mean() > 0.95
    victim_numbers = set().union(*victims["person_id"].map(mine))
    assert len(contacted - victim_numbers) > 3 * len(victims)  # hard negatives (victims are 20x here)


def test_laundering_chains(city: tuple[Path, dict]) -> None:
    out, _ = city
    flows = truth(out, "fraud_transfers").merge(events(out, "transfer"), on="event_id")
    flows = flows[flows["channel"] != "atm"]  # the laundering hops; withdrawals: test_cash_out_at_atms
    accounts = truth(out, "accounts").set_index("account")
    victims = truth(out, "victims").set_index("person_id")
    depth = flows.groupby("gang_id")["hop"].max() + 1
    assert depth.between(2, 5).all() and depth.nunique() > 1
    first = flows[flows["hop"] == 0]
    assert (accounts.loc[first["payee_account"], "hop_level"].to_numpy() == 1).all()
    assert (accounts.loc[first["payer_account"], "role"] == "victim").all()
    assert (accounts.loc[first["payee_account"], "gang_id"].to_numpy() == first["gang_id"].to_numpy()).all()
    later = flows[flows["hop"] > 0]
    assert later["payer_account"].isin(flows["payee_account"]).all()
    assert (accounts.loc[later["payee_account"], "hop_level"].to_numpy() == later["hop"].to_numpy() + 1).all()
    ends = accounts[accounts["role"] == "cashout"]
    assert set(flows["payee_account"]) & set(ends.index)
    # splits and merges: some payers pay several accounts, some payees are paid by several payers
    assert (later.groupby("payer_account")["payee_account"].nunique() > 1).any()
    assert (later.groupby("payee_account")["payer_account"].nunique() > 1).any()
    losses = first.groupby("victim_id")["amount"].agg(["sum", "size"])
    assert np.allclose(losses["sum"], victims.loc[losses.index, "total_loss"], atol=0.05)
    assert (losses["size"] == victims.loc[losses.index, "n_loss_transfers"]).all()


def test_reports(city: tuple[Path, dict]) -> None:
    out, _ = city
    victims = truth(out, "victims")
    reports = events(out, "report")
    assert set(reports["victim_id"]) == set(victims.loc[victims["reported"], "person_id"])
    end = pd.Timestamp(CONFIG.start + timedelta(days=CONFIG.days), tz=CHINA_TZ)
    settled = victims[victims["first_loss_time"] < end - pd.Timedelta(days=6)]
    assert settled["reported"].mean() == pytest.approx(CONFIG.report_share, abs=0.12)
    merged = reports.merge(victims, left_on="victim_id", right_on="person_id")
    assert (merged["time"] > merged["first_loss_time"]).all()
    assert np.allclose(merged["loss"], merged["total_loss"])
    assert merged["accounts"].map(len).min() >= 1 and merged["text"].str.contains("报警人称").all()


def test_gang_membership_is_consistent(city: tuple[Path, dict]) -> None:
    out, _ = city
    gangs = truth(out, "gangs").set_index("gang_id")
    numbers, accounts = truth(out, "numbers"), truth(out, "accounts")
    domains, apps = truth(out, "domains"), truth(out, "apps")
    assert (numbers["is_fraud"] == numbers["gang_id"].notna()).all()
    assert (numbers.loc[numbers["is_fraud"], "role"] != "normal").all()
    assert (numbers.groupby("gang_id").size() == gangs["n_numbers"]).all()
    assert (accounts.groupby("gang_id").size() == gangs["n_accounts"]).all()
    assert (accounts["is_mule"] == accounts["role"].isin(["mule", "cashout"])).all()
    fraud_domains = domains.loc[domains["is_fraud"]].groupby("gang_id").size()
    assert (fraud_domains == gangs["n_domains"][gangs["n_domains"] > 0]).all()
    assert (
        apps[apps["category"] == "fraud_app"].groupby("gang_id").size().reindex(gangs.index, fill_value=0)
        == gangs["n_apps"]
    ).all()
    assert set(truth(out, "victims")["gang_id"]) <= set(gangs.index)
    # SIM-boxes: many IMSIs behind one IMEI
    calls = events(out, "call")
    simbox = numbers.loc[numbers["role"] == "simbox", "number"]
    per_imei = calls[calls["caller"].isin(simbox)].groupby("imei")["imsi"].nunique()
    assert per_imei.max() >= 4
    openings = events(out, "sim_opening")
    assert openings.loc[openings["number"].isin(numbers.loc[numbers["role"] == "iot", "number"]), "iot"].all()


def _digest(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*/*.parquet"))
    }


def test_same_seed_same_files(tmp_path: Path) -> None:
    config = SimConfig(people=3000, days=3, seed=5, victims_per_10k_day=30.0)
    simulate(config, tmp_path / "a")
    simulate(config, tmp_path / "b")
    simulate(SimConfig(people=3000, days=3, seed=6, victims_per_10k_day=30.0), tmp_path / "c")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    assert _digest(tmp_path / "a")["events/call.parquet"] != _digest(tmp_path / "c")["events/call.parquet"]


def test_the_smallest_city_simulates_on_days_without_some_kinds_of_event(tmp_path: Path) -> None:
    # seed 1: a 150-person city installs no app on one of its two days (that day's merge once failed)
    manifest = simulate(SimConfig(people=150, days=2, seed=1), tmp_path)
    assert manifest["rows"]["person"] == 150 and manifest["rows"]["call"] > 0


def test_a_run_stopped_part_way_leaves_its_folder_as_it_was(tmp_path: Path) -> None:
    """Days are written as they are drawn; a stop (here at the second day) must not leave some of them behind
    without their truth, for an ingest to take as a city. A run that ends replaces the city there, nothing else."""
    out = tmp_path / "city"
    out.mkdir()
    (out / "notes.txt").write_text("mine")

    def stop(stage: str, done: int, total: int) -> None:
        if stage == "day" and done == 2:
            raise KeyboardInterrupt

    config = SimConfig(people=150, days=4, seed=1)
    with pytest.raises(KeyboardInterrupt):
        simulate(config, out, progress=stop)
    assert [p.name for p in tmp_path.iterdir()] == ["city"] and [p.name for p in out.iterdir()] == ["notes.txt"]
    simulate(config, out)
    first = _digest(out)
    (out / "events" / "stray.parquet").write_text("left from before")
    simulate(config, out)
    assert _digest(out) == first and (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city"]


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError, match="people: a city needs at least 150 residents"):
        SimConfig(people=149, days=1, seed=0)
    with pytest.raises(ValueError, match="type_shares"):
        SimConfig(people=1000, days=1, seed=0, type_shares={"lottery": 1.0})
    with pytest.raises(ValueError, match="seed: must be 0 or more"):
        SimConfig(people=150, days=1, seed=-1)
    for rate in (float("inf"), float("nan"), 10_001.0, -1.0):
        with pytest.raises(ValueError, match="victims_per_10k_day: must be from 0 to 10000"):
            SimConfig(people=150, days=1, seed=0, victims_per_10k_day=rate)


def test_the_simulate_command_names_its_own_options_in_errors(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aegis.cli.main import app

    for option, value, said in (("--seed", "-1", "must be"), ("--victims-per-10k-day", "inf", "must be"),
                                ("--days", "367", "at most 366 days")):
        result = CliRunner().invoke(app, ["simulate", "--people", "150", "--days", "1", option, value,
                                          "--out", str(tmp_path / "city"), "--lang", "en"])
        assert result.exit_code == 2 and result.stderr.startswith(f"error: {option}: {said}"), result.output
    assert not (tmp_path / "city").exists()


def test_a_city_too_large_for_memory_is_refused_in_one_line(tmp_path: Path) -> None:
    """--people had no upper bound: a huge value ended in an OverflowError or a numpy allocation error."""
    from typer.testing import CliRunner

    from aegis.cli.main import app
    from aegis.simulate.config import MAX_PEOPLE

    for people in ("99999999999999999999", "10000000000", str(MAX_PEOPLE + 1)):
        result = CliRunner().invoke(app, ["simulate", "--people", people, "--days", "1",
                                          "--out", str(tmp_path / "city")])
        assert result.exit_code == 2, result.output
        assert result.stderr == f"错误：--people：一个城市至多{MAX_PEOPLE:,}个居民（收到{people}）\n"
    assert not (tmp_path / "city").exists()
    SimConfig(people=MAX_PEOPLE, days=1, seed=0)  # the bound itself is taken


def test_cash_out_at_atms(city: tuple[Path, dict]) -> None:
    """Cash-out cards are emptied at ATMs within the card limits, so the money is not freezable for ever."""
    out, _ = city
    flows = truth(out, "fraud_transfers").merge(events(out, "transfer"), on="event_id")
    accounts = truth(out, "accounts").set_index("account")
    cash = flows[flows["channel"] == "atm"]
    assert len(cash)
    assert (accounts.loc[cash["payer_account"], "role"] == "cashout").all()
    assert (accounts.loc[cash["payee_account"], "role"] == "cash").all()
    assert (accounts.loc[cash["payee_account"], "bank"].to_numpy() == cash["payer_bank"].to_numpy()).all()
    amounts = cash["amount"].astype(float)
    assert ((amounts % 100 == 0) & (amounts > 0) & (amounts <= 5000)).all()
    day = cash["time"].dt.tz_convert(CHINA_TZ).dt.date
    assert cash.groupby([cash["payer_account"], day])["amount"].sum().astype(float).max() <= 20_000
    # the first withdrawal from a card follows the first money landing on it
    landed = flows[flows["channel"] != "atm"].groupby("payee_account")["time"].min()
    first = cash.groupby("payer_account")["time"].min()
    assert (first > landed.reindex(first.index)).all()
    # most of what reached the cash-out cards is gone by the end of the window
    into = flows[flows["payee_account"].isin(set(cash["payer_account"]))]["amount"].astype(float).sum()
    assert amounts.sum() > 0.5 * into
    # residents withdraw cash too: an ATM withdrawal alone says nothing of fraud
    everyone = events(out, "transfer")
    own = everyone[(everyone["channel"] == "atm") & ~everyone["event_id"].isin(set(flows["event_id"]))]
    assert own["payer_account"].nunique() > 10 * cash["payer_account"].nunique()


def test_hard_negatives_and_rented_cards(city: tuple[Path, dict]) -> None:
    """Fraud is not the only thing that looks like fraud: work callers ring strangers, mules rent own cards."""
    out, _ = city
    calls = events(out, "call")
    numbers = truth(out, "numbers")
    fraud = set(numbers.loc[numbers["is_fraud"], "number"])
    days = CONFIG.days
    busy = calls.groupby("caller")["callee"].nunique() / days
    honest_busy = busy[~busy.index.isin(fraud) & (busy >= 10)]
    assert len(honest_busy) > 0.01 * CONFIG.people  # riders and telemarketers: many callees a day
    short = calls[calls["caller"].isin(honest_busy.index)]["duration_s"]
    assert short[short > 0].median() < 60
    accounts = truth(out, "accounts")
    transfers = events(out, "transfer")
    flows = truth(out, "fraud_transfers")
    mules = accounts.loc[accounts["role"] == "mule", "account"]
    ordinary = transfers[~transfers["event_id"].isin(set(flows["event_id"]))]
    with_history = mules[mules.isin(set(ordinary["payer_account"]) | set(ordinary["payee_account"]))]
    assert 0.2 < len(with_history) / len(mules) < 0.7  # own everyday cards rented to the gang


def test_the_simulate_command_names_the_event_kinds_in_chinese_or_in_english(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from aegis.cli.main import app

    city = ["simulate", "--people", "150", "--days", "1", "--out"]
    chinese = CliRunner().invoke(app, [*city, str(tmp_path / "zh")])
    assert chinese.exit_code == 0, chinese.output
    assert "事件类型" in chinese.stdout and "行数" in chinese.stdout and "开户" in chinese.stdout
    assert "已写入" in chinese.stdout and "written to" not in chinese.stdout
    english = CliRunner().invoke(app, [*city, str(tmp_path / "en"), "--lang", "en"])
    assert english.exit_code == 0, english.output
    assert "account opening" in english.stdout and "written to" in english.stdout
    assert "开户" not in english.stdout


def test_a_victim_rate_the_city_cannot_hold_is_refused_naming_the_rate_it_can(tmp_path: Path) -> None:
    """150 residents over 2 days at 10,000 a day asked some 300 victims and quietly got 27, all of one fraud type:
    each resident falls victim once at most, and the gangs' straw persons and mules are none."""
    from typer.testing import CliRunner

    from aegis.cli.main import app

    def run(rate: str) -> tuple[int, str]:
        done = CliRunner().invoke(app, ["simulate", "--people", "150", "--days", "2", "--victims-per-10k-day", rate,
                                        "--out", str(tmp_path / rate), "--lang", "en"])
        return done.exit_code, done.stderr

    code, said = run("10000")
    assert code == 2 and len(said.splitlines()) == 1, said
    assert said.startswith("error: --victims-per-10k-day: over its 2-day window this city holds at most 900 victims ")
    assert "(got 10000, some 300 victims)" in said and not (tmp_path / "10000").exists()
    code, said = run("900")  # the most it holds: every free resident, of every fraud type
    assert code == 0, said
    victims = truth(tmp_path / "900", "victims")
    assert 20 <= len(victims) <= 27 and victims["fraud_type"].nunique() > 5
