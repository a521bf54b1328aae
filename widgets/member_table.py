"""One page of members in a non-focusable DataTable (the filter field keeps focus and drives it).

Presentational: gets rows of already-safe rich Text cells. Fixed column widths (no auto-width
pass over every cell, no layout shift while paging, deterministic snapshots).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from bin_console.i18n import N_, _

# 66 columns + 10 of cell padding = 76: fits 80x24 with the border. Titles are N_() msgids
# (translated in on_mount; a translation must fit its column's width).
COLUMNS: tuple[tuple[str, int], ...] = (
    (N_("Name"), 20),
    (N_("Mobile"), 16),
    (N_("Address"), 18),
    (N_("Status"), 7),
    # Translators: column of opt-outs (S = SMS, E = e-mail); at most 5 characters
    (N_("Opt"), 5),
)


class MemberTable(DataTable):
    can_focus = False

    DEFAULT_CSS = """
    MemberTable { height: 1fr; }
    MemberTable > .datatable--cursor { text-style: reverse bold; }
    """

    def __init__(self, **kwargs) -> None:  # noqa: ANN003
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._ids: list[int] = []

    def on_mount(self) -> None:
        for label, width in COLUMNS:
            self.add_column(_(label), width=width, key=label.lower())  # the key stays English

    def show_rows(self, rows: Sequence[tuple[int, Sequence[Text]]], *, keep_row: int | None = None) -> None:
        self.clear()
        self._ids = [key for key, _cells in rows]
        for key, cells in rows:
            self.add_row(*cells, key=str(key))
        if rows:
            self.move_cursor(row=min(keep_row or 0, len(rows) - 1))

    @property
    def selected_id(self) -> int | None:
        if not self._ids:
            return None
        return self._ids[min(max(self.cursor_row, 0), len(self._ids) - 1)]

    def move_selection(self, delta: int) -> None:
        if self._ids:
            self.move_cursor(row=min(max(self.cursor_row + delta, 0), len(self._ids) - 1))
