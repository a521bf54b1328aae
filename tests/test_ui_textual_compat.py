"""screens/textual_compat.py is the only place that uses Textual's private API: each use is pinned
here, so a Textual upgrade that changes it fails in this file, and only app/screens may import it."""

from __future__ import annotations

import ast
from pathlib import Path

from bin_console.screens.textual_compat import raise_screen
from textual.app import App
from textual.screen import Screen

ROOT = Path(__file__).resolve().parents[1]


class Named(Screen):
    def __init__(self, name: str) -> None:
        super().__init__(name=name)


async def test_raise_screen_brings_one_copy_to_the_top_and_keeps_its_callback_once():
    app = App()
    results: list[str | None] = []
    async with app.run_test() as pilot:
        a, b, c = Named("a"), Named("b"), Named("c")
        app.push_screen(a, results.append)
        app.push_screen(b)
        app.push_screen(c)
        await pilot.pause()
        raise_screen(app, a)
        app.push_screen(a, results.append)
        await pilot.pause()
        assert [s.name for s in app.screen_stack[1:]] == ["b", "c", "a"]
        a.dismiss("done")
        await pilot.pause()
        assert results == ["done"]  # one callback, called once
        assert [s.name for s in app.screen_stack[1:]] == ["b", "c"]


def test_only_the_app_and_screens_import_the_compat_module():
    allowed = {ROOT / "bin_console" / "app.py", *(ROOT / "screens").glob("*.py")}
    offenders = []
    for folder in ("bin_console", "screens", "widgets", "data"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
            names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
            if any(name.endswith("textual_compat") for name in names) and path not in allowed:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_the_compat_module_is_the_only_private_textual_use_in_app_and_screens():
    private = ("_check_bindings", "_forward_event", "_screen_stack", "_pop_result_callback")
    for path in [ROOT / "bin_console" / "app.py", *(ROOT / "screens").glob("*.py")]:
        if path.name == "textual_compat.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not [p for p in private if p in text], path.name
