"""The OpenAPI document is generated from the request models, covers every API route, and a
bounded schemathesis run against it finds no server errors."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from foundation.db import Database
from kg import GraphStore
from tests.webapp.conftest import make_app
from tests.webapp.fakes import FakeAssistant

FUZZ_EXAMPLES = 20  # per operation; 22 operations


def _document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.get_json()
    return document


def test_document_covers_every_api_route(app: Flask) -> None:
    document = _document(app.test_client())
    assert document["openapi"].startswith("3.1")
    documented = {
        (path, method.upper()) for path, ops in document["paths"].items() for method in ops
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                routed.add((path, method))
    assert documented == routed


def test_document_uses_the_validation_models(client: FlaskClient) -> None:
    document = _document(client)
    search = document["paths"]["/api/v1/search"]["get"]
    q = next(p for p in search["parameters"] if p["name"] == "q")
    assert q["required"] is True and q["schema"]["maxLength"] == 300
    limit = next(p for p in search["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 50
    ask = document["paths"]["/api/v1/items/{key}/ask"]["post"]
    body = ask["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AskBody"}
    schemas = document["components"]["schemas"]
    assert schemas["AskBody"]["additionalProperties"] is False
    node = document["paths"]["/api/v1/graph/node"]["get"]
    label = next(p for p in node["parameters"] if p["name"] == "label")
    assert "Item" in label["schema"]["enum"]
    edit = document["paths"]["/api/v1/admin/nodes"]["patch"]
    assert edit["security"] == [{"bearerAuth": []}, {"sessionCookie": []}]
    assert "401" in edit["responses"] and "422" in edit["responses"]


@pytest.mark.slow
def test_fuzz_api_has_no_server_errors(
    tmp_path: Path,
    assistant: FakeAssistant,
    own_store: GraphStore,
    database: Database,
    token: str,
    question_encoder: Any,
) -> None:
    """A few hundred generated requests (valid and not) across every operation."""
    app = make_app(
        tmp_path,
        assistant=assistant,
        store=own_store,
        database=database,
        question_encoder=question_encoder,
    )
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {token}"}
    checks = [status_code_conformance, content_type_conformance, response_schema_conformance]
    operations = [r.ok() for r in schema.get_all_operations() if isinstance(r, Ok)]
    assert len(operations) == 35
    calls = 0
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case: Any) -> None:
            nonlocal calls
            calls += 1
            response = case.call(headers=headers)
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)
            case.validate_response(response, checks=checks)

        run()
    assert calls >= 100
