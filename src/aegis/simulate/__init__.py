"""A vectorised city simulator: residents, their ordinary traffic, fraud gangs and victims, with ground truth.

>>> from aegis.simulate import SimConfig
>>> SimConfig(people=1000, days=1, seed=7).start.isoformat()
'2026-10-01'
"""

from aegis.simulate.config import SimConfig
from aegis.simulate.engine import simulate

__all__ = ["SimConfig", "simulate"]
