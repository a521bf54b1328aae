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
    street_lo: str  # street prefix: street_lo <= street_key < street_hi
    street_hi: str
    # (name_key, id, street_key) of the members the other tests match; each runs on its own index
    few: list[Select[str, int, str]]
    few_in_memory: bool  # read them once (phone scans) rather than count and page them in SQL

    @property
    def street(self) -> ColumnElement[bool]:
        return and_(col(Member.street_key) >= self.street_lo, col(Member.street_key) < self.street_hi)


def _filter(session: Session, network_id: int, text: str, status: str | None) -> _Filter | None:
    """None when there is no text.

    Name word-start (a prefix of the name or of a later word), street prefix, and for a typed number
    without letters the digits of the mobile/landline (a number is not looked for in names). The name
    and street tests are range scans of covering indexes (status and street_key included), so no
    member row is read for them: the first word on ix_member_network_name, a later word on member_term
    (one row per later word, kept current by triggers), the street on ix_member_network_street. The
    phone tests scan the mobile/landline indexes and read only the matching rows.
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
    keys = (col(Member.name_key), _ID, col(Member.street_key))
    few: list[Select[str, int, str]] = []
    if re.search(r"[A-Za-z]", text):
        few.append(select(*keys).where(*base, prefix(col(Member.name_key))))
        # a later word, once per member and only for those the first word does not match: the term
        # row of the first later word that matches (none of the words before it starts with f)
        mt_name, mt_term = col(MemberTerm.name_key), col(MemberTerm.term)
        before_term = func.substr(mt_name, 1, func.length(mt_name) - func.length(mt_term))
        earlier = func.instr(before_term, " " + f) if sqlite else func.strpos(before_term, " " + f)
        later = [col(MemberTerm.network_id) == network_id, prefix(mt_term), ~prefix(mt_name), earlier == 0]
        if status:
            later.append(col(MemberTerm.status) == status)
        few.append(
            select(col(MemberTerm.name_key), col(MemberTerm.member_id), col(MemberTerm.street_key)).where(*later)
        )
    else:
        d = phone_digits(text)
        if len(d) >= 3:
            few.append(select(*keys).where(*base, col(Member.mobile).isnot(None), contains(col(Member.mobile), d)))
            typed_national = re.match(r"\s*(\+|0)", text) is not None
            if not (typed_national and d.startswith("4")):
                # landlines: scanned only when the typed number can be one (not "04...")
                landline = [col(Member.landline).isnot(None), contains(col(Member.landline), d)]
                few.append(select(*keys).where(*base, *landline))
    in_memory = not re.search(r"[A-Za-z]", text)
    return _Filter(base=base, street_lo=f, street_hi=prefix_upper_bound(f), few=few, few_in_memory=in_memory)


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


class _FewInSql:
    """The name tests' members, counted and paged by the database (index range scans, cheap to run
    again): "van" or "an" match thousands, and carrying each to Python cost more than finding them.
    The parts are disjoint and list each member once (see _filter), so no UNION has to sort them."""

    def __init__(self, session: Session, flt: _Filter, limit: int) -> None:
        self.session, self.limit = session, limit
        self.parts = [part.subquery() for part in flt.few]
        self.in_street = [and_(u.c[2] >= flt.street_lo, u.c[2] < flt.street_hi) for u in self.parts]
        self.total = self.both = 0
        for u, in_street in zip(self.parts, self.in_street, strict=True):
            n, n_both = session.execute(select(func.count(), func.count().filter(in_street)).select_from(u)).one()
            self.total, self.both = self.total + n, self.both + n_both

    def page(self, after: tuple[str, int] | None, before: tuple[str, int] | None) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for u in self.parts:
            out += _page_of(self.session, select(u.c[0], u.c[1]), tuple_(u.c[0], u.c[1]), after, before, self.limit)
        return out

    def ahead(self, first: tuple[str, int]) -> int:
        """Members before first that the street part does not count."""
        n = 0
        for u, in_street in zip(self.parts, self.in_street, strict=True):
            k = tuple_(u.c[0], u.c[1]) < tuple_(*first)
            stmt = select(func.count().filter(k), func.count().filter(in_street, k)).select_from(u)
            ahead, ahead_both = self.session.execute(stmt).one()
            n += ahead - ahead_both
        return n


class _FewInMemory:
    """The phone tests' members, read once: each test scans the network's numbers (too dear to run
    again for a count), and few numbers hold the typed digits."""

    def __init__(self, session: Session, flt: _Filter, limit: int) -> None:
        self.limit = limit
        stmt = union_all(*flt.few) if len(flt.few) > 1 else flt.few[0]
        found = {(k, i): sk for k, i, sk in session.connection().execute(stmt).fetchall()}
        self.keys = sorted(found)
        self.in_street = sorted(k for k, sk in found.items() if flt.street_lo <= sk < flt.street_hi)
        self.total, self.both = len(self.keys), len(self.in_street)

    def page(self, after: tuple[str, int] | None, before: tuple[str, int] | None) -> list[tuple[str, int]]:
        if before is not None:
            end = bisect_left(self.keys, before)
            return self.keys[max(0, end - self.limit) : end]
        start = bisect_right(self.keys, after) if after is not None else 0
        return self.keys[start : start + self.limit]

    def ahead(self, first: tuple[str, int]) -> int:
        return bisect_left(self.keys, first) - bisect_left(self.in_street, first)


def _page_of(
    session: Session,
    stmt: Select[str, int],
    key: Any,
    after: tuple[str, int] | None,
    before: tuple[str, int] | None,
    limit: int,
) -> list[tuple[str, int]]:
    """Up to limit (name_key, id) of stmt next to after/before (or the first), from the database."""
    if before is not None:
        stmt = stmt.where(key < tuple_(*before)).order_by(*[c.desc() for c in key.clauses])
    else:
        stmt = (stmt.where(key > tuple_(*after)) if after is not None else stmt).order_by(*key.clauses)
    return [(r[0], r[1]) for r in session.connection().execute(stmt.limit(limit)).fetchall()]


def _page_filtered(
    session: Session, flt: _Filter, *, after: tuple[str, int] | None, before: tuple[str, int] | None, limit: int
) -> MemberPage:
    """A typed filter, in two parts merged here: the members the name/phone tests match (few, from
    their own indexes) and the members of the street prefix (counted and paged by the database from
    the covering street index: thousands on a big network). A member both parts match is counted
    once: the few part knows how many of its members the street prefix holds too (their street_key
    is read with them), and the merged page is a set of (name_key, id)."""
    key = tuple_(col(Member.name_key), _ID)
    street = [*flt.base, flt.street]
    street_total = session.execute(select(func.count()).where(*street)).scalar_one()
    few: _FewInSql | _FewInMemory | None = None
    if flt.few:
        few = _FewInMemory(session, flt, limit) if flt.few_in_memory else _FewInSql(session, flt, limit)
    near: set[tuple[str, int]] = set()
    if few is not None and few.total:
        near.update(few.page(after, before))
    if street_total:
        near.update(_page_of(session, select(col(Member.name_key), _ID).where(*street), key, after, before, limit))
    window = sorted(near)[-limit:] if before is not None else sorted(near)[:limit]
    total = street_total + (few.total - few.both if few is not None else 0)
    if not window:
        offset = total if after is not None else 0
    elif after is None and before is None:
        offset = 0
    else:
        offset = few.ahead(window[0]) if few is not None and few.total else 0
        if street_total:
            offset += session.execute(select(func.count()).where(*street, key < tuple_(*window[0]))).scalar_one()
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
