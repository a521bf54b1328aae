"""The layering rules hold, checked on the source (import-linter cannot see our package-dir mapping:
data/, screens/ and widgets/ install as bin_console.* but live beside bin_console/).

1. Only the Textual App (bin_console/app.py, app_main.py), screens/ and widgets/ import Textual,
   so the CLI, the sender service and the tests drive the same code without a terminal.
2. Widgets are presentational: they never query (no data layer, no services) and know no screens.
3. The data layer depends on nothing above it.
4. Services never import the UI.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "bin_console": ROOT / "bin_console",
    "bin_console.data": ROOT / "data",
    "bin_console.screens": ROOT / "screens",
    "bin_console.widgets": ROOT / "widgets",
}
UI_MODULES = {"bin_console.app", "bin_console.app_main"}
# Entry points may start the console (import app_main lazily), never Textual itself.
ENTRY_POINTS = {"bin_console.cli.dispatch", "bin_console.cli.demo"}
# Leaf utilities with no project imports, usable from every layer.
LEAF_UTILITIES = {"bin_console.trust", "bin_console.trust.textsafe"}  # trust: a docstring-only package


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for pkg, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            name = ".".join([pkg, *parts])
            if pkg == "bin_console" and parts and parts[0] in ("data", "screens", "widgets"):
                continue
            found[name] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_pkg = path.name == "__init__.py"
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                mod = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)
    return out


def _violations(sources, forbidden) -> list[str]:
    bad = []
    for name, path in _modules().items():
        if not sources(name):
            continue
        for imp in sorted(_imports(name, path)):
            if any(imp == f or imp.startswith(f + ".") for f in forbidden):
                bad.append(f"{name} imports {imp}")
    return bad


def _is_ui(name: str) -> bool:
    return name in UI_MODULES or name.startswith(("bin_console.screens", "bin_console.widgets"))


SERVICES = [
    "bin_console.directory.service",
    "bin_console.directory.importer",
    "bin_console.directory.exporter",
    "bin_console.alerts.service",
    "bin_console.alerts.outbox",
    "bin_console.channels",
    "bin_console.channels.smpp.sender",
    "bin_console.cli.send",
    "bin_console.trust.credentials",
    "bin_console.trust.audit",
]


def test_rules_see_the_whole_tree():
    mods = _modules()
    expected_modules = (
        "bin_console.cli.dispatch",
        "bin_console.data.models",
        "bin_console.app",
        "bin_console.screens.networks",
    )
    for expected in expected_modules:
        assert expected in mods


def test_only_the_ui_imports_textual():
    assert _violations(lambda n: not _is_ui(n), ["textual"]) == []


def test_widgets_are_presentational():
    forbidden = ["bin_console.data", "bin_console.screens", "bin_console.app", *SERVICES]
    assert _violations(lambda n: n.startswith("bin_console.widgets"), forbidden) == []


def test_data_layer_depends_on_nothing_above_it():
    above = [
        m
        for m in _modules()
        if m.startswith("bin_console.") and not m.startswith("bin_console.data") and m not in LEAF_UTILITIES
    ]
    assert _violations(lambda n: n.startswith("bin_console.data"), above) == []


def test_services_never_import_the_ui():
    forbidden = ["bin_console.app", "bin_console.app_main", "bin_console.screens", "bin_console.widgets", "textual"]
    assert _violations(lambda n: not _is_ui(n) and n not in ENTRY_POINTS, forbidden) == []
    entry_forbidden = ["bin_console.app", "bin_console.screens", "bin_console.widgets", "textual"]
    assert _violations(lambda n: n in ENTRY_POINTS, entry_forbidden) == []


def test_the_checker_can_fail(tmp_path):
    """A rule checker that never reports anything would be a defect: feed it a bad import."""
    bad = tmp_path / "bad.py"
    bad.write_text("from textual.app import App\nfrom ..screens import networks\n")
    assert "textual.app" in _imports("bin_console.data.bad", bad)
    assert "bin_console.screens.networks" in _imports("bin_console.data.bad", bad)


def test_ruff_is_clean():
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(exe).exists():
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    proc = subprocess.run([exe, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
