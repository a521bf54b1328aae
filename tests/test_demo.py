"""The demo dataset, the message templates and `bin-console demo`."""

from __future__ import annotations

import re
import socket
from collections import Counter

import phonenumbers
import pytest
from bin_console.data.demo.generate import DemoExistsError, build, generate_demo
from bin_console.data.engine import Database
from bin_console.data.keys import fold
from bin_console.data.models import Member, MessageTemplate, Network, NetworkStreet, PoliceZone, SearchTerm
from bin_console.data.schema import is_current
from bin_console.data.templates import load_templates, seed_templates
from sqlalchemy import func, select

from bin_console.channels.smpp.encoding import analyse
from bin_console.cli import dispatch as cli
from bin_console.trust.textsafe import has_control_chars

TEMPLATE_KEYS = {"suspect_foot", "suspect_vehicle", "burglary", "missing_person", "all_clear", "prevention"}
# A long-ish but ordinary filling: the urgent texts must still fit one GSM-7 SMS with it.
TYPICAL = {
    "nl": "Man, ca. 30 jaar, donkere jas, rode rugzak",
    "fr": "Homme, env. 30 ans, veste sombre, sac rouge",
    "de": "Mann, ca. 30, dunkle Jacke, roter Rucksack",
    "en": "Man, about 30, dark jacket, red backpack",
}


@pytest.fixture(autouse=True)
def _keep_umask():
    """cli.main sets umask 077 for the process; give the other tests theirs back."""
    import os

    old = os.umask(0o077)
    os.umask(old)
    yield
    os.umask(old)


@pytest.fixture
def demo_db(db):
    counts = generate_demo(db)
    return db, counts


# --- the dataset ---------------------------------------------------------------------------------


def test_demo_counts_and_shape(demo_db):
    db, counts = demo_db
    assert counts["networks"] == 25
    assert 2500 <= counts["members"] <= 3500
    assert counts["templates"] == 24
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Member)) == counts["members"]
        assert s.scalar(select(PoliceZone.code)) == "5999"
        kinds = Counter(s.scalars(select(Network.kind)))
        assert kinds["BIN"] >= 15 and kinds["ZBIN"] >= 3
        per_net = Counter(s.scalars(select(NetworkStreet.network_id)))
        assert len(per_net) == 25 and min(per_net.values()) >= 10 and max(per_net.values()) <= 30
        municipalities = set(s.scalars(select(Network.municipality)))
        assert any(m != fold(m) for m in municipalities), "an accented municipality"
        assert any(m.startswith("Sint-") for m in municipalities)


def test_a_street_belongs_to_two_networks_of_one_municipality(demo_db):
    db, _ = demo_db
    with db.read() as s:
        rows = s.execute(
            select(NetworkStreet.municipality, NetworkStreet.street, func.count())
            .group_by(NetworkStreet.municipality, NetworkStreet.street)
            .having(func.count() > 1)
        ).all()
    assert ("Sint-Amands-Demer", "Kerkstraat", 2) in [tuple(r) for r in rows]


def test_member_mix_is_realistic(demo_db):
    db, _ = demo_db
    with db.read() as s:
        members = s.scalars(select(Member)).all()
    langs = Counter(m.language for m in members)
    assert set(langs) == {"nl", "fr", "de", "en"} and langs["nl"] > langs["fr"] > langs["de"]
    assert Counter(m.status for m in members).keys() == {"active", "pending", "left"}
    roles = Counter(m.role for m in members)
    assert roles["coordinator"] >= 25 and roles["street_lead"] > 0
    assert any(m.email and not m.mobile and not m.landline for m in members), "e-mail only"
    assert any(m.landline and not m.mobile and not m.email for m in members), "landline only"
    assert any(m.sms_opt_out for m in members) and any(m.email_opt_out for m in members)
    assert all(m.opt_out_at is not None for m in members if m.sms_opt_out or m.email_opt_out)
    # the same person in two networks (fan-out must deduplicate)
    mobiles = Counter(m.mobile for m in members if m.mobile)
    assert any(n == 2 for n in mobiles.values())


def test_numbers_are_valid_belgian_mobile_and_landline(demo_db):
    db, _ = demo_db
    with db.read() as s:
        mobiles = s.scalars(select(Member.mobile).where(Member.mobile.isnot(None))).all()
        landlines = s.scalars(select(Member.landline).where(Member.landline.isnot(None))).all()
    mobile = phonenumbers.PhoneNumberType.MOBILE
    for n in mobiles:
        p = phonenumbers.parse(n)
        assert phonenumbers.is_valid_number(p) and phonenumbers.number_type(p) == mobile, n
        assert n == phonenumbers.format_number(p, phonenumbers.PhoneNumberFormat.E164)
    for n in landlines:
        p = phonenumbers.parse(n)
        fixed = phonenumbers.PhoneNumberType.FIXED_LINE
        assert phonenumbers.is_valid_number(p) and phonenumbers.number_type(p) == fixed, n
    assert landlines


def test_stored_text_is_clean_and_brackets_stay_literal(demo_db):
    db, _ = demo_db
    with db.read() as s:
        names = s.scalars(select(Member.name)).all()
        texts = names + s.scalars(select(NetworkStreet.street)).all() + s.scalars(select(Network.name)).all()
        emails = s.scalars(select(Member.email).where(Member.email.isnot(None))).all()
    assert not [t for t in texts if has_control_chars(t)]
    assert "Jan [Piet] Peeters" in names
    assert not [n for n in names if re.search(r"\[/?(bold|red|italic|link)", n)], "no markup-looking names"
    # demo e-mail never reaches a real mailbox: reserved .example domains only
    assert emails and all(e.endswith(".example") for e in emails)


def test_keys_match_the_folded_text(demo_db):
    db, _ = demo_db
    with db.read() as s:
        for name, key in s.execute(select(Member.name, Member.name_key).limit(500)):
            assert key == fold(name)
        for name, key in s.execute(select(Network.name, Network.name_key)):
            assert key == fold(name)


def test_search_index_finds_a_shared_street_and_a_saint_name(demo_db):
    db, _ = demo_db
    with db.read() as s:
        kerk = set(
            s.scalars(
                select(Network.name)
                .join(SearchTerm, SearchTerm.network_id == Network.id)
                .where(SearchTerm.term == "kerkstraat", Network.municipality == "Sint-Amands-Demer")
            )
        )
        saint = set(
            s.scalars(
                select(Network.name)
                .join(SearchTerm, SearchTerm.network_id == Network.id)
                .where(SearchTerm.term.like("st niklaas%"), SearchTerm.field == "name")
            )
        )
    assert kerk == {"BIN Kerkwijk", "BIN Dorp-Oost"}
    assert saint == {"BIN Sint-Niklaaswijk"}


def test_same_seed_same_data_other_seed_other_people():
    a, b, c = build(5999), build(5999), build(1)
    assert a.members == b.members and a.streets == b.streets
    assert [m["name"] for m in a.members] != [m["name"] for m in c.members]


def test_generating_twice_is_refused_and_changes_nothing(demo_db):
    db, counts = demo_db
    with pytest.raises(DemoExistsError, match="5999"):
        generate_demo(db)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Member)) == counts["members"]


# --- templates ------------------------------------------------------------------------------------


def test_every_template_in_every_language():
    got = {(t.key, t.language) for t in load_templates()}
    assert got == {(k, lang) for k in TEMPLATE_KEYS for lang in ("nl", "fr", "de", "en")}


URGENT = [t for t in load_templates() if t.urgency == "urgent"]


@pytest.mark.parametrize("tpl", URGENT, ids=lambda t: f"{t.key}-{t.language}")
def test_urgent_templates_fit_one_gsm7_sms_when_filled(tpl):
    assert {"street", "time"} <= tpl.placeholders <= {"street", "time", "description", "municipality"}
    text = tpl.body.format(
        street="Burgemeester Van Hoofstraat", time="23:45", description=TYPICAL[tpl.language], municipality="Heikeldonk"
    )
    a = analyse(text)
    assert a.encoding == "gsm7", (tpl.key, tpl.language, a.ucs2_chars)
    assert a.units <= 160, (tpl.key, tpl.language, a.units)


def test_prevention_is_not_urgent():
    assert {t.urgency for t in load_templates() if t.key == "prevention"} == {"normal"}


def test_seed_templates_is_idempotent_and_keeps_edits(db):
    with db.write() as s:
        assert seed_templates(s) == 24
    with db.write() as s:
        s.execute(
            MessageTemplate.__table__.update()
            .where(MessageTemplate.key == "burglary", MessageTemplate.language == "nl")
            .values(body="edited by the zone {street} {time}")
        )
    with db.write() as s:
        assert seed_templates(s) == 0
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(MessageTemplate)) == 24
        body = s.scalar(
            select(MessageTemplate.body).where(MessageTemplate.key == "burglary", MessageTemplate.language == "nl")
        )
    assert body == "edited by the zone {street} {time}"


def test_bad_template_file_names_the_template(tmp_path):
    bad = tmp_path / "t.toml"
    bad.write_text('[burglary]\nurgency = "urgent"\nxx = { title = "a", body = "b" }\n', encoding="utf-8")
    with pytest.raises(ValueError, match="burglary: unknown language 'xx'"):
        load_templates(bad)


# --- bin-console demo -----------------------------------------------------------------------------


def test_demo_command_no_ui_creates_a_current_database(tmp_path, capsys):
    rc = cli.main(["demo", "--path", str(tmp_path), "--no-ui"])
    out = capsys.readouterr().out
    db_file = tmp_path / "bin-console-demo.db"
    assert rc == 0 and db_file.exists()
    assert f"sqlite:///{db_file}" in out and "25 networks" in out
    db = Database.from_url(f"sqlite:///{db_file}")
    try:
        assert is_current(db)
        with db.read() as s:
            assert s.scalar(select(func.count()).select_from(Network)) == 25
    finally:
        db.dispose()


def test_demo_path_reopens_an_existing_demo_and_force_replaces_it(tmp_path, capsys):
    assert cli.main(["demo", "--path", str(tmp_path), "--no-ui"]) == 0
    db_file = tmp_path / "bin-console-demo.db"
    db = Database.from_url(f"sqlite:///{db_file}")
    with db.write() as s:
        s.execute(Member.__table__.delete().where(Member.role == "member"))
    db.dispose()
    capsys.readouterr()
    assert cli.main(["demo", "--path", str(tmp_path), "--no-ui"]) == 0
    assert "reopened as it was" in capsys.readouterr().out
    db = Database.from_url(f"sqlite:///{db_file}")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Member).where(Member.role == "member")) == 0  # untouched
    db.dispose()
    assert cli.main(["demo", "--path", str(tmp_path), "--no-ui", "--force"]) == 0
    db = Database.from_url(f"sqlite:///{db_file}")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Member).where(Member.role == "member")) > 2000
    db.dispose()


def test_demo_path_opens_the_console_on_the_existing_database(tmp_path, monkeypatch):
    app_main = pytest.importorskip("bin_console.app_main")
    assert cli.main(["demo", "--path", str(tmp_path), "--no-ui"]) == 0
    seen = []
    monkeypatch.setattr(app_main, "run_console", lambda settings, db, **kw: seen.append(settings.db_url) or 0)
    assert cli.main(["demo", "--path", str(tmp_path)]) == 0
    assert seen == [f"sqlite:///{tmp_path / 'bin-console-demo.db'}"]


def test_a_temporary_demo_leaves_no_folder_behind(tmp_path, monkeypatch):
    app_main = pytest.importorskip("bin_console.app_main")
    import tempfile

    temp_root = tmp_path / "tmp"
    temp_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_root))
    seen = []

    def fake_run_console(settings, db, **kw):
        seen.append(sorted(p.name for p in temp_root.iterdir()))  # the demo folder exists while it runs
        return 0

    monkeypatch.setattr(app_main, "run_console", fake_run_console)
    assert cli.main(["demo"]) == 0
    assert len(seen) == 1 and seen[0][0].startswith("bin-console-demo-")
    assert list(temp_root.iterdir()) == []


def test_demo_no_ui_needs_a_path(tmp_path, monkeypatch, capsys):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    assert cli.main(["demo", "--no-ui"]) == 2
    assert "--no-ui needs --path" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_demo_command_runs_the_console_against_the_training_smsc(tmp_path, monkeypatch, capsys):
    """The console itself is replaced (it needs a terminal); the training SMSC is the real one."""
    app_main = pytest.importorskip("bin_console.app_main")
    pytest.importorskip("bin_console.training.smsc_sim")
    seen = {}

    def fake_run_console(settings, db, *, sender=None, sms_block=None, email_block=None, email_sending=False):
        assert sms_block is None and email_block is None  # the training SMSC and mail server need no keyring
        seen.update(
            smpp=settings.smpp, db_url=settings.db_url, theme=settings.ui_theme, no_blink=not settings.cursor_blink
        )
        assert sender is not None  # the embedded sender, with no password on the training SMSC
        with socket.create_connection((settings.smpp.host, settings.smpp.port), timeout=5):
            pass  # the sim is listening while the console runs
        return 0

    monkeypatch.setattr(app_main, "run_console", fake_run_console)
    rc = cli.main(["demo", "--path", str(tmp_path), "--theme", "ansi-dark", "--no-blink"])
    assert rc == 0
    smpp = seen["smpp"]
    assert (smpp.host, smpp.system_id, smpp.training, smpp.sender) == ("127.0.0.1", "training", True, "POLITIE")
    assert seen["db_url"].endswith("bin-console-demo.db") and seen["theme"] == "ansi-dark" and seen["no_blink"]
    with pytest.raises(OSError):  # stopped afterwards
        socket.create_connection(("127.0.0.1", smpp.port), timeout=1).close()
