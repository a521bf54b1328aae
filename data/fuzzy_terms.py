"""Forgiving search: the indexed terms in memory, matched with rapidfuzz when the typed prefix finds little.

"kerkstrat" or "Chausee de Namur" share no prefix with any term, so the index range scan in
networks.py finds nothing. Here every distinct folded term of search_term is held in memory once per
process (per database), bucketed by its first character, and scored with rapidfuzz's normalised Indel
similarity (``fuzz.ratio``) against the folded query. Bucketing: a hurried misspelling keeps its first
letter far more often than not, and scoring one letter's terms instead of all of them is what keeps
the fuzzy path within the search's time budget at national size.

Freshness without a scan per keystroke: every rebuild_terms call appends the networks it rewrote to
search_index_change. Before matching, one indexed read of ``max(id)`` says whether anything changed
since this process last looked; if so only those networks' terms are read again.

Thread-safe: the TUI searches from thread workers; one lock guards loading, updating and matching
(matching one bucket takes well under a millisecond, so contention is not worth a finer scheme).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import NamedTuple

from rapidfuzz import fuzz, process
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from .models import Network, SearchIndexChange, SearchTerm

SCORE_CUTOFF = 80.0  # rapidfuzz ratio, 0..100: "kerkstrat"/"kerkstraat" 95, "kerkstraat"/"molenstraat" 67
MIN_QUERY_CHARS = 4  # shorter typing is still a prefix in progress, not a misspelling
TERM_LIMIT = 12  # best distinct terms taken; each may belong to many networks
# Reloading a few networks' terms is cheaper than reading the whole index again, up to about this many.
INCREMENTAL_MAX_NETWORKS = 200


_LATEST_CHANGE = select(func.max(col(SearchIndexChange.id)))  # built once: it runs on every fuzzy search


class TermEntry(NamedTuple):  # a tuple: tens of thousands are made at load, a dataclass took 3x longer
    network_id: int
    zone_id: int
    field: str
    weight: int
    label: str
    postcode: str


@dataclass(frozen=True)
class FuzzyMatch:
    term: str
    similarity: float  # rapidfuzz ratio, SCORE_CUTOFF..100
    entry: TermEntry


class FuzzyTerms:
    """The candidate set of one database, kept in step through search_index_change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_change: int | None = None  # None: never loaded
        self._entries: dict[str, dict[int, list[TermEntry]]] = {}  # term -> network id -> entries
        self._terms_of: dict[int, set[str]] = {}  # network id -> its terms
        self._buckets: dict[str, list[str]] = {}  # first character -> terms
        self._stale_buckets: set[str] = set()

    @property
    def term_count(self) -> int:
        """Distinct terms held (for the benchmark's report)."""
        return len(self._entries)

    def match(self, session: Session, folded_query: str, *, zone_id: int | None = None) -> list[FuzzyMatch]:
        """The closest indexed terms to a folded query, best first (one entry per term and network)."""
        if len(folded_query) < MIN_QUERY_CHARS:
            return []
        with self._lock:
            self._refresh(session)
            bucket = self._bucket(folded_query[0])
            found = process.extract(
                folded_query, bucket, scorer=fuzz.ratio, score_cutoff=SCORE_CUTOFF, limit=TERM_LIMIT
            )
            out: list[FuzzyMatch] = []
            for term, similarity, _ in found:
                for entries in self._entries[term].values():
                    out.extend(
                        FuzzyMatch(term, similarity, e) for e in entries if zone_id is None or e.zone_id == zone_id
                    )
            return out

    # ------------------------------------------------------------------ upkeep (lock held)
    def _refresh(self, session: Session) -> None:
        latest = session.scalar(_LATEST_CHANGE) or 0
        if self._last_change == latest:
            return
        if self._last_change is None or latest < self._last_change:  # first use, or a recreated database
            self._load(session, latest, None)
            return
        changed = set(
            session.scalars(
                select(col(SearchIndexChange.network_id)).where(
                    col(SearchIndexChange.id) > self._last_change, col(SearchIndexChange.id) <= latest
                )
            )
        )
        self._load(session, latest, changed if len(changed) <= INCREMENTAL_MAX_NETWORKS else None)

    def _load(self, session: Session, latest: int, network_ids: set[int] | None) -> None:
        """Read the terms of these networks (None: all) and replace what memory held for them.

        ``latest`` was read before the terms: a rebuild committed in between is seen again next time,
        never missed.
        """
        stmt = select(
            col(SearchTerm.term),
            col(SearchTerm.network_id),
            col(Network.zone_id),
            col(SearchTerm.field),
            col(SearchTerm.weight),
            col(SearchTerm.label),
            col(SearchTerm.postcode),
        ).join(Network, col(Network.id) == col(SearchTerm.network_id))
        if network_ids is None:
            self._entries, self._terms_of, self._buckets, self._stale_buckets = {}, {}, {}, set()
            rows = list(session.execute(stmt))
        else:
            for nid in network_ids:
                for term in self._terms_of.pop(nid, ()):
                    by_net = self._entries[term]
                    del by_net[nid]
                    if not by_net:
                        del self._entries[term]
                        self._stale_buckets.add(term[0])
            ids = sorted(network_ids)
            rows = []
            for i in range(0, len(ids), 500):
                rows += session.execute(stmt.where(col(SearchTerm.network_id).in_(ids[i : i + 500])))
        entries, terms_of, stale = self._entries, self._terms_of, self._stale_buckets
        for row in rows:
            term, entry = row[0], TermEntry._make(row[1:])
            of_term = entries.get(term)
            if of_term is None:
                entries[term] = of_term = {}
                stale.add(term[0])
            of_term.setdefault(entry.network_id, []).append(entry)
            terms_of.setdefault(entry.network_id, set()).add(term)
        if network_ids is None:
            self._stale_buckets = set()
            for term in self._entries:
                self._buckets.setdefault(term[0], []).append(term)
        self._last_change = latest

    def _bucket(self, first: str) -> list[str]:
        if first in self._stale_buckets:
            self._buckets[first] = [t for t in self._entries if t[0] == first]
            self._stale_buckets.discard(first)
        return self._buckets.get(first, [])


_BY_POOL: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_BY_POOL_LOCK = threading.Lock()


def fuzzy_terms_for(session: Session) -> FuzzyTerms:
    """The process's matcher for the session's database (keyed by the engine's connection pool,
    which a write session's option engine shares with the plain one)."""
    pool = session.get_bind().engine.pool  # a Connection-bound session reaches it through its engine too
    with _BY_POOL_LOCK:
        found = _BY_POOL.get(pool)
        if found is None:
            _BY_POOL[pool] = found = FuzzyTerms()
        return found
