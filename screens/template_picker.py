"""Template picker: the message templates in the target network's language (the one most of its
members read; the dispatcher's own language when unknown), F9 for the next language; then a small
form for the placeholders ({time} pre-filled with the current time). Returns (key, filled text, urgency,
the filled text in every language the template has). ``first_key`` lists that template first
(a follow-up offers all_clear first).

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

from bin_console.alerts import service as alerts
from bin_console.i18n import N_, _
from bin_console.trust.textsafe import safe_text

from .base import BaseModal

PLACEHOLDER = re.compile(r"\{(\w+)\}")
LABELS = {
    "time": N_("Time"),
    "street": N_("Street"),
    "description": N_("Description"),
    "municipality": N_("Municipality"),
}
LANGUAGES = {"nl": N_("Dutch (nl)"), "fr": N_("French (fr)"), "de": N_("German (de)"), "en": N_("English (en)")}


def placeholders(body: str) -> list[str]:
    return list(dict.fromkeys(PLACEHOLDER.findall(body)))


class TemplatePickerModal(BaseModal):
    INITIAL_FOCUS = "#templates"
    TITLE_TEXT = N_("Templates")
    KEY_NOTES = [("Up/Down", N_("choose a template")), ("Escape", N_("close without changing the text"))]
    BINDINGS = [
        Binding(
            "enter",
            "next",
            N_("Next"),
            show=False,
            id="templates-next",
            tooltip=N_("use it / next field / fill in the text"),
        ),
        Binding(
            "f9",
            "next_language",
            N_("Language"),
            priority=True,
            id="templates-language",
            tooltip=N_("templates in the next language"),
        ),
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

    def __init__(self, language: str, network_id: int | None = None, *, first_key: str | None = None) -> None:
        super().__init__()
        self.first_key = first_key
        self.language = language  # until the network's own is known
        self.network_id = network_id
        self.all_templates: list[Any] = []
        self.templates: list[Any] = []
        self.chosen: Any = None
        self.fields: list[str] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static(Text(_("Templates"), style="bold"), id="templates-title")
            yield OptionList(id="templates")
            with Vertical(id="form"):
                yield Static("", id="preview")
            yield Static(Text(_("Enter = choose · Escape = close")), id="hint")

    def on_mount(self) -> None:
        db, fallback, network_id = self.app.db, self.language, self.network_id

        def load() -> tuple[str, list[Any]]:
            from bin_console.data.networks import network_language

            language = ""
            if network_id is not None:
                with db.read() as s:
                    language = network_language(s, network_id)
            return language or fallback, alerts.list_templates(db, None)

        self.run_db(load, group="templates", on_done=self._loaded)

    @property
    def languages(self) -> list[str]:
        return sorted({t.language for t in self.all_templates})

    def _loaded(self, result: tuple[str, list[Any]]) -> None:
        language, rows = result
        self.all_templates = list(rows)
        langs = self.languages
        self.language = language if language in langs or not langs else langs[0]
        self._show_language()

    def action_next_language(self) -> None:
        langs = self.languages
        if self.chosen is None and len(langs) > 1:
            self.language = langs[(langs.index(self.language) + 1) % len(langs)]
            self._show_language()

    def _show_language(self) -> None:
        self.templates = [t for t in self.all_templates if t.language == self.language]
        self.templates.sort(key=lambda t: t.key != self.first_key)  # stable: the rest keep their order
        shown = _(LANGUAGES[self.language]) if self.language in LANGUAGES else self.language
        title = Text(_("Templates in {language}").format(language=shown), style="bold")
        langs = self.languages
        if len(langs) > 1:
            following = langs[(langs.index(self.language) + 1) % len(langs)]
            title.append(f" · F9: {LANGUAGES.get(following, following)}")
        self.query_one("#templates-title", Static).update(title)
        ol = self.query_one("#templates", OptionList)
        ol.clear_options()
        for i, t in enumerate(self.templates):
            label = Text()
            label.append_text(safe_text(t.title, style="bold"))
            label.append(" · " + (_("SMS") if t.urgency == "urgent" else _("e-mail")) + " · ")
            label.append(t.key, style="dim")  # what `bin-console send --template` takes
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

        def render() -> tuple[str, str, str, dict[str, str]]:
            text = alerts.render_template(db, t.key, t.language, values)
            return t.key, text, t.urgency, alerts.render_versions(db, t.key, values)

        self.run_db(render, group="template-render", on_done=self.dismiss)
