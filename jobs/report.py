"""The end-of-build report: per stage, how the input splits up, then what was put aside.

Every line is a sum that closes (``read 105 = new 90 + changed 0 + unchanged 0 + quarantined
15``), so a reader can see nothing went missing; then each quarantined record with where it
came from and why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from foundation.db import Database, jobs

LISTED = 50  # quarantined records listed in full; the rest are counted


def _ingest(s: dict[str, Any]) -> str:
    line = (
        f"read {s['read']} = new {s['new']} + changed {s['changed']} + "
        f"unchanged {s['unchanged']} + quarantined {s['quarantined']}; removed {s['removed']}"
    )
    if s.get("missing_images"):
        line += f"; {s['missing_images']} image file(s) missing"
    return line


def _extract(s: dict[str, Any]) -> str:
    if "note" in s:
        return str(s["note"])
    line = (
        f"{s['records']} records = extracted {s['extracted']} + reused {s['reused']} "
        f"(failed {s['failed']}"
    )
    if s.get("reasons"):
        line += f": {s['reasons']}"
    return (
        line + f"); {s['written']} record(s) written to the KG, "
        f"{s['removed_from_kg']} removed; {s['merges']} merge(s)"
    )


def _overrides(s: dict[str, Any]) -> str:
    applied = sum(s["applied"].values())
    line = (
        f"{s['overrides']} admin override(s) = applied {applied} + already in the KG "
        f"{s['already_applied']} + orphaned {s['orphaned']}; {s['undone']} removed one(s) undone"
    )
    for orphan in s.get("orphans", []):
        line += f"\n  orphaned override {orphan['id']} ({orphan['kind']} {orphan['label']} "
        line += f"{orphan['key']!r}): {orphan['reason']}"
    return line


def _text_index(s: dict[str, Any]) -> str:
    return f"{s['count']} vectors: {s['encoded']} encoded, {s['removed']} removed"


def _images(s: dict[str, Any]) -> str:
    if "images" not in s:
        return str(s.get("note", s))
    unreadable = sum(s.get("unreadable", {}).values())
    missing = s.get("missing", 0)
    line = (
        f"{s['images'] + unreadable + missing} images = readable {s['images']} + "
        f"unreadable {unreadable} + missing {missing}"
    )
    if "note" in s:
        return f"{line}; {s['note']}"
    return (
        f"{line}; {s.get('encoded', 0)} newly encoded, {s.get('not_encoded', 0)} could not be "
        f"encoded; {s.get('prototypes', 0)} concept prototypes"
    )


def _keyword(s: dict[str, Any]) -> str:
    return f"{s['items']} items indexed"


FORMATS: dict[str, Callable[[dict[str, Any]], str]] = {
    "ingest": _ingest,
    "extract": _extract,
    "overrides": _overrides,
    "text_index": _text_index,
    "images": _images,
    "keyword_index": _keyword,
}


def stage_lines(stages: dict[str, dict[str, Any]]) -> list[str]:
    lines = []
    for name, summary in stages.items():
        try:
            text = FORMATS[name](summary) if name in FORMATS else str(summary)
        except KeyError:  # a summary of another shape (an older job): show it as it is
            text = str(summary)
        lines.append(f"{name}: {text}")
    return lines


def quarantine_lines(database: Database, job_id: int) -> list[str]:
    with database.session() as session:
        total = jobs.quarantine_count(session, job_id)
        if not total:
            return []
        rows = jobs.quarantined(session, job_id, limit=LISTED)
        lines = [f"quarantined ({total}):"]
        for row in rows:
            key = f" [{row.record_key}]" if row.record_key else ""
            lines.append(f"  {row.location}{key} ({row.stage}): {row.reason}")
    if total > LISTED:
        lines.append(f"  … and {total - LISTED} more; see job {job_id} in the admin dashboard")
    return lines


def build_report(database: Database, job_id: int, stages: dict[str, dict[str, Any]]) -> str:
    """The report's text: one line per stage, then the quarantined records."""
    return "\n".join([*stage_lines(stages), *quarantine_lines(database, job_id)])
