"""What the API refuses before a route runs: a foreign `Host`, a cross-site write, and the two
error bodies that used to fail themselves.

- `Host` must be a loopback name, the bound host or an `--allowed-host` (Starlette's
  TrustedHostMiddleware): a DNS-rebinding page reaches 127.0.0.1 under its own name.
- `SameSiteWrites`: a POST (any unsafe method) under `/api/` must be JSON when it has a content
  type, and must not come from another origin (`Origin`, or `Sec-Fetch-Site: cross-site`) unless
  that origin is a `--cors-origin`. An HTML form can only send form or text bodies and a
  cross-site `fetch` says where it comes from, so without a token a page on another site still
  cannot start, stop or sync anything.
- A 422 whose input holds NaN or an infinity (Python's JSON reader accepts them, the JSON
  writer does not) and a database error (503 with the reason, not a 500 traceback).
"""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from reev.service.manager import database_error_reason
from reev.service.settings import ServiceSettings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
JSON_TYPES = ("application/json",)


def install_guards(app: FastAPI, settings: ServiceSettings) -> None:
    """Add the middlewares and error handlers above (the trusted-host check outermost)."""
    app.add_middleware(SameSiteWrites, allowed_origins=settings.cors_origins)
    if "*" not in settings.allowed_hosts:
        app.add_middleware(
            TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts(), www_redirect=False
        )
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(SQLAlchemyError, _database_error)


class SameSiteWrites:
    def __init__(self, app: ASGIApp, allowed_origins: list[str]):
        self.app = app
        self.allowed = {origin.rstrip("/").lower() for origin in allowed_origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in SAFE_METHODS
            and scope["path"].startswith("/api/")
        ):
            refusal = self.refusal(scope)
            if refusal is not None:
                status, message = refusal
                await JSONResponse({"detail": message}, status_code=status)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type and content_type not in JSON_TYPES:
            return 415, (
                f"{scope['method']} {scope['path']} takes application/json, not {content_type!r} "
                "(form posts are refused: a page on another site could send them)"
            )
        origin = headers.get("origin")
        if origin is not None and origin.lower() != "null":
            if origin.rstrip("/").lower() in self.allowed or _same_origin(origin, headers):
                return None
            return 403, (
                f"cross-site request from {origin!r} refused; "
                "allow that origin with `reev serve --cors-origin`"
            )
        if origin is not None or headers.get("sec-fetch-site") == "cross-site":
            return 403, "cross-site request refused (no usable Origin)"
        return None


def _same_origin(origin: str, headers: dict[str, str]) -> bool:
    """The page that sent it is served by this server: its origin's host:port is our Host."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return bool(parts.netloc) and parts.netloc.lower() == headers.get("host", "").lower()


def _json_safe(value: Any) -> Any:
    """The value with NaN and infinities as strings (and anything else JSON cannot say as its
    repr): what a validation error echoes must serialise."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {k: _json_safe(v) for k, v in error.items() if k != "ctx"}
        | ({"ctx": _json_safe(error["ctx"])} if "ctx" in error else {})
        for error in exc.errors()
    ]
    content = {"detail": errors}
    json.dumps(content, allow_nan=False)  # what JSONResponse does; it must not fail here
    return JSONResponse(status_code=422, content=content)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SQLAlchemyError)
    return JSONResponse(
        status_code=503,
        content={"detail": f"the database is unavailable now ({database_error_reason(exc)})"},
        headers={"Retry-After": "5"},
    )
