"""Two-step neighbour means and shared counterparties with risky accounts, worked out by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aegis.features.account_profile import TransferGraph, account_profiles, score_neighbourhood

DAY0 = pd.Timestamp("2024-03-01")


def transfers(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({"payer_account": [a for a, _ in pairs], "payee_account": [b for _, b in pairs],
                         "amount": 100.0, "time": [DAY0 + pd.Timedelta(days=i) for i in range(len(pairs))]})


def test_two_step_mean_is_the_counterparties_own_neighbour_mean() -> None:
    # a path a - b - c - d: a's counterparty b has counterparties a and c
    t = transfers([("a", "b"), ("b", "c"), ("c", "d")])
    p = account_profiles(TransferGraph(pd.Index(["a", "b", "c", "d"]), t))
    assert p.loc["a", "nb2_mean_log_n_payers"] == pytest.approx(p.loc["b", "nb_mean_log_n_payers"])
    assert p.loc["b", "nb2_mean_triangles"] == 0
    assert p.loc["b", "nb2_mean_first_seen"] == pytest.approx(
        (p.loc["a", "nb_mean_first_seen"] + p.loc["c", "nb_mean_first_seen"]) / 2)


def test_accounts_sharing_counterparties_with_a_high_scorer_are_marked() -> None:
    # m scores high; x pays the same three accounts m pays (never m itself); y pays one of them; z pays nobody m does
    t = transfers([("m", "p1"), ("m", "p2"), ("m", "p3"), ("x", "p1"), ("x", "p2"), ("x", "p3"), ("y", "p1"),
                   ("z", "q")])
    scores = pd.Series({"m": 0.95, "x": 0.1, "y": 0.1, "z": 0.1, "p1": 0.0, "p2": 0.0, "p3": 0.0, "q": 0.0})
    f = score_neighbourhood(t, scores)
    assert f.loc["x", "cc_shared_max_high"] == 3 and f.loc["y", "cc_shared_max_high"] == 1
    assert f.loc["z", "cc_shared_max_high"] == 0 and f.loc["m", "cc_shared_max_high"] == 0  # not itself
    assert f.loc["x", "cc_shared_high"] == pytest.approx(np.log1p(3)) and f.loc["z", "cc_shared_high"] == 0
    assert f.loc["m", "cc_shared_high"] == 0
    assert f.loc["x", "cc_adamic_adar_high"] > f.loc["y", "cc_adamic_adar_high"] > 0
    assert f.loc["x", "cc_shared_score"] == pytest.approx((3 * 0.95 + 0.1) / 3)  # m via p1..p3, y via p1


def test_score_triangles_weigh_the_other_corners_squared_scores() -> None:
    t = transfers([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    f = score_neighbourhood(t, pd.Series({"a": 0.0, "b": 0.5, "c": 0.8, "d": 1.0}))
    assert f.loc["a", "cc_score_triangles"] == pytest.approx(np.log1p((0.5**2 + 0.8**2) / 2))
    assert f.loc["b", "cc_score_triangles"] == pytest.approx(np.log1p(0.8**2 / 2))
    assert f.loc["d", "cc_score_triangles"] == 0  # d is in no triangle however risky c is


def test_strong_ties_are_counterparties_sharing_a_counterparty_without_the_hub() -> None:
    # a, b, c form a triangle and c also pays d; the hub h (risky itself) deals with a, b, d and five others
    t = transfers([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"),
                   *(("h", other) for other in ("a", "b", "d", "x1", "x2", "x3", "x4", "x5"))])
    scores = pd.Series({"a": 0.2, "b": 0.9, "c": 0.6, "d": 1.0, "h": 1.0} | {f"x{i}": 0.0 for i in range(1, 6)})
    f = score_neighbourhood(t, scores)
    assert f.loc["c", ["cc_strong_mean_score", "cc_strong_max_score", "cc_strong_sum_score"]].tolist() == \
        pytest.approx([0.55, 0.9, 1.1])
    # a - b - h would be a triangle, but h is a hub: a's strong ties are b and c only
    assert f.loc["a", "cc_strong_max_score"] == pytest.approx(0.9)
    assert f.loc["a", "cc_strong_mean_score"] == pytest.approx(0.75)
    assert (f.loc[["d", "h", "x1"], "cc_strong_sum_score"] == 0).all()
