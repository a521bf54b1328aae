"""Review findings on the TUI, each pinned by a keys-only Pilot test: the quit guard while an alert
is being written, blocking calls kept off the event loop, Escape keeping typed text, typed-ahead
`y` in confirmations, one polling screen of each kind, writes that outlive their screen, and
untrusted text in error messages."""

from __future__ import annotations

import threading

from alert_ui_helpers import make_app, seed, settle, wait_for
from bin_console.data.models import Member, PoliceZone
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.confirm import ConfirmActionModal, ConfirmSendModal
from bin_console.screens.inbox import InboxScreen
from bin_console.screens.member_form import DeactivateConfirmModal, MemberFormModal
from bin_console.screens.members import MembersScreen
from bin_console.screens.monitor import MonitorScreen
from bin_console.screens.network import NetworkScreen, build_view
from bin_console.screens.networks import NetworksScreen
from bin_console.screens.quit_confirm import QuitConfirmModal
from sqlalchemy import select, update
from textual.widgets import Input, Static, TextArea
from ui_helpers import burst

from bin_console import alerts
from bin_console.actor import Actor

ACTOR = Actor(os_user="disp1", ssh_client="10.1.2.3", host="pc-101")


async def open_compose(pilot, nid: int) -> ComposeScreen:
    pilot.app.current_network_id = nid
    await pilot.press("f4")
    screen = await wait_for(pilot, lambda: isinstance(pilot.app.screen, ComposeScreen) and pilot.app.screen)
    await wait_for(pilot, lambda: screen.plan is not None, what="recipient plan")
    return screen


async def open_members(pilot, nid: int) -> MembersScreen:
    pilot.app.current_network_id = nid
    await pilot.press("f3")
    screen = await wait_for(pilot, lambda: isinstance(pilot.app.screen, MembersScreen) and pilot.app.screen)
    await wait_for(pilot, lambda: screen._result is not None, what="first page")
    return screen


def status_of(db, name: str) -> str:
    with db.read() as s:
        return s.scalar(select(Member.status).where(Member.name == name))


def notes(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


# 1 ------------------------------------------------------------------------------------------------
async def test_ctrl_q_asks_while_the_confirmed_alert_is_still_being_written(sqlite_db, settings, monkeypatch):
    info = seed(sqlite_db)
    gate, entered = threading.Event(), threading.Event()
    real = alerts.create_alert

    def slow_create(*args, **kwargs):
        entered.set()
        gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(alerts, "create_alert", slow_create)
    app = make_app(settings, sqlite_db)
    try:
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await open_compose(pilot, info["network_id"])
            await pilot.press(*"Brand Kerkstraat", "f5")
            modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSendModal) and app.screen)
            await wait_for(pilot, lambda: modal.armed, what="armed")
            await pilot.press("f5")
            await wait_for(pilot, entered.is_set, what="create_alert running")
            assert app.sending is False and app.pending_creates == 1
            await pilot.press("ctrl+q")
            await wait_for(pilot, lambda: isinstance(app.screen, QuitConfirmModal), what="quit question")
            assert app.is_running
            await pilot.press("escape")  # stay
            gate.set()
            await wait_for(pilot, lambda: app.sending and app.pending_creates == 0, what="alert created")
            assert "queued" in notes(app)
    finally:
        gate.set()


# 2 ------------------------------------------------------------------------------------------------
async def test_the_monitor_leaves_the_quit_guard_to_the_status_poller(sqlite_db, settings):
    seed(sqlite_db)
    app = make_app(settings, sqlite_db)  # no status poller: nothing may clear `sending` here
    async with app.run_test(size=(80, 24)) as pilot:
        app.mark_sending()
        await pilot.press("f6")
        monitor = await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen)
        await wait_for(pilot, lambda: monitor.polls >= 2, what="two polls with an empty queue")
        assert app.sending is True


# 3 ------------------------------------------------------------------------------------------------
class SlowSender:
    """Stands in for SenderRunner: start() blocks like an outbox recovery waiting on a lock."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.threads: dict[str, str] = {}

    def start(self) -> None:
        self.threads["start"] = threading.current_thread().name
        self.started.set()
        self.release.wait(5)

    def stop(self, timeout: float = 5.0) -> None:
        self.threads["stop"] = threading.current_thread().name

    def wake(self) -> None:
        pass


async def test_sender_start_and_stop_never_run_on_the_event_loop(sqlite_db, settings):
    seed(sqlite_db)
    sender = SlowSender()
    app = make_app(settings, sqlite_db, sender=sender)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, NetworksScreen), what="networks")
            assert sender.started.is_set() and not sender.release.is_set()
            await pilot.press(*"kerk")  # answered while start() is still blocked
            assert app.screen.query_one("#search", Input).value == "kerk"
            sender.release.set()
    finally:
        sender.release.set()
    assert app.join_sender(5)
    assert sender.threads["start"] != "MainThread" and sender.threads["stop"] != "MainThread"


async def test_import_path_is_checked_in_the_worker(sqlite_db, settings, monkeypatch, tmp_path):
    import pathlib

    info = seed(sqlite_db)
    missing = str(tmp_path / "nope.csv")
    seen: list[str] = []
    real = pathlib.Path.is_file

    def is_file(self):
        if str(self) == missing:
            seen.append(threading.current_thread().name)
        return real(self)

    monkeypatch.setattr(pathlib.Path, "is_file", is_file)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_members(pilot, info["network_id"])
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: app.screen.query_one("#import-path", Input), what="path prompt")
        await pilot.press(*missing, "enter")
        status = app.screen.query_one("#import-status", Static)
        await wait_for(pilot, lambda: "No such file" in str(status.render()), what="missing file reported")
    assert seen and "MainThread" not in seen


# 4 ------------------------------------------------------------------------------------------------
async def test_escape_keeps_the_alert_text_until_the_alert_is_created(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        compose = await open_compose(pilot, info["network_id"])
        await pilot.press("ctrl+u", *"Brand Kerkstraat")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ComposeScreen), what="left compose")
        compose = await open_compose(pilot, info["network_id"])
        assert compose.text == "Brand Kerkstraat" and compose.urgency == "normal"
        await pilot.press(*" nu", "f5")  # typing goes on at the end of the kept text
        modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSendModal) and app.screen)
        await wait_for(pilot, lambda: modal.armed, what="armed")
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen), what="monitor")
        assert alerts.list_alerts(sqlite_db, limit=1)[0].text == "Brand Kerkstraat nu"
        compose = await open_compose(pilot, info["network_id"])
        assert compose.text == ""  # sent: the next alert starts empty


async def test_member_form_escape_asks_before_throwing_typed_fields_away(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        members = await open_members(pilot, info["network_id"])
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: isinstance(app.screen, MemberFormModal), what="form")
        await pilot.press("escape")  # nothing typed: closes at once
        await wait_for(pilot, lambda: app.screen is members, what="form closed")
        await pilot.press("ctrl+n")
        form = await wait_for(pilot, lambda: isinstance(app.screen, MemberFormModal) and app.screen)
        await pilot.press(*"Greta Vos", "escape")
        ask = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmActionModal) and app.screen)
        assert app.focused.id == "no"  # keep editing
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is form, what="back in the form")
        assert form.query_one("#f-name", Input).value == "Greta Vos"
        await pilot.press("escape")
        ask = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmActionModal) and app.screen)
        await wait_for(pilot, lambda: ask.armed, what="armed")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.screen is members, what="discarded")


# 5 ------------------------------------------------------------------------------------------------
async def test_a_typed_ahead_y_never_quits(sqlite_db, settings):
    seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.mark_sending()
        burst(app, ["ctrl+q", "y"])
        modal = await wait_for(pilot, lambda: isinstance(app.screen, QuitConfirmModal) and app.screen)
        await wait_for(pilot, lambda: modal.armed, what="armed")
        await settle(pilot)
        assert app.is_running and app.screen is modal
        await pilot.press("y")  # deliberate, after the question showed
        await pilot.pause()
        assert not app.is_running


async def test_a_typed_ahead_y_never_deactivates(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        members = await open_members(pilot, info["network_id"])
        name = members._result.page.rows[0].name
        burst(app, ["ctrl+d", "y"])
        modal = await wait_for(pilot, lambda: isinstance(app.screen, DeactivateConfirmModal) and app.screen)
        await wait_for(pilot, lambda: modal.armed, what="armed")
        await settle(pilot)
        assert app.screen is modal and status_of(sqlite_db, name) == "active"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is members, what="cancelled")
        assert status_of(sqlite_db, name) == "active"


# 6 ------------------------------------------------------------------------------------------------
async def test_polling_screens_are_reused_and_pause_while_covered(sqlite_db, settings):
    info = seed(sqlite_db)
    first = alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text="Een", actor=ACTOR, training=True)
    second = alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text="Twee", actor=ACTOR, training=True)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f6")
        monitor = await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen)
        await wait_for(pilot, lambda: monitor.alert_id == second, what="latest alert")
        await pilot.press("f7")
        inbox = await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen) and app.screen)
        assert inbox.polling and not monitor.polling
        await pilot.press("f6")
        await wait_for(pilot, lambda: app.screen is monitor, what="the same monitor on top")
        assert monitor.polling and not inbox.polling
        await pilot.press("f7")
        await wait_for(pilot, lambda: app.screen is inbox, what="the same inbox on top")
        app.open_monitor(first)
        await wait_for(pilot, lambda: app.screen is monitor, what="monitor again")
        await wait_for(pilot, lambda: monitor.progress and monitor.progress.alert.id == first, what="alert switched")
        kinds = [type(s) for s in app.screen_stack]
        assert kinds.count(MonitorScreen) == 1 and kinds.count(InboxScreen) == 1


# 7 ------------------------------------------------------------------------------------------------
async def test_a_deactivation_is_not_dropped_when_the_screen_is_left(sqlite_db, settings, monkeypatch):
    from bin_console import directory

    info = seed(sqlite_db)
    gate, entered = threading.Event(), threading.Event()
    real = directory.deactivate_member

    def slow(*args, **kwargs):
        entered.set()
        gate.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(directory, "deactivate_member", slow)
    app = make_app(settings, sqlite_db)
    try:
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            members = await open_members(pilot, info["network_id"])
            name = members._result.page.rows[0].name
            await pilot.press("ctrl+d")
            modal = await wait_for(pilot, lambda: isinstance(app.screen, DeactivateConfirmModal) and app.screen)
            await wait_for(pilot, lambda: modal.armed, what="armed")
            await pilot.press("y")
            await wait_for(pilot, entered.is_set, what="deactivation running")
            await pilot.press("escape")  # leave the members screen while the write runs
            await wait_for(pilot, lambda: not members.is_attached, what="members screen gone")
            gate.set()
            await wait_for(pilot, lambda: "deactivated" in notes(app), what="notified from the app")
            assert status_of(sqlite_db, name) == "left"
    finally:
        gate.set()


# 8 ------------------------------------------------------------------------------------------------
async def test_errors_and_zone_names_are_shown_literally(sqlite_db, settings, monkeypatch):
    info = seed(sqlite_db)
    with sqlite_db.write() as s:
        s.execute(update(PoliceZone).values(name="Gent\x1b[31mRED"))

    def broken(*args, **kwargs):
        raise RuntimeError("db says \x1b]0;PWNED\x07")

    monkeypatch.setattr(alerts, "plan_alert", broken)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("f9")
        await settle(pilot)
        info_line = str(app.screen.query_one("#search-info", Static).render())
        assert "Gent\ufffd[31mRED" in info_line and "\x1b" not in info_line
        app.current_network_id = info["network_id"]
        await pilot.press("f4")
        compose = await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen)
        recipients = compose.query_one("#recipients", Static)
        await wait_for(pilot, lambda: "could not count" in str(recipients.render()), what="plan error")
        shown = str(recipients.render())
        assert "\x1b" not in shown and "\x07" not in shown and "\ufffd]0;PWNED\ufffd" in shown
        assert compose.query_one("#body", TextArea) is not None


async def test_network_header_does_not_repeat_the_kind(sqlite_db, settings):
    info = seed(sqlite_db, network_name="BIN Bruggeveld-Dorp", extra_network="Molenwijk")
    kerk, molen = info["network_ids"]
    assert build_view(sqlite_db, kerk).title.plain.startswith("BIN Bruggeveld-Dorp  ")
    assert build_view(sqlite_db, molen).title.plain.startswith("BIN Molenwijk  ")
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.open_network(kerk)
        screen = await wait_for(pilot, lambda: isinstance(app.screen, NetworkScreen) and app.screen)

        def header() -> str:
            return str(screen.query_one("#network-title", Static).render())

        await wait_for(pilot, lambda: "Bruggeveld" in header(), what="header")
        assert header().startswith("BIN Bruggeveld-Dorp")


async def test_ctrl_q_decides_on_a_fresh_read_of_the_queue(sqlite_db, settings):
    info = seed(sqlite_db)
    app = make_app(settings, sqlite_db, poll_status=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        aid = alerts.create_alert(sqlite_db, network_ids=[info["network_id"]], text="Een", actor=ACTOR, training=True)
        app.mark_sending()  # as compose sets it; the poller has not looked since
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, QuitConfirmModal), what="asks: SMS still queued")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, QuitConfirmModal), what="stayed")
        alerts.cancel_alert(sqlite_db, aid, ACTOR)  # nothing in flight any more
        app.mark_sending()  # and the flag not yet cleared by the poller
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, what="quits without asking")
