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

``--letterheads FILE`` (one a line, such as ``【中国移动】``; ``#`` starts a comment) decides every message again
behind each letterhead, as a scam dressed as a carrier's or a bank's notice is written: of the fraud messages
stopped bare, how many pass behind a letterhead, and of the normal ones passed bare, how many are stopped, in all
and per letterhead.
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


def evaluate(path: Path, policy: Path | None = None, letterheads: Path | None = None) -> dict[str, Any]:
    """The figures above for the messages of ``path`` (a labelled text CSV), and behind the ``letterheads``."""
    from aegis.decisions.policy import load_policy
    from aegis.store import open_engine
    from aegis.usecases.actor import SYSTEM
    from aegis.usecases.decisions import Decider, SmsIn

    texts, labels = read_csv(path, labelled=True)
    assert labels is not None  # read labelled
    kept = [(t[:2000], not _normal(y)) for t, y in zip(texts, labels, strict=True) if t.strip()]
    if not kept:
        raise DataError(Reason("{path}：没有可判定的短信（每条文本都为空，或文件中没有短信）", path=str(path)))
    heads = read_letterheads(letterheads) if letterheads else []
    with tempfile.TemporaryDirectory() as folder:
        engine = open_engine(f"sqlite:///{Path(folder) / 'empty.db'}")
        decider = Decider(engine, SYSTEM, load_policy(policy) if policy else None, record=False)

        def decide(messages: list[str]) -> list[str]:
            actions: list[str] = []
            for start in range(0, len(messages), BATCH):
                batch = [SmsIn(request_id=f"m{start + i}", sender="13800000000", text=text)
                         for i, text in enumerate(messages[start:start + BATCH])]
                actions += [d.action.value for d in decider.sms(batch)]
            return actions

        actions = decide([text for text, _ in kept])
        behind = {head: decide([(head + text)[:2000] for text, _ in kept]) for head in heads}
        engine.dispose()
    rows = [(fraud, bool(find_links(text)), action) for (text, fraud), action in zip(kept, actions, strict=True)]
    out: dict[str, Any] = {"messages": len(rows), "skipped_empty": len(texts) - len(rows), "all": _figures(rows),
                           "with_links": _figures([r for r in rows if r[1]])}
    if heads:
        out["letterheads"] = _behind_letterheads([fraud for _, fraud in kept], actions, behind)
    return out


def read_letterheads(path: Path) -> list[str]:
    """The letterheads of ``path``, one a line, without blank lines and ``#`` comments."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(Reason("{path}：无法作为UTF-8文本读取（{error}）", path=str(path), error=str(exc))) from None
    heads = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not heads:
        raise DataError(Reason("{path}：没有信头（每行一个，如【中国移动】）", path=str(path)))
    return heads


def _behind_letterheads(fraud: list[bool], bare: list[str], behind: dict[str, list[str]]) -> dict[str, Any]:
    """What the letterheads changed: fraud stopped bare but passed behind one, normal passed bare but stopped."""
    stopped = [f and a != "pass" for f, a in zip(fraud, bare, strict=True)]
    passed = [not f and a == "pass" for f, a in zip(fraud, bare, strict=True)]
    per: dict[str, dict[str, int]] = {}
    lost = [False] * len(bare)
    for head, actions in behind.items():
        slipped = [s and a == "pass" for s, a in zip(stopped, actions, strict=True)]
        lost = [x or y for x, y in zip(lost, slipped, strict=True)]
        per[head] = {"fraud_passed": sum(slipped),
                     "normal_stopped": sum(p and a != "pass" for p, a in zip(passed, actions, strict=True)),
                     "fraud_passed_all": sum(f and a == "pass" for f, a in zip(fraud, actions, strict=True))}
    pairs = len(behind)
    return {
        "letterheads": pairs,
        "fraud_stopped_bare": sum(stopped),
        "fraud_passed_behind": sum(p["fraud_passed"] for p in per.values()),
        "fraud_pairs": sum(stopped) * pairs,
        "fraud_passed_behind_any": sum(lost),
        "normal_passed_bare": sum(passed),
        "normal_stopped_behind": sum(p["normal_stopped"] for p in per.values()),
        "normal_pairs": sum(passed) * pairs,
        "by_letterhead": per,
    }


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
    parser.add_argument("--letterheads", type=Path, help="decide every message again behind each letterhead of "
                        "this file (one a line)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    try:
        figures = evaluate(args.data, args.policy, args.letterheads)
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
    if "letterheads" in figures:
        heads = figures["letterheads"]
        print(f"behind {heads['letterheads']} letterheads: fraud stopped bare and passed behind one "
              f"{heads['fraud_passed_behind']} of {heads['fraud_pairs']} (messages passed behind any: "
              f"{heads['fraud_passed_behind_any']} of {heads['fraud_stopped_bare']}); normal passed bare and stopped "
              f"behind one {heads['normal_stopped_behind']} of {heads['normal_pairs']}")
        for head, counts in heads["by_letterhead"].items():
            print(f"  {head}: fraud passed {counts['fraud_passed']} (all fraud passed {counts['fraud_passed_all']}), "
                  f"normal stopped {counts['normal_stopped']}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
