"""Errors as the API sends them: ``{"error": "...", "help": "..." | null}`` with a 4xx status.

One shape for every refusal, whoever makes it (a route, the library, pydantic or the
:class:`~nudgenet.web.guard.Guard`), so the page shows every message the same way.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ..errors import NudgenetError


class ApiError(HTTPException):
    """An expected refusal: a status, a message, and what to do instead."""

    def __init__(self, status: int, error: str, help: str | None = None) -> None:
        super().__init__(status_code=status, detail=error)
        self.error = error
        self.help = help


def error_response(status: int, error: str, help: str | None = None, **extra: Any) -> JSONResponse:
    """The JSON body of a refusal (``extra`` adds fields, such as pydantic's ``detail``)."""
    return JSONResponse({"error": error, "help": help, **extra}, status_code=status)


def add_error_handlers(app: FastAPI) -> None:
    """Turn every expected exception into an error body instead of FastAPI's own shapes."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status_code, exc.error, exc.help)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(NudgenetError)
    async def library_error(request: Request, exc: NudgenetError) -> JSONResponse:
        # The library refused the input (no ink in a drawing, an impossible setting, ...).
        return error_response(422, exc.message, exc.help)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_describe(e) for e in exc.errors()]
        return error_response(
            422,
            "invalid request: " + "; ".join(problems),
            "see the request schemas in /openapi.json",
            detail=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()],
        )


def _describe(error: Any) -> str:
    """One validation problem as "where: what (got …)"."""
    where = ".".join(str(part) for part in error["loc"] if part != "body") or "body"
    message = str(error["msg"]).removeprefix("Value error, ")
    got = error.get("input")
    shown = "" if isinstance(got, (dict, list)) or got is None else f" (got {got!r:.40})"
    return f"{where}: {message}{shown}"
