"""BaseScreen: what every bin-console screen shares.

- ``INITIAL_FOCUS`` (a CSS selector) is focused *synchronously* in ``on_mount`` with
  ``Screen.set_focus``: type-ahead held by the App while the screen was being pushed is then
  replayed into the right widget (``app.release_keys()``), never into the previous screen.
- ``target()``: the network(s) this screen shows, which F3/F4 act on (screens/target.py); empty
  (the default) when the screen shows none. Never App state.
- Keys are ``BINDINGS`` (each with an id, a description and a tooltip for the help); ``KEY_NOTES``
  adds the (key, what it does) rows F1 shows for what is not a binding (typing, Enter in a field).
- ``FOOTER_GLOBAL``: ids of the App's bindings this screen shows first in the footer.
- ``HOLD_AFTER``: keys after which the App holds further type-ahead until this screen calls
  ``app.release_keys()`` (e.g. Enter on the networks search waits for the matches of the text typed).
- ``run_db(fn, *args, group=..., on_done=...)``: run a blocking call (DB, file) in a thread worker
  and hand the result to ``on_done`` on the event loop, only if the worker was not cancelled and
  the screen is still attached (a late result for a popped screen is dropped, not a crash).
- ``compose_body()``: the screen's widgets; ``compose()`` adds the status line and the footer
  (a screen that overrides ``compose()`` itself yields ``self.chrome()`` at the end).
- ``poll_every(seconds, fn)``: a refresh timer that runs only while the screen is on top (paused
  when another screen covers it, resumed - with one refresh at once - when it is back on top).
- ``go_back()``: what Escape does here; returns True when it leaves the screen (the screen that
  resumes releases the held keys), False when it did nothing (the App releases them at once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, ClassVar

from textual import getters
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, TextArea
from textual.worker import Worker, get_current_worker

from bin_console.i18n import _

from .target import NetworkRef

if TYPE_CHECKING:
    from bin_console.app import BinConsoleApp

    # what the mixin is mixed into, for the type checker: at run time it stays a plain class, so
    # BaseScreen's bases keep their order (Screen's machinery comes from Screen itself)
    _MixedInto = Screen
else:
    _MixedInto = object

log = logging.getLogger(__name__)


def translated(binding: Binding) -> Binding:
    """The binding with its description and tooltip in the active language (key names never change)."""
    # _("") would be the catalogue's header, hence the guards
    return replace(
        binding,
        description=_(binding.description) if binding.description else "",
        tooltip=_(binding.tooltip) if binding.tooltip else "",
    )


class _ScreenShared(_MixedInto):
    INITIAL_FOCUS: ClassVar[str | None] = None
    KEY_NOTES: ClassVar[list[tuple[str, str]]] = []
    HOLD_AFTER: ClassVar[frozenset[str]] = frozenset()
    TITLE_TEXT: ClassVar[str] = ""
    # Ids of the App's bindings this screen shows in the footer, first (<= 5 visible at 80 columns
    # with the screen's own shown bindings); every key is on F1 anyway.
    FOOTER_GLOBAL: ClassVar[tuple[str, ...]] = ("help", "networks", "compose")
    _poll_timer: tuple[Any, Callable[[], None]] | None  # (timer, fn) once poll_every ran
    _poll_paused: bool

    if TYPE_CHECKING:
        # the console App, typed (Textual's own way, which MessagePump.app uses too); at run time
        # the inherited property, so no import of bin_console.app here
        app = getters.app(BinConsoleApp)

    def target(self) -> tuple[NetworkRef, ...]:
        """The network(s) this screen shows, which F3/F4 act on; none by default."""
        return ()

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        # Descriptions and tooltips are N_() msgids (class attributes, evaluated at import):
        # translated here, where footer, key panel and palette read them (docs/I18N.md).
        merged = {
            key: active._replace(binding=translated(active.binding)) for key, active in super().active_bindings.items()
        }
        app = self.app
        ordered: dict[str, ActiveBinding] = {}
        for binding_id in self.FOOTER_GLOBAL:
            for key, active in merged.items():
                if active.node is app and active.binding.id == binding_id:
                    ordered[key] = active._replace(binding=replace(active.binding, show=True))
        for key, active in merged.items():
            if key in ordered:
                continue
            if active.node is app and active.binding.show:
                active = active._replace(binding=replace(active.binding, show=False))
            ordered[key] = active
        return ordered

    def compose(self) -> ComposeResult:
        """Subclasses implement ``compose_body()``; the status line and footer come from here."""
        yield from self.compose_body()
        yield from self.chrome()

    def compose_body(self) -> ComposeResult:
        return iter(())

    def chrome(self) -> ComposeResult:
        """Status line + footer, for screens that write their own ``compose()``."""
        from bin_console.widgets.status_line import StatusLine
        from textual.widgets import Footer

        yield StatusLine()
        yield Footer(show_command_palette=False)

    def _focus_initial(self) -> None:
        if self.INITIAL_FOCUS:
            try:
                widget = self.query_one(self.INITIAL_FOCUS)
            except Exception:  # a screen without the widget keeps default focus
                log.debug("initial focus %s not found on %s", self.INITIAL_FOCUS, type(self).__name__)
            else:
                self.set_focus(widget)

    def on_mount(self) -> None:
        if not self.app.settings.cursor_blink:
            # Slow links: a blinking cursor costs ~1.5 KB/s of idle traffic (notes/textual.md §2.8).
            for widget in self.query(Input):
                widget.cursor_blink = False
            for area in self.query(TextArea):
                area.cursor_blink = False
        self._focus_initial()

    def on_screen_resume(self) -> None:
        # Runs after on_mount for a pushed screen and again when a screen above is popped: the
        # focus is in place, so replay whatever the dispatcher typed meanwhile.
        self.app.release_keys()
        if self._poll_timer is not None and self._poll_paused:
            self._poll_paused = False
            timer, fn = self._poll_timer
            timer.resume()
            fn()

    def on_screen_suspend(self) -> None:
        if self._poll_timer is not None and not self._poll_paused:
            self._poll_paused = True
            self._poll_timer[0].pause()  # covered: nobody reads it, so no queries

    def poll_every(self, seconds: float, fn: Callable[[], None]) -> Any:
        """Call ``fn`` every ``seconds`` while this screen is on top (see on_screen_suspend)."""
        timer = self.set_interval(seconds, fn)
        self._poll_timer = (timer, fn)
        self._poll_paused = False
        return timer

    @property
    def polling(self) -> bool:
        """True when this screen has a refresh timer and it is not paused."""
        return self._poll_timer is not None and not self._poll_paused

    def go_back(self) -> bool:
        """Escape: leave this screen if something is under it. Never destructive."""
        app = self.app
        if isinstance(self, ModalScreen):
            self.dismiss(None)
            return True
        if len(app.screen_stack) > 2:  # [default screen, networks, ...]
            app.pop_screen()
            return True
        return False

    def run_db(
        self,
        fn: Callable[..., Any],
        *args: Any,
        group: str = "db",
        on_done: Callable[[Any], object] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        exclusive: bool = True,
        **kwargs: Any,
    ) -> Worker:
        """Run ``fn(*args, **kwargs)`` in a thread; deliver the result on the event loop if still wanted."""

        def job() -> Any:
            worker = get_current_worker()
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:  # surfaced to the screen, never crashes the app
                log.exception("background call %r failed", fn)
                if not worker.is_cancelled:
                    self.app.call_from_thread(self._deliver_error, on_error, exc)
                return None
            if not worker.is_cancelled and on_done is not None:
                self.app.call_from_thread(self._deliver, worker, on_done, result)
            return result

        return self.run_worker(job, thread=True, exclusive=exclusive, group=group, exit_on_error=False)

    def _deliver(self, worker: Worker, on_done: Callable[[Any], object], result: Any) -> None:
        if worker.is_cancelled or not self.is_attached:
            return
        on_done(result)

    def _deliver_error(self, on_error: Callable[[BaseException], None] | None, exc: BaseException) -> None:
        if not self.is_attached:
            return
        if on_error is not None:
            on_error(exc)
        else:
            self.app.notify(f"{type(exc).__name__}: {exc}", severity="error", markup=False)


class BaseScreen(_ScreenShared, Screen):
    """A full screen of the console."""

    def __init__(self) -> None:
        super().__init__()
        self._poll_timer: tuple[Any, Callable[[], None]] | None = None
        self._poll_paused = False


class BaseModal(BaseScreen, ModalScreen):
    """A modal screen (form, confirm); Escape dismisses it with None. No status line or footer."""

    def compose(self) -> ComposeResult:
        yield from self.compose_body()
