"""The FastAPI app factory every service uses.

:func:`create_service_app` gives a service, on top of its own routers:
``/healthz`` (the process is alive), ``/readyz`` (the service's login role can
run a query, and is neither a superuser nor BYPASSRLS), OpenAPI at
``/openapi.json``, JSON logs with a request id, and JSON errors everywhere:
``{"error": code, "message": ..., "request_id": ...}`` plus ``field`` for 422.
Settings are read and the pool opened when the app starts (not when it is
imported), so importing an app needs no environment.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import psycopg
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from reference.platform.access_tokens import PublicKeyCache, TokenVerifier
from reference.platform.callers import ServiceRuntime
from reference.platform.errors import PlatformError, Unavailable
from reference.platform.pool import create_pool
from reference.platform.request_logging import RequestLogMiddleware, configure_logging
from reference.platform.settings import Settings
from reference.platform.tenancy import global_transaction

WHO_AM_I = "SELECT current_user, rolsuper, rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = current_user"
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    415: "unsupported_media_type",
    422: "invalid_input",
}


class ErrorBody(BaseModel):
    """Every error response."""

    error: str
    message: str
    request_id: str | None = None
    field: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": code.replace("_", " ")}
    for status, code in (
        (401, "unauthenticated"),
        (404, "not_found"),
        (409, "conflict"),
        (422, "invalid_input"),
    )
}


def create_service_app(
    *,
    service: str,
    role: str,
    title: str,
    description: str,
    version: str,
    routers: Sequence[APIRouter],
    on_startup: Callable[[ServiceRuntime], Awaitable[None]] | None = None,
) -> FastAPI:
    """A service's ASGI app; ``role`` is the login role it must connect as.

    ``on_startup`` runs once the pool is open, before the first request: a service
    reads its own settings there (a bad one stops the process at start, not at
    the first request) and prepares what its requests share.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = Settings.from_environment(service, role)
        configure_logging(service, settings.log_level)
        pool = create_pool(settings)
        await pool.open(wait=False)  # start even while the database is down: /readyz says so
        verifier = TokenVerifier(
            PublicKeyCache(pool, settings.public_key_cache_s),
            settings.token_issuer,
            settings.token_audience,
        )
        app.state.runtime = ServiceRuntime(settings, pool, verifier)
        try:
            if on_startup is not None:
                await on_startup(app.state.runtime)
            yield
        finally:
            await pool.close()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    app.add_middleware(RequestLogMiddleware)
    _add_error_handlers(app)
    app.include_router(_probes(role))
    for router in routers:
        app.include_router(router, responses=ERROR_RESPONSES)
    return app


def _probes(role: str) -> APIRouter:
    router = APIRouter(tags=["probes"])

    @router.get("/healthz", summary="the process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @router.get(
        "/readyz",
        summary="the service's database role can run a query",
        responses={503: {"model": ErrorBody}},
    )
    async def readyz(request: Request) -> dict[str, str]:
        runtime: ServiceRuntime = request.app.state.runtime
        async with global_transaction(runtime.pool) as connection:
            cursor = await connection.execute(WHO_AM_I)
            row = await cursor.fetchone()
        current_user, superuser, bypass_rls = row if row else (None, None, None)
        if current_user != role:
            raise Unavailable(f"connected as {current_user}, not as the service role {role}")
        if superuser or bypass_rls:
            raise Unavailable(f"{role} is a superuser or has BYPASSRLS: row-level security would not apply")
        return {"status": "ready", "role": role}

    return router


def error_response(
    request: Request, status: int, code: str, message: str, field: str | None = None
) -> JSONResponse:
    """The JSON body every error has."""
    body: dict[str, Any] = {
        "error": code,
        "message": message,
        "request_id": getattr(request.state, "request_id", None),
    }
    if field is not None:
        body["field"] = field
    return JSONResponse(body, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PlatformError)
    async def platform_error(request: Request, exc: PlatformError) -> JSONResponse:
        response = error_response(request, exc.status, exc.code, exc.message, getattr(exc, "field", None))
        response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid request"}
        field = _field_name(tuple(first.get("loc", ())))
        return error_response(request, 422, "invalid_input", f"{field}: {first.get('msg', 'invalid')}", field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        response = error_response(request, exc.status_code, code, str(exc.detail))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(PoolTimeout)
    async def pool_timeout(request: Request, exc: PoolTimeout) -> JSONResponse:
        return error_response(request, 503, "unavailable", "the database is not reachable right now")

    @app.exception_handler(psycopg.OperationalError)
    async def database_down(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        return error_response(request, 503, "unavailable", "the database is not reachable right now")


def _field_name(location: tuple[Any, ...]) -> str:
    """``("body", "username")`` -> ``username``; ``("header", "x-tenant-id")`` -> ``X-Tenant-ID``."""
    if not location:
        return "body"
    source, *rest = location
    if source == "header" and rest:
        return "-".join("ID" if part == "id" else part.capitalize() for part in str(rest[0]).split("-"))
    if source == "body" and (not rest or isinstance(rest[0], int)):
        return "body"  # the body as a whole: missing, or not JSON
    return ".".join(str(part) for part in rest) or str(source)
