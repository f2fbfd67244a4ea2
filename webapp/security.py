"""Secret key, security headers, CSRF protection and rate limits, set up per app.

Rate limits count per client address: the socket's peer, or with ``trusted_proxies`` = N the
address the N-th proxy from us put into X-Forwarded-For (werkzeug's ProxyFix); with no trusted
proxy that header is ignored, since any client can send it.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError, CSRFProtect  # type: ignore[import-untyped]
from werkzeug.middleware.proxy_fix import ProxyFix

from foundation.errors import ConfigError
from foundation.settings import Settings
from webapp.errors import CsrfFailed, handle_shopkg_error

SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(), microphone=(), payment=()",
}


def secret_key(settings: Settings) -> str:
    """The configured secret key, else one generated once into ``data_dir/secret_key`` (0600)."""
    configured = settings.secret_key.get_secret_value()
    if configured:
        return configured
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_text(encoding="utf-8").strip()
            if len(key) < 32:
                raise ConfigError(
                    f"{path} holds no usable secret key; delete it to generate a new one"
                ) from None
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
            return key
        key = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(key + "\n")
        return key
    except OSError as e:
        raise ConfigError(f"cannot read or create the web secret key in {path}: {e}") from e


_HOSTNAME = re.compile(r"^(?:[A-Za-z0-9-]{1,63}\.)*[A-Za-z0-9-]{1,63}$|^\[[0-9A-Fa-f:.]{2,45}\]$")
PUSH_PAGES = ("/live/", "/admin/rooms/")


def push_base() -> str:
    """Where this page's browser reaches the push server: ``push_url`` when set, else this
    request's host on the push port (a host name that is not one falls back to 127.0.0.1)."""
    configured: str = current_app.config.get("PUSH_URL") or ""
    if configured:
        return configured
    host = request.host
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if not _HOSTNAME.match(name):
        name = "127.0.0.1"
    scheme = "https" if request.scheme == "https" else "http"
    return f"{scheme}://{name}:{int(current_app.config['PUSH_PORT'])}"


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(PUSH_PAGES) and current_app.config.get("PUSH_PORT"):
        # the room pages listen to the push server, which is another origin (another port)
        csp = CSP.replace("connect-src 'self'", f"connect-src 'self' {_origin(push_base())}")
        response.headers["Content-Security-Policy"] = csp
    if request.path.startswith("/api/v1/admin") or request.path.startswith("/admin"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _csrf_error(error: CSRFError) -> Response:
    return handle_shopkg_error(
        CsrfFailed(f"CSRF check failed: {error.description}; reload the page and try again")
    )


def public_rate_limit() -> str:
    """The limit on public endpoints per client address (``PUBLIC_RATE_LIMIT``)."""
    limit: str = current_app.config["PUBLIC_RATE_LIMIT"]
    return limit


def rate_limit_config(settings: Settings) -> dict[str, Any]:
    """The Flask config keys of the rate limits, from the settings."""
    return {
        "RATELIMIT_ENABLED": settings.rate_limits_enabled,
        "RATELIMIT_STORAGE_URI": settings.rate_limit_storage,
        "PUBLIC_RATE_LIMIT": settings.public_rate_limit,
        "LOGIN_RATE_LIMIT": settings.login_rate_limit,
        "LIVE_QUESTION_RATE_LIMIT": settings.live_question_rate_limit,
        "PUSH_PORT": settings.push_port or min(settings.port + 1, 65535),
        "PUSH_URL": settings.push_url,
    }


# storage URI schemes (by prefix) of flask-limiter's backends that need a package of their own
STORAGE_PACKAGES = {
    "redis": "redis",
    "valkey": "valkey",
    "memcached": "pymemcache",
    "mongodb": "pymongo",
}


def _limiter(app: Flask) -> Limiter:
    uri = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    scheme = uri.partition("://")[0].lower()
    package = next((p for prefix, p in STORAGE_PACKAGES.items() if scheme.startswith(prefix)), "")
    if package:
        try:
            __import__(package)
        except ImportError as e:
            raise ConfigError(
                f"rate_limit_storage {scheme}:// needs the {package} package: pip install "
                f"{package} (or use memory:// with a single server process)"
            ) from e
    from limits.errors import ConfigurationError

    try:
        return Limiter(get_remote_address, app=app)
    except ConfigurationError as e:
        raise ConfigError(f"rate_limit_storage {scheme}:// cannot be used: {e}") from e


def init_security(app: Flask, *, trusted_proxies: int = 0) -> tuple[CSRFProtect, Limiter]:
    if trusted_proxies > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted_proxies)  # type: ignore[method-assign]
    app.after_request(_add_security_headers)
    csrf = CSRFProtect(app)
    app.register_error_handler(CSRFError, _csrf_error)
    return csrf, _limiter(app)
