"""`bin-console demo`: a fresh demo database and the console on it, sending only to the training SMSC.

The demo never touches the operator's real database or SMSC: it creates its own SQLite file (in a
temporary folder removed when the console closes, or in --path, where a later run reopens it), and
points the SMPP settings at an in-process training SMSC on loopback, so a dispatcher can practise
sending alerts with nothing leaving the machine.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bin_console.config import Settings
from bin_console.data.demo.generate import generate_demo
from bin_console.data.engine import Database
from bin_console.data.schema import upgrade
from bin_console.i18n import _, number

DEMO_DB_NAME = "bin-console-demo.db"
# Beside the database in --path: the CLI (send, alerts, export...) on the demo and `bin-console smsc-sim`.
TRAINING_CONFIG_NAME = "training.toml"
TRAINING_CONFIG = """\
# Written by `bin-console demo`: the command line on this demo database, sending only to the
# training SMSC that `bin-console smsc-sim` runs on 127.0.0.1:2775 (nothing reaches a real phone).
[database]
url = "{url}"

[smpp]
host = "127.0.0.1"
port = {port}
system_id = "training"
training = true

[smtp]
# `bin-console smtp-sim` (the training mail server) on its default port: nothing reaches a real mailbox
host = "127.0.0.1"
port = 2525
security = "none"
training = true
"""
SIM_UNDELIVERABLE = 0.03  # a few failed receipts, so the monitor screen shows what failure looks like
SIM_AUTO_REPLY = 0.05  # a few members answer (one in five of those says STOP), so the inbox has work


def create_demo_db(path_dir: str | os.PathLike, *, force: bool = False, seed: int = 5999) -> tuple[str, dict]:
    """Create, upgrade and fill the demo database in path_dir; returns (url, counts). FileExistsError without force."""
    folder = Path(path_dir)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    db_file = folder / DEMO_DB_NAME
    if db_file.exists():
        if not force:
            raise FileExistsError(_("{path} already exists; use --force to replace it").format(path=db_file))
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


def write_training_config(folder: Path, url: str, port: int = 2775) -> Path:
    """The demo's config file for the command line (kept if it exists: the operator may have edited it)."""
    path = folder / TRAINING_CONFIG_NAME
    if not path.exists():
        path.write_text(TRAINING_CONFIG.format(url=url, port=port), encoding="utf-8")
    return path


def _print_counts(url: str, counts: dict) -> None:
    print(_("demo database: {url}").format(url=url))
    counted = _(
        "{networks} networks, {streets} streets, {members} members, {templates} templates "
        "(police zone PZ Demerdal, fictitious)"
    )
    print("  " + counted.format(**{k: number(counts[k]) for k in ("networks", "streets", "members", "templates")}))


def cmd_demo(args, settings: Settings) -> int:
    """--path P: create the demo there, or reopen the one already there (--force: a fresh one).
    No --path: a temporary folder, removed again when the console closes."""
    if args.path is None:
        if args.no_ui:
            print(
                _("bin-console: --no-ui needs --path (a temporary demo is removed when the console closes)"),
                file=sys.stderr,
            )
            return 2
        return _temporary_demo(args, settings)
    db_file = Path(args.path) / DEMO_DB_NAME
    if db_file.exists() and not args.force:
        url = f"sqlite:///{db_file}"
        print(_("demo database: {url} (reopened as it was; --force replaces it with a fresh one)").format(url=url))
    else:
        url, counts = create_demo_db(args.path, force=args.force)
        _print_counts(url, counts)
    settings.db_url = url
    config = write_training_config(Path(args.path), url)
    if args.no_ui:
        print(_("open it with: bin-console demo --path {path}").format(path=args.path))
        command_line = _(
            "command line on it: bin-console --config {config} send|alerts|export ... (with `bin-console smsc-sim`)"
        )
        print(command_line.format(config=config))
        return 0
    return _run_with_training_smsc(args, settings)


def _temporary_demo(args, settings: Settings) -> int:
    folder = Path(tempfile.mkdtemp(prefix="bin-console-demo-"))
    try:
        url, counts = create_demo_db(folder)
        _print_counts(url, counts)
        settings.db_url = url
        return _run_with_training_smsc(args, settings)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        print(_("the temporary demo database was removed (bin-console demo --path DIR keeps one)"))


def _run_with_training_smsc(args, settings: Settings) -> int:
    from bin_console.app_main import cmd_console
    from bin_console.training.smsc_sim import SmscSim
    from bin_console.training.smtp_sim import SmtpSim

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
        print(_("training SMSC on 127.0.0.1:{port} - nothing is sent to real phones").format(port=sim.port))
        kept = _("training mail server on 127.0.0.1:{port} - e-mails are kept in {maildir}")
        print(kept.format(port=mail.port, maildir=maildir))
        # the same path as `bin-console console`: theme options, schema check, embedded sender, logging
        return int(cmd_console(args, settings))
    finally:
        mail.stop()
        sim.stop()
