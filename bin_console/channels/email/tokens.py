"""Members' unsubscribe tokens: the random part of each message's List-Unsubscribe, and its way back."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from bin_console.data.tables import MEMBER_EMAIL_TOKEN

TT = MEMBER_EMAIL_TOKEN
CHUNK = 500  # ids per IN (...) list
# one bound list per query, not one coerced literal per id (a claim of 128 rows asks for 128 tokens)
_IDS: BindParameter[list[int]] = bindparam("b_ids", expanding=True)
_HAVE = select(TT.c.member_id, TT.c.token).where(TT.c.member_id.in_(_IDS))


def tokens_for(s: Session, member_ids: Sequence[int], now: datetime) -> dict[int, str]:
    """Each member's unsubscribe token, made on first need: 32 random bytes, never guessable."""
    have: dict[int, str] = {}
    for i in range(0, len(member_ids), CHUNK):
        have.update(s.execute(_HAVE, {"b_ids": list(member_ids[i : i + CHUNK])}).all())
    missing = [m for m in member_ids if m not in have]
    if missing:
        dialect = pg_dialect if s.get_bind().dialect.name == "postgresql" else sqlite_dialect
        # two senders may make one member's token at once: the first one stored wins
        s.execute(
            dialect.insert(TT).on_conflict_do_nothing(index_elements=["member_id"]),
            [{"member_id": m, "token": secrets.token_urlsafe(32), "created_at": now} for m in missing],
        )
        for i in range(0, len(missing), CHUNK):
            have.update(s.execute(_HAVE, {"b_ids": missing[i : i + CHUNK]}).all())
    return have


def member_for_token(s: Session, token: str) -> int | None:
    return s.execute(select(TT.c.member_id).where(TT.c.token == token)).scalar()


def token_of_member(s: Session, member_id: int) -> str | None:
    return s.execute(select(TT.c.token).where(TT.c.member_id == member_id)).scalar()
