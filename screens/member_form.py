"""Add / edit a member (modal form with a message under each bad field) and the deactivate confirm.

Validation is the directory service's (ValidationError.errors: field -> reason, DuplicateMemberError
names the clashing member); the form shows each reason under its field and keeps what was typed.
Saving runs in a thread worker. Enter or Ctrl+S saves; Escape closes without saving.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static

from bin_console.textsafe import clean, safe_text

from .base import BaseModal

FIELDS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("mobile", "Mobile"),
    ("landline", "Landline"),
    ("email", "E-mail"),
    ("street", "Street"),
    ("house_number", "Number"),
    ("postcode", "Postcode"),
    ("municipality", "Municipality"),
    ("language", "Language"),
    ("role", "Role"),
)


def save_member(db: Any, network_id: int, member_id: int | None, data: dict[str, Any], actor: Any) -> int:
    from bin_console import directory

    if member_id is None:
        return directory.add_member(db, network_id, data, actor)
    directory.update_member(db, member_id, data, actor)
    return member_id


class MemberFormModal(BaseModal):
    """Dismisses with the member id when saved, None when cancelled."""

    INITIAL_FOCUS = "#f-name"
    HELP = [
        ("Tab / Shift+Tab", "next / previous field"),
        ("Enter or Ctrl+S", "save"),
        ("Escape", "close without saving"),
    ]
    BINDINGS = [Binding("ctrl+s", "save", "Save", priority=True)]
    DEFAULT_CSS = """
    MemberFormModal { align: center middle; }
    MemberFormModal > Vertical { width: 72; height: auto; max-height: 100%; border: double $accent;
        background: $panel; padding: 0 1; }
    MemberFormModal #form-title { height: 1; text-style: bold; }
    MemberFormModal VerticalScroll { height: auto; max-height: 18; }
    MemberFormModal .row { height: 1; }
    MemberFormModal .row Label { width: 13; }
    MemberFormModal .row Input { width: 1fr; height: 1; border: none; padding: 0 1; }
    MemberFormModal .row Input:focus { text-style: bold; background: $boost; }
    MemberFormModal .field-error { height: auto; color: $error; padding-left: 13; display: none; }
    MemberFormModal .field-error.-shown { display: block; }
    MemberFormModal #form-status { height: auto; }
    """

    def __init__(self, network_id: int, member: dict[str, Any] | None) -> None:
        super().__init__()
        self.network_id = network_id
        self.member = member or {}
        self.member_id: int | None = self.member.get("id")
        self._saving = False

    def compose_body(self):  # noqa: ANN201
        title = "Edit member" if self.member_id else "New member"
        with Vertical():
            yield Static(title, id="form-title")
            with VerticalScroll():
                for key, label in FIELDS:
                    with Horizontal(classes="row"):
                        yield Label(f"{label}:")
                        yield Input(value=clean(self.member.get(key, "") or ""), id=f"f-{key}")
                    yield Static("", id=f"e-{key}", classes="field-error")
            yield Static("Enter saves, Escape cancels.", id="form-status")

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, _ in FIELDS:
            value = self.query_one(f"#f-{key}", Input).value.strip()
            if key in ("language", "role") and not value:
                continue  # service defaults (nl / member)
            out[key] = value
        return out

    def show_errors(self, errors: dict[str, str]) -> None:
        first: Input | None = None
        for key, _ in FIELDS:
            box = self.query_one(f"#e-{key}", Static)
            reason = errors.get(key)
            if reason:
                box.update(Text(clean(reason)))
                box.add_class("-shown")
                if first is None:
                    first = self.query_one(f"#f-{key}", Input)
            else:
                box.update("")
                box.remove_class("-shown")
        other = {k: v for k, v in errors.items() if k not in dict(FIELDS)}
        status = self.query_one("#form-status", Static)
        if other:
            status.update(Text("; ".join(f"{k}: {clean(v)}" for k, v in other.items()), style="bold"))
        else:
            status.update(Text("Please correct the marked fields.", style="bold"))
        if first is not None:
            self.set_focus(first)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        if self._saving:
            return
        self._saving = True
        self.query_one("#form-status", Static).update("Saving...")
        self.run_db(
            save_member,
            self.app.db,
            self.network_id,
            self.member_id,
            self.values(),
            self.app.actor,
            group="member-save",
            on_done=self._saved,
            on_error=self._failed,
        )

    def _saved(self, member_id: int) -> None:
        self._saving = False
        name = self.query_one("#f-name", Input).value
        self.app.notify(f"Saved {clean(name)}.", markup=False)
        self.dismiss(member_id)

    def _failed(self, exc: BaseException) -> None:
        from bin_console.validation import DuplicateMemberError, ValidationError

        self._saving = False
        if isinstance(exc, ValidationError):
            self.show_errors(exc.errors)
        elif isinstance(exc, DuplicateMemberError):
            self.show_errors({exc.field if exc.field in dict(FIELDS) else "name": str(exc)})
        else:
            self.query_one("#form-status", Static).update(
                Text(f"Not saved: {type(exc).__name__}: {clean(exc)}", style="bold")
            )


class DeactivateConfirmModal(BaseModal):
    """Opens on Cancel; `y` or the Deactivate button confirms; `n` / Escape cancels."""

    INITIAL_FOCUS = "#cancel"
    HELP = [("y", "deactivate"), ("n / Escape", "cancel")]
    BINDINGS = [Binding("y", "yes", "Deactivate"), Binding("n", "no", "Cancel")]
    DEFAULT_CSS = """
    DeactivateConfirmModal { align: center middle; }
    DeactivateConfirmModal > Vertical { width: 60; height: auto; border: double $warning;
        background: $panel; padding: 1 2; }
    DeactivateConfirmModal Horizontal { height: auto; }
    DeactivateConfirmModal Button { margin: 1 1 0 0; }
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        self.member_name = name

    def compose_body(self):  # noqa: ANN201
        with Vertical():
            yield Static(
                Text.assemble(
                    "Deactivate ",
                    safe_text(self.member_name, style="bold"),
                    "?\nThe member stays in the register with status 'left' and receives no alerts.\n"
                    "y = deactivate   n / Escape = cancel",
                )
            )
            with Horizontal():
                yield Button("Cancel (n)", id="cancel", variant="primary")
                yield Button("Deactivate (y)", id="yes", variant="error")

    def action_yes(self) -> None:
        self.dismiss(True)

    def action_no(self) -> None:
        self.dismiss(False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
