"""What an import did (or, in a dry run, would do): the typed report and its wording.

The CLI prints these lines and the console's import report shows them, so a coordinator reads the
same account in both: per rejected row its line and reason, per existing network each change.
Nothing here reads files or the database; cells quoted in reasons are cleaned when shown.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from bin_console.i18n import N_, _, ngettext, number
from bin_console.trust.textsafe import clean

LISTED_ADDITIONS = 20  # new networks named one by one in the report; beyond that only counted
LISTED_STREETS = 5  # street names quoted in one change line
WRITE_FAILED = N_("writing failed, nothing was imported (database unchanged)")  # translated where used
# network attributes as the change lines name them (FieldChange.field -> label)
FIELD_LABELS = {
    "police_zone": N_("police zone"),
    # Translators: the kind of network (BIN, Z-BIN, ...)
    "kind": N_("kind"),
    "municipality": N_("municipality"),
    "status": N_("status"),
    "charter_signed": N_("charter signed"),
    "coordinator_name": N_("coordinator name"),
    "coordinator_phone": N_("coordinator phone"),
    "coordinator_email": N_("coordinator email"),
    "sms_sender": N_("sms sender"),
}


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return _("line {line}, column {column}: {reason}").format(
            line=self.line, column=clean(self.column) or "-", reason=clean(self.reason)
        )


@dataclass(frozen=True)
class FieldChange:
    field: str  # the network attribute, e.g. "municipality"
    old: str
    new: str

    def __str__(self) -> str:
        label = _(FIELD_LABELS[self.field])
        blank = _("(blank)")
        return f"{label} {clean(self.old) or blank} → {clean(self.new) or blank}"


@dataclass(frozen=True)
class NetworkChange:
    """One network the import adds or changes.

    An import never removes streets: ``streets_not_in_file`` are the network's stored streets the
    file does not list (kept), shown so a coordinator sees where the file and the directory differ.
    """

    name: str
    zone: str
    fields: tuple[FieldChange, ...] = ()
    streets_added: tuple[str, ...] = ()
    streets_not_in_file: tuple[str, ...] = ()

    def __str__(self) -> str:
        parts = [str(f) for f in self.fields]
        if self.streets_added:
            parts.append(f"+{_streets(self.streets_added)}")
        if self.streets_not_in_file:
            n = len(self.streets_not_in_file)
            kept = ngettext("{streets} not in the file (kept)", "{streets} not in the file (kept)", n)
            parts.append(kept.format(streets=_streets(self.streets_not_in_file)))
        # only a new network can have neither a field change nor a street to add
        return _("{network}: {changes}").format(network=clean(self.name), changes="; ".join(parts) or _("no streets"))


def _streets(names: tuple[str, ...]) -> str:
    n = len(names)
    shown = ", ".join(clean(s) for s in names[:LISTED_STREETS]) + (", …" if n > LISTED_STREETS else "")
    return ngettext("{n} street ({names})", "{n} streets ({names})", n).format(n=number(n), names=shown)


@dataclass
class ImportReport:
    # For members these count members; for networks they count networks (streets: streets_added).
    imported: int = 0  # new rows written (or that would be, in a dry run)
    updated: int = 0  # existing rows changed
    rejected: list[RowError] = field(default_factory=list)
    fatal: str | None = None  # the file as a whole was refused; nothing was written
    unchanged: int = 0  # rows that matched existing data exactly
    rows: int = 0  # data rows read
    encoding: str = ""
    delimiter: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)
    kind: str = "members"  # "members" | "networks": what the counts count
    networks_added: list[NetworkChange] = field(default_factory=list)
    networks_changed: list[NetworkChange] = field(default_factory=list)
    streets_added: int = 0
    zones_created: list[str] = field(default_factory=list)  # police zone codes new to the directory

    @property
    def rejected_rows(self) -> int:
        return len({e.line for e in self.rejected})

    def exit_code(self) -> int:
        """0 every row imported, 1 some rows rejected, 2 nothing imported."""
        if self.fatal or self.imported + self.updated + self.unchanged == 0:
            return 2
        return 1 if self.rejected else 0

    def nothing_written(self, fatal: str) -> None:
        """The write failed and was rolled back: only the reason stays, no count claims a change."""
        self.fatal = fatal
        self.imported = self.updated = self.unchanged = self.streets_added = 0
        self.networks_added, self.networks_changed, self.zones_created = [], [], []

    def summary(self) -> str:
        """The counts in one line, e.g. "3 networks added, 1 changed, 12 streets added, 2 rows rejected"."""
        if self.kind == "networks":
            # one message per count: each count needs its own plural form (and, in French, agreement)
            counts = (
                (ngettext("{n} network added", "{n} networks added", self.imported), self.imported),
                # Translators: {n} networks changed (French: agrees with "réseaux")
                (ngettext("{n} changed", "{n} changed", self.updated), self.updated),
                # Translators: {n} networks unchanged
                (ngettext("{n} unchanged", "{n} unchanged", self.unchanged), self.unchanged),
                (ngettext("{n} street added", "{n} streets added", self.streets_added), self.streets_added),
                (ngettext("{n} row rejected", "{n} rows rejected", self.rejected_rows), self.rejected_rows),
            )
            return ", ".join(text.format(n=number(n)) for text, n in counts)
        return _("imported {imported}, updated {updated}, unchanged {unchanged}, rejected {rejected}").format(
            imported=number(self.imported),
            updated=number(self.updated),
            unchanged=number(self.unchanged),
            rejected=number(self.rejected_rows),
        )

    def detail_lines(self) -> list[str]:
        """Zones created, each network changed or added, then each rejected row: in that order."""
        out = []
        if self.zones_created:
            text = _("police zones would be created: {zones}") if self.dry_run else _("police zones created: {zones}")
            out.append(text.format(zones=", ".join(clean(z) for z in self.zones_created)))
        out += [_("changed: {change}").format(change=c) for c in self.networks_changed]
        out += [_("added: {change}").format(change=c) for c in self.networks_added[:LISTED_ADDITIONS]]
        more = len(self.networks_added) - LISTED_ADDITIONS
        if more > 0:
            out.append(
                ngettext("added: … and {n} more network", "added: … and {n} more networks", more).format(n=number(more))
            )
        out += [str(e) for e in self.rejected]
        return out


def print_report(report: ImportReport, path, out=None) -> None:
    out = out or sys.stdout
    name = clean(os.fspath(path))
    if report.fatal:
        print(_("{file}: not imported: {reason}").format(file=name, reason=clean(report.fatal)), file=out)
        return
    sep = {";": "';'", ",": "','", "\t": "TAB", None: ""}.get(report.delimiter, repr(report.delimiter))
    how = report.encoding + (", " + sep if sep else "")
    rows = ngettext("{file}: {n} row ({how})", "{file}: {n} rows ({how})", report.rows)
    print(rows.format(file=name, n=number(report.rows), how=how), file=out)
    if report.ignored_columns:
        print(
            _("ignored columns: {columns}").format(columns=", ".join(clean(c) for c in report.ignored_columns)),
            file=out,
        )
    for note in report.notes:
        print(clean(note), file=out)
    summary = report.summary()
    if report.dry_run:
        summary = _("dry run, nothing written; it would give: {summary}").format(summary=summary)
    print(summary, file=out)
    for line in report.detail_lines():
        print(line, file=out)
