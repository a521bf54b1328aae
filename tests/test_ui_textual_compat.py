"""screens/textual_compat.py is the only place that uses Textual's private API: each use is pinned
here, so a Textual upgrade that changes it fails in this file, and only app/screens may import it."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest
from bin_console.screens.textual_compat import ChangedRowsApp, RowsOnScreen, raise_screen, render_row
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.app import App
from textual.driver import Driver
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Static

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
    private = ("_check_bindings", "_forward_event", "_screen_stack", "_pop_result_callback", "_display", "_compositor")
    for path in [ROOT / "bin_console" / "app.py", *(ROOT / "screens").glob("*.py")]:
        if path.name == "textual_compat.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not [p for p in private if re.search(rf"\b{p}\b", text)], path.name


# ---------------------------------------------------------------- changed rows only (App._display)
CONSOLE = Console(color_system="standard", force_terminal=True, width=8)
PLAIN = Style(color="red")
ON_BLUE = Style(bgcolor="blue")


def frame(*rows: list[Segment]) -> LayoutUpdate:
    return LayoutUpdate([[Strip(row)] for row in rows], Region(0, 0, 8, len(rows)))


def write(rows: RowsOnScreen, update: object, size: tuple[int, int] = (8, 2)) -> str:
    return rows.filter(update, size).render_segments(CONSOLE)  # type: ignore[attr-defined]


def test_render_row_erases_trailing_blanks_only_where_a_blank_looks_erased():
    assert render_row([Strip([Segment("ab", PLAIN), Segment("      ", PLAIN)])], CONSOLE) == "\x1b[31mab\x1b[0m\x1b[K"
    # blanks on a coloured background are visible: they are sent as spaces
    on_blue = render_row([Strip([Segment("ab", PLAIN), Segment("      ", ON_BLUE)])], CONSOLE)
    assert on_blue.endswith("      \x1b[0m") and "\x1b[K" not in on_blue
    assert render_row([Strip([Segment("        ")])], CONSOLE) == "\x1b[K"  # a blank row


def test_render_row_writes_one_sgr_per_run_that_looks_the_same():
    # default colours say nothing after a reset; 39 as a colour value (38;5;39) is kept
    same = [Segment("ab", Style(color="default", bgcolor="default")), Segment("cd", Style(bgcolor="default"))]
    assert render_row([Strip(same)], CONSOLE) == "abcd"
    bold = [Segment("ab", Style(bold=True, color="default")), Segment("cd", Style(bold=True))]
    assert render_row([Strip(bold)], CONSOLE) == "\x1b[1mabcd\x1b[0m"
    wide = Console(color_system="256", force_terminal=True, width=8)
    assert render_row([Strip([Segment("ab", Style(color="color(39)"))])], wide) == "\x1b[38;5;39mab\x1b[0m"


def test_a_full_frame_sends_only_rows_that_changed_and_a_partial_update_forgets_its_rows():
    rows = RowsOnScreen()
    a, b = [Segment("row one ")], [Segment("row two ")]
    first = write(rows, frame(a, b))
    assert "row one" in first and "row two" in first
    assert write(rows, frame(a, b)) == ""  # the terminal shows exactly this already
    changed = write(rows, frame(a, [Segment("row 2   ")]))
    assert "row 2" in changed and "row one" not in changed
    # a partial update that does not cover row 0 edge to edge: the next frame repaints that row
    chops = ChopsUpdate([{0: Strip([Segment("XY")]), 2: None}, {0: None}], [(0, 0, 2)], [[2, 8], [8]])
    assert "XY" in write(rows, chops)
    again = write(rows, frame(a, [Segment("row 2   ")]))
    assert "row one" in again and "row 2" not in again
    # another size: the terminal may have reflowed, everything goes out again
    resized = write(rows, frame(a, [Segment("row 2   ")]), size=(9, 2))
    assert "row one" in resized and "row 2" in resized


def test_a_partial_update_covering_whole_rows_is_diffed_like_a_frame():
    rows = RowsOnScreen()
    write(rows, frame([Segment("row one ")], [Segment("row two ")]))
    chops = ChopsUpdate(
        [{0: Strip([Segment("row one ")])}, {0: Strip([Segment("row TWO ")])}], [(0, 0, 8), (1, 0, 8)], [[8], [8]]
    )
    out = write(rows, chops)
    assert "row TWO" in out and "row one" not in out


class Two(ChangedRowsApp):
    def compose(self):
        yield Static("top", id="top")
        yield Static("bottom", id="bottom")


async def test_changed_rows_app_renders_like_a_plain_app():
    """The override sits where Textual turns updates into terminal text: an app built on it still
    lays out and shows its widgets (headless runs do not write, but pass through _display)."""
    app = Two()
    async with app.run_test(size=(20, 4)) as pilot:
        await pilot.pause()
        assert app.query_one("#top", Static).region.y == 0
        assert "top" in app.export_screenshot()


async def test_what_the_terminal_shows_is_forgotten_on_resume_and_redraw():
    """After Ctrl+Z and fg (the Linux driver posts Driver.SignalResume) or App.suspend for an
    editor, the shell has written on the terminal: every row must go out again. An override of
    App._resume_signal never ran (Textual routes the message to the base's @on handler)."""
    app = Two()
    async with app.run_test(size=(20, 4)) as pilot:
        await pilot.pause()
        app.rows_on_screen.shown[0] = "top"
        app.post_message(Driver.SignalResume())
        await pilot.pause()
        await pilot.pause()
        assert app.rows_on_screen.shown == {}
        app.rows_on_screen.shown[0] = "top"
        app.redraw()
        await pilot.pause()
        assert app.rows_on_screen.shown == {}


# ---------------------------------------------------------------- the renderer against a real VT (tmux)
TRICKY_ROWS = [
    [Segment(" BIN Kerkwijk   ", Style(color="default", bgcolor="default")), Segment("BIN  ", Style(bold=True))],
    [Segment("ab", Style(color="red")), Segment("      ", Style(bgcolor="blue"))],  # blanks on a colour: kept
    [Segment("x", Style(reverse=True)), Segment("   ", Style(reverse=True)), Segment("   ")],
    [Segment("u", Style(underline=True)), Segment("    ", Style(underline=True))],
    [Segment("c", Style(color="color(39)")), Segment("d", Style(color="#00ff00", bgcolor="#000080"))],
    [Segment("漢字", Style(bold=True, color="yellow")), Segment(" é ", Style(italic=True)), Segment("  ")],
    [Segment("link", Style(link="https://example.be")), Segment("   ")],
    [Segment("        ")],
]


_SGR = re.compile(r"\x1b\[([0-9;]*)m")


def _cells(captured: str) -> list[tuple[str, tuple]]:
    """(character, (foreground, background, attributes)) per cell of a `capture-pane -e` line,
    without the trailing cells that look erased (_looks_erased), whether tmux holds them as written
    or as cleared: capture-pane tells those apart, a screen does not."""
    fg = bg = ""
    attrs: set[str] = set()
    out: list[tuple[str, tuple]] = []
    pos = 0
    while pos < len(captured):
        m = _SGR.match(captured, pos)
        if m is None:
            out.append((captured[pos], (fg, bg, frozenset(attrs))))
            pos += 1
            continue
        codes = m.group(1).split(";") if m.group(1) else ["0"]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == "0":
                fg, bg, attrs = "", "", set()
            elif c in ("38", "48"):
                n = 3 if codes[i + 1] == "5" else 5
                value = ";".join(codes[i : i + n])
                fg, bg = (value, bg) if c == "38" else (fg, value)
                i += n - 1
            elif c == "39":
                fg = ""
            elif c == "49":
                bg = ""
            elif c.isdigit() and (30 <= int(c) <= 37 or 90 <= int(c) <= 97):
                fg = c
            elif c.isdigit() and (40 <= int(c) <= 47 or 100 <= int(c) <= 107):
                bg = c
            elif c in ("22", "23", "24", "27"):
                attrs -= (
                    {{"22": "1", "23": "3", "24": "4", "27": "7"}[c], "2"}
                    if c == "22"
                    else {{"23": "3", "24": "4", "27": "7"}[c]}
                )
            else:
                attrs.add(c)
            i += 1
        pos = m.end()
    while out and out[-1][0] == " " and _looks_erased(out[-1][1]):
        out.pop()
    return out


def _looks_erased(state: tuple) -> bool:
    """A blank cell a screen shows like an erased one: default background, and no reverse,
    underline, strike or overline (a foreground colour, bold or italic on a space show nothing)."""
    _fg, bg, attrs = state
    return bg == "" and not attrs & {"4", "7", "9", "53", "21"}


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_render_row_shows_what_textuals_own_rendering_shows_in_a_real_terminal(tmp_path):
    """Each row written twice, by Textual's Strip.render and by render_row, on two lines of a tmux
    pane (a real VT parser): the cells, colours and attributes tmux then holds must be the same."""
    from tmux_driver import TmuxDriver

    console = Console(color_system="truecolor", force_terminal=True, width=40)
    out = ["\x1b[2J"]
    for i, row in enumerate(TRICKY_ROWS):
        out.append(f"\x1b[{2 * i + 1};1H" + Strip(row).render(console))
        out.append(f"\x1b[{2 * i + 2};1H" + render_row([Strip(row)], console))
    out.append(f"\x1b[{2 * len(TRICKY_ROWS) + 1};1HDONE")
    screen = tmp_path / "rows.txt"
    screen.write_text("".join(out), encoding="utf-8")
    drv = TmuxDriver(width=40, height=2 * len(TRICKY_ROWS) + 2)
    try:
        drv.start(["sh", "-c", f"cat {screen}; sleep 600"], {"TERM": "xterm-256color", "LANG": "C.UTF-8"})
        drv.wait_for("DONE", timeout=15)

        def line(n: int) -> list[tuple[str, tuple]]:  # one line alone, as cells
            flags = ["-p", "-e", "-N", "-S", str(n), "-E", str(n), "-t", drv.session]
            return _cells(drv._tmux("capture-pane", *flags).stdout.rstrip("\n"))

        pairs = [(line(2 * i), line(2 * i + 1)) for i in range(len(TRICKY_ROWS))]
    finally:
        drv.close()
    for i, (textual, ours) in enumerate(pairs):
        assert ours == textual, f"row {i}: {textual!r} != {ours!r}"
