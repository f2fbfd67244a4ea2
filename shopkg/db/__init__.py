"""The metadata database (SQLAlchemy 2 + Alembic): models, connection, and small repositories."""

from shopkg.db import accounts, jobs, overrides
from shopkg.db.database import Database
from shopkg.db.models import (
    AdminOverride,
    AdminSession,
    AdminUser,
    ApiToken,
    AuditEntry,
    Base,
    BuildJob,
    JobStage,
    JobStatus,
    OverrideKind,
    QuarantinedRecord,
    RecordStatus,
    SourceRecord,
)

__all__ = [
    "AdminOverride",
    "AdminSession",
    "AdminUser",
    "ApiToken",
    "AuditEntry",
    "Base",
    "BuildJob",
    "Database",
    "JobStage",
    "JobStatus",
    "OverrideKind",
    "QuarantinedRecord",
    "RecordStatus",
    "SourceRecord",
    "accounts",
    "jobs",
    "overrides",
]
