"""Request bodies as the API reads them: JSON whose objects name each key once.

JSON allows a key twice in one object and Python's parser keeps the last, so ``{"result": "reached", "result":
"unreachable"}`` was recorded as unreachable, and a client (or a proxy that merged two bodies) never heard that
half of what it sent was dropped. Every router of the API with a route that reads a body is made with
:class:`UniqueKeysRoute` (its ``route_class``), whose requests parse the body once, refusing a repeated key with a
422 in the shape of the other validation errors, naming the key."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute


class _Repeated(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class _Overlong(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


_TOO_LONG = object()
"""what an integer of more digits than Python reads (4,300: ``sys.get_int_max_str_digits``) parses to, so that the
object holding it can name its key (:func:`_once`); int() itself raised a ValueError that named nothing, and
FastAPI answered it as a body not in UTF-8"""


def _integer(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        return _TOO_LONG


def _holds_overlong(value: Any) -> bool:
    """Whether ``value`` or a list in it holds :data:`_TOO_LONG` (an object's own are its hook's business). A loop,
    not a recursion: arrays a few hundred deep, which the parser reads, ran the recursion out."""
    pending = [value]
    while pending:
        item = pending.pop()
        if item is _TOO_LONG:
            return True
        if isinstance(item, list):
            pending.extend(item)
    return False


MAX_DEPTH = 32
"""how deep a body's arrays and objects may nest: no request of Aegis nests more than a few levels"""


def _depth(value: Any) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            pending.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def _once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object of the body (``object_pairs_hook``): its keys each once, else the first one repeated; and no
    integer too long to read (:data:`_TOO_LONG`), else its key."""
    for key, value in pairs:
        if _holds_overlong(value):
            raise _Overlong(key)
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
                parsed = json.loads(await self.body(), object_pairs_hook=_once, parse_int=_integer)
            except _Repeated as repeated:
                # FastAPI passes an HTTPException raised while it reads the body on as it is
                raise HTTPException(422, [{
                    "loc": ["body", repeated.key],
                    "msg": f"key '{repeated.key}' given more than once in one object of the body (the last "
                           "would have been taken silently); give each key once",
                    "type": "duplicate_key"}]) from None
            except _Overlong as overlong:
                raise _overlong(["body", overlong.key]) from None
            except RecursionError:  # the parser's own limit, some 1,000 levels: FastAPI called it "not UTF-8"
                raise _too_deep() from None
            if _depth(parsed) > MAX_DEPTH:
                raise _too_deep()
            if _holds_overlong(parsed):
                raise _overlong(["body"])
            self._json = parsed
        return self._json


def _too_deep() -> HTTPException:
    return HTTPException(422, [{"loc": ["body"], "msg": f"arrays or objects nested more than {MAX_DEPTH} deep (no "
                                                        "request of Aegis nests more than a few levels)",
                                "type": "json_too_deep"}])


def _overlong(loc: list[str]) -> HTTPException:
    return HTTPException(422, [{"loc": loc, "msg": f"an integer of more than {sys.get_int_max_str_digits():,} "
                                                   "digits: no number Aegis takes is written so long",
                                "type": "int_too_long"}])


class UniqueKeysRoute(APIRoute):
    """A route whose JSON body may not repeat a key within an object (:func:`_once`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            return await handle(_UniqueKeysRequest(request.scope, request.receive))

        return handler
