"""The ShopKG web app: the shopper's assistant page, the admin graph browser and the REST API.

Create it with :func:`create_app`; ``shopkg serve`` runs it under waitress. The assistant, the
graph store and the metadata database can be handed in (tests do); whatever is not given is
opened from the settings on first use.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from flask import Flask, request
from werkzeug.exceptions import RequestHeaderFieldsTooLarge

from foundation.settings import Settings, load_settings
from webapp.errors import register_error_handlers
from webapp.security import init_security, public_rate_limit, rate_limit_config, secret_key
from webapp.services import Services

if TYPE_CHECKING:
    from assistant.api import AssistantAPI
    from encoders.base import TextEncoder
    from foundation.db import Database
    from kg import GraphStore

DEFAULTS: dict[str, Any] = {
    "RATELIMIT_HEADERS_ENABLED": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "shopkg_session",
    "PERMANENT_SESSION_LIFETIME": timedelta(hours=8),
    "WTF_CSRF_TIME_LIMIT": 8 * 3600,
    "WTF_CSRF_SSL_STRICT": True,
    "JSON_SORT_KEYS": False,
}
UPLOAD_ENDPOINTS = frozenset({"api.search_image"})
ROOM_ASK = "api.room_ask"


def create_app(
    config: Mapping[str, Any] | None = None,
    *,
    settings: Settings | None = None,
    assistant: AssistantAPI | None = None,
    store: GraphStore | None = None,
    database: Database | None = None,
    question_encoder: TextEncoder | None = None,
) -> Flask:
    """Build the app. ``config`` overrides Flask settings (``TESTING``, ``PUBLIC_RATE_LIMIT``,
    …); ``settings`` defaults to :func:`foundation.settings.load_settings` (file, then
    environment) and gives the rate limits, their storage and the trusted proxies."""
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config.update(DEFAULTS)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["MAX_FORM_MEMORY_SIZE"] = settings.max_request_bytes
    app.config.update(rate_limit_config(settings))
    app.config.update(config or {})
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key(settings)

    Services(
        settings,
        assistant=assistant,
        store=store,
        database=database,
        question_encoder=question_encoder,
    ).init_app(app)
    register_error_handlers(app)
    csrf, limiter = init_security(app, trusted_proxies=settings.trusted_proxies)

    @app.before_request
    def _limit_headers() -> None:
        size = sum(len(name) + len(value) + 4 for name, value in request.headers.items())
        if size > settings.max_header_bytes:
            raise RequestHeaderFieldsTooLarge(
                f"the request headers take {size} bytes; the limit is {settings.max_header_bytes}"
            )

    @app.before_request
    def _allow_larger_uploads() -> None:
        if request.endpoint in UPLOAD_ENDPOINTS:
            request.max_content_length = settings.max_upload_bytes
            request.max_form_memory_size = settings.max_upload_bytes

    from webapp.api import api, api_admin, load_routes
    from webapp.api.rooms import viewer_limit_key
    from webapp.views import admin, live
    from webapp.views import assistant as assistant_page

    load_routes()
    csrf.exempt(api)  # public JSON endpoints use no session; the admin API checks itself
    csrf.exempt(api_admin)
    limiter.limit(public_rate_limit)(api)
    limiter.limit(lambda: str(app.config["LOGIN_RATE_LIMIT"]), methods=["POST"])(admin.bp)
    for blueprint in (assistant_page.bp, admin.bp, live.bp, api, api_admin):
        app.register_blueprint(blueprint)
    # questions in a live room: per viewer and room, on top of the per-address limit
    app.view_functions[ROOM_ASK] = limiter.limit(  # type: ignore[assignment]
        lambda: str(app.config["LIVE_QUESTION_RATE_LIMIT"]),
        key_func=viewer_limit_key,
        override_defaults=False,
    )(app.view_functions[ROOM_ASK])
    return app


__all__ = ["create_app"]
