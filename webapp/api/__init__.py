"""The REST API under ``/api/v1``: public reads and the assistant, and ``/api/v1/admin`` for
everything that changes data. Every operation is declared on :data:`registry`."""

from __future__ import annotations

from flask import Blueprint

from webapp.api.openapi import ApiRegistry

registry = ApiRegistry()
api = Blueprint("api", __name__, url_prefix="/api/v1")
api_admin = Blueprint("api_admin", __name__, url_prefix="/api/v1/admin")


def load_routes() -> None:
    """Import the modules that declare the operations (once; blueprints are module-level)."""
    from webapp.api import admin, graph, jobs, public, rooms  # noqa: F401


__all__ = ["api", "api_admin", "load_routes", "registry"]
