"""Import members from a CSV/XLSX file: a path prompt, then a report of what happened per row.

The import runs in a thread worker (importer.import_members). The report lists every rejected row
as "line N, column C: reason" (cells are untrusted: safe_text), so nothing is lost silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Input, Static

from bin_console.directory.import_report import ImportReport
from bin_console.i18n import N_, _, ngettext, number
from bin_console.trust.textsafe import clean, safe_text

from .base import BaseModal, BaseScreen

if TYPE_CHECKING:
    from bin_console.directory.importer import ImportReport


class NoSuchFile(Exception):
    """The path typed is not a readable file (checked in the worker: a stat can hang on a dead mount)."""


def run_import(db: Any, path: str, network_id: int) -> ImportReport:
    from bin_console.directory.importer import import_members

    file = Path(path).expanduser()
    if not file.is_file():
        raise NoSuchFile(path)
    return import_members(db, file, network_id)


def report_text(report: ImportReport, path: str) -> Text:
    """The importer's own account (ImportReport.summary / detail_lines): the same words as the CLI."""
    out = Text(end="")
    out.append(_("File:") + " ", style="bold")
    out.append_text(safe_text(path))
    out.append("\n")
    if report.fatal:
        out.append(_("Nothing imported:") + " ", style="bold")
        out.append(clean(report.fatal))
        out.append("\n")
        return out
    for note in report.notes:
        out.append(clean(note) + "\n")
    summary = report.summary()
    out.append(summary[:1].upper() + summary[1:] + "\n", style="bold")
    for line in report.detail_lines():  # cells quoted in these were cleaned by the report
        out.append(line + "\n")
    return out


class ImportPathModal(BaseModal):
    """Dismisses with (path, report) after an import ran, None when cancelled."""

    INITIAL_FOCUS = "#import-path"
    TITLE_TEXT = N_("Import members")
    KEY_NOTES = [("Enter", N_("import the file")), ("Escape", N_("cancel"))]
    DEFAULT_CSS = """
    ImportPathModal { align: center middle; }
    ImportPathModal > Vertical { width: 72; height: auto; border: double $accent; background: $panel; padding: 0 1; }
    ImportPathModal #import-status { height: auto; }
    """

    def __init__(self, network_id: int) -> None:
        super().__init__()
        self.network_id = network_id
        self._importing = False

    def compose_body(self):
        with Vertical():
            yield Static(Text(_("Import members (CSV or XLSX)"), style="bold"))
            yield Input(placeholder=_("path of the file, e.g. ~/leden.csv"), id="import-path")
            yield Static(_("Enter imports; Escape cancels."), id="import-status")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        path = event.value.strip()
        if not path or self._importing:
            return
        self._importing = True
        self.query_one("#import-status", Static).update(_("Importing..."))
        app = self.app

        def done(report: ImportReport) -> None:
            if self.is_attached:
                self.dismiss((path, report))
            else:  # the prompt was closed meanwhile; the import itself went through
                message = ngettext(
                    "Import of {path} finished: {n} imported.",
                    "Import of {path} finished: {n} imported.",
                    report.imported,
                )
                app.notify(message.format(path=clean(path), n=number(report.imported)), markup=False)

        # App-owned: closing the prompt while the file is read must not drop the import.
        app.run_write(run_import, app.db, path, self.network_id, on_done=done, on_error=self._failed, what=_("Import"))

    def _failed(self, exc: BaseException) -> None:
        self._importing = False
        if isinstance(exc, NoSuchFile):
            msg = safe_text(_("No such file: {path}").format(path=clean(str(exc))))
        else:
            msg = Text(_("Import failed: {error}").format(error=f"{type(exc).__name__}: {clean(exc)}"))
        if self.is_attached:
            self.query_one("#import-status", Static).update(msg)
        else:
            self.app.notify(msg.plain, severity="error", markup=False)


class ImportReportScreen(BaseScreen):
    TITLE_TEXT = N_("Import report")
    INITIAL_FOCUS = "#report-body"
    KEY_NOTES = [("Up/Down/PgUp/PgDn", N_("scroll the report")), ("Escape", N_("back to the members"))]
    # key_display: the footer's own Enter glyph (⏎) is not in the Linux console fonts
    BINDINGS = [
        Binding(
            "enter", "close", N_("Close"), key_display="Enter", id="report-close", tooltip=N_("back to the members")
        )
    ]

    def __init__(self, path: str, report: ImportReport) -> None:
        super().__init__()
        self.path = path
        self.report = report

    def compose_body(self):
        with VerticalScroll(id="report-body"):
            yield Static(report_text(self.report, self.path), id="report-text")

    def action_close(self) -> None:
        self.app.action_back()
