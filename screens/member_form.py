"""Add / edit a member (modal form with a message under each bad field) and the deactivate confirm.

Validation is the directory service's (ValidationError.errors: field -> reason, DuplicateMemberError
names the clashing member); the form shows each reason under its field and keeps what was typed.
Saving runs in an App-owned thread worker (closing the form can never drop a save). Enter or
Ctrl+S saves; Escape closes, and asks first when something was typed (the answer that is focused,
and what Escape / n / Enter give, is "keep editing").
"""

from __future__ import annotations

from typing import Any

from bin_console.data.models import LANGUAGES, MEMBER_ROLES
from rich.text import Text
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Label, Static

from bin_console.i18n import N_, _
from bin_console.trust.textsafe import clean, safe_text

from .base import BaseModal
from .confirm import ConfirmActionModal

# What to type, shown dimmed in an empty field: on a 16-colour console an empty one-row field
# is otherwise just blank space after its label.


def hint(key: str) -> str:
    """The grey text in an empty field, in the active language ("" for none)."""
    if key == "mobile":
        return _("+32 470 12 34 56 or 0470 12 34 56")
    if key in ("landline", "email"):
        return _("optional")
    if key == "language":
        return _("{choices} (empty: the network's language)").format(choices=", ".join(LANGUAGES))
    if key == "role":
        return _("{choices} (empty: member)").format(choices=", ".join(MEMBER_ROLES))
    return ""


FIELDS: tuple[tuple[str, str], ...] = (
    ("name", N_("Name")),
    ("mobile", N_("Mobile")),
    ("landline", N_("Landline")),
    ("email", N_("E-mail")),
    ("street", N_("Street")),
    # Translators: house number, in the member form
    ("house_number", N_("Number")),
    ("postcode", N_("Postcode")),
    ("municipality", N_("Municipality")),
    ("language", N_("Language")),
    ("role", N_("Role")),
)


def save_member(db: Any, network_id: int, member_id: int | None, data: dict[str, Any], actor: Any) -> int:
    from bin_console.directory import service as directory

    if member_id is None:
        return directory.add_member(db, network_id, data, actor)
    directory.update_member(db, member_id, data, actor)
    return member_id


class MemberFormModal(BaseModal):
    """Dismisses with the member id when saved, None when cancelled."""

    INITIAL_FOCUS = "#f-name"
    TITLE_TEXT = N_("Member form")
    KEY_NOTES = [
        ("Tab / Shift+Tab", N_("next / previous field")),
        ("Enter", N_("save")),
        ("Escape", N_("close without saving (asks first when something was changed)")),
    ]
    BINDINGS = [Binding("ctrl+s", "save", N_("Save"), priority=True, id="member-save", tooltip=N_("save"))]
    DEFAULT_CSS = """
    MemberFormModal { align: center middle; }
    MemberFormModal > Vertical { width: 72; height: auto; max-height: 100%; border: double $accent;
        background: $panel; padding: 0 1; }
    MemberFormModal #form-title { height: 1; text-style: bold; }
    MemberFormModal VerticalScroll { height: auto; max-height: 18; }
    MemberFormModal .row { height: 1; }
    MemberFormModal .row Label { width: 13; }
    MemberFormModal .row Input { width: 1fr; height: 1; border: none; padding: 0 1; }
    MemberFormModal .row Input:focus { border: none; text-style: bold; background: $boost; }
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
        self._initial: dict[str, Any] | None = None

    def compose_body(self):
        title = _("Edit member") if self.member_id else _("New member")
        with Vertical():
            yield Static(title, id="form-title")
            with VerticalScroll():
                for key, label in FIELDS:
                    with Horizontal(classes="row"):
                        yield Label(_("{label}:").format(label=_(label)))
                        value = clean(self.member.get(key, "") or "")
                        yield Input(value=value, placeholder=hint(key), id=f"f-{key}")
                    yield Static("", id=f"e-{key}", classes="field-error")
            yield Static(_("Enter saves, Escape cancels."), id="form-status")

    def on_mount(self) -> None:
        self._initial = self.values()  # what "changed" is measured against

    def changed(self) -> bool:
        return self._initial is not None and self.values() != self._initial

    def go_back(self) -> bool:
        """Escape: close at once when nothing was typed; otherwise ask (default: keep editing)."""
        if not self.changed():
            self.dismiss(None)
            return True

        def answered(discard: bool | None) -> None:
            if discard and self.is_attached:
                self.dismiss(None)

        self.app.push_buffered(
            ConfirmActionModal(
                _("Close the form and throw away what you typed?"),
                yes_label=_("Discard"),
                no_label=_("Keep editing"),
            ),
            answered,
        )
        return True  # the question is now on top; it releases held keys once focused

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, _label in FIELDS:
            value = self.query_one(f"#f-{key}", Input).value.strip()
            if key == "role" and not value:
                continue  # the service's default (member)
            out[key] = value  # an empty language: not known (the network's language applies)
        return out

    def show_errors(self, errors: dict[str, str]) -> None:
        first: Input | None = None
        for key, _label in FIELDS:
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
            status.update(Text(_("Please correct the marked fields."), style="bold"))
        if first is not None:
            self.set_focus(first)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self) -> None:
        if self._saving:
            return
        self._saving = True
        self.query_one("#form-status", Static).update(_("Saving..."))
        data = self.values()
        app = self.app

        def saved(member_id: int) -> None:
            app.notify(_("Saved {name}.").format(name=clean(data.get("name", ""))), markup=False)
            self._saving = False
            if self.is_attached:
                self.dismiss(member_id)

        # App-owned: a save in progress is never dropped because the form went away.
        app.run_write(
            save_member,
            app.db,
            self.network_id,
            self.member_id,
            data,
            app.actor,
            on_done=saved,
            on_error=self._failed,
            what=_("Save member"),
        )

    def _failed(self, exc: BaseException) -> None:
        from bin_console.directory.validation import DuplicateMemberError, ValidationError

        self._saving = False
        if not self.is_attached:
            self.app.notify(_("Member NOT saved: {error}").format(error=clean(exc)), severity="error", markup=False)
            return
        if isinstance(exc, ValidationError):
            self.show_errors(exc.errors)
        elif isinstance(exc, DuplicateMemberError):
            self.show_errors({exc.field if exc.field in dict(FIELDS) else "name": str(exc)})
        else:
            self.query_one("#form-status", Static).update(
                Text(_("Not saved: {error}").format(error=f"{type(exc).__name__}: {clean(exc)}"), style="bold")
            )


class DeactivateConfirmModal(ConfirmActionModal):
    """'Deactivate <name>?' - opens on Cancel; F5 or `y` once painted (a `y`
    typed ahead before it showed never counts); `n` / Escape / Enter cancel."""

    TITLE_TEXT = N_("Deactivate member")

    def __init__(self, name: str) -> None:
        self.member_name = name
        # the name (untrusted, bold) goes where the translation puts {name}
        before, _placeholder, after = _("Deactivate {name}?").partition("{name}")
        super().__init__(
            Text.assemble(
                before,
                safe_text(name, style="bold"),
                after,
                "\n",
                _("The member stays in the register with status 'left' and receives no alerts."),
            ),
            yes_label=_("Deactivate"),
            no_label=_("Cancel"),
        )
