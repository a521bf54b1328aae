"""Helpers for the sender tests: a network with N members, an alert, a runner on a simulator."""

from __future__ import annotations

import time
from collections import Counter

from bin_console.data.keys import fold
from bin_console.data.models import Delivery, Member, Network, PoliceZone
from sqlalchemy import func, select, text

from bin_console.alerts.service import create_alert
from bin_console.channels.smpp.sender import SenderRunner
from bin_console.config import SmppSettings
from bin_console.trust.actor import Actor

ACTOR = Actor(os_user="tester", host="test")


def mobile(i: int) -> str:
    return f"+32470{i:06d}"


def make_network(db, n_members: int, *, name: str = "Test BIN", start: int = 0) -> int:
    """A network with n members (mobiles +32470000000...), bulk-inserted; returns its id."""
    with db.write() as s:
        zone = s.execute(select(PoliceZone).where(PoliceZone.code == "5415")).scalar_one_or_none()
        if zone is None:
            zone = PoliceZone(code="5415", name="Test zone")
            s.add(zone)
            s.flush()
        net = Network(zone_id=zone.id, name=name, name_key=fold(name))
        s.add(net)
        s.flush()
        rows = [
            {"network_id": net.id, "name": f"Lid {i}", "name_key": f"lid {i}", "mobile": mobile(i)}
            for i in range(start, start + n_members)
        ]
        s.execute(Member.__table__.insert(), [{**r, **_member_defaults()} for r in rows])
        return int(net.id)


def _member_defaults() -> dict:
    from bin_console.data.models import utcnow

    now = utcnow()
    return {
        "landline": None,
        "email": None,
        "street": "",
        "street_key": "",
        "house_number": "",
        "postcode": "",
        "municipality": "",
        "language": "nl",
        "role": "member",
        "status": "active",
        "sms_opt_out": False,
        "email_opt_out": False,
        "created_at": now,
        "updated_at": now,
    }


def alert(db, network_id: int, text_: str, **kw) -> int:
    kw.setdefault("training", True)  # the runners below are bound to the training SMSC
    return create_alert(db, network_ids=[network_id], text=text_, actor=ACTOR, **kw)


def smpp_settings(sim, **kw) -> SmppSettings:
    base = dict(
        host="127.0.0.1",
        port=sim.port,
        system_id="bincons",
        window=10,
        max_tps=0.0,
        connect_timeout=2.0,
        response_timeout=3.0,
        enquire_link_interval=5.0,
        enquire_link_timeout=2.0,
        reconnect_max=0.5,
        validity_minutes=60,
        training=True,
    )
    base.update(kw)
    return SmppSettings(**base)


def runner(db, sim, *, password=None, **kw) -> SenderRunner:
    runner_kw = {k: kw.pop(k) for k in list(kw) if k in _RUNNER_KW}
    runner_kw.setdefault("retry_delay_s", 0.2)
    runner_kw.setdefault("poll_interval", 0.1)
    return SenderRunner(db, smpp_settings(sim, **kw), password=password, **runner_kw)


_RUNNER_KW = {
    "account",
    "owner",
    "lease_s",
    "poll_interval",
    "heartbeat_s",
    "config_retry_s",
    "retry_delay_s",
    "max_attempts",
    "claim_batch",
    "resend_bound",
    "drain_timeout",
}


def states(db, alert_id: int | None = None) -> Counter:
    with db.read() as s:
        q = select(Delivery.state, func.count()).group_by(Delivery.state)
        if alert_id is not None:
            q = q.where(Delivery.alert_id == alert_id)
        return Counter(dict(s.execute(q).all()))


def wait_until(pred, timeout: float = 20.0, interval: float = 0.02) -> bool:
    """Poll a condition with a deadline (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return bool(pred())


def open_count(db, alert_id: int | None = None) -> int:
    c = states(db, alert_id)
    return c["queued"] + c["submitting"]


def scalar(db, sql: str, **params):
    with db.read() as s:
        return s.execute(text(sql), params).scalar()


def tx(db, fn, *args, **kw):
    """Run one outbox port function (which takes a Session) in its own transaction."""
    with db.write() as s:
        return fn(s, *args, **kw)
