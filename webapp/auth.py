"""Who is asking: admin sessions (with CSRF) for the browser, bearer tokens for the admin API."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect  # type: ignore[import-untyped]
from werkzeug.wrappers import Response

from shopkg.db import AdminUser, accounts
from shopkg.errors import AuthError
from webapp.services import services

P = ParamSpec("P")
R = TypeVar("R")
SESSION_USER = "admin_user"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def log_in(user: AdminUser) -> None:
    """Start a fresh session for ``user`` (a new session, so a planted one is dropped)."""
    session.clear()
    session[SESSION_USER] = user.username
    session.permanent = True


def log_out() -> None:
    session.clear()


def _session_admin() -> str | None:
    """The logged-in admin's name when the session names an active admin user."""
    username = session.get(SESSION_USER)
    if not isinstance(username, str):
        return None
    with services().database.session() as db:
        from sqlalchemy import select

        user = db.scalar(select(AdminUser).where(AdminUser.username == username))
        if user is None or not user.is_active:
            session.clear()
            return None
        return user.username


def current_admin() -> str | None:
    """The admin behind this request, if any (cached on ``g``)."""
    if "admin" not in g:
        g.admin = _session_admin()
    admin: str | None = g.admin
    return admin


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a local path, never another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and "\\" not in target:
            return target
    return url_for("admin.graph")


def login_required(view: Callable[P, R]) -> Callable[P, R | Response]:
    """For admin pages: send anyone not logged in to the login page."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Response:
        if current_admin() is None:
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def require_api_admin() -> str:
    """For the admin API: a valid bearer token, or an admin session plus a CSRF token on
    changes. Returns the admin's name; raises AuthError (401) otherwise."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise AuthError("use 'Authorization: Bearer skg_…' with a token from shopkg admin")
        with services().database.session() as db:
            user = accounts.verify_token(db, secret.strip())
            username = user.username if user is not None else None
        if username is None:
            raise AuthError("the bearer token is invalid, expired or revoked")
        g.admin = username
        return username
    username = current_admin()
    if username is None:
        raise AuthError("log in at /admin/login or send a bearer token")
    if request.method not in SAFE_METHODS:
        csrf: CSRFProtect = current_app.extensions["csrf"]
        csrf.protect()
    return username
