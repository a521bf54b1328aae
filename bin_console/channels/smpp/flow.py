"""Flow control for one SMPP session: window, pacing in parts/s, throttle response, in-flight table.

Plain Python, no socket and no database: every method takes ``now`` (monotonic seconds), so tests
drive it with a simulated clock (tests/test_smpp_flow.py).

Why the rate adapts (AIMD on parts per second, not on the window): an SMSC throttles a TPS
contract. Halving the window on each ESME_RTHROTTLED (down to 1) and pausing starved the link:
68 % of what the SMSC allowed. Here a throttle lowers the *rate* to ``beta`` times the rate the
SMSC actually accepted over the last second, once per congestion event (the throttles of parts
already on the wire when the rate dropped are the same event), and every second of clean,
rate-limited sending adds ``alpha`` of the rate back, never above ``max_tps``. It settles just
under the permitted rate with few throttled answers; the window stays what the SMSC allows.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass
from typing import Generic, TypeVar

P = TypeVar("P")

BETA = 0.9  # multiplicative decrease on a throttle: the rate the SMSC accepted, times this
ALPHA = 0.05  # additive increase per second of clean sending, as a share of the rate
MIN_TPS = 1.0
ACCEPT_SPAN_S = 1.0  # accepted-rate estimate over this much recent time


@dataclass
class _InFlight(Generic[P]):
    part: P
    sent_at: float
    serial: int  # send order: throttles of parts sent before a rate decrease are the same event


class FlowControl(Generic[P]):
    def __init__(self, *, window: int, max_tps: float, response_timeout: float, started: float) -> None:
        self.window = max(1, int(window))
        self.max_tps = float(max_tps or 0.0)  # 0: no contract rate, only the window (until throttled)
        self.response_timeout = float(response_timeout)
        # None: unpaced (window only). Learnt from throttles once the SMSC says we are too fast.
        self.rate: float | None = self.max_tps or None
        self._out: dict[int, _InFlight[P]] = {}  # sequence -> part, in send order
        self._serial = itertools.count(1)
        self._last_serial = 0
        self._event_serial = 0  # parts sent up to here belong to the last throttle event
        self._next_send = started
        self._oks: deque[float] = deque()  # times of accepted submits, the last ACCEPT_SPAN_S
        self._started = started
        self._grown_at = started
        self._rate_limited = False  # a part waited for the rate since the last increase
        self.throttle_events = 0

    # --- admission ------------------------------------------------------------------------------

    def may_send(self, now: float) -> bool:
        """A part may go now: the window has room and the rate allows it."""
        if len(self._out) >= self.window:
            return False
        if self.rate is not None and self._next_send > now:
            self._rate_limited = True
            return False
        return True

    def next_send_at(self, now: float) -> float:
        return now if self.rate is None else max(now, self._next_send)

    def sent(self, seq: int, part: P, now: float) -> None:
        serial = next(self._serial)
        self._last_serial = serial
        self._out[seq] = _InFlight(part, now, serial)
        if self.rate is not None:
            gap = 1.0 / self.rate
            # a little catch-up after an idle moment, never a burst (min of 50 ms, two gaps)
            self._next_send = max(self._next_send, now - min(0.05, 2 * gap)) + gap

    # --- answers ----------------------------------------------------------------------------------

    def accepted(self, seq: int, now: float) -> P | None:
        """submit_sm_resp ESME_ROK. None: not ours (late answer to a part given up)."""
        ent = self._out.pop(seq, None)
        if ent is None:
            return None
        self._oks.append(now)
        self._trim(now)
        self._grow(now)
        return ent.part

    def throttled(self, seq: int, now: float) -> P | None:
        """ESME_RTHROTTLED / ESME_RMSGQFUL: the part must go again; the rate comes down once per event."""
        ent = self._out.pop(seq, None)
        if ent is None:
            return None
        if ent.serial > self._event_serial:
            self._event_serial = self._last_serial
            self.throttle_events += 1
            self._trim(now)
            base = self.accepted_rate(now)
            if self.rate is not None:
                base = min(base, self.rate)
            self.rate = max(MIN_TPS, base * BETA)
            self._next_send = now + 1.0 / self.rate
            self._grown_at = now
            self._rate_limited = False
        return ent.part

    def failed(self, seq: int) -> P | None:
        """Any other answer: the part leaves the window, the rate is not concerned."""
        ent = self._out.pop(seq, None)
        return None if ent is None else ent.part

    def accepted_rate(self, now: float) -> float:
        span = max(0.1, min(ACCEPT_SPAN_S, now - self._started))
        return len(self._oks) / span

    def _trim(self, now: float) -> None:
        while self._oks and self._oks[0] < now - ACCEPT_SPAN_S:
            self._oks.popleft()

    def _grow(self, now: float) -> None:
        """Additive increase while the rate is what holds sending back (else it would only creep)."""
        if self.rate is None:
            return
        dt = now - self._grown_at
        if dt < 0.1:
            return
        self._grown_at = now
        if not self._rate_limited:
            return
        self._rate_limited = False
        grown = self.rate * (1.0 + ALPHA * dt)
        self.rate = min(grown, self.max_tps) if self.max_tps else grown

    # --- in flight and deadlines -----------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        return len(self._out)

    def in_flight_parts(self) -> list[P]:
        return [e.part for e in self._out.values()]

    def overdue(self, now: float) -> bool:
        """The oldest part waited longer than response_timeout for its answer: the link is dead."""
        if not self._out:
            return False
        return now - next(iter(self._out.values())).sent_at > self.response_timeout

    def response_deadline(self) -> float:
        if not self._out:
            return math.inf
        return next(iter(self._out.values())).sent_at + self.response_timeout

    def shown_rate(self) -> float | None:
        """For the status line: the learnt rate in parts/s (None while unpaced)."""
        return None if self.rate is None else round(self.rate, 1)
