"""The console's import report shows the importer's own account, untrusted names literally."""

from __future__ import annotations

from bin_console.screens.import_report import report_text

from bin_console.directory.import_report import FieldChange, ImportReport, NetworkChange, RowError


def test_network_report_lists_changes_and_shows_names_literally():
    change = NetworkChange(
        name="[bold red]BIN[/] Kerkwijk\x1b]0;x\x07",
        zone="5999",
        fields=(FieldChange("municipality", "Sint-Amands-Demer", "Sint-Niklaas"),),
        streets_added=("Molenstraat 9100", "Dorpsplein 9100", "Stationsstraat 9100"),
    )
    report = ImportReport(
        kind="networks", imported=1, updated=1, streets_added=4, networks_changed=[change],
        networks_added=[NetworkChange(name="BIN Noord", zone="5999", streets_added=("Noordstraat",))],
        rejected=[RowError(7, "Zone", "police zone 5415 is not in the directory")],
    )  # fmt: skip
    text = report_text(report, "nets.csv").plain
    assert "1 network added, 1 changed, 0 unchanged, 4 streets added, 1 row rejected" in text
    assert "changed: [bold red]BIN[/] Kerkwijk\ufffd]0;x\ufffd: municipality Sint-Amands-Demer → Sint-Niklaas;" in text
    assert "+3 streets (Molenstraat 9100, Dorpsplein 9100, Stationsstraat 9100)" in text
    assert "added: BIN Noord: +1 street (Noordstraat)" in text
    assert "line 7, column Zone: police zone 5415 is not in the directory" in text
    assert "\x1b" not in text


def test_failed_import_says_nothing_was_imported():
    report = ImportReport(kind="networks")
    report.nothing_written("writing failed, nothing was imported (database unchanged): disk full")
    text = report_text(report, "nets.csv").plain
    assert "Nothing imported: writing failed" in text and "added" not in text
