"""Funds tracing (涉案资金追踪): where did a victim's money go, and how much of it is still there.

``TransferIndex`` holds the transfers in memory, ``trace`` follows a victim's loss transfers forward by the
FIFO, the LIFO or the proportional rule; see ``aegis.funds.tracing`` for the accounting.
"""

from aegis.funds.index import TransferIndex
from aegis.funds.tracing import ReachedAccount, Seed, TraceResult, trace

__all__ = ["ReachedAccount", "Seed", "TraceResult", "TransferIndex", "trace"]
