"""A member's reply by e-mail -> a Reply row in the same inbox as SMS replies; unsubscribe mails honoured.

Linking: the delivery's Message-ID in In-Reply-To/References names the alert and the member; a mail
without it is linked by its From address to the latest e-mail alert that address received. Addresses
are compared with their domain in ASCII (punycode) and in Unicode, so ``jan@xn--caf-dma.be`` and
``jan@café.be`` are one address (directory/validation.py: address_forms).

Unsubscribing: a From address is forgeable, so a mail opts out only
- with the List-Unsubscribe mailto's subject ``unsubscribe <token>``: that member's random token opts
  out that member (and the other member rows with the same address), whoever sent it; or
- with an opt-out word (alerts/optout_words.py: STOP, UITSCHRIJVEN, DÉSINSCRIRE, ...) as the whole
  first word of the subject or the text AND an In-Reply-To/References naming an e-mail delivery to
  that same From address by its Message-ID with the tag nobody can guess (message.message_tag): the
  member rows with that address. Mails sent before the tag existed carry none: a STOP to one of them
  is kept as a reply (the unsubscribe token in its List-Unsubscribe still works). A STOP without it is kept as an
  ordinary reply (the dispatcher reads it and can opt the member out by hand).
Audited. Everything in a mail is untrusted: stored as text (NUL removed), shown through textsafe.
A body in a charset Python does not know is decoded as UTF-8 with replacement characters; a mail that
cannot be stored at all is kept as an "unreadable e-mail" reply with its raw text (store_dead_letter),
like an SMS reply (channels/smpp/deliver_sm.py dead_letter).

Stored once (Message-ID): the check and the insert run under a transaction-scoped advisory lock on
PostgreSQL (SQLite's write lock already serialises writers), so two readers of one mailbox never
both insert the same mail, without a unique index.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from sqlalchemy import case, func, select, text, update
from sqlalchemy.orm import Session
from sqlmodel import col

from bin_console.alerts.optout_words import is_stop
from bin_console.channels.email.message import UNSUBSCRIBE_WORD, message_tag, parse_message_id
from bin_console.channels.email.tokens import member_for_token, token_of_member
from bin_console.data.models import Delivery, Member, Reply
from bin_console.directory.validation import address_forms
from bin_console.trust import audit
from bin_console.trust.actor import Actor

TEXT_MAX = 4000  # a reply is a few lines; a long quoted thread is cut, not stored whole
DEAD_LETTER_MAX = 2000
_REPLY_LOCK = 0x42494E52  # "BINR": pg_advisory_xact_lock key of the Message-ID check-then-insert
_RAW_HEADER = re.compile(rb"^(from|message-id):[ \t]*(.*)$", re.IGNORECASE | re.MULTILINE)


def _content(part: EmailMessage) -> str:
    """A text part's content; a charset Python does not know (LookupError) or a broken one: UTF-8 with
    replacement characters, never an exception (one spam mail must not stop the replies after it)."""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError):
        raw = part.get_payload(decode=True)
        return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else ""
    return content if isinstance(content, str) else ""


def reply_text(msg: EmailMessage) -> str:
    """The plain-text body without the quoted alert below it; the subject when there is no text part."""
    body = msg.get_body(preferencelist=("plain",))
    text = _content(body) if body is not None else ""  # type: ignore[arg-type]  # get_body gives EmailMessage parts
    kept = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(">"):
            break  # the quoted original: the dispatcher has it as the linked alert
        kept.append(line)
    text = "\n".join(kept).strip() or str(msg.get("Subject", ""))
    return text.replace("\x00", "")[:TEXT_MAX]


def _token_in_subject(subject: str) -> str | None:
    words = subject.split()
    for i, w in enumerate(words[:-1]):
        if w.lower() == UNSUBSCRIBE_WORD:
            return words[i + 1]
    return None


def _serialise(s: Session) -> None:
    """Hold the reply lock until the transaction ends (PostgreSQL; SQLite writers are serial already)."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _REPLY_LOCK})


def _stored(s: Session, message_id: str | None) -> int | None:
    if message_id is None:
        return None
    seen = s.execute(select(col(Reply.id)).where(col(Reply.message_id) == message_id).limit(1)).scalar()
    return None if seen is None else int(seen)


def store_email_reply(s: Session, msg: EmailMessage, now: datetime, actor: Actor) -> int:
    """Store one received mail (idempotent by its Message-ID); returns the reply id."""
    message_id = str(msg.get("Message-ID", "")).strip()[:250] or None
    _serialise(s)
    seen = _stored(s, message_id)
    if seen is not None:
        return seen
    forms = address_forms(parseaddr(str(msg.get("From", "")))[1])
    sender = forms[0] if forms else ""
    subject = str(msg.get("Subject", ""))
    text = reply_text(msg)
    ours, ours_proven = _our_delivery(s, msg)
    alert_id, member_id = _link(s, ours, forms)
    token = _token_in_subject(subject)
    token_member = member_for_token(s, token) if token else None
    # a STOP word counts only in answer to a delivery's unguessable Message-ID, from the address that
    # delivery went to (From alone is forgeable, and so were the sequential ids before the tag)
    proven = ours is not None and ours_proven and bool(forms) and ours.address.strip().lower() in forms
    stop_word = is_stop(subject) or is_stop(text)
    opt_out = token_member is not None or (stop_word and proven)
    if token_member is not None:
        member_id = token_member
    reply = Reply(
        received_at=now,
        source=sender[:254] or "(no sender)",
        member_id=member_id,
        alert_id=alert_id,
        text=text,
        channel="email",
        message_id=message_id,
        is_opt_out=opt_out,
    )
    s.add(reply)
    s.flush()
    assert reply.id is not None  # given by the flush
    if opt_out:
        if token_member is not None:
            members = _members_like(s, token_member)
        else:
            members = _members_at(s, address_forms(ours.address) if ours is not None else ())
        _opt_out(s, reply.id, members, now, actor)
    return reply.id


def store_dead_letter(s: Session, raw: bytes, now: datetime, reason: str) -> int:
    """A mail that could not be stored as a reply: kept with a marker and its raw text, so a dispatcher
    still sees it (idempotent by the Message-ID found in the raw headers). Never an opt-out."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    found: dict[str, str] = {}
    for m in _RAW_HEADER.finditer(head):
        found.setdefault(m.group(1).decode("ascii").lower(), m.group(2).decode("utf-8", "replace").strip())
    message_id = found.get("message-id", "")[:250] or None
    _serialise(s)
    seen = _stored(s, message_id)
    if seen is not None:
        return seen
    sender = parseaddr(found.get("from", ""))[1].strip().lower()
    body = raw.decode("utf-8", "replace").replace("\x00", "")
    reply = Reply(
        received_at=now,
        source=sender[:254] or "(no sender)",
        text=f"[unreadable e-mail ({reason}), raw] {body}"[:DEAD_LETTER_MAX],
        channel="email",
        message_id=message_id,
    )
    s.add(reply)
    s.flush()
    assert reply.id is not None
    return reply.id


def _our_delivery(s: Session, msg: EmailMessage) -> tuple[Any, bool]:
    """The e-mail delivery (alert_id, member_id, address) the mail answers, by our Message-ID in
    it, and whether the reference is proven: its tag is the one made with that member's token
    (message.message_tag). An unproven one (no tag: sent before tags; a wrong one: forged) still
    links the reply to its alert in the inbox, but never opts anyone out."""
    refs = f"{msg.get('In-Reply-To', '')} {msg.get('References', '')}"
    ours = parse_message_id(refs)
    if ours is None:
        return None, False
    alert_id, delivery_id, tag = ours
    row = s.execute(
        select(col(Delivery.alert_id), col(Delivery.member_id), col(Delivery.address)).where(
            col(Delivery.id) == delivery_id, col(Delivery.alert_id) == alert_id, col(Delivery.channel) == "email"
        )
    ).first()
    if row is None or not tag or row.member_id is None:
        return row, False
    token = token_of_member(s, row.member_id)
    return row, token is not None and hmac.compare_digest(tag, message_tag(token, alert_id, delivery_id))


def _link(s: Session, ours, forms: tuple[str, ...]) -> tuple[int | None, int | None]:
    if ours is not None:
        return ours.alert_id, ours.member_id
    if not forms:
        return None, None
    last = s.execute(
        select(col(Delivery.alert_id), col(Delivery.member_id))
        .where(func.lower(col(Delivery.address)).in_(forms), col(Delivery.channel) == "email")
        .order_by(col(Delivery.alert_id).desc())
        .limit(1)
    ).first()
    if last is not None:
        return last.alert_id, last.member_id
    by_address = (
        select(col(Member.id)).where(func.lower(col(Member.email)).in_(forms)).order_by(col(Member.id)).limit(1)
    )
    return None, s.execute(by_address).scalar()


def _members_at(s: Session, forms: tuple[str, ...]) -> list[int]:
    if not forms:
        return []
    who = func.lower(col(Member.email)).in_(forms)
    ids = s.execute(select(col(Member.id)).where(who).order_by(col(Member.id))).scalars()
    return [int(i) for i in ids if i is not None]  # stored rows: never None (SQLModel types it Optional)


def _members_like(s: Session, member_id: int) -> list[int]:
    """The token's member and the other member rows with its address (one person in several networks)."""
    email = s.execute(select(col(Member.email)).where(col(Member.id) == member_id)).scalar()
    return sorted({member_id, *_members_at(s, address_forms(email or ""))})


def _opt_out(s: Session, reply_id: int, members: list[int], now: datetime, actor: Actor) -> None:
    """These member rows stop getting e-mail."""
    if not members:
        return
    s.execute(
        update(Member)
        .where(col(Member.id).in_(members))
        .values(
            email_opt_out=True, opt_out_at=case((col(Member.opt_out_at).is_(None), now), else_=col(Member.opt_out_at))
        )
        .execution_options(synchronize_session=False)
    )
    audit.append(
        s,
        actor,
        "member.opt_out",
        object_ref=f"reply:{reply_id}",
        detail={"via": "email_reply", "channel": "email", "members": members},
    )
