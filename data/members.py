"""Member queries: one network's members, paged by keyset on (name_key, id) and filtered.

Keyset paging (not OFFSET) keeps every page equally fast on a 50,000-member network: the next page
starts after the last (name_key, id) shown, through index ix_member_network_name.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, tuple_, union_all
from sqlalchemy.orm import Mapped, Session
from sqlmodel import col

from .keys import fold, prefix_upper_bound
from .models import Member, MemberTerm


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


# Stored members always have an id; SQLModel types the column Optional for rows not yet inserted.
_ID = cast("Mapped[int]", col(Member.id))
# the MemberRow fields then name_key; more columns than select()'s typed overloads take
_COLUMNS: tuple[Any, ...] = (
    _ID,
    col(Member.name),
    col(Member.mobile),
    col(Member.landline),
    col(Member.email),
    col(Member.street),
    col(Member.house_number),
    col(Member.postcode),
    col(Member.language),
    col(Member.role),
    col(Member.status),
    col(Member.sms_opt_out),
    col(Member.email_opt_out),
    col(Member.name_key),
)


def phone_digits(text: str) -> str:
    """Digits a typed phone fragment should find in an E.164 number ("0475 12" -> "47512")."""
    d = re.sub(r"\D", "", text)
    if d.startswith("00"):
        return d[2:]
    if d.startswith("0"):
        return d[1:]
    return d


@dataclass(frozen=True)
class _Filter:
    """What a typed text matches, split by cost: the street prefix can match thousands of members of a
    big network and is counted and paged by the database; the other tests (name word-start, phone
    digits) match fewer and their keys are read into memory."""

    base: list[ColumnElement[bool]]  # network (and status) conditions
    street: ColumnElement[bool]  # street prefix condition
    # (name_key, id) of the members the other tests match; each statement runs on its own index
    few: list[Select[Any]]
    # the same tests as one condition on a member row: street members it matches are counted once
    others: list[ColumnElement[bool]]


def _filter(session: Session, network_id: int, text: str, status: str | None) -> _Filter | None:
    """None when there is no text.

    Name word-start (a prefix of the name or of a later word), street prefix, and for a typed number
    without letters the digits of the mobile/landline (a number is not looked for in names). The name
    and street tests are range scans of covering indexes (status included), so no member row is read
    for them: the first word on ix_member_network_name, a later word on member_term (one row per later
    word, kept by triggers), the street on ix_member_network_street. The phone tests scan the
    mobile/landline indexes and read only the matching rows.
    """
    f = fold(text)
    if not f:
        return None
    sqlite = session.get_bind().dialect.name == "sqlite"

    def contains(column: Mapped[str] | Mapped[str | None], needle: str) -> ColumnElement[bool]:
        # instr is several times faster than LIKE in SQLite (no per-character case folding); the
        # folded needle is a-z, 0-9 and spaces only, so it holds no LIKE wildcard
        return func.instr(column, needle) > 0 if sqlite else column.like(f"%{needle}%")

    def prefix(column: Mapped[str]) -> ColumnElement[bool]:
        return and_(column >= f, column < prefix_upper_bound(f))

    base = [col(Member.network_id) == network_id] + ([col(Member.status) == status] if status else [])
    few: list[Select[Any]] = []
    others: list[ColumnElement[bool]] = []
    if re.search(r"[A-Za-z]", text):
        few.append(select(col(Member.name_key), _ID).where(*base, prefix(col(Member.name_key))))
        later = [col(MemberTerm.network_id) == network_id, prefix(col(MemberTerm.term))]
        if status:
            later.append(col(MemberTerm.status) == status)
        few.append(select(col(MemberTerm.name_key), col(MemberTerm.member_id)).where(*later))
        # evaluated on the street's rows only: ' ' || name_key would build a string per row
        others.append(or_(prefix(col(Member.name_key)), contains(col(Member.name_key), " " + f)))
    else:
        d = phone_digits(text)
        if len(d) >= 3:
            others.append(and_(col(Member.mobile).isnot(None), contains(col(Member.mobile), d)))
            typed_national = re.match(r"\s*(\+|0)", text) is not None
            if not (typed_national and d.startswith("4")):
                # landlines: scanned only when the typed number can be one (not "04...")
                others.append(and_(col(Member.landline).isnot(None), contains(col(Member.landline), d)))
            few = [select(col(Member.name_key), _ID).where(*base, cond) for cond in others]
    return _Filter(base=base, street=prefix(col(Member.street_key)), few=few, others=others)


def _after(key: tuple[str, int]) -> ColumnElement[bool]:
    return or_(col(Member.name_key) > key[0], and_(col(Member.name_key) == key[0], _ID > key[1]))


def _before(key: tuple[str, int]) -> ColumnElement[bool]:
    return or_(col(Member.name_key) < key[0], and_(col(Member.name_key) == key[0], _ID < key[1]))


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
    base = [col(Member.network_id) == network_id]
    if status:
        base.append(col(Member.status) == status)
    flt = _filter(session, network_id, text, status)
    if flt is not None:
        return _page_filtered(session, flt, after=after, before=before, limit=limit)
    total = session.execute(select(func.count()).where(*base)).scalar_one()
    stmt = select(*_COLUMNS).where(*base)
    if before is not None:
        stmt = stmt.where(_before(before)).order_by(col(Member.name_key).desc(), _ID.desc())
    else:
        if after is not None:
            stmt = stmt.where(_after(after))
        stmt = stmt.order_by(col(Member.name_key), _ID)
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


def _page_filtered(
    session: Session, flt: _Filter, *, after: tuple[str, int] | None, before: tuple[str, int] | None, limit: int
) -> MemberPage:
    """A typed filter. The keys matched by the name/phone tests are read (few) and paged in memory;
    the members only the street prefix matches are counted and paged by the database from the
    covering index, and the two are merged. Carrying the keys of every member of a matched street to
    Python (thousands on a big network) cost more than finding them."""
    key = tuple_(col(Member.name_key), _ID)
    if not flt.few:
        few: list[tuple[str, int]] = []
    else:
        stmt = union_all(*flt.few) if len(flt.few) > 1 else flt.few[0]
        few = sorted({(k, i) for k, i in session.execute(stmt)})
    # members of the street that no other test matched: counted once, never twice
    street = [*flt.base, flt.street, *([~or_(*flt.others)] if flt.others else [])]
    street_total = session.execute(select(func.count()).where(*street)).scalar_one()
    total = len(few) + street_total
    if before is not None:
        near = few[max(0, bisect_left(few, tuple(before)) - limit) : bisect_left(few, tuple(before))]
        if street_total:
            stmt = select(col(Member.name_key), _ID).where(*street, key < tuple_(*before))
            near += session.execute(stmt.order_by(col(Member.name_key).desc(), _ID.desc()).limit(limit)).all()
        window = sorted((k, i) for k, i in near)[-limit:]
    else:
        start = bisect_right(few, tuple(after)) if after is not None else 0
        near = few[start : start + limit]
        if street_total:
            stmt = select(col(Member.name_key), _ID).where(*street, *([key > tuple_(*after)] if after else []))
            near += session.execute(stmt.order_by(col(Member.name_key), _ID).limit(limit)).all()
        window = sorted((k, i) for k, i in near)[:limit]
    if not window:
        offset = total if after is not None else 0
    elif after is None and before is None:
        offset = 0
    else:
        first = window[0]
        offset = bisect_left(few, first)
        if street_total:
            offset += session.execute(select(func.count()).where(*street, key < tuple_(*first))).scalar_one()
    ids = [i for _, i in window]
    found = {r[0]: MemberRow(*r[:13]) for r in session.execute(select(*_COLUMNS).where(_ID.in_(ids)))} if ids else {}
    return MemberPage(
        rows=[found[i] for i in ids if i in found],
        total=total,
        offset=offset,
        first_key=window[0] if window else None,
        last_key=window[-1] if window else None,
    )


def get_member(session: Session, member_id: int) -> Member | None:
    return session.get(Member, member_id)


def network_member_count(session: Session, network_id: int, *, status: str | None = "active") -> int:
    stmt = select(func.count()).where(col(Member.network_id) == network_id)
    if status:
        stmt = stmt.where(col(Member.status) == status)
    return session.execute(stmt).scalar_one()
