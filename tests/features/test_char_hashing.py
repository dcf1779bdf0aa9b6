"""The numpy character n-gram hashing gives scikit-learn's HashingVectorizer matrix, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import HashingVectorizer

from aegis.features.char_hashing import char_ngram_counts, supports

TEXTS = [
    "http://icbc-verify.top/login.php?acct=1", "https://www.12306.cn/index/", "", " ", "a", "ab", "AbC  DeF\t\tG",
    "例子.中国/登录  页", "😀emoji😀x", "Ωmega ß straße İstanbul", "\u3000全角　空格", "x" * 300, "ÀÉÎ-ü/ç?q=é",
    "xn--fiqs8s.xn--fiqz9s/路径", "MIXED Case ÄÖÜ\n\nnewlines",
]


@pytest.mark.parametrize(("ngram_range", "n_features", "dtype"), [
    ((1, 5), 2**20, np.float64), ((3, 5), 2**18, np.float32), ((1, 1), 1024, np.float64), ((2, 7), 97, np.float64),
    ((4, 4), 2**16, np.float32),
])
def test_same_matrix_as_scikit_learn(ngram_range: tuple[int, int], n_features: int, dtype: type) -> None:
    rng = np.random.default_rng(0)
    alphabet = [*"abcXYZ0189./-_?=&%:例子中国登录😀ßİ ", "  ", "\t"]
    texts = TEXTS + ["".join(rng.choice(alphabet, size=int(rng.integers(0, 40)))) for _ in range(300)]
    vectorizer = HashingVectorizer(analyzer="char", ngram_range=ngram_range, n_features=n_features,
                                   alternate_sign=False, norm=None, dtype=dtype)
    theirs = vectorizer.transform(texts)
    ours = char_ngram_counts(texts, ngram_range, n_features, dtype)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    assert ours.has_canonical_format and ours.nnz == theirs.nnz > 0
    assert (ours != theirs).nnz == 0


def test_ascii_only_batches_take_the_short_path_and_agree() -> None:
    texts = [t for t in TEXTS if t.isascii()] * 3
    vectorizer = HashingVectorizer(analyzer="char", ngram_range=(1, 5), alternate_sign=False, norm=None)
    assert (char_ngram_counts(texts, (1, 5), vectorizer.n_features) != vectorizer.transform(texts)).nnz == 0


def test_no_texts_and_texts_too_short_for_any_ngram() -> None:
    assert char_ngram_counts([], (1, 5), 64).shape == (0, 64)
    short = char_ngram_counts(["ab", "", "c"], (3, 5), 64)
    assert short.shape == (3, 64) and short.nnz == 0


def test_only_the_settings_it_reproduces_are_supported() -> None:
    assert supports(HashingVectorizer(analyzer="char", alternate_sign=False, norm=None))
    assert not supports(HashingVectorizer(analyzer="char", alternate_sign=False))  # l2 rows
    assert not supports(HashingVectorizer(analyzer="char", norm=None))  # signed counts
    assert not supports(HashingVectorizer(analyzer="word", alternate_sign=False, norm=None))
    assert not supports(HashingVectorizer(analyzer="char", lowercase=False, alternate_sign=False, norm=None))
    assert not supports(HashingVectorizer(analyzer="char_wb", alternate_sign=False, norm=None))
