"""Fraud-URL / phishing-domain detector: from the URL string alone.

Six models, stacked. Three logistic regressions on TF-IDF-weighted hashed character 1-5-grams read the
shapes phishing kits reuse, each from its own view: the whole URL, the host, and the page (path and query), so
a kit's path is not diluted by its host and a look-alike host not by a long path; a fourth reads the URL's
words (alphanumeric runs, 1-2-grams); :class:`NearestUrls` says whether the URL is closer to a known phishing
URL than to a known legitimate one (a kit redeployed on a new host, a campaign's next URL). Gradient boosting
(LightGBM) combines their out-of-fold scores with the lexical and brand features of
:mod:`aegis.features.url_features` and with a :class:`SiteMemory` of how often each registered domain and host
was phishing among the training URLs (free hosts such as 000webhostapp.com are phishing page after page,
blogspot.com mostly not), so it learns how far to trust each signal on unseen URLs.

On phishing-hannousse (stratified 5-fold CV, fold seeds 0, 1, 2; the mean over seeds, then the spread of the
three means) the three character views alone gave 0.9551 ± 0.0007; a more regularised booster (1,000 slower
trees on 30% of the columns each) 0.9566; the site memory 0.9592; the word view 0.9597 ± 0.0006. One
regression on all four views at once instead of four apart lost (0.9590). The regressions' scores and the site
rates are stacked out of 5 inner folds (3 gave 0.9590 ± 0.0010); one booster gave 0.9595 ± 0.0012, per
its old card. In the same harness, choosing each view's C from 10, 30, 100 by inner-CV AUC (it mostly took 100) gave
0.9595, and letting a linear SVM (C=1) compete for each view 0.9591: neither helped, so C stays 10.
The booster alone moved between 0.9595 and 0.9599 with its own seed, so three boosters that differ only in their
seed are averaged (0.9603 in a study harness on the same folds, 0.9599 ± 0.0006 per the card then; about 4% slower
to score).
Tried in that harness without gain: a fifth view (char_wb 1-5-grams 0.9587, char 3-6-grams 0.9586, C=300
on the URL 0.9586, word 1-3-grams 0.9591), ten more hand features (brand words in the path or subdomain, digit
and letter runs, long and base64-like tokens; 0.9597 with the bag), and other booster settings one at a time
(15 or 63 leaves, 10 or 40 samples per leaf, 2,000 trees at half the rate, colsample 0.5, L2 5: 0.9586-0.9602).
Later, in the same harness (0.9599 without them): a multinomial naive Bayes view of the URL's or the page's
character n-grams (0.9593 each), and a flag for hosts under a private suffix of the public-suffix list, i.e.
user-content platforms (0.9593; 83% of such URLs are phishing here, which the site memory already knows).
What did help, in that harness: the nearest known URL of each class (:class:`NearestUrls`, 0.9623 ± 0.0008, each
seed's mean above the best seed without it); a nearest-neighbour view of the page alone added nothing more. The
shipped model's card, with it: 0.9628 ± 0.0006 (seeds 0.9635 / 0.9630 / 0.9620), about 30% slower to score.
Small networks on the booster's stacked features (:mod:`aegis.detectors.networks`), blended as in the number and
account detectors, read 0.9632 / 0.9636 / 0.9639 at 20% / 30% / 50% on fold seed 0 (networks alone 0.9606,
boosters 0.9635): noise, so not kept.

A hit on the bundled 165 blacklist is a rule, not a feature: the list never overlaps the training URLs,
so a model could not learn its weight, and a reported site is fraud whatever its spelling. More rules bound
the model where its training data mislead it: an official domain of a protected brand scores low
(:data:`OFFICIAL_SCORE`), and a page anyone publishes on a platform's domain warns at most
(:data:`USER_CONTENT_SCORE`); a plain look-alike of a brand warns at least (:data:`LOOKALIKE_SCORE`), a domain
written before ``@`` blocks (:data:`DISGUISED_SCORE`), and a bare public short link warns at most
(:data:`SHORTENED_SCORE`). A page that sends the visitor on (a redirect's ``?url=``) scores at least what the
address it sends them to scores, on an official domain too.

>>> detector = UrlDetector().fit(
...     ["https://www.icbc.com.cn/", "http://icbc-verify.top/login", "https://www.python.org/doc/",
...      "http://paypal.com.account-verify.xyz/signin"] * 5,
...     ["legitimate", "phishing", "legitimate", "phishing"] * 5)
>>> verdict = detector.predict(["http://icbc-verify.top/login"])[0]
>>> verdict.label, str(verdict.reasons[0])
('phishing', '域名仿冒 icbc.com.cn（品牌词出现在非官方域名中）')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import lightgbm as lgb
import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline, make_pipeline

from aegis.detectors.base import Detector, Labels, Verdict
from aegis.events.models import FraudType
from aegis.events.urls import canonical_url
from aegis.features import char_hashing
from aegis.features.tfidf import weigh
from aegis.features.url_features import (
    Blacklist,
    Brand,
    UrlFeaturizer,
    UrlParts,
    UrlSignals,
    forwards,
    is_idn,
    load_blacklist,
    load_brands,
    onward,
    parse_url,
    userinfo,
)
from aegis.reasons import Reason

PHISHING, LEGITIMATE = "phishing", "legitimate"
BLACKLIST_SCORE = 0.99
"""the least score of a site on the blacklist"""
#: an official domain of a protected bank, government, benefits, telecom, payment, logistics or service brand
#: (brands.csv) is legitimate whatever its letters look like: the training URLs are mostly Western sites and the
#: model alone flagged www.12306.cn, and blocked Taobao's m.tb.cn and Bilibili's b23.tv short links. Platforms are
#: left out: they host pages anyone can make (Tencent Docs, Google Sites), and phishing pages on them are real;
#: only their hosts that serve their own pages alone (``own_hosts``: WeChat Pay, Google and Microsoft sign-in,
#: Apple ID) are trusted, as the model blocked each of those (0.99: sign-in words fill phishing URLs).
OFFICIAL_SCORE = 0.02
NO_USER_CONTENT = frozenset({"bank", "government", "benefits", "telecom", "payment", "logistics", "service"})
LOOKALIKE_SCORE = 0.75
"""the least a strong look-alike of a protected bank, government, benefits, telecom, payment or logistics brand
scores: its name (four letters or more, ``icbc``, ``12306``), or the government mark, in a domain that is not
theirs, or a three-letter name (``ccb``) under a high-risk TLD; so it warns at least. Not learnt: the training
URLs hold few Chinese brands, and the model scored bare domains low whatever they imitated (``sb-gov.cc`` 0.24,
``ccb-jf.top`` 0.36, the same hosts with a path 0.99), since bare home pages fill its legitimate side. Edit-distance
neighbours only where they are plain (:func:`_plain_typo`): ``cmcc.com`` (China Mobile's initials) is one letter from
``cmbc``."""
STRONG_LOOKALIKES = frozenset({"homoglyph", "homograph", "tld-swap", "subdomain", "embedded", "government"})
SHORTENED_SCORE = 0.75
"""the most a link on a public shortener (t.cn, dwz.cn) scores when nothing else in it is a sign (no look-alike, no
list hit): where it leads is unknown, as Aegis resolves nothing over the network, so it warns and never blocks by
itself. The model alone gave such links 0.94-0.99, learnt from a sampling artefact: all 44 shortened URLs of
phishing-hannousse are phishing, because its legitimate URLs were crawled from sites, never taken from messages,
while carriers, banks and friends send short links every day (a carrier's dwz.cn offer among the normal SMS of
telecom-fraud-texts-5 scored 0.99). The CV figures do not move: 0.75 is still a phishing verdict."""
USER_CONTENT_SCORE = 0.75
"""the most a page on a platform's domain where anyone publishes (mp.weixin.qq.com articles, docs.qq.com, Google
Sites) scores from its letters alone: the model blocked genuine WeChat articles at 0.97 on their random paths, and
what such a page holds is unknown to a URL reader, so it warns at most; a listed page, a look-alike or a bad
onward address still count in full. The CV figures do not move: 0.75 is still a phishing verdict."""
DISGUISED_SCORE = 0.9
"""the least a URL scores that writes a domain before ``@`` (``https://www.12306.cn@tuipiao.top/``): the browser
drops it and opens the host after it, so it is there only to be misread (0.21 by the model alone)"""
CHINESE_DOMAIN_SCORE = 0.75
"""the most a domain written in Chinese characters (中文域名: 例子.中国) scores when nothing else in it is a sign (no
list hit, no bad onward address, no look-alike outside a Chinese TLD): the training URLs hold none, and the model
read every one as a punycode homograph and blocked it (新华网.中国 0.99), where a Cyrillic ``аррӏе.com`` imitates
Latin letters and a Chinese name imitates nothing letter by letter. It warns, never blocks by itself; a brand's
Chinese name in one warns naming the brand (中国工商银行.中国 may be the bank's own), and under another TLD
(工商银行.top) the model's score stands. The CV figures do not move: no training URL is one."""
NAMED_NEIGHBOUR_SIMILARITY = 0.8
"""a phishing verdict names the known phishing URL most like the scored one from this cosine similarity up"""


class UrlDetector(Detector):
    """Scores URLs (``X``: a sequence of URL strings) with P(phishing).

    Labels (``y``) are ``phishing`` / ``legitimate`` (or 1 / 0). The brand list and the blacklist default
    to the bundled ones and are kept inside the fitted model, so scoring does no I/O.
    """

    kind: ClassVar[str] = "url"
    model_format: ClassVar[int] = 2  # 2: the nearest known URLs (nearest_)

    def __init__(self, brands: Sequence[Brand] | None = None, blacklist: Blacklist | None = None, *,
                 ngram_features: int = 2**18, C: float = 10.0, n_estimators: int = 1000,
                 learning_rate: float = 0.02, colsample: float = 0.3, num_leaves: int = 31, n_boosters: int = 3,
                 inner_folds: int = 5, threshold: float = 0.5, random_state: int = 0) -> None:
        self.featurizer = UrlFeaturizer(load_brands() if brands is None else brands,
                                        load_blacklist() if blacklist is None else blacklist)
        self.ngram_features = ngram_features
        self.C = C
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.colsample = colsample
        self.num_leaves = num_leaves
        self.n_boosters = n_boosters
        self.inner_folds = inner_folds
        self.threshold = threshold
        self.random_state = random_state

    def _ngram_model(self, view: str) -> Pipeline:
        if view == "words":
            hashing = HashingVectorizer(analyzer="word", token_pattern=r"[a-z0-9]+", ngram_range=(1, 2),
                                        n_features=self.ngram_features, alternate_sign=False, norm=None)
        else:
            hashing = HashingVectorizer(analyzer="char", ngram_range=(1, 5), n_features=self.ngram_features,
                                        alternate_sign=False, norm=None)
        # liblinear's dual solver reaches the same optimum as lbfgs here, about six times faster than its primal
        # one: far more hashed n-gram columns than URLs. It visits the rows in a random order, so its seed is
        # fixed: the same data give the same model and the card's figures again
        return make_pipeline(hashing, TfidfTransformer(sublinear_tf=True),
                             LogisticRegression(C=self.C, solver="liblinear", dual=True,
                                                random_state=self.random_state))

    def fit(self, X: Sequence[str], y: Labels) -> Self:
        urls = _as_urls(X)
        target = _as_target(y)
        if len(urls) != len(target):
            raise ValueError(f"y: {len(target)} labels for {len(urls)} URLs")
        if len(set(target.tolist())) < 2:
            raise ValueError("y: training needs both phishing and legitimate URLs")
        signals = [self.featurizer.signals(u) for u in urls]
        views = _views(signals)
        sites = [_sites(s) for s in signals]
        n_folds = min(self.inner_folds, int(np.bincount(target).min()))
        # out-of-fold scores and site rates, so the booster learns how far to trust each on unseen URLs
        folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=self.random_state).split(urls, target)
                     ) if n_folds >= 2 else []
        def out_of_fold(model: Any, texts: Any) -> np.ndarray:
            if not folds:
                return np.full(len(urls), 0.5)
            return cross_val_predict(model, texts, target, method="predict_proba", cv=folds)[:, 1]

        self.ngrams_ = {}
        oof = []
        for view, texts in views.items():
            oof.append(out_of_fold(self._ngram_model(view), texts))
            self.ngrams_[view] = self._ngram_model(view).fit(texts, target)
        oof.append(out_of_fold(NearestUrls(), urls))
        self.nearest_ = NearestUrls().fit(urls, target)
        site_oof = SiteMemory.out_of_fold(sites, target, folds)
        self.sites_ = SiteMemory(sites, target)
        stacked = self._stack(self.featurizer.matrix(signals), oof, site_oof)
        # boosters that differ only in their seed (row and column samples), averaged: one booster's accuracy moved
        # by up to 0.1 point with its seed alone, as much as most feature changes
        self.boosters_ = [lgb.LGBMClassifier(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate, num_leaves=self.num_leaves,
            min_child_samples=min(20, max(len(urls) // 10, 1)), colsample_bytree=self.colsample,
            subsample=0.8, subsample_freq=1, random_state=self.random_state + i, n_jobs=1, verbose=-1,
        ).fit(stacked, target) for i in range(self.n_boosters)]
        return self

    @staticmethod
    def _stack(lexical: np.ndarray, ngram_scores: Sequence[np.ndarray], site_rates: np.ndarray) -> np.ndarray:
        return np.column_stack([lexical, *(s.astype(np.float32) for s in ngram_scores), site_rates])

    def _assess(self, X: Sequence[str], follow: bool = True) -> tuple[np.ndarray, list[UrlSignals], NearestMatch]:
        """Scores, signals and nearest known URLs; ``follow``: an official page's onward address is scored too
        (:meth:`_onward_scores`), once, not that address's own."""
        urls = _as_urls(X)
        signals = [self.featurizer.signals(u) for u in urls]
        nearest = self.nearest_.match(urls)
        if not signals:
            return np.zeros(0), signals, nearest
        views = _views(signals)
        ngram_scores = [_ngram_proba(model, views[view]) for view, model in self.ngrams_.items()]
        stacked = self._stack(self.featurizer.matrix(signals), [*ngram_scores, nearest.margin],
                              self.sites_.features([_sites(s) for s in signals]))
        # the fitted Booster directly: the same probabilities without the sklearn wrapper's input checks, which
        # took half of each booster's time on a single URL
        scores = np.mean([booster.booster_.predict(stacked) for booster in self.boosters_], axis=0)
        blacklisted = np.array([s.blacklisted for s in signals])
        brands = [self.featurizer.index.official_brand(s.parts) for s in signals]
        official = np.array([self._official_page(b, s.parts) for b, s in zip(brands, signals, strict=True)])
        official &= ~blacklisted
        scores = np.where(official, np.minimum(scores, OFFICIAL_SCORE), scores)
        published = np.array([b is not None and b.category not in NO_USER_CONTENT for b in brands]) & ~official
        scores = np.where(published, np.minimum(scores, USER_CONTENT_SCORE), scores)
        shortened = np.array([s.shortener and s.lookalike is None for s in signals]) & ~blacklisted
        scores = np.where(shortened, np.minimum(scores, SHORTENED_SCORE), scores)
        # a brand's Chinese name under a Chinese TLD may be its own (中国工商银行.中国): warned, named; under .top not
        chinese = np.array([s.chinese_idn and (s.lookalike is None or is_idn(s.parts.suffix)) for s in signals])
        chinese &= ~blacklisted
        scores = np.where(chinese, np.minimum(scores, CHINESE_DOMAIN_SCORE), scores)
        if follow:
            scores = np.maximum(scores, self._onward_scores(signals))
        imitating = np.array([_strong_lookalike(s) for s in signals])
        scores = np.where(imitating, np.maximum(scores, LOOKALIKE_SCORE), scores)
        disguised = np.array(["." in userinfo(s.parts) for s in signals])
        scores = np.where(disguised, np.maximum(scores, DISGUISED_SCORE), scores)
        return np.where(blacklisted, np.maximum(scores, BLACKLIST_SCORE), scores), signals, nearest

    def _onward_scores(self, signals: Sequence[UrlSignals]) -> np.ndarray:
        """The score of the address a page sends the visitor on to (0 where there is none): a redirect leads where
        its target leads, through a bank's or a video site's own domain (trusted otherwise) or a forum's link
        tracker (link.zhihu.com?target=) alike."""
        targets = {i: onward(s.parts) for i, s in enumerate(signals)}
        found = {i: t for i, t in targets.items() if t is not None}
        scores = np.zeros(len(signals))
        if found:
            scores[list(found)] = self._assess(list(found.values()), follow=False)[0]
        return scores

    def score(self, X: Sequence[str]) -> np.ndarray:
        return self._assess(X)[0]

    def _trusted_official(self, signal: UrlSignals) -> bool:
        return self._official_page(self.featurizer.index.official_brand(signal.parts), signal.parts)

    def _official_page(self, brand: Brand | None, parts: UrlParts, *, follow: bool = True) -> bool:
        """An official page (:data:`OFFICIAL_SCORE`): on a brand's domain that serves only its own pages, or on
        a host of a platform that does, and sending the visitor on, if anywhere, to such a page of the brand."""
        if brand is None or not (brand.category in NO_USER_CONTENT or brand.owns_page(parts)):
            return False
        if not forwards(parts):
            return True
        target = onward(parts) if follow else None
        if target is None:
            return False
        then = parse_url(target)
        return self.featurizer.index.official_brand(then) == brand and self._official_page(brand, then, follow=False)

    def predict(self, X: Sequence[str]) -> list[Verdict]:
        scores, signals, nearest = self._assess(X)
        verdicts = []
        for i, (score, signal) in enumerate(zip(scores.tolist(), signals, strict=True)):
            label = PHISHING if score >= self.threshold else LEGITIMATE
            similar = nearest.phishing_neighbour(i) if label == PHISHING else None
            official = self.featurizer.index.official_brand(signal.parts) if label == LEGITIMATE else None
            # a brand's own page passed by the official rule says so, not which words looked like phishing
            why = ((Reason("{brand}的官方网址", brand=official.shown),) if official is not None
                   and not signal.blacklisted and self._trusted_official(signal)
                   else reasons(signal, score, label, similar, onward(signal.parts) if label == PHISHING else None))
            verdicts.append(Verdict(score, label, why, _fraud_type(signal) if label == PHISHING else None))
        return verdicts


class SiteMemory:
    """How often each site was phishing among the training URLs, at two levels: the registered domain
    (``000webhostapp.com``) and the host without ``www.`` (``foo.000webhostapp.com``).

    Each level gives a rate shrunk toward the training base rate by ``prior`` pseudo-URLs, so a site seen once
    moves little, and a count, so the booster can tell a well-known site from a new one. Target encoding by
    hand rather than sklearn's ``TargetEncoder``: that one has no count column and refits its own folds, while
    here the folds must be the ones the n-gram scores are stacked on.
    """

    N_FEATURES = 4

    def __init__(self, sites: Sequence[tuple[str, str]], target: np.ndarray, prior: float = 5.0) -> None:
        self.prior = prior
        self.base_rate = float(np.mean(target)) if len(target) else 0.5
        self.levels: list[dict[str, tuple[int, int]]] = []
        for level in range(2):
            tally: dict[str, list[int]] = {}
            for key, label in zip((s[level] for s in sites), target.tolist(), strict=True):
                counts = tally.setdefault(key, [0, 0])
                counts[0] += label
                counts[1] += 1
            self.levels.append({key: (hits, seen) for key, (hits, seen) in tally.items()})

    @classmethod
    def out_of_fold(cls, sites: Sequence[tuple[str, str]], target: np.ndarray,
                    folds: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """Each row's features from a memory of the other folds only: in-sample, a site seen once would hand
        the booster its own label. Without folds every site reads as unseen."""
        out = cls([], np.zeros(0)).features(sites)
        for train, held in folds:
            out[held] = cls([sites[i] for i in train], target[train]).features([sites[i] for i in held])
        return out

    def features(self, sites: Sequence[tuple[str, str]]) -> np.ndarray:
        """One row per site pair: (registered-domain rate, its count, host rate, its count)."""
        out = np.empty((len(sites), self.N_FEATURES), dtype=np.float32)
        for i, pair in enumerate(sites):
            for level, (key, table) in enumerate(zip(pair, self.levels, strict=True)):
                hits, seen = table.get(key, (0, 0))
                out[i, 2 * level] = (hits + self.prior * self.base_rate) / (seen + self.prior)
                out[i, 2 * level + 1] = seen
        return out


@dataclass(frozen=True, slots=True)
class NearestMatch:
    """Each scored URL's nearest known phishing and legitimate URLs (cosine similarity of character 3-5-grams)."""

    phishing_similarity: np.ndarray
    legitimate_similarity: np.ndarray
    phishing_index: np.ndarray
    phishing_urls: Sequence[str]

    @property
    def margin(self) -> np.ndarray:
        """In [0, 1]: above 0.5 when the nearest phishing URL is closer than the nearest legitimate one."""
        return (1.0 + self.phishing_similarity - self.legitimate_similarity) / 2.0

    def phishing_neighbour(self, row: int) -> tuple[str, float] | None:
        """The known phishing URL most like ``row`` and its similarity, when that is close enough to name."""
        similarity = float(self.phishing_similarity[row])
        if similarity < NAMED_NEIGHBOUR_SIMILARITY or not self.phishing_urls:
            return None
        return self.phishing_urls[int(self.phishing_index[row])], similarity


class NearestUrls(ClassifierMixin, BaseEstimator):
    """Scores a URL by how much closer it is to the nearest phishing URL seen in training than to the nearest
    legitimate one: phishing kits are deployed on host after host with the same path, and a campaign's URLs
    differ in a token or two, which a nearest neighbour catches where the linear n-gram views average it away.

    Written here rather than with sklearn's ``KNeighborsClassifier``: its vote depends on k (on hannousse, in the
    study harness against 0.9599 without it: k = 5 0.9608, 10 0.9614, 20 0.9594), while the margin between the
    nearest neighbour of each class has no such knob and did better (0.9623 ± 0.0008; the two similarities as
    two columns 0.9615). The neighbours are found by a sparse product with the training URLs' l2-normalised
    TF-IDF vectors, in chunks so memory stays bounded on large batches.
    """

    def __init__(self, ngram_range: tuple[int, int] = (3, 5), n_features: int = 2**18, max_df: float = 0.05,
                 chunk: int = 1024) -> None:
        self.ngram_range = ngram_range
        self.n_features = n_features
        self.max_df = max_df
        self.chunk = chunk

    def _hashing(self) -> HashingVectorizer:
        return HashingVectorizer(analyzer="char", ngram_range=self.ngram_range, n_features=self.n_features,
                                 alternate_sign=False, norm=None, dtype=np.float32)

    def fit(self, X: Sequence[str] | np.ndarray, y: Labels) -> Self:
        urls = [str(u) for u in X]
        target = np.asarray(y).astype(int)
        self.classes_ = np.array([0, 1])
        counts = _hashed(self._hashing(), urls)
        # n-grams in more than max_df of the URLs ("http", "www.", ".com/") say nothing about which URL is
        # nearest and cost most of the sparse product: dropped, six times faster at the same accuracy (0.05:
        # 0.9621 ± 0.0004 against 0.9623 ± 0.0008 with every n-gram). An n-gram in 20 URLs or fewer is always
        # kept, so a small training set, where a kit's n-grams pass 5% of the URLs, loses none
        seen_in = np.bincount(counts.indices, minlength=self.n_features)
        self.kept_ = (seen_in <= max(self.max_df * len(urls), 20)).astype(np.float32)
        self.tfidf_ = TfidfTransformer(sublinear_tf=True).fit(self._drop_common(counts))
        vectors = self._vectors(urls)
        self.phishing_ = sp.csr_matrix(vectors[target == 1].T)
        self.legitimate_ = sp.csr_matrix(vectors[target == 0].T)
        self.phishing_urls_ = [u for u, t in zip(urls, target.tolist(), strict=True) if t == 1]
        return self

    def _drop_common(self, counts: sp.csr_matrix) -> sp.csr_matrix:
        counts.data *= self.kept_[counts.indices]
        counts.eliminate_zeros()
        return counts

    def _vectors(self, urls: Sequence[str]) -> sp.csr_matrix:
        counts = self._drop_common(_hashed(self._hashing(), urls))
        return _tfidf(counts, self.tfidf_).astype(np.float32)

    def match(self, X: Sequence[str] | np.ndarray) -> NearestMatch:
        urls = [str(u) for u in X]
        best_phishing = np.zeros(len(urls), dtype=np.float32)
        best_legitimate = np.zeros(len(urls), dtype=np.float32)
        index = np.zeros(len(urls), dtype=np.int64)
        for start in range(0, len(urls), self.chunk):
            rows = slice(start, start + self.chunk)
            vectors = self._vectors(urls[rows])
            phishing = _similarities(vectors, self.phishing_)
            best_phishing[rows], index[rows] = phishing.max(axis=1), phishing.argmax(axis=1)
            best_legitimate[rows] = _similarities(vectors, self.legitimate_).max(axis=1)
        return NearestMatch(best_phishing, best_legitimate, index, self.phishing_urls_)

    def predict_proba(self, X: Sequence[str] | np.ndarray) -> np.ndarray:
        margin = self.match(X).margin
        return np.column_stack([1.0 - margin, margin])

    def predict(self, X: Sequence[str] | np.ndarray) -> np.ndarray:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)


FAST_HASHING_FROM = 8
"""batches of this many texts or more are hashed by :mod:`aegis.features.char_hashing` (same matrix, 2.5-4x
faster on a large batch); below it numpy's cost per call is more than scikit-learn's loop (break-even at
about 6-8 URLs)"""


def _hashed(hashing: HashingVectorizer, texts: Sequence[str]) -> sp.csr_matrix:
    """``hashing.transform(texts)``, by the numpy hashing when it gives the same matrix and the batch is large."""
    if len(texts) >= FAST_HASHING_FROM and char_hashing.supports(hashing):
        return char_hashing.char_ngram_counts(texts, hashing.ngram_range, hashing.n_features, hashing.dtype)
    return sp.csr_matrix(hashing.transform(texts))


def _tfidf(counts: sp.csr_matrix, tfidf: TfidfTransformer) -> sp.csr_matrix:
    """What the fitted ``tfidf.transform(counts)`` gives (sublinear tf, idf weights, rows of unit length), without
    its input validation, which takes longer than the arithmetic when one URL is scored (0.8 ms a call)."""
    if tfidf.norm != "l2":
        raise ValueError("tfidf: the URL views use l2 rows")
    return weigh(sp.csr_matrix(counts, copy=True), tfidf.idf_, sublinear=tfidf.sublinear_tf)


def _ngram_proba(model: Pipeline, texts: Sequence[str]) -> np.ndarray:
    """P(phishing) of one fitted n-gram view (hashing, TF-IDF, logistic regression), its steps taken by hand:
    ``Pipeline.predict_proba`` validates the input at every step, 2.2 ms for one URL against 0.3 ms."""
    hashing, tfidf, logistic = (step for _, step in model.steps)
    logits = _tfidf(_hashed(hashing, texts), tfidf) @ logistic.coef_[0] + logistic.intercept_[0]
    return np.asarray(expit(logits), dtype=np.float64)


def _similarities(vectors: sp.csr_matrix, references: sp.csr_matrix) -> np.ndarray:
    """Cosine of each row with each reference (one column per reference; a zero column when there is none)."""
    if references.shape[1] == 0:
        return np.zeros((vectors.shape[0], 1), dtype=np.float32)
    return (vectors @ references).toarray()


def _sites(signals: UrlSignals) -> tuple[str, str]:
    parts = signals.parts
    return parts.registered.lower(), parts.host.lower().removeprefix("www.")


def reasons(signals: UrlSignals, score: float, label: str, similar: tuple[str, float] | None = None,
            target: str | None = None) -> tuple[Reason, ...]:
    """Human-readable reasons, strongest first; a phishing verdict with no named indicator says so.

    ``similar`` is the known phishing URL most like this one and their similarity, named when they are close;
    ``target`` the address the page sends the visitor on to, named first (its own letters may say nothing).
    """
    found: list[Reason] = [Reason("跳转前往 {url}", url=target[:80])] if target is not None else []
    if signals.blacklisted:
        found.append(Reason("命中165诈骗网址名单"))
    if signals.lookalike is not None:
        found.append(signals.lookalike.describe())
    if signals.parts.is_ip:
        found.append(Reason("使用IP地址作为主机名"))
    if signals.chinese_idn:
        found.append(Reason("中文域名（训练数据中没有，只预警不拦截）"))
    elif signals.idn:
        found.append(Reason("punycode域名"))
    if "@" in signals.parts.url:
        found.append(Reason("URL中含@符号（@前的内容会被浏览器忽略）"))
    if signals.suspicious_words:
        found.append(Reason("含诱导词 {words}", words="/".join(signals.suspicious_words[:4])))
    if signals.shortener:
        found.append(Reason("使用短链接服务，真实地址被隐藏"))
    if signals.risky_tld:
        found.append(Reason("高风险顶级域名 .{suffix}", suffix=signals.parts.suffix))
    if signals.parts.port is not None and signals.parts.port != _DEFAULT_PORTS.get(signals.parts.scheme, 80):
        found.append(Reason("使用非标准端口 {port}", port=signals.parts.port))
    if similar is not None:
        known, similarity = similar
        found.append(Reason("即已知钓鱼网址 {url}", url=known) if similarity >= 0.9995
                     else Reason("与已知钓鱼网址高度相似（相似度{similarity:.2f}）：{url}", similarity=similarity,
                                 url=known))
    if not found and label == PHISHING:
        found.append(Reason("URL的词法特征与已知钓鱼网址相似（模型分数{score:.2f}）", score=score))
    return tuple(found)


_DEFAULT_PORTS = {"http": 80, "https": 443}
"""the port a scheme uses when none is written (a link without a scheme is read as http)"""


def _views(signals: Sequence[UrlSignals]) -> dict[str, list[str]]:
    """The texts the n-gram models read: the whole URL, and the host and the page (path and query) apart, so a
    phishing kit's path is not diluted by its host; and the URL again for its words."""
    urls = [s.parts.url for s in signals]
    return {
        "url": urls,
        "host": [s.parts.host for s in signals],
        "page": [s.parts.path + ("?" + s.parts.query if s.parts.query else "") for s in signals],
        "words": urls,
    }


def _strong_lookalike(signals: UrlSignals) -> bool:
    """Whether the URL imitates a protected brand plainly enough to warn by itself (:data:`LOOKALIKE_SCORE`)."""
    found = signals.lookalike
    if found is None or found.brand.category not in NO_USER_CONTENT:
        return False
    if found.kind == "edit":
        return _plain_typo(signals)
    if found.kind not in STRONG_LOOKALIKES:
        return False
    # a short name (etc, boc, abc) is an ordinary word in many hosts; beside a lure word in the same label
    # (etc-tuikuan.com, boc-verify.github.io) it is the combosquatting of phishing kits, while a service's own
    # sign-in host (login.abc.net.au) keeps the lure word apart from the name
    # (and a bank's initials beside "bank": ccb-bank.cn)
    lures = (*signals.suspicious_words, *(("bank",) if found.brand.category == "bank" else ()))
    lure = any(found.token in label and any(word in label for word in lures if word != found.token)
               for label in signals.parts.host.split("."))
    # a brand's name in Chinese characters (工商银行 in a 中文域名) is as plain as four letters
    han = not found.token.isascii()
    return found.kind == "government" or len(found.token) >= 4 or han or signals.risky_tld or lure


def _plain_typo(signals: UrlSignals) -> bool:
    """An edit-distance neighbour that warns by itself: one under China's own suffix (.cn, .com.cn, .中国), where
    a Chinese bank's or 12306's customers look for it, that is a service number one digit off (12305.cn, 2306.cn
    for 12306) or the brand's name with a character added (icbcc.com.cn). Other neighbours stay with the model:
    a letter changed elsewhere is as often another firm's name (cmcc.com, China Mobile's initials, is one letter
    from cmbc; trend-chaser.com holds chase)."""
    found = signals.lookalike
    suffix = signals.parts.suffix
    if found is None or not (suffix == "cn" or suffix.endswith(".cn") or suffix in CHINESE_SUFFIXES):
        return False
    return found.token.isdigit() or any(len(word) >= 4 and word in found.token for word in found.brand.keywords)


CHINESE_SUFFIXES = frozenset({"xn--fiqs8s", "xn--fiqz9s", "中国", "中國"})
"""China's internationalised suffix (.中国, and .中國), as punycode and as written"""


def _fraud_type(signals: UrlSignals) -> str | None:
    if signals.lookalike is not None and signals.lookalike.brand.category in ("benefits", "government"):
        return FraudType.benefits_phishing.value
    return None


def _as_urls(X: Sequence[str]) -> np.ndarray:
    """The URLs as the detector reads them, in fitting and scoring alike: scheme and host in lower case
    (:func:`aegis.events.urls.canonical_url`), so typing a host in capitals changes nothing."""
    if isinstance(X, str):
        raise TypeError("X: a sequence of URLs, not one string (wrap a single URL in a list)")
    return np.asarray([canonical_url(str(u)) for u in X], dtype=object)


def _as_target(y: Labels) -> np.ndarray:
    values = np.asarray(y)
    if values.dtype.kind in "biu":
        return values.astype(int)
    lowered = np.char.lower(np.char.strip(values.astype(str)))
    unknown = sorted(set(lowered.tolist()) - {PHISHING, LEGITIMATE})
    if unknown:
        raise ValueError(f"y: labels must be '{PHISHING}' or '{LEGITIMATE}', got {unknown[:5]}")
    return (lowered == PHISHING).astype(int)
