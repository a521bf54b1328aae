"""Members with an internationalised e-mail domain: stored in ASCII (punycode), sent, and recognised
when they reply in either form. Real aiosmtpd relay and SQLite."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from bin_console.data.models import Member, utcnow
from mail_fixtures import email_of, make_email_network, smtp_settings, wait_until
from sqlalchemy import select, update
from test_email_replies import _reply_to, _sent_alert

from bin_console.alerts.service import alert_progress, create_alert, list_replies
from bin_console.channels.email.driver import EmailSender
from bin_console.channels.email.replies import store_email_reply
from bin_console.directory.validation import parse_email
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="tester", host="test")


@pytest.mark.parametrize("typed", ["jan@café.be", "Jan@CAFÉ.be", "jan@xn--caf-dma.be", "jan@XN--CAF-DMA.BE"])
def test_an_idn_address_is_stored_in_punycode_typed_either_way(typed):
    assert parse_email(typed).lower() == "jan@xn--caf-dma.be"


def test_address_forms_give_both_spellings_of_the_domain():
    from bin_console.directory.validation import address_forms

    assert address_forms("Jan@Café.be") == ("jan@xn--caf-dma.be", "jan@café.be")
    assert address_forms("jan@xn--caf-dma.be") == ("jan@xn--caf-dma.be", "jan@café.be")
    assert address_forms("jan@example.be") == ("jan@example.be",)
    assert address_forms("") == ()


def test_an_internationalised_domain_does_not_stop_the_e_mail_sender(sqlite_db, smtp_sim):
    """A Unicode domain in the database made smtplib raise UnicodeEncodeError and ended the session
    thread: no e-mail went out any more. Stored as punycode, every member gets theirs."""
    db = sqlite_db
    net = make_email_network(db, 4)
    with db.write() as s:
        s.execute(update(Member).where(Member.email == email_of(0)).values(email=parse_email("lid0@café.be")))
    alert_id = create_alert(db, network_ids=[net], text="Inbraak", urgency="normal", actor=ACTOR, training=True)
    sender = EmailSender(db, smtp_settings(smtp_sim), password=None, poll_s=0.1)
    sender.start()
    try:
        wait_until(lambda: alert_progress(db, alert_id).done, 20, "every e-mail to be sent")
    finally:
        sender.stop()
    assert sorted(m.rcpt_tos[0] for m in smtp_sim.received) == sorted(
        ["lid0@xn--caf-dma.be", *(email_of(i) for i in (1, 2, 3))]
    )


def _store(db, raw: bytes) -> None:
    with db.write() as s:
        store_email_reply(s, message_from_bytes(raw, policy=policy.default), utcnow(), ACTOR)


def test_a_reply_from_the_unicode_spelling_is_linked_to_the_punycode_member(sqlite_db, smtp_sim):
    db = sqlite_db
    net = make_email_network(db, 1)
    with db.write() as s:
        s.execute(update(Member).where(Member.email == email_of(0)).values(email=parse_email("lid0@café.be")))
    alert_id = create_alert(db, network_ids=[net], text="Inbraak", urgency="normal", actor=ACTOR, training=True)
    from test_email_send import _run

    _run(db, smtp_settings(smtp_sim), alert_id)
    (sent,) = [m.message for m in smtp_sim.received]
    # the member's mail program shows and answers from the Unicode form; no In-Reply-To: linked by From
    r = EmailMessage()
    r["From"], r["To"], r["Subject"], r["Message-ID"] = "Lid0@Café.be", "antwoord@pz-test.be", "Re: x", "<u1@x.be>"
    r.set_content("Gezien")
    _store(db, bytes(r))
    # a STOP answering the delivery proves the address in either spelling
    stop = _reply_to(sent, "STOP", msg_id="<u2@x.be>").replace(b"lid0@xn--caf-dma.be", "lid0@café.be".encode())
    _store(db, stop)
    rows = sorted(list_replies(db), key=lambda r: r.text)
    assert [(r.text, r.alert_id, r.member_name) for r in rows] == [
        ("Gezien", alert_id, "Lid 0"),
        ("STOP", alert_id, "Lid 0"),
    ]
    assert rows[1].is_opt_out
    with db.read() as s:
        assert s.scalar(select(Member.email_opt_out)) is True


def test_an_older_row_stored_in_unicode_still_matches_a_punycode_reply(sqlite_db, smtp_sim):
    db = sqlite_db
    _alert_id, _sent = _sent_alert(db, smtp_sim, n=1)
    with db.write() as s:  # as parse_email stored it before: the Unicode domain
        s.execute(update(Member).values(email="lid0@café.be"))
    r = EmailMessage()
    r["From"], r["To"], r["Subject"], r["Message-ID"] = "lid0@xn--caf-dma.be", "antwoord@pz-test.be", "Hallo", "<o1@x>"
    r.set_content("Ik ben verhuisd")
    _store(db, bytes(r))
    (row,) = list_replies(db)
    assert row.member_name == "Lid 0"
