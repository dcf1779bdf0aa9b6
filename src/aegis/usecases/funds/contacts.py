"""Banks' duty posts for orders (who to call at a bank, and who is on duty now)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from aegis.actions.orders import (
    FundsPolicy,
    load_policy,
)
from aegis.reasons import Reason
from aegis.store.engine import begin_write
from aegis.store.repositories import AuditLog, conflict_insert
from aegis.store.schema_funds import bank_contact
from aegis.usecases.actor import Actor
from aegis.usecases.funds.records import CHASE_ROLES, _bank_scope, _now


def load_bank_contacts(engine: Engine, actor: Actor, policy: FundsPolicy | None = None) -> int:
    """Store the policy's bank duty posts (replacing stored ones of the same bank and role)."""
    actor.require(CHASE_ROLES, Reason("设置银行联系人"))
    policy = policy or load_policy()
    now = datetime.now(UTC)
    rows = [
        {"bank": bank, **c.model_dump(), "updated_at": now}
        for bank, posts in policy.banks.items()
        for c in posts
    ]
    with begin_write(engine) as conn:
        statement = conflict_insert(conn, bank_contact)
        statement = statement.on_conflict_do_update(
            index_elements=["bank", "role"],
            set_={k: statement.excluded[k] for k in ("post", "phone", "hours", "updated_at")},
        )
        if rows:
            conn.execute(statement, rows)
        AuditLog(engine).append(
            actor=actor.label,
            action="bank_contact.load",
            subject_type="bank_contact",
            subject_id="*",
            details={"rows": len(rows)},
            connection=conn,
        )
    return len(rows)


def bank_contacts(
    engine: Engine, actor: Actor, *, bank: str | None = None, at: datetime | None = None
) -> list[dict[str, Any]]:
    """Duty posts per bank with whether each is on duty at ``at``; a bank sees only its own."""
    from aegis.actions.orders import Contact

    bank = _bank_scope(actor, bank, Reason("联系人"), Reason("查看银行联系人"))
    at = _now(at, "at")
    query = select(bank_contact).order_by(bank_contact.c.bank, bank_contact.c.role)
    if bank:
        query = query.where(bank_contact.c.bank == bank)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        {
            "bank": r.bank,
            "role": r.role,
            "post": r.post,
            "phone": r.phone,
            "hours": r.hours,
            "on_duty": Contact(role=r.role, post=r.post, phone=r.phone, hours=r.hours).on_duty(at),
        }
        for r in rows
    ]
