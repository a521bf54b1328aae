"""Member queries: one network's members, paged by keyset on (name_key, id) and filtered.

Keyset paging (not OFFSET) keeps every page equally fast on a 50,000-member network: the next page
starts after the last (name_key, id) shown, through index ix_member_network_name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .keys import fold, prefix_upper_bound
from .models import Member


@dataclass(frozen=True)
class MemberRow:
    id: int
    name: str
    mobile: str | None
    landline: str | None
    email: str | None
    street: str
    house_number: str
    postcode: str
    language: str
    role: str
    status: str
    sms_opt_out: bool
    email_opt_out: bool


@dataclass(frozen=True)
class MemberPage:
    rows: list[MemberRow]
    total: int  # members matching the filter
    offset: int  # position of rows[0] among them (0-based)
    first_key: tuple[str, int] | None  # pass as before= for the previous page
    last_key: tuple[str, int] | None  # pass as after= for the next page


_COLUMNS = (
    Member.id,
    Member.name,
    Member.mobile,
    Member.landline,
    Member.email,
    Member.street,
    Member.house_number,
    Member.postcode,
    Member.language,
    Member.role,
    Member.status,
    Member.sms_opt_out,
    Member.email_opt_out,
    Member.name_key,
)


def phone_digits(text: str) -> str:
    """Digits a typed phone fragment should find in an E.164 number ("0475 12" -> "47512")."""
    d = re.sub(r"\D", "", text)
    if d.startswith("00"):
        return d[2:]
    if d.startswith("0"):
        return d[1:]
    return d


def _text_filter(text: str):  # noqa: ANN202
    """Name word-start, street prefix, or (for a typed number) digits of the mobile/landline."""
    f = fold(text)
    if not f:
        return None
    conds = [
        Member.name_key.like(f"{f}%"),
        Member.name_key.like(f"% {f}%"),
        and_(Member.street_key >= f, Member.street_key < prefix_upper_bound(f)),
    ]
    if not re.search(r"[A-Za-z]", text):
        d = phone_digits(text)
        if len(d) >= 3:
            conds += [Member.mobile.like(f"%{d}%"), Member.landline.like(f"%{d}%")]
    return or_(*conds)


def _after(key: tuple[str, int]):  # noqa: ANN202
    return or_(Member.name_key > key[0], and_(Member.name_key == key[0], Member.id > key[1]))


def _before(key: tuple[str, int]):  # noqa: ANN202
    return or_(Member.name_key < key[0], and_(Member.name_key == key[0], Member.id < key[1]))


def page_members(
    session: Session,
    network_id: int,
    *,
    text: str = "",
    status: str | None = None,
    after: tuple[str, int] | None = None,
    before: tuple[str, int] | None = None,
    limit: int = 100,
) -> MemberPage:
    where = [Member.network_id == network_id]
    if status:
        where.append(Member.status == status)
    tf = _text_filter(text)
    if tf is not None:
        where.append(tf)
    stmt = select(*_COLUMNS).where(*where)
    if before is not None:
        stmt = stmt.where(_before(before)).order_by(Member.name_key.desc(), Member.id.desc())
    else:
        if after is not None:
            stmt = stmt.where(_after(after))
        stmt = stmt.order_by(Member.name_key, Member.id)
    raw = list(session.execute(stmt.limit(limit)))
    if before is not None:
        raw.reverse()
    rows = [MemberRow(*r[:13]) for r in raw]
    first_key = (raw[0][13], raw[0][0]) if raw else None
    last_key = (raw[-1][13], raw[-1][0]) if raw else None
    # total and position in one pass over the filtered rows
    if first_key is not None:
        total, offset = session.execute(
            select(func.count(), func.count().filter(_before(first_key))).where(*where)
        ).one()
    else:
        total = session.execute(select(func.count()).where(*where)).scalar_one()
        offset = total if after is not None else 0
    return MemberPage(rows=rows, total=total, offset=offset or 0, first_key=first_key, last_key=last_key)


def get_member(session: Session, member_id: int) -> Member | None:
    return session.get(Member, member_id)


def network_member_count(session: Session, network_id: int, *, status: str | None = "active") -> int:
    stmt = select(func.count()).where(Member.network_id == network_id)
    if status:
        stmt = stmt.where(Member.status == status)
    return session.execute(stmt).scalar_one()
