"""`bin-console demo`: a fresh demo database and the console on it, sending only to the training SMSC.

The demo never touches the operator's real database or SMSC: it creates its own SQLite file (a new
temporary folder unless --path), and points the SMPP settings at an in-process training SMSC on
loopback, so a dispatcher can practise sending alerts with nothing leaving the machine.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from pathlib import Path

from .config import Settings
from .data.demo.generate import generate_demo
from .data.engine import Database
from .data.schema import upgrade

DEMO_DB_NAME = "bin-console-demo.db"
SIM_UNDELIVERABLE = 0.03  # a few failed receipts, so the monitor screen shows what failure looks like
SIM_AUTO_REPLY = 0.05  # a few members answer (one in five of those says STOP), so the inbox has work


def create_demo_db(path_dir: str | os.PathLike | None, *, force: bool = False, seed: int = 5999) -> tuple[str, dict]:
    """Create, upgrade and fill the demo database; returns (url, counts). FileExistsError without force."""
    folder = Path(path_dir) if path_dir else Path(tempfile.mkdtemp(prefix="bin-console-demo-"))
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    db_file = folder / DEMO_DB_NAME
    if db_file.exists():
        if not force:
            raise FileExistsError(f"{db_file} already exists; use --force to replace it")
        for suffix in ("", "-wal", "-shm", "-journal", ".pre-upgrade"):
            Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{db_file}"
    db = Database.from_url(url)
    try:
        upgrade(db, backup=False)
        counts = generate_demo(db, seed=seed)
    finally:
        db.dispose()
    return url, counts


def cmd_demo(args, settings: Settings) -> int:  # noqa: ANN001
    try:
        url, counts = create_demo_db(getattr(args, "path", None), force=getattr(args, "force", False))
    except FileExistsError as exc:
        print(f"bin-console: {exc}", file=sys.stderr)
        return 2
    print(f"demo database: {url}")
    print(
        f"  {counts['networks']} networks, {counts['streets']} streets, {counts['members']} members, "
        f"{counts['templates']} templates (police zone PZ Demerdal, fictitious)"
    )
    settings.db_url = url
    if getattr(args, "no_ui", False):
        print(f"open it with: bin-console --db {url}")
        return 0
    return _run_with_training_smsc(args, settings)


def _run_with_training_smsc(args, settings: Settings) -> int:  # noqa: ANN001
    try:
        from .app_main import cmd_console
        from .smsc_sim import SmscSim
    except ImportError as exc:
        print(
            f"bin-console: the demo database is ready, but the console cannot start in this build ({exc}); "
            f"use --no-ui, or open it later with: bin-console --db {settings.db_url}",
            file=sys.stderr,
        )
        return 2
    from .smtp_sim import SmtpSim

    sim = SmscSim(port=0, undeliverable=SIM_UNDELIVERABLE, auto_reply=SIM_AUTO_REPLY)
    # the demo never sends real e-mail: a training mail server keeps every message in a Maildir
    maildir = Path(settings.db_url.removeprefix("sqlite:///")).parent / "training-mail"
    mail = SmtpSim(port=0, maildir=maildir)
    sim.start()
    mail.start()
    try:
        settings.smpp = dataclasses.replace(
            settings.smpp, host="127.0.0.1", port=sim.port, system_id="training", training=True, sender="POLITIE"
        )
        settings.smtp = dataclasses.replace(
            settings.smtp, host="127.0.0.1", port=mail.port, security="none", username="", training=True
        )
        settings.imap = dataclasses.replace(settings.imap, host="")
        print(f"training SMSC on 127.0.0.1:{sim.port} - nothing is sent to real phones")
        print(f"training mail server on 127.0.0.1:{mail.port} - e-mails are kept in {maildir}")
        # the same path as `bin-console console`: theme options, schema check, embedded sender, logging
        return int(cmd_console(args, settings))
    finally:
        mail.stop()
        sim.stop()
