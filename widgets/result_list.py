"""Ranked network matches: a non-focusable table the search field drives (focus never leaves the input).

Presentational: it gets plain rows (already-safe rich Text cells) and keeps a selection. Fixed
column widths so the layout never shifts while typing (and snapshots are deterministic).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from bin_console.i18n import N_, _

# name, kind, municipality, members, matched: 68 columns + 10 of cell padding = 78 at 80x24
# Titles are N_() msgids, translated in on_mount; a translation must fit its column's width.
COLUMNS: tuple[tuple[str, int], ...] = (
    (N_("Network"), 24),
    # Translators: column of the network's kind (BIN, Z-BIN); at most 4 characters
    (N_("Kind"), 4),
    (N_("Municipality"), 14),
    # Translators: column of member counts; at most 7 characters
    (N_("Members"), 7),
    # Translators: column showing what the search text matched (a street, a postcode)
    (N_("Matched"), 19),
)


def _cell_identity(cell: Text) -> tuple:
    """What a cell looks like (Text's own == ignores its base style and justification)."""
    return (cell.plain, cell.style, tuple(cell.spans), cell.justify)


class ResultList(DataTable):
    """Rows are (key, cells); ``selected_key`` is the key of the highlighted row or None."""

    can_focus = False

    # No vertical scrollbar: one appearing or going away with the number of matches re-lays out the
    # table and paints it twice (issue 7: 2-5 KB more per key over a slow link). The selection still
    # scrolls into view, and the info line says how many matches there are.
    DEFAULT_CSS = """
    ResultList { height: 1fr; overflow-y: hidden; }
    ResultList > .datatable--cursor { text-style: reverse bold; }
    """

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        super().__init__(cursor_type="row", zebra_stripes=False, show_cursor=True, **kwargs)
        self._keys: list[int] = []
        self._rows: list[tuple[int, list[tuple]]] = []  # what is shown, as _cell_identity

    def on_mount(self) -> None:
        for label, width in COLUMNS:
            self.add_column(_(label), width=width, key=label.lower())  # the key stays English

    def show_rows(self, rows: Sequence[tuple[int, Sequence[Text]]]) -> None:
        # The search answers every key; most keys deep into a word give the same matches. Redrawing
        # them anyway re-sends the whole table (~2 KB at 80x24) to the terminal (issue 7: slow SSH).
        shown = [(key, [_cell_identity(cell) for cell in cells]) for key, cells in rows]
        if shown == self._rows:
            return
        self._rows = shown
        self.clear()
        self._keys = [key for key, _cells in rows]
        for key, cells in rows:
            self.add_row(*cells, key=str(key))
        if rows:
            self.move_cursor(row=0)

    @property
    def selected_key(self) -> int | None:
        if not self._keys:
            return None
        row = min(max(self.cursor_row, 0), len(self._keys) - 1)
        return self._keys[row]

    def move_selection(self, delta: int) -> None:
        if not self._keys:
            return
        row = min(max(self.cursor_row + delta, 0), len(self._keys) - 1)
        self.move_cursor(row=row)
