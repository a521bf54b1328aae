"""Replies by e-mail: a real Dovecot IMAP server on loopback, read by ImapReader, into the inbox."""

from __future__ import annotations

from email.message import EmailMessage

from bin_console.data.models import AuditEntry, ImapState, Member, SenderStatus
from mail_fixtures import email_of, make_email_network, smtp_settings, wait_until
from sqlalchemy import select, update
from test_email_send import _run

from bin_console.alerts.service import create_alert, list_replies
from bin_console.channels.email.imap_reader import ImapReader
from bin_console.config import ImapSettings
from bin_console.trust.actor import Actor
from bin_console.trust.credentials import Secret

ACTOR = Actor(os_user="tester", host="test")


def _reader(db, dovecot):
    cfg = ImapSettings(host="127.0.0.1", port=dovecot.port, security="none", username=dovecot.user, poll_s=0.1)
    return ImapReader(db, cfg, password=Secret(dovecot.password))


def _reply_to(original: EmailMessage, body: str, *, subject: str | None = None, msg_id: str) -> bytes:
    r = EmailMessage()
    r["From"] = original["To"]
    r["To"] = original["Reply-To"]
    r["Subject"] = subject if subject is not None else "Re: " + original["Subject"]
    r["Message-ID"] = msg_id
    r["In-Reply-To"] = original["Message-ID"]
    r["References"] = original["Message-ID"]
    r.set_content(body + "\n\n> " + original.get_content().replace("\n", "\n> "))
    return bytes(r)


def _sent_alert(db, smtp_sim, n=2):
    net = make_email_network(db, n)
    alert_id = create_alert(db, network_ids=[net], text="Verdachte wagen", urgency="normal", actor=ACTOR, training=True)
    _run(db, smtp_settings(smtp_sim), alert_id)
    return alert_id, {m.rcpt_tos[0]: m.message for m in smtp_sim.received}


def test_a_reply_mail_lands_in_the_inbox_linked_to_its_alert_and_is_read_once(sqlite_db, smtp_sim, dovecot):
    db = sqlite_db
    alert_id, sent = _sent_alert(db, smtp_sim)
    dovecot.append(_reply_to(sent[email_of(1)], "Ik zag [bold]hem[/] om 14u <b>", msg_id="<r1@example.be>"))
    reader = _reader(db, dovecot)
    assert reader.poll_once() == 1
    assert reader.poll_once() == 0  # the stored UID: nothing read twice
    (row,) = list_replies(db)
    assert row.alert_id == alert_id and row.member_name == "Lid 1"
    assert row.text == "Ik zag [bold]hem[/] om 14u <b>"  # literal, the quoted alert cut off
    assert row.source == email_of(1) and not row.is_opt_out


def test_a_new_uidvalidity_reads_again_but_stores_nothing_twice(sqlite_db, smtp_sim, dovecot):
    db = sqlite_db
    _alert_id, sent = _sent_alert(db, smtp_sim)
    dovecot.append(_reply_to(sent[email_of(0)], "Gezien", msg_id="<r2@example.be>"))
    reader = _reader(db, dovecot)
    assert reader.poll_once() == 1
    with db.write() as s:
        s.execute(update(ImapState).values(uidvalidity=1))
    assert reader.poll_once() == 1  # read again from the start...
    assert len(list_replies(db)) == 1  # ...recognised by its Message-ID


def test_unsubscribe_by_mailto_token_or_stop_word_opts_out_of_email_audited(sqlite_db, smtp_sim, dovecot):
    db = sqlite_db
    _alert_id, sent = _sent_alert(db, smtp_sim, n=3)
    mailto = sent[email_of(0)]["List-Unsubscribe"].strip("<>")
    subject = mailto.split("subject=", 1)[1].replace("%20", " ")
    dovecot.append(_reply_to(sent[email_of(0)], "", subject=subject, msg_id="<u0@example.be>"))
    dovecot.append(_reply_to(sent[email_of(1)], "Désinscrire, merci", msg_id="<u1@example.be>"))
    dovecot.append(_reply_to(sent[email_of(2)], "Stoppen ze de auto?", msg_id="<u2@example.be>"))
    assert _reader(db, dovecot).poll_once() == 3
    with db.read() as s:
        opted = dict(s.execute(select(Member.email, Member.email_opt_out)).all())
        audits = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "member.opt_out")))
    assert opted == {email_of(0): True, email_of(1): True, email_of(2): False}
    assert len(audits) == 2 and all('"email_reply"' in a.detail for a in audits)
    assert sorted(r.is_opt_out for r in list_replies(db)) == [False, True, True]


def test_done_when_a_hostile_relay_still_reaches_everyone_and_a_reply_comes_back(sqlite_db, smtp_sim_factory, dovecot):
    """The issue's "done when": greylisting, one refused mailbox, one dropped session; the refusal
    shows the server's reason; a reply by e-mail lands in the inbox linked to the alert."""
    db = sqlite_db
    sim = smtp_sim_factory(greylist=True, reject=(email_of(2),), drop_at=2)
    net = make_email_network(db, 5)
    alert_id = create_alert(db, network_ids=[net], text="Fietsdiefstal", urgency="normal", actor=ACTOR, training=True)
    p = _run(db, smtp_settings(sim), alert_id)
    assert p.by_channel == {"email": {"submitted": 4, "failed": 1}}
    assert p.failures[0][0] == "Lid 2" and "550 5.1.1" in p.failures[0][3] and "User unknown" in p.failures[0][3]
    got = {m.rcpt_tos[0]: m.message for m in sim.received}
    assert set(got) == {email_of(i) for i in (0, 1, 3, 4)}
    dovecot.append(_reply_to(got[email_of(3)], "Gezien aan het station", msg_id="<done@example.be>"))
    assert _reader(db, dovecot).poll_once() == 1
    (row,) = list_replies(db)
    assert (row.alert_id, row.member_name, row.channel, row.text) == (
        alert_id,
        "Lid 3",
        "email",
        "Gezien aan het station",
    )
    assert row.masked_source == "l•••@example.be"


def test_the_reader_thread_reports_its_state_and_reads_what_arrives(sqlite_db, smtp_sim, dovecot):
    db = sqlite_db
    alert_id, sent = _sent_alert(db, smtp_sim)
    reader = _reader(db, dovecot)
    reader.start()
    try:
        wait_until(lambda: _imap_state(db, SenderStatus) == "bound", 20, "the reader to read")
        dovecot.append(_reply_to(sent[email_of(0)], "Alles rustig", msg_id="<t1@example.be>"))
        row = wait_until(lambda: list_replies(db), 20, "the reply")[0]
        assert (row.alert_id, row.text) == (alert_id, "Alles rustig")
    finally:
        reader.stop()
    assert _imap_state(db, SenderStatus) == "stopped"


def _imap_state(db, status_model):
    with db.read() as s:
        row = s.get(status_model, "imap")
        return row.state if row is not None else None
