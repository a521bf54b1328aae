"""Counts per delivery state as a compact grid (fits 80 columns: three rows of up to four states).

Presentational: the monitor hands it a dict of counts; zero states are shown dimmed so the layout
never jumps while counts change.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from bin_console.i18n import N_, _

# Labels are N_() msgids, translated in set_counts; each fits 13 columns in every language.
ORDER = (
    # Translators: delivery states of messages, each at most 13 characters
    ("queued", N_("queued")),
    ("submitting", N_("submitting")),
    ("submitted", N_("at SMSC")),
    ("delivered", N_("delivered")),
    ("undeliverable", N_("undeliverable")),
    ("expired", N_("expired")),
    ("rejected", N_("rejected")),
    ("failed", N_("failed")),
    ("cancelled", N_("cancelled")),
    ("possible_duplicates", N_("possible dup.")),
)
BAD = {"undeliverable", "expired", "rejected", "failed"}


class StateCounts(Static):
    DEFAULT_CSS = """
    StateCounts { height: auto; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__("", id=id)
        self.counts: dict[str, int] = {}

    def set_counts(self, counts: dict[str, int]) -> None:
        self.counts = dict(counts)
        rows: list[Text] = []
        line = Text()
        for i, (key, label) in enumerate(ORDER):
            n = int(self.counts.get(key, 0))
            style = (
                "dim" if n == 0 else ("bold red" if key in BAD else ("bold green" if key == "delivered" else "bold"))
            )
            cell = Text(f"{_(label):>13} ", style="dim" if n == 0 else "")
            cell.append(f"{n:<5}", style=style)
            line.append_text(cell)
            if i % 4 == 3:
                rows.append(line)
                line = Text()
        if line.plain:
            rows.append(line)
        self.update(Text("\n").join(rows))
