"""Opt-out by e-mail reply: a From address is forgeable, so a STOP word needs proof of the address.

Real sent mails (aiosmtpd training relay) give the real Message-IDs and tokens; replies are stored
into real SQLite as the IMAP reader stores them.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

from bin_console.data.models import Member, utcnow
from mail_fixtures import email_of
from sqlalchemy import select
from test_email_replies import _reply_to, _sent_alert

from bin_console.alerts.service import list_replies
from bin_console.channels.email.message import parse_message_id
from bin_console.channels.email.replies import store_email_reply
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="tester", host="test")


def _store(db, raw: bytes) -> None:
    with db.write() as s:
        store_email_reply(s, message_from_bytes(raw, policy=policy.default), utcnow(), ACTOR)


def _opted(db) -> dict[str, bool]:
    with db.read() as s:
        return dict(s.execute(select(Member.email, Member.email_opt_out)).all())


def _plain(sender: str, subject: str, body: str, msg_id: str, *, in_reply_to: str = "") -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"], m["Message-ID"] = sender, "antwoord@pz-test.be", subject, msg_id
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
    m.set_content(body)
    return bytes(m)


def test_a_forged_stop_without_a_reference_opts_nobody_out(sqlite_db, smtp_sim):
    db = sqlite_db
    _sent_alert(db, smtp_sim, n=2)
    _store(db, _plain(email_of(0), "STOP", "STOP", "<forged1@evil.example>"))
    assert _opted(db) == {email_of(0): False, email_of(1): False}
    (row,) = list_replies(db)
    assert row.text == "STOP" and not row.is_opt_out  # kept: the dispatcher reads it


def test_a_stop_referencing_another_members_delivery_opts_nobody_out(sqlite_db, smtp_sim):
    """Member 1 forges From: member 0 and answers the mail member 1 received."""
    db = sqlite_db
    _alert_id, sent = _sent_alert(db, smtp_sim, n=2)
    theirs = sent[email_of(1)]["Message-ID"]
    _store(db, _plain(email_of(0), "Re: bericht", "UITSCHRIJVEN", "<forged2@example.be>", in_reply_to=theirs))
    assert _opted(db) == {email_of(0): False, email_of(1): False}


def test_a_stop_answering_the_members_own_delivery_opts_out(sqlite_db, smtp_sim):
    db = sqlite_db
    _alert_id, sent = _sent_alert(db, smtp_sim, n=2)
    _store(db, _reply_to(sent[email_of(1)], "Unsubscribe please", msg_id="<own1@example.be>"))
    assert _opted(db) == {email_of(0): False, email_of(1): True}


def test_arret_as_the_first_word_of_a_report_is_no_opt_out(sqlite_db, smtp_sim):
    db = sqlite_db
    _alert_id, sent = _sent_alert(db, smtp_sim, n=2)
    _store(db, _reply_to(sent[email_of(0)], "Arrêt de tram Louise: un homme suspect", msg_id="<arret1@example.be>"))
    _store(db, _reply_to(sent[email_of(1)], "Arrêt", msg_id="<arret2@example.be>"))  # the whole message
    assert _opted(db) == {email_of(0): False, email_of(1): True}


def test_the_token_opts_out_its_member_not_the_forged_from(sqlite_db, smtp_sim):
    """The token is the member's secret: it opts out that member, whoever sends it, and never the
    address in From (which anyone can write)."""
    db = sqlite_db
    _alert_id, sent = _sent_alert(db, smtp_sim, n=2)
    mailto = sent[email_of(1)]["List-Unsubscribe"].strip("<>")
    subject = mailto.split("subject=", 1)[1].replace("%20", " ")
    _store(db, _plain(email_of(0), subject, "", "<tok1@example.be>"))
    assert _opted(db) == {email_of(0): False, email_of(1): True}
    (row,) = list_replies(db)
    assert row.is_opt_out and row.member_name == "Lid 1"


def test_a_stop_answering_a_guessed_message_id_opts_nobody_out(sqlite_db, smtp_sim):
    """Alert and delivery ids are sequential: an attacker who knows member 0's address can write
    the id of the mail that member got (bin.ALERT.DELIVERY) but not its tag, which needs the
    member's token. Without the tag, or with a wrong one, the STOP is kept as a reply; the real
    Message-ID still works (checked in test_a_stop_answering_the_members_own_delivery_opts_out)."""
    db = sqlite_db
    _alert_id, sent = _sent_alert(db, smtp_sim, n=2)
    a, d, tag = parse_message_id(sent[email_of(0)]["Message-ID"])
    assert len(tag) == 16
    guessed = [f"<bin.{a}.{d}@pz-test.be>", f"<bin.{a}.{d}.{'0' * 16}@pz-test.be>"]
    for i, ref in enumerate(guessed):
        _store(db, _plain(email_of(0), "STOP", "STOP", f"<forged-guess{i}@evil.example>", in_reply_to=ref))
    assert _opted(db) == {email_of(0): False, email_of(1): False}
    assert [r.is_opt_out for r in list_replies(db)] == [False, False]
    assert all(r.alert_id == a for r in list_replies(db))  # still linked to the alert in the inbox
