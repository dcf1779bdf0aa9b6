"""Account profiles on hand-made transfer graphs whose right answers can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aegis.features.account_profile import TransferGraph, account_profiles, feature_columns, score_neighbourhood

DAY0 = pd.Timestamp("2024-03-01")


def graph(rows: list[tuple[str, str, float, float]], accounts: list[str] | None = None) -> TransferGraph:
    """Transfers as (payer, payee, amount, day); the accounts are everyone named unless given."""
    t = pd.DataFrame(rows, columns=["payer_account", "payee_account", "amount", "day"])
    t["time"] = DAY0 + pd.to_timedelta(t.pop("day"), unit="D")
    names = accounts or sorted({*t["payer_account"], *t["payee_account"]})
    return TransferGraph(pd.Index(names), t)


def test_a_ring_of_three_is_a_cycle_of_length_three() -> None:
    rows = [("a", "b", 50.0, 1), ("b", "c", 48.0, 2), ("c", "a", 46.0, 3), ("c", "d", 200.0, 4),
            ("e", "d", 120.0, 5)]
    p = account_profiles(graph(rows))
    assert p.loc[["a", "b", "c"], "shortest_cycle"].tolist() == [3, 3, 3]
    assert p.loc[["d", "e"], "shortest_cycle"].tolist() == [0, 0]
    assert p.loc["a", "cycle3"] > 0 and p.loc["d", "cycle3"] == 0


def test_a_two_way_exchange_is_a_cycle_of_length_two() -> None:
    p = account_profiles(graph([("a", "b", 10.0, 1), ("b", "a", 10.0, 2)]))
    assert p["shortest_cycle"].tolist() == [2, 2]


def test_fan_in_counts_distinct_payers_and_one_onward_payee() -> None:
    rows = [(f"s{i}", "hub", 100.0 + i, 1) for i in range(12)] + [("hub", "boss", 1200.0, 2)]
    p = account_profiles(graph(rows))
    hub = p.loc["hub"]
    assert (hub["n_payers"], hub["n_payees"], hub["n_in"], hub["n_out"]) == (12, 1, 12, 1)
    assert hub["fan_in"] == pytest.approx(12 / 2)
    assert hub["top_payee_share"] == 1.0
    assert hub["pass_through"] == pytest.approx(1200 / sum(100 + i for i in range(12)))
    assert p.loc["s0", "n_payees"] == 1 and p.loc["s0", "n_payers"] == 0


def test_pass_through_mule_forwards_fast_and_a_saver_does_not() -> None:
    rows = [("victim", "mule", 1000.0, 0), ("mule", "boss", 960.0, 1),
            ("employer", "saver", 1000.0, 0), ("saver", "shop", 900.0, 20)]
    p = account_profiles(graph(rows))
    assert p.loc["mule", "fast_forward_share"] == 1.0
    assert p.loc["mule", "pass_through"] == pytest.approx(0.96)
    assert p.loc["saver", "fast_forward_share"] == 0.0
    assert p.loc["saver", "dwell_median"] == pytest.approx(20 / 20)  # waited the whole 20-day window
    assert p.loc["mule", "dwell_median"] == pytest.approx(1 / 20)


def test_repeats_bursts_and_dormancy() -> None:
    rows = [("a", "b", 9.9, 40)] * 6 + [("a", "c", 300.0, 0), ("d", "c", 80.0, 39)]
    p = account_profiles(graph(rows))
    a = p.loc["a"]
    assert (a["repeat_max"], a["same_amount_max"], a["burst_n"], a["dormancy_units"]) == (6, 6, 6, 40)
    assert a["repeat_share"] == pytest.approx(6 / 7)
    assert p.loc["c", "burst_n"] == 1
    # the graph's amounts are 6 x 9.9, 80 and 300: b only ever sees the smallest amount
    assert p.loc["b", "amount_rank_mean"] < p.loc["c", "amount_rank_mean"]
    assert p.loc["d", "first_seen"] == pytest.approx(39 / 40)


def test_rows_follow_the_accounts_given_and_silent_accounts_get_neutral_values() -> None:
    g = graph([("a", "b", 10.0, 1), ("b", "c", 10.0, 2)], accounts=["c", "quiet", "a", "b"])
    p = account_profiles(g)
    assert p.index.tolist() == ["c", "quiet", "a", "b"]
    assert p.loc["quiet", ["n_in", "n_out", "fast_forward_share", "shortest_cycle"]].tolist() == [0, 0, 0, 0]
    assert not p[feature_columns()].isna().any().any()


def test_accounts_not_listed_are_profiled_as_counterparties() -> None:
    """A neighbourhood cut from a bigger graph lists one account; its counterparties' features still count."""
    rows = [("a", "m", 100.0, 1), ("b", "m", 120.0, 1), ("m", "x", 215.0, 2), ("x", "y", 200.0, 3),
            ("y", "a", 50.0, 4), ("c", "x", 30.0, 5)]
    everyone = account_profiles(graph(rows))
    alone = account_profiles(graph(rows, accounts=["m"]))
    assert alone.index.tolist() == ["m"]
    pd.testing.assert_frame_equal(alone, everyone.loc[["m"]])
    assert alone.loc["m", "nb_max_fan_in"] > 0
    twice = account_profiles(graph(rows, accounts=["x", "m", "x"]))
    pd.testing.assert_frame_equal(twice, everyone.loc[["x", "m", "x"]])


def test_neighbour_aggregates_see_the_counterparties() -> None:
    rows = [("a", "b", 9.9, 1)] * 4 + [("c", "b", 100.0, 1)]
    p = account_profiles(graph(rows))
    assert p.loc["c", "nb_max_repeat_max"] == 4  # b repeats with a four times
    assert p.loc["b", "nb_max_repeat_max"] == 4 and p.loc["b", "nb_mean_repeat_max"] == pytest.approx(2.5)


def test_self_transfers_are_ignored() -> None:
    p = account_profiles(graph([("a", "a", 10.0, 1), ("a", "b", 5.0, 2)]))
    assert p.loc["a", "n_out"] == 1 and p.loc["a", "shortest_cycle"] == 0


def test_counterparties_that_deal_with_each_other_make_triangles_either_way_round() -> None:
    # a pays b and c, and c pays b: one triangle whatever the directions; d only pays a
    p = account_profiles(graph([("a", "b", 300.0, 1), ("a", "c", 250.0, 2), ("c", "b", 180.0, 3),
                                ("d", "a", 120.0, 4)]))
    assert p.loc[["a", "b", "c", "d"], "triangles"].tolist() == pytest.approx([np.log1p(1.0)] * 3 + [0.0])
    assert p.loc["b", "clustering"] > p.loc["a", "clustering"] > 0 == p.loc["d", "clustering"]


def test_score_neighbourhood_counts_risky_counterparties_and_their_cluster() -> None:
    # m1, m2, m3 score high and pay each other; x deals with m1 twice and once with y; y scores low
    rows = [("m1", "m2", 10.0, 1), ("m2", "m3", 10.0, 2), ("m3", "m1", 10.0, 3), ("x", "m1", 200.0, 4),
            ("m1", "x", 150.0, 5), ("x", "y", 100.0, 6)]
    g = graph(rows)
    scores = pd.Series({"m1": 0.9, "m2": 0.8, "m3": 0.7, "x": 0.1, "y": 0.0})
    f = score_neighbourhood(g.transfers, scores)
    assert f.loc["x", "cc_n_high"] == 1 and f.loc["x", "cc_share_high"] == pytest.approx(0.5)
    assert f.loc["x", "cc_transfer_share_high"] == pytest.approx(2 / 3)
    assert f.loc["m1", "cc_second_score"] == pytest.approx(0.7) and f.loc["y", "cc_second_score"] == 0
    assert f.loc["x", "cc_high_cluster"] == pytest.approx(np.log1p(3)) and f.loc["y", "cc_high_cluster"] == 0
    assert f.loc["m1", "cc_high_triangles"] == pytest.approx(np.log1p(1)) and f.loc["x", "cc_high_triangles"] == 0
    assert f.loc["y", "cc_ppr"] > 0 and f.loc["x", "cc_ppr"] > f.loc["y", "cc_ppr"]


def test_small_dense_groups_are_found_without_the_hub_everyone_shares() -> None:
    # a, b, c, d deal with each other (a 4-cycle with the chord a - c: triangles a-b-c and a-c-d); the hub h
    # deals with all of them and with x1..x4, which is what makes it a hub and not a group member
    group = [("a", "b", 50.0, 1), ("b", "c", 50.0, 2), ("c", "d", 50.0, 3), ("d", "a", 50.0, 4), ("a", "c", 50.0, 5)]
    hub = [("h", other, 80.0, 6) for other in ("a", "b", "c", "d", "x1", "x2", "x3", "x4")]
    p = account_profiles(graph(group + hub))
    assert p.loc[["a", "b", "c", "d"], "group_size"].tolist() == [4, 4, 4, 4]
    assert p.loc["a", "group_density"] == pytest.approx(5 / 6)
    assert p.loc[["a", "b"], "group_tri_links"].tolist() == [3, 2]
    assert p.loc[["a", "b"], "group_tri_links2"].tolist() == [1, 0]  # only a - c lies on two triangles
    # b and d share a and c: one 4-cycle b - a - d - c through each of them
    assert p.loc["b", "group_shared_max"] == 2 and p.loc["b", "group_shared2"] == 1
    assert p.loc["b", "group_squares"] == pytest.approx(np.log1p(1.0))
    # with the hub, every x would share h with the group; without it they are alone
    assert (p.loc[["h", "x1", "x4"], ["group_size", "group_tri_links", "group_shared_max"]] == 0).all().all()
    assert p.loc["x1", "nb_max_group_size"] == 0 < p.loc["h", "nb_max_group_size"]
