"""No dead code (issue 7): every top-level function, class, constant and method of the installed
packages is referred to somewhere (code, tests, scripts or benchmarks), or is a hook a framework calls
by name. A plain AST scan, not a type-aware one: a name used anywhere counts as used."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bin_console", "screens", "widgets", "data")
USERS = ("tests", "scripts", "benchmarks")
# called by name by a framework, never by our code
HOOKS = re.compile(
    r"^(__\w+__|on_\w+|_on_\w+|action_\w+|watch_\w+|validate_\w+|compute_\w+|key_\w+|handle_\w+|test_\w+"
    r"|check_action|compose|render\w*|get_\w+_description)$"
)


def _files(dirs) -> list[Path]:
    return [p for d in dirs for p in (ROOT / d).rglob("*.py") if "migrations" not in p.parts]


def _uses(trees) -> Counter:
    seen: Counter = Counter()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                seen[node.id] += 1
            elif isinstance(node, ast.Attribute):
                seen[node.attr] += 1
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                seen.update(re.findall(r"[A-Za-z_]\w*", node.value))  # getattr, patch targets, i18n keys
            elif isinstance(node, ast.alias):
                seen[node.name.rsplit(".", 1)[-1]] += 1
    return seen


def _definitions(path: Path, tree: ast.Module):
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    yield target.id, node.lineno
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and not node.decorator_list:
            yield node.name, node.lineno
            if isinstance(node, ast.ClassDef):
                for sub in node.body:
                    if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)) and not sub.decorator_list:
                        yield f"{node.name}.{sub.name}", sub.lineno


def test_every_definition_is_used_somewhere():
    ours = {p: ast.parse(p.read_text(encoding="utf-8")) for p in _files(PACKAGES)}
    theirs = [ast.parse(p.read_text(encoding="utf-8")) for p in _files(USERS)]
    uses = _uses([*ours.values(), *theirs])
    dead = [
        f"{path.relative_to(ROOT)}:{line}: {name}"
        for path, tree in ours.items()
        for name, line in _definitions(path, tree)
        if not HOOKS.match(name.rsplit(".", 1)[-1]) and uses[name.rsplit(".", 1)[-1]] == 0
    ]
    assert not dead, "defined but never used:\n" + "\n".join(dead)
