"""The SMPP session lifecycle: connect, bind, serve until the link is lost, back off, again.

What happens inside a session (sending, reading) is the caller's (``SessionHooks.serve``); the
supervisor only decides when to (re)connect and how long to wait, and tells the state. A refused
password is never a reason to stop: the operator may fix the SMSC side at any time, so it is
retried slowly (``config_retry_s``); anything else is retried with a capped exponential back-off
with jitter, on a NEW link each time (smpplib trap f).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from typing import Protocol

import smpplib.exceptions

from bin_console.channels.smpp.link import SmppLink
from bin_console.channels.smpp.status import BIND_CONFIG, status_meaning
from bin_console.config import SmppSettings
from bin_console.trust.credentials import Secret

log = logging.getLogger("bin_console.channels.smpp.sender")

STABLE_AFTER_S = 30.0  # a session that lasted this long resets the back-off


class LinkLost(Exception):
    """The SMPP session is gone (or must be abandoned); reconnect with a new link."""


class BindConfigError(Exception):
    """The SMSC refused our credentials: needs the operator, retried slowly."""


class TransientConnectError(Exception):
    """The SMSC cannot be reached or refused the bind for a passing reason."""


class SessionHooks(Protocol):
    def set_state(self, state: str, detail: str) -> None: ...
    def idle(self, delay: float) -> None: ...  # wait (housekeeping goes on), returns early on stop
    def serve(self, link: SmppLink) -> None: ...  # returns on a graceful stop; raises LinkLost
    def end_session(self, link: SmppLink, *, graceful: bool) -> None: ...


def backoff(attempt: int, cap: float) -> float:
    """0.2 s doubling per attempt up to `cap`, times a random 0.5-1 (no reconnect storms)."""
    return min(max(0.2, cap), 0.2 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)


def connect_and_bind(cfg: SmppSettings, password: Secret | None) -> SmppLink:
    """A new, bound link, or BindConfigError / TransientConnectError (the link closed). The
    password is revealed only here, for the bind PDU."""
    link = SmppLink(cfg.host, cfg.port, timeout=float(cfg.connect_timeout))
    bind = link.bind_transmitter if cfg.bind_mode == "transmitter" else link.bind_transceiver
    try:
        link.connect()
        bind(system_id=cfg.system_id, password=password.reveal() if password else "", system_type=cfg.system_type)
    except smpplib.exceptions.PDUError as exc:
        link.close_quietly()
        status = exc.args[1] if len(exc.args) > 1 else None
        if status is not None and status in BIND_CONFIG:
            raise BindConfigError(bind_message(cfg.system_id, status)) from None
        raise TransientConnectError(
            f"bind refused: {status_meaning(status) if status is not None else exc.args[0]}"
        ) from None
    except (smpplib.exceptions.ConnectionError, OSError):
        link.close_quietly()
        raise TransientConnectError(f"cannot reach the SMSC at {cfg.host}:{cfg.port}") from None
    except Exception as exc:  # a malformed bind_resp etc.: same as a failed connection
        link.close_quietly()
        raise TransientConnectError(f"bind failed: {exc.__class__.__name__}") from None
    return link


def bind_message(system_id: str, status: int) -> str:
    sid = system_id or "(empty)"
    if status == 0x0E:
        return f"SMSC refused the password for system_id {sid} (set it with 'bin-console credentials set smpp')"
    if status == 0x0F:
        return f"SMSC does not know system_id {sid} (check smpp.system_id in the configuration)"
    return f"SMSC refused the bind for system_id {sid} ({status_meaning(status)})"


class Supervisor:
    def __init__(
        self,
        cfg: SmppSettings,
        password: Secret | None,
        hooks: SessionHooks,
        *,
        config_retry_s: float,
        stats: dict[str, int],
    ) -> None:
        self.cfg = cfg
        self._password = password
        self.hooks = hooks
        self.config_retry_s = config_retry_s
        self.stats = stats  # "binds" and "link_losses" counted here

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set (then the session ends gracefully) or serve() returns."""
        attempt = 0
        detail = ""
        first = True
        while not stop.is_set():
            self.hooks.set_state("connecting" if first else "reconnecting", detail)
            first = False
            try:
                link = connect_and_bind(self.cfg, self._password)
            except BindConfigError as exc:
                detail = f"{exc}; retrying every {self.config_retry_s:.0f} s"
                self.hooks.set_state("config_error", detail)
                self.hooks.idle(self.config_retry_s)
                continue
            except TransientConnectError as exc:
                attempt += 1
                delay = backoff(attempt, float(self.cfg.reconnect_max))
                detail = f"{exc}; retry in {delay:.1f} s"
                self.hooks.set_state("reconnecting", detail)
                self.hooks.idle(delay)
                continue
            self.stats["binds"] += 1
            self.hooks.set_state("bound", "")
            bound_at = time.monotonic()
            graceful = False
            try:
                self.hooks.serve(link)
                graceful = True
            except LinkLost as exc:
                detail = f"link lost: {exc}"
                log.warning("SMPP link lost: %s", exc)  # one line per loss, no traceback: expected
                self.hooks.set_state("reconnecting", detail)
                self.stats["link_losses"] += 1
            except Exception as exc:  # a bug must not end sending for good: new session
                detail = f"internal error: {exc.__class__.__name__}"
                log.exception("SMS sender session failed; reconnecting")
                self.hooks.set_state("reconnecting", detail)
                self.stats["link_losses"] += 1
            finally:
                self.hooks.end_session(link, graceful=graceful)
            if graceful:
                return
            # a link that dies right after every bind must not become a tight loop
            attempt = 1 if time.monotonic() - bound_at > STABLE_AFTER_S else attempt + 1
            delay = backoff(attempt, float(self.cfg.reconnect_max))
            detail = f"{detail}; retry in {delay:.1f} s"
            self.hooks.set_state("reconnecting", detail)
            self.hooks.idle(delay)
