"""GET /api/v1/audit: the audit log, newest first, for the city centre and auditors (masked for auditors)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from aegis.api.deps import ActorDep, EngineDep, LangDep
from aegis.usecases.audit import read_audit

router = APIRouter(tags=["audit"])


@router.get("/audit")
def audit(
    engine: EngineDep,
    actor: ActorDep,
    lang: LangDep,
    subject_type: Annotated[str | None, Query(max_length=32)] = None,
    subject_id: Annotated[str | None, Query(max_length=80)] = None,
    action: Annotated[str | None, Query(max_length=64, description="a prefix: decision. is every decision")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """Who decided what about whom, when and why; reading it is recorded too."""
    return read_audit(engine, actor, subject_type=subject_type, subject_id=subject_id, action=action, limit=limit,
                      lang=lang)
