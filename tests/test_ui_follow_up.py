"""Follow-ups from the console (issue 9), keys only on a real SQLite database: Ctrl+F on the monitor
opens compose in follow-up mode (App.open_follow_up), all_clear is the first template, the confirm
window says "follow-up of alert N", and the follow-up reaches the original's members (less those who
opted out since), by the original's channel or by e-mail, linked to the original."""

from __future__ import annotations

import pytest
from alert_ui_helpers import ACTOR, make_app, settle, wait_for
from bin_console.data.models import Alert, Delivery, Member
from bin_console.data.templates import seed_templates
from bin_console.screens.compose import ComposeScreen
from bin_console.screens.confirm import ConfirmSendModal
from bin_console.screens.monitor import MonitorScreen
from bin_console.screens.template_picker import TemplatePickerModal
from sqlalchemy import select, update
from test_alerts import add_members, make_network

from bin_console.alerts import service as alerts

CLOSE = "Einde alarm Kerkstraat, bedankt"


def original(db, *, urgency: str = "urgent") -> tuple[int, int]:
    """(network id, alert id): an alert to five members of Kerkwijk (one e-mail copy), then Dirk opts
    out, Eva leaves and a member joins: none of those three gets the follow-up."""
    nid = make_network(db, "Kerkwijk")
    add_members(
        db,
        nid,
        [
            {"name": "Anna", "mobile": "+32470000001", "email": "anna@example.be"},
            {"name": "Bart", "mobile": "+32470000002", "language": "fr"},
            {"name": "Chris", "mobile": "+32470000003"},
            {"name": "Dirk", "mobile": "+32470000004"},
            {"name": "Eva", "mobile": "+32470000005"},
            {"name": "Fien", "email": "fien@example.be"},  # no mobile: an e-mail copy
        ],
    )
    with db.write() as s:
        seed_templates(s)
    aid = alerts.create_alert(
        db, network_ids=[nid], text="Inbraak Kerkstraat", urgency=urgency, actor=ACTOR, email_copy=urgency == "urgent"
    )
    add_members(db, nid, [{"name": "Nieuw", "mobile": "+32470000009", "email": "nieuw@example.be"}])
    with db.write() as s:
        s.execute(update(Member).where(Member.name == "Dirk").values(sms_opt_out=True))
        s.execute(update(Member).where(Member.name == "Eva").values(status="left"))
    return nid, aid


def receivers(db, alert_id: int) -> dict[str, str]:
    """member name -> channel of the alert's delivery rows."""
    with db.read() as s:
        rows = s.execute(
            select(Member.name, Delivery.channel)
            .join(Member, Member.id == Delivery.member_id)
            .where(Delivery.alert_id == alert_id)
        ).all()
    return dict(rows)


async def follow_up_from_monitor(pilot, aid: int) -> ComposeScreen:
    app = pilot.app
    app.open_monitor(aid)
    monitor = await wait_for(pilot, lambda: isinstance(app.screen, MonitorScreen) and app.screen)
    await wait_for(pilot, lambda: monitor.progress is not None, what="progress")
    await pilot.press("ctrl+f")
    screen = await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen, what="compose")
    await wait_for(pilot, lambda: screen.plan is not None and screen._plan_current(), what="plan")
    return screen


async def send(pilot, screen) -> ConfirmSendModal:
    app = pilot.app
    await wait_for(pilot, lambda: screen._plan_current(), what="plan of this text")
    await pilot.press("f5")
    modal = await wait_for(pilot, lambda: isinstance(app.screen, ConfirmSendModal) and app.screen, what="confirm")
    await wait_for(pilot, lambda: modal.armed, what="armed")
    return modal


async def test_follow_up_from_the_monitor_reaches_the_original_members(sqlite_db, settings):
    nid, aid = original(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await follow_up_from_monitor(pilot, aid)
        assert screen.follow_up_of == aid and screen.network_ids == [nid]
        top = screen.query_one("#targets").render().plain
        assert f"Follow-up of alert {aid}" in top and "Kerkwijk" in top and "URGENT" in top
        recipients = screen.query_one("#recipients").render().plain
        assert "SMS 3" in recipients and "1 opted out" in recipients and "1 left or pending" in recipients
        assert "+ 1 member by e-mail" in recipients  # Fien's copy is followed up by e-mail
        await pilot.press(*CLOSE)
        modal = await send(pilot, screen)
        assert modal.query_one("#title").render().plain == f"Send this follow-up of alert {aid}?"
        assert "SMS to 3 members of Kerkwijk" in modal.query_one("#headline").render().plain
        await pilot.press("f5")
        await wait_for(pilot, lambda: screen.last_alert_id, what="follow-up created")
    follow = screen.last_alert_id
    with sqlite_db.read() as s:
        alert = s.get(Alert, follow)
        assert alert.follow_up_of == aid and alert.text == CLOSE
    # the original's members less Dirk (opted out) and Eva (left); not the member who joined since
    assert receivers(sqlite_db, follow) == {"Anna": "sms", "Bart": "sms", "Chris": "sms", "Fien": "email"}
    assert alerts.alert_thread(sqlite_db, aid) == [follow]


async def test_follow_up_by_e_mail_and_all_clear_first(sqlite_db, settings):
    _nid, aid = original(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await follow_up_from_monitor(pilot, aid)
        await pilot.press("ctrl+l")
        picker = await wait_for(pilot, lambda: isinstance(app.screen, TemplatePickerModal) and app.screen)
        await wait_for(pilot, lambda: picker.templates, what="templates")
        assert picker.templates[0].key == "all_clear"
        await pilot.press("enter")  # all_clear: time, street, municipality
        await wait_for(pilot, lambda: picker.fields, what="placeholder form")
        await pilot.press("enter", *"Kerkstraat", "enter", *"Gent", "enter")
        await wait_for(pilot, lambda: app.screen is screen, what="back in compose")
        assert screen.template_key == "all_clear" and "einde alarm in Kerkstraat, Gent" in screen.text
        assert screen.urgency == "urgent"  # the template never changes a follow-up's channel
        await pilot.press("ctrl+u")  # by e-mail instead
        assert screen.urgency == "normal"
        await wait_for(pilot, lambda: screen.plan is not None and screen.plan.urgency == "normal", what="plan")
        await pilot.press("ctrl+t")  # its networks are the original's
        await settle(pilot)
        assert app.screen is screen
        modal = await send(pilot, screen)
        assert "E-mail to 2 members" in modal.query_one("#headline").render().plain  # Anna and Fien have an address
        await pilot.press("f5")
        await wait_for(pilot, lambda: screen.last_alert_id, what="follow-up created")
    got = receivers(sqlite_db, screen.last_alert_id)
    assert got == {"Anna": "email", "Fien": "email"}
    with sqlite_db.read() as s:
        rows = dict(
            s.execute(
                select(Member.name, Delivery.language)
                .join(Member, Member.id == Delivery.member_id)
                .where(Delivery.alert_id == screen.last_alert_id)
            ).all()
        )
    assert rows == {"Anna": "nl", "Fien": "nl"}  # the template's versions, each member's language


async def test_a_follow_up_draft_never_overwrites_the_new_alert_draft(sqlite_db, settings):
    nid, aid = original(sqlite_db)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        from bin_console.screens.target import NetworkRef

        app.open_compose((NetworkRef(nid),))
        fresh = await wait_for(pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen)
        await wait_for(pilot, lambda: fresh.plan is not None, what="plan")
        await pilot.press(*"Nieuw alarm", "escape")
        screen = await follow_up_from_monitor(pilot, aid)
        assert screen.filled() == {}
        await pilot.press(*CLOSE, "escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ComposeScreen), what="compose left")
        again = await follow_up_from_monitor(pilot, aid)
        assert again.text == CLOSE
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, ComposeScreen), what="compose left")
        app.open_compose((NetworkRef(nid),))
        other = await wait_for(
            pilot, lambda: isinstance(app.screen, ComposeScreen) and app.screen is not again and app.screen
        )
        await wait_for(pilot, lambda: other.plan is not None, what="plan")
        assert other.follow_up_of is None and other.text == "Nieuw alarm"


@pytest.mark.parametrize("urgency", ["normal"])
async def test_an_e_mail_original_is_followed_up_by_e_mail(sqlite_db, settings, urgency):
    _nid, aid = original(sqlite_db, urgency=urgency)
    app = make_app(settings, sqlite_db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await follow_up_from_monitor(pilot, aid)
        assert screen.urgency == "normal"
        await pilot.press("ctrl+u")  # stays e-mail: the original went by e-mail
        assert screen.urgency == "normal"
        await pilot.press(*CLOSE)
        await send(pilot, screen)
        await pilot.press("f5")
        await wait_for(pilot, lambda: screen.last_alert_id, what="follow-up created")
    assert receivers(sqlite_db, screen.last_alert_id) == {"Anna": "email", "Fien": "email"}
