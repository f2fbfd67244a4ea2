"""Rules of the layout that code review alone would let slip."""

from __future__ import annotations

import subprocess
import sys

import pytest

CORE = ["foundation", "foundation.settings", "foundation.db", "catalog", "shopkg", "shopkg.cli"]


@pytest.mark.parametrize("module", CORE)
def test_core_modules_import_neither_torch_nor_flask(module: str) -> None:
    code = (
        f"import sys, {module}; "
        "heavy = sorted(m for m in ('torch', 'flask', 'transformers') if m in sys.modules); "
        "print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{module} imports {result.stdout.strip()}"
