"""The mule-account detector, its AMLSim importer and its task, on small made-up graphs and the shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from aegis.datasets.amlsim import read_amlsim
from aegis.detectors.account import AccountDetector, reasons
from aegis.features.account_profile import TransferGraph, account_profiles
from aegis.training.account import TASK
from aegis.training.task import DataError, Inputs

AMLSIM = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "transfers" / "amlsim"


def write_amlsim(tmp_path: Path, nodes: str, transactions: str) -> tuple[Path, Path]:
    (tmp_path / "nodes.csv").write_text(nodes)
    (tmp_path / "transactions.csv").write_text(transactions)
    return tmp_path / "nodes.csv", tmp_path / "transactions.csv"


NODES = "nodeid,isFraud,init_balance,fraudStep\n0,0,100,-1\n1,1,120,5\n2,1,90,5\n"
TRANSACTIONS = "sourceNodeId,targetNodeId,value,time\n0,1,150.5,1\n1,2,12.3,2\n2,0,11.9,3\n"


def test_importer_renames_columns_maps_steps_to_days_and_reads_labels(tmp_path: Path) -> None:
    graph, labels = read_amlsim(*write_amlsim(tmp_path, NODES, TRANSACTIONS), labelled=True)
    assert graph.accounts.tolist() == ["0", "1", "2"]
    assert labels is not None and labels.tolist() == ["0", "1", "1"]
    t = graph.transfers
    assert t[["payer_account", "payee_account"]].values.tolist() == [["0", "1"], ["1", "2"], ["2", "0"]]
    assert t["amount"].tolist() == [150.5, 12.3, 11.9]
    assert (t["time"].iloc[2] - t["time"].iloc[0]) == pd.Timedelta(days=2)


def test_fraud_flags_may_be_written_true_or_false(tmp_path: Path) -> None:
    nodes = NODES.replace(",0,", ",False,").replace(",1,", ",True,")
    assert nodes != NODES
    _, labels = read_amlsim(*write_amlsim(tmp_path, nodes, TRANSACTIONS), labelled=True)
    (tmp_path / "as_numbers").mkdir()
    _, expected = read_amlsim(*write_amlsim(tmp_path / "as_numbers", NODES, TRANSACTIONS), labelled=True)
    assert labels.tolist() == expected.tolist()


def test_importer_without_labels_needs_no_label_column(tmp_path: Path) -> None:
    graph, labels = read_amlsim(*write_amlsim(tmp_path, "nodeid\n0\n1\n2\n", TRANSACTIONS), labelled=False)
    assert labels is None and len(graph.accounts) == 3


def test_accounts_to_score_may_be_fewer_than_the_transfers_name(tmp_path: Path) -> None:
    graph, _ = read_amlsim(*write_amlsim(tmp_path, "nodeid\n2\n", TRANSACTIONS), labelled=False)
    assert graph.accounts.tolist() == ["2"] and len(graph.transfers) == 3


@pytest.mark.parametrize(("nodes", "transactions", "message"), [
    ("nodeid,init_balance\n0,1\n1,1\n2,1\n", TRANSACTIONS, r"nodes\.csv: column 'isFraud' is missing"),
    (NODES, "sourceNodeId,value,time\n0,1,1\n", r"transactions\.csv: column 'targetNodeId' is missing"),
    (NODES, TRANSACTIONS + "0,1,-3,4\n", r"transactions\.csv: column 'value': data row 4 is '-3'"),
    (NODES, TRANSACTIONS + "0,1,ten,4\n", r"transactions\.csv: column 'value': data row 4 is 'ten'"),
    (NODES, TRANSACTIONS + "0,1,inf,4\n", r"column 'value': data row 4 is 'inf', expected a positive number no "
                                          r"larger than 10,000,000,000,000$"),
    (NODES, TRANSACTIONS + "0,1,1e300,4\n", r"column 'value': data row 4 is '1e300'"),
    (NODES, TRANSACTIONS + "0,1,5,inf\n", r"column 'time': data row 4 is 'inf', expected a number from 0 to 36,525$"),
    (NODES, TRANSACTIONS + "0,1,5,1e300\n", r"column 'time': data row 4 is '1e300'"),
    (NODES + "1,0,1,-1\n", TRANSACTIONS, r"nodes\.csv: column 'nodeid': account 1 is listed twice"),
    (NODES.replace("2,1,90", "2,yes,90"), TRANSACTIONS, r"nodes\.csv: column 'isFraud': data row 3 is 'yes'"),
])
def test_importer_errors_name_the_file_and_the_column(tmp_path: Path, nodes: str, transactions: str,
                                                     message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_amlsim(*write_amlsim(tmp_path, nodes, transactions), labelled=True)


def test_account_ids_written_as_floats_are_the_same_accounts_and_a_blank_one_is_refused(tmp_path: Path) -> None:
    floats = "nodeid,isFraud\n0.0,0\n1.0,1\n2,1\n"
    graph, _ = read_amlsim(*write_amlsim(tmp_path, floats, TRANSACTIONS.replace("\n2,0,", "\n2.0,0.0,")),
                           labelled=True)
    assert graph.accounts.tolist() == ["0", "1", "2"]
    assert graph.transfers[["payer_account", "payee_account"]].to_numpy().tolist() == [["0", "1"], ["1", "2"],
                                                                                        ["2", "0"]]
    with pytest.raises(DataError, match=r"nodes\.csv: column 'nodeid' is empty on data row 2$"):
        read_amlsim(*write_amlsim(tmp_path, "nodeid,isFraud\n0,0\n,1\n", TRANSACTIONS), labelled=True)
    with pytest.raises(DataError, match=r"transactions\.csv: column 'targetNodeId' is empty on data row 4$"):
        read_amlsim(*write_amlsim(tmp_path, NODES, TRANSACTIONS + "0,,5.0,4\n"), labelled=True)


def test_an_account_listed_again_is_scored_again_but_not_learnt_twice(tmp_path: Path) -> None:
    repeated = NODES + "1,1,120,5\n"
    data = TASK.load(Inputs(accounts=[write_amlsim(tmp_path, repeated, TRANSACTIONS)[0]],
                            transfers=[tmp_path / "transactions.csv"]), labelled=False)
    assert data.X[0].accounts.tolist() == ["0", "1", "2"] and data.rows.tolist() == [0, 1, 2, 1] and data.n == 4
    with pytest.raises(DataError, match=r"nodes\.csv: column 'nodeid': account 1 is listed twice"):
        TASK.load(Inputs(accounts=[tmp_path / "nodes.csv"], transfers=[tmp_path / "transactions.csv"]), labelled=True)
    write_amlsim(tmp_path, NODES + "1,0,120,5\n", TRANSACTIONS)
    with pytest.raises(DataError, match=r"account 1 is listed more than once, in rows that differ"):
        TASK.load(Inputs(accounts=[tmp_path / "nodes.csv"], transfers=[tmp_path / "transactions.csv"]), labelled=False)


def test_accounts_no_transfer_names_are_noted(fitted: AccountDetector) -> None:
    graph, _ = synthetic_graph(seed=5, n=60)
    assert fitted.input_notes(graph) == []
    outside = TransferGraph(graph.accounts.append(pd.Index(["x1", "x2"])), graph.transfers)
    assert [note.text("en") for note in fitted.input_notes([graph, outside])] == [
        "the transfers name 2 of the 122 accounts nowhere (such as x1): they are scored as moving no money"]


def test_task_rejects_unpaired_files_and_unknown_formats(tmp_path: Path) -> None:
    nodes, transactions = write_amlsim(tmp_path, NODES, TRANSACTIONS)
    with pytest.raises(DataError, match="pairs"):
        TASK.load(Inputs(accounts=[nodes, nodes], transfers=[transactions]), labelled=True)
    with pytest.raises(DataError, match="--format: 'paysim'"):
        TASK.load(Inputs(accounts=[nodes], transfers=[transactions], format="paysim"), labelled=True)
    with pytest.raises(DataError, match="no such file"):
        TASK.load(Inputs(accounts=[tmp_path / "missing.csv"], transfers=[transactions]), labelled=True)


def synthetic_graph(seed: int, n: int = 300, rings: int = 6) -> tuple[TransferGraph, np.ndarray]:
    """Ordinary accounts paying each other at random, and rings of mules passing small sums round quickly."""
    rng = np.random.default_rng(seed)
    names = [f"g{seed}-{i}" for i in range(n)]
    rows = [(names[a], names[b], float(rng.uniform(100, 600)), float(rng.integers(0, 60)))
            for a, b in rng.integers(0, n, size=(6 * n, 2)) if a != b]
    mules = rng.choice(n, size=4 * rings, replace=False).reshape(rings, 4)
    for ring in mules:
        start, amount = float(rng.integers(0, 55)), float(rng.uniform(8, 20))
        for step, (a, b) in enumerate(zip(ring, np.roll(ring, -1), strict=True)):
            rows += [(names[a], names[b], amount, start + step)] * 3
    t = pd.DataFrame(rows, columns=["payer_account", "payee_account", "amount", "day"])
    t["time"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(t.pop("day"), unit="D")
    labels = np.zeros(n, dtype=int)
    labels[mules.ravel()] = 1
    return TransferGraph(pd.Index(names), t), labels.astype(str)


@pytest.fixture(scope="module")
def fitted() -> AccountDetector:
    graphs, labels = zip(*(synthetic_graph(seed) for seed in (1, 2)), strict=True)
    detector = AccountDetector(n_estimators=40, folds=3, min_child_samples=5, rounds=2)
    return detector.fit(list(graphs), np.concatenate(labels))


def test_detector_finds_mule_rings_in_an_unseen_graph_and_says_why(fitted: AccountDetector) -> None:
    graph, labels = synthetic_graph(3)
    verdicts = fitted.predict(graph)
    scores = np.array([v.score for v in verdicts])
    mules = labels == "1"
    assert scores[mules].min() > scores[~mules].max() - 0.5
    assert np.mean([v.label == "1" for v in np.array(verdicts)[mules]]) >= 0.9
    mule_reasons = " ".join(str(r) for v in np.array(verdicts)[mules] for r in v.reasons)
    assert "资金闭环" in mule_reasons and "相同金额" in mule_reasons
    assert all(v.fraud_type == "money_mule" for v in verdicts if v.label == "1")


def test_predict_keeps_the_input_order(fitted: AccountDetector) -> None:
    graph, _ = synthetic_graph(4)
    scores = fitted.score(graph)
    order = np.random.default_rng(0).permutation(len(graph.accounts))
    shuffled = TransferGraph(graph.accounts[order], graph.transfers.sample(frac=1.0, random_state=0))
    assert np.allclose(fitted.score(shuffled), scores[order])
    assert [v.score for v in fitted.predict(graph)] == pytest.approx(scores.tolist())


def test_scores_do_not_depend_on_which_other_accounts_are_listed(fitted: AccountDetector) -> None:
    graph, labels = synthetic_graph(5)
    scores = pd.Series(fitted.score(graph), index=graph.accounts)
    some = graph.accounts[::7].append(graph.accounts[:2])
    alone = fitted.predict(TransferGraph(some, graph.transfers))
    np.testing.assert_allclose([v.score for v in alone], scores[some].to_numpy())
    mules = graph.accounts[labels == "1"][:1]
    assert fitted.score(TransferGraph(mules, graph.transfers))[0] == pytest.approx(scores[mules[0]])


def test_training_accounts_may_deal_with_accounts_not_listed() -> None:
    graph, labels = synthetic_graph(6)
    keep = np.arange(len(labels)) % 3 != 0
    partial = TransferGraph(graph.accounts[keep], graph.transfers)
    detector = AccountDetector(n_estimators=40, folds=3, min_child_samples=5).fit(partial, labels[keep])
    unseen, truth = synthetic_graph(7)
    assert roc_auc_score(truth == "1", detector.score(unseen)) > 0.9
    with pytest.raises(ValueError, match="labels for"):
        AccountDetector(n_estimators=5).fit(partial, labels)


def test_networks_blend_with_the_last_collective_model() -> None:
    graphs, labels = zip(*(synthetic_graph(seed) for seed in (1, 2)), strict=True)
    y = np.concatenate(labels)
    settings = {"n_estimators": 40, "folds": 3, "min_child_samples": 5}
    boosters = AccountDetector(mlp_weight=0.0, **settings).fit(list(graphs), y)
    nets = AccountDetector(mlp_weight=1.0, **settings).fit(list(graphs), y)
    blend = AccountDetector(mlp_weight=0.3, **settings).fit(list(graphs), y)
    assert boosters.net_ is None and nets.net_ is not None
    graph, truth = synthetic_graph(3)
    net_scores = nets.score(graph)
    assert roc_auc_score(truth == "1", net_scores) >= 0.9  # the networks alone find the rings too
    np.testing.assert_allclose(blend.score(graph), 0.7 * boosters.score(graph) + 0.3 * net_scores, atol=1e-9)
    with pytest.raises(ValueError, match=r"mlp_weight: -0\.1 is not between 0"):
        AccountDetector(mlp_weight=-0.1, **settings).fit(list(graphs), y)


def test_each_collective_round_is_kept_and_at_least_one_is_needed(fitted: AccountDetector) -> None:
    assert len(fitted.collective_models_) == fitted.rounds == 2
    graph, labels = synthetic_graph(1)
    with pytest.raises(ValueError, match="rounds"):
        AccountDetector(rounds=0, n_estimators=5).fit(graph, labels)


def test_a_small_dense_group_is_named_among_the_reasons() -> None:
    # five accounts paying each other round a ring, with chords from g0: triangles g0-g1-g2, g0-g2-g3, g0-g3-g4;
    # a payroll hub h pays them and five others (the busiest account is left out of groups, as a hub)
    ring = [f"g{i}" for i in range(5)]
    pairs = [*zip(ring, ring[1:] + ring[:1], strict=True), ("g0", "g2"), ("g0", "g3"),
             *(("h", other) for other in [*ring, "x1", "x2", "x3", "x4", "x5"])]
    t = pd.DataFrame({"payer_account": [a for a, _ in pairs], "payee_account": [b for _, b in pairs],
                      "amount": 300.0, "time": pd.date_range("2024-01-01", periods=len(pairs), freq="D")})
    profiles = account_profiles(TransferGraph(pd.Index([*ring, "x1"]), t)).assign(cc_n_high=0.0)
    assert "身处5个账户互有往来的紧密小团体（与其中4个直接往来）" in map(str, reasons(next(profiles.itertuples())))
    assert not any("小团体" in str(r) for r in reasons(next(profiles.loc[["x1"]].itertuples())))


def test_detector_survives_a_pickle_round_trip(fitted: AccountDetector, tmp_path: Path) -> None:
    import joblib

    graph, _ = synthetic_graph(5)
    joblib.dump(fitted, tmp_path / "m.joblib")
    assert np.allclose(joblib.load(tmp_path / "m.joblib").score(graph), fitted.score(graph))


needs_amlsim = pytest.mark.skipif(not (AMLSIM / "20K_cycle200").is_dir(), reason="shared AMLSim data absent")


def amlsim_inputs(*graphs: str) -> Inputs:
    return Inputs(accounts=[AMLSIM / g / "nodes.csv" for g in graphs],
                  transfers=[AMLSIM / g / "transactions.csv" for g in graphs], format="amlsim")


@needs_amlsim
def test_shared_amlsim_graphs_import_whole() -> None:
    data = TASK.load(amlsim_inputs("20K_cycle200", "20K_fanin200"), labelled=True)
    assert data.n == 40_000 and data.y is not None
    assert [g["mules"] for g in data.meta["graphs"]] == [945, 954]
    assert [g["transfer_rows"] for g in data.meta["graphs"]] == [117_805, 118_250]


@needs_amlsim
@pytest.mark.slow
def test_trained_on_cycles_it_still_finds_fan_in_mules() -> None:
    """Leave-one-graph-out in one direction with a small model (about 20 s on an idle 2-core machine)."""
    train = TASK.load(amlsim_inputs("20K_cycle200"), labelled=True)
    held = TASK.load(amlsim_inputs("20K_fanin200"), labelled=True)
    detector = AccountDetector(n_estimators=60, folds=3).fit(train.X, train.y)
    assert held.y is not None
    metrics = TASK.metrics(held.y, detector.predict(held.X))
    assert metrics["auc"] >= 0.9 and metrics["average_precision"] >= 0.7


@needs_amlsim
@pytest.mark.slow
def test_leave_one_graph_out_on_amlsim() -> None:
    data = TASK.load(amlsim_inputs("20K_cycle200", "20K_fanin200"), labelled=True)
    cv = TASK.cross_validate(data, 2)
    assert cv["mean_auc"] >= 0.97 and cv["mean_average_precision"] >= 0.89
