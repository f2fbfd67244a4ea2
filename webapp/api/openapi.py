"""Declared API operations: one decorator validates requests with pydantic models and records
the operation, and :func:`openapi_document` builds the OpenAPI document from the same models.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar

from apispec import APISpec
from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ValidationError

from webapp.api.schemas import ErrorResponse
from webapp.auth import require_api_admin
from webapp.errors import UnsupportedMediaType, ValidationFailed, WebError

M = TypeVar("M", bound=BaseModel)
REF_TEMPLATE = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "Malformed request",
    401: "Not authenticated",
    403: "CSRF check failed",
    404: "Not found",
    409: "Conflicts with the room's state",
    413: "Request too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Rate limit exceeded",
    503: "Assistant unavailable",
}


@dataclass(frozen=True)
class Operation:
    """One documented endpoint."""

    blueprint: Blueprint
    rule: str  # Flask rule relative to the blueprint, e.g. "/items/<key>"
    method: str
    summary: str
    tag: str
    response: type[BaseModel]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    upload: str | None = None  # name of the multipart file field
    admin: bool = False
    status: int = 200
    errors: tuple[int, ...] = ()
    path_params: tuple[str, ...] = field(default=())

    @property
    def path(self) -> str:
        prefix = self.blueprint.url_prefix or ""
        return prefix + re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.rule)


class ApiRegistry:
    """The operations of the API blueprints, in declaration order."""

    def __init__(self) -> None:
        self.operations: list[Operation] = []

    def route(
        self,
        blueprint: Blueprint,
        rule: str,
        method: str,
        *,
        summary: str,
        tag: str,
        response: type[BaseModel],
        query: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        upload: str | None = None,
        admin: bool = False,
        status: int = 200,
        errors: tuple[int, ...] = (),
    ) -> Callable[[Callable[..., BaseModel]], Callable[..., Response]]:
        path_params = tuple(re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", rule))
        operation = Operation(
            blueprint, rule, method, summary, tag, response, query, body, upload, admin, status,
            errors, path_params,
        )  # fmt: skip
        self.operations.append(operation)

        def decorate(view: Callable[..., BaseModel]) -> Callable[..., Response]:
            @wraps(view)
            def endpoint(**path_values: Any) -> Response:
                kwargs: dict[str, Any] = dict(path_values)
                if admin:
                    kwargs["actor"] = require_api_admin()
                if query is not None:
                    kwargs["query"] = _validate(query, _query_values(query))
                if body is not None:
                    kwargs["body"] = _validate(body, _json_body())
                result = view(**kwargs)
                answer = jsonify(result.model_dump(mode="json"))
                answer.status_code = status
                return answer

            blueprint.add_url_rule(rule, view.__name__, endpoint, methods=[method])
            return endpoint

        return decorate


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return typing.get_origin(annotation) is list


def _query_values(model: type[BaseModel]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name not in request.args:
            continue
        values[name] = (
            request.args.getlist(name) if _is_list(info.annotation) else request.args[name]
        )
    return values


def _json_body() -> Any:
    if not request.is_json:
        raise UnsupportedMediaType("send the body as JSON (Content-Type: application/json)")
    try:
        data = request.get_json(silent=True)
    except RecursionError:
        raise WebError("the JSON body is nested too deeply") from None
    if data is None:
        raise WebError("the body is not valid JSON")
    return data


def _validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        details = [
            {"loc": [str(part) for part in err["loc"]], "msg": err["msg"], "type": err["type"]}
            for err in e.errors(include_url=False, include_context=False, include_input=False)
        ]
        first = details[0]
        where = ".".join(first["loc"]) or "request"
        raise ValidationFailed(f"invalid {where}: {first['msg']}", details=details) from e


def _schema(spec: APISpec, model: type[BaseModel], mode: str) -> dict[str, str]:
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, mode=mode)  # type: ignore[arg-type]
    for name, definition in schema.pop("$defs", {}).items():
        if name not in spec.components.schemas:
            spec.components.schema(name, definition)
    if model.__name__ not in spec.components.schemas:
        spec.components.schema(model.__name__, schema)
    return {"$ref": REF_TEMPLATE.format(model=model.__name__)}


def _parameters(spec: APISpec, operation: Operation) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in operation.path_params
    ]
    if operation.query is not None:
        schema = operation.query.model_json_schema(ref_template=REF_TEMPLATE)
        for name, definition in schema.pop("$defs", {}).items():
            if name not in spec.components.schemas:
                spec.components.schema(name, definition)
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
            param["schema"] = {k: v for k, v in prop.items() if k not in ("title", "description")}
            if "description" in prop:
                param["description"] = prop["description"]
            params.append(param)
    return params


def _operation_object(spec: APISpec, operation: Operation) -> dict[str, Any]:
    error_ref = _schema(spec, ErrorResponse, "serialization")
    statuses = {400, 413, 429, *operation.errors}
    if operation.query is not None or operation.body is not None or operation.upload:
        statuses.add(422)
    if operation.body is not None:
        statuses.add(415)
    if operation.admin:
        statuses |= {401, 403}
    responses: dict[str, Any] = {
        str(operation.status): {
            "description": "OK",
            "content": {
                "application/json": {"schema": _schema(spec, operation.response, "serialization")}
            },
        }
    }
    for status in sorted(statuses):
        responses[str(status)] = {
            "description": ERROR_TEXT.get(status, "Error"),
            "content": {"application/json": {"schema": error_ref}},
        }
    doc: dict[str, Any] = {
        "operationId": f"{operation.blueprint.name}.{operation.rule}.{operation.method}",
        "summary": operation.summary,
        "tags": [operation.tag],
        "parameters": _parameters(spec, operation),
        "responses": responses,
    }
    if operation.body is not None:
        body_ref = _schema(spec, operation.body, "validation")
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body_ref}},
        }
    if operation.upload:
        upload_schema = {
            "type": "object",
            "required": [operation.upload],
            "properties": {operation.upload: {"type": "string", "format": "binary"}},
        }
        doc["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": upload_schema}},
        }
    if operation.admin:
        doc["security"] = [{"bearerAuth": []}, {"sessionCookie": []}]
    return doc


def openapi_document(registry: ApiRegistry, *, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered operation."""
    spec = APISpec(title=title, version=version, openapi_version="3.1.0")
    spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "skg_… admin token"}
    )
    spec.components.security_scheme(
        "sessionCookie", {"type": "apiKey", "in": "cookie", "name": "session"}
    )
    paths: dict[str, dict[str, Any]] = {}
    for operation in registry.operations:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation_object(
            spec, operation
        )
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document: dict[str, Any] = spec.to_dict()
    return document
