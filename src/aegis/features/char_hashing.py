"""Hashed counts of character n-grams, all texts at once: the matrix scikit-learn's
``HashingVectorizer(analyzer="char", alternate_sign=False, norm=None)`` gives, without its Python loops.

scikit-learn builds every n-gram of every text as a Python string and hashes them one by one (MurmurHash3 of
the UTF-8 bytes); on URLs that loop is half the URL detector's time. No library hashes all the substrings of
many strings at once, so this module does it by hand in numpy: the texts become one UTF-8 byte array, every
n-gram a (start, byte length) slice of it, and MurmurHash3 (x86, 32-bit, seed 0) runs over all the slices of
one byte length together. Columns and counts are those of scikit-learn, bit for bit (the tests compare them),
so models fitted with a ``HashingVectorizer`` score the same through either.

>>> from sklearn.feature_extraction.text import HashingVectorizer
>>> texts = ["http://icbc-verify.top/login", "", "a", "例子.中国/登录  页"]
>>> ours = char_ngram_counts(texts, (1, 5), 2**18)
>>> theirs = HashingVectorizer(analyzer="char", ngram_range=(1, 5), n_features=2**18, alternate_sign=False,
...                            norm=None).transform(texts)
>>> (ours != theirs).nnz, ours.nnz
(0, 162)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer

_WHITE_SPACES = re.compile(r"\s\s+")
"""runs of whitespace, which scikit-learn's character analyser turns into one space before taking n-grams"""

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)
_M, _N = np.uint32(5), np.uint32(0xE6546B64)
_F1, _F2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)
_INT32_MIN = -(2**31)


def supports(vectorizer: Any) -> bool:
    """True when ``vectorizer`` is a ``HashingVectorizer`` whose output :func:`char_ngram_counts` reproduces."""
    if not isinstance(vectorizer, HashingVectorizer):
        return False
    params = vectorizer.get_params()
    return (params["analyzer"] == "char"
            and params["lowercase"] and params["preprocessor"] is None and params["strip_accents"] is None
            and not params["alternate_sign"] and params["norm"] is None and params["input"] == "content"
            and params["binary"] is False and params["decode_error"] == "strict")


def char_ngram_counts(texts: Sequence[str], ngram_range: tuple[int, int], n_features: int,
                      dtype: Any = np.float64) -> sp.csr_matrix:
    """Counts of each text's lower-cased character n-grams (lengths ``ngram_range``), hashed to ``n_features``
    columns as scikit-learn's ``HashingVectorizer`` hashes them."""
    docs = [_WHITE_SPACES.sub(" ", str(t).lower()) for t in texts]
    lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
    joined = "".join(docs)
    data = np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    # where each character's bytes start in ``data``, with the end of the last one after it
    widths = 1 + (cps >= 0x80) + (cps >= 0x800) + (cps >= 0x10000)
    char_start = np.concatenate([[0], np.cumsum(widths)]).astype(np.int64)
    doc_of_char = np.repeat(np.arange(len(docs)), lengths)
    doc_end = np.cumsum(lengths)
    padded = np.concatenate([data, np.zeros(4, dtype=np.uint8)])  # a block read may run past the last byte

    rows, cols = [], []
    lo, hi = ngram_range
    for n in range(lo, hi + 1):
        first = np.arange(len(cps) - n + 1) if len(cps) >= n else np.zeros(0, dtype=np.int64)
        first = first[first + n <= doc_end[doc_of_char[first]]] if len(first) else first  # inside one text
        if len(data) == len(cps):  # ASCII only, as most URLs: n characters are n bytes
            rows.append(doc_of_char[first])
            cols.append(_columns(_murmur3(padded, first, n), n_features))
            continue
        starts = char_start[first]
        sizes = char_start[first + n] - starts
        for size in np.unique(sizes):
            pick = sizes == size
            rows.append(doc_of_char[first[pick]])
            cols.append(_columns(_murmur3(padded, starts[pick], int(size)), n_features))
    if not rows:
        return sp.csr_matrix((len(docs), n_features), dtype=dtype)
    r, c = np.concatenate(rows), np.concatenate(cols)
    counts = sp.csr_matrix((np.ones(len(r), dtype=dtype), (r, c)), shape=(len(docs), n_features))
    counts.sum_duplicates()
    return counts


def _murmur3(data: np.ndarray, starts: np.ndarray, size: int) -> np.ndarray:
    """MurmurHash3_x86_32 (seed 0) of the ``size`` bytes at each of ``starts``, as signed 32-bit integers."""
    h = np.zeros(len(starts), dtype=np.uint32)
    for block in range(size // 4):
        at = starts + 4 * block
        k = (data[at].astype(np.uint32) | data[at + 1].astype(np.uint32) << 8
             | data[at + 2].astype(np.uint32) << 16 | data[at + 3].astype(np.uint32) << 24)
        h ^= _mix(k)
        h = _rotl(h, 13) * _M + _N
    tail = size & 3
    if tail:
        at = starts + (size - tail)
        k = np.zeros(len(starts), dtype=np.uint32)
        for i in reversed(range(tail)):
            k ^= data[at + i].astype(np.uint32) << np.uint32(8 * i)
        h ^= _mix(k)
    h ^= np.uint32(size)
    h ^= h >> np.uint32(16)
    h *= _F1
    h ^= h >> np.uint32(13)
    h *= _F2
    h ^= h >> np.uint32(16)
    return h.view(np.int32)


def _mix(k: np.ndarray) -> np.ndarray:
    return _rotl(k * _C1, 15) * _C2


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _columns(h: np.ndarray, n_features: int) -> np.ndarray:
    """The column scikit-learn's hashing puts a signed hash in: ``abs(h) % n_features`` (and its own rule for
    the one value whose absolute value does not fit in 32 bits)."""
    wide = h.astype(np.int64)
    return np.where(wide == _INT32_MIN, (2**31 - 1 - (n_features - 1)) % n_features, np.abs(wide) % n_features)
