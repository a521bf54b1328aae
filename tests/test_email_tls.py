"""STARTTLS towards a relay with a certificate from a private CA: verified, never silently skipped."""

from __future__ import annotations

from bin_console.data.models import SenderStatus
from mail_fixtures import email_of, make_email_network, smtp_settings, wait_until
from test_email_send import _run, _send

from bin_console.channels.email.driver import EmailSender


def test_starttls_with_the_configured_ca_delivers(db, smtp_sim_factory, relay_cert):
    cert, ctx = relay_cert
    sim = smtp_sim_factory(tls_context=ctx)
    net = make_email_network(db, 2)
    p = _run(db, smtp_settings(sim, security="starttls", ca_file=str(cert)), _send(db, net))
    assert p.counts == {"submitted": 2}
    assert sorted(m.rcpt_tos[0] for m in sim.received) == [email_of(0), email_of(1)]


def test_an_unknown_certificate_is_refused_and_said_not_sent_in_clear(db, smtp_sim_factory, relay_cert):
    _cert, ctx = relay_cert
    sim = smtp_sim_factory(tls_context=ctx)
    net = make_email_network(db, 1)
    _send(db, net)
    sender = EmailSender(db, smtp_settings(sim, security="starttls"), password=None, poll_s=0.05)
    sender.start()
    try:
        row = wait_until(lambda: _config_error(db), 20, "a config_error status")
    finally:
        sender.stop()
    assert "certificate" in row.detail
    assert sim.count == 0


def _config_error(db):
    with db.read() as s:
        row = s.get(SenderStatus, "email")
        return row if row is not None and row.state == "config_error" else None
