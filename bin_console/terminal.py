"""What kind of terminal the console runs on: an SSH session, the Linux VT. No Textual here.

Why it matters (issue 7, shared notes/textual.md §2.8): over a 64 kbit/s SSH link every byte the
console writes costs 125 µs, and a blinking cursor re-sends the whole input box twice a second
(≈1.5 KB/s, a quarter of such a link) while the dispatcher is only reading. So the blink is off by
default where the link may be slow (SSH) or the terminal is the Linux VT (TERM=linux: usually a
serial console or a KVM over the network), unless the config says otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

# sshd sets these in the session's environment (SSH_CONNECTION always, SSH_TTY with a pty).
SSH_VARIABLES = ("SSH_CONNECTION", "SSH_TTY", "SSH_CLIENT")


def over_ssh(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in SSH_VARIABLES)


def linux_vt(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("TERM", "").startswith("linux")


def cursor_blink_wanted(setting: bool | str, environ: Mapping[str, str] | None = None) -> bool:
    """The config's ``cursor_blink`` (true | false | "auto") resolved for this terminal."""
    if isinstance(setting, bool):
        return setting
    if setting != "auto":
        raise ValueError(f"cursor_blink: expected true, false or 'auto', got {setting!r}")
    return not (over_ssh(environ) or linux_vt(environ))
