"""The search field: an Input whose typing repaints only its line of text, not its border.

Textual repaints a whole widget when one of its reactives changes, so each key in an Input with a
border re-sends all three rows of it (~740 B at 80 columns on TERM=linux, where the unchanged
double-line border alone is ~570 B of UTF-8). Over a 64 kbit/s SSH link that is 90 ms per key
(issue 7). Here the text, the cursor and its blink repaint the text line only; everything else
(focus, validity, size, theme) still repaints the whole field as Textual does.
Presentational: no queries.
"""

from __future__ import annotations

from textual.geometry import Region, Size
from textual.reactive import Reactive, reactive
from textual.widgets import Input
from textual.widgets.input import Selection


class SearchField(Input):
    # The same reactives as Input's, without the whole-widget repaint: the watchers below repaint
    # the one line they change. (Input's own watchers still run: they are looked up by name.)
    value: Reactive[str] = reactive("", init=False, repaint=False)
    selection: Reactive[Selection] = reactive(Selection.cursor(0), repaint=False)
    _cursor_visible = reactive(True, repaint=False)
    # Input sets its virtual width to the text's on every change (for horizontal scrolling): a
    # layout, not a repaint; a scroll that follows repaints as usual.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=True, repaint=False)

    def _refresh_text_line(self) -> None:
        self.refresh(Region(0, 0, self.size.width, 1))

    def watch_value(self) -> None:
        self._refresh_text_line()

    def watch_selection(self) -> None:
        self._refresh_text_line()

    def watch__cursor_visible(self) -> None:
        self._refresh_text_line()
