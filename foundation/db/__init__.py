"""The metadata database (SQLAlchemy 2 + Alembic): models, connection, and small repositories."""

from foundation.db import accounts, jobs, overrides
from foundation.db.database import Database
from foundation.db.models import (
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
