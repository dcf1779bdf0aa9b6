"""Rebuild the default account model from the two AMLSim graphs (Apache-2.0, so they may be bundled).

    .venv/bin/python -m aegis.training.account_default [SHARED_AMLSIM_DIR]

Trains on ``20K_cycle200`` and ``20K_fanin200`` together, reports leave-one-graph-out figures on the card, and
writes the model to ``src/aegis/data/models/account``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aegis.training.account import TASK
from aegis.training.modelstore import default_model_dir, save_model
from aegis.training.task import Inputs

GRAPHS = ("20K_cycle200", "20K_fanin200")
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "datasets" / "transfers" / "amlsim"

NOTES = """\
Mule-account detector (collective classification: an own-transfers LightGBM model, whose features include
triangles among an account's counterparties, then a second LightGBM model that adds its out-of-fold scores of
every account's counterparties: share of risky counterparties and transfers, triangles and clusters of risky
accounts, a personalised PageRank). Trained on IBM AMLSim
graphs (simulated; Apache-2.0, https://github.com/IBM/AMLSim): one with 200 cycle patterns and one with 200
fan-in patterns. The metrics are leave-one-graph-out: trained on one graph, scored on the other, which is how
the model meets an unseen bank or simulation. AMLSim is synthetic: expect lower figures on real transfers and
retrain on labelled local data (`aegis train account ...`) before relying on it. `fraudStep` and
`init_balance` are not used: one is ground truth, the other is not part of a transfer stream."""


def main(shared: Path = SHARED) -> dict:
    inputs = Inputs(accounts=[shared / g / "nodes.csv" for g in GRAPHS],
                    transfers=[shared / g / "transactions.csv" for g in GRAPHS], format="amlsim")
    data = TASK.load(inputs, labelled=True)
    metrics = TASK.cross_validate(data, len(GRAPHS))
    detector = TASK.new_detector().fit(data.X, data.y)
    # the card names the shared files relative to shared/, not by this machine's absolute paths
    graphs = [{**g, **{k: str(Path(g[k]).resolve().relative_to(shared.resolve().parents[2]))
                       for k in ("accounts", "transfers")}} for g in data.meta["graphs"]]
    data_card = {"source": "IBM AMLSim (Apache-2.0)", "rows": data.n, "format": data.meta["format"],
                 "graphs": graphs}
    return save_model(detector, default_model_dir("account"), data=data_card, metrics=metrics, notes=NOTES)


if __name__ == "__main__":
    card = main(Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED)
    print(card["metrics"])
