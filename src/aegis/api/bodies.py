"""Request bodies as the API reads them: JSON whose objects name each key once.

JSON allows a key twice in one object and Python's parser keeps the last, so ``{"result": "reached", "result":
"unreachable"}`` was recorded as unreachable, and a client (or a proxy that merged two bodies) never heard that
half of what it sent was dropped. Every router of the API with a route that reads a body is made with
:class:`UniqueKeysRoute` (its ``route_class``), whose requests parse the body once, refusing a repeated key with a
422 in the shape of the other validation errors, naming the key."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute


class _Repeated(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object of the body (``object_pairs_hook``): its keys each once, else the first one repeated."""
    found = dict(pairs)
    if len(found) != len(pairs):  # rare: looked into only then
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Repeated(key)
            seen.add(key)
    return found


class _UniqueKeysRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = json.loads(await self.body(), object_pairs_hook=_once)
            except _Repeated as repeated:
                # FastAPI passes an HTTPException raised while it reads the body on as it is
                raise HTTPException(422, [{
                    "loc": ["body", repeated.key],
                    "msg": f"key '{repeated.key}' given more than once in one object of the body (the last "
                           "would have been taken silently); give each key once",
                    "type": "duplicate_key"}]) from None
        return self._json


class UniqueKeysRoute(APIRoute):
    """A route whose JSON body may not repeat a key within an object (:func:`_once`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await handle(_UniqueKeysRequest(request.scope, request.receive))

        return handler
