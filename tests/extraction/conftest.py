from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shopkg.db import Database

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'meta.db'}").connect()
    db.upgrade()
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"the development data sets are not at {SHARED_DATA}")
    return SHARED_DATA
