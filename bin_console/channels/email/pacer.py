"""One shared pace for every SMTP session of a sender: `max_per_minute` messages, evenly spaced.

Evenly spaced, not a burst then a pause: a relay that counts per rolling minute (Microsoft 365
allows about 30) never sees more than the limit in any minute, and the time to finish is exact.
Slots lie on one timeline; a sender that fell behind (a claim, a slow commit) may catch up on at
most CATCH_UP_S of missed slots, so the long-run rate is the limit and no window of a minute gets
more than the limit plus CATCH_UP_S worth of messages (for 30/min: none more).
"""

from __future__ import annotations

import threading
import time

CATCH_UP_S = 1.0


class Pacer:
    def __init__(self, max_per_minute: int) -> None:
        self.interval = 60.0 / max_per_minute if max_per_minute > 0 else 0.0
        self._lock = threading.Lock()
        self._next = 0.0

    def reserve(self) -> float:
        """The caller's next slot (monotonic time), taken off the shared timeline. A session does
        not sleep until then: it goes on renewing its leases and checking cancellations while it
        waits, and re-checks the row it means to send once the slot is there (a wait may be
        longer than a lease: `connections` sessions at 30/min wait up to 2 s x connections)."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now - CATCH_UP_S) if self._next else now
            self._next = slot + self.interval
        return slot

    def wait(self, stop: threading.Event) -> bool:
        """Wait for this caller's slot; False when `stop` was set meanwhile (the slot is not used)."""
        if not self.interval:
            return not stop.is_set()
        slot = self.reserve()
        delay = slot - time.monotonic()
        if delay > 0 and stop.wait(delay):
            return False
        return not stop.is_set()
