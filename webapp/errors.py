"""Errors as the web app answers them: JSON ``{"error": {code, status, message, details}}``.

API routes (``/api/…``) always answer JSON; pages answer a small HTML error page. ShopKG's own
errors keep their codes (``E400`` not found, ``E1100`` auth, …); errors that only the web layer
raises get codes of their own in the ``E15xx`` range below.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from foundation.errors import (
    AuthError,
    GraphBusyError,
    GraphStoreError,
    InputError,
    NotFoundError,
    RoomStateError,
    SchemaError,
    ShopKGError,
    UnavailableError,
)


class WebError(ShopKGError):
    """An error the web layer answers with ``status`` and ``code``."""

    code = "E1500"
    status = 400

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.details = details or []


class ValidationFailed(WebError):
    """The request's parameters or body do not fit the endpoint's schema."""

    code = "E1510"
    status = 422


class CsrfFailed(WebError):
    code = "E1520"
    status = 403


class UnsupportedMediaType(WebError):
    code = "E1530"
    status = 415


class AssistantUnavailable(WebError):
    """The assistant cannot be built (not installed yet, or its indexes are missing)."""

    code = "E1560"
    status = 503


# codes for plain HTTP errors that carry no ShopKG error
HTTP_CODES = {
    400: "E1500",
    401: "E1100",
    403: "E1520",
    404: "E400",
    405: "E1540",
    409: "E1420",
    413: "E1550",
    414: "E1551",
    415: "E1530",
    429: "E1570",
    431: "E1552",
    500: "E000",
    503: "E1560",
}


def _status_of(error: ShopKGError) -> int:
    if isinstance(error, WebError):
        return error.status
    if isinstance(error, AuthError):
        return 401
    if isinstance(error, RoomStateError):
        return 409  # the room's state does not allow it (ended, not live, no items)
    if isinstance(error, NotFoundError | UnavailableError):
        return 404
    if isinstance(error, InputError):
        return 400
    if isinstance(error, SchemaError):
        return 422
    if isinstance(error, GraphBusyError):
        return 503  # a build holds the graph: the admin request can be made again after it
    if isinstance(error, GraphStoreError):
        return 500
    return 500


def error_body(
    status: int, code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message, "details": details or []}}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _answer(status: int, code: str, message: str, details: list[dict[str, Any]]) -> Response:
    if _wants_json():
        response = jsonify(error_body(status, code, message, details))
    else:
        html = render_template("error.html", status=status, code=code, message=message)
        response = current_app.make_response(html)
    response.status_code = status
    if status == 401 and request.path.startswith("/api/"):
        response.headers["WWW-Authenticate"] = 'Bearer realm="shopkg-admin"'
    return response


def handle_shopkg_error(error: ShopKGError) -> Response:
    status = _status_of(error)
    if status == 503:
        current_app.logger.warning("unavailable: %s", error)
    elif status >= 500:
        current_app.logger.error("request failed: %s", error, exc_info=error)
    details = error.details if isinstance(error, WebError) else []
    response = _answer(status, error.code, str(error), details)
    if isinstance(error, GraphBusyError):
        response.headers["Retry-After"] = "30"
    return response


def handle_http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = HTTP_CODES.get(status, f"E{status}")
    message = error.description or error.name
    if status == 413:
        limit = request.max_content_length
        message = f"the request is too large; the limit is {limit} bytes"
    response = _answer(status, code, message, [])
    headers = dict(error.get_headers())
    for name in ("Allow", "Retry-After"):
        if name in headers:
            response.headers[name] = headers[name]
    return response


def handle_unexpected(error: Exception) -> Response:
    current_app.logger.exception("unhandled error in %s %s", request.method, request.path)
    return _answer(500, "E000", "internal server error; the log has the details", [])


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ShopKGError, handle_shopkg_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
