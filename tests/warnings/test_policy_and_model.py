"""The policy file and the fusion detector."""

from __future__ import annotations

import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import aegis.decisions.warning_policy as policy_module
import aegis.detectors.victim as victim_module
from aegis.decisions.warning_policy import load_policy
from aegis.detectors.victim import VictimDetector
from aegis.features.victim_leads import FEATURES
from aegis.training.modelstore import load_model


@pytest.mark.parametrize("module", [policy_module, victim_module])
def test_doctests(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


def test_levels_thresholds_and_rules_only_raise_due_warnings() -> None:
    policy = load_policy()
    features = pd.DataFrame({"n_remote_app_24h": [1, 1, 0], "n_risky_call_24h": [1, 1, 1]})
    levels = policy.levels_for(np.array([0.75, 0.1, 0.75]), features)
    assert levels.tolist() == ["urgent", "", "low"]
    assert policy.dispatch("medium", "order_brushing").deadline.days == 3
    assert policy.next_queue("city") is None


def test_a_broken_policy_file_names_the_field(tmp_path: Path) -> None:
    text = load_policy.__globals__["default_policy_path"]().read_text().replace("low: 0.70", "low: 0.99")
    (tmp_path / "p.yaml").write_text(text)
    with pytest.raises(ValueError, match="thresholds"):
        load_policy(tmp_path / "p.yaml")
    (tmp_path / "q.yaml").write_text(text.replace("low: 0.99", "low: 0.5").replace("deadline: 30m", "deadline: soon"))
    with pytest.raises(ValueError, match=r"levels\.urgent\.deadline"):
        load_policy(tmp_path / "q.yaml")
    # a deadline of nothing has every warning overdue the moment it is raised
    (tmp_path / "z.yaml").write_text(text.replace("low: 0.99", "low: 0.5").replace("deadline: 30m", "deadline: 0m"))
    with pytest.raises(ValueError, match=r"levels\.urgent\.deadline.*must be finite and longer than nothing"):
        load_policy(tmp_path / "z.yaml")


def test_detector_is_calibrated_and_needs_both_classes() -> None:
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.integers(0, 4, (600, len(FEATURES))), columns=list(FEATURES))
    X["person_id"] = [f"P{i // 3}" for i in range(600)]
    y = np.where(X["n_fraud_url_7d"] >= 3, "benefits_phishing", "normal")
    det = VictimDetector(n_estimators=40).fit(X, y)
    p = det.score(X)
    assert ((p >= 0) & (p <= 1)).all() and det.cv_metrics_["oof_roc_auc"] > 0.9
    verdict = det.predict(X[X["n_fraud_url_7d"] >= 3].head(1))[0]
    assert verdict.fraud_type == "benefits_phishing"
    assert "7天内访问诈骗网站3次" in map(str, verdict.reasons)
    assert "3 visit(s) to a fraud site in 7 days" in (r.text("en") for r in verdict.reasons)
    with pytest.raises(ValueError, match="victim"):
        VictimDetector().fit(X, np.full(600, "normal"))
    with pytest.raises(ValueError, match="missing"):
        det.score(X.drop(columns=["age"]))


def test_the_default_model_loads_and_scores_a_quiet_row() -> None:
    det = load_model(None, "victim").detector
    quiet = pd.DataFrame(np.zeros((1, len(FEATURES))), columns=list(FEATURES))
    assert det.score(quiet)[0] < load_policy().thresholds["low"]
