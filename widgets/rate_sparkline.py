"""A one-line, labelled sparkline of the sending rate that survives the Linux console:
"rate ▁▂▅█▇ peak 12.5/s", so a night shift knows what the steps are and how high the top is.

Textual's Sparkline draws ▁▂▃▄▅▆▇, which the Linux console fonts lack (shared notes/textual.md §2.5).
On the VT (``ascii=True``) the same values are drawn with ASCII steps ending in a full block █,
which every console font has.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from bin_console.i18n import _, decimal

BLOCKS = " ▁▂▃▄▅▆▇█"
ASCII_STEPS = " .:-=+*#█"


def spark(values: Sequence[float], width: int, *, ascii: bool = False) -> str:  # noqa: A002
    """The last ``width`` values as one row of steps, scaled to the largest of them."""
    steps = ASCII_STEPS if ascii else BLOCKS
    vals = list(values)[-width:] if width > 0 else []
    # Always the full width: the newest value at the right edge, the line never grows or jumps.
    vals = [0.0] * (max(width, 0) - len(vals)) + vals
    top = max(vals, default=0.0)
    if top <= 0:
        return (steps[0] if ascii else steps[1]) * len(vals)
    out = []
    for v in vals:
        idx = round(max(v, 0.0) / top * (len(steps) - 1))
        if v > 0 and idx == 0:
            idx = 1  # any activity is visible
        out.append(steps[idx])
    return "".join(out)


class RateSparkline(Static):
    DEFAULT_CSS = """
    RateSparkline { height: 1; width: 1fr; }
    """

    def __init__(self, *, ascii: bool = False, id: str | None = None) -> None:  # noqa: A002
        super().__init__("", id=id)
        self.ascii = ascii
        self.values: list[float] = []

    def set_values(self, values: Sequence[float]) -> None:
        self.values = list(values)
        self.refresh()

    def render(self) -> Text:
        label = _("rate") + " "
        peak = " " + _("peak {rate} msg/s").format(rate=decimal(max(self.values, default=0.0)))
        width = max(self.size.width - len(label) - len(peak), 1)
        out = Text(label, style="bold", no_wrap=True, end="")
        out.append(spark(self.values, width, ascii=self.ascii))
        out.append(peak)
        return out
