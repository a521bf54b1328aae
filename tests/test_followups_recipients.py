"""Who a follow-up ("all clear") goes to: the members the original reached or tried to reach, not the
ones whose message was cancelled or expired before it left (alerts/followups.py, module doc)."""

from __future__ import annotations

from bin_console.data.models import Delivery
from sqlalchemy import select, update
from test_alerts import ACTOR, add_members, make_network

from bin_console.alerts import service as alerts


def _original(db, n=3):
    nid = make_network(db, "Kouter")
    add_members(db, nid, [{"name": f"M{i}", "mobile": f"+3247000000{i}"} for i in range(n)])
    return nid, alerts.create_alert(db, network_ids=[nid], text="Inbraak Kouter", actor=ACTOR)


def _set_states(db, alert_id, states):
    """The original's rows (in id order) as the sender and its receipts would have left them."""
    with db.write() as s:
        ids = s.scalars(select(Delivery.id).where(Delivery.alert_id == alert_id).order_by(Delivery.id)).all()
        for did, state in zip(ids, states, strict=True):
            s.execute(update(Delivery).where(Delivery.id == did).values(state=state))


def _follow_up_addresses(db, original):
    vp = alerts.plan_versions(db, alerts.follow_up_networks(db, original), {"": "Alles veilig"}, follow_up_of=original)
    fid = alerts.create_alert(
        db, network_ids=alerts.follow_up_networks(db, original), text="Alles veilig", actor=ACTOR, follow_up_of=original
    )
    with db.read() as s:
        sent = sorted(s.scalars(select(Delivery.address).where(Delivery.alert_id == fid)))
    assert vp.plan.recipients == len(sent)
    return sent


def test_a_follow_up_of_a_cancelled_alert_reaches_nobody_who_never_got_it(db):
    nid, original = _original(db)
    assert alerts.cancel_alert(db, original, ACTOR) == 3  # nothing had left: every row cancelled
    vp = alerts.plan_versions(db, [nid], {"": "Vergeet het vorige bericht"}, follow_up_of=original)
    assert vp.plan.recipients == 0, f"{vp.plan.recipients} members would get an 'all clear' for an alert never sent"
    assert vp.plan.skipped_opt_out == vp.plan.skipped_left == vp.plan.skipped_no_address == 0


def test_cancelled_and_expired_rows_are_left_out_failed_ones_stay(db):
    """delivered and still in flight: they got (or are getting) it. cancelled / expired: never reached the
    phone. failed / undeliverable: the member was meant to get it; the follow-up goes to their current
    address, so it stays (the documented choice)."""
    nid = make_network(db, "Kouter")
    states = ["delivered", "submitted", "cancelled", "expired", "failed", "undeliverable", "queued"]
    add_members(db, nid, [{"name": f"M{i}", "mobile": f"+3247000000{i}"} for i in range(len(states))])
    original = alerts.create_alert(db, network_ids=[nid], text="Inbraak Kouter", actor=ACTOR)
    _set_states(db, original, states)
    sent = _follow_up_addresses(db, original)
    assert sent == ["+32470000000", "+32470000001", "+32470000004", "+32470000005", "+32470000006"]


def test_a_partly_cancelled_alert_is_followed_up_to_those_it_reached(db):
    _, original = _original(db, 4)
    _set_states(db, original, ["delivered", "delivered", "cancelled", "cancelled"])
    assert _follow_up_addresses(db, original) == ["+32470000000", "+32470000001"]
