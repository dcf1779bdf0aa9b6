"""A real-time decision loads only what its channel uses: the models and the libraries behind them take seconds
to load, and `aegis decide` starts a new process for every file."""

from __future__ import annotations

import json
import subprocess
import sys

# in a new interpreter: this process has imported everything already. Each step prints the shipped models loaded
# so far (the cache of shipped_detector) and which of the heavy libraries have been imported.
STEPS = """
import json, sys
from aegis.store import open_engine
from aegis.usecases.actor import SYSTEM
from aegis.usecases.decisions import Decider, SmsIn, TransferIn, shipped_detector

decider = Decider(open_engine(sys.argv[1]), SYSTEM)
steps = {
    "transfer": lambda: decider.transfer([TransferIn(payer_account="6212000000000001",
                                                     payee_account="6222000000000001", amount="50000")]),
    "sms": lambda: decider.sms([SmsIn(sender="17012345678",
                                      text="【公安局】您涉嫌洗钱案件，请立即将资金转入安全账户配合调查")]),
    "sms_with_a_link": lambda: decider.sms([SmsIn(sender="13800000011",
                                                  text="您的ETC已失效，请登录 http://etc-gov.top/a1 认证")]),
}
for name, step in steps.items():
    action = step()[0].action.value
    libraries = sorted(m for m in ("sklearn", "lightgbm", "pandas", "scipy", "jieba") if m in sys.modules)
    print(json.dumps({"step": name, "action": action, "models": shipped_detector.cache_info().currsize,
                      "url_module": "aegis.detectors.url" in sys.modules, "libraries": libraries}))
"""


def test_each_channel_loads_only_the_models_it_uses(tmp_path):
    done = subprocess.run([sys.executable, "-c", STEPS, f"sqlite:///{tmp_path / 'aegis.db'}"],
                          capture_output=True, text=True, check=True)
    transfer, sms, linked = (json.loads(line) for line in done.stdout.splitlines())
    # a transfer reads the store's profiles and warnings: no model, no machine-learning library
    assert transfer == {"step": "transfer", "action": "pass", "models": 0, "url_module": False, "libraries": []}
    # an SMS without a link: the text model (numpy and scipy.sparse) and jieba for its reasons, not the URL model
    # (blocked since the corpus wrote scams behind letterheads too; it warned while "【公安局】" read as a notice's)
    assert (sms["action"], sms["models"], sms["url_module"]) == ("block", 1, False)
    assert sms["libraries"] == ["jieba", "scipy"]
    # a link brings the URL model, and with it scikit-learn and LightGBM
    assert (linked["action"], linked["models"], linked["url_module"]) == ("block", 2, True)
    assert {"sklearn", "lightgbm"} <= set(linked["libraries"])
