"""Type-check the four packages with mypy: `python scripts/typecheck.py` (what tests/test_typecheck.py runs).

screens/, widgets/ and data/ install as bin_console.screens/.widgets/.data (pyproject's package-dir
mapping), which mypy cannot read from the repository tree: it would name them `screens.x` and never
match the `bin_console.screens.x` imports. So mypy runs in a throw-away tree of symlinks laid out
as the installed package, with the repository's [tool.mypy] settings, and the paths it prints are
mapped back to the repository's so an editor can jump to them. Exit status is mypy's.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# installed name -> folder in the repository (the package-dir mapping of pyproject.toml)
CONFIG = ROOT / "pyproject.toml"
CACHE = ROOT / ".mypy_cache"  # kept between runs: a warm run takes seconds, not half a minute
MAPPED = {"screens": ROOT / "screens", "widgets": ROOT / "widgets", "data": ROOT / "data"}


def build_tree(top: Path) -> None:
    package = top / "bin_console"
    package.mkdir()
    for entry in (ROOT / "bin_console").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name, folder in MAPPED.items():
        (package / name).symlink_to(folder, target_is_directory=True)


def repo_path(line: str) -> str:
    """bin_console/screens/x.py:3: error ... -> screens/x.py:3: error ..."""
    for name in MAPPED:
        if line.startswith(f"bin_console/{name}/"):
            return line.removeprefix("bin_console/")
    return line


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bin-console-mypy-") as tmp:
        top = Path(tmp)
        build_tree(top)
        done = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", str(CONFIG), "--cache-dir", str(CACHE), "bin_console"],
            cwd=top,
            capture_output=True,
            text=True,
        )
    for line in (done.stdout + done.stderr).splitlines():
        print(repo_path(line))
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
