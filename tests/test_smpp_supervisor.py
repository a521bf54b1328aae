"""The SMPP session supervisor against the training SMSC, with recording hooks (no database)."""

from __future__ import annotations

import threading

from sender_helpers import smpp_settings

from bin_console.channels.smpp.supervisor import LinkLost, Supervisor, backoff
from bin_console.trust.credentials import Secret


class Recorder:
    """SessionHooks that record what the supervisor did and stop it after `sessions` sessions."""

    def __init__(self, stop: threading.Event, sessions: int, lose: bool) -> None:
        self.stop, self.sessions, self.lose = stop, sessions, lose
        self.states: list[tuple[str, str]] = []
        self.idles: list[float] = []
        self.ended: list[bool] = []

    def set_state(self, state: str, detail: str) -> None:
        self.states.append((state, detail))

    def idle(self, delay: float) -> None:
        self.idles.append(delay)
        if len(self.idles) >= 3:
            self.stop.set()

    def serve(self, link) -> None:
        assert link.socket is not None  # bound, ready for select()
        if self.lose and len(self.ended) + 1 < self.sessions:
            raise LinkLost("test drop")

    def end_session(self, link, *, graceful: bool) -> None:
        self.ended.append(graceful)
        link.close_quietly()


def test_backoff_doubles_with_jitter_up_to_the_cap():
    for attempt, top in [(1, 0.2), (2, 0.4), (3, 0.8), (10, 5.0)]:
        d = backoff(attempt, 5.0)
        assert top / 2 <= d <= top


def test_a_lost_link_is_served_again_on_a_new_bind_until_a_graceful_end(smsc):
    stop = threading.Event()
    hooks = Recorder(stop, sessions=3, lose=True)
    stats = {"binds": 0, "link_losses": 0}
    Supervisor(smpp_settings(smsc), None, hooks, config_retry_s=60.0, stats=stats).run(stop)
    assert stats == {"binds": 3, "link_losses": 2}
    assert hooks.ended == [False, False, True]
    assert [s for s, _ in hooks.states].count("bound") == 3
    assert ("reconnecting", "link lost: test drop") in hooks.states


def test_a_refused_password_is_a_config_error_retried_slowly(smsc_factory):
    sim = smsc_factory(system_id="bincons", password="right")
    stop = threading.Event()
    hooks = Recorder(stop, sessions=1, lose=False)
    stats = {"binds": 0, "link_losses": 0}
    Supervisor(smpp_settings(sim), Secret("wrong"), hooks, config_retry_s=60.0, stats=stats).run(stop)
    assert stats["binds"] == 0 and hooks.idles == [60.0, 60.0, 60.0]
    assert all(s == "config_error" for s, _ in hooks.states if s != "reconnecting" and s != "connecting")
    assert "SMSC refused the password for system_id bincons" in hooks.states[-1][1]
