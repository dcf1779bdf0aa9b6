"""The one shape every detector has.

A detector is a plain object (configuration in ``__init__``, learning in ``fit``) with no I/O, so the embedded
pipeline, the decision API, the evaluation command and the distributed jobs all call the same code:

- ``fit(X, y)`` learns from a labelled batch and returns the detector;
- ``score(X)`` returns the probability of fraud for each item, in input order (the fast path);
- ``predict(X)`` returns a :class:`Verdict` per item: score, label, fraud type and the reasons behind it.

What ``X`` is depends on the detector (texts, URLs, number profiles, account features); each detector's
docstring says.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np

from aegis.reasons import Reason

Labels = Sequence[Any] | np.ndarray
"""what ``fit`` takes as ``y``: one label per row, as a sequence or a NumPy array"""


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a detector says about one item."""

    score: float
    """probability of fraud, in [0, 1]"""
    label: str
    """the predicted class, in the vocabulary of the training labels (e.g. a fraud type, or ``normal``)"""
    reasons: tuple[Reason, ...] = field(default=())
    """why, strongest first: messages that read in Chinese or English (:mod:`aegis.reasons`)"""
    fraud_type: str | None = None
    """the likely fraud type, when the detector knows one"""

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score: {self.score} is outside [0, 1]")


class Detector(ABC):
    """Base class of all detectors: ``fit`` / ``score`` / ``predict``."""

    kind: ClassVar[str]
    model_format: ClassVar[int] = 1
    """bumped when a detector fitted by an earlier version can no longer score (a new fitted part); a saved
    model records it, and loading one of another format is refused with a clear error"""

    @abstractmethod
    def fit(self, X: Any, y: Labels) -> Self: ...

    @abstractmethod
    def score(self, X: Any) -> np.ndarray:
        """Probability of fraud per item, shape ``(n,)``."""

    @abstractmethod
    def predict(self, X: Any) -> list[Verdict]:
        """A verdict with reasons per item, in input order."""

    def unseen_inputs(self, X: Any) -> list[str]:
        """The inputs the fitted model learnt from that ``X`` does not have at all (columns of another source);
        they count as missing, so the scores may mean little. Empty for detectors that read raw items."""
        return []

    def input_notes(self, X: Any) -> list[Reason]:
        """What else about ``X`` a reader of its scores should know (numbers absent from the contact graph given
        with them); empty when nothing."""
        return []

    def unknown_labels(self, y: Labels) -> list[str]:
        """Labels of ``y`` the fitted model never predicts (another source's names for its classes), so a
        per-label comparison with its predictions means little. Empty for detectors with two fixed labels."""
        return []
