"""One alert e-mail for one member, built with the standard library's `email` package.

The legacy (compat32) API: its header handling is about ten times faster than the header registry
of `EmailMessage` (which parsed and refolded every header: 10 ms a message, slower than the SMTP
exchange itself), and alert headers need nothing more (ASCII addresses, RFC 2047 for the subject).

Each message has one `To:` (that member), a Message-ID derived from the delivery, so a re-send after
an unanswered end of DATA (RFC 1047) carries the same id and the receiving side can recognise it, and
List-Unsubscribe with the member's own random token (RFC 2369; one-click POST, RFC 8058, only when a
URL is configured).
"""

from __future__ import annotations

import re
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from urllib.parse import quote

from bin_console.config import SmtpSettings
from bin_console.data.models import utcnow

SUBJECT_MAX = 78  # one header line (RFC 5322 recommends 78 characters)
UNSUBSCRIBE_WORD = "unsubscribe"
_MESSAGE_ID = re.compile(r"<bin\.(\d+)\.(\d+)@[^>]+>")

SUBJECT_PREFIX = {"nl": "BIN-bericht", "fr": "Message RIL", "de": "BIN-Nachricht", "en": "BIN message"}
FOOTER = {
    "nl": "Dit bericht komt van uw buurtinformatienetwerk (BIN). Antwoorden op dit bericht komen bij de politie aan.",
    "fr": "Ce message provient de votre réseau d'information de quartier (RIQ). Vos réponses parviennent à la police.",
    "de": "Diese Nachricht kommt von Ihrem Nachbarschaftsinformationsnetzwerk. Antworten erreichen die Polizei.",
    "en": "This message comes from your neighbourhood information network. Replies reach the police.",
}


def domain_of(addr: str) -> str:
    return addr.rpartition("@")[2] or "localhost"


def message_id(alert_id: int, delivery_id: int, from_addr: str) -> str:
    return f"<bin.{alert_id}.{delivery_id}@{domain_of(from_addr)}>"


def parse_message_id(text: str) -> tuple[int, int] | None:
    """(alert id, delivery id) of the first of our Message-IDs found in an In-Reply-To/References value."""
    m = _MESSAGE_ID.search(text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def subject_for(text: str, language: str) -> str:
    """The prefix and the alert's first line, cut at a word so it stays one header line."""
    first = " ".join((text.strip().splitlines() or [""])[0].split())
    subject = f"{SUBJECT_PREFIX.get(language, SUBJECT_PREFIX['nl'])}: {first}"
    if len(subject) <= SUBJECT_MAX:
        return subject
    return subject[: SUBJECT_MAX - 1].rsplit(" ", 1)[0] + "…"


def unsubscribe_mailto(settings: SmtpSettings, token: str) -> str:
    mailbox = settings.reply_to or settings.from_addr
    return f"mailto:{mailbox}?subject={quote(f'{UNSUBSCRIBE_WORD} {token}')}"


def build_message(
    settings: SmtpSettings,
    *,
    alert_id: int,
    delivery_id: int,
    to_addr: str,
    text: str,
    language: str,
    token: str,
    possible_duplicate: bool = False,
) -> Message:
    body = f"{text.strip()}\n\n-- \n{FOOTER.get(language, FOOTER['nl'])}\n"
    msg = MIMEText(body, "plain", "utf-8")
    msg["From"] = formataddr(("Politie BIN", settings.from_addr))
    msg["To"] = to_addr  # this member alone: never a shared To/Cc/Bcc list
    if settings.reply_to:
        msg["Reply-To"] = settings.reply_to
    msg["Subject"] = Header(subject_for(text, language), "utf-8")  # type: ignore[assignment]  # email takes a Header; typeshed says str
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = message_id(alert_id, delivery_id, settings.from_addr)
    msg["Content-Language"] = language
    targets = [f"<{unsubscribe_mailto(settings, token)}>"]
    if settings.unsubscribe_url:
        targets.insert(0, f"<{settings.unsubscribe_url.replace('{token}', quote(token))}>")
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["List-Unsubscribe"] = ", ".join(targets)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies back to us
    if possible_duplicate:
        # the first attempt may have arrived (no answer after the final dot): same Message-ID, and said so
        msg["X-BIN-Resent"] = "possible duplicate"
    return msg
