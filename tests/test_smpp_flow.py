"""The SMPP flow control on a simulated clock: no sockets, no database, no wall time."""

from __future__ import annotations

import heapq

import pytest

from bin_console.channels.smpp.flow import FlowControl


class BucketSmsc:
    """An SMSC that throttles past `limit` submits/s (token bucket with one second of burst, like
    the training SMSC), answering after `rtt` seconds."""

    def __init__(self, limit: float, rtt: float) -> None:
        self.limit, self.rtt = limit, rtt
        self.tokens, self.at = limit, 0.0

    def admit(self, now: float) -> bool:
        self.tokens = min(self.limit, self.tokens + (now - self.at) * self.limit)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def run(flow: FlowControl, smsc: BucketSmsc, seconds: float, step: float = 0.001) -> tuple[int, int, list]:
    """Send for `seconds` of simulated time with an endless queue. Returns (accepted, throttled,
    accepted times)."""
    answers: list[tuple[float, int, bool]] = []  # (when the resp arrives, seq, accepted)
    seq, now = 0, 0.0
    accepted, throttled, times = 0, 0, []
    while now < seconds:
        while answers and answers[0][0] <= now:
            _, s, ok = heapq.heappop(answers)
            if ok:
                flow.accepted(s, now)
                accepted += 1
                times.append(now)
            else:
                flow.throttled(s, now)
                throttled += 1
        while flow.may_send(now):
            seq += 1
            flow.sent(seq, seq, now)
            ok = smsc.admit(now + smsc.rtt / 2)  # the SMSC decides when the PDU reaches it
            heapq.heappush(answers, (now + smsc.rtt, seq, ok))
        now += step
    return accepted, throttled, times


@pytest.mark.parametrize("max_tps", [250.0, 0.0], ids=["max_tps above the limit", "no max_tps"])
@pytest.mark.parametrize("rtt", [0.005, 0.05])
def test_rate_converges_to_at_least_90_percent_of_what_the_smsc_allows(max_tps, rtt):
    flow = FlowControl(window=50, max_tps=max_tps, response_timeout=30.0, started=0.0)
    smsc = BucketSmsc(limit=100.0, rtt=rtt)
    accepted, throttled, times = run(flow, smsc, 60.0)
    steady = [t for t in times if t >= 20.0]  # after convergence, without the initial burst credit
    rate = len(steady) / 40.0
    assert rate >= 90.0, rate
    assert rate <= 100.5  # the bucket allows no more: the simulation is honest
    assert throttled / (accepted + throttled) < 0.05, (throttled, accepted)
    assert 85.0 <= flow.rate <= 110.0


def test_a_sender_that_ignores_throttles_fails_the_bar():
    """Canary for the harness: sending at 250/s regardless, most answers are throttles."""
    flow = FlowControl(window=50, max_tps=250.0, response_timeout=30.0, started=0.0)
    flow.throttled = lambda seq, now: flow.failed(seq)  # type: ignore[method-assign]  # never slows down
    accepted, throttled, _ = run(flow, BucketSmsc(limit=100.0, rtt=0.02), 20.0)
    assert throttled / (accepted + throttled) > 0.3


def test_max_tps_is_never_exceeded_and_the_window_bounds_in_flight():
    flow = FlowControl(window=5, max_tps=50.0, response_timeout=30.0, started=0.0)
    accepted, throttled, times = run(flow, BucketSmsc(limit=1000.0, rtt=0.01), 10.0)
    assert throttled == 0
    assert 49.0 <= len([t for t in times if t >= 1.0]) / 9.0 <= 51.0
    flow2 = FlowControl(window=5, max_tps=0.0, response_timeout=30.0, started=0.0)
    for seq in range(10):
        if flow2.may_send(0.0):
            flow2.sent(seq, seq, 0.0)
    assert flow2.in_flight == 5 and not flow2.may_send(0.0)


def test_response_deadline_and_late_answers():
    flow = FlowControl(window=3, max_tps=0.0, response_timeout=2.0, started=0.0)
    flow.sent(1, "a", 0.0)
    flow.sent(2, "b", 1.0)
    assert flow.response_deadline() == 2.0 and not flow.overdue(1.9) and flow.overdue(2.1)
    assert flow.accepted(1, 1.5) == "a" and flow.response_deadline() == 3.0
    assert flow.accepted(1, 1.6) is None  # a late duplicate answer is not ours any more
    assert flow.in_flight_parts() == ["b"]
