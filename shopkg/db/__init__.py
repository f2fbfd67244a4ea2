"""The metadata database (SQLAlchemy 2 + Alembic): models, connection, and small repositories."""

from shopkg.db import accounts, jobs
from shopkg.db.database import Database
from shopkg.db.models import (
    AdminSession,
    AdminUser,
    ApiToken,
    AuditEntry,
    Base,
    BuildJob,
    JobStage,
    JobStatus,
    QuarantinedRecord,
    RecordStatus,
    SourceRecord,
)

__all__ = [
    "AdminSession",
    "AdminUser",
    "ApiToken",
    "AuditEntry",
    "Base",
    "BuildJob",
    "Database",
    "JobStage",
    "JobStatus",
    "QuarantinedRecord",
    "RecordStatus",
    "SourceRecord",
    "accounts",
    "jobs",
]
