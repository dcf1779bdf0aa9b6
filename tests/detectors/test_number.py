"""The fraud-number detector, its task and the Sichuan importer."""

from __future__ import annotations

import json
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from aegis.datasets import sichuan
from aegis.detectors.number import FRAUD, NORMAL, NumberBatch, NumberDetector, reasons
from aegis.features.number_profile import call_graph, profile_from_events
from aegis.training.number import TASK
from aegis.training.task import DataError, Inputs, get_task

SICHUAN = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "cdr" / "sichuan"
needs_sichuan = pytest.mark.skipif(not (SICHUAN / "train.csv").is_file(), reason="shared/datasets is not available")


def _city(seed: int = 0, people: int = 160, gangs: int = 40) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Simulated CDRs: people call a few friends who call back; fraud numbers (some behind one SIM-box) burst
    short calls at strangers and at each other. Returns (calls, profiles, labels) with labels 1/0."""
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2026-03-01", tz="Asia/Shanghai")
    rows = []
    persons = [f"138{i:08d}" for i in range(people)]
    frauds = [f"170{i:08d}" for i in range(gangs)]
    for p in persons:
        for friend in rng.choice(persons, 4, replace=False):
            if friend == p:
                continue
            for _ in range(2):
                when = t0 + pd.Timedelta(hours=float(rng.uniform(8, 22)), days=int(rng.integers(0, 28)))
                rows.append((p, friend, when, int(rng.integers(30, 600)), "phone-" + p, "imsi-" + p))
                rows.append((friend, p, when + pd.Timedelta(hours=1), int(rng.integers(30, 600)),
                             "phone-" + friend, "imsi-" + friend))
    for i, f in enumerate(frauds):
        imei = "box-1" if i % 4 < 2 else "phone-" + f
        for victim in rng.choice(persons, int(rng.integers(3, 8)), replace=False):
            when = t0 + pd.Timedelta(hours=float(rng.uniform(0, 24)), days=int(rng.integers(0, 28)))
            rows.append((f, victim, when, int(rng.integers(0, 25)), imei, "imsi-" + f))
        for mate in rng.choice(frauds, 2, replace=False):
            if mate != f:
                rows.append((f, mate, t0, 60, imei, "imsi-" + f))
    calls = pd.DataFrame(rows, columns=["caller", "callee", "start", "duration_s", "imei", "imsi"])
    numbers = persons + frauds
    labels = np.array([0] * people + [1] * gangs)
    return calls, profile_from_events(calls, numbers=numbers), labels


@pytest.fixture(scope="module")
def city() -> tuple[NumberBatch, np.ndarray, NumberDetector]:
    calls, profiles, labels = _city()
    batch = NumberBatch(profiles, call_graph(calls))
    train = np.arange(len(labels)) % 2 == 0
    detector = NumberDetector(seeds=2, n_estimators=60, threshold_folds=3).fit(
        NumberBatch(profiles[train], batch.edges), labels[train])
    return batch, labels, detector


def test_detector_separates_simulated_fraud_numbers(city: tuple[NumberBatch, np.ndarray, NumberDetector]) -> None:
    batch, labels, detector = city
    test = np.arange(len(labels)) % 2 == 1
    verdicts = detector.predict(NumberBatch(batch.profiles[test], batch.edges))
    predicted = np.array([v.label == FRAUD for v in verdicts])
    assert (predicted == (labels[test] == 1)).mean() >= 0.95
    sim_box = next(v for v, number in zip(verdicts, batch.profiles.index[test], strict=True)
                   if number == "17000000001")
    assert sim_box.label == FRAUD
    assert any("IMSI（疑似猫池）" in str(r) for r in sim_box.reasons)


def test_reasons_read_like_an_analyst_would_write_them() -> None:
    row = {"out_share": 0.98, "callback_rate": 0.02, "imsis_per_imei_max": 12.0, "nb_fraud": 3.0,
           "short_out_share": 0.85, "n_out_calls": 400.0, "id_short_code": 1.0, "night_share": 0.1}
    assert tuple(map(str, reasons(row))) == ("一个IMEI上有12个IMSI（疑似猫池）", "与3个已知诈骗号码有通话",
                            "主叫号码形似官方服务短号码（疑似改号）", "外呼占比98%、回拨率2%",
                            "短时外呼（<10秒）占比85%")
    assert reasons({"out_share": 0.5, "callback_rate": float("nan"), "nb_fraud": 0.0}) == ()


def test_predict_keeps_input_order_and_survives_pickling(
        city: tuple[NumberBatch, np.ndarray, NumberDetector], tmp_path: Path) -> None:
    batch, _, detector = city
    order = np.random.default_rng(1).permutation(len(batch))
    shuffled = NumberBatch(batch.profiles.iloc[order], batch.edges)
    np.testing.assert_allclose(detector.score(shuffled), detector.score(batch)[order])
    joblib.dump(detector, tmp_path / "m.joblib")
    again = joblib.load(tmp_path / "m.joblib")
    np.testing.assert_allclose(again.score(batch), detector.score(batch))
    assert [v.label for v in detector.predict(shuffled)] == [
        FRAUD if s >= detector.threshold_ else NORMAL for s in detector.score(shuffled)]


def test_detector_works_without_graph_and_with_missing_columns(
        city: tuple[NumberBatch, np.ndarray, NumberDetector]) -> None:
    batch, _, detector = city
    scores = detector.score(NumberBatch(batch.profiles.drop(columns=["imsis_per_imei_max", "n_callees"])))
    assert scores.shape == (len(batch),) and ((scores >= 0) & (scores <= 1)).all()


def test_known_fraud_neighbours_are_a_reason(city: tuple[NumberBatch, np.ndarray, NumberDetector]) -> None:
    batch, labels, detector = city
    fraud = batch.profiles.index[(labels == 1) & (np.arange(len(labels)) % 2 == 1)][:1]
    verdict = detector.predict(NumberBatch(batch.profiles.loc[fraud], batch.edges))[0]
    assert any(str(r).startswith("与") and str(r).endswith("个已知诈骗号码有通话") for r in verdict.reasons)


def test_networks_learn_from_the_profile_alone_and_blend_with_the_boosters(
        city: tuple[NumberBatch, np.ndarray, NumberDetector]) -> None:
    batch, labels, detector = city
    train, test = np.arange(len(labels)) % 2 == 0, np.arange(len(labels)) % 2 == 1
    fit = NumberBatch(batch.profiles[train], batch.edges)
    nets_only = NumberDetector(seeds=2, n_estimators=60, threshold=0.5, mlp_weight=1.0).fit(fit, labels[train])
    scored = NumberBatch(batch.profiles[test], batch.edges)
    net_scores = nets_only.score(scored)
    assert roc_auc_score(labels[test], net_scores) >= 0.95
    # the networks see the profile only: without the graph they score the same
    np.testing.assert_allclose(nets_only.score(NumberBatch(batch.profiles[test])), net_scores)
    boosters_only = NumberDetector(seeds=2, n_estimators=60, threshold=0.5, mlp_weight=0.0).fit(fit, labels[train])
    assert boosters_only.net_ is None
    np.testing.assert_allclose(detector.score(scored),
                               0.5 * boosters_only.score(scored) + 0.5 * net_scores, atol=1e-9)


def test_fit_rejects_unknown_labels() -> None:
    profiles = pd.DataFrame({"n_calls": [1.0, 2.0]}, index=["a", "b"])
    with pytest.raises(ValueError, match="label 'maybe'"):
        NumberDetector().fit(NumberBatch(profiles), ["1", "maybe"])
    with pytest.raises(ValueError, match=r"mlp_weight: 1\.5 is not between 0"):
        NumberDetector(mlp_weight=1.5).fit(NumberBatch(profiles), ["1", "0"])


# --- the Sichuan importer and the task -------------------------------------------------------------------

def _sichuan_frame(rows: int = 3) -> pd.DataFrame:
    columns = ["node", "phone_no_m", *sichuan.COLUMN_MAP, *sichuan.SICHUAN_ONLY, "label"]
    frame = pd.DataFrame(np.arange(rows * len(columns), dtype=float).reshape(rows, -1), columns=columns)
    frame["node"] = range(10, 10 + rows)
    frame["phone_no_m"] = [f"hash{i}" for i in range(rows)]
    frame["label"] = [i % 2 for i in range(rows)]
    return frame


def test_importer_maps_columns_onto_the_profile(tmp_path: Path) -> None:
    frame = _sichuan_frame()
    frame.loc[1, "arpu_mean"] = np.nan
    frame.to_csv(tmp_path / "s.csv", index=False)
    profiles, labels = sichuan.read_profiles(tmp_path / "s.csv", labelled=True)
    assert list(profiles.index) == ["10", "11", "12"]
    assert profiles["n_calls"].tolist() == frame["opposite_count"].tolist()
    assert profiles["n_callees"].tolist() == frame["opposite_unique"].tolist()
    assert profiles["out_share"].tolist() == frame["voc_calltype1"].tolist()
    assert profiles["sms_in_share"].tolist() == frame["calltype_rate"].tolist()
    assert profiles["call_hour_mode"].tolist() == frame["voc_hour_mode"].tolist()
    assert profiles["sms_day_nunique"].tolist() == frame["day_nunique"].tolist()
    assert np.isnan(profiles.loc["11", "sichuan_arpu_mean"])
    assert labels is not None and labels.tolist() == [0, 1, 0]
    assert "phone_no_m" not in profiles.columns and "label" not in profiles.columns


@pytest.mark.parametrize("column", ["opposite_count", "arpu_sum", "node"])
def test_importer_names_the_file_and_the_missing_column(tmp_path: Path, column: str) -> None:
    _sichuan_frame().drop(columns=[column]).to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataError, match=rf"s\.csv: column '{column}' is missing"):
        TASK.load(Inputs(data=[tmp_path / "s.csv"]), labelled=False)


def test_a_sichuan_file_without_the_hashed_number_is_still_read_as_one(tmp_path: Path) -> None:
    # the hashed number is not a feature; the header's `node` alone says which format it is
    _sichuan_frame().drop(columns=["phone_no_m"]).to_csv(tmp_path / "s.csv", index=False)
    assert TASK.load(Inputs(data=[tmp_path / "s.csv"]), labelled=True).n == 3


def test_fraud_labels_may_be_written_fraud_or_normal(tmp_path: Path) -> None:
    frame = _sichuan_frame()
    frame.to_csv(tmp_path / "n.csv", index=False)
    frame.assign(label=frame["label"].map({1: " Fraud", 0: "normal"})).to_csv(tmp_path / "w.csv", index=False)
    as_numbers, as_words = (TASK.load(Inputs(data=[tmp_path / f]), labelled=True).y for f in ("n.csv", "w.csv"))
    assert list(as_words) == list(as_numbers) and set(as_numbers) == {"0", "1"}


def test_importer_errors_on_labels_values_and_edges(tmp_path: Path) -> None:
    unlabelled = _sichuan_frame().drop(columns=["label"])
    unlabelled.to_csv(tmp_path / "u.csv", index=False)
    with pytest.raises(DataError, match=r"u\.csv: column 'label' is missing"):
        TASK.load(Inputs(data=[tmp_path / "u.csv"]), labelled=True)
    bad = _sichuan_frame().astype({"sms_rate": object})
    bad.loc[2, "sms_rate"] = "lots"
    bad.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match=r"b\.csv: column 'sms_rate' is not a number on data row 3"):
        TASK.load(Inputs(data=[tmp_path / "b.csv"]), labelled=False)
    _sichuan_frame().to_csv(tmp_path / "s.csv", index=False)
    pd.DataFrame({"from": [1], "to": [2]}).to_csv(tmp_path / "e.csv", index=False)
    with pytest.raises(DataError, match=r"e\.csv: column 'node_a' is missing"):
        TASK.load(Inputs(data=[tmp_path / "s.csv"], edges=tmp_path / "e.csv"), labelled=False)


def test_ids_written_as_floats_meet_their_edges_and_a_blank_id_is_refused(tmp_path: Path) -> None:
    """A column of ids with a blank cell is written by pandas as floats (3716.0), which matched no edge (3716): every
    number was scored as having no contacts, with only a warning that named 3716.0."""
    frame = _sichuan_frame()
    frame.astype({"node": float}).to_csv(tmp_path / "s.csv", index=False)
    assert "10.0" in (tmp_path / "s.csv").read_text()
    (tmp_path / "e.csv").write_text("node_a,node_b\n10.0,11.0\n11,12\n", encoding="utf-8")
    data = TASK.load(Inputs(data=[tmp_path / "s.csv"], edges=tmp_path / "e.csv"), labelled=True)
    assert data.X.profiles.index.tolist() == ["10", "11", "12"]
    assert data.X.edges.to_numpy().tolist() == [["10", "11"], ["11", "12"]]
    assert NumberDetector().input_notes(data.X) == []  # no number outside the graph
    blank = frame.astype({"node": object})
    blank.loc[1, "node"] = None
    blank.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(DataError, match=r"b\.csv: column 'node' is empty on data row 2$"):
        TASK.load(Inputs(data=[tmp_path / "b.csv"]), labelled=False)
    (tmp_path / "p.csv").write_text("number,n_calls\n13800001111,5\n ,7\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"p\.csv: column 'number' is empty on data row 2$"):
        TASK.load(Inputs(data=[tmp_path / "p.csv"]), labelled=False)
    (tmp_path / "e.csv").write_text("node_a,node_b\n10,11\n11,\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"e\.csv: column 'node_b' is empty on data row 2$"):
        TASK.load(Inputs(data=[tmp_path / "s.csv"], edges=tmp_path / "e.csv"), labelled=False)


@pytest.mark.parametrize("value", ["inf", "-inf", "1e999"])
def test_an_infinite_feature_is_refused_naming_the_column_and_row(tmp_path: Path, value: str) -> None:
    """It made the scores NaN: numpy warned of an invalid value in matmul and predict said `score: nan is outside
    [0, 1]`, naming neither."""
    frame = _sichuan_frame().astype({"opposite_count": object})
    frame.loc[1, "opposite_count"] = value
    frame.to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataError, match=r"s\.csv: column 'opposite_count' is not a finite number on data row 2$"):
        TASK.load(Inputs(data=[tmp_path / "s.csv"]), labelled=False)
    (tmp_path / "p.csv").write_text(f"number,n_calls,out_share\n1381,5,0.5\n1382,7,0.1\n1383,2,{value}\n")
    with pytest.raises(DataError, match=r"p\.csv: column 'out_share' is not a finite number on data row 3$"):
        TASK.load(Inputs(data=[tmp_path / "p.csv"]), labelled=False)


def test_task_reads_aegis_profiles_and_runs_the_cli_flow(tmp_path: Path) -> None:
    calls, profiles, labels = _city(seed=3)
    profiles.assign(label=labels).rename_axis("number").reset_index().to_csv(tmp_path / "p.csv", index=False)
    call_graph(calls).to_csv(tmp_path / "edges.csv", index=False)
    task = get_task("number")
    data = task.load(Inputs(data=[tmp_path / "p.csv"], edges=tmp_path / "edges.csv"), labelled=True)
    assert data.meta["classes"] == {"1": 40, "0": 160}
    detector = NumberDetector(seeds=1, n_estimators=40, threshold=0.5).fit(data.X, data.y)
    unlabelled = task.load(Inputs(data=[tmp_path / "p.csv"], edges=tmp_path / "edges.csv"), labelled=False)
    assert unlabelled.y is None
    figures = task.metrics(data.y, detector.predict(unlabelled.X))
    assert figures["n"] == 200 and figures["f1"] > 0.9 and "macro_f1" in figures


@needs_sichuan
def test_sichuan_holdout_quality_quick() -> None:
    """One small model, half the rows to train, the other half scored with labels hidden."""
    data = TASK.load(Inputs(data=[SICHUAN / "train.csv"], edges=SICHUAN / "edges.csv"), labelled=True)
    half = np.arange(data.n) % 2 == 0
    batch: NumberBatch = data.X
    detector = NumberDetector(seeds=1, n_estimators=150, learning_rate=0.06, threshold=0.45).fit(
        NumberBatch(batch.profiles[half], batch.edges), data.y[half])
    figures = TASK.metrics(data.y[~half], detector.predict(NumberBatch(batch.profiles[~half], batch.edges)))
    assert figures["roc_auc"] >= 0.94 and figures["f1"] >= 0.86


@pytest.mark.slow
@needs_sichuan
def test_sichuan_five_fold_cross_validation() -> None:
    data = TASK.load(Inputs(data=[SICHUAN / "train.csv"], edges=SICHUAN / "edges.csv"), labelled=True)
    summary = TASK.cross_validate(data, 5)
    assert summary["cv_roc_auc"] >= 0.95 and summary["cv_f1"] >= 0.87


def test_the_readme_cross_validation_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from aegis.training.number import main

    calls, profiles, labels = _city(seed=4)
    profiles.assign(label=labels).rename_axis("number").reset_index().to_csv(tmp_path / "p.csv", index=False)
    call_graph(calls).to_csv(tmp_path / "edges.csv", index=False)
    main(["--data", str(tmp_path / "p.csv"), "--edges", str(tmp_path / "edges.csv"), "--seeds", "0", "1",
          "--mlp-weight", "0"])
    printed = capsys.readouterr().out
    assert "fold seed 0:" in printed and "fold seed 1:" in printed
    figures = json.loads(printed[printed.index("{"):])
    assert figures["seeds"] == [0, 1] and figures["mlp_weight"] == 0.0 and figures["cv_roc_auc"] >= 0.9
    with pytest.raises(SystemExit) as exit_info:
        main(["--data", str(tmp_path / "p.csv"), "--mlp-weight", "2"])
    assert exit_info.value.code == 2 and "--mlp-weight: 2.0 is not between 0 and 1" in capsys.readouterr().err
