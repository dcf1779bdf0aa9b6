"""The hand-made chase's clock, actors and transfers, shared by the funds tests of this folder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from aegis.events.models import Transfer
from aegis.usecases.actor import Actor, Role

T0 = datetime(2026, 10, 3, 2, 0, tzinfo=UTC)
CITY = Actor("desk", Role.city_centre)
BANK_B = Actor("duty", Role.bank, institution="bank-B")
BANK_C = Actor("duty", Role.bank, institution="bank-C")


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def transfer(payer: str, payee: str, amount: str, at: datetime | float, banks: str = "AB") -> Transfer:
    """A transfer between accounts of bank-<banks[0]> and bank-<banks[1]>; ``at`` a time or minutes after T0."""
    return Transfer(
        payer_account=payer,
        payee_account=payee,
        payer_bank=f"bank-{banks[0]}",
        payee_bank=f"bank-{banks[1]}",
        amount=D(amount),
        time=at if isinstance(at, datetime) else minutes(at),
    )
