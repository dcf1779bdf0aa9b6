"""The HTTP API (OpenAPI at /docs), versioned under /api/v1. Routers are thin shells over use cases."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

import aegis
import aegis.api
from aegis.usecases.actor import PermissionDenied


def create_app(engine: Engine) -> FastAPI:
    app = FastAPI(title="Aegis (反诈神盾) API", version=aegis.__version__)
    app.state.engine = engine

    @app.exception_handler(PermissionDenied)
    async def _forbidden(_: Request, exc: PermissionDenied) -> JSONResponse:
        return JSONResponse(status_code=403, content={"detail": str(exc)})

    @app.exception_handler(LookupError)
    async def _not_found(_: Request, exc: LookupError) -> JSONResponse:
        return JSONResponse(status_code=404, content={"detail": str(exc).strip("'\"")})

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": aegis.__version__}

    # every module aegis.api.routes_* contributes a `router`
    for module in sorted(pkgutil.iter_modules(aegis.api.__path__), key=lambda m: m.name):
        if module.name.startswith("routes_"):
            app.include_router(importlib.import_module(f"aegis.api.{module.name}").router, prefix="/api/v1")
    return app
