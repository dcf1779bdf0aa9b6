"""Mule-account detector: money mules and laundering runners (跑分) from the transfers they take part in.

``X`` is one :class:`~aegis.features.account_profile.TransferGraph` (the accounts to score, in order, and a
batch of transfers) or a sequence of them; scores and verdicts come back per account, graph after graph. Each
graph is profiled on its own, so amounts and degrees are compared only with the same bank's or simulation's.

Gradient-boosted models applied one after the other (iterated collective classification):

1. the *own* model scores each account from its own transfers (fan-in/fan-out, pass-through and dwell,
   repeated and unusually small payments, bursts, new activity, short cycles), the small dense group it
   belongs to once hubs are left out, and its counterparties' profiles;
2. ``rounds`` *collective* models, each adding what the previous model thinks of the account's
   counterparties (their scores, the share of risky counterparties and transfers, two-step spread, a
   personalised PageRank, the size of the risky cluster it touches, the scores of its small group's
   members). Each is trained on *out-of-fold* scores of the previous one, so it learns how much to trust
   scores of accounts it has not seen, as at prediction time.

3. small neural networks (:mod:`aegis.detectors.networks`) on the last collective model's features, whose
   score is blended with that model's (``mlp_weight`` 0.3).

Many mules look ordinary on their own and are found only through whom they deal with; step 2 finds them.
The networks err on other accounts than the boosters: trained on one AMLSim graph and scored on the other
(detector seeds 0, 1, 2), the blend reads average precision 0.908 / 0.909 / 0.908 on the cycle graph (boosters
alone 0.903 / 0.903 on seeds 0, 1) and 0.909 / 0.910 / 0.912 on the fan-in graph (0.909 / 0.910), AUC 0.975 and
0.976 on the means (boosters 0.976 and 0.977): the weaker graph gains, the AUC gives up a little, and scoring a
whole graph takes about 30% longer. In a study harness the networks alone read AP 0.905 / 0.903 and
0.906 / 0.901, half and half 0.910 / 0.909 and 0.910 / 0.907, so 0.3 it is.
One round is the default: on the AMLSim graphs, trained on one and scored on the other, a second round
(suspicion spreading one step further) scored slightly lower (mean AUC 0.969 against 0.971 before the
counterparty-clustering features were added), so more rounds are an option to try on new data, not a given.

>>> import pandas as pd
>>> from aegis.features.account_profile import TransferGraph
>>> ring = ["m1", "m2", "m3"] * 4
>>> t = pd.DataFrame({"payer_account": ring + ["a", "b"], "payee_account": ring[1:] + ["m1", "b", "a"],
...                   "amount": [9.5] * 12 + [300.0, 280.0],
...                   "time": pd.date_range("2024-01-01", periods=14, freq="h")})
>>> graph = TransferGraph(pd.Index(["m1", "m2", "m3", "a", "b"]), t)
>>> det = AccountDetector(n_estimators=20, min_child_samples=1, folds=2).fit(graph, ["1", "1", "1", "0", "0"])
>>> [v.label for v in det.predict(graph)]
['1', '1', '1', '0', '0']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Self

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

from aegis.detectors.base import Detector, Labels, Verdict
from aegis.detectors.networks import check_weight, fraud_proba, mlp_ensemble
from aegis.features.account_profile import (
    DEFAULT_UNIT,
    FORWARD_WITHIN,
    LOW_AMOUNT_QUANTILE,
    SCORE_NEIGHBOURHOOD_FEATURES,
    TransferGraph,
    coded_profiles,
    feature_columns,
    score_neighbourhood,
)
from aegis.reasons import Reason

FRAUD, NORMAL = "1", "0"
FRAUD_TYPE = "money_mule"


def as_graphs(X: TransferGraph | Sequence[TransferGraph]) -> list[TransferGraph]:
    return [X] if isinstance(X, TransferGraph) else list(X)


def is_fraud_label(label: Any) -> bool:
    return str(label).strip().lower() in {"1", "true", "fraud", "mule"}


class AccountDetector(Detector):
    """Scores accounts for mule behaviour; see the module docstring for ``X`` and the two steps."""

    kind: ClassVar[str] = "account"
    model_format: ClassVar[int] = 2
    """2: the last collective model blended with networks (``net_``); 1 had boosters only"""

    def __init__(self, *, unit: pd.Timedelta = DEFAULT_UNIT, threshold: float = 0.5, folds: int = 5,
                 rounds: int = 1, n_estimators: int = 600, learning_rate: float = 0.025, num_leaves: int = 15,
                 min_child_samples: int = 20, colsample_bytree: float = 0.5, mlp_weight: float = 0.3,
                 mlp_seeds: int = 3, random_state: int = 0) -> None:
        self.unit = unit
        self.threshold = threshold
        self.folds = folds
        self.rounds = rounds
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.colsample_bytree = colsample_bytree
        self.mlp_weight = mlp_weight
        self.mlp_seeds = mlp_seeds
        self.random_state = random_state

    def _model(self) -> lgb.LGBMClassifier:
        return lgb.LGBMClassifier(n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                  num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                                  subsample=0.8, subsample_freq=1, colsample_bytree=self.colsample_bytree,
                                  random_state=self.random_state, n_jobs=1, verbose=-1)

    def fit(self, X: TransferGraph | Sequence[TransferGraph], y: Labels) -> Self:
        target = np.array([is_fraud_label(v) for v in y], dtype=int)
        graphs, profiles, listed = self._profiles(as_graphs(X))
        if len(listed) != len(target):
            raise ValueError(f"y: {len(target)} labels for {len(listed)} accounts")
        if target.min() == target.max():
            raise ValueError("y: needs both mule and ordinary accounts")
        if self.rounds < 1:
            raise ValueError(f"rounds: needs at least one collective round (got {self.rounds})")
        check_weight(self.mlp_weight)
        own_all = pd.concat([p[feature_columns()] for p in profiles], ignore_index=True)
        own = own_all.iloc[listed]
        self.own_model_ = self._model().fit(own, target)
        scores = self._everywhere(self.own_model_, own_all, listed, self._out_of_fold(own, target))
        self.collective_models_: list[lgb.LGBMClassifier] = []
        for round_ in range(self.rounds):
            collective_all = self._collective_frame(graphs, profiles, scores)
            collective = collective_all.iloc[listed]
            model = self._model().fit(collective, target)
            self.collective_models_.append(model)
            if round_ < self.rounds - 1:
                scores = self._everywhere(model, collective_all, listed, self._out_of_fold(collective, target))
        self.net_ = None
        if self.mlp_weight > 0:
            seeds = range(self.random_state, self.random_state + self.mlp_seeds)
            self.net_ = mlp_ensemble(seeds, len(target)).fit(collective.to_numpy(dtype=float), target)
        return self

    def _profiles(self, graphs: list[TransferGraph]) -> tuple[list[TransferGraph], list[pd.DataFrame], np.ndarray]:
        """Each graph with its accounts as codes (:meth:`TransferGraph.encoded`), its profiles over every
        account its transfers name, and the rows of the listed accounts, in order, counted across the graphs'
        profiles one after the other."""
        coded, profiles, listed, start = [], [], [], 0
        for graph in graphs:
            codes, names = graph.encoded()
            coded.append(codes)
            profiles.append(coded_profiles(codes, unit=self.unit))
            listed.append(start + names.get_indexer(graph.accounts))
            start += len(names)
        return coded, profiles, np.concatenate(listed) if listed else np.zeros(0, dtype=int)

    @staticmethod
    def _everywhere(model: lgb.LGBMClassifier, features: pd.DataFrame, listed: np.ndarray,
                    held_out: np.ndarray) -> np.ndarray:
        """Scores for the collective features: the training accounts' out-of-fold scores, and the model's
        scores for the counterparties that were not listed (unlabelled, so never trained on)."""
        scores = np.zeros(len(features))
        others = np.setdiff1d(np.arange(len(features)), listed)
        if len(others):
            scores[others] = np.asarray(model.predict_proba(features.iloc[others]))[:, 1]
        scores[listed] = held_out
        return scores

    def _out_of_fold(self, features: pd.DataFrame, target: np.ndarray) -> np.ndarray:
        """Scores of each training account from a model that did not see it (what unseen accounts get)."""
        scores = np.zeros(len(features))
        folds = StratifiedKFold(self.folds, shuffle=True, random_state=self.random_state)
        for train, held in folds.split(features, target):
            model = self._model().fit(features.iloc[train], target[train])
            scores[held] = np.asarray(model.predict_proba(features.iloc[held]))[:, 1]
        return scores

    def _collective_frame(self, graphs: list[TransferGraph], profiles: list[pd.DataFrame],
                          scores: np.ndarray) -> pd.DataFrame:
        """Own features and what ``scores`` (one per profile row) say of each account's counterparties."""
        frames, start = [], 0
        for graph, profile in zip(graphs, profiles, strict=True):
            graph_scores = pd.Series(scores[start:start + len(profile)], index=profile.index)
            start += len(profile)
            spread = score_neighbourhood(graph.transfers, graph_scores).reindex(profile.index)
            frames.append(profile[feature_columns()].join(spread[list(SCORE_NEIGHBOURHOOD_FEATURES)]))
        return pd.concat(frames, ignore_index=True)

    def _score_with_profiles(self, X: TransferGraph | Sequence[TransferGraph]) -> tuple[np.ndarray, pd.DataFrame]:
        graphs, profiles, listed = self._profiles(as_graphs(X))
        if not len(listed):
            return np.zeros(0), pd.DataFrame()
        own = pd.concat([p[feature_columns()] for p in profiles], ignore_index=True)
        scores = np.asarray(self.own_model_.predict_proba(own))[:, 1]
        collective = pd.DataFrame()
        for model in self.collective_models_:
            collective = self._collective_frame(graphs, profiles, scores)
            scores = np.asarray(model.predict_proba(collective))[:, 1]
        if self.net_ is not None:
            nets = fraud_proba(self.net_, collective.to_numpy(dtype=float))
            scores = (1 - self.mlp_weight) * scores + self.mlp_weight * nets
        full = pd.concat(profiles, ignore_index=True).join(collective[list(SCORE_NEIGHBOURHOOD_FEATURES)])
        return np.clip(scores[listed], 0.0, 1.0), full.iloc[listed].reset_index(drop=True)

    def score(self, X: TransferGraph | Sequence[TransferGraph]) -> np.ndarray:
        return self._score_with_profiles(X)[0]

    def input_notes(self, X: TransferGraph | Sequence[TransferGraph]) -> list[Reason]:
        """Accounts listed that no transfer of their graph names: they are scored as accounts that moved no money
        (an id written otherwise in the two files looks just like that)."""
        graphs = as_graphs(X)
        outside = [account for graph in graphs for account in graph.accounts[~graph.accounts.isin(
            pd.Index(graph.transfers["payer_account"]).union(pd.Index(graph.transfers["payee_account"])))]]
        if not outside:
            return []
        return [Reason("转账中没有{n}个账户（共{total}个，如{first}），按没有转账计分", n=len(outside),
                       total=sum(len(graph.accounts) for graph in graphs), first=str(outside[0]))]

    def predict(self, X: TransferGraph | Sequence[TransferGraph]) -> list[Verdict]:
        scores, profiles = self._score_with_profiles(X)
        verdicts = []
        for score, row in zip(scores, profiles.itertuples(index=False), strict=True):
            fraud = score >= self.threshold
            verdicts.append(Verdict(float(score), FRAUD if fraud else NORMAL, reasons(row, self.unit),
                                    FRAUD_TYPE if fraud else None))
        return verdicts


_UNITS = ((pd.Timedelta(days=1), Reason("{n:g}天")), (pd.Timedelta(hours=1), Reason("{n:g}小时")),
          (pd.Timedelta(minutes=1), Reason("{n:g}分钟")))


def _duration(unit: pd.Timedelta, n: float) -> Reason:
    for size, name in _UNITS:
        if unit >= size:
            return Reason(name.msg, n=n * unit / size)
    return Reason("{n:g}秒", n=(n * unit).total_seconds())


def reasons(row: Any, unit: pd.Timedelta = DEFAULT_UNIT) -> tuple[Reason, ...]:
    """Readable reasons from one profile row, strongest first (by how far each passes its threshold).

    The thresholds mark what an investigator would call unusual; they explain a score, they do not make it.
    """
    found: list[tuple[float, Reason]] = []

    def rule(value: float, threshold: float, reason: Reason) -> None:
        if value >= threshold:
            found.append((value / threshold, reason))

    if row.n_in >= 2:
        rule(row.fast_forward_share, 0.8, Reason("资金快进快出：收到后{within}内转出{share:.0%}",
             within=_duration(unit, FORWARD_WITHIN), share=row.fast_forward_share))
    if row.shortest_cycle:
        rule(getattr(row, f"cycle{row.shortest_cycle}"), np.log1p(3.0), Reason("位于长度{k}的资金闭环中",
             k=int(row.shortest_cycle)))
    if row.top_payee_share >= 0.5:
        rule(row.n_payers, 10, Reason("收款来自{n}个不同账户后集中转出", n=int(row.n_payers)))
    rule(row.n_payees, 20, Reason("向{n}个不同账户分散转出", n=int(row.n_payees)))
    rule(row.same_amount_max, 3, Reason("与同一账户重复往来{n}笔相同金额", n=int(row.same_amount_max)))
    rule(row.low_amount_share, 0.2, Reason("{share:.0%}的转账金额在本批最低{quantile:.0%}之列（拆分小额）",
         share=row.low_amount_share, quantile=LOW_AMOUNT_QUANTILE))
    if row.dormancy_units >= 30:
        rule(row.burst_n, 5, Reason("沉寂{silence}后{step}内突发{n}笔转账", silence=_duration(unit, row.dormancy_units),
             step=_duration(unit, 1), n=int(row.burst_n)))
    rule(row.first_seen, 0.9, Reason("新近才开始交易的账户"))
    triangles = float(np.expm1(row.triangles))
    rule(triangles, 2, Reason("交易对手之间也互有资金往来（{n:.0f}个三角关系）", n=triangles))
    if row.group_tri_links >= 2:
        rule(row.group_size, 4, Reason("身处{size:.0f}个账户互有往来的紧密小团体（与其中{links:.0f}个直接往来）",
             size=row.group_size, links=row.group_tri_links))
    rule(row.cc_n_high, 2, Reason("与{n:g}个高风险账户有资金往来", n=row.cc_n_high))
    return tuple(reason for _, reason in sorted(found, key=lambda f: -f[0]))
