"""Faults on the link: throttling, drops, unbind, blackhole, bad password, SMSC down past the expiry."""

from __future__ import annotations

from datetime import timedelta

from bin_console.data.models import Alert, Delivery, SenderStatus, utcnow
from sender_helpers import alert, make_network, mobile, open_count, runner, states, wait_until
from sqlalchemy import select, update

from bin_console.trust.credentials import Secret

LONG = "Dringend: verdachte wagen, grijze bestelwagen, nummerplaat begint met 1-ABC, richting E17. " * 2


def _flags(db) -> dict[str, bool]:
    with db.read() as s:
        return dict(s.execute(select(Delivery.address, Delivery.possible_duplicate)).all())


def _check_nothing_lost(db, sim, n: int, text: str) -> None:
    """Every recipient got the full text at least once; every extra copy is on a flagged row."""
    assert states(db).get("queued", 0) + states(db).get("submitting", 0) == 0
    flags = _flags(db)
    assert len(flags) == n
    for i in range(n):
        got = sim.messages_for(mobile(i))
        assert got and set(got) == {text}, (i, got)
        if len(got) > 1:
            assert flags[mobile(i)], f"{mobile(i)} got {len(got)} copies but is not flagged"


def _status(db) -> SenderStatus:
    with db.read() as s:
        return s.get(SenderStatus, "default")


def test_throttling_mid_alert_loses_nothing_and_keeps_order(sqlite_db, smsc_factory):
    sim = smsc_factory()
    net = make_network(sqlite_db, 80)
    alert(sqlite_db, net, LONG)
    r = runner(sqlite_db, sim, window=10)
    r.start()
    try:
        assert sim.wait_for(lambda: len(sim.received) >= 30, 10)
        sim.set_throttle(30)  # mid-alert the SMSC starts refusing above 30 parts/s
        assert wait_until(lambda: sim.throttled > 0, 20)
        # unpaced until then (no max_tps): the status line now shows the rate learnt from the
        # throttles, of the order of the SMSC's 30/s (its burst credit lets some more through)
        assert wait_until(lambda: 1.0 <= (_status(sqlite_db).rate_tps or 0) <= 100.0, 20), _status(sqlite_db)
        assert wait_until(lambda: open_count(sqlite_db) == 0, 60), states(sqlite_db)
    finally:
        r.stop()
    assert r.stats["throttled"] > 0
    _check_nothing_lost(sqlite_db, sim, 80, LONG)
    assert not any(_flags(sqlite_db).values())  # throttling is an answer: nothing ambiguous
    # order kept: a throttled part goes back to the head of the queue, so first parts reach the
    # SMSC in delivery order, give or take what was in the window at the time
    firsts = list(dict.fromkeys(p.dest for p in sim.received if p.short_message[5:6] == b"\x01"))
    ranked = sorted(firsts)
    assert all(abs(i - ranked.index(d)) <= 10 for i, d in enumerate(firsts)), firsts


def test_dropped_link_mid_alert_loses_nothing_duplicates_flagged(sqlite_db, smsc_factory):
    sim = smsc_factory()
    sim.drop_link(drop_after=150)  # the 150th submit is accepted, its resp never comes
    net = make_network(sqlite_db, 300)
    alert(sqlite_db, net, LONG)
    r = runner(sqlite_db, sim, window=10)
    r.start()
    try:
        assert wait_until(lambda: open_count(sqlite_db) == 0, 60), states(sqlite_db)
        assert r.stats["link_losses"] >= 1 and r.stats["binds"] >= 2
    finally:
        r.stop()
    _check_nothing_lost(sqlite_db, sim, 300, LONG)
    flagged = [a for a, f in _flags(sqlite_db).items() if f]
    assert 1 <= len(flagged) <= 10  # at most the window was in flight
    assert states(sqlite_db)["submitted"] + states(sqlite_db)["delivered"] == 300


def test_smsc_unbind_is_answered_and_sending_resumes(sqlite_db, smsc_factory):
    sim = smsc_factory(latency_ms=2)
    net = make_network(sqlite_db, 200)
    r = runner(sqlite_db, sim, window=5, max_tps=400)
    r.start()
    try:
        alert(sqlite_db, net, "Unbind test")
        r.wake()
        assert sim.wait_for(lambda: len(sim.received) >= 40)
        sim.send_unbind()
        assert wait_until(lambda: open_count(sqlite_db) == 0, 30), states(sqlite_db)
        assert r.stats["link_losses"] >= 1 and sim.binds >= 2
    finally:
        r.stop()
    _check_nothing_lost(sqlite_db, sim, 200, "Unbind test")


def _losses(r) -> list[str]:
    """Every "link lost: ..." detail the runner sets, as it sets it. r.detail itself moves on within
    a second (the retry's own connect or bind error): read late on a loaded host, it names that."""
    seen: list[str] = []
    real = r._set_state

    def spy(state, detail="", **kw):
        if detail.startswith("link lost"):
            seen.append(detail)
        return real(state, detail, **kw)

    r._set_state = spy
    return seen


def test_blackholed_link_detected_by_enquire_link_deadline(sqlite_db, smsc_factory):
    sim = smsc_factory()
    r = runner(sqlite_db, sim, enquire_link_interval=0.3, enquire_link_timeout=0.5, connect_timeout=0.5)
    lost = _losses(r)
    r.start()
    try:
        assert wait_until(lambda: r.state == "bound")
        sim.blackhole(True)
        assert wait_until(lambda: r.stats["link_losses"] >= 1, 10)
        assert "enquire_link" in lost[0], lost
        sim.blackhole(False)
        net = make_network(sqlite_db, 3)
        alert(sqlite_db, net, "Terug")
        r.wake()
        assert wait_until(lambda: open_count(sqlite_db) == 0, 20), (r.state, r.detail)
    finally:
        r.stop()


def test_link_blackholed_mid_alert_is_found_by_enquire_link_not_the_response_timeout(sqlite_db, smsc_factory):
    """Parts in flight and the SMSC silent: an enquire_link goes out at once and its deadline
    (0.5 s here) finds the dead link, long before the 30 s submit_sm_resp deadline."""
    sim = smsc_factory(latency_ms=20.0)
    net = make_network(sqlite_db, 300)
    r = runner(
        sqlite_db, sim, response_timeout=30.0, enquire_link_interval=30.0, enquire_link_timeout=0.5, max_tps=100.0
    )
    lost = _losses(r)
    r.start()
    try:
        alert(sqlite_db, net, "Stil")
        r.wake()
        assert sim.wait_for(lambda: len(sim.received) >= 20, 10)
        sim.blackhole(True)
        assert wait_until(lambda: r.stats["link_losses"] >= 1, 10)
        assert "enquire_link" in lost[0], lost
        sim.blackhole(False)
        assert wait_until(lambda: open_count(sqlite_db) == 0, 30), (r.state, r.detail)
    finally:
        r.stop()
    _check_nothing_lost(sqlite_db, sim, 300, "Stil")


def test_no_submit_resp_within_deadline_requeues_flagged(sqlite_db, smsc_factory):
    sim = smsc_factory()
    net = make_network(sqlite_db, 20)
    r = runner(sqlite_db, sim, window=5, response_timeout=0.5, connect_timeout=0.5)
    lost = _losses(r)
    r.start()
    try:
        assert wait_until(lambda: r.state == "bound")
        sim.blackhole(True)
        alert(sqlite_db, net, "Zwart gat")
        r.wake()
        assert wait_until(lambda: r.stats["link_losses"] >= 1, 10)
        assert "submit_sm_resp" in lost[0], lost
        sim.blackhole(False)
        assert wait_until(lambda: open_count(sqlite_db) == 0, 20)
    finally:
        r.stop()
    assert states(sqlite_db)["submitted"] + states(sqlite_db)["delivered"] == 20


def test_wrong_password_is_a_config_error_without_tight_loop(sqlite_db, smsc_factory):
    sim = smsc_factory(system_id="bincons", password="right")
    r = runner(sqlite_db, sim, password=Secret("wrong"), config_retry_s=60.0)
    r.start()
    try:
        assert wait_until(lambda: r.state == "config_error")
        assert "SMSC refused the password for system_id bincons" in r.detail

        def status():
            with sqlite_db.read() as s:
                return s.get(SenderStatus, "default")

        assert wait_until(lambda: status() is not None and status().state == "config_error")
        assert "password" in status().detail  # every console's status line shows why
        assert not wait_until(lambda: r.state != "config_error", 1.0)  # it waits, it does not spin
        assert sim.binds == 0
    finally:
        r.stop()


def test_right_password_binds(sqlite_db, smsc_factory):
    sim = smsc_factory(system_id="bincons", password="right")
    r = runner(sqlite_db, sim, password=Secret("right"))
    r.start()
    try:
        assert wait_until(lambda: r.state == "bound")
    finally:
        r.stop()


def test_smsc_down_longer_than_expiry_rows_expire_never_sent(sqlite_db, smsc_factory):
    sim = smsc_factory()
    port = sim.port
    sim.stop()  # the SMSC is down
    net = make_network(sqlite_db, 10)
    a = alert(sqlite_db, net, "Verlopen")
    with sqlite_db.write() as s:
        s.execute(update(Alert).where(Alert.id == a).values(expires_at=utcnow() + timedelta(seconds=1.0)))
    r = runner(sqlite_db, sim, connect_timeout=0.3)
    r.cfg.port = port
    r.start()
    try:
        assert wait_until(lambda: states(sqlite_db, a).get("expired", 0) == 10, 10), states(sqlite_db, a)
        sim2 = smsc_factory()
        r.cfg.port = sim2.port
        assert wait_until(lambda: r.state == "bound", 10)
        assert not sim2.wait_for(lambda: len(sim2.received) > 0, 0.5)
    finally:
        r.stop()
    with sqlite_db.read() as s:
        errors = set(s.execute(select(Delivery.error).where(Delivery.alert_id == a)).scalars())
    assert errors == {"expired before it could be sent"}


def test_reply_not_stored_is_answered_rx_t_appn_and_redelivered(sqlite_db, smsc, caplog):
    from bin_console.data.models import Reply
    from sqlalchemy import text

    r = runner(sqlite_db, smsc)
    r.start()
    try:
        assert wait_until(lambda: r.state == "bound")
        with sqlite_db.write() as s:  # a real database error: the table is briefly not there
            s.execute(text("ALTER TABLE reply RENAME TO reply_away"))
        smsc.inject_mo("32470000009", "Ik heb iets gezien")
        assert wait_until(lambda: "could not store a reply" in caplog.text, 10)
        assert smsc.mo_acked == 0  # not acknowledged while it is not stored
        with sqlite_db.write() as s:
            s.execute(text("ALTER TABLE reply_away RENAME TO reply"))
        assert smsc.wait_for(lambda: smsc.mo_acked == 1, 10)  # the SMSC redelivered it
        with sqlite_db.read() as s:
            texts = s.execute(select(Reply.text)).scalars().all()
        assert texts == ["Ik heb iets gezien"]
    finally:
        r.stop()
