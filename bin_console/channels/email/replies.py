"""A member's reply by e-mail -> a Reply row in the same inbox as SMS replies; unsubscribe mails honoured.

Linking: the delivery's Message-ID in In-Reply-To/References names the alert and the member; a mail
without it is linked by its From address to the latest e-mail alert that address received. An
unsubscribe (the List-Unsubscribe mailto with the member's token, or STOP / UITSCHRIJVEN /
DÉSINSCRIRE as first word of the subject or the text) opts the address out of e-mail, audited.
Everything in a mail is untrusted: stored as text (NUL removed), shown through textsafe.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr

from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from bin_console import audit
from bin_console.actor import Actor
from bin_console.channels.email.message import UNSUBSCRIBE_WORD, parse_message_id
from bin_console.channels.email.tokens import member_for_token
from bin_console.data.keys import fold
from bin_console.data.models import Delivery, Member, Reply

TEXT_MAX = 4000  # a reply is a few lines; a long quoted thread is cut, not stored whole
# folded first words (data.keys.fold: lower case, no accents)
STOP_WORDS = frozenset({"stop", "stopp", "arret", "uitschrijven", "desinscrire", "desinscription", "unsubscribe"})


def reply_text(msg: EmailMessage) -> str:
    """The plain-text body without the quoted alert below it; the subject when there is no text part."""
    body = msg.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    kept = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(">"):
            break  # the quoted original: the dispatcher has it as the linked alert
        kept.append(line)
    text = "\n".join(kept).strip() or str(msg.get("Subject", ""))
    return text.replace("\x00", "")[:TEXT_MAX]


def _first_word_is_stop(text: str) -> bool:
    words = fold(text).split()
    return bool(words) and words[0] in STOP_WORDS


def _token_in_subject(subject: str) -> str | None:
    words = subject.split()
    for i, w in enumerate(words[:-1]):
        if w.lower() == UNSUBSCRIBE_WORD:
            return words[i + 1]
    return None


def store_email_reply(s: Session, msg: EmailMessage, now: datetime, actor: Actor) -> int:
    """Store one received mail (idempotent by its Message-ID); returns the reply id."""
    message_id = str(msg.get("Message-ID", "")).strip()[:250] or None
    if message_id is not None:
        seen = s.execute(select(Reply.id).where(Reply.message_id == message_id)).scalar()
        if seen is not None:
            return int(seen)
    sender = parseaddr(str(msg.get("From", "")))[1].strip().lower()
    subject = str(msg.get("Subject", ""))
    text = reply_text(msg)
    alert_id, member_id = _link(s, msg, sender)
    token = _token_in_subject(subject)
    token_member = member_for_token(s, token) if token else None
    opt_out = token_member is not None or _first_word_is_stop(subject) or _first_word_is_stop(text)
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
    if opt_out:
        _opt_out(s, reply.id, sender, token_member, now, actor)
    return int(reply.id)


def _link(s: Session, msg: EmailMessage, sender: str) -> tuple[int | None, int | None]:
    refs = f"{msg.get('In-Reply-To', '')} {msg.get('References', '')}"
    ours = parse_message_id(refs)
    if ours is not None:
        alert_id, delivery_id = ours
        row = s.execute(
            select(Delivery.alert_id, Delivery.member_id).where(
                Delivery.id == delivery_id, Delivery.alert_id == alert_id, Delivery.channel == "email"
            )
        ).first()
        if row is not None:
            return row.alert_id, row.member_id
    if not sender:
        return None, None
    last = s.execute(
        select(Delivery.alert_id, Delivery.member_id)
        .where(func.lower(Delivery.address) == sender, Delivery.channel == "email")
        .order_by(Delivery.alert_id.desc())
        .limit(1)
    ).first()
    if last is not None:
        return last.alert_id, last.member_id
    by_address = select(Member.id).where(func.lower(Member.email) == sender).order_by(Member.id).limit(1)
    return None, s.execute(by_address).scalar()


def _opt_out(s: Session, reply_id: int, sender: str, token_member: int | None, now: datetime, actor: Actor) -> None:
    """Every member row with this address (or the token's member) stops getting e-mail."""
    who = func.lower(Member.email) == sender
    if token_member is not None:
        who = who | (Member.id == token_member)
    members = list(s.execute(select(Member.id).where(who).order_by(Member.id)).scalars())
    if not members:
        return
    s.execute(
        update(Member)
        .where(Member.id.in_(members))
        .values(email_opt_out=True, opt_out_at=case((Member.opt_out_at.is_(None), now), else_=Member.opt_out_at))
        .execution_options(synchronize_session=False)
    )
    audit.append(
        s,
        actor,
        "member.opt_out",
        object_ref=f"reply:{reply_id}",
        detail={"via": "email_reply", "channel": "email", "members": members},
    )
