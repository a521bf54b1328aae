"""Keep the interface catalogues: `python scripts/i18n.py extract|update|compile|check`.

extract  source -> bin_console/locale/bin_console.pot (the English msgids, with where each is used)
update   .pot -> bin_console/locale/{nl,fr}/LC_MESSAGES/bin_console.po (new msgids appear untranslated,
         changed ones fuzzy: a translator must look at both before `check` passes)
compile  .po -> .mo (what the program reads and `pip install .` ships; committed, so check they match)
check    the catalogue tests: every marked message translated in nl and fr, not fuzzy, same
         placeholders, committed .mo equal to the .po

Run from the repository root with the project venv (Babel comes with the `test` extra). The usual
round after marking strings: extract, update, translate the .po files, compile, check, commit all.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface

from bin_console import __version__

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "bin_console" / "locale"
POT = LOCALE / "bin_console.pot"
DOMAIN = "bin_console"
TRANSLATED = ("nl", "fr")  # English is the source language: it has no catalogue


def pybabel(*argv: str) -> None:
    CommandLineInterface().run(["pybabel", *argv])


def extract() -> None:
    pybabel(
        "extract",
        "--mapping-file", str(ROOT / "babel.cfg"),
        "--output-file", str(POT),
        "--project", "bin-console",
        "--version", __version__,
        "--copyright-holder", "bin-console",
        # locations without line numbers: a moved line does not rewrite every catalogue
        "--add-comments", "Translators:",  # a "# Translators: ..." comment above a message reaches the .po
        "--no-wrap", "--sort-by-file", "--add-location", "file",
        ".",  # from the root (main chdirs there): locations are repository paths, not this machine's
    )  # fmt: skip


def update() -> None:
    for lang in TRANSLATED:
        po = LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        verb = "update" if po.exists() else "init"
        args = ["--input-file", str(POT), "--output-dir", str(LOCALE), "--domain", DOMAIN, "--locale", lang]
        pybabel(verb, *args, "--no-wrap", *(["--ignore-obsolete"] if verb == "update" else []))


def compile_() -> None:
    pybabel("compile", "--directory", str(LOCALE), "--domain", DOMAIN, "--statistics")


def check() -> int:
    tests = ROOT / "tests"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *map(str, tests.glob("test_i18n*.py"))]
    return subprocess.call(cmd, cwd=ROOT)


def main(argv: list[str]) -> int:
    actions = {"extract": extract, "update": update, "compile": compile_}
    if len(argv) != 1 or argv[0] not in (*actions, "check"):
        print(__doc__, file=sys.stderr)
        return 2
    os.chdir(ROOT)
    if argv[0] == "check":
        return check()
    actions[argv[0]]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
