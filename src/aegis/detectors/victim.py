"""Victim-risk fusion: is this person being defrauded right now, and by which kind of fraud?

``X`` is a data frame of fusion features (:data:`aegis.features.victim_leads.FEATURES`), one row per new
warning lead of a person; ``y`` is ``normal`` or the fraud type the person is falling for. Two LightGBM
models: a binary one for P(victim), calibrated with isotonic regression on out-of-fold predictions (so the
policy's thresholds are probabilities, not arbitrary scores), and a multi-class one, trained on the victims
only, for the fraud type. When the leads themselves name a fraud type (a reported number, a phishing domain),
that evidence is part of the features, so the type model mostly learns to read it.

>>> import numpy as np, pandas as pd
>>> from aegis.features.victim_leads import FEATURES
>>> rng = np.random.default_rng(0)
>>> X = pd.DataFrame(rng.random((400, len(FEATURES))), columns=list(FEATURES))
>>> y = np.where(X["n_risky_call_24h"] > 0.7, "impersonate_police", "normal")
>>> det = VictimDetector(n_estimators=30).fit(X, y)
>>> row = X[X["n_risky_call_24h"] > 0.9].head(1)
>>> det.predict(row)[0].fraud_type
'impersonate_police'
"""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from aegis.detectors.base import Detector, Labels, Verdict
from aegis.features.victim_leads import FEATURES, LEAD_KINDS
from aegis.reasons import Reason

NORMAL = "normal"

#: how each lead kind reads in a reason, with the count of the last 7 days
_LEAD_TEXT = {
    "risky_call": Reason("7天内与风险号码通话{n}次"),
    "fraud_sms": Reason("7天内收到诈骗短信{n}条"),
    "fraud_url": Reason("7天内访问诈骗网站{n}次"),
    "fraud_app": Reason("安装了诈骗APP"),
    "remote_app": Reason("安装了远程控制/屏幕共享APP"),
    "risky_payee": Reason("7天内向风险账户转账{n}笔"),
    "new_payee": Reason("接触风险号码后首次向新收款人转账{n}笔"),
    "large_after_contact": Reason("接触风险号码后不久大额转账"),
}
"""what each kind of lead says, with ``n`` its count over the last 7 days"""


def _lgbm(n_estimators: int, seed: int, num_leaves: int = 7, min_child_samples: int = 50) -> LGBMClassifier:
    # Small trees with at least 50 rows a leaf, beside the fusion features' coarse scores: deeper trees learnt
    # the few SMS templates the training city's victims happened to receive (see victim_leads.fusion_features).
    return LGBMClassifier(n_estimators=n_estimators, learning_rate=0.05, num_leaves=num_leaves,
                          min_child_samples=min_child_samples, subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                          random_state=seed, verbose=-1, n_jobs=1)


class VictimDetector(Detector):
    kind: ClassVar[str] = "victim"

    def __init__(self, n_estimators: int = 200, folds: int = 4, seed: int = 0) -> None:
        self.n_estimators = n_estimators
        self.folds = folds
        self.seed = seed

    @staticmethod
    def _matrix(X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in FEATURES if c not in X.columns]
        if missing:
            raise ValueError(f"X: missing fusion feature columns {missing[:5]}")
        return X[list(FEATURES)].to_numpy(dtype=np.float32)

    def fit(self, X: pd.DataFrame, y: Labels) -> Self:
        labels = np.asarray([str(v) for v in y], dtype=object)
        victim = (labels != NORMAL).astype(int)
        if victim.sum() < self.folds or (1 - victim).sum() < self.folds:
            raise ValueError("y: need at least a few victim and a few normal rows to learn from")
        M = self._matrix(X)
        # out-of-fold raw scores calibrate the final model: isotonic on in-sample scores would overfit. Folds
        # keep each person's rows together, or the model would be judged on persons it has already seen.
        groups = X["person_id"].to_numpy() if "person_id" in X else np.arange(len(M))
        splitter = StratifiedGroupKFold(self.folds, shuffle=True, random_state=self.seed)
        raw = np.zeros(len(M))
        for train, test in splitter.split(M, victim, groups):
            model = _lgbm(self.n_estimators, self.seed).fit(M[train], victim[train])
            raw[test] = np.asarray(model.predict_proba(M[test]))[:, 1]
        self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, victim)
        self.cv_metrics_ = {"folds": self.folds, "rows": len(M), "victim_rows": int(victim.sum()),
                            "oof_roc_auc": round(float(roc_auc_score(victim, raw)), 4),
                            "oof_average_precision": round(float(average_precision_score(victim, raw)), 4)}
        self.model_ = _lgbm(self.n_estimators, self.seed).fit(M, victim)
        types = labels[victim == 1]
        if len(set(types)) > 1:
            # the type model reads the evidence the leads name; a dozen types share a few thousand rows, so
            # it keeps finer leaves
            self.type_model_: LGBMClassifier | None = _lgbm(self.n_estimators // 2, self.seed, 31, 10).fit(
                M[victim == 1], types)
            self.types_ = np.asarray(self.type_model_.classes_, dtype=object)
        else:
            self.type_model_, self.types_ = None, np.asarray(sorted(set(types)), dtype=object)
        gains = self.model_.booster_.feature_importance("gain")
        self.lead_weight_ = {k: float(sum(g for f, g in zip(FEATURES, gains, strict=True) if f"_{k}_" in f"_{f}_"))
                             for k in LEAD_KINDS}
        return self

    def score(self, X: pd.DataFrame) -> np.ndarray:
        if len(X) == 0:
            return np.zeros(0)
        raw = np.asarray(self.model_.predict_proba(self._matrix(X)))[:, 1]
        return np.clip(self.calibrator_.predict(raw), 0.0, 1.0)

    def fraud_types(self, X: pd.DataFrame) -> np.ndarray:
        """The most likely fraud type of each row (as if the person were a victim)."""
        if self.type_model_ is None or len(X) == 0:
            return np.full(len(X), self.types_[0] if len(self.types_) else "other", dtype=object)
        return np.asarray(self.type_model_.predict(self._matrix(X)), dtype=object)

    def reasons(self, X: pd.DataFrame) -> list[tuple[Reason, ...]]:
        """The leads of each row's last 7 days, the kinds the model leans on most first."""
        order = sorted(LEAD_KINDS, key=lambda k: -self.lead_weight_.get(k, 0.0))
        counts = {k: X[f"n_{k}_7d"].to_numpy() for k in order}
        call_s = X["call_s_7d"].to_numpy()
        out = []
        for i in range(len(X)):
            reasons = []
            for k in order:
                n = int(counts[k][i])
                if n and k == "risky_call" and call_s[i] > 0:
                    reasons.append(Reason("7天内与风险号码通话{n}次，共{seconds}秒", n=n, seconds=int(call_s[i])))
                elif n:
                    reasons.append(Reason(_LEAD_TEXT[k].msg, n=n))
            out.append(tuple(reasons))
        return out

    def predict(self, X: pd.DataFrame) -> list[Verdict]:
        scores, types, reasons = self.score(X), self.fraud_types(X), self.reasons(X)
        return [Verdict(float(s), str(t) if s >= 0.5 else NORMAL, r, str(t))
                for s, t, r in zip(scores, types, reasons, strict=True)]

