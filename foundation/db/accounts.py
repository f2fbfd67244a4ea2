"""Admin users (argon2 password hashes), their browser sessions and API bearer tokens (both
kept as SHA-256 only, so either can be ended server-side) and the audit log."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from foundation.db.models import AdminSession, AdminUser, ApiToken, AuditEntry, as_utc, utcnow
from foundation.errors import AuthError

TOKEN_PREFIX = "skg_"  # noqa: S105 - a public marker, not a secret
MIN_PASSWORD_LENGTH = 10
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,80}$")

_hasher = PasswordHasher()
# verified against when the user does not exist, so both paths take the same time
_DUMMY_HASH = _hasher.hash("shopkg-timing-equalizer")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_admin(
    session: Session, username: str, password: str, *, actor: str = "cli"
) -> AdminUser:
    """Create an admin user; the password is stored as an argon2id hash."""
    if not USERNAME_PATTERN.match(username):
        raise AuthError(f"invalid username {username!r}: use 1-80 letters, digits and . _ @ -")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(AdminUser).where(AdminUser.username == username)) is not None:
        raise AuthError(f"admin user {username!r} already exists")
    user = AdminUser(username=username, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    record_audit(session, actor, "create_user", "admin_user", username)
    return user


def has_users(session: Session) -> bool:
    return session.scalar(select(AdminUser.id).limit(1)) is not None


def set_password(session: Session, username: str, password: str, *, actor: str = "cli") -> None:
    """Change ``username``'s password and end every browser session the old one started."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user = _get_user(session, username)
    user.password_hash = hash_password(password)
    ended = end_sessions(session, user)
    record_audit(session, actor, "set_password", "admin_user", username, {"sessions_ended": ended})


def set_active(session: Session, username: str, active: bool, *, actor: str = "cli") -> None:
    """Enable or disable ``username``. A disabled admin cannot log in, and their browser
    sessions end and their API tokens stop working (tokens work again once re-enabled,
    unless revoked; sessions do not come back)."""
    user = _get_user(session, username)
    user.is_active = active
    ended = 0 if active else end_sessions(session, user)
    action = "enable_user" if active else "disable_user"
    record_audit(session, actor, action, "admin_user", username, {"sessions_ended": ended})


def authenticate(session: Session, username: str, password: str) -> AdminUser | None:
    """The active user with these credentials, or ``None``; rehashes outdated hashes."""
    user = session.scalar(select(AdminUser).where(AdminUser.username == username))
    stored = user.password_hash if user is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def start_session(session: Session, user: AdminUser, *, lifetime: timedelta) -> str:
    """Record a new browser session for ``user`` and return its random id, for the signed
    cookie; only its SHA-256 is stored. Sessions that have expired are deleted here."""
    now = utcnow()
    session.execute(delete(AdminSession).where(AdminSession.expires_at <= now))
    session_id = secrets.token_urlsafe(32)
    session.add(
        AdminSession(
            user_id=user.id, id_hash=_digest(session_id), created_at=now, expires_at=now + lifetime
        )
    )
    session.flush()
    return session_id


def session_user(session: Session, session_id: str) -> AdminUser | None:
    """The active user of a live (not ended, not expired) browser session, or ``None``."""
    row = session.scalar(select(AdminSession).where(AdminSession.id_hash == _digest(session_id)))
    if row is None or as_utc(row.expires_at) <= utcnow() or not row.user.is_active:
        return None
    return row.user


def end_session(session: Session, session_id: str) -> AdminUser | None:
    """End one browser session (logout); returns whose it was, ``None`` when it was not live."""
    row = session.scalar(select(AdminSession).where(AdminSession.id_hash == _digest(session_id)))
    if row is None:
        return None
    user = row.user
    session.delete(row)
    session.flush()
    return user


def end_sessions(session: Session, user: AdminUser) -> int:
    """End every browser session of ``user``; returns how many there were."""
    rows = list(session.scalars(select(AdminSession).where(AdminSession.user_id == user.id)))
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


def issue_token(
    session: Session,
    username: str,
    name: str,
    *,
    expires_in: timedelta | None = None,
    actor: str = "cli",
) -> str:
    """Create a bearer token for ``username`` and return it; it is shown only this once."""
    user = _get_user(session, username)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=_digest(secret),
        expires_at=utcnow() + expires_in if expires_in is not None else None,
    )
    session.add(token)
    session.flush()
    record_audit(session, actor, "issue_token", "api_token", token.prefix, {"user": username})
    return secret


def verify_token(session: Session, secret: str) -> AdminUser | None:
    """The active user a valid, unexpired, unrevoked token belongs to, or ``None``."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    digest = _digest(secret)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if token is None or not hmac.compare_digest(token.token_hash, digest) or token.revoked:
        return None
    if token.expires_at is not None and as_utc(token.expires_at) <= utcnow():
        return None
    if not token.user.is_active:
        return None
    token.last_used_at = utcnow()
    return token.user


def revoke_token(session: Session, prefix: str, *, actor: str = "cli") -> None:
    token = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    if token is None:
        raise AuthError(f"no API token starts with {prefix!r}; `shopkg admin tokens` lists them")
    token.revoked = True
    record_audit(session, actor, "revoke_token", "api_token", prefix)


def record_audit(
    session: Session,
    actor: str,
    action: str,
    target_kind: str,
    target_key: str,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry to the audit log (in the caller's transaction)."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        target_kind=target_kind,
        target_key=target_key,
        details=details or {},
    )
    session.add(entry)
    return entry


def audit_entries(
    session: Session, *, limit: int = 100, before: datetime | None = None
) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.at < before)
    return list(session.scalars(query))


def _get_user(session: Session, username: str) -> AdminUser:
    user = session.scalar(select(AdminUser).where(AdminUser.username == username))
    if user is None:
        raise AuthError(f"no admin user {username!r}; create one with `shopkg admin create-user`")
    return user


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
