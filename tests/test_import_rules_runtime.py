"""Deferred imports really are deferred: the services and the CLI never pull in Textual."""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = [
    "bin_console.data",
    "bin_console.alerts.service",
    "bin_console.channels.smpp.sender",
    "bin_console.cli.dispatch",
]


@pytest.mark.parametrize("module", MODULES)
def test_importing_leaves_textual_out(module):
    code = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.')"
        " or m.startswith('bin_console.screens') or m.startswith('bin_console.widgets') or m == 'bin_console.app')\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"{module} imported {out.stdout.strip()}"


def test_the_check_can_fail():
    """The same probe on the App module does see Textual (so the test above is not vacuous)."""
    code = "import sys, bin_console.app\nprint('textual' in sys.modules)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "True"
