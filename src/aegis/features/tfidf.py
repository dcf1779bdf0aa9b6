"""TF-IDF weighting of sparse count rows, in place: the arithmetic shared by the text and URL detectors.

By hand rather than through scikit-learn's ``TfidfTransformer.transform``: that validates its input on every
call, which costs more than the arithmetic when one SMS or one URL is scored.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def weigh(counts: sp.csr_matrix, idf: np.ndarray, *, sublinear: bool = True) -> sp.csr_matrix:
    """``counts`` (CSR, duplicates summed) turned into TF-IDF rows of unit length, in place, and returned:
    term frequency ``1 + log(count)`` when ``sublinear``, times ``idf`` of the column, each row l2-normalised
    (an empty row stays empty), as scikit-learn's ``TfidfTransformer(sublinear_tf=..., norm="l2")`` gives."""
    if sublinear:
        np.log(counts.data, out=counts.data)
        counts.data += 1
    counts.data *= idf[counts.indices]
    squares = np.concatenate([[0.0], np.cumsum(np.square(counts.data, dtype=np.float64))])
    norms = np.sqrt(squares[counts.indptr[1:]] - squares[counts.indptr[:-1]])
    norms[norms == 0] = 1
    counts.data /= np.repeat(norms, np.diff(counts.indptr)).astype(counts.dtype)
    return counts
