"""Repaint only what changed (issue 7: every repainted line costs ~100-170 B over a slow SSH link).

- FitTable.show_rows marks the cells of a line that look different (``changed_span``); that the
  terminal then shows what a full paint would is checked on the real console in a pty
  (tests/test_terminal_output.py), where the bytes written can be read back;
- the search field repaints its text line per key, not its border; focus still repaints it whole.
"""

from __future__ import annotations

import pytest
from bin_console.widgets.fit_table import changed_span
from bin_console.widgets.search_field import SearchField
from rich.segment import Segment
from textual.app import App
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import Input


@pytest.mark.parametrize(
    ("old", "new", "span"),
    [
        ("abcdef", "abcdef", None),
        ("abcdef", "abXdef", (2, 3)),
        ("abc", "abcdef", (3, 6)),
        ("abcdef", "abc", (3, 6)),
        ("a漢b", "a漢c", (3, 4)),  # cells, not characters: the wide character takes two
        ("a漢b", "a字b", (1, 3)),  # a wide character is repainted whole
    ],
)
def test_changed_span_is_the_cells_that_differ(old, new, span):
    assert changed_span(Strip([Segment(old)]), Strip([Segment(new)])) == span


class Recording(SearchField):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.calls: list[tuple[tuple[Region, ...], dict]] = []

    def refresh(self, *regions, **kwargs):
        self.calls.append((regions, kwargs))
        return super().refresh(*regions, **kwargs)


class FieldHost(App):
    def compose(self):
        yield Recording(id="field")
        yield Input(id="other")


def whole_repaints(calls) -> list:
    return [(r, kw) for r, kw in calls if not r and kw.get("repaint", True) and not kw.get("recompose")]


async def test_typing_repaints_the_text_line_not_the_border():
    app = FieldHost()
    async with app.run_test(size=(80, 24)) as pilot:
        field = app.query_one(Recording)
        field.cursor_blink = False
        field.focus()
        await pilot.pause()
        field.calls.clear()
        await pilot.press(*"kerk", "backspace", "left")
        await pilot.pause()
        assert field.value == "ker"
        assert field.calls, "typing repaints something"
        assert whole_repaints(field.calls) == [], "a key repainted the whole field (its border too)"
        assert all(r.height == 1 and r.y == 0 for regions, _kw in field.calls for r in regions)
        field.calls.clear()
        await pilot.press("tab")  # focus moves: the border changes, the whole field repaints
        await pilot.pause()
        assert whole_repaints(field.calls)


async def test_the_search_field_shows_what_is_typed():
    app = FieldHost()
    async with app.run_test(size=(80, 24)) as pilot:
        field = app.query_one(Recording)
        field.focus()
        await pilot.press(*"Kerkwijk")
        await pilot.pause()
        top = app.screen._compositor.render_strips()[field.region.y + 1].text
        assert "Kerkwijk" in top
