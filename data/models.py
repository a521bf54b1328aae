"""SQLModel tables: the one schema every part of bin-console shares.

Design rules (see shared notes/reliability.md):
- every datetime is timezone-aware UTC (sqlmodel's UTCDateTime refuses naive values);
- text that people search on has a ``*_key`` twin holding the folded form (lower case, no accents,
  abbreviations contracted) so lookups are index range scans, never table scans;
- an alert and all its delivery rows are written in one transaction before anything is sent;
  the delivery row is the source of truth for what happened to one recipient on one channel.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Column, Index, LargeBinary, MetaData, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Named constraints: Alembic's batch mode on SQLite needs names to alter or drop them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def folded_key(length: int, **column_kw) -> Column:
    """A column holding a folded search key (ASCII a-z, 0-9, space; see data/keys.py).

    Prefix lookups are range scans (key >= q AND key < q || U+FFFF), which are only correct under a
    byte-order collation: on PostgreSQL the column is COLLATE "C" whatever the database's locale.
    """
    return Column(String(length).with_variant(String(length, collation="C"), "postgresql"), nullable=False, **column_kw)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- value sets (stored as plain strings so both SQLite and PostgreSQL read them) -------------

NETWORK_KINDS = ("BIN", "ZBIN")
NETWORK_STATUSES = ("active", "suspended", "closed")
LANGUAGES = ("nl", "fr", "de", "en")
MEMBER_ROLES = ("member", "coordinator", "street_lead")
MEMBER_STATUSES = ("active", "pending", "left")
URGENCIES = ("urgent", "normal")
CHANNELS = ("sms", "email")

# Delivery states. queued -> submitting -> submitted -> delivered | undeliverable | expired | rejected,
# plus failed (permanent SMSC/SMTP error) and cancelled (dispatcher, before it left). A sender still
# has to act on queued and submitting rows (alerts.service._OPEN); submitted waits for a receipt.


# --- directory -----------------------------------------------------------------------------------


class PoliceZone(SQLModel, table=True):
    __tablename__ = "police_zone"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=16, unique=True)  # e.g. "5415" (the federal zone number)
    name: str = Field(max_length=120)


class Network(SQLModel, table=True):
    __tablename__ = "network"
    __table_args__ = (UniqueConstraint("zone_id", "name_key", name="uq_network_zone_name"),)

    id: int | None = Field(default=None, primary_key=True)
    zone_id: int = Field(foreign_key="police_zone.id", index=True)
    name: str = Field(max_length=120)
    name_key: str = Field(sa_column=folded_key(120, index=True))
    kind: str = Field(default="BIN", max_length=8)  # BIN | ZBIN
    municipality: str = Field(default="", max_length=80)
    status: str = Field(default="active", max_length=16)
    charter_signed: date | None = None
    coordinator_name: str = Field(default="", max_length=120)
    coordinator_phone: str | None = Field(default=None, max_length=20)  # E.164
    coordinator_email: str | None = Field(default=None, max_length=254)
    sms_sender: str | None = Field(default=None, max_length=11)  # alphanumeric sender, <= 11 chars
    # default language of its members' alerts (nl|fr|de|en); "" = not known: the console's default applies
    language: str = Field(default="", max_length=2)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class NetworkStreet(SQLModel, table=True):
    """One street (optionally limited to a postcode) that delimits a network.

    A street may belong to several networks; the dispatcher typing the street of an incident
    sees all of them.
    """

    __tablename__ = "network_street"
    __table_args__ = (UniqueConstraint("network_id", "street_key", "postcode", name="uq_network_street"),)

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(foreign_key="network.id", index=True, ondelete="CASCADE")
    street: str = Field(max_length=120)
    street_key: str = Field(sa_column=folded_key(120, index=True))
    postcode: str = Field(default="", max_length=8, index=True)
    municipality: str = Field(default="", max_length=80)


class SearchTerm(SQLModel, table=True):
    """Search index for networks: one row per searchable word-start of a folded text.

    "Sint-Niklaas" yields terms "sint niklaas", "st niklaas", "niklaas"; a typed prefix is then an
    index range scan (term >= q AND term < q || U+FFFF). Rebuilt by the directory service whenever a
    network or its streets change.
    """

    __tablename__ = "search_term"
    # weight and is_start inside: the search scores a broad prefix from this index alone (networks.py)
    __table_args__ = (Index("ix_search_term_term", "term", "network_id", "weight", "is_start"),)

    id: int | None = Field(default=None, primary_key=True)
    term: str = Field(sa_column=folded_key(160))
    network_id: int = Field(foreign_key="network.id", index=True, ondelete="CASCADE")
    field: str = Field(max_length=12)  # name | street | municipality | postcode
    weight: int = 0  # higher ranks first (name > street > municipality > postcode)
    # the term is the whole folded text (its first word onwards), not a later word: ranking needs it
    # per row without re-folding the label (that cost more than the index scan itself)
    is_start: bool = False
    label: str = Field(default="", max_length=160)  # what matched, shown to the dispatcher
    postcode: str = Field(default="", max_length=8)  # of the matched street (or postcode), else ""


class SearchIndexChange(SQLModel, table=True):
    """One row per network whose search terms were rewritten, in the writer's transaction.

    Each process keeps the fuzzy matcher's candidates in memory (data/fuzzy_terms.py) and reads only
    the rows after the last id it saw to reload just those networks: no scan per keystroke, and edits
    made by another console or an import show up. AUTOINCREMENT so SQLite never reuses an id.
    """

    __tablename__ = "search_index_change"
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    network_id: int  # no foreign key: the row must outlive a deleted network (its terms vanish too)


class Member(SQLModel, table=True):
    """A person (or shop, for Z-BIN) in one network. A person in two networks has two rows;
    alert fan-out deduplicates by mobile number / e-mail address."""

    __tablename__ = "member"
    __table_args__ = (
        # status and the sort key inside: the list, the status filter and the name/street filters
        # (data/members.py) read these indexes alone, never the member rows; street_key in the name
        # index tells the name filter which of its members the street prefix matches too
        Index("ix_member_network_name", "network_id", "name_key", "id", "status", "street_key"),
        Index("ix_member_network_street", "network_id", "street_key", "name_key", "id", "status"),
        Index("ix_member_network_status", "network_id", "status"),
        Index("ix_member_mobile", "mobile"),
        Index("ix_member_network_landline", "network_id", "landline"),
        Index(
            "uq_member_network_mobile",
            "network_id",
            "mobile",
            unique=True,
            sqlite_where=Column("mobile").isnot(None),
            postgresql_where=Column("mobile").isnot(None),
        ),
        Index(
            "uq_member_network_email",
            "network_id",
            "email",
            unique=True,
            sqlite_where=Column("email").isnot(None),
            postgresql_where=Column("email").isnot(None),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(foreign_key="network.id", ondelete="CASCADE")
    name: str = Field(max_length=120)
    name_key: str = Field(sa_column=folded_key(120))
    mobile: str | None = Field(default=None, max_length=20)  # E.164, SMS target
    landline: str | None = Field(default=None, max_length=20)  # E.164, never an SMS target
    email: str | None = Field(default=None, max_length=254)
    street: str = Field(default="", max_length=120)
    street_key: str = Field(default="", sa_column=folded_key(120, default=""))
    house_number: str = Field(default="", max_length=12)
    postcode: str = Field(default="", max_length=8)
    municipality: str = Field(default="", max_length=80)
    # "" = not known: an alert then takes the network's language, else the console's (alerts.choose_version).
    # Members stored before this default was "" hold "nl" where none was known; nothing can tell them apart.
    language: str = Field(default="", max_length=2)
    role: str = Field(default="member", max_length=16)
    consent_date: date | None = None
    status: str = Field(default="active", max_length=10)
    sms_opt_out: bool = False
    email_opt_out: bool = False
    opt_out_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class MemberTerm(SQLModel, table=True):
    """Word-start index of member names: one row per later word of a member's folded name.

    "jan van den bossche" yields "van den bossche", "den bossche" and "bossche" (the first word is
    ix_member_network_name's own range scan), so a name filter's later-word test is a range scan
    (term >= q AND term < q || U+FFFF) instead of a scan of the network. name_key, status and
    street_key are copied in so the filter reads this index alone, never the member rows.

    Kept current by database triggers on member (migration 0009), whatever writes the member:
    the console, the importer, the demo, a bulk UPDATE. A migration that recreates the member table
    (SQLite batch mode) drops them and must create them again; tests/test_member_terms.py checks
    they exist at head. No foreign key: a cascade would look rows up by member_id, which no index
    serves; the delete trigger removes them by primary key instead.
    """

    __tablename__ = "member_term"
    __table_args__ = {"sqlite_with_rowid": False}  # the primary key is the table: one b-tree

    network_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    term: str = Field(sa_column=folded_key(120, primary_key=True))
    member_id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    name_key: str = Field(sa_column=folded_key(120))
    status: str = Field(max_length=10)
    street_key: str = Field(sa_column=folded_key(120))


class MessageTemplate(SQLModel, table=True):
    __tablename__ = "message_template"
    __table_args__ = (UniqueConstraint("key", "language", name="uq_template_key_lang"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=40)  # e.g. suspect_foot, burglary, missing_person, all_clear, prevention
    language: str = Field(max_length=2)
    title: str = Field(max_length=80)
    body: str = Field(sa_column=Column(Text, nullable=False))
    urgency: str = Field(default="urgent", max_length=8)


# --- alerts and the outbox -----------------------------------------------------------------------


class Alert(SQLModel, table=True):
    __tablename__ = "alert"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    created_by: str = Field(max_length=64)  # OS user
    client_addr: str | None = Field(default=None, max_length=64)  # SSH client address, if any
    host: str = Field(default="", max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    urgency: str = Field(default="urgent", max_length=8)
    template_key: str | None = Field(default=None, max_length=40)
    expires_at: datetime | None = None  # a part not submitted by then is marked expired, never sent late
    sender: str | None = Field(default=None, max_length=20)  # source_addr used for SMS
    encoding: str = Field(default="gsm7", max_length=8)  # gsm7 | ucs2
    parts_per_sms: int = 1
    recipients: int = 0  # delivery rows written
    skipped_opt_out: int = 0
    skipped_no_address: int = 0  # no mobile (SMS) / no e-mail (e-mail)
    skipped_left: int = 0  # status left / pending
    skipped_duplicate: int = 0  # same address already targeted through another network
    training: bool = False  # sent to the training SMSC
    cancelled_at: datetime | None = None
    cancelled_by: str | None = Field(default=None, max_length=64)
    # a closing message ("all clear") for an earlier alert: it went to that alert's members
    follow_up_of: int | None = Field(default=None, foreign_key="alert.id", index=True, ondelete="SET NULL")
    # the dispatcher said no closing message is due (bin_console/alerts/reminders.py)
    reminder_dismissed_at: datetime | None = None
    reminder_dismissed_by: str | None = Field(default=None, max_length=64)


class AlertText(SQLModel, table=True):
    """One language version of an alert's text; a delivery names the version it gets (Delivery.language).

    An alert with one text for everyone has no rows here (Alert.text is that text). The claim reads the
    few versions of the claimed alerts in one query, so 10,000 recipients cost no join per row."""

    __tablename__ = "alert_text"

    alert_id: int = Field(foreign_key="alert.id", primary_key=True, ondelete="CASCADE")
    language: str = Field(primary_key=True, max_length=2)
    text: str = Field(sa_column=Column(Text, nullable=False))
    encoding: str = Field(default="gsm7", max_length=8)
    parts_per_sms: int = 1


class AlertNetwork(SQLModel, table=True):
    __tablename__ = "alert_network"

    alert_id: int = Field(foreign_key="alert.id", primary_key=True, ondelete="CASCADE")
    network_id: int = Field(foreign_key="network.id", primary_key=True)


class Delivery(SQLModel, table=True):
    """One recipient on one channel of one alert: the outbox row."""

    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel", "address", name="uq_delivery_alert_channel_address"),
        Index("ix_delivery_claim", "channel", "state", "id"),
        Index("ix_delivery_alert_state", "alert_id", "state"),
        # a member's reply is linked to the latest alert its number received
        Index("ix_delivery_address", "address", "alert_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", ondelete="CASCADE")
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True, ondelete="SET NULL")
    channel: str = Field(default="sms", max_length=8)
    # the AlertText version this row sends; "" = Alert.text (one text for everyone)
    language: str = Field(default="", max_length=2)
    address: str = Field(max_length=254)  # E.164 mobile (sms) or e-mail address, snapshot at confirm time
    state: str = Field(default="queued", max_length=16)
    attempts: int = 0
    possible_duplicate: bool = False  # was in flight when a link/process died and was re-sent
    parts_total: int = 1
    parts_acked: int = 0  # parts the SMSC accepted (have a message id)
    parts_delivered: int = 0
    concat_ref: int | None = None  # UDH reference, fixed at first submit so re-sends reuse it
    claimed_by: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = None
    next_attempt_at: datetime | None = None
    error_code: int | None = None  # SMPP command_status / SMTP code
    error: str | None = Field(default=None, max_length=200)  # readable reason
    submitted_at: datetime | None = None
    final_at: datetime | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class DeliveryPart(SQLModel, table=True):
    """One SMS part the SMSC accepted: its message id, and its receipt once it arrives."""

    __tablename__ = "delivery_part"
    __table_args__ = (
        UniqueConstraint("delivery_id", "part_no", name="uq_delivery_part"),
        Index("ix_delivery_part_message_id", "message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="delivery.id", ondelete="CASCADE")
    part_no: int  # 1-based
    message_id: str = Field(max_length=65)  # normalised (see channels/receipts.py)
    message_id_raw: str = Field(default="", max_length=65)
    state: str = Field(default="submitted", max_length=16)  # submitted | delivered | undeliverable | ...
    submitted_at: datetime = Field(default_factory=utcnow)
    receipt_stat: str | None = Field(default=None, max_length=8)
    receipt_err: str | None = Field(default=None, max_length=8)
    receipt_at: datetime | None = None


class ReceiptOrphan(SQLModel, table=True):
    """A delivery receipt whose message id matched no part (yet): kept, re-checked later."""

    __tablename__ = "receipt_orphan"

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(max_length=65, index=True)  # normalised
    alt_ids: str = Field(default="", max_length=200)  # other normalised forms (hex/decimal), space separated
    stat: str = Field(max_length=8)
    err: str | None = Field(default=None, max_length=8)
    raw: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    received_at: datetime = Field(default_factory=utcnow)
    resolved: bool = False


class Reply(SQLModel, table=True):
    """A member's reply (mobile-originated SMS), kept even from unknown numbers."""

    __tablename__ = "reply"

    id: int | None = Field(default=None, primary_key=True)
    received_at: datetime = Field(default_factory=utcnow, index=True)
    # E.164 where it parses, else as received (sms); the From address (email)
    source: str = Field(max_length=254)
    member_id: int | None = Field(default=None, foreign_key="member.id", index=True, ondelete="SET NULL")
    alert_id: int | None = Field(default=None, foreign_key="alert.id", index=True, ondelete="SET NULL")
    text: str = Field(sa_column=Column(Text, nullable=False))
    channel: str = Field(default="sms", max_length=8)  # sms | email
    # e-mail replies: the mail's own Message-ID, so a mailbox read again (new UIDVALIDITY) adds nothing twice
    message_id: str | None = Field(default=None, max_length=250, index=True)
    is_opt_out: bool = False
    handled: bool = False
    handled_by: str | None = Field(default=None, max_length=64)
    handled_at: datetime | None = None


class MemberEmailToken(SQLModel, table=True):
    """A member's unsubscribe token (List-Unsubscribe): random, never derived from the address or id."""

    __tablename__ = "member_email_token"

    member_id: int = Field(foreign_key="member.id", primary_key=True, ondelete="CASCADE")
    token: str = Field(max_length=43, unique=True)
    created_at: datetime = Field(default_factory=utcnow)


class ImapState(SQLModel, table=True):
    """The last message read from a Reply-To mailbox, so a restart never reads a reply twice.

    A UID only means something within its UIDVALIDITY: when the server changes that, reading
    starts again from the mailbox's beginning (replies already stored are recognised by Message-ID)."""

    __tablename__ = "imap_state"

    mailbox: str = Field(primary_key=True, max_length=254)  # user@host/MAILBOX
    uidvalidity: int = 0
    last_uid: int = 0
    updated_at: datetime = Field(default_factory=utcnow)


class MoFragment(SQLModel, table=True):
    """One part of a long member reply, stored before it is acknowledged, joined when complete."""

    __tablename__ = "mo_fragment"
    __table_args__ = (UniqueConstraint("source", "ref", "total", "part_no", name="uq_mo_fragment"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=20)
    ref: int
    total: int
    part_no: int
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    data_coding: int = 0
    received_at: datetime = Field(default_factory=utcnow)


class SenderStatus(SQLModel, table=True):
    """Heartbeat of each sender (embedded or ``bin-console sender``), read by every console's status line."""

    __tablename__ = "sender_status"

    account: str = Field(primary_key=True, max_length=64)
    state: str = Field(default="stopped", max_length=16)  # bound|connecting|reconnecting|throttled|config_error|stopped
    detail: str = Field(default="", max_length=200)
    training: bool = False
    owner: str = Field(default="", max_length=120)  # the sender's owner id (outbox.new_owner_id)
    # parts/s the flow control settled on (ESME_RTHROTTLED answers lower it); None: not measured
    rate_tps: float | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class AuditEntry(SQLModel, table=True):
    """Append-only, hash-chained record of who did what (see bin_console/trust/audit.py)."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    ts: datetime = Field(default_factory=utcnow, index=True)
    os_user: str = Field(max_length=64)
    login_uid: int | None = None
    ssh_client: str | None = Field(default=None, max_length=64)
    host: str = Field(default="", max_length=64)
    action: str = Field(max_length=40, index=True)  # alert.send, member.update, member.opt_out, ...
    object_ref: str = Field(default="", max_length=80)
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(default="", max_length=64)
