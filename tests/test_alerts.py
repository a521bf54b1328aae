"""Alerts: fan-out plan, one-transaction outbox write, cancel, progress, history, replies, templates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from bin_console.data.keys import fold
from bin_console.data.models import (
    Alert,
    AlertNetwork,
    AuditEntry,
    Delivery,
    Member,
    MessageTemplate,
    Network,
    PoliceZone,
    Reply,
    SenderStatus,
    utcnow,
)
from sqlalchemy import func, insert, select, update

from bin_console.alerts import service as alerts
from bin_console.trust import audit
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="disp1", ssh_client="10.1.2.3", host="pc-101", login_uid=1001)


def make_network(db, name, *, status="active", sms_sender=None):
    with db.write() as s:
        zone = s.scalar(select(PoliceZone).where(PoliceZone.code == "5415"))
        if zone is None:
            zone = PoliceZone(code="5415", name="Gent")
            s.add(zone)
            s.flush()
        n = Network(zone_id=zone.id, name=name, name_key=fold(name), status=status, sms_sender=sms_sender)
        s.add(n)
        s.flush()
        return n.id


def add_members(db, network_id, rows):
    """rows: dicts of Member fields (name required); bulk insert."""
    now = utcnow()
    data = []
    for r in rows:
        d = {
            "network_id": network_id,
            "name_key": fold(r["name"]),
            "status": "active",
            "sms_opt_out": False,
            "email_opt_out": False,
            "street": "",
            "street_key": "",
            "house_number": "",
            "postcode": "",
            "municipality": "",
            "language": "nl",
            "role": "member",
            "created_at": now,
            "updated_at": now,
        }
        d.update(r)
        data.append(d)
    with db.write() as s:
        s.execute(insert(Member), data)


@pytest.fixture
def two_nets(db):
    a = make_network(db, "Kerkstraat", sms_sender="POLITIE")
    b = make_network(db, "Molenwijk", sms_sender="POLITIE")
    add_members(
        db,
        a,
        [
            {"name": "An", "mobile": "+32470000001", "email": "an@example.be"},
            {"name": "Bert", "mobile": "+32470000002", "sms_opt_out": True, "email": "bert@example.be"},
            {"name": "Chris", "landline": "+3292222222", "email": "chris@example.be"},  # landline only
            {"name": "Dirk", "mobile": "+32470000004", "status": "left"},
            {"name": "Els", "mobile": "+32470000005", "status": "pending"},
            {"name": "Fien", "mobile": "+32470000006", "email_opt_out": True, "email": "fien@example.be"},
        ],
    )
    add_members(
        db,
        b,
        [
            {"name": "An (2)", "mobile": "+32470000001", "email": "an@example.be"},  # in both networks
            {"name": "Gust", "mobile": "+32470000007"},
            {"name": "Bert (2)", "mobile": "+32470000002"},  # opted out in Kerkstraat: STOP means stop
        ],
    )
    return a, b


def test_mask_helpers():
    assert alerts.mask_phone("+32470123456") == "+32 470 •• •• 56"
    assert alerts.mask_phone("+31612345678") == "+31 612 •• •• 78"
    assert alerts.mask_phone("+352621123456").startswith("+352 621 ")
    assert alerts.mask_phone(None) == ""
    assert alerts.mask_email("jan.peeters@example.be") == "j•••@example.be"
    assert "123456" not in alerts.mask_phone("+32470123456")


def test_plan_counts_and_reasons(db, two_nets):
    a, b = two_nets
    p = alerts.plan_alert(db, [a, b], "urgent")
    assert p.channel == "sms"
    assert p.recipients == 3  # An, Fien, Gust
    assert p.skipped_opt_out == 2  # Bert in both networks
    assert p.skipped_no_address == 1  # Chris (landline only)
    assert p.skipped_left == 2  # Dirk left, Els pending
    assert p.skipped_duplicate == 1  # An through Molenwijk
    assert p.per_network == [(a, "Kerkstraat", 2), (b, "Molenwijk", 1)]
    e = alerts.plan_alert(db, [a, b], "normal")
    assert e.channel == "email"
    assert (e.recipients, e.skipped_opt_out, e.skipped_no_address, e.skipped_duplicate) == (3, 1, 2, 1)


def test_create_alert_writes_everything_in_one_go(db, two_nets):
    a, b = two_nets
    aid = alerts.create_alert(db, network_ids=[a, b], text="Inbraak Kerkstraat, let op", actor=ACTOR)
    with db.read() as s:
        alert = s.get(Alert, aid)
        dels = s.scalars(select(Delivery).where(Delivery.alert_id == aid).order_by(Delivery.address)).all()
        nets = s.scalars(select(AlertNetwork.network_id).where(AlertNetwork.alert_id == aid)).all()
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "alert.send"))
    assert [d.address for d in dels] == ["+32470000001", "+32470000006", "+32470000007"]
    assert all(d.state == "queued" and d.channel == "sms" and d.parts_total == 1 for d in dels)
    assert sorted(nets) == sorted([a, b])
    assert alert.recipients == 3 and alert.skipped_duplicate == 1 and alert.skipped_opt_out == 2
    assert alert.encoding == "gsm7" and alert.parts_per_sms == 1
    assert alert.sender == "POLITIE" and alert.created_by == "disp1" and alert.client_addr == "10.1.2.3"
    assert alert.expires_at is not None
    assert timedelta(minutes=59) < alert.expires_at - alert.created_at <= timedelta(minutes=60)
    assert entry.object_ref == f"alert:{aid}" and '"recipients":3' in entry.detail
    assert "+3247" not in entry.detail  # no phone numbers in the audit log
    assert audit.verify(db) == []


def test_delivery_rows_carry_the_shared_values_the_fast_insert_renders_once(db, two_nets):
    """The values every outbox row shares are rendered into the INSERT as literals (SQLite: the
    rows go straight to the driver): they must read back exactly as bound values would."""
    a, b = two_nets
    aid = alerts.create_alert(db, network_ids=[a, b], text="Inbraak Kerkstraat, let op", actor=ACTOR)
    with db.read() as s:
        alert = s.get(Alert, aid)
        dels = s.scalars(select(Delivery).where(Delivery.alert_id == aid)).all()
    assert len(dels) == 3
    for d in dels:
        assert (d.alert_id, d.state, d.attempts, d.possible_duplicate) == (aid, "queued", 0, False)
        assert (d.parts_acked, d.parts_delivered, d.claimed_by, d.submitted_at) == (0, 0, None, None)
        assert d.updated_at == alert.created_at and d.updated_at.tzinfo is not None
        assert d.member_id is not None and d.language == "" and d.channel == "sms"
    assert alerts.open_deliveries(db, aid) == 3
    with db.write() as s:
        s.execute(update(Delivery).where(Delivery.id == dels[0].id).values(state="submitted"))
        s.execute(update(Delivery).where(Delivery.id == dels[1].id).values(state="submitting"))
    assert alerts.open_deliveries(db, aid) == 2


def test_create_alert_long_unicode_text_counts_parts(db, two_nets):
    a, _ = two_nets
    aid = alerts.create_alert(db, network_ids=[a], text="Opgelet ’ " * 20, actor=ACTOR, expires_minutes=5)
    with db.read() as s:
        alert = s.get(Alert, aid)
        parts = set(s.scalars(select(Delivery.parts_total).where(Delivery.alert_id == aid)))
    assert alert.encoding == "ucs2" and alert.parts_per_sms == 3 and parts == {3}
    assert alert.expires_at - alert.created_at <= timedelta(minutes=5)


def test_normal_alert_goes_by_email_without_expiry(db, two_nets):
    a, _ = two_nets
    aid = alerts.create_alert(db, network_ids=[a], text="Preventietip", urgency="normal", actor=ACTOR)
    with db.read() as s:
        alert = s.get(Alert, aid)
        dels = s.scalars(select(Delivery).where(Delivery.alert_id == aid)).all()
    assert alert.expires_at is None
    assert {d.channel for d in dels} == {"email"}
    assert sorted(d.address for d in dels) == ["an@example.be", "bert@example.be", "chris@example.be"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": "   "}, "text is empty"),
        ({"network_ids": []}, "no network"),
        ({"network_ids": [999999]}, "do not exist"),
        ({"urgency": "panic"}, "urgency"),
    ],
)
def test_create_alert_refusals(db, two_nets, kwargs, message):
    a, _ = two_nets
    args = {"network_ids": [a], "text": "x", "actor": ACTOR} | kwargs
    with pytest.raises(ValueError, match=message):
        alerts.create_alert(db, **args)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
        assert s.scalar(select(func.count()).select_from(Delivery)) == 0


def test_inactive_network_and_zero_recipients_refused(db, two_nets):
    a, _ = two_nets
    closed = make_network(db, "Oude wijk", status="suspended")
    with pytest.raises(ValueError, match="inactive network.*Oude wijk"):
        alerts.create_alert(db, network_ids=[a, closed], text="x", actor=ACTOR)
    empty = make_network(db, "Lege straat")
    add_members(db, empty, [{"name": "Zonder gsm", "landline": "+3292222223"}])
    with pytest.raises(ValueError, match="no reachable recipient.*1 without mobile"):
        alerts.create_alert(db, network_ids=[empty], text="x", actor=ACTOR)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_cancel_only_touches_queued_rows(db, two_nets):
    a, b = two_nets
    aid = alerts.create_alert(db, network_ids=[a, b], text="x", actor=ACTOR)
    with db.write() as s:
        first = s.scalars(select(Delivery.id).where(Delivery.alert_id == aid).order_by(Delivery.id)).first()
        s.execute(update(Delivery).where(Delivery.id == first).values(state="submitting"))
    assert alerts.cancel_alert(db, aid, ACTOR) == 2
    assert alerts.cancel_alert(db, aid, ACTOR) == 0
    prog = alerts.alert_progress(db, aid)
    assert prog.counts == {"submitting": 1, "cancelled": 2}
    assert not prog.done
    assert prog.alert.cancelled_by == "disp1"
    with db.read() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.action == "alert.cancel")) == 2


def test_progress_counts_and_failures(db, two_nets):
    a, b = two_nets
    aid = alerts.create_alert(db, network_ids=[a, b], text="x", actor=ACTOR)
    with db.write() as s:
        ids = s.scalars(select(Delivery.id).where(Delivery.alert_id == aid).order_by(Delivery.address)).all()
        s.execute(update(Delivery).where(Delivery.id == ids[0]).values(state="delivered", parts_acked=1))
        s.execute(
            update(Delivery)
            .where(Delivery.id == ids[1])
            .values(state="failed", error="invalid destination (ESME_RINVDSTADR)", error_code=0x0B)
        )
        s.execute(
            update(Delivery)
            .where(Delivery.id == ids[2])
            .values(state="undeliverable", possible_duplicate=True, parts_acked=1)
        )
    p = alerts.alert_progress(db, aid)
    assert p.counts == {"delivered": 1, "failed": 1, "undeliverable": 1}
    assert p.total == 3 and p.done and p.possible_duplicates == 1
    assert (p.parts_total, p.parts_acked) == (3, 2)
    assert sorted(p.network_names) == ["Kerkstraat", "Molenwijk"]
    assert ("Fien", "+32 470 •• •• 06", "failed", "invalid destination (ESME_RINVDSTADR)") in p.failures
    gust = [f for f in p.failures if f[0] == "Gust"][0]
    assert gust[2] == "undeliverable" and "UNDELIV" in gust[3]


def test_history_lists_newest_first_with_outcome(db, two_nets):
    a, b = two_nets
    first = alerts.create_alert(db, network_ids=[a], text="eerste", actor=ACTOR)
    second = alerts.create_alert(db, network_ids=[a, b], text="tweede", actor=ACTOR, template_key="burglary")
    alerts.cancel_alert(db, first, ACTOR)
    rows = alerts.list_alerts(db)
    assert [r.id for r in rows] == [second, first]
    assert rows[0].network_names == ["Kerkstraat", "Molenwijk"] and rows[0].outcome == "sending"
    assert rows[0].who == "disp1@10.1.2.3" and rows[0].template_key == "burglary"
    assert rows[1].outcome == "2 cancelled" and rows[1].counts == {"cancelled": 2}
    assert alerts.list_alerts(db, limit=1, offset=1)[0].id == first
    assert alerts.queue_depth(db) == 3


def test_replies_inbox(db, two_nets):
    a, _ = two_nets
    aid = alerts.create_alert(db, network_ids=[a], text="x", actor=ACTOR)
    with db.write() as s:
        an = s.scalar(select(Member.id).where(Member.name == "An"))
        s.add(Reply(source="+32470000001", member_id=an, alert_id=aid, text="Ik zag iemand [bold]weglopen[/]"))
        s.add(Reply(source="+32499999999", text="STOP", is_opt_out=True))
    rows = alerts.list_replies(db)
    assert len(rows) == 2
    known = [r for r in rows if r.member_id == an][0]
    assert known.member_name == "An" and known.network_name == "Kerkstraat" and known.alert_text == "x"
    assert known.text == "Ik zag iemand [bold]weglopen[/]" and known.masked_source == "+32 470 •• •• 01"
    unknown = [r for r in rows if r.member_id is None][0]
    assert unknown.is_opt_out and unknown.member_name is None
    alerts.mark_reply_handled(db, known.id, ACTOR)
    alerts.mark_reply_handled(db, known.id, ACTOR)  # idempotent, audited once
    left = alerts.list_replies(db, unhandled_only=True)
    assert [r.id for r in left] == [unknown.id]
    handled = [r for r in alerts.list_replies(db) if r.id == known.id][0]
    assert handled.handled and handled.handled_by == "disp1@10.1.2.3"
    with db.read() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.action == "reply.handled")) == 1
    with pytest.raises(ValueError):
        alerts.mark_reply_handled(db, 424242, ACTOR)


def test_templates_render_and_keep_unknown_placeholders(db):
    with db.write() as s:
        s.add(MessageTemplate(key="burglary", language="nl", title="Inbraak", body="Inbraak in {street} om {time}."))
        s.add(MessageTemplate(key="burglary", language="fr", title="Cambriolage", body="Cambriolage {street}."))
        s.add(MessageTemplate(key="all_clear", language="nl", title="Einde", body="Einde alarm."))
    assert [t.key for t in alerts.list_templates(db, "nl")] == ["all_clear", "burglary"]
    assert len(alerts.list_templates(db)) == 3
    out = alerts.render_template(db, "burglary", "nl", {"street": "Kerkstraat {x}"})
    assert out == "Inbraak in Kerkstraat {x} om {time}."
    with pytest.raises(ValueError, match="no 'de' version.*fr, nl"):
        alerts.render_template(db, "burglary", "de", {})
    with pytest.raises(ValueError, match="no template"):
        alerts.render_template(db, "nope", "nl", {})


def test_sender_states(db):
    with db.write() as s:
        s.add(SenderStatus(account="default", state="bound", owner="h:1"))
    assert [(x.account, x.state) for x in alerts.sender_states(db)] == [("default", "bound")]


def test_ten_thousand_members_fan_out(db):
    """Real size: 3 networks, 12,000 member rows with overlaps; the plan and the outbox agree."""
    nets = [make_network(db, f"Wijk {i}") for i in range(3)]
    for k, nid in enumerate(nets):
        rows = []
        for i in range(4000):
            # network k shares the first 500 numbers with the others; every 10th opted out; every 25th left
            num = i if i < 500 else k * 10_000 + i
            rows.append(
                {
                    "name": f"Lid {k}-{i}",
                    "mobile": f"+3247{num:07d}",
                    "sms_opt_out": i % 10 == 9,
                    "status": "left" if i % 25 == 24 else "active",
                }
            )
        add_members(db, nid, rows)
    plan = alerts.plan_alert(db, nets)
    assert plan.recipients + plan.skipped == 12_000
    aid = alerts.create_alert(db, network_ids=nets, text="Grote test", actor=ACTOR)
    with db.read() as s:
        n = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.alert_id == aid))
    assert n == plan.recipients > 9000
    p = alerts.alert_progress(db, aid)
    assert p.counts == {"queued": plan.recipients} and not p.done


def test_failure_inside_the_transaction_leaves_nothing(db, two_nets, monkeypatch):
    """All-or-nothing: if the last step (the audit entry) fails, no alert and no outbox row remain."""
    a, b = two_nets

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(alerts.audit, "append", boom)
    with pytest.raises(RuntimeError):
        alerts.create_alert(db, network_ids=[a, b], text="x", actor=ACTOR)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
        assert s.scalar(select(func.count()).select_from(Delivery)) == 0
        assert s.scalar(select(func.count()).select_from(AlertNetwork)) == 0


def test_email_dedupe_and_opt_out_ignore_case_and_other_networks(db):
    a = make_network(db, "Kerkstraat")
    b = make_network(db, "Molenwijk")
    other = make_network(db, "Stationsbuurt")  # not targeted
    add_members(
        db,
        a,
        [
            {"name": "Jan", "email": "Jan.Peeters@example.be", "mobile": "+32470000001"},
            {"name": "Lies", "email": "lies@example.be", "mobile": "+32470000002"},
            {"name": "Mia", "email": "mia@example.be", "mobile": "+32470000003"},
        ],
    )
    add_members(db, b, [{"name": "Jan (2)", "email": "jan.peeters@example.be"}])
    add_members(
        db,
        other,
        [
            {"name": "Lies (3)", "email": "LIES@example.be", "email_opt_out": True},
            {"name": "Mia (3)", "mobile": "+32470000003", "sms_opt_out": True},  # sent STOP from this row
        ],
    )
    e = alerts.plan_alert(db, [a, b], "normal")
    assert (e.recipients, e.skipped_duplicate, e.skipped_opt_out) == (2, 1, 1)  # Jan once, Mia; Lies opted out
    aid = alerts.create_alert(db, network_ids=[a, b], text="Preventietip", urgency="normal", actor=ACTOR)
    with db.read() as s:
        addrs = sorted(s.scalars(select(Delivery.address).where(Delivery.alert_id == aid)))
    assert addrs == ["Jan.Peeters@example.be", "mia@example.be"]
    p = alerts.plan_alert(db, [a, b], "urgent")
    assert (p.recipients, p.skipped_opt_out) == (2, 1)  # Mia's STOP in a non-targeted network counts


def test_queue_depth_counts_every_channel_by_default_now_e_mail_has_a_sender(db, two_nets):
    a, _ = two_nets
    alerts.create_alert(db, network_ids=[a], text="Preventietip", urgency="normal", actor=ACTOR)
    email = alerts.queue_depth(db, channel="email")
    assert email > 0 and alerts.queue_depth(db, channel="sms") == 0
    assert alerts.queue_depth(db) == email  # the quit guard and status line count e-mail too
    alerts.create_alert(db, network_ids=[a], text="Inbraak", actor=ACTOR)
    assert alerts.queue_depth(db) == email + alerts.queue_depth(db, channel="sms") > email
