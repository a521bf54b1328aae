"""The IMAP reply reader against bad mails and bad servers: one mail never stops the replies after it.

Real parts: Dovecot on loopback, SQLite, loopback sockets for a server that never answers.
"""

from __future__ import annotations

import socket
import threading
import time
from email import message_from_bytes, policy

import pytest
from bin_console.data.models import ImapState, Member, Reply, SenderStatus, utcnow
from mail_fixtures import email_of, wait_until
from sqlalchemy import select
from test_email_replies import _reader, _reply_to, _sent_alert

from bin_console.alerts.service import list_replies
from bin_console.channels.email import imap_reader
from bin_console.channels.email.imap_reader import ImapReader
from bin_console.channels.email.replies import store_email_reply
from bin_console.config import ImapSettings
from bin_console.trust.actor import Actor
from bin_console.trust.credentials import Secret

ACTOR = Actor(os_user="tester", host="test")

BOGUS_CHARSET = (
    b"From: spam@example.net\r\nTo: antwoord@pz-test.be\r\nSubject: offer\r\nMessage-ID: <spam1@example.net>\r\n"
    b"Content-Type: text/plain; charset=x-bogus-charset\r\n\r\nbuy now\r\n"
)
# Python's header parser raises IndexError on this From (a real CPython defect, not a mock)
UNPARSEABLE = (
    b"From: <\r\nTo: antwoord@pz-test.be\r\nSubject: hello\r\nMessage-ID: <broken1@example.net>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nhello there\r\n"
)


def test_a_mail_with_an_unknown_charset_is_stored_decoded_as_utf8(sqlite_db):
    """get_content() raised LookupError out of store_email_reply (and killed the reader thread)."""
    msg = message_from_bytes(BOGUS_CHARSET, policy=policy.default)
    with sqlite_db.write() as s:
        rid = store_email_reply(s, msg, utcnow(), ACTOR)
    with sqlite_db.read() as s:
        row = s.get(Reply, rid)
        assert (row.text, row.source, row.is_opt_out) == ("buy now", "spam@example.net", False)


def test_a_mail_python_cannot_parse_is_kept_as_an_unreadable_reply_and_read_once(sqlite_db, dovecot):
    dovecot.append(UNPARSEABLE)
    reader = _reader(sqlite_db, dovecot)
    assert reader.poll_once() == 1
    assert reader.poll_once() == 0  # the position is saved past it
    with sqlite_db.read() as s:
        (row,) = s.scalars(select(Reply)).all()
        assert row.text.startswith("[unreadable e-mail (IndexError), raw] From: <")
        assert "hello there" in row.text
        assert (row.channel, row.message_id, row.is_opt_out) == ("email", "<broken1@example.net>", False)
    with sqlite_db.write() as s:  # a new UIDVALIDITY reads it again: recognised by its Message-ID
        s.execute(ImapState.__table__.update().values(uidvalidity=1))
    assert reader.poll_once() == 1
    with sqlite_db.read() as s:
        assert len(s.scalars(select(Reply)).all()) == 1


def test_a_stop_after_bad_mails_is_still_honoured(sqlite_db, smtp_sim, dovecot, caplog):
    """End to end: the reader thread reads past an unknown charset and an unparseable header and
    honours the STOP that follows them."""
    db = sqlite_db
    _alert_id, sent = _sent_alert(db, smtp_sim, n=2)
    dovecot.append(BOGUS_CHARSET)
    dovecot.append(UNPARSEABLE)
    dovecot.append(_reply_to(sent[email_of(0)], "STOP", msg_id="<stop1@example.be>"))
    reader = _reader(db, dovecot)
    reader.start()
    try:

        def opted_out():
            with db.read() as s:
                return s.scalar(select(Member.email_opt_out).where(Member.email == email_of(0)))

        wait_until(opted_out, 20, "the STOP mail to opt the member out")
    finally:
        reader.stop()
    assert sorted(r.is_opt_out for r in list_replies(db)) == [False, False, True]
    lines = [r for r in caplog.records if "cannot be read" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None  # one line, no traceback
    assert "\n" not in lines[0].getMessage() and dovecot.password not in caplog.text


def _silent_server():
    """A loopback server that accepts and never says anything (a hung IMAP server or firewall)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    held: list[socket.socket] = []

    def accept():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return srv, held


@pytest.mark.parametrize("security", ["tls", "none"])
def test_a_server_that_never_answers_times_out(sqlite_db, security):
    """IMAP4_SSL had no timeout: a server that accepts and stays silent hung the reader for good."""
    srv, held = _silent_server()
    try:
        cfg = ImapSettings(host="127.0.0.1", port=srv.getsockname()[1], security=security, username="u", timeout=0.5)
        reader = ImapReader(sqlite_db, cfg, password=Secret("pw-imap-1"))
        outcome: list[BaseException | None] = []

        def poll():
            try:
                reader.poll_once()
                outcome.append(None)
            except BaseException as exc:
                outcome.append(exc)

        started = time.monotonic()
        t = threading.Thread(target=poll, daemon=True)
        t.start()
        t.join(10)
        assert not t.is_alive(), "the reader still waits for a server that never answers"
        assert isinstance(outcome[0], OSError) and time.monotonic() - started < 5
    finally:
        srv.close()
        for c in held:
            c.close()


def test_the_reader_verifies_the_server_with_its_ca_file(sqlite_db, relay_cert):
    """[imap] ca_file, like [smtp]: a private CA's certificate is accepted with it, refused without."""
    import ssl

    cert, ctx = relay_cert
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    greeted: list[bool] = []

    def serve():  # just enough IMAP for imaplib: the greeting, CAPABILITY and LOGOUT
        while True:
            try:
                raw, _ = srv.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(raw, server_side=True) as conn:
                    conn.sendall(b"* OK IMAP4rev1 test\r\n")
                    greeted.append(True)
                    for _n in range(2):
                        tag, _sp, command = conn.recv(1024).partition(b" ")
                        untagged = b"* BYE\r\n" if command.startswith(b"LOGOUT") else b"* CAPABILITY IMAP4rev1\r\n"
                        conn.sendall(untagged + tag + b" OK done\r\n")
            except (OSError, ssl.SSLError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    port = srv.getsockname()[1]
    try:
        without = ImapReader(
            sqlite_db, ImapSettings(host="127.0.0.1", port=port, security="tls", username="u", timeout=5), password=None
        )
        with pytest.raises(ssl.SSLCertVerificationError):
            without.poll_once()
        with_ca = ImapReader(
            sqlite_db,
            ImapSettings(host="127.0.0.1", port=port, security="tls", username="u", timeout=5, ca_file=str(cert)),
            password=None,
        )
        with pytest.raises(Exception, match="no imap password"):  # TLS and the greeting passed: then the login
            with_ca.poll_once()
        assert greeted
    finally:
        srv.close()


def test_two_readers_of_one_mailbox_read_it_once_and_the_second_takes_over(sqlite_db, smtp_sim, dovecot):
    """Every console started a reader: on PostgreSQL each stored every reply (check-then-insert)."""
    db = sqlite_db
    _alert_id, sent = _sent_alert(db, smtp_sim, n=2)
    first, second = _reader(db, dovecot), _reader(db, dovecot)
    first.start()
    wait_until(lambda: first.holder, 10, "the first reader to hold the mailbox")
    second.start()
    try:
        dovecot.append(_reply_to(sent[email_of(0)], "Gezien", msg_id="<two1@example.be>"))
        wait_until(lambda: list_replies(db), 20, "the reply")
        assert first.holder and not second.holder
        first.stop()  # writes "stopped": the waiting reader takes over at its next poll
        wait_until(lambda: second.holder, 10, "the second reader to take over")
        dovecot.append(_reply_to(sent[email_of(1)], "Alles rustig", msg_id="<two2@example.be>"))
        wait_until(lambda: len(list_replies(db)) == 2, 20, "the second reply")
    finally:
        first.stop()
        second.stop()
    with db.read() as s:
        assert s.get(SenderStatus, "imap").state == "stopped"
    assert sorted(r.text for r in list_replies(db)) == ["Alles rustig", "Gezien"]


def test_a_reader_failing_for_a_whole_lease_lets_a_working_one_take_over(sqlite_db, smtp_sim, dovecot, monkeypatch):
    """One console whose IMAP settings do not work (here a mailbox name that does not exist) held
    the mailbox for good: each failing round renewed its lease, the console whose settings work
    waited for ever and no reply was read. Now a holder that has failed for a whole lease says
    "error" and its row counts as free; a working reader takes it and keeps it."""
    monkeypatch.setattr(imap_reader, "LEASE_MIN_S", 2.0)  # longer than the broken one's round
    db = sqlite_db
    _alert_id, sent = _sent_alert(db, smtp_sim, n=1)
    cfg = ImapSettings(
        host="127.0.0.1", port=dovecot.port, security="none", username=dovecot.user, poll_s=0.1, mailbox="Geen-map"
    )
    broken = ImapReader(db, cfg, password=Secret(dovecot.password))
    broken.start()
    try:
        wait_until(lambda: broken.holder and broken.last_error, 10, "the broken reader to hold and fail")
        working = _reader(db, dovecot)
        working.start()
        try:
            dovecot.append(_reply_to(sent[email_of(0)], "Gezien", msg_id="<lease1@example.be>"))
            wait_until(lambda: list_replies(db), 20, "the working reader to read the reply")
            wait_until(lambda: working.holder and not broken.holder, 10, "the broken reader to stand back")
            wait_until(lambda: _imap_state(db) == "bound", 10, "the status row to say replies are read")
            time.sleep(2.5)  # more than a lease: the broken one, failing on, never takes the mailbox back
            assert working.holder and not broken.holder and _imap_state(db) == "bound"
        finally:
            working.stop()
    finally:
        broken.stop()


def _imap_state(db):
    with db.read() as s:
        row = s.get(SenderStatus, "imap")
        return row.state if row is not None else None


def test_an_old_failure_while_waiting_does_not_make_one_hiccup_an_error(sqlite_db, monkeypatch):
    """The streak that turns a holder's state into "error" (its row then counts as free) must be
    the holder's own: a database hiccup while this reader only waited, an hour ago, made its first
    transient failure as the holder an immediate "error" and a takeover."""
    clock = [1000.0]
    monkeypatch.setattr(imap_reader.time, "monotonic", lambda: clock[0])
    reader = ImapReader(sqlite_db, ImapSettings(host="127.0.0.1", port=1, security="none", poll_s=1.0), password=None)
    reader._failed(RuntimeError("database locked"))  # while not the holder: nothing written
    clock[0] += 3600  # an hour of waiting behind a healthy holder, which then stopped
    assert reader._claim()  # takes the free row
    reader._failed(OSError("connection reset"))  # its first failure as the holder
    with sqlite_db.read() as s:
        assert s.get(SenderStatus, "imap").state == "reconnecting"
