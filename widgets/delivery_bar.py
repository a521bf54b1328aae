"""A ProgressBar whose bar uses only glyphs the Linux console fonts have.

Textual's bar draws ━ with the half-cell glyphs ╺ ╸, which are not in every console font and, in
16 colours, tell done from not-done only by colour. On the VT we draw whole cells instead: █ done,
░ left (both in all Debian console fonts, shared notes/textual.md §2.5) - readable in monochrome.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
from textual.renderables.bar import Bar as BarRenderable
from textual.widgets import ProgressBar


class VtBarRenderable(BarRenderable):
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = self.width or options.max_width
        _start, end = self.highlight_range
        done = max(0, min(width, int(round(end))))
        yield Text("█" * done + "░" * (width - done), end="", no_wrap=True)


class DeliveryBar(ProgressBar):
    def __init__(self, *, vt: bool = False, id: str | None = None) -> None:  # noqa: A002
        if vt:
            self.BAR_RENDERABLE = VtBarRenderable
        super().__init__(total=None, show_eta=False, id=id)
