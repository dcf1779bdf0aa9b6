"""Evidence fusion: independent signals about one subject become one score, its reasons and its fraud type.

A :class:`Signal` is one piece of evidence with its probability of fraud (a detector's verdict, a list entry,
what a number has sent); :func:`combine` joins them as independent evidence (noisy-OR), so one strong signal
decides and several named ones add up. The real-time decisions and the risk profiles both fuse this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from aegis.decisions.policy import SenderContent
from aegis.detectors.base import Verdict
from aegis.reasons import Reason

MIN_SCORE = 0.2
"""a signal weaker than this adds nothing to a stronger one, and neither its reasons nor its fraud type"""


@dataclass(frozen=True)
class Signal:
    """One piece of evidence with its probability of fraud; signals combine as independent evidence."""

    score: float
    reasons: tuple[Reason, ...]
    fraud_type: str | None = None


def combine(signals: Sequence[Signal]) -> Signal:
    """Noisy-OR of the named signals (at least :data:`MIN_SCORE`, with reasons), reasons strongest first, fraud
    type from the strongest typed signal; never below the strongest signal alone.

    Only evidence that says why adds up: a detector's score without reasons (the text model's 0.46 on a delivery
    notice with a link, which it calls normal) or a weak one is no evidence of fraud, and two of them joined by
    noisy-OR (0.46 and a link's 0.21 make 0.57) would warn with nothing to show for it. So a score above the
    strongest single signal is always explained by the reasons it returns.

    >>> combine([Signal(0.46, ()), Signal(0.21, ())]).score
    0.46
    """
    ordered = sorted(signals, key=lambda s: s.score, reverse=True)
    named = [s for s in ordered if s.score >= MIN_SCORE and s.reasons]
    miss = 1.0
    for signal in named:
        miss *= 1.0 - signal.score
    score = max(1.0 - miss, ordered[0].score if ordered else 0.0)
    reasons = tuple(r for s in named for r in s.reasons)
    fraud_type = next((s.fraud_type for s in ordered if s.fraud_type and s.score >= MIN_SCORE), None)
    return Signal(score, reasons, fraud_type)


@dataclass(frozen=True)
class SentContent:
    """What one number's SMS say, as the text detector read them."""

    sent: int
    """SMS the number sent"""
    fraud: int
    """of which the text detector called fraud with at least the policy's score"""
    receivers: int
    """the different numbers those fraud SMS went to"""
    top_score: float
    """the highest fraud score among them"""
    fraud_type: str | None
    """the fraud type of most of its fraud SMS"""


def with_links(text_scores: np.ndarray, text_labels: np.ndarray, links: Sequence[Verdict | None]
               ) -> tuple[np.ndarray, np.ndarray]:
    """Score and label per message from its text and its riskiest link, as an SMS decision reads both: the text
    detector no longer sees a link's characters (:data:`aegis.detectors.text.LINK_MARK`), the URL detector judges
    them. Fraud by both is their noisy-OR; by one, that one's score, with the text's fraud type, else the link's
    (``other`` when it names none); neither, the text's own score and label.

    ``links`` holds the URL detector's verdict on each message's riskiest link, None for a message without one.
    """
    from aegis.detectors.text import is_normal_label  # see sent_content
    from aegis.detectors.url import PHISHING

    scores = np.asarray(text_scores, dtype=np.float64).copy()
    labels = np.asarray(text_labels, dtype=object).copy()
    for i, link in enumerate(links):
        if link is None or link.label != PHISHING:
            continue
        if is_normal_label(labels[i]):
            scores[i], labels[i] = link.score, link.fraud_type or "other"
        else:
            scores[i] = 1.0 - (1.0 - scores[i]) * (1.0 - link.score)
    return scores, labels


def sent_content(senders: Sequence[str], receivers: Sequence[str], scores: np.ndarray, labels: np.ndarray,
                 rule: SenderContent) -> dict[str, SentContent]:
    """Per sender, from the score and label of each SMS (one entry per SMS, in any order; its text and links read
    by :func:`with_links`); an SMS is a fraud SMS when it is called fraud with at least ``rule.min_text_score``."""
    # imported here, for the profiles' batch job: a real-time decision needs only Signal and combine
    import pandas as pd

    from aegis.detectors.text import is_normal_label

    frame = pd.DataFrame({"sender": [str(s) for s in senders], "receiver": list(receivers), "score": scores,
                          "label": labels})
    sent = frame.groupby("sender", sort=False).size()
    bad = frame[~frame["label"].map(is_normal_label) & (frame["score"] >= rule.min_text_score)]
    by_sender = bad.groupby("sender", sort=False)
    fraud, reached, top = by_sender.size(), by_sender["receiver"].nunique(), by_sender["score"].max()
    # the commonest fraud type of each sender's fraud SMS (the first in label order on a tie)
    kinds = bad.groupby(["sender", "label"]).size().rename("n").reset_index()
    kind = kinds.sort_values(["sender", "n", "label"], ascending=[True, False, True]).drop_duplicates("sender")
    kind_of = dict(zip(kind["sender"], kind["label"], strict=True))
    return {
        sender: SentContent(sent=int(n), fraud=int(fraud.get(sender, 0)), receivers=int(reached.get(sender, 0)),
                            top_score=float(top.get(sender, 0.0)), fraud_type=kind_of.get(sender))
        for sender, n in sent.items()
    }


def with_sent_content(verdict: Verdict, content: SentContent | None, rule: SenderContent) -> Verdict:
    """A number's behavioural verdict joined with what it sent: a number that texted fraud to enough different
    numbers (``rule.min_receivers``) is a fraud number whatever its calls look like (a telco shuts such numbers
    down), with the texts' fraud type. Below the rule the verdict stands as it is."""
    from aegis.detectors.number import FRAUD  # its module imports LightGBM: see sent_content

    if content is None or content.fraud == 0 or content.receivers < rule.min_receivers:
        return verdict
    sent = Signal(content.top_score, (Reason("向{receivers}个号码发送诈骗短信{fraud}条（共发{sent}条）",
                                             receivers=content.receivers, fraud=content.fraud,
                                             sent=content.sent),), content.fraud_type)
    both = combine([sent, Signal(verdict.score, verdict.reasons, verdict.fraud_type)])
    return Verdict(both.score, FRAUD, both.reasons, both.fraud_type)
