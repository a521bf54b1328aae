"""Who is acting: the OS user (from the uid, not $USER), the SSH client address, the host."""

from __future__ import annotations

import os
import pwd
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    os_user: str
    ssh_client: str | None = None
    host: str = ""
    login_uid: int | None = None

    @classmethod
    def current(cls) -> Actor:
        try:
            user = pwd.getpwuid(os.geteuid()).pw_name
        except KeyError:
            user = str(os.geteuid())
        ssh = os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_CLIENT")
        client = ssh.split()[0] if ssh else None
        login_uid: int | None = None
        try:
            with open("/proc/self/loginuid") as fh:
                v = int(fh.read().strip())
                login_uid = None if v == 4294967295 else v
        except (OSError, ValueError):
            pass
        return cls(os_user=user, ssh_client=client, host=socket.gethostname(), login_uid=login_uid)

    def label(self) -> str:
        return f"{self.os_user}@{self.ssh_client}" if self.ssh_client else self.os_user
