"""The small networks blended with the number and account boosters, scored by hand from their fitted weights."""

from __future__ import annotations

import numpy as np
import pytest

from aegis.detectors.networks import fraud_proba, mlp_ensemble
from aegis.training.modelstore import load_model


@pytest.mark.parametrize("rows", [60, 400])  # a few dozen rows train without early stopping, more with it
def test_the_hand_forward_pass_scores_as_the_fitted_pipeline(rows: int) -> None:
    rng = np.random.default_rng(rows)
    X = rng.lognormal(size=(rows, 6)) * rng.choice([-1, 1], size=(rows, 6))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    X[rng.random(X.shape) < 0.15] = np.nan  # missing values: imputed as 0 with a flag column each
    X[:, 5] = 3.0  # a constant column
    net = mlp_ensemble(range(2), rows).fit(X, y)
    fresh = rng.lognormal(size=(25, 6)) * 5
    fresh[rng.random(fresh.shape) < 0.3] = np.nan
    for values in (X, fresh, fresh[:1]):
        assert np.allclose(fraud_proba(net, values), net.predict_proba(values)[:, 1], rtol=0, atol=1e-12)


def test_the_shipped_account_networks_score_by_hand_as_through_scikit_learn() -> None:
    net = load_model(None, "account").detector.net_
    assert net is not None
    rng = np.random.default_rng(0)
    values = rng.normal(size=(40, net.steps[0][1].n_features_in_)) * 10
    values[rng.random(values.shape) < 0.2] = np.nan
    assert np.allclose(fraud_proba(net, values), net.predict_proba(values)[:, 1], rtol=0, atol=1e-12)
