"""The one place that reaches into Textual's private API, for what its public API cannot do yet.

Import it only from bin_console/app.py and screens/ (tests/test_ui_textual_compat.py checks that
and pins the behaviour each call relies on, so a Textual upgrade that changes it fails there).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from rich.color import ColorSystem
from rich.console import Console, RenderableType
from rich.control import Control
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual.app import App
from textual.screen import Screen
from textual.strip import Strip


def raise_screen(app: App, screen: Screen) -> None:
    """Take ``screen`` out of the stack so that pushing it again brings it to the top: one copy,
    and the screens above it stay. There is no public "raise" (``push_screen`` of a screen already
    in the stack would show it twice)."""
    app._screen_stack.remove(screen)
    screen._pop_result_callback()  # push_screen adds one again


# ---------------------------------------------------------------------------- changed rows only
# Why (issue 7): over a 64 kbit/s SSH link every byte costs 125 µs. Textual repaints the whole screen
# whenever a widget covering it changes geometry (a screen push, a container whose virtual size grew,
# the footer filling in): at start-up the same 80x24 frame went out three times (9.5 KB, ~1.2 s on that
# link). Here a full frame sends only the rows that differ from what the terminal already shows, and
# a row's trailing blank cells (default background, nothing that makes a space visible) become one
# "erase to end of line". What the terminal shows is tracked per row; a partial update forgets the
# rows it touches, anything else (a resize, a non-compositor write) forgets everything, so a row is
# skipped only when the terminal is known to hold exactly that text.

# Every run of text below ends with an SGR reset, so between runs the terminal is in its default
# rendition: "default colour" codes (39, 49) say nothing, and an erase needs no reset before it.
ERASE_TO_END = "\x1b[K"


def _visible_when_blank(style: Style | None) -> bool:
    """Whether a space in this style looks different from an erased cell."""
    if style is None:
        return False
    bg = style.bgcolor
    return bool(
        (bg is not None and not bg.is_default)
        or style.reverse
        or style.underline
        or style.underline2
        or style.strike
        or style.overline
        or style.link
    )


def render_strips(strips: list[Strip], console: Console, *, to_line_end: bool) -> str:
    """Strips side by side as terminal text, one SGR per run of cells that look the same (Textual
    writes one per segment: ``ESC[39;49m … ESC[0m`` around every table cell, styles that differ
    only in ways the terminal never sees). With ``to_line_end``, trailing blanks that look erased
    become one erase to the end of the line."""
    segments = [seg for seg in Strip.join(strips).discard_meta() if seg.text and not seg.control]
    trimmed = False
    while to_line_end and segments:
        text, style, _control = segments[-1]
        if _visible_when_blank(style):
            break
        kept = text.rstrip(" ")
        if kept == text:
            break
        trimmed = True
        if kept:
            segments[-1] = Segment(kept, style)
            break
        segments.pop()
    color_system = console._color_system or ColorSystem.TRUECOLOR
    out: list[str] = []
    run: list[str] = []
    run_sgr: tuple[str, str | None] | None = None
    for text, style, _control in segments:
        sgr = ("", None) if style is None else _sgr(style, color_system)
        if sgr != run_sgr and run:
            out.append(_styled("".join(run), run_sgr))
            run.clear()
        run_sgr = sgr
        run.append(text)
    if run:
        out.append(_styled("".join(run), run_sgr))
    if trimmed:
        out.append(ERASE_TO_END)
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def _sgr(style: Style, color_system: ColorSystem) -> tuple[str, str | None]:
    """A style's SGR parameters as written here, and its link (a few dozen styles per app: cached,
    every frame renders every row of a full update)."""
    return _without_defaults(Strip.render_ansi(style, color_system)), style.link


def _without_defaults(ansi: str) -> str:
    """SGR parameters without the default-colour codes 39 and 49 (a 39 inside 38;5;39 is a value)."""
    codes = ansi.split(";")
    kept: list[str] = []
    i = 0
    while i < len(codes):
        code = codes[i]
        if code in ("38", "48") and i + 1 < len(codes):
            n = 3 if codes[i + 1] == "5" else 5 if codes[i + 1] == "2" else 1
            kept.extend(codes[i : i + n])
            i += n
            continue
        if code not in ("39", "49"):
            kept.append(code)
        i += 1
    return ";".join(kept)


def _styled(text: str, sgr: tuple[str, str | None] | None) -> str:
    ansi, link = sgr or ("", None)
    styled = f"\x1b[{ansi}m{text}\x1b[0m" if ansi else text
    return f"\x1b]8;;{link}\x1b\\{styled}\x1b]8;;\x1b\\" if link else styled


def render_row(line: Iterable[Strip], console: Console) -> str:
    """One whole screen row as terminal text (see render_strips)."""
    return render_strips(list(line), console, to_line_end=True)


class _ChangedRows(CompositorUpdate):
    """A full frame that writes only the rows the terminal does not already show."""

    def __init__(self, update: LayoutUpdate, shown: dict[int, str]) -> None:
        self.update = update
        self.shown = shown

    def render_segments(self, console: Console) -> str:
        out: list[str] = []
        x = self.update.region.x
        for y, line in enumerate(self.update.strips, self.update.region.y):
            text = render_row(line, console)
            if self.shown.get(y) == text:
                continue
            self.shown[y] = text
            out.append(Control.move_to(x, y).segment.text)
            out.append(text)
        return "".join(out)


class _ChangedChops(CompositorUpdate):
    """A partial update: rows it repaints edge to edge are treated like a full frame's rows; the
    rest goes out as Textual renders it, and the terminal's copy of those rows is forgotten."""

    def __init__(self, update: ChopsUpdate, shown: dict[int, str], width: int) -> None:
        self.update = update
        self.shown = shown
        self.width = width

    def render_segments(self, console: Console) -> str:
        out: list[str] = []
        rest: list[tuple[int, int, int]] = []
        chops = self.update.chops
        for y, x1, x2 in self.update.spans:
            line = chops[y]
            if x1 == 0 and x2 >= self.width and all(strip is not None for strip in line.values()):
                text = render_row(line.values(), console)  # type: ignore[arg-type]
                if self.shown.get(y) != text:
                    self.shown[y] = text
                    out.append(Control.move_to(0, y).segment.text)
                    out.append(text)
            else:
                self.shown.pop(y, None)
                rest.append((y, x1, x2))
        for y, x1, x2 in rest:
            out.append(self._render_span(y, x1, x2, console))
        return "".join(out)

    def _render_span(self, y: int, x1: int, x2: int, console: Console) -> str:
        """What ``ChopsUpdate.render_segments`` writes for one span (the same cells from the same
        places), with each run of adjacent chops merged into one run of styles."""
        out: list[str] = []
        run: list[Strip] = []
        run_x = run_end = -1

        def flush() -> None:
            if run:
                out.append(Control.move_to(run_x, y).segment.text)
                out.append(render_strips(run, console, to_line_end=run_end >= self.width))
                run.clear()

        for end, (x, strip) in zip(self.update.chop_ends[y], self.update.chops[y].items(), strict=False):
            if strip is None or x > x2 or end <= x1:
                continue
            if not (x2 > x >= x1 and end <= x2):
                strip = strip.crop(0, min(end, x2) - x)
            if not run or x != run_end:
                flush()
                run_x = x
            run.append(strip)
            run_end = x + strip.cell_length
        flush()
        return "".join(out)


class RowsOnScreen:
    """What each terminal row shows, as last written by a full frame (see the comment above)."""

    def __init__(self) -> None:
        self.shown: dict[int, str] = {}
        self.size: tuple[int, int] | None = None

    def forget(self) -> None:
        self.shown.clear()

    def filter(self, renderable: object, size: tuple[int, int]) -> object:
        if size != self.size:
            self.forget()
            self.size = size
        if isinstance(renderable, LayoutUpdate) and renderable.region.x == 0:
            return _ChangedRows(renderable, self.shown)
        if isinstance(renderable, ChopsUpdate):
            return _ChangedChops(renderable, self.shown, size[0])
        if renderable is not None:
            self.forget()
        return renderable


class ChangedRowsApp(App):
    """An App whose full frames write only changed rows. ``App._display`` is private: it is where
    every compositor update becomes terminal text, and there is no public hook for that."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rows_on_screen = RowsOnScreen()
        self._watching_resume = False

    def _display(self, screen: Screen, renderable: RenderableType | None) -> None:
        if not self._watching_resume and self.is_running:
            # back from a suspension (Ctrl+Z and fg, an editor): the shell wrote on the terminal
            self.app_resume_signal.subscribe(self, lambda _app: self.rows_on_screen.forget(), immediate=True)
            self._watching_resume = True
        filtered = self.rows_on_screen.filter(renderable, (self.size.width, self.size.height))
        super()._display(screen, filtered)  # type: ignore[arg-type]

    def on_resize(self, event: events.Resize) -> None:
        """The terminal may have reflowed its rows. (Textual runs App._on_resize as well: each
        class's own handler is called, so this one must not call it again.)"""
        self.rows_on_screen.forget()

    def redraw(self) -> None:
        """Write the whole screen again: something outside the console wrote over it (a kernel
        message on the Linux VT, `wall`, a line noise burst over a serial link)."""
        self.rows_on_screen.forget()
        self.refresh(repaint=True)
