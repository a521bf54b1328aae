"""Network queries: the dispatcher's search (from the search_term index), lookups and the network summary.

Search answers from index range scans on ``search_term.term`` (``term >= q AND term < q || U+FFFF``),
never from a scan of networks or streets. Ranking, best first:
  - how it matched: exact text > prefix of the whole text > prefix of a later word;
  - which field: name > kind ("z-bin") > street > municipality > postcode (``col(SearchTerm.weight)``);
  - ties: more active members first, then name.
Several typed words narrow: every word must match something of the network ("kerk 9100"); a network
whose single field matches the whole phrase ("sint niklaas") ranks above word-by-word matches.
When the prefixes find little, the typed text is matched against the indexed terms held in memory
(fuzzy_terms.py): those hits say ``fuzzy=True`` and rank below every prefix hit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, and_, bindparam, case, func, or_, select, true
from sqlalchemy.orm import Session
from sqlmodel import col

from .fuzzy_terms import fuzzy_terms_for
from .keys import fold, prefix_upper_bound, query_keys
from .models import Alert, AlertNetwork, Member, Network, NetworkStreet, PoliceZone, Reply, SearchTerm

# how it matched (higher is better); combined with SearchTerm.weight (10..40) into one score
EXACT, WHOLE_PREFIX, WORD_PREFIX = 3, 2, 1
PHRASE_BONUS = 1000
MAX_QUERY_WORDS = 6
FUZZY_WHEN_FEWER = 3  # prefix hits below which the forgiving path adds its matches (a "weak" result)


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
    field: str  # name | kind | street | municipality | postcode
    score: int = 0  # ranking score (higher first); for display and tests
    postcode: str = ""  # of the matched street or postcode, else ""
    # found by the forgiving path (fuzzy_terms.py), not by a typed prefix; always ranked below prefix hits
    fuzzy: bool = False
    suggestion: str = ""  # for a fuzzy hit: the indexed text it is close to ("did you mean ...")


@dataclass
class _Best:
    score: int = -1
    field: str = ""
    label: str = ""
    postcode: str = ""
    suggestion: str = ""  # fuzzy matches only

    def offer(self, score: int, field: str, label: str, postcode: str = "") -> None:
        if score > self.score or (score == self.score and label < self.label):
            self.score, self.field, self.label, self.postcode = score, field, label, postcode


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


# The search's statements are built once, with the typed key as parameters: building and cache-keying
# SQLAlchemy expressions per keystroke cost a fifth of a search. Parameters: key (the typed folded
# prefix), lo/hi (the range scanned: key, or key + " " for a contracted saint-word), ids, zone.
def _range(whole_word: bool):
    in_range = and_(col(SearchTerm.term) >= bindparam("lo"), col(SearchTerm.term) < bindparam("hi"))
    # a contracted saint-word ("st") matches only as a whole word: the term itself or "st ..."
    return or_(col(SearchTerm.term) == bindparam("key"), in_range) if whole_word else in_range


def _range_params(key: str, whole_word: bool) -> dict[str, object]:
    lo = key + " " if whole_word else key
    return {"key": key, "lo": lo, "hi": prefix_upper_bound(lo)}


_START = col(SearchTerm.is_start) == true()
# How it matched (exact / prefix of the whole text / prefix of a later word) * 100 + field weight.
# A term is the folded text from one of its words to the end, so a start term equal to the typed key
# is the whole text (for a street: the street itself, its label adds postcode and town).
_SCORE = case(
    (and_(_START, col(SearchTerm.term) == bindparam("key")), EXACT * 100),
    (_START, WHOLE_PREFIX * 100),
    else_=WORD_PREFIX * 100,
) + col(SearchTerm.weight)


def _scan_statement(whole_word: bool, zoned: bool, top: bool) -> Select[int, int]:
    best = func.max(_SCORE).label("best")
    stmt = select(col(SearchTerm.network_id), best).where(_range(whole_word))
    if zoned:
        stmt = stmt.join(Network, col(Network.id) == col(SearchTerm.network_id)).where(
            col(Network.zone_id) == bindparam("zone")
        )
    stmt = stmt.group_by(col(SearchTerm.network_id))
    if top:  # the best `top` networks in _candidates' order: a broad prefix sends a hundred rows, not a thousand
        stmt = stmt.order_by(best.desc(), col(SearchTerm.network_id)).limit(bindparam("top"))
    return stmt


_SCAN = {
    (whole_word, zoned, top): _scan_statement(whole_word, zoned, top)
    for whole_word in (False, True)
    for zoned in (False, True)
    for top in (False, True)
}
_LABELS: dict[bool, Select[int, int, str, str, str]] = {
    whole_word: select(
        col(SearchTerm.network_id), _SCORE, col(SearchTerm.field), col(SearchTerm.label), col(SearchTerm.postcode)
    ).where(_range(whole_word), col(SearchTerm.network_id).in_(bindparam("ids", expanding=True)))
    for whole_word in (False, True)
}


def _scan(session: Session, text: str, zone_id: int | None, top: int | None = None) -> dict[int, int]:
    """Best score per network for one typed text (a word or the whole phrase); with ``top``, only the
    networks that can be among _candidates(..., limit=top // 2).

    Aggregated in SQL from the covering index ix_search_term_term: a broad prefix ("sint", "bin")
    matches tens of thousands of terms, and carrying each to Python cost more than the rest of the
    search. Labels are read afterwards for the networks shown only (_labels).

    ``top`` per key range is exact: a network among the best `top` of the merged ranges is among
    the best `top` of the range its best score comes from (every network above it there is above
    it in the merge), so its score is read; one outside them may be read with a lower score from
    another range, which keeps it outside.
    """
    best: dict[int, int] = {}
    for key, whole_word in _key_ranges(text):
        params = _range_params(key, whole_word)
        if zone_id is not None:
            params["zone"] = zone_id
        if top is not None:
            params["top"] = top
        for nid, score in (
            session.connection().execute(_SCAN[whole_word, zone_id is not None, top is not None], params).fetchall()
        ):
            if score > best.get(nid, -1):
                best[nid] = score
    return best


def _labels(session: Session, text: str, network_ids: list[int]) -> dict[int, _Best]:
    """What matched (field, label, postcode of the best term) for these networks and one typed text."""
    best: dict[int, _Best] = {}
    for key, whole_word in _key_ranges(text):
        params = {**_range_params(key, whole_word), "ids": network_ids}
        for nid, score, fld, label, postcode in session.connection().execute(_LABELS[whole_word], params).fetchall():
            b = best.get(nid)
            if b is None:
                best[nid] = b = _Best()
            b.offer(score, fld, label, postcode)
    return best


def search_networks(session: Session, query: str, *, zone_id: int | None = None, limit: int = 50) -> list[NetworkHit]:
    """Ranked networks for what the dispatcher typed; misspellings are caught by the fuzzy path
    (hits with ``fuzzy=True``, ranked after every prefix hit) when the prefixes find fewer than
    FUZZY_WHEN_FEWER networks."""
    words = fold(query).split()[:MAX_QUERY_WORDS]
    if not words:
        return []
    scores = _prefix_scores(session, words, zone_id, limit)
    fuzzy_ids: set[int] = set()
    if len(scores) < FUZZY_WHEN_FEWER:
        for nid, b in _fuzzy_scores(session, " ".join(words), zone_id).items():
            if nid not in scores:
                scores[nid] = b
                fuzzy_ids.add(nid)
    if not scores:
        return []
    return _hits(session, scores, fuzzy_ids, limit)


def suggest_networks(session: Session, name: str, *, zone_id: int | None = None, limit: int = 3) -> list[str]:
    """Names of the networks a mistyped name most likely meant ("Kerkwijk" -> ["BIN Kerkwijk"]), best first."""
    hits = search_networks(session, name, zone_id=zone_id, limit=limit)
    return list(dict.fromkeys(h.name for h in hits))


def _fuzzy_scores(session: Session, phrase: str, zone_id: int | None) -> dict[int, _Best]:
    best: dict[int, _Best] = {}
    for m in fuzzy_terms_for(session).match(session, phrase, zone_id=zone_id):
        # similarity 80..100 plus a field bonus of 1..4: always below a prefix match (>= 110)
        score = int(m.similarity) + m.entry.weight // 10
        b = best.get(m.entry.network_id)
        if b is None:
            best[m.entry.network_id] = b = _Best()
        b.offer(score, m.entry.field, m.entry.label, m.entry.postcode)
    for b in best.values():
        b.suggestion = b.label  # the closest indexed text, as the dispatcher would have typed it
    return best


def _prefix_scores(session: Session, words: list[str], zone_id: int | None, limit: int) -> dict[int, _Best]:
    """Scores of the networks the typed prefixes match, with what matched for those that can be shown."""
    phrase = " ".join(words)
    bonus = PHRASE_BONUS if len(words) > 1 else 0
    # the best 2 * limit phrase matches are all _candidates can take; fewer than limit means all of them
    ranked = {nid: score + bonus for nid, score in _scan(session, phrase, zone_id, top=2 * limit).items()}
    phrase_ids = set(ranked)
    # every word-by-word match ranks below every whole-phrase match (PHRASE_BONUS): when the phrase
    # alone fills the list ("z-bin"), scanning each word ("z", "bin": every network) changes nothing
    if 1 < len(words) and len(phrase_ids) < limit:
        per_word = [_scan(session, w, zone_id) for w in words]
        for nid in set(per_word[0]).intersection(*per_word[1:]) - phrase_ids:
            ranked[nid] = sum(pw[nid] for pw in per_word)
    shown = _candidates(ranked, limit)
    scores: dict[int, _Best] = {}
    from_phrase = [nid for nid in shown if nid in phrase_ids]
    if from_phrase:
        for nid, b in _labels(session, phrase, from_phrase).items():
            scores[nid] = _Best(ranked[nid], b.field, b.label, b.postcode)
    from_words = [nid for nid in shown if nid not in phrase_ids]
    if from_words:
        per_word_labels = [_labels(session, w, from_words) for w in words]
        for nid in from_words:
            matches = [pl[nid] for pl in per_word_labels]
            # "Kerkstraat, 9100 Sint-Niklaas" already says "9100 Sint-Niklaas": show each fact once
            shown_m = [m for m in matches if not any(m.label in o.label and m.label != o.label for o in matches)]
            top = max(shown_m, key=lambda b: b.score)
            labels = " + ".join(dict.fromkeys(m.label for m in shown_m))
            scores[nid] = _Best(ranked[nid], top.field, labels, top.postcode)
    return scores


def _candidates(ranked: dict[int, int], limit: int) -> list[int]:
    """The networks that can be among the `limit` shown: the best scores, and every network tied with
    the last of them (member counts break those ties), at most 2 * limit."""
    ordered = sorted(ranked, key=lambda nid: (-ranked[nid], nid))
    if len(ordered) > limit:
        cut = ranked[ordered[limit - 1]]
        ordered = [nid for nid in ordered if ranked[nid] >= cut]
    return ordered[: limit * 2]


def _hits(session: Session, scores: dict[int, _Best], fuzzy_ids: set[int], limit: int) -> list[NetworkHit]:
    # Rank before counting members: a broad prefix ("sint") matches a thousand networks, and counting
    # each one's members cost more than the search. Member counts only break ties among the shown.
    ids = _candidates({nid: b.score for nid, b in scores.items()}, limit)
    rows = {r[0]: r for r in session.connection().execute(_SHOWN_NETWORKS, {"ids": ids}).fetchall()} if ids else {}
    hits = [
        NetworkHit(
            network_id=nid,
            name=r[1],
            kind=r[2],
            municipality=r[3],
            zone_code=r[5],
            status=r[4],
            member_count=r[7],
            matched=scores[nid].label,
            field=scores[nid].field,
            score=scores[nid].score,
            postcode=scores[nid].postcode,
            fuzzy=nid in fuzzy_ids,
            suggestion=scores[nid].suggestion,
        )
        for nid, r in rows.items()
    ]
    name_key = {nid: r[6] for nid, r in rows.items()}
    hits.sort(key=lambda h: (-h.score, -h.member_count, name_key[h.network_id], h.network_id))
    return hits[:limit]


# The shown networks with their active member counts, in one statement (one count per network, each
# from the covering index ix_member_network_status).
_ACTIVE_MEMBERS = (
    select(func.count())
    .where(col(Member.network_id) == col(Network.id), col(Member.status) == "active")
    .correlate(Network)
    .scalar_subquery()
)
_SHOWN_NETWORKS = (
    select(
        col(Network.id),
        col(Network.name),
        col(Network.kind),
        col(Network.municipality),
        col(Network.status),
        col(PoliceZone.code),
        col(Network.name_key),
        _ACTIVE_MEMBERS,
    )
    .join(PoliceZone, col(PoliceZone.id) == col(Network.zone_id))
    .where(col(Network.id).in_(bindparam("ids", expanding=True)))
)


def network_language(session: Session, network_id: int) -> str:
    """The network's own language (``network.language``, from its import or the coordinator), else the
    language most of its active members have ("fr" for a French-speaking network); "" when neither is
    known (the caller then takes ``console.language``). Ties: the alphabetically first."""
    own = session.scalar(select(col(Network.language)).where(col(Network.id) == network_id))
    if own:
        return own
    stmt = (
        select(col(Member.language), func.count().label("n"))
        .where(col(Member.network_id) == network_id, col(Member.status) == "active", col(Member.language) != "")
        .group_by(col(Member.language))
        .order_by(func.count().desc(), col(Member.language))
        .limit(1)
    )
    found = session.execute(stmt).first()
    return found[0] if found else ""


def list_zones(session: Session) -> list[PoliceZone]:
    return list(session.scalars(select(PoliceZone).order_by(col(PoliceZone.code))))


def get_zone_by_code(session: Session, code: str) -> PoliceZone | None:
    return session.scalars(select(PoliceZone).where(col(PoliceZone.code) == code.strip())).first()


def get_network(session: Session, network_id: int) -> Network | None:
    return session.get(Network, network_id)


def find_network(session: Session, name: str, *, zone_id: int | None = None) -> Network | None:
    """By folded name; None when no network, or several in different zones and no zone given."""
    stmt = select(Network).where(col(Network.name_key) == fold(name))
    if zone_id is not None:
        stmt = stmt.where(col(Network.zone_id) == zone_id)
    found = list(session.scalars(stmt.limit(2)))
    return found[0] if len(found) == 1 else None


def find_networks(session: Session, name: str) -> list[Network]:
    """Every network with this folded name (several zones may use the same name)."""
    return list(
        session.scalars(select(Network).where(col(Network.name_key) == fold(name)).order_by(col(Network.zone_id)))
    )


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
            .where(col(NetworkStreet.network_id) == network_id)
            .order_by(col(NetworkStreet.street_key), col(NetworkStreet.postcode))
        )
    )
    coordinators = list(
        session.scalars(
            select(Member)
            .where(
                col(Member.network_id) == network_id, col(Member.role) == "coordinator", col(Member.status) != "left"
            )
            .order_by(col(Member.name_key), col(Member.id))
        )
    )
    by_status = {s: 0 for s in ("active", "pending", "left")}
    for st, n in session.execute(
        select(col(Member.status), func.count())
        .where(col(Member.network_id) == network_id)
        .group_by(col(Member.status))
    ):
        by_status[st] = n
    active = and_(col(Member.network_id) == network_id, col(Member.status) == "active")
    has_mobile = col(Member.mobile).isnot(None)
    has_email = col(Member.email).isnot(None)
    sms_ok = and_(has_mobile, col(Member.sms_opt_out).is_(False))
    mail_ok = and_(has_email, col(Member.email_opt_out).is_(False))
    agg = session.execute(
        select(
            func.count().filter(sms_ok),
            func.count().filter(mail_ok),
            func.count().filter(and_(has_mobile, col(Member.sms_opt_out).is_(True))),
            func.count().filter(~or_(sms_ok, mail_ok)),
        ).where(active)
    ).one()
    alerts = list(
        session.scalars(
            select(Alert)
            .join(AlertNetwork, col(AlertNetwork.alert_id) == col(Alert.id))
            .where(col(AlertNetwork.network_id) == network_id)
            .order_by(col(Alert.created_at).desc(), col(Alert.id).desc())
            .limit(5)
        )
    )
    replies: list[Reply] = []
    if alerts:
        replies = list(
            session.scalars(
                select(Reply)
                .where(col(Reply.alert_id).in_([a.id for a in alerts]))
                .order_by(col(Reply.received_at).desc(), col(Reply.id).desc())
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
