"""The pattern docs/I18N.md gives for Textual bindings: N_() descriptions, translated where the footer reads them.

Binding descriptions are class attributes, merged when the screen class is created (at import), so
they hold the English msgid. ``Screen.active_bindings`` is what Footer (and the key panel) read on
every refresh: translating there shows the active language whatever the import order. The override
below is the one to put in screens/base.py (BaseScreen); this test proves it on a real footer.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from textual.app import App
from textual.binding import ActiveBinding, Binding
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from bin_console.i18n import N_, _, activate


class TranslatedScreen(Screen):
    BINDINGS = [Binding("f2", "noop", N_("status")), Binding("f3", "other", N_("municipality"))]

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return {
            key: active._replace(binding=replace(active.binding, description=_(active.binding.description)))
            for key, active in super().active_bindings.items()
        }

    def compose(self):
        yield Footer(show_command_palette=False)

    def action_noop(self) -> None:
        pass

    def action_other(self) -> None:
        pass


class FooterApp(App):
    def on_mount(self) -> None:
        self.push_screen(TranslatedScreen())


@pytest.fixture
def restore_english():
    yield
    activate("en")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", ["status", "municipality"]), ("nl", ["status", "gemeente"]), ("fr", ["statut", "commune"])],
)
async def test_footer_shows_binding_descriptions_in_the_active_language(restore_english, lang, expected):
    activate(lang)  # after the screen class exists: the import-time English is translated on display
    app = FooterApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        keys = app.screen.query(FooterKey)
        assert [k.description for k in keys] == expected
        assert [k.key for k in keys] == ["f2", "f3"]  # key names are never translated
