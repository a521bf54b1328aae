"""A DataTable whose columns share the width it is given and whose cut cells end in "…".

Every column has a minimum width and a share (``grow``) of what is left, recomputed when the table
is resized: at 120 columns the text columns get the room instead of keeping an 80-column layout.
A cell wider than its column is cut with "…", so a cut value never passes for the whole value. A
column marked ``keep_postcode`` cuts before a Belgian postcode (4 digits) rather than through it:
"Sint-Amands-Dendermond…, 9100 Sint-Niklaas" still tells two streets of the same name apart.

Widths are worked out here, not by DataTable's auto-width pass over every cell: no layout shift
while rows change, and deterministic snapshots (shared notes/textual.md §3.2 item 5).
Presentational: gets rows of already-safe rich Text cells.

New rows repaint only the lines that look different (issue 7). DataTable repaints the whole table
whenever its rows change (``clear`` and the size update after ``add_row`` each ask for a full
repaint), and Textual then re-sends every line of it to the terminal: ~100 B per line even for a
blank one, 2-4 KB at 80x24 when a search narrows from 19 matches to 5 of which the first is the
same. ``show_rows`` compares each visible line (``render_line``, the Line API Textual paints from)
before and after the change and marks only those that differ; the table's own full-repaint
requests in between are turned into layout-only ones. When the view scrolled, the whole table
is repainted as before.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable

from bin_console.i18n import _

POSTCODE = re.compile(r"(?<!\d)\d{4}(?!\d)")
HEAD_MIN = 10  # cells of a street kept before its postcode when both cannot fit


@dataclass(frozen=True)
class Col:
    label: str  # an N_() msgid: translated where the heading is measured and shown
    width: int  # the minimum, in cells (never less than the label)
    grow: int = 0  # share of the spare width; 0 keeps the column at its minimum
    keep_postcode: bool = False


def fit_widths(columns: Sequence[Col], available: int, padding: int = 1) -> list[int]:
    """Column widths for ``available`` cells (each column also takes 2 x ``padding``)."""
    widths = [max(c.width, cell_len(_(c.label))) for c in columns]  # a heading is never cut
    spare = available - sum(widths) - 2 * padding * len(columns)
    shares = sum(c.grow for c in columns)
    if spare <= 0 or shares == 0:
        return widths
    given = 0
    for i, c in enumerate(columns):
        extra = spare * c.grow // shares
        widths[i] += extra
        given += extra
    # the cells lost to rounding go to the column that grows most
    widths[max(range(len(columns)), key=lambda i: columns[i].grow)] += spare - given
    return widths


def _end_cut(text: Text, width: int) -> Text:
    out = text.copy()
    out.truncate(width, overflow="ellipsis")
    return out


def cut(text: Text, width: int, *, keep_postcode: bool = False) -> Text:
    """``text`` in at most ``width`` cells; a cut ends in "…" (or, keeping a postcode, sits before it)."""
    if cell_len(text.plain) <= width:
        return text
    found = POSTCODE.search(text.plain) if keep_postcode else None
    if found is not None and found.start() > 0:
        head, tail = text[: found.start()], text[found.start() :]
        sep = head.plain[len(head.plain.rstrip(", ")) :]  # ", " stays between street and postcode
        head = head[: len(head.plain) - len(sep)]
        # The street keeps up to HEAD_MIN cells; the town after the postcode gives way first.
        tail_room = max(len(found.group()) + 1, width - len(sep) - min(HEAD_MIN, cell_len(head.plain)))
        head_room = width - len(sep) - min(cell_len(tail.plain), tail_room)
        if head_room >= 4:  # enough of the street left to read
            shown_head = cut(head, head_room)
            rest = width - len(sep) - cell_len(shown_head.plain)
            return Text.assemble(shown_head, sep, cut(tail, rest), end="", no_wrap=True)
    return _end_cut(text, width)


def shared_prefix(texts: Sequence[str]) -> str:
    """The words every one of ``texts`` starts with ("POLITIE BIN Kerkwijk: "), when there are two or
    more: a column of alerts then shows what differs instead of the same opening on every row."""
    if len(texts) < 2:
        return ""
    first, last = min(texts), max(texts)  # the common prefix of all is that of the extremes
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[: first.rfind(" ", 0, n + 1) + 1] if n < len(first) else first[: first.rfind(" ") + 1]


def _cells(strip: Strip) -> list[tuple[str | None, object]]:
    """A line as (character, style) per terminal cell (a wide character's second cell is "")."""
    out: list[tuple[str | None, object]] = []
    for segment in strip:
        if segment.control:
            continue
        for char in segment.text:
            out.append((char, segment.style))
            out.extend(("", segment.style) for _ in range(cell_len(char) - 1))
    return out


def changed_span(old: Strip, new: Strip) -> tuple[int, int] | None:
    """The cells [start, end) where two renderings of a line differ; None when they look the same."""
    if old == new:
        return None
    a, b = _cells(old), _cells(new)
    n = max(len(a), len(b))
    a += [(None, None)] * (n - len(a))  # past the end of the shorter line
    b += [(None, None)] * (n - len(b))
    start = next((i for i in range(n) if a[i] != b[i]), None)
    if start is None:
        return None
    end = next(i for i in range(n, 0, -1) if a[i - 1] != b[i - 1])

    def inside_wide(i: int) -> bool:  # the second cell of a wide character, old or new
        return a[i][0] == "" or b[i][0] == ""

    while start > 0 and inside_wide(start):  # a wide character is repainted whole
        start -= 1
    while end < n and inside_wide(end):
        end += 1
    return start, end


def _cell_identity(cell: Text) -> tuple:
    """What a cell looks like (Text's own == ignores its base style and justification)."""
    return (cell.plain, cell.style, tuple(cell.spans), cell.justify)


K = TypeVar("K")  # a row's key (a network id, a member id): opaque to the table


class FitTable(DataTable, Generic[K]):
    """``show_rows`` takes (key, cells); the cells are cut to the current widths when shown."""

    DEFAULT_CSS = """
    FitTable { height: 1fr; }
    FitTable > .datatable--cursor { text-style: reverse bold; }
    """

    # While show_rows replaces the rows, and after it until the table has taken its new height
    # (DataTable updates its size on idle), its full-repaint requests only lay out: show_rows has
    # marked the lines that changed. (Class defaults: DataTable refreshes while it initialises.)
    _lines_marked = False
    _awaited_height: int | None = None

    def __init__(self, columns: Sequence[Col], **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        kwargs.setdefault("zebra_stripes", False)
        super().__init__(**kwargs)
        self.fit_columns = tuple(columns)
        self.widths: list[int] = []
        self._rows: list[tuple[str, Sequence[Text]]] = []

    def on_mount(self) -> None:
        self._layout(self.size.width)

    def on_resize(self, event: events.Resize) -> None:
        self._awaited_height = None  # a resize repaints everything
        self._layout(event.size.width)

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False):
        if self._lines_marked and not recompose:
            # show_rows is replacing the rows: it marks the lines that changed itself, afterwards
            return super().refresh(repaint=False, layout=layout)
        if not regions and repaint and layout and not recompose and self._awaited_height is not None:
            if self.virtual_size.height == self._awaited_height:
                self._awaited_height = None  # the size update after show_rows: its lines are marked
                return super().refresh(repaint=False, layout=True)
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def _visible_lines(self) -> list[Strip] | None:
        if not self.is_mounted or not self.widths or not self.size:
            return None
        return [self.render_line(y) for y in range(self.size.height)]

    def _available(self, width: int) -> int:
        # A vertical scrollbar is reserved even before rows overflow: widths never jump when it appears.
        return width - self.styles.scrollbar_size_vertical

    def _layout(self, width: int) -> None:
        widths = fit_widths(self.fit_columns, self._available(width), self.cell_padding)
        if widths == self.widths:
            return
        self.widths = widths
        row = self.cursor_row
        self.clear(columns=True)
        for col, w in zip(self.fit_columns, widths, strict=True):
            self.add_column(_(col.label), width=w)
        self._add_rows(row)

    def _add_rows(self, cursor_row: int) -> None:
        if not self.widths:
            return  # not laid out yet: _layout adds the rows
        for key, cells in self._rows:
            shown = [
                cut(cell, w, keep_postcode=col.keep_postcode)
                for cell, col, w in zip(cells, self.fit_columns, self.widths, strict=True)
            ]
            self.add_row(*shown, key=key)
        if self._rows:
            self.move_cursor(row=min(max(cursor_row, 0), len(self._rows) - 1))

    def show_rows(self, rows: Sequence[tuple[K, Sequence[Text]]], *, cursor_row: int = 0) -> None:
        # Polls and searches answer again and again with the same rows; redrawing them anyway re-sends
        # the whole table (~2 KB at 80x24) to the terminal (issue 7: slow SSH links).
        new = [(str(key), cells) for key, cells in rows]
        same = [(k, [_cell_identity(c) for c in cells]) for k, cells in new] == [
            (k, [_cell_identity(c) for c in cells]) for k, cells in self._rows
        ]
        if same and self.widths:
            return
        before, scrolled_to = self._visible_lines(), self.scroll_offset
        self._awaited_height = None
        self._lines_marked = before is not None
        try:
            self._rows = new
            self.clear()
            self._add_rows(cursor_row)
        finally:
            self._lines_marked = False
        after = self._visible_lines()
        if before is None or after is None or self.scroll_offset != scrolled_to or len(before) != len(after):
            self.refresh()  # not painted yet, or another part of the table is in view: all of it
            return
        for y, (old, line) in enumerate(zip(before, after, strict=True)):
            span = changed_span(old, line)
            if span is not None:
                self.refresh(Region(span[0], y, span[1] - span[0], 1))
        height = len(self._rows) + (self.header_height if self.show_header else 0)
        if self.virtual_size.height != height:
            self._awaited_height = height

    def row_cells(self, index: int) -> Sequence[Text]:
        """The whole (uncut) cells of a shown row."""
        return self._rows[index][1]
