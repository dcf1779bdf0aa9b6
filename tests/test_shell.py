"""The shell around the use cases: output cut short by a reader that stops early, `aegis simulate`'s folder, and
the Makefile's targets."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_every_phony_target_of_the_makefile_is_a_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE)
    assert phony is not None
    missing = [t for t in phony.group(1).split() if not re.search(rf"^{re.escape(t)}:", makefile, re.MULTILINE)]
    assert missing == []
