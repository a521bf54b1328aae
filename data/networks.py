"""Network queries: the dispatcher's search (from the search_term index), lookups and the network summary.

Search answers from index range scans on ``search_term.term`` (``term >= q AND term < q || U+FFFF``),
never from a scan of networks or streets. Ranking, best first:
  - how it matched: exact text > prefix of the whole text > prefix of a later word;
  - which field: name > street > municipality > postcode (``SearchTerm.weight``);
  - ties: more active members first, then name.
Several typed words narrow: every word must match something of the network ("kerk 9100"); a network
whose single field matches the whole phrase ("sint niklaas") ranks above word-by-word matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from .keys import fold, prefix_upper_bound, query_keys
from .models import Alert, AlertNetwork, Member, Network, NetworkStreet, PoliceZone, Reply, SearchTerm

# how it matched (higher is better); combined with SearchTerm.weight (10..40) into one score
EXACT, WHOLE_PREFIX, WORD_PREFIX = 3, 2, 1
_MATCH_LABEL = {EXACT: "exact", WHOLE_PREFIX: "prefix", WORD_PREFIX: "word"}
PHRASE_BONUS = 1000
MAX_QUERY_WORDS = 6


@dataclass(frozen=True)
class NetworkHit:
    network_id: int
    name: str
    kind: str
    municipality: str
    zone_code: str
    status: str
    member_count: int  # active members only
    matched: str  # label of what matched (street with postcode, municipality, ...)
    field: str  # name | street | municipality | postcode
    score: int = 0  # ranking score (higher first); for display and tests


@dataclass
class _Best:
    score: int = -1
    field: str = ""
    label: str = ""

    def offer(self, score: int, field: str, label: str) -> None:
        if score > self.score or (score == self.score and label < self.label):
            self.score, self.field, self.label = score, field, label


def _key_ranges(word: str) -> list[tuple[str, bool]]:
    """(prefix, whole_word_only) pairs to scan for one typed text.

    A typed saint-word is also looked up contracted ("sint" -> "st"), but then only as a whole word:
    "sint" must not find "Stationsstraat" through "st".
    """
    out = []
    for k in query_keys(word):
        contracted_last = k != fold(word) and k.split(" ")[-1] != fold(word).split(" ")[-1]
        out.append((k, contracted_last))
    return out


def _scan(session: Session, text: str, zone_id: int | None) -> dict[int, _Best]:
    """Best match per network for one typed text (a word or the whole phrase)."""
    best: dict[int, _Best] = {}
    for key, whole_word in _key_ranges(text):
        if whole_word:
            cond = or_(
                SearchTerm.term == key,
                and_(SearchTerm.term >= key + " ", SearchTerm.term < prefix_upper_bound(key + " ")),
            )
        else:
            cond = and_(SearchTerm.term >= key, SearchTerm.term < prefix_upper_bound(key))
        stmt = select(
            SearchTerm.network_id,
            SearchTerm.term,
            SearchTerm.field,
            SearchTerm.weight,
            SearchTerm.is_start,
            SearchTerm.label,
        )
        if zone_id is not None:
            stmt = stmt.join(Network, Network.id == SearchTerm.network_id).where(Network.zone_id == zone_id)
        for nid, term, fld, weight, is_start, label in session.execute(stmt.where(cond)):
            score = _match_kind(term, key, is_start) * 100 + weight
            b = best.get(nid)
            if b is None:
                best[nid] = b = _Best()
            b.offer(score, fld, label)
    return best


def _match_kind(term: str, key: str, is_start: bool) -> int:
    """Exact / prefix of the whole text / prefix of a later word.

    A term is the folded text from one of its words to the end, so a start term equal to the typed
    key is the whole text (for a street: the street itself, its label adds postcode and town).
    """
    if not is_start:
        return WORD_PREFIX
    return EXACT if term == key else WHOLE_PREFIX


def search_networks(session: Session, query: str, *, zone_id: int | None = None, limit: int = 50) -> list[NetworkHit]:
    words = fold(query).split()[:MAX_QUERY_WORDS]
    if not words:
        return []
    phrase = " ".join(words)
    scores: dict[int, _Best] = {}
    for nid, b in _scan(session, phrase, zone_id).items():
        scores[nid] = _Best(b.score + (PHRASE_BONUS if len(words) > 1 else 0), b.field, b.label)
    if len(words) > 1:
        per_word = [_scan(session, w, zone_id) for w in words]
        common = set(per_word[0]).intersection(*per_word[1:])
        for nid in common - set(scores):
            matches = [pw[nid] for pw in per_word]
            # "Kerkstraat, 9100 Sint-Niklaas" already says "9100 Sint-Niklaas": show each fact once
            shown = [m for m in matches if not any(m.label in o.label and m.label != o.label for o in matches)]
            top = max(shown, key=lambda b: b.score)
            labels = " + ".join(dict.fromkeys(m.label for m in shown))
            scores[nid] = _Best(sum(m.score for m in matches), top.field, labels)
    if not scores:
        return []
    # Rank before counting members: a broad prefix ("sint") matches a thousand networks, and counting
    # each one's members cost more than the search. Member counts only break ties among the shown.
    ordered = sorted(scores, key=lambda nid: -scores[nid].score)
    if len(ordered) > limit:
        cut = scores[ordered[limit - 1]].score
        ordered = [nid for nid in ordered if scores[nid].score >= cut]
    ids = ordered[: max(limit * 4, limit)]
    rows = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        stmt = (
            select(Network.id, Network.name, Network.kind, Network.municipality, Network.status, PoliceZone.code)
            .join(PoliceZone, PoliceZone.id == Network.zone_id)
            .where(Network.id.in_(chunk))
        )
        rows.update({r[0]: r for r in session.execute(stmt)})
    counts = active_member_counts(session, ids)
    hits = [
        NetworkHit(
            network_id=nid,
            name=r[1],
            kind=r[2],
            municipality=r[3],
            zone_code=r[5],
            status=r[4],
            member_count=counts.get(nid, 0),
            matched=scores[nid].label,
            field=scores[nid].field,
            score=scores[nid].score,
        )
        for nid, r in rows.items()
    ]
    hits.sort(key=lambda h: (-h.score, -h.member_count, fold(h.name), h.network_id))
    return hits[:limit]


def active_member_counts(session: Session, network_ids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for i in range(0, len(network_ids), 500):
        chunk = network_ids[i : i + 500]
        stmt = (
            select(Member.network_id, func.count())
            .where(Member.network_id.in_(chunk), Member.status == "active")
            .group_by(Member.network_id)
        )
        out.update({nid: n for nid, n in session.execute(stmt)})
    return out


def network_language(session: Session, network_id: int) -> str:
    """The language most of the network's active members have ("fr" for a French-speaking network);
    "" when it has none. Networks have no language of their own, and a municipality's language is
    not stored: the members' choice is what the network reads (ties: the alphabetically first)."""
    stmt = (
        select(Member.language, func.count().label("n"))
        .where(Member.network_id == network_id, Member.status == "active", Member.language != "")
        .group_by(Member.language)
        .order_by(func.count().desc(), Member.language)
        .limit(1)
    )
    found = session.execute(stmt).first()
    return found[0] if found else ""


def list_zones(session: Session) -> list[PoliceZone]:
    return list(session.scalars(select(PoliceZone).order_by(PoliceZone.code)))


def get_zone_by_code(session: Session, code: str) -> PoliceZone | None:
    return session.scalars(select(PoliceZone).where(PoliceZone.code == code.strip())).first()


def get_network(session: Session, network_id: int) -> Network | None:
    return session.get(Network, network_id)


def find_network(session: Session, name: str, *, zone_id: int | None = None) -> Network | None:
    """By folded name; None when no network, or several in different zones and no zone given."""
    stmt = select(Network).where(Network.name_key == fold(name))
    if zone_id is not None:
        stmt = stmt.where(Network.zone_id == zone_id)
    found = list(session.scalars(stmt.limit(2)))
    return found[0] if len(found) == 1 else None


def find_networks(session: Session, name: str) -> list[Network]:
    """Every network with this folded name (several zones may use the same name)."""
    return list(session.scalars(select(Network).where(Network.name_key == fold(name)).order_by(Network.zone_id)))


@dataclass
class NetworkSummary:
    network: Network
    zone_code: str
    streets: list[NetworkStreet]
    coordinators: list[Member]
    by_status: dict[str, int]
    sms_reachable: int  # active, mobile, not opted out
    email_reachable: int  # active, e-mail, not opted out
    sms_opted_out: int  # active with a mobile but opted out of SMS
    no_contact: int  # active with neither a usable mobile nor e-mail
    recent_alerts: list[Alert] = field(default_factory=list)
    recent_replies: list[Reply] = field(default_factory=list)


def network_summary(session: Session, network_id: int) -> NetworkSummary:
    net = session.get(Network, network_id)
    if net is None:
        raise LookupError(f"network {network_id} does not exist")
    zone = session.get(PoliceZone, net.zone_id)
    streets = list(
        session.scalars(
            select(NetworkStreet)
            .where(NetworkStreet.network_id == network_id)
            .order_by(NetworkStreet.street_key, NetworkStreet.postcode)
        )
    )
    coordinators = list(
        session.scalars(
            select(Member)
            .where(Member.network_id == network_id, Member.role == "coordinator", Member.status != "left")
            .order_by(Member.name_key, Member.id)
        )
    )
    by_status = {s: 0 for s in ("active", "pending", "left")}
    for st, n in session.execute(
        select(Member.status, func.count()).where(Member.network_id == network_id).group_by(Member.status)
    ):
        by_status[st] = n
    active = and_(Member.network_id == network_id, Member.status == "active")
    has_mobile = Member.mobile.isnot(None)
    has_email = Member.email.isnot(None)
    sms_ok = and_(has_mobile, Member.sms_opt_out.is_(False))
    mail_ok = and_(has_email, Member.email_opt_out.is_(False))
    agg = session.execute(
        select(
            func.count().filter(sms_ok),
            func.count().filter(mail_ok),
            func.count().filter(and_(has_mobile, Member.sms_opt_out.is_(True))),
            func.count().filter(~or_(sms_ok, mail_ok)),
        ).where(active)
    ).one()
    alerts = list(
        session.scalars(
            select(Alert)
            .join(AlertNetwork, AlertNetwork.alert_id == Alert.id)
            .where(AlertNetwork.network_id == network_id)
            .order_by(Alert.created_at.desc(), Alert.id.desc())
            .limit(5)
        )
    )
    replies: list[Reply] = []
    if alerts:
        replies = list(
            session.scalars(
                select(Reply)
                .where(Reply.alert_id.in_([a.id for a in alerts]))
                .order_by(Reply.received_at.desc(), Reply.id.desc())
                .limit(10)
            )
        )
    return NetworkSummary(
        network=net,
        zone_code=zone.code if zone else "",
        streets=streets,
        coordinators=coordinators,
        by_status=by_status,
        sms_reachable=agg[0],
        email_reachable=agg[1],
        sms_opted_out=agg[2],
        no_contact=agg[3],
        recent_alerts=alerts,
        recent_replies=replies,
    )
