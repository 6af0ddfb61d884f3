"""One error shape for every refusal: ``{"code", "message_zh", "message_en", "field", "row", "errors"}``.

4xx says what to fix (the field, the row); 5xx says only that it failed and gives an id to quote — the
exception itself goes to the server log, never to the caller. Every message comes from the catalog
(data/locales/<lang>/api.json, or the domain's own catalog for a ``core.errors.GridwiseError``), in both
languages. Items of an array are numbered as the file import numbers rows: ``index`` from 0 in the
array, ``row`` = index + 2 (the header is row 1).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.db import db_fault
from core.errors import GridwiseError
from core.i18n import t
from core.scope import ScopeError
from core.tabular import RowError
from evaluation.field.events import IllegalTransition

log = logging.getLogger("api")


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message_en: str,
        message_zh: str,
        *,
        field: str | None = None,
        row: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message_en)
        self.status, self.code, self.message_en, self.message_zh = status, code, message_en, message_zh
        self.field, self.row, self.errors, self.headers = field, row, errors, headers

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "field": self.field,
            "row": self.row,
        }
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def catalog_error(
    status: int,
    code: str,
    key: str,
    *,
    field: str | None = None,
    row: int | None = None,
    headers: dict[str, str] | None = None,
    **params: object,
) -> ApiError:
    """An ApiError whose messages are the catalog entry ``key`` in both languages."""
    return ApiError(
        status, code, t(key, "en", **params), t(key, "zh", **params), field=field, row=row, headers=headers
    )


def not_found(what: str, ident: object, *, field: str | None = None) -> ApiError:
    """404 for a record that is not there *or* not in the client's scope: the same answer for both, so a
    scoped key learns nothing about records elsewhere. ``what``: event, worker, task, session, period."""
    return catalog_error(404, "not_found", f"api.error.no_{what}", field=field, ident=ident)


FIRST_ROW = 2  # an array's item 0 is row 2, as in a file whose header is row 1


def error_body(
    code: str, en: str, zh: str, field: str | None = None, row: int | None = None
) -> dict[str, Any]:
    return {"code": code, "message_zh": zh, "message_en": en, "field": field, "row": row}


def row_errors(errors: list[RowError], *, first_row: int = FIRST_ROW) -> list[dict[str, Any]]:
    """Importer RowErrors in the API's shape. ``row`` numbers rows as the file import does (the header is
    row 1), ``index`` is the item's position in the request's array (from 0)."""
    return [
        {
            **error_body(e.code, e.message_en, e.message_zh, e.column, e.row),
            "index": (e.row - first_row) if e.row is not None else None,
            "value": e.value,
        }
        for e in errors
    ]


def refused_rows(errors: list[RowError], what: str, *, single: bool = False) -> ApiError:
    """422 for rows the import rules refused. ``what``: events, participants, roster (api.what.*).
    ``single``: one item posted on its own (no array): its errors carry no row or index."""
    first = errors[0] if errors else None
    params = {"n": len(errors)}
    out = ApiError(
        422,
        "rows_refused",
        t("api.error.rows_refused", "en", what=t(f"api.what.{what}", "en"), **params)
        + (f" ({first.message_en})" if first else ""),
        t("api.error.rows_refused", "zh", what=t(f"api.what.{what}", "zh"), **params)
        + (f"（{first.message_zh}）" if first else ""),
        errors=row_errors(errors),
    )
    if single and out.errors:
        for e in out.errors:
            e["row"] = e["index"] = None
    if out.errors:
        out.field, out.row = out.errors[0]["field"], out.errors[0]["row"]
    return out


def from_domain(exc: Exception) -> ApiError:
    """A domain refusal in the one shape: a GridwiseError (catalog key + params) keeps its key as the code
    and its catalog text in both languages; a ScopeError is "not there" (404, as for a missing record); an
    IllegalTransition (a step the event's state does not allow) is 409; any other ValueError — a domain
    refusal not yet in a catalog — is 400 with its English text and a catalog sentence in Chinese."""
    if isinstance(exc, ScopeError):
        return catalog_error(404, "not_found", "api.error.not_found")
    if isinstance(exc, IllegalTransition):  # a GridwiseError: its catalog text in both languages
        return ApiError(409, "illegal_transition", exc.message("en"), exc.message("zh"))
    if isinstance(exc, GridwiseError):
        return ApiError(409, exc.prefix + exc.key, exc.message("en"), exc.message("zh"))
    log.warning("a refusal without a catalog key reached the API: %r", exc)
    return ApiError(400, "refused", str(exc), t("api.error.untranslated", "zh"))


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


# pydantic's error types → the catalog entry that says it (api.invalid.<entry>)
_INVALID = {
    "missing": "missing",
    "extra_forbidden": "extra_forbidden",
    "string_too_long": "string_too_long",
    "string_too_short": "string_too_short",
    "too_short": "too_short",
    "too_long": "too_long",
    "control_characters": "control_characters",
    "time_window": "time_window",
    "string_type": "string_type",
    "string_pattern_mismatch": "pattern",
    "literal_error": "choice",
    "enum": "choice",
    "json_invalid": "json_invalid",
    "model_attributes_type": "object_type",
    "dict_type": "object_type",
    "model_type": "object_type",
    "list_type": "list_type",
    "bool_type": "bool",
    "bool_parsing": "bool",
    "int_type": "number",
    "int_parsing": "number",
    "int_from_float": "integer",
    "float_type": "number",
    "float_parsing": "number",
    "finite_number": "number",
    "greater_than": "range",
    "greater_than_equal": "range",
    "less_than": "range",
    "less_than_equal": "range",
    "datetime_type": "datetime",
    "datetime_parsing": "datetime",
    "datetime_from_date_parsing": "datetime",
    "datetime_object_invalid": "datetime",
    "date_type": "date",
    "date_parsing": "date",
    "date_from_datetime_parsing": "date",
    "date_from_datetime_inexact": "date",
}


def _bound(ctx: dict[str, Any]) -> str:
    for key, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
        if key in ctx:
            return f"{sign} {ctx[key]}"
    return ""


def invalid_errors(raw: list[Any]) -> list[dict[str, Any]]:
    """pydantic's errors of a request as the API's row errors: catalog messages in both languages, the
    field within its item, and ``index``/``row`` when the field is in an item of an array."""
    out = []
    for e in raw:
        loc = [str(p) for p in e.get("loc", ())]
        where = loc[0] if loc else ""
        path = loc[1:] if where in ("body", "query", "path", "header") else loc
        if e.get("type") == "json_invalid":  # loc is ("body", <character position>), not an item
            path = []
        index = next((i for i, p in enumerate(path) if p.isdigit() and i > 0), None)  # events.3.…
        item = int(path[index]) if index is not None else None
        field = ".".join(path[index + 1 :] if index is not None else path) or (where or None)
        ctx = {k: v for k, v in (e.get("ctx") or {}).items() if isinstance(v, str | int | float)}
        entry = _INVALID.get(str(e.get("type")), "value")
        if entry in ("too_long", "too_short") and isinstance(e.get("input"), str):
            entry = "string_" + entry  # a length constraint on an optional text field
        params = {
            "field": field or "body",
            "detail": str(e.get("msg", "")),
            "bound": _bound(ctx),
            "expected": str(ctx.get("expected", "")),
            "pattern": str(ctx.get("pattern", "")),
            "max_length": ctx.get("max_length", ""),
            "min_length": ctx.get("min_length", ""),
            "value": ctx.get("value", ""),
            "earliest": ctx.get("earliest", ""),
            "latest": ctx.get("latest", ""),
        }
        en, zh = t(f"api.invalid.{entry}", "en", **params), t(f"api.invalid.{entry}", "zh", **params)
        row = item + FIRST_ROW if item is not None else None
        if row is not None:
            en, zh = (
                t("api.invalid.row", "en", row=row, text=en),
                t("api.invalid.row", "zh", row=row, text=zh),
            )
        value = e.get("input")
        out.append(
            {
                **error_body(f"invalid.{entry}", en, zh, field, row),
                "index": item,
                "value": value if isinstance(value, str) and len(value) <= 200 else None,
            }
        )
    return out


def install(app: FastAPI, on_refusal: Any = None, before_refusal: Any = None) -> None:
    """Exception handlers producing the one shape. ``on_refusal(request, status, code)`` audits refusals;
    ``await before_refusal(request)`` runs first and may raise the refusal to answer instead (the call's
    admission, api.context.admit_before_refusal: an unknown key is refused for that before anything else)."""

    def refused(request: Request, status: int, code: str) -> None:
        if on_refusal is not None:
            on_refusal(request, status, code)

    async def answer(request: Request, exc: ApiError) -> JSONResponse:
        if before_refusal is not None:
            try:
                await before_refusal(request)
            except ApiError as first:
                exc = first
            except ScopeError as first:
                exc = from_domain(first)
        refused(request, exc.status, exc.code)
        return _json(exc.status, exc.body(), exc.headers)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return await answer(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = invalid_errors(list(exc.errors()))
        first = errors[0] if errors else error_body("invalid", "invalid request", "请求无效")
        out = ApiError(
            422,
            "invalid_request",
            t("api.invalid.request", "en", first=first["message_en"]),
            t("api.invalid.request", "zh", first=first["message_zh"]),
            field=first["field"],
            row=first["row"],
            errors=errors,
        )
        return await answer(request, out)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        known = {404: "not_found", 405: "method_not_allowed"}
        code = known.get(exc.status_code, "http_error")
        key = f"api.error.http_{exc.status_code}" if code != "http_error" else "api.error.http"
        body = error_body(code, t(key, "en", status=exc.status_code), t(key, "zh", status=exc.status_code))
        return _json(exc.status_code, body, getattr(exc, "headers", None))

    @app.exception_handler(ScopeError)
    async def _scope(request: Request, exc: ScopeError) -> JSONResponse:
        return await answer(request, from_domain(exc))

    @app.exception_handler(ValueError)
    async def _value(request: Request, exc: ValueError) -> JSONResponse:
        return await answer(request, from_domain(exc))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        fault = db_fault(exc)
        if fault is not None:
            log.warning("database %s on %s %s", fault, request.method, request.url.path)
            return _json(
                503,
                error_body("database_" + fault, t("api.error.busy", "en"), t("api.error.busy", "zh")),
                {"Retry-After": "2"},
            )
        incident = uuid.uuid4().hex[:12]
        log.exception("internal error %s on %s %s", incident, request.method, request.url.path)
        return _json(
            500,
            error_body(
                "internal",
                t("api.error.internal", "en", incident=incident),
                t("api.error.internal", "zh", incident=incident),
            ),
        )
