"""Maintains the network search index (table search_term) from networks and their streets.

Called by every writer that changes a network's name, kind, municipality or streets (directory
service, importer, demo generator), inside the writer's own transaction, so the index never disagrees
with the directory. Each call also appends the rebuilt networks to search_index_change, which is how
every process's in-memory fuzzy matcher (fuzzy_terms.py) learns what to reload.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from .keys import search_terms_with_start
from .models import Network, NetworkStreet, SearchIndexChange, SearchTerm

WEIGHTS = {"name": 40, "kind": 35, "street": 30, "municipality": 20, "postcode": 10}
# What dispatchers type for a Z-BIN (shop network): "z-bin", "zbin", "bin-z". Indexed as whole texts
# of field "kind" so the typed kind matches exactly and those networks rank first.
KIND_TEXTS = {"ZBIN": ("Z-BIN", "ZBIN", "BIN-Z")}
KIND_LABELS = {"ZBIN": "Z-BIN"}


def rebuild_terms(session: Session, network_ids: Iterable[int]) -> int:
    """Replace the index rows of these networks; returns how many rows were written."""
    ids = sorted(set(network_ids))
    if not ids:
        return 0
    rows: list[dict] = []
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        session.execute(delete(SearchTerm).where(col(SearchTerm.network_id).in_(chunk)))
        for nid, name, kind, municipality in session.execute(
            select(col(Network.id), col(Network.name), col(Network.kind), col(Network.municipality)).where(
                col(Network.id).in_(chunk)
            )
        ):
            assert nid is not None  # a stored network
            _add(rows, nid, "name", name, name)
            for text in KIND_TEXTS.get(kind, ()):
                _add(rows, nid, "kind", text, KIND_LABELS[kind])
            _add(rows, nid, "municipality", municipality, municipality)
        for nid, street, postcode, municipality in session.execute(
            select(
                col(NetworkStreet.network_id),
                col(NetworkStreet.street),
                col(NetworkStreet.postcode),
                col(NetworkStreet.municipality),
            ).where(col(NetworkStreet.network_id).in_(chunk))
        ):
            label = f"{street}, {postcode} {municipality}".strip().rstrip(",")
            _add(rows, nid, "street", street, label, postcode)
            if postcode:
                _add(rows, nid, "postcode", postcode, f"{postcode} {municipality}".strip(), postcode)
                _add(rows, nid, "municipality", municipality, municipality)
    # one row per (network, term, field): several streets sharing a postcode give one entry
    unique: dict[tuple, dict] = {}
    for r in rows:
        seen = unique.setdefault((r["network_id"], r["term"], r["field"]), r)
        if r["is_start"] and not seen["is_start"]:  # the same words as a whole text elsewhere
            unique[(r["network_id"], r["term"], r["field"])] = r
    values = list(unique.values())
    for i in range(0, len(values), 5000):
        session.execute(insert(SearchTerm), values[i : i + 5000])
    session.execute(insert(SearchIndexChange), [{"network_id": nid} for nid in ids])
    return len(values)


def _add(rows: list[dict], network_id: int, field: str, text: str, label: str, postcode: str = "") -> None:
    if not text:
        return
    for term, is_start in search_terms_with_start(text).items():
        rows.append(
            {
                "term": term[:160],
                "network_id": network_id,
                "field": field,
                "weight": WEIGHTS[field],
                "is_start": is_start,
                "label": label[:160],
                "postcode": postcode[:8],
            }
        )
