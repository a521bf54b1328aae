"""Search: the matched street's postcode, Z-BIN kind terms, a change log for in-memory matchers, and
covering member indexes for the member list filters.

search_term.postcode lets a hit say which postcode its street is in; search_index_change lists every
network whose terms were rewritten, so each process's fuzzy matcher reloads only those. The terms of
every network are rebuilt here (same transaction), which fills the postcodes and the kind terms.
ix_member_network_name / ix_member_network_street gain the sort key and status, so the member list's
name, street and status filters read the index alone (data/members.py); ix_search_term_term gains
weight and is_start, so a broad search prefix is scored from the index alone (data/networks.py).

The data step is self-contained: it holds its own copy of the folding (data/keys.py) and of the term
rules (data/search_index.py) as they were at this revision, and writes through plain table constructs,
so a later change to search_term, to the models or to those modules cannot break the upgrade of an old
database. A later revision that changes what the index holds rebuilds it in its own data step.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("search_term") as batch:
        batch.add_column(
            sa.Column("postcode", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False, server_default="")
        )
    op.create_table(
        "search_index_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_index_change")),
        sqlite_autoincrement=True,
    )
    _member_indexes(
        name=["network_id", "name_key", "id", "status"],
        street=["network_id", "street_key", "name_key", "id", "status"],
    )
    _term_index(["term", "network_id", "weight", "is_start"])
    _rebuild_terms(op.get_bind())


# --- the data step, frozen at this revision (see the module doc) ---------------------------------

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_SAINTS = {"sint": "st", "saint": "st", "sainte": "ste", "sankt": "st", "st": "st", "ste": "ste"}
_WEIGHTS = {"name": 40, "kind": 35, "street": 30, "municipality": 20, "postcode": 10}
_KIND_TEXTS = {"ZBIN": ("Z-BIN", "ZBIN", "BIN-Z")}
_KIND_LABELS = {"ZBIN": "Z-BIN"}

_network = sa.table("network", sa.column("id"), sa.column("name"), sa.column("kind"), sa.column("municipality"))
_street = sa.table(
    "network_street", sa.column("network_id"), sa.column("street"), sa.column("postcode"), sa.column("municipality")
)
_term = sa.table(
    "search_term",
    sa.column("term"),
    sa.column("network_id"),
    sa.column("field"),
    sa.column("weight"),
    sa.column("is_start", sa.Boolean()),
    sa.column("label"),
    sa.column("postcode"),
)
_change = sa.table("search_index_change", sa.column("network_id"))


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text or "")
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    ascii_only = ascii_only.replace("ß", "ss").replace("æ", "ae").replace("œ", "oe").replace("ø", "o")
    return _NON_ALNUM.sub(" ", ascii_only.lower()).strip()


def _terms_with_start(text: str) -> dict[str, bool]:
    """Word-start suffixes of the folded and the saint-contracted form; True for the whole text."""
    f = _fold(text)
    contracted = " ".join(_SAINTS.get(w, w) for w in f.split(" ")) if f else f
    out: dict[str, bool] = {}
    for form in dict.fromkeys((f, contracted)):
        words = form.split(" ") if form else []
        for i in range(len(words)):
            term = " ".join(words[i:])
            if term:
                out[term] = out.get(term, False) or i == 0
    return out


def _add(rows: list[dict], network_id: int, field: str, text: str, label: str, postcode: str = "") -> None:
    if not text:
        return
    for term, is_start in _terms_with_start(text).items():
        rows.append(
            {
                "term": term[:160],
                "network_id": network_id,
                "field": field,
                "weight": _WEIGHTS[field],
                "is_start": is_start,
                "label": label[:160],
                "postcode": (postcode or "")[:8],
            }
        )


def _rebuild_terms(bind: sa.Connection) -> None:
    """Every network's search terms again: postcodes and the Z-BIN kind terms filled."""
    ids = [r[0] for r in bind.execute(sa.select(_network.c.id).order_by(_network.c.id))]
    if not ids:
        return
    bind.execute(_term.delete())
    rows: list[dict] = []
    for nid, name, kind, municipality in bind.execute(
        sa.select(_network.c.id, _network.c.name, _network.c.kind, _network.c.municipality)
    ):
        _add(rows, nid, "name", name, name)
        for text in _KIND_TEXTS.get(kind, ()):
            _add(rows, nid, "kind", text, _KIND_LABELS[kind])
        _add(rows, nid, "municipality", municipality, municipality)
    for nid, street, postcode, municipality in bind.execute(
        sa.select(_street.c.network_id, _street.c.street, _street.c.postcode, _street.c.municipality)
    ):
        label = f"{street}, {postcode} {municipality}".strip().rstrip(",")
        _add(rows, nid, "street", street, label, postcode)
        if postcode:
            _add(rows, nid, "postcode", postcode, f"{postcode} {municipality}".strip(), postcode)
            _add(rows, nid, "municipality", municipality, municipality)
    unique: dict[tuple, dict] = {}  # one row per (network, term, field)
    for r in rows:
        seen = unique.setdefault((r["network_id"], r["term"], r["field"]), r)
        if r["is_start"] and not seen["is_start"]:
            unique[(r["network_id"], r["term"], r["field"])] = r
    values = list(unique.values())
    for i in range(0, len(values), 5000):
        bind.execute(_term.insert(), values[i : i + 5000])
    bind.execute(_change.insert(), [{"network_id": nid} for nid in ids])


def _member_indexes(*, name: list[str], street: list[str]) -> None:
    op.drop_index("ix_member_network_name", table_name="member")
    op.create_index("ix_member_network_name", "member", name, unique=False)
    op.drop_index("ix_member_network_street", table_name="member")
    op.create_index("ix_member_network_street", "member", street, unique=False)


def _term_index(columns: list[str]) -> None:
    op.drop_index("ix_search_term_term", table_name="search_term")
    op.create_index("ix_search_term_term", "search_term", columns, unique=False)


def downgrade() -> None:
    _term_index(["term", "network_id"])
    _member_indexes(name=["network_id", "name_key", "id"], street=["network_id", "street_key"])
    op.drop_table("search_index_change")
    with op.batch_alter_table("search_term") as batch:
        batch.drop_column("postcode")
