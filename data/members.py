"""Member queries: one network's members, paged by keyset on (name_key, id) and filtered.

Keyset paging (not OFFSET) keeps every page equally fast on a 50,000-member network: the next page
starts after the last (name_key, id) shown, through index ix_member_network_name.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, union_all
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


def _text_parts(session: Session, network_id: int, text: str):  # noqa: ANN202
    """A subquery of the ids the typed text matches (ids may repeat), or None when there is no text.

    Name word-start, street prefix, and for a typed number the digits of the mobile/landline. Each
    test first runs on an index that covers it (ix_member_network_name, ix_member_network_street, the
    partial uq_member_network_mobile) to find ids; only the matches are then read for status/name_key.
    """
    f = fold(text)
    if not f:
        return None
    sqlite = session.get_bind().dialect.name == "sqlite"

    def contains(col, needle: str):  # noqa: ANN001, ANN202
        # instr is several times faster than LIKE in SQLite (no per-character case folding)
        return func.instr(col, needle) > 0 if sqlite else col.like(f"%{needle}%")

    def ids(*conds):  # noqa: ANN002, ANN202
        return select(Member.id).where(Member.network_id == network_id, *conds)

    id_parts = [
        ids(contains(" " + Member.name_key, " " + f)),
        ids(Member.street_key >= f, Member.street_key < prefix_upper_bound(f)),
    ]
    if not re.search(r"[A-Za-z]", text):
        d = phone_digits(text)
        if len(d) >= 3:
            id_parts.append(ids(Member.mobile.isnot(None), contains(Member.mobile, d)))
            typed_national = re.match(r"\s*(\+|0)", text) is not None
            if not (typed_national and d.startswith("4")):
                # landlines have no index: scanned only when the typed number can be one (not "04...")
                id_parts.append(ids(Member.landline.isnot(None), contains(Member.landline, d)))
    return union_all(*id_parts).subquery("matched")


def _after(key: tuple[str, int]):  # noqa: ANN202
    return or_(Member.name_key > key[0], and_(Member.name_key == key[0], Member.id > key[1]))


def _before(key: tuple[str, int]):  # noqa: ANN202
    return or_(Member.name_key < key[0], and_(Member.name_key == key[0], Member.id < key[1]))


def _rows_by_id(session: Session, ids: list[int]) -> list[MemberRow]:
    if not ids:
        return []
    found = {r[0]: MemberRow(*r[:13]) for r in session.execute(select(*_COLUMNS).where(Member.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


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
    base = [Member.network_id == network_id]
    if status:
        base.append(Member.status == status)
    matched = _text_parts(session, network_id, text)
    if matched is not None:
        return _page_in_memory(session, matched, base, after=after, before=before, limit=limit)
    total = session.execute(select(func.count()).where(*base)).scalar_one()
    stmt = select(*_COLUMNS).where(*base)
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
    if first_key is None:
        offset = total if after is not None else 0
    elif after is None and before is None:
        offset = 0
    else:
        offset = session.execute(select(func.count()).where(*base, _before(first_key))).scalar_one()
    return MemberPage(rows=rows, total=total, offset=offset, first_key=first_key, last_key=last_key)


def _page_in_memory(session: Session, matched, where: list, *, after, before, limit: int) -> MemberPage:  # noqa: ANN001
    """A typed filter: read the sort keys of the matches (driven by the matched ids, rows looked up by
    id), then page in memory. Plain tuples: sorting SQLAlchemy Row objects is ten times slower."""
    stmt = select(Member.name_key, Member.id).join(matched, Member.id == matched.c.id).where(*where)
    keys = sorted({(k, i) for k, i in session.execute(stmt)})
    if before is not None:
        end = bisect_left(keys, tuple(before))
        start = max(0, end - limit)
    else:
        start = bisect_right(keys, tuple(after)) if after is not None else 0
        end = start + limit
    window = keys[start:end]
    ids = [i for _, i in window]
    found = (
        {r[0]: MemberRow(*r[:13]) for r in session.execute(select(*_COLUMNS).where(Member.id.in_(ids)))} if ids else {}
    )
    return MemberPage(
        rows=[found[i] for i in ids if i in found],
        total=len(keys),
        offset=start,
        first_key=window[0] if window else None,
        last_key=window[-1] if window else None,
    )


def get_member(session: Session, member_id: int) -> Member | None:
    return session.get(Member, member_id)


def network_member_count(session: Session, network_id: int, *, status: str | None = "active") -> int:
    stmt = select(func.count()).where(Member.network_id == network_id)
    if status:
        stmt = stmt.where(Member.status == status)
    return session.execute(stmt).scalar_one()
