"""The three statements of the sending loop, as SQL the driver runs without SQLAlchemy compiling it.

While an alert goes out the writer commits every few milliseconds, each commit marking the next
rows "on the wire" and storing the acks of the last ones. Measured on a 2-core host with the
Core statements (bound parameters, compiled cache hit): ~200 us of Python per statement, of which
SQLite's own work is ~40 us, so the writer thread alone used ~400 us of CPU per SMS and the
sender, one GIL for the writer and the wire, fell to 1,400 msg/s where the bare windowed loop
reaches 2,200 (issue 8). Driver SQL through ``Connection.exec_driver_sql`` keeps SQLAlchemy's
connection handling (a dropped PostgreSQL connection still invalidates the pool's connection and
comes back as the DBAPIError the writer retries) and skips the compiling and parameter processing.

Each statement here is the twin of the Core statement it replaces in ``outbox``; the tests run
both dialects (``tests/test_outbox_hot.py`` compares them row by row). Datetimes go through the
column type's own bind processor, so the stored text on SQLite is what SQLAlchemy would write.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from bin_console.data.tables import DELIVERY

# every update of a claimed row requires it to be still the caller's (outbox module doc)
_MINE = "(claimed_by = {p} AND state = 'submitting')"


class OrphanRow(NamedTuple):
    id: int
    message_id: str
    alt_ids: str
    stat: str
    err: str | None
    raw: str


class HotSql:
    """The statements for one dialect: its parameter marker and how it stores a datetime."""

    def __init__(self, dialect: Dialect) -> None:
        self.p = "?" if dialect.paramstyle == "qmark" else "%s"
        processor = DELIVERY.c.updated_at.type.dialect_impl(dialect).bind_processor(dialect)
        self._time: Callable[[datetime], Any] = processor or (lambda value: value)
        self._false = "0" if dialect.name == "sqlite" else "false"

    def time(self, value: datetime) -> Any:
        return self._time(value)

    def _in(self, n: int) -> str:
        return ", ".join([self.p] * n)

    @functools.lru_cache(maxsize=64)  # noqa: B019 - one HotSql per dialect, kept for the process
    def mark_on_wire(self, n: int) -> str:
        p = self.p
        return (
            f"UPDATE delivery SET submitted_at = COALESCE(submitted_at, {p}), updated_at = {p} "
            f"WHERE id IN ({self._in(n)}) AND {_MINE.format(p=p)} RETURNING id"
        )

    @functools.lru_cache(maxsize=64)  # noqa: B019
    def single_part_acks(self, n: int) -> str:
        """parts_acked for every row, the state change only where the row is still the owner's
        (SET expressions see the row as it was: the old owner). Parameters: now, then the owner
        and a value for each CASE, then the ids."""
        p = self.p
        mine = _MINE.format(p=p)
        cases = ", ".join(
            f"{column} = CASE WHEN {mine} THEN {value} ELSE {column} END"
            for column, value in (
                ("state", "'submitted'"),
                ("submitted_at", p),
                ("claimed_by", "NULL"),
                ("lease_until", "NULL"),
                ("next_attempt_at", "NULL"),
                ("error", "NULL"),
                ("error_code", "NULL"),
            )
        )
        return (
            f"UPDATE delivery SET parts_acked = 1, updated_at = {p}, {cases} "
            f"WHERE id IN ({self._in(n)}) AND parts_total <= 1"
        )

    def single_part_ack_params(self, owner: str, now: Any, ids: Sequence[int]) -> tuple:
        # updated_at; then per CASE the owner (and the value where it is a parameter)
        return (now, owner, owner, now, owner, owner, owner, owner, owner, *ids)

    @functools.cached_property
    def part_rows(self) -> str:
        p = self.p
        return (
            "INSERT INTO delivery_part (delivery_id, part_no, message_id, message_id_raw, state, submitted_at) "
            f"VALUES ({p}, {p}, {p}, {p}, 'submitted', {p}) ON CONFLICT (delivery_id, part_no) DO NOTHING"
        )

    @functools.lru_cache(maxsize=64)  # noqa: B019
    def orphans_by_id(self, n: int) -> str:
        return (
            "SELECT id, message_id, alt_ids, stat, err, raw FROM receipt_orphan "
            f"WHERE message_id IN ({self._in(n)}) AND resolved = {self._false}"
        )


_BY_DIALECT: dict[tuple[str, str], HotSql] = {}  # one per dialect kind, not per engine


def hot(s: Session) -> HotSql:
    """The statements for the session's dialect."""
    dialect = s.get_bind().dialect
    key = (dialect.name, dialect.paramstyle)
    found = _BY_DIALECT.get(key)
    if found is None:  # two threads may both build it: the same statements, either one is kept
        found = _BY_DIALECT.setdefault(key, HotSql(dialect))
    return found


def run(s: Session, sql: str, params: Sequence[Any]) -> Any:
    """One execution on the session's own connection (inside its transaction)."""
    return s.connection().exec_driver_sql(sql, tuple(params))


def run_many(s: Session, sql: str, rows: list[tuple]) -> Any:
    """One executemany (a row of parameters each) on the session's own connection."""
    return s.connection().exec_driver_sql(sql, rows)
