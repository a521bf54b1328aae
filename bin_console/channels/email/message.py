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

import hashlib
import hmac
import re
import string
from email import policy as _policy
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from urllib.parse import quote

from bin_console.config import SmtpSettings
from bin_console.data.models import utcnow

SUBJECT_MAX = 78  # one header line (RFC 5322 recommends 78 characters)
UNSUBSCRIBE_WORD = "unsubscribe"
# <bin.ALERT.DELIVERY.TAG@domain>; messages sent before the tag came have none
_MESSAGE_ID = re.compile(r"<bin\.(\d+)\.(\d+)(?:\.([0-9a-f]{16}))?@[^>]+>")

SUBJECT_PREFIX = {"nl": "BIN-bericht", "fr": "Message RIL", "de": "BIN-Nachricht", "en": "BIN message"}
FOOTER = {
    "nl": "Dit bericht komt van uw buurtinformatienetwerk (BIN). Antwoorden op dit bericht komen bij de politie aan.",
    "fr": "Ce message provient de votre réseau d'information de quartier (RIQ). Vos réponses parviennent à la police.",
    "de": "Diese Nachricht kommt von Ihrem Nachbarschaftsinformationsnetzwerk. Antworten erreichen die Polizei.",
    "en": "This message comes from your neighbourhood information network. Replies reach the police.",
}


def domain_of(addr: str) -> str:
    return addr.rpartition("@")[2] or "localhost"


def message_tag(token: str, alert_id: int, delivery_id: int) -> str:
    """The part of a delivery's Message-ID nobody can guess: 16 hex of an HMAC-SHA256 of the alert
    and delivery ids keyed by the member's unsubscribe token (32 random bytes, tokens.py). A reply
    that answers it proves it answers the mail that went to that member, which a STOP by e-mail
    needs: with ids alone (sequential) anyone could forge "STOP" for any member's address. The same
    delivery always gets the same tag, so a re-send keeps its Message-ID. "" without a token."""
    if not token:
        return ""
    return hmac.new(token.encode(), f"{alert_id}.{delivery_id}".encode(), hashlib.sha256).hexdigest()[:16]


def message_id(alert_id: int, delivery_id: int, from_addr: str, token: str = "") -> str:
    tag = message_tag(token, alert_id, delivery_id)
    return f"<bin.{alert_id}.{delivery_id}{'.' + tag if tag else ''}@{domain_of(from_addr)}>"


def parse_message_id(text: str) -> tuple[int, int, str] | None:
    """(alert id, delivery id, tag or "") of the first of our Message-IDs in an In-Reply-To/References value."""
    m = _MESSAGE_ID.search(text or "")
    return (int(m.group(1)), int(m.group(2)), m.group(3) or "") if m else None


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


def unsubscribe_header(settings: SmtpSettings, token: str) -> str:
    """List-Unsubscribe: the one-click URL first when one is configured, then the mailto."""
    mailto = f"<{unsubscribe_mailto(settings, token)}>"
    if settings.unsubscribe_url:
        return f"<{settings.unsubscribe_url.replace('{token}', quote(token))}>, {mailto}"
    return mailto


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
    msg["Message-ID"] = message_id(alert_id, delivery_id, settings.from_addr, token)
    msg["Content-Language"] = language
    if settings.unsubscribe_url:
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["List-Unsubscribe"] = unsubscribe_header(settings, token)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies back to us
    if possible_duplicate:
        # the first attempt may have arrived (no answer after the final dot): same Message-ID, and said so
        msg["X-BIN-Resent"] = "possible duplicate"
    return msg


# --- one alert's message, built once per language --------------------------------------------------------

_PER_MEMBER = ("To", "Date", "Message-ID", "List-Unsubscribe", "X-BIN-Resent")
_WIRE = _policy.compat32.clone(linesep="\r\n")  # as smtp_link.wire_bytes writes a message
_PLACEHOLDER = "placeholder"


class MessageTemplate:
    """The e-mail of one alert in one language, for any member: the same bytes as
    ``wire_bytes(build_message(...))``, built once.

    Building and serialising a message with the `email` package costs more than its SMTP exchange
    (about 0.3 ms), and only five headers differ between two members' messages: To, Date, the
    Message-ID, List-Unsubscribe (the member's token) and the resent flag. So the message is built
    once by ``build_message``; the other headers and the encoded body are kept as bytes, and each
    member's five headers are folded by the same policy the generator uses (``fold_binary``), in
    the same order, so the result is byte for byte what ``build_message`` would give.
    """

    def __init__(self, settings: SmtpSettings, *, alert_id: int, text: str, language: str) -> None:
        self.settings = settings
        self.alert_id = alert_id
        ref = build_message(
            settings,
            alert_id=alert_id,
            delivery_id=0,
            to_addr=_PLACEHOLDER,
            text=text,
            language=language,
            token=_PLACEHOLDER,
            possible_duplicate=True,
        )
        # (name, None) for a member's own header, (None, bytes) for the shared ones, in message order
        self._items: list[tuple[str | None, bytes]] = []
        for name, value in ref.raw_items():
            if name in _PER_MEMBER:
                self._items.append((name, b""))
            else:
                self._items.append((None, _WIRE.fold_binary(name, value)))
        wire = ref.as_bytes(policy=_WIRE)
        self._body = wire[wire.index(b"\r\n\r\n") + 2 :]  # the blank line and the encoded body
        self._mid_domain = domain_of(settings.from_addr)
        self._unsub_folded: dict[int, tuple[bytes, bytes]] = {}

    def message_id(self, delivery_id: int, token: str) -> str:
        tag = message_tag(token, self.alert_id, delivery_id)
        return f"<bin.{self.alert_id}.{delivery_id}{'.' + tag if tag else ''}@{self._mid_domain}>"

    def render(self, *, delivery_id: int, to_addr: str, token: str, possible_duplicate: bool = False) -> bytes:
        """The wire bytes (CRLF) of this member's message."""
        out = []
        for name, static in self._items:
            if name is None:
                out.append(static)
            elif name == "To":
                out.append(_fold("To", to_addr))
            elif name == "Date":
                out.append(_fold("Date", format_datetime(utcnow())))
            elif name == "Message-ID":
                out.append(_fold("Message-ID", self.message_id(delivery_id, token)))
            elif name == "List-Unsubscribe":
                out.append(self._unsubscribe(token))
            elif possible_duplicate:  # X-BIN-Resent
                out.append(_fold(name, "possible duplicate"))
        out.append(self._body)
        return b"".join(out)

    def _unsubscribe(self, token: str) -> bytes:
        """List-Unsubscribe is longer than a line: folded once for a token of this length, the
        token put in after. Right because a token of URL-safe characters holds no place where the
        folding may break a line (``Header`` splits only at spaces, commas and semicolons), and the
        stand-in is a character found nowhere else in the header (so only the token is replaced)."""
        if not _TOKEN.fullmatch(token):
            return _WIRE.fold_binary("List-Unsubscribe", unsubscribe_header(self.settings, token))
        if len(token) not in self._unsub_folded:
            around = unsubscribe_header(self.settings, "")
            char = next((c for c in _TOKEN_CHARS if c not in around), "")
            folded = b""
            if char:  # else (every URL-safe character in the configured addresses) fold each one
                folded = _WIRE.fold_binary("List-Unsubscribe", unsubscribe_header(self.settings, char * len(token)))
            self._unsub_folded[len(token)] = (char.encode("ascii"), folded)
        char_b, folded = self._unsub_folded[len(token)]
        if not folded:
            return _WIRE.fold_binary("List-Unsubscribe", unsubscribe_header(self.settings, token))
        return folded.replace(char_b * len(token), token.encode("ascii"))


_TOKEN_CHARS = "_-" + string.ascii_letters + string.digits
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")
_PLAIN = re.compile(r"[!-~]+(?: [!-~]+)*")  # printable ASCII, single spaces between words


def _fold(name: str, value: str) -> bytes:
    """``fold_binary`` of the generator, without its cost for a value that fits on its line as it is."""
    if len(name) + 2 + len(value) <= 78 and _PLAIN.fullmatch(value):
        return f"{name}: {value}\r\n".encode("ascii")
    return _WIRE.fold_binary(name, value)
