"""Who is asking: admin sessions (with CSRF) for the browser, bearer tokens for the admin API.

The signed session cookie holds only a random session id; the metadata database keeps its
SHA-256 (:class:`~foundation.db.models.AdminSession`) and every request looks it up, so logging
out, a password change or disabling the user ends a session even where a copy of the cookie
lives on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect  # type: ignore[import-untyped]
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from foundation.db import AdminUser, accounts
from foundation.errors import AuthError
from webapp.services import services

P = ParamSpec("P")
R = TypeVar("R")
SESSION_ID = "admin_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def log_in(db: Session, user: AdminUser) -> None:
    """Start a fresh session for ``user`` (a new session, so a planted one is dropped),
    recorded server-side in ``db`` for as long as the cookie lives."""
    session.clear()
    lifetime = current_app.permanent_session_lifetime
    session[SESSION_ID] = accounts.start_session(db, user, lifetime=lifetime)
    session.permanent = True
    accounts.record_audit(db, user.username, "login", "admin_user", user.username)


def log_out() -> None:
    """End this session server-side too, so a copy of its cookie no longer works."""
    session_id = session.get(SESSION_ID)
    session.clear()
    if not isinstance(session_id, str):
        return
    with services().database.session() as db:
        user = accounts.end_session(db, session_id)
        if user is not None:
            accounts.record_audit(db, user.username, "logout", "admin_user", user.username)


def _session_admin() -> str | None:
    """The logged-in admin's name when the session is live and its user active."""
    session_id = session.get(SESSION_ID)
    if not isinstance(session_id, str):
        return None
    with services().database.session() as db:
        user = accounts.session_user(db, session_id)
        if user is None:
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
