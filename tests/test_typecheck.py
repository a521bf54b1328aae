"""mypy finds no error in bin_console/, data/, screens/ and widgets/ (this is how CI type-checks).

Run alone with `pytest tests/test_typecheck.py` (or `-m typecheck` to pick it from a larger run), or
`python scripts/typecheck.py` for mypy's own output.
The settings are pyproject's [tool.mypy]; scripts/typecheck.py lays the four folders out as the
installed package, which is the only layout mypy can resolve the package-dir mapping from.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.typecheck


def test_mypy_finds_no_errors() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "typecheck.py")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    # mypy exits 1 for type errors, 2 for a crash or bad configuration: both fail here with its words
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout, done.stdout + done.stderr
