"""One SMTP session (stdlib smtplib), reused for many messages; says exactly where a message stands.

``send`` runs MAIL, RCPT and DATA itself (not ``sendmail``) so the answer is known per step:
a 4xx or 5xx at any step is that recipient's answer and the session goes on after RSET; a session
that dies before DATA sent nothing (``LinkDown(ambiguous=False)``); one that dies or stalls inside
DATA may have been accepted without us hearing the 250 (RFC 1047): ``LinkDown(ambiguous=True)``.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email import policy
from email.message import Message

from bin_console.config import SmtpSettings
from bin_console.trust.credentials import Secret


class LinkDown(Exception):
    """The session is gone; `ambiguous`: the message may have been accepted all the same."""

    def __init__(self, reason: str, *, ambiguous: bool) -> None:
        super().__init__(reason)
        self.ambiguous = ambiguous


class Unsendable(Exception):
    """This one message cannot be put on the wire (an address smtplib cannot encode); the session
    is unharmed and goes on with the next."""


class NoAnswer(Exception):
    """An unexpected error inside DATA, after the message may have gone out: it may have been
    accepted. The session is abandoned (where the exchange stopped is unknown); the message is
    retried like a 4xx, counted as an attempt and flagged a possible duplicate. Not a LinkDown:
    an error that comes back with the same message each time must not hold the session's queue."""


class LinkRefused(Exception):
    """Connecting or logging in failed. `config`: the operator must act (bad password, TLS refused)."""

    def __init__(self, reason: str, *, config: bool) -> None:
        super().__init__(reason)
        self.config = config


@dataclass(frozen=True)
class Answer:
    code: int
    text: str  # the server's own words, e.g. "5.1.1 <x@y.be>: Recipient address rejected"

    @property
    def accepted(self) -> bool:
        return 200 <= self.code < 300

    @property
    def transient(self) -> bool:
        return 400 <= self.code < 500

    def describe(self) -> str:
        return f"{self.code} {self.text}".strip()


def _text(resp: bytes | str) -> str:
    raw = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else resp
    return " ".join(raw.split())


_WIRE = policy.compat32.clone(linesep="\r\n")


def wire_bytes(msg: Message) -> bytes:
    """CRLF line ends, as SMTP wants them (smtplib adds the dot-stuffing and the final dot)."""
    return msg.as_bytes(policy=_WIRE)


def check_address(to_addr: str) -> None:
    """smtplib writes its commands in ASCII (no SMTPUTF8 here): a non-ASCII address cannot go."""
    if not to_addr.isascii():
        raise Unsendable("address not sendable over SMTP (non-ASCII characters)")


class SmtpLink:
    def __init__(self, settings: SmtpSettings, password: Secret | None) -> None:
        self.settings = settings
        self._password = password
        self._smtp: smtplib.SMTP | None = None

    @property
    def connected(self) -> bool:
        return self._smtp is not None

    def connect(self) -> None:
        cfg = self.settings
        context = ssl.create_default_context(cafile=cfg.ca_file or None)
        try:
            if cfg.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
            else:
                smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            smtp.ehlo()
            if cfg.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
        except smtplib.SMTPNotSupportedError:
            raise LinkRefused(f"{cfg.host}:{cfg.port} offers no STARTTLS (smtp.security)", config=True) from None
        except ssl.SSLCertVerificationError as exc:
            raise LinkRefused(f"TLS certificate of {cfg.host} refused: {exc.verify_message}", config=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = f"cannot connect to {cfg.host}:{cfg.port}: {type(exc).__name__}: {exc}"
            raise LinkRefused(reason, config=False) from None
        if cfg.username:
            if self._password is None:
                smtp.close()
                raise LinkRefused("no smtp password: run 'bin-console credentials set smtp'", config=True)
            try:
                smtp.login(cfg.username, self._password.reveal())
            except smtplib.SMTPAuthenticationError as exc:
                smtp.close()
                raise LinkRefused(f"login refused: {exc.smtp_code} {_text(exc.smtp_error)}", config=True) from None
            except (smtplib.SMTPException, OSError) as exc:
                smtp.close()
                raise LinkRefused(f"login failed: {type(exc).__name__}", config=False) from None
        self._smtp = smtp

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def abandon(self) -> None:
        """After a failure: drop the socket without a QUIT that could stall too."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def send(self, from_addr: str, to_addr: str, data: bytes) -> Answer:
        smtp = self._smtp
        if smtp is None:
            raise LinkDown("not connected", ambiguous=False)
        check_address(to_addr)
        try:
            code, resp = smtp.mail(from_addr)
            if code == 250:
                code, resp = smtp.rcpt(to_addr)
            if code not in (250, 251):
                self._reset(smtp)
                return Answer(code, _text(resp))
        except UnicodeEncodeError:  # raised before the command was written: the session is fine
            self._reset(smtp)
            raise Unsendable("address not sendable over SMTP (non-ASCII characters)") from None
        except (smtplib.SMTPException, OSError) as exc:
            self.abandon()
            raise LinkDown(f"{type(exc).__name__} before DATA", ambiguous=False) from None
        try:
            code, resp = smtp.data(data)
        except smtplib.SMTPDataError as exc:  # DATA itself refused (no 354): the message never went
            self._reset(smtp)
            return Answer(exc.smtp_code, _text(exc.smtp_error))
        except (smtplib.SMTPException, OSError) as exc:
            self.abandon()
            raise LinkDown(f"{type(exc).__name__} during DATA (RFC 1047)", ambiguous=True) from None
        except Exception as exc:
            self.abandon()
            raise NoAnswer(f"no answer after DATA: {type(exc).__name__}: {exc}") from None
        if code != 250:
            self._reset(smtp)
        return Answer(code, _text(resp))

    def _reset(self, smtp: smtplib.SMTP) -> None:
        """RSET after a refused step; a session that cannot even do that is gone (nothing was sent)."""
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError):
            self.abandon()
