"""The funds chase (控): trace a victim's money, order banks to stop and freeze it, return it to the victims.

One function per thing a user does. The city anti-fraud centre opens a chase from a report, which traces the
loss transfers and issues stop-payment orders to the banks of the accounts still holding the money; each
bank sees and answers only the orders for its own accounts (警银联动); a "money already moved on" answer
makes the chase trace again and order the next hop at once; stop-payments are escalated to freezes, and
frozen money is returned to the victims pro rata. Every order state change is validated by
:mod:`aegis.actions.orders` and written to the audit log in the same transaction.

Transfers come from a :class:`FundsData` (the store's events by default; the simulator's files for the demo
and the evaluation), so the same use cases run on both.

The modules follow a chase's life: :mod:`.data` (where transfers come from), :mod:`.records` (the rows:
tracing, issuing and moving orders; shared by the use cases), :mod:`.reports` (the reports chases open from),
:mod:`.chase` (open, follow, trace again), :mod:`.orders` (a bank's answer, freeze, release, expiry, return),
:mod:`.contacts` (banks' duty posts), :mod:`.views` (what they return), :mod:`.simulated` (simulated banks for
the demo) and :mod:`.evaluation` (against a simulated city's truth).
"""

from aegis.usecases.funds.chase import RETRACE, add_losses, get_chase, list_orders, open_chase, retrace
from aegis.usecases.funds.contacts import bank_contacts, load_bank_contacts
from aegis.usecases.funds.data import TRANSFER_COLUMNS, FundsData
from aegis.usecases.funds.evaluation import evaluate_funds_sim
from aegis.usecases.funds.orders import (
    BANK_ACTIONS,
    escalate,
    expire_orders,
    reissue,
    release,
    respond,
    return_funds,
)
from aegis.usecases.funds.records import CHASE_ROLES, ChangedMeanwhile, ChaseError
from aegis.usecases.funds.reports import ReportView, list_reports
from aegis.usecases.funds.simulated import CITY, SimulatedBanks, run_demo_chase
from aegis.usecases.funds.views import ChaseView, OrderView, RespondResult, ReturnView

__all__ = [
    "BANK_ACTIONS",
    "CHASE_ROLES",
    "CITY",
    "RETRACE",
    "TRANSFER_COLUMNS",
    "ChangedMeanwhile",
    "ChaseError",
    "ChaseView",
    "FundsData",
    "OrderView",
    "ReportView",
    "RespondResult",
    "ReturnView",
    "SimulatedBanks",
    "add_losses",
    "bank_contacts",
    "escalate",
    "evaluate_funds_sim",
    "expire_orders",
    "get_chase",
    "list_orders",
    "list_reports",
    "load_bank_contacts",
    "open_chase",
    "reissue",
    "release",
    "respond",
    "retrace",
    "return_funds",
    "run_demo_chase",
]
