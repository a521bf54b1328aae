"""Template picker: the message templates in the dispatcher's language, then a small form for the
placeholders ({time} pre-filled with the current time). Returns (key, filled text, urgency).

Templates come from the database (alerts.list_templates) in a worker; the filled text is made by
alerts.render_template, also in a worker.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from bin_console import alerts
from bin_console.i18n import N_, _
from bin_console.textsafe import safe_text

from .base import BaseModal

PLACEHOLDER = re.compile(r"\{(\w+)\}")
LABELS = {
    "time": N_("Time"),
    "street": N_("Street"),
    "description": N_("Description"),
    "municipality": N_("Municipality"),
}


def placeholders(body: str) -> list[str]:
    return list(dict.fromkeys(PLACEHOLDER.findall(body)))


class TemplatePickerModal(BaseModal):
    INITIAL_FOCUS = "#templates"
    KEY_NOTES = [("Up/Down", N_("choose a template")), ("Escape", N_("close without changing the text"))]
    BINDINGS = [
        Binding(
            "enter",
            "next",
            N_("Next"),
            show=False,
            id="templates-next",
            tooltip=N_("use it / next field / fill in the text"),
        )
    ]
    DEFAULT_CSS = """
    TemplatePickerModal { align: center middle; }
    TemplatePickerModal > #box { width: 76; height: auto; max-height: 22; border: double $accent;
                                 padding: 0 1; background: $surface; }
    TemplatePickerModal #templates { height: auto; max-height: 10; }
    TemplatePickerModal #form { height: auto; display: none; }
    TemplatePickerModal #form.-shown { display: block; }
    TemplatePickerModal #preview { color: $text-muted; }
    """

    def __init__(self, language: str) -> None:
        super().__init__()
        self.language = language
        self.templates: list[Any] = []
        self.chosen: Any = None
        self.fields: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static(Text(_("Templates ({language})").format(language=self.language), style="bold"))
            yield OptionList(id="templates")
            with Vertical(id="form"):
                yield Static("", id="preview")
            yield Static(Text(_("Enter = choose · Escape = close")), id="hint")

    def on_mount(self) -> None:
        db, lang = self.app.db, self.language

        def load() -> list[Any]:
            rows = alerts.list_templates(db, lang)
            return rows or alerts.list_templates(db, None)

        self.run_db(load, group="templates", on_done=self._loaded)

    def _loaded(self, rows: list[Any]) -> None:
        self.templates = list(rows)
        ol = self.query_one("#templates", OptionList)
        ol.clear_options()
        for i, t in enumerate(self.templates):
            label = Text()
            label.append_text(safe_text(t.title, style="bold"))
            label.append(f"  {t.key} · {t.language} · {t.urgency}")
            ol.add_option(Option(label, id=str(i)))
        if self.templates:
            ol.highlighted = 0
        else:
            self.query_one("#hint", Static).update(Text(_("No templates in the database.")))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(int(event.option.id or 0))

    def _choose(self, index: int) -> None:
        self.chosen = self.templates[index]
        self.fields = placeholders(self.chosen.body)
        form = self.query_one("#form", Vertical)
        self.query_one("#preview", Static).update(safe_text(self.chosen.body))
        self.query_one("#preview", Static).styles.text_wrap = "wrap"
        for name in self.fields:
            value = datetime.now().strftime("%H:%M") if name == "time" else ""
            form.mount(Input(value=value, placeholder=_(LABELS[name]) if name in LABELS else name, id=f"f-{name}"))
        form.add_class("-shown")
        self.query_one("#templates", OptionList).display = False
        self.query_one("#hint", Static).update(Text(_("Fill in the fields · Enter = next / done · Escape = close")))
        if self.fields:
            self.call_after_refresh(lambda: self.set_focus(self.query_one(f"#f-{self.fields[0]}", Input)))
        else:
            self._finish()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        name = (event.input.id or "")[2:]
        i = self.fields.index(name) if name in self.fields else len(self.fields) - 1
        if i + 1 < len(self.fields):
            self.set_focus(self.query_one(f"#f-{self.fields[i + 1]}", Input))
        else:
            self._finish()

    def action_next(self) -> None:
        ol = self.query_one("#templates", OptionList)
        if self.chosen is None and ol.highlighted is not None:
            self._choose(ol.highlighted)

    def values(self) -> dict[str, str]:
        return {n: self.query_one(f"#f-{n}", Input).value.strip() for n in self.fields}

    def _finish(self) -> None:
        t, values, db = self.chosen, self.values(), self.app.db

        def render() -> tuple[str, str, str]:
            return t.key, alerts.render_template(db, t.key, t.language, values), t.urgency

        self.run_db(render, group="template-render", on_done=self.dismiss)
