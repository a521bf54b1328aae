"""Helpers for the alert-screen Pilot tests: a small seeded DB, the App, and waits with deadlines.

Waits poll a condition (with a deadline) or wait for the workers that are running now - never a
fixed sleep, never "idle" (shared notes/textual.md §3.2).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from bin_console.data.keys import fold
from bin_console.data.models import Member, Network, NetworkStreet, PoliceZone, utcnow
from bin_console.data.search_index import rebuild_terms
from bin_console.data.templates import seed_templates
from sqlalchemy import insert, select
from textual.worker import WorkerCancelled
from ui_helpers import target_ids, typing_paused

from bin_console.trust.actor import Actor

__all__ = ["target_ids"]  # re-exported: the alert tests read the target the same way

ACTOR = Actor(os_user="disp1", ssh_client="10.1.2.3", host="pc-101")
NASTY_NAMES = ["[bold red]Jan[/]", "Peeters [/]", "Evil\x1b[31mRed\x1b[0m"]
POLLERS = {"status-poller"}


def seed(db, *, members: int = 12, network_name: str = "BIN Kerkwijk", extra_network: str | None = None) -> dict:
    """Zone 5415 with one network on Kerkstraat; `members` with mobiles (the first three with
    markup/escape names), plus one opted out and one without a mobile; templates seeded."""
    now = utcnow()
    with db.write() as s:
        zone = PoliceZone(code="5415", name="Gent")
        s.add(zone)
        s.flush()
        ids = []
        for name, street in [(network_name, "Kerkstraat")] + (
            [(extra_network, "Molenstraat")] if extra_network else []
        ):
            n = Network(zone_id=zone.id, name=name, name_key=fold(name), municipality="Gent", sms_sender="POLITIE")
            s.add(n)
            s.flush()
            s.add(
                NetworkStreet(
                    network_id=n.id, street=street, street_key=fold(street), postcode="9000", municipality="Gent"
                )
            )
            ids.append(n.id)
        rows = []
        for i in range(members):
            name = NASTY_NAMES[i] if i < len(NASTY_NAMES) else f"Lid {i:03d}"
            rows.append(_member(ids[0], name, mobile=f"+3247{i:07d}", now=now))
        rows.append(_member(ids[0], "Opted Out", mobile="+32479999998", now=now, sms_opt_out=True))
        rows.append(_member(ids[0], "No Mobile", mobile=None, now=now, email="nm@example.be"))
        if extra_network:
            rows.append(_member(ids[1], "Molen Een", mobile="+32478888801", now=now))
        s.execute(insert(Member), rows)
        s.flush()
        rebuild_terms(s, ids)
        seed_templates(s)
    return {"network_id": ids[0], "network_ids": ids, "sms": members}


def _member(nid: int, name: str, *, mobile: str | None, now, **kw) -> dict:
    d = {
        "network_id": nid,
        "name": name,
        "name_key": fold(name),
        "mobile": mobile,
        "status": "active",
        "sms_opt_out": False,
        "email_opt_out": False,
        "street": "Kerkstraat",
        "street_key": "kerkstraat",
        "house_number": "1",
        "postcode": "9000",
        "municipality": "Gent",
        "language": "nl",
        "role": "member",
        "created_at": now,
        "updated_at": now,
        "email": None,
    }
    d.update(kw)
    return d


def make_app(settings, db, **kw):
    from bin_console.app import BinConsoleApp

    settings.cursor_blink = False
    kw.setdefault("poll_status", False)
    kw.setdefault("training", True)
    return BinConsoleApp(settings, db, **kw)


async def show_network(pilot, nid: int):
    """The network screen of ``nid`` on top (as Enter on a search result opens it): F3/F4 act on it."""
    from bin_console.screens.network import NetworkScreen
    from bin_console.screens.target import NetworkRef

    app = pilot.app
    app.open_network(NetworkRef(nid))
    return await wait_for(
        pilot, lambda: isinstance(app.screen, NetworkScreen) and app.screen.network_id == nid and app.screen
    )


async def open_compose(pilot, nid: int):
    """Compose to network ``nid`` the way a dispatcher does: its network screen, then F4."""
    from bin_console.screens.compose import ComposeScreen

    await show_network(pilot, nid)
    await pilot.press("f4")
    screen = await wait_for(pilot, lambda: isinstance(pilot.app.screen, ComposeScreen) and pilot.app.screen)
    await wait_for(pilot, lambda: screen.plan is not None, what="recipient plan")
    return screen


async def open_members(pilot, nid: int):
    """Members of network ``nid``: its network screen, then F3."""
    from bin_console.screens.members import MembersScreen

    await show_network(pilot, nid)
    await pilot.press("f3")
    screen = await wait_for(pilot, lambda: isinstance(pilot.app.screen, MembersScreen) and pilot.app.screen)
    await wait_for(pilot, lambda: screen._result is not None, what="first page")
    return screen


def status_of(db, name: str) -> str:
    with db.read() as s:
        return s.scalar(select(Member.status).where(Member.name == name))


def notes(app) -> str:
    """The notifications shown so far, as text."""
    return "\n".join(str(n.message) for n in app._notifications)


async def settle(pilot) -> None:
    """Wait for the workers running now (not the never-ending status poller), then a pause."""
    app = pilot.app
    await typing_paused(app, pilot)
    workers = [w for w in app.workers if w.group not in POLLERS and not w.is_finished]
    if workers:
        with contextlib.suppress(WorkerCancelled):
            await app.workers.wait_for_complete(workers)
    await pilot.pause()


async def wait_for(pilot, cond: Callable[[], object], timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = cond()
        except Exception:  # the widget may not be mounted yet
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await settle(pilot)
        await asyncio.sleep(0.02)


def screen_text(app) -> str:
    """Everything visible on the current screen as plain text (what a dispatcher reads)."""
    from textual.widgets import DataTable, Static

    parts = []
    for w in app.screen.query("*"):
        if isinstance(w, Static):
            parts.append(str(w.render()) if not hasattr(w, "visual") else _plain(w))
        elif isinstance(w, DataTable):
            for r in range(w.row_count):
                parts.append(" | ".join(str(getattr(c, "plain", c)) for c in w.get_row_at(r)))
    return "\n".join(parts)


def _plain(w) -> str:
    r = w.render()
    return getattr(r, "plain", None) or str(r)


FIXED_NOW = None


def freeze_clock(monkeypatch) -> None:
    """Deterministic times for snapshots: UTC wall clock fixed at 2026-03-02 08:00 in compose."""
    import time as _time
    from datetime import UTC, datetime

    import bin_console.screens.compose as compose

    monkeypatch.setenv("TZ", "UTC")
    _time.tzset()
    monkeypatch.setattr(compose, "utcnow", lambda: datetime(2026, 3, 2, 8, 0, tzinfo=UTC))


def fix_alert_times(db) -> None:
    """Alert.created_at to a fixed time so history/monitor snapshots do not change every run."""
    from datetime import UTC, datetime

    from bin_console.data.models import Alert
    from sqlalchemy import update

    with db.write() as s:
        s.execute(update(Alert).values(created_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC), expires_at=None))
