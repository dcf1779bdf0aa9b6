"""The HTTP API (OpenAPI at /docs), versioned under /api/v1. Routers are thin shells over use cases."""

from __future__ import annotations

import importlib
import pkgutil
from collections import Counter
from collections.abc import Sequence
from typing import Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import aegis
import aegis.api
from aegis.reasons import Explained, parse_lang
from aegis.usecases.actor import PermissionDenied


def _known_query(request: Request) -> None:
    """Refuse query parameters the route does not take: FastAPI ignores them, so ``?open=true`` for
    ``open_only`` answered closed warnings too, as if the filter had been applied."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:  # not one of the API's routes (the OpenAPI pages)
        return
    # worked out on a route's first request, then kept by the route's id: the app keeps its routes alive, and a
    # route (which defines __eq__) is no dict key
    names = request.app.state.query_names
    known = names.get(id(route))
    if known is None:
        known = names[id(route)] = _query_names(dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise RequestValidationError([{"type": "extra_forbidden", "loc": ("query", name),
                                       "msg": f"unknown query parameter (this route takes: "
                                              f"{', '.join(sorted(known)) or 'none'})", "input": None}
                                      for name in unknown])
    # no route takes a list from the query string: a name given twice is a client's (or an appending proxy's)
    # mistake, and FastAPI took the last silently (status=closed&status=new listed the new ones)
    given = Counter(name for name, _ in request.query_params.multi_items())
    repeated = sorted(name for name, times in given.items() if times > 1)
    if repeated:
        raise RequestValidationError([{"type": "duplicate_parameter", "loc": ("query", name),
                                       "msg": "query parameter given more than once (the last would have been "
                                              "taken silently); give each once", "input": None}
                                      for name in repeated])


def _query_names(dependant: Any) -> frozenset[str]:
    """The query parameters a route takes: its own and its dependencies' (the language, the actor ...), and
    ``lang``, which every route may be asked (the README's ?lang=en)."""
    known = {"lang"}
    pending = [dependant]
    while pending:
        current = pending.pop()
        known |= {p.alias for p in current.query_params}
        pending += current.dependencies
    return frozenset(known)


MAX_BODY_BYTES = 16 * 1024 * 1024
"""the largest request body the API reads (``aegis serve --max-body-mb``): the largest batch of SMS, 1,000 texts
of 2,000 Chinese characters, is some 6 MB as UTF-8 and 12 MB with every character escaped (``\\u4f60``, Python's
``json.dumps`` default); a body beyond it is no request Aegis can take, only memory and time spent parsing"""


_UNPARSED = "There was an error parsing the body"


def _words(exc: Exception, request: Request) -> str:
    """A use case's refusal in the request's language (``?lang=``, else Accept-Language, else Chinese), as its
    reasons are given: a person reads it on a screen (the dashboard) as often as a gateway logs it."""
    if isinstance(exc, Explained):
        return exc.text(parse_lang(request.query_params.get("lang") or request.headers.get("accept-language")))
    return str(exc)


def _json_media(media: str) -> bool:
    """application/json, or a JSON-based type (application/problem+json)."""
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class BodyLimit:
    """Refuse a request body over ``max_bytes`` with a 413 that says the limit: at once when its Content-Length
    says so, else as soon as the bytes read pass it (a chunked body declares no length)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refusal(self, size: str) -> str:
        return (f"body: {size} is more than the {self.max_bytes:,} bytes ({self.max_bytes / 2**20:g} MiB) a "
                "request may hold; send a large batch in parts")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length", "")
        sent = declared not in ("", "0") or "chunked" in headers.get("transfer-encoding", "")
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if sent and scope["method"] in ("POST", "PUT", "PATCH") and not _json_media(media):
            # read as JSON anyway, a form or plain text failed as "Input should be a valid list"
            response = JSONResponse(status_code=415, content={"detail": (
                f"Content-Type: '{media or 'none'}' is not JSON; send the body as application/json, in UTF-8")})
            await response(scope, receive, send)
            return
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse(status_code=413, content={"detail": self._refusal(f"{int(declared):,} bytes")})
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # raised where the route reads its body: FastAPI passes an HTTPException on, as a 413
                    raise HTTPException(413, self._refusal("the body"))
            return message

        await self.app(scope, counted, send)


def create_app(engine: Engine, *, max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    app = FastAPI(title="Aegis (反诈神盾) API", version=aegis.__version__, dependencies=[Depends(_known_query)])
    app.state.engine = engine
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)

    @app.exception_handler(PermissionDenied)
    async def _forbidden(request: Request, exc: PermissionDenied) -> JSONResponse:
        return JSONResponse(status_code=403, content={"detail": _words(exc, request)})

    @app.exception_handler(StarletteHTTPException)  # FastAPI raises Starlette's own when it reads a body
    async def _http(request: Request, exc: StarletteHTTPException) -> Any:
        if exc.status_code == 400 and exc.detail == _UNPARSED:  # FastAPI's words for a body that is not UTF-8
            return JSONResponse(status_code=400, content={"detail": "body: not JSON text in UTF-8 (a GBK or other "
                                                                    "encoding is refused: JSON is sent as UTF-8)"})
        return await http_exception_handler(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": readable_errors(exc.errors())})

    @app.exception_handler(ValueError)
    async def _bad_value(request: Request, exc: ValueError) -> JSONResponse:
        # a use case's refusal of a value (an unknown state, a bad filter): the request's fault, named in one line
        return JSONResponse(status_code=422, content={"detail": _words(exc, request)})

    @app.exception_handler(LookupError)
    async def _not_found(request: Request, exc: LookupError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": _words(exc, request).strip("'\"")})

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": aegis.__version__}

    # every module aegis.api.routes_* contributes a `router`
    for module in sorted(pkgutil.iter_modules(aegis.api.__path__), key=lambda m: m.name):
        if module.name.startswith("routes_"):
            app.include_router(importlib.import_module(f"aegis.api.{module.name}").router, prefix="/api/v1")
    app.state.query_names = {}  # each route's query parameters (_known_query)
    return app


MAX_ERRORS = 20
"""a 422 lists at most this many errors (a batch of 1,000 bad items would otherwise echo them all)"""


def readable_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Validation errors without the request's values (which hold personal data and made a bad batch's answer
    megabytes long) and, for a body that may be one object or a list of them, only the errors of the shape that
    was sent: pydantic reports both ("Input should be a valid list" beside the real error), each under its own
    branch name in ``loc`` (``["body", "SmsIn", ...]``, ``["body", "list[SmsIn]", ...]``)."""
    def shape_error(error: Any, kind: str) -> bool:
        return bool(error["type"] == kind and len(error["loc"]) == 2 and error["loc"][0] == "body")

    sent_a_list = any(shape_error(e, "model_attributes_type") for e in errors)
    either = sent_a_list or any(shape_error(e, "list_type") for e in errors)
    kept = []
    for error in errors:
        loc = list(error["loc"])
        if either and len(loc) > 1 and loc[0] == "body" and isinstance(loc[1], str):
            if loc[1].startswith("list[") != sent_a_list:
                continue  # the other branch's complaint
            loc = ["body", *loc[2:]]
        kept.append({"loc": loc, "msg": error["msg"], "type": error["type"]})
    if len(kept) > MAX_ERRORS:
        kept = [*kept[:MAX_ERRORS], {"loc": ["body"], "msg": f"and {len(kept) - MAX_ERRORS} more errors",
                                     "type": "more"}]
    return kept
