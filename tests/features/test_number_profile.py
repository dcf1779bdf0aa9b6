"""Number profiles from hand-made CDRs, spoofing flags and the graph features' leakage guard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aegis.features.number_profile import (
    PROFILE_COLUMNS,
    call_graph,
    contact_graph,
    graph_features,
    profile_from_events,
    spoofing_flags,
)

T0 = pd.Timestamp("2026-03-02 01:30", tz="Asia/Shanghai")


def _cdr() -> pd.DataFrame:
    """A SIM-box: 12 SIMs on one handset ('box'), each firing short calls at many strangers at night;
    and an ordinary person ('alice') who calls a few friends who call back."""
    rows = []
    for sim in range(12):
        for k in range(5):
            rows.append({"caller": f"1700000{sim:04d}", "callee": f"1390000{sim * 5 + k:04d}",
                         "start": T0 + pd.Timedelta(minutes=sim * 5 + k), "duration_s": 4,
                         "direction": "out", "cell_id": "C1", "imei": "box", "imsi": f"4600{sim:02d}"})
    friends = ["13800000001", "13800000002", "13800000003"]
    day = pd.Timestamp("2026-03-02 18:00", tz="Asia/Shanghai")
    for i, friend in enumerate(friends):
        rows.append({"caller": "alice", "callee": friend, "start": day + pd.Timedelta(hours=i),
                     "duration_s": 300, "direction": "out", "cell_id": "C2", "imei": "phone", "imsi": "460999"})
        rows.append({"caller": friend, "callee": "alice", "start": day + pd.Timedelta(hours=i, minutes=30),
                     "duration_s": 200, "direction": "in", "cell_id": "C2", "imei": "phone", "imsi": "460999"})
    return pd.DataFrame(rows)


def test_profile_detects_the_sim_box_and_not_the_person() -> None:
    profile = profile_from_events(_cdr())
    box = profile.loc["17000000003"]
    assert box["imsis_per_imei_max"] == 12
    assert box["out_share"] == 1.0
    assert box["short_out_share"] == 1.0
    assert box["callback_rate"] == 0.0
    assert box["night_share"] == 1.0
    assert box["n_callees"] == 5
    alice = profile.loc["alice"]
    assert alice["imsis_per_imei_max"] == 1
    assert alice["n_calls"] == 6 and alice["n_out_calls"] == 3
    assert alice["callback_rate"] == 1.0
    assert alice["short_out_share"] == 0.0
    assert alice["night_share"] == 0.0
    assert alice["dur_mean"] == 250.0
    assert alice["call_hour_mode"] in (18, 19, 20)
    assert list(profile.columns) == [c for c in PROFILE_COLUMNS if c in profile.columns]


def test_profile_with_sms_and_chosen_numbers() -> None:
    sms = pd.DataFrame({"sender": ["alice", "bank", "bank"], "receiver": ["bob", "alice", "bob"],
                        "time": [T0, T0, T0 + pd.Timedelta(days=1)], "text": ["hi", "code", "code"]})
    profile = profile_from_events(_cdr(), sms, numbers=["alice", "bob", "nobody"])
    assert list(profile.index) == ["alice", "bob", "nobody"]
    assert profile.loc["alice", "n_sms"] == 2 and profile.loc["alice", "n_sms_in"] == 1
    assert profile.loc["bob", "sms_in_share"] == 1.0 and profile.loc["bob", "n_sms_peers"] == 2
    assert profile.loc["nobody", "n_calls"] == 0 and np.isnan(profile.loc["nobody", "out_share"])


def test_spoofing_flags() -> None:
    flags = spoofing_flags(pd.Series(["95588", "10086", "+86 138 0013 8000", "+861380013800", "+447911123456",
                                      "13800138000", "008613800138000"]))
    assert flags["id_short_code"].tolist() == [1, 1, 0, 0, 0, 0, 0]
    assert flags["id_odd_length"].tolist() == [0, 0, 0, 1, 0, 0, 0]
    assert flags["id_foreign"].tolist() == [0, 0, 0, 0, 1, 0, 0]


def test_call_graph_is_undirected_and_deduplicated() -> None:
    graph = call_graph(_cdr())
    assert len(graph) == 12 * 5 + 3
    assert (graph["a"] < graph["b"]).all()


EDGES = pd.DataFrame({"a": ["x", "x", "x", "f1", "n1"], "b": ["f1", "f2", "n1", "y", "y"]})


def test_graph_features_count_known_neighbours() -> None:
    labels = pd.Series({"f1": 1, "f2": 1, "n1": 0})
    features = graph_features(EDGES, pd.Index(["x", "y", "lonely"]), labels)
    assert features.loc["x", "degree"] == 3
    assert features.loc["x", "nb_fraud"] == 2 and features.loc["x", "nb_normal"] == 1
    assert features.loc["x", "nb_fraud_share"] == pytest.approx(2 / 3)
    assert features.loc["y", "nb_fraud_share"] == 0.5
    assert features.loc["lonely", "degree"] == 0 and np.isnan(features.loc["lonely", "nb_fraud_share"])


@pytest.mark.parametrize("node", ["x", "f1", "n1", "y"])
def test_own_label_never_enters_own_graph_features(node: str) -> None:
    """The leakage guard: flipping or hiding a node's own label leaves its features unchanged."""
    labels = pd.Series({"f1": 1, "f2": 1, "n1": 0, "x": 1, "y": 0})
    nodes = pd.Index([node])
    seen = graph_features(EDGES, nodes, labels)
    flipped = graph_features(EDGES, nodes, labels.where(labels.index != node, 1 - labels))
    hidden = graph_features(EDGES, nodes, labels.drop(node))
    pd.testing.assert_frame_equal(seen, flipped)
    pd.testing.assert_frame_equal(seen, hidden)


def test_contact_graph_is_built_once_per_edge_frame_and_scores_only_the_asked_nodes() -> None:
    edges = EDGES.copy()
    graph = contact_graph(edges)
    assert contact_graph(edges) is graph
    assert contact_graph(edges.copy()) is not graph
    labels = pd.Series({"f1": 1, "f2": 1, "n1": 0})
    everyone = graph_features(graph, pd.Index(["x", "y", "f1", "n1", "lonely"]), labels)
    for node in everyone.index:
        pd.testing.assert_frame_equal(graph_features(edges, pd.Index([node]), labels), everyone.loc[[node]])
