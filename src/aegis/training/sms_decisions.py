"""The README's SMS decision row: what the real-time SMS decision does with messages of a labelled text CSV.

    .venv/bin/python -m aegis.training.sms_decisions --data FILE [--policy FILE] [--json]

Each message is decided as ``POST /api/v1/decisions/sms`` decides it: the text model, the URL model on each of
its links, the decisions policy, and an empty store, so no sender history (a number Aegis has never seen, the
hardest case and the most common one for a new scam). Nothing is recorded. Printed: for the fraud and the normal
messages apart, the share blocked, warned and passed; and for the messages with a link, the same again, since a
link is where the text model and the URL model meet. A message is "stopped" when it is blocked or warned; the
fraud precision, recall and F1 count that. A label is normal when the text task reads it so (``0``, ``normal``,
``正常``) or it is a yes/no "no" (``false``, ``0.0``); any other is a fraud type. Empty messages are skipped and
counted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from aegis.detectors.text import is_normal_label
from aegis.events.urls import find_links
from aegis.reasons import Reason
from aegis.training.task import NORMAL_SPELLINGS, DataError
from aegis.training.text import read_csv

BATCH = 1_000
"""the API's largest batch"""


def evaluate(path: Path, policy: Path | None = None) -> dict[str, Any]:
    """The figures above for the messages of ``path`` (a labelled text CSV)."""
    from aegis.decisions.policy import load_policy
    from aegis.store import open_engine
    from aegis.usecases.actor import SYSTEM
    from aegis.usecases.decisions import Decider, SmsIn

    texts, labels = read_csv(path, labelled=True)
    assert labels is not None  # read labelled
    kept = [(t[:2000], not _normal(y)) for t, y in zip(texts, labels, strict=True) if t.strip()]
    if not kept:
        raise DataError(Reason("{path}：没有可判定的短信（每条文本都为空，或文件中没有短信）", path=str(path)))
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{Path(folder) / 'empty.db'}")
        decider = Decider(engine, SYSTEM, load_policy(policy) if policy else None, record=False)
        actions: list[str] = []
        for start in range(0, len(kept), BATCH):
            batch = [SmsIn(request_id=f"m{start + i}", sender="13800000000", text=text)
                     for i, (text, _) in enumerate(kept[start:start + BATCH])]
            actions += [d.action.value for d in decider.sms(batch)]
        engine.dispose()
    rows = [(fraud, bool(find_links(text)), action) for (text, fraud), action in zip(kept, actions, strict=True)]
    return {"messages": len(rows), "skipped_empty": len(texts) - len(rows), "all": _figures(rows),
            "with_links": _figures([r for r in rows if r[1]])}


def _normal(label: str) -> bool:
    return is_normal_label(label) or label.strip().lower() in NORMAL_SPELLINGS


def _figures(rows: list[tuple[bool, bool, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, fraud in (("fraud", True), ("normal", False)):
        acts = [action for is_fraud, _, action in rows if is_fraud is fraud]
        out[name] = {"n": len(acts), **{a: round(acts.count(a) / len(acts), 4) if acts else None
                                        for a in ("block", "warn", "pass")}}
    caught = sum(1 for fraud, _, action in rows if fraud and action != "pass")
    stopped = sum(1 for _, _, action in rows if action != "pass")
    frauds = sum(1 for fraud, _, _ in rows if fraud)
    # undefined (None) where nothing was stopped or nothing is fraud, as the shares of an empty class are
    precision = caught / stopped if stopped else None
    recall = caught / frauds if frauds else None
    out["fraud_precision"] = None if precision is None else round(precision, 4)
    out["fraud_recall"] = None if recall is None else round(recall, 4)
    if precision is None or recall is None:
        out["fraud_f1"] = None
    else:
        out["fraud_f1"] = round(2 * precision * recall / (precision + recall), 4) if caught else 0.0
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="labelled text CSV (text, label)")
    parser.add_argument("--policy", type=Path, help="a decisions policy file (default: the shipped one)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    try:
        figures = evaluate(args.data, args.policy)
    except (ValueError, OSError) as exc:
        parser.exit(2, f"error: {exc}\n")
    if args.json:
        print(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    print(f"messages: {figures['messages']} (empty, skipped: {figures['skipped_empty']})")
    for part in ("all", "with_links"):
        shown = figures[part]
        for name in ("fraud", "normal"):
            f = shown[name]
            print(f"{part} {name} (n={f['n']}): block {f['block']}, warn {f['warn']}, pass {f['pass']}")
        print(f"{part}: fraud precision {shown['fraud_precision']}, recall {shown['fraud_recall']}, "
              f"F1 {shown['fraud_f1']}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
