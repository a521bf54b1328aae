"""One page of members in a non-focusable table (the filter field keeps focus and drives it).

Presentational: gets rows of already-safe rich Text cells. The columns share the terminal's width
(FitTable): a cut name or address ends in "…".
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from bin_console.i18n import N_

from .fit_table import Col, FitTable

# At 80 columns: Name 21, Mobile 16 ("+32 470 •• •• 56"), Address 15, Status 7, Opted out 10 ("SMS,e-mail").
COLUMNS: tuple[Col, ...] = (
    Col(N_("Name"), 16, grow=3),
    Col(N_("Mobile"), 16),
    Col(N_("Address"), 13, grow=2),
    Col(N_("Status"), 7),
    # Translators: column heading; the cells say "SMS", "e-mail" or "SMS,e-mail" (10 wide)
    Col(N_("Opted out"), 10),
)


class MemberTable(FitTable[int]):
    can_focus = False

    def __init__(self, **kwargs) -> None:
        super().__init__(COLUMNS, **kwargs)
        self._ids: list[int] = []

    def show_rows(self, rows: Sequence[tuple[int, Sequence[Text]]], *, cursor_row: int = 0) -> None:
        self._ids = [key for key, _ in rows]
        super().show_rows(rows, cursor_row=cursor_row)

    @property
    def selected_id(self) -> int | None:
        if not self._ids:
            return None
        return self._ids[min(max(self.cursor_row, 0), len(self._ids) - 1)]

    def move_selection(self, delta: int) -> None:
        if self._ids:
            self.move_cursor(row=min(max(self.cursor_row + delta, 0), len(self._ids) - 1))
