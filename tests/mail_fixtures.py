"""pytest plugin: real mail servers on loopback, each stopped after its test even when it fails.

- ``smtp_sim_factory(**options)``: started ``bin_console.training.smtp_sim.SmtpSim`` (aiosmtpd) relays with
  faults (greylist, reject, drop_at, stall_at/stall_s); ``smtp_sim``: one with default options.
- ``dovecot``: Debian's Dovecot IMAP server from a private config on a free loopback port, one
  mailbox ``bin`` (password ``DOVECOT_PASSWORD``); skips with the reason where dovecot is not
  installed (``.ci/run`` installs it). ``Dovecot.append(bytes)`` puts a mail into its INBOX.
"""

from __future__ import annotations

import imaplib
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from bin_console.training.smtp_sim import SmtpSim

DOVECOT_USER = "bin"
DOVECOT_PASSWORD = "imap-test-password-1"


@pytest.fixture
def smtp_sim_factory():
    started: list[SmtpSim] = []

    def make(**options) -> SmtpSim:
        sim = SmtpSim("127.0.0.1", 0, **options)
        sim.start()
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def smtp_sim(smtp_sim_factory) -> SmtpSim:
    return smtp_sim_factory()


@dataclass
class Dovecot:
    port: int
    user: str
    password: str
    conf: Path

    def append(self, data: bytes, mailbox: str = "INBOX") -> None:
        with imaplib.IMAP4("127.0.0.1", self.port) as imap:
            imap.login(self.user, self.password)
            typ, detail = imap.append(mailbox, None, None, data)
            assert typ == "OK", detail


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dovecot_missing() -> str | None:
    for tool in ("dovecot", "doveadm"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install dovecot-imapd; .ci/run does it)"
    try:
        pwd.getpwnam("dovecot")
        pwd.getpwnam("dovenull")
    except KeyError as exc:
        return f"dovecot's system users are missing ({exc})"
    return None


@pytest.fixture
def dovecot():
    reason = _dovecot_missing()
    if reason:
        pytest.skip(reason)
    # not under pytest's tmp dir: that is root-only (0700) and dovecot's auth runs as user dovecot
    d = Path(tempfile.mkdtemp(prefix="bin-dovecot-"))
    try:
        yield from _run_dovecot(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _run_dovecot(d: Path):
    d.chmod(0o755)
    mail_user = pwd.getpwnam("dovecot")
    (d / "mail").mkdir()
    shutil.chown(d / "mail", mail_user.pw_uid, mail_user.pw_gid)
    port = _free_port()
    hashed = subprocess.run(
        ["doveadm", "pw", "-s", "SHA512-CRYPT", "-p", DOVECOT_PASSWORD], check=True, capture_output=True, text=True
    ).stdout.strip()
    passwd = d / "passwd"
    passwd.write_text(f"{DOVECOT_USER}:{hashed}:{mail_user.pw_uid}:{mail_user.pw_gid}::{d}/mail/{DOVECOT_USER}\n")
    passwd.chmod(0o644)
    conf = d / "dovecot.conf"
    conf.write_text(
        f"""protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
instance_name = test-imap-{port}
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = {mail_user.pw_uid}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
log_path = {d}/dovecot.log
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=SHA512-CRYPT {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
"""
    )
    # dovecot daemonises: its children keep inherited pipes open, so no capture_output (it would never end)
    subprocess.run(
        ["dovecot", "-c", str(conf)],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=30,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    log = (d / "dovecot.log").read_text() if (d / "dovecot.log").exists() else ""
                    pytest.fail(f"dovecot did not listen on {port}: {log[-2000:]}")
                time.sleep(0.1)
        yield Dovecot(port, DOVECOT_USER, DOVECOT_PASSWORD, conf)
    finally:
        subprocess.run(
            ["doveadm", "-c", str(conf), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )


# --- helpers for the e-mail tests -------------------------------------------------------------------


def email_of(i: int) -> str:
    return f"lid{i}@example.be"


def make_email_network(db, n: int, *, name: str = "Mail BIN", mobiles: bool = False, language: str = "nl") -> int:
    """A network with n active members, each with an e-mail address (and a mobile when `mobiles`)."""
    from bin_console.data.keys import fold
    from bin_console.data.models import Member, Network, PoliceZone, utcnow
    from sqlalchemy import select

    now = utcnow()
    with db.write() as s:
        zone = s.execute(select(PoliceZone).where(PoliceZone.code == "5415")).scalar_one_or_none()
        if zone is None:
            zone = PoliceZone(code="5415", name="Test zone")
            s.add(zone)
            s.flush()
        net = Network(zone_id=zone.id, name=name, name_key=fold(name))
        s.add(net)
        s.flush()
        for i in range(n):
            s.add(
                Member(
                    network_id=net.id,
                    name=f"Lid {i}",
                    name_key=f"lid {i}",
                    email=email_of(i),
                    mobile=f"+32470{i:06d}" if mobiles else None,
                    language=language,
                    created_at=now,
                    updated_at=now,
                )
            )
        return int(net.id)


def smtp_settings(sim, **kw):
    from bin_console.config import SmtpSettings

    base = dict(
        host="127.0.0.1",
        port=sim.port,
        security="none",
        from_addr="bin@pz-test.be",
        reply_to="antwoord@pz-test.be",
        training=True,
        timeout=2.0,
        retry_initial_s=0.2,
        retry_max_s=1.0,
    )
    base.update(kw)
    return SmtpSettings(**base)


def wait_until(predicate, timeout: float = 30.0, what: str = "condition"):
    """Poll (never a fixed sleep) until predicate() is truthy; its value, or fail with `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def relay_cert(tmp_path):
    """A throwaway certificate for 127.0.0.1 (openssl) and a server TLS context that uses it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no throwaway certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return cert, ctx
