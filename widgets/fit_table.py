"""A DataTable whose columns share the width it is given and whose cut cells end in "…".

Every column has a minimum width and a share (``grow``) of what is left, recomputed when the table
is resized: at 120 columns the text columns get the room instead of keeping an 80-column layout.
A cell wider than its column is cut with "…", so a cut value never passes for the whole value. A
column marked ``keep_postcode`` cuts before a Belgian postcode (4 digits) rather than through it:
"Sint-Amands-Dendermond…, 9100 Sint-Niklaas" still tells two streets of the same name apart.

Widths are worked out here, not by DataTable's auto-width pass over every cell: no layout shift
while rows change, and deterministic snapshots (shared notes/textual.md §3.2 item 5).
Presentational: gets rows of already-safe rich Text cells.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import DataTable

from bin_console.i18n import _

ELLIPSIS = "…"  # in every Linux console font (shared notes/textual.md §2.5)
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
        self._layout(event.size.width)

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
        self._rows = new
        self.clear()
        self._add_rows(cursor_row)

    def row_cells(self, index: int) -> Sequence[Text]:
        """The whole (uncut) cells of a shown row."""
        return self._rows[index][1]
