"""Ranked network matches: a non-focusable table the search field drives (focus never leaves the input).

Presentational: it gets plain rows (already-safe rich Text cells) and keeps a selection. The columns
share the terminal's width (FitTable); what matched keeps its postcode when it has to be cut.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from bin_console.i18n import N_

from .fit_table import Col, FitTable

# What matched gets most of the room: it is what tells two hits apart ("Kerkstraat, 9000 Gent").
# At 80 columns: Network 19, Kind 5 ("Z-BIN"), Municipality 12, Members 7, Matched 26; at 120: 29/17/51.
COLUMNS: tuple[Col, ...] = (
    Col(N_("Network"), 18, grow=2),
    # Translators: column heading of the network's kind (BIN, Z-BIN); at most 5 characters
    Col(N_("Kind"), 5),
    Col(N_("Municipality"), 12, grow=1),
    # Translators: column heading of member counts; at most 7 characters
    Col(N_("Members"), 7),
    # Translators: column heading: what the search text matched (a street, a postcode)
    Col(N_("Matched"), 22, grow=5, keep_postcode=True),
)


class ResultList(FitTable[int]):
    """Rows are (key, cells); ``selected_key`` is the key of the highlighted row or None."""

    can_focus = False

    # No vertical scrollbar: one appearing or going away with the number of matches re-lays out the
    # table and paints it twice (issue 7: 2-5 KB more per key over a slow link). The selection still
    # scrolls into view, and the info line says how many matches there are.
    DEFAULT_CSS = """
    ResultList { height: 1fr; overflow-y: hidden; }
    ResultList > .datatable--cursor { text-style: reverse bold; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(COLUMNS, show_cursor=True, **kwargs)
        self._keys: list[int] = []

    def show_rows(self, rows: Sequence[tuple[int, Sequence[Text]]], *, cursor_row: int = 0) -> None:
        self._keys = [key for key, _ in rows]
        super().show_rows(rows, cursor_row=cursor_row)

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
