"""One error shape for every refusal: ``{"code", "message_zh", "message_en", "field", "row", "errors"}``.

4xx says what to fix (the field, the row); 5xx says only that it failed and gives an id to quote — the
exception itself goes to the server log, never to the caller.
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
from core.scope import ScopeError
from core.tabular import RowError

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


def error_body(
    code: str, en: str, zh: str, field: str | None = None, row: int | None = None
) -> dict[str, Any]:
    return {"code": code, "message_zh": zh, "message_en": en, "field": field, "row": row}


def row_errors(errors: list[RowError], *, first_row: int = 2) -> list[dict[str, Any]]:
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


def refused_rows(errors: list[RowError], what_en: str, what_zh: str) -> ApiError:
    first = errors[0] if errors else None
    return ApiError(
        422,
        "rows_refused",
        f"{len(errors)} problem(s) in the {what_en}; nothing was written "
        f"(first: {first.message_en if first else '?'})",
        f"{what_zh}中有 {len(errors)} 处问题，未写入任何数据（第一处：{first.message_zh if first else '?'}）",
        errors=row_errors(errors),
    )


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI, on_refusal: Any = None) -> None:
    """Exception handlers producing the one shape. ``on_refusal(request, status, code)`` audits refusals."""

    def refused(request: Request, status: int, code: str) -> None:
        if on_refusal is not None:
            on_refusal(request, status, code)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        refused(request, exc.status, exc.code)
        return _json(exc.status, exc.body(), exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ())]
            row = next((int(p) for p in loc[1:] if p.isdigit()), None) if loc[:1] == ["body"] else None
            field = ".".join(p for p in loc if p != "body") or None
            msg = str(e.get("msg", "invalid"))
            errors.append(
                {
                    **error_body(
                        f"invalid.{e.get('type', 'value')}",
                        f"{field}: {msg}",
                        f"字段 {field} 不符合要求：{msg}",
                        field,
                        row,
                    ),
                    "index": row,
                }
            )
        first = errors[0] if errors else error_body("invalid", "invalid request", "请求无效")
        refused(request, 422, "invalid_request")
        return _json(
            422,
            {
                **error_body(
                    "invalid_request",
                    f"the request does not fit the schema: {first['message_en']}",
                    f"请求不符合接口定义：{first['message_zh']}",
                    first["field"],
                    first["row"],
                ),
                "errors": errors,
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        known = {
            404: ("not_found", "no such endpoint; see /api/v1/docs", "没有这个接口，请查看 /api/v1/docs"),
            405: ("method_not_allowed", "this endpoint does not take that method", "该接口不支持此请求方法"),
        }
        code, en, zh = known.get(exc.status_code, ("http_error", str(exc.detail), str(exc.detail)))
        return _json(exc.status_code, error_body(code, en, zh), getattr(exc, "headers", None))

    @app.exception_handler(ScopeError)
    async def _scope(request: Request, exc: ScopeError) -> JSONResponse:
        refused(request, 403, "out_of_scope")
        return _json(
            403,
            error_body(
                "out_of_scope", f"outside this client's scope: {exc}", f"超出本接口客户端的管理范围：{exc}"
            ),
        )

    @app.exception_handler(ValueError)
    async def _value(request: Request, exc: ValueError) -> JSONResponse:
        from evaluation.field.events import IllegalTransition

        status, code = (409, "illegal_transition") if isinstance(exc, IllegalTransition) else (400, "refused")
        key = getattr(exc, "key", None)
        if isinstance(exc, GridwiseError) or (key and hasattr(exc, "params")):
            from core.i18n import t

            zh = (
                exc.message("zh")
                if isinstance(exc, GridwiseError)
                else t(str(key), "zh", **getattr(exc, "params", {}))
            )
            code = code if status == 409 else str(key)  # a refused step keeps its one code
        else:
            zh = f"请求被拒绝：{exc}"
        refused(request, status, code)
        return _json(status, error_body(code, str(exc), zh))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        fault = db_fault(exc)
        if fault is not None:
            log.warning("database %s on %s %s", fault, request.method, request.url.path)
            return _json(
                503,
                error_body(
                    "database_" + fault,
                    "the database is busy or unreachable; retry shortly",
                    "数据库繁忙或暂时无法连接，请稍后重试",
                ),
                {"Retry-After": "2"},
            )
        incident = uuid.uuid4().hex[:12]
        log.exception("internal error %s on %s %s", incident, request.method, request.url.path)
        return _json(
            500,
            error_body(
                "internal",
                f"internal error; quote incident {incident} to the operator",
                f"服务器内部错误；请向运维人员提供编号 {incident}",
            ),
        )
