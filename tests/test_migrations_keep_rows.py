"""Migrations keep the rows of a live database, up and down: 0008 on SQLite recreates alert (batch
mode), which with foreign keys on cascade-deleted every delivery, part and alert_network row; 0007's
downgrade narrows reply.source. data/schema.py runs every migration with SQLite's foreign keys off and
checks them before the commit."""

from __future__ import annotations

import pytest
from alembic import command
from bin_console.data import schema
from bin_console.data.engine import Database
from bin_console.data.schema import SchemaError, alembic_config, current_revision, downgrade, upgrade
from sqlalchemy import text
from test_alerts import ACTOR, add_members, make_network
from test_schema import REAL_HEAD, TEST_REV, _migrations_with

from bin_console.alerts import service as alerts

TABLES = ("network", "member", "alert", "alert_network", "delivery", "delivery_part", "reply")


def _counts(db: Database) -> dict[str, int]:
    with db.engine.connect() as c:
        return {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in TABLES}


def _fill(db: Database) -> None:
    nid = make_network(db, "Kouter")
    add_members(db, nid, [{"name": f"M{i}", "mobile": f"+3247000000{i}"} for i in range(3)])
    aid = alerts.create_alert(db, network_ids=[nid], text="Inbraak Kouter", actor=ACTOR)
    with db.engine.begin() as c:
        did = c.execute(text("SELECT min(id) FROM delivery WHERE alert_id = :a"), {"a": aid}).scalar_one()
        c.execute(
            text(
                "INSERT INTO delivery_part (delivery_id, part_no, message_id, message_id_raw, state, submitted_at)"
                " VALUES (:d, 1, 'abc', 'abc', 'submitted', '2026-12-01 10:00:00.000000')"
            ),
            {"d": did},
        )
        c.execute(
            text(
                "INSERT INTO reply (received_at, source, member_id, alert_id, text, is_opt_out, handled, channel)"
                " VALUES ('2026-12-01 10:00:00.000000', '+32470000000', NULL, :a, 'gezien', false, false, 'sms')"
            ),
            {"a": aid},
        )


def _fill_email_reply(db: Database) -> None:
    with db.engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO reply (received_at, source, member_id, alert_id, text, is_opt_out, handled, channel)"
                " VALUES ('2026-12-01 10:00:00.000000', 'jan.peeters@example.be', NULL, NULL, 'ok', false, false,"
                " 'email')"
            )
        )


def _downgrade(db: Database, revision: str) -> None:
    downgrade(db, revision)


def _fill_0007(db: Database) -> None:
    """A network, a member, a sent alert with its delivery, part and a linked reply, at revision 0007."""
    t = "'2026-11-01 10:00:00.000000'"
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO police_zone (id, code, name) VALUES (1, '5415', 'Gent')"))
        c.execute(
            text(
                "INSERT INTO network (id, zone_id, name, name_key, kind, municipality, status, coordinator_name,"
                f" created_at, updated_at) VALUES (1, 1, 'Kouter', 'kouter', 'bin', 'Gent', 'active', '', {t}, {t})"
            )
        )
        c.execute(
            text(
                "INSERT INTO member (id, network_id, name, name_key, mobile, street, street_key, house_number,"
                " postcode, municipality, language, role, status, sms_opt_out, email_opt_out, created_at,"
                f" updated_at) VALUES (1, 1, 'Jan', 'jan', '+32470000001', '', '', '', '', '', 'nl', 'member',"
                f" 'active', false, false, {t}, {t})"
            )
        )
        c.execute(
            text(
                "INSERT INTO alert (id, created_at, created_by, host, text, urgency, encoding, parts_per_sms,"
                " recipients, skipped_opt_out, skipped_no_address, skipped_left, skipped_duplicate, training)"
                f" VALUES (1, {t}, 'old', '', 'Oud alarm', 'urgent', 'gsm7', 1, 1, 0, 0, 0, 0, false)"
            )
        )
        c.execute(text("INSERT INTO alert_network (alert_id, network_id) VALUES (1, 1)"))
        c.execute(
            text(
                "INSERT INTO delivery (id, alert_id, member_id, channel, address, state, attempts,"
                " possible_duplicate, parts_total, parts_acked, parts_delivered, updated_at)"
                f" VALUES (1, 1, 1, 'sms', '+32470000001', 'delivered', 1, false, 1, 1, 1, {t})"
            )
        )
        c.execute(
            text(
                "INSERT INTO delivery_part (delivery_id, part_no, message_id, message_id_raw, state, submitted_at)"
                f" VALUES (1, 1, 'abc', 'abc', 'delivered', {t})"
            )
        )
        c.execute(
            text(
                "INSERT INTO reply (received_at, source, member_id, alert_id, text, is_opt_out, handled, channel)"
                f" VALUES ({t}, '+32470000001', 1, 1, 'gezien', false, false, 'sms')"
            )
        )


def test_down_to_0007_and_up_again_keeps_every_row(any_db_url):
    """0008's upgrade recreates `alert` in batch mode (create_foreign_key): with foreign keys on,
    SQLite's DROP TABLE alert cascades to delivery, delivery_part and alert_network."""
    db = Database.from_url(any_db_url)
    try:
        upgrade(db, backup=False)
        _fill(db)
        before = _counts(db)
        assert before["delivery"] == 3 and before["delivery_part"] == 1 and before["alert_network"] == 1
        _downgrade(db, "0007")
        assert _counts(db) == before, "downgrade to 0007 lost rows"
        # (an e-mail reply, whose From is longer than 0006's reply.source, is tested separately)
        upgrade(db, backup=False)  # 0007 -> 0008 again, on a database with alerts and deliveries
        assert _counts(db) == before, "upgrade 0007 -> 0008 lost rows"
        with db.engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM reply WHERE alert_id IS NOT NULL")).scalar_one() == 1
    finally:
        db.dispose()


def test_upgrade_0007_to_0008_keeps_alerts_deliveries_and_parts(any_db_url):
    """An existing 0007 database (alerts already sent) upgraded to head keeps every row."""
    db = Database.from_url(any_db_url)
    try:
        upgrade(db, "0007", backup=False)
        _fill_0007(db)
        before = _counts(db)
        upgrade(db, backup=False)
        after = _counts(db)
        with db.engine.connect() as c:
            reply_alert = c.execute(text("SELECT alert_id FROM reply")).scalar_one()
        assert after == before
        assert reply_alert == 1  # not SET NULL by a dropped alert table
    finally:
        db.dispose()


def test_downgrade_below_0007_with_an_email_reply(any_db_url):
    """0007's downgrade narrows reply.source back to 20 characters: an e-mail reply's From address
    does not fit (PostgreSQL refused the downgrade). The reply is kept, its address cut to 20."""
    db = Database.from_url(any_db_url)
    try:
        upgrade(db, backup=False)
        _fill_email_reply(db)
        _downgrade(db, "0006")
        with db.engine.connect() as c:
            assert c.execute(text("SELECT source, text FROM reply")).one() == ("jan.peeters@example.", "ok")
        upgrade(db, backup=False)  # and back up to head with it
        with db.engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM reply")).scalar_one() == 1
    finally:
        db.dispose()


def test_foreign_keys_are_on_again_after_a_migration(tmp_path):
    """The pragma is set back on the pooled connection (one shared connection for an in-memory db)."""
    for url in (f"sqlite:///{tmp_path / 'file.db'}", "sqlite://"):
        db = Database.from_url(url)
        try:
            upgrade(db, "0007", backup=False)
            upgrade(db, backup=False)
            downgrade(db, "0007")
            with db.engine.connect() as c:
                assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        finally:
            db.dispose()


def test_0008_refuses_to_recreate_alert_with_foreign_keys_on(tmp_path):
    """Run past data/schema.py (plain Alembic on a connection with foreign keys on), 0008 stops
    instead of cascade-deleting."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'bin.db'}")
    try:
        upgrade(db, "0007", backup=False)
        _fill_0007(db)
        cfg = alembic_config(db)
        with db.engine.connect() as conn:
            cfg.attributes["connection"] = conn
            with pytest.raises(RuntimeError, match="foreign keys must be off"):
                command.upgrade(cfg, "0008")
        assert current_revision(db) == "0007"
        assert _counts(db)["delivery"] == 1
    finally:
        db.dispose()


BREAKS_A_REFERENCE = """
    op.execute("INSERT INTO delivery_part (delivery_id, part_no, message_id, message_id_raw, state, submitted_at)"
               " VALUES (999999, 1, 'x', 'x', 'submitted', '2026-12-01 10:00:00.000000')")
"""


def test_a_migration_that_breaks_a_foreign_key_is_rolled_back(tmp_path, monkeypatch):
    """With foreign keys off SQLite would accept the orphan row: the check before the commit refuses it."""
    db = Database.from_url(f"sqlite:///{tmp_path / 'bin.db'}")
    try:
        upgrade(db, backup=False)
        monkeypatch.setattr(schema, "MIGRATIONS_DIR", _migrations_with(tmp_path, BREAKS_A_REFERENCE))
        monkeypatch.setattr(schema, "HEAD_REVISION", TEST_REV)  # the code that brings a migration names it
        with pytest.raises(SchemaError, match="1 broken foreign key.*delivery_part"):
            upgrade(db, backup=False)
        db.engine.dispose()
        assert current_revision(db) == REAL_HEAD
        assert _counts(db)["delivery_part"] == 0
    finally:
        db.dispose()


def test_0005_rebuilds_the_terms_with_its_own_code(any_db_url):
    """0005's data step is its own (frozen) copy of the term rules: the terms of a 0004 database are
    exactly those of that revision, whatever today's data/search_index.py does."""
    source = (schema.MIGRATIONS_DIR / "versions" / "0005_search_postcode_and_changes.py").read_text()
    assert "import bin_console" not in source and "from bin_console" not in source
    db = Database.from_url(any_db_url)
    t = "'2025-01-01 00:00:00'"
    try:
        upgrade(db, "0004", backup=False)
        with db.engine.begin() as c:
            c.execute(text("INSERT INTO police_zone (id, code, name) VALUES (1, '5415', 'Gent')"))
            c.execute(
                text(
                    "INSERT INTO network (id, zone_id, name, name_key, kind, municipality, status, coordinator_name,"
                    f" created_at, updated_at) VALUES (1, 1, 'Sint-Jan', 'sint jan', 'ZBIN', 'Gent', 'active', '',"
                    f" {t}, {t})"
                )
            )
            c.execute(
                text(
                    "INSERT INTO network_street (network_id, street, street_key, postcode, municipality)"
                    " VALUES (1, 'Kerkplein', 'kerkplein', '9000', 'Gent')"
                )
            )
        upgrade(db, "0005", backup=False)
        with db.engine.connect() as c:
            rows = set(c.execute(text("SELECT term, field, weight, is_start, label, postcode FROM search_term")))
            changes = c.execute(text("SELECT network_id FROM search_index_change")).scalars().all()
    finally:
        db.dispose()
    assert rows == {
        ("sint jan", "name", 40, True, "Sint-Jan", ""),
        ("st jan", "name", 40, True, "Sint-Jan", ""),
        ("jan", "name", 40, False, "Sint-Jan", ""),
        ("z bin", "kind", 35, True, "Z-BIN", ""),
        ("bin", "kind", 35, False, "Z-BIN", ""),
        ("zbin", "kind", 35, True, "Z-BIN", ""),
        ("bin z", "kind", 35, True, "Z-BIN", ""),
        ("z", "kind", 35, False, "Z-BIN", ""),
        ("gent", "municipality", 20, True, "Gent", ""),
        ("kerkplein", "street", 30, True, "Kerkplein, 9000 Gent", "9000"),
        ("9000", "postcode", 10, True, "9000 Gent", "9000"),
    }
    assert changes == [1]
