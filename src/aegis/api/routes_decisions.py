"""POST /api/v1/decisions/{sms,call,url,transfer}: block / warn / pass, one request or a batch (a JSON list of
at most 1,000).

Reasons come in Chinese, or in English with ``?lang=en`` or ``Accept-Language: en``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel, Field

from aegis.api.bodies import UniqueKeysRoute
from aegis.api.deps import ActorDep, EngineDep, LangDep
from aegis.usecases.decisions import MAX_BATCH, CallIn, Decider, Decision, SmsIn, TransferIn, UrlIn

router = APIRouter(prefix="/decisions", tags=["decisions (控)"], route_class=UniqueKeysRoute)

T = TypeVar("T", bound=BaseModel)
#: a batch is a JSON list of at most MAX_BATCH requests; a longer one is refused (422) before any is decided
Batch = Annotated[list[T], Field(min_length=1, max_length=MAX_BATCH)]


def _run(items: T | list[T], decide: Callable[[Sequence[T]], list[Decision]]) -> Decision | list[Decision]:
    if isinstance(items, list):
        return decide(items)
    return decide([items])[0]


@router.post("/sms")
def decide_sms(
    body: SmsIn | Batch[SmsIn], engine: EngineDep, actor: ActorDep, lang: LangDep
) -> Decision | list[Decision]:
    """Decide on an SMS from its text, the links in it and the sender's risk."""
    return _run(body, Decider(engine, actor, lang=lang).sms)


@router.post("/call")
def decide_call(
    body: CallIn | Batch[CallIn], engine: EngineDep, actor: ActorDep, lang: LangDep
) -> Decision | list[Decision]:
    """Decide on a call from the caller's risk profile and, while it goes on, the transcript so far."""
    return _run(body, Decider(engine, actor, lang=lang).call)


@router.post("/url")
def decide_url(
    body: UrlIn | Batch[UrlIn], engine: EngineDep, actor: ActorDep, lang: LangDep
) -> Decision | list[Decision]:
    """Decide on a URL from the URL itself and the shared domain lists."""
    return _run(body, Decider(engine, actor, lang=lang).url)


@router.post("/transfer")
def decide_transfer(
    body: TransferIn | Batch[TransferIn], engine: EngineDep, actor: ActorDep, lang: LangDep
) -> Decision | list[Decision]:
    """Decide on a transfer from the payee account's risk and the payer's history with it."""
    return _run(body, Decider(engine, actor, lang=lang).transfer)
