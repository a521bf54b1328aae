"""Command line: `bin-console [command]`. No command opens the console.

Each command lives in the module that owns its service; this file only declares the arguments and
imports the implementation lazily, so `bin-console networks search` never pays for Textual.
Exit codes: 0 ok, 1 partly failed (e.g. some import rows rejected), 2 nothing done / bad input,
78 configuration error (EX_CONFIG: bad config file, no secure keyring, schema behind).
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
import threading

from bin_console import __version__
from bin_console.cli.runtime import create_database_if_missing
from bin_console.config import ConfigError, Settings, load_settings, set_private_umask
from bin_console.i18n import _, activate, choose_language

EX_CONFIG = 78
# Commands that write: on a SQLite file that does not exist yet they start it at the current schema.
# Every other command refuses a missing file (runtime.open_db). `demo` makes its own database.
# `console` does it itself, after the checks of its own settings (a [keys] typo creates nothing).
CREATES_DATABASE = {"send", "import networks", "import members"}
EX_PIPE = 128 + 13  # what a shell reports for a tool ended by SIGPIPE (`export ... | head`)
ROW_ID_MAX = 2**63 - 1  # SQLite INTEGER and PostgreSQL BIGINT

# command path -> "module:function"; each function is (args, settings) -> int
COMMANDS: dict[str, str] = {
    "console": "bin_console.app_main:cmd_console",
    "demo": "bin_console.cli.demo:cmd_demo",
    "db upgrade": "bin_console.cli.db:cmd_upgrade",
    "db current": "bin_console.cli.db:cmd_current",
    "import networks": "bin_console.directory.importer:cmd_import_networks",
    "import members": "bin_console.directory.importer:cmd_import_members",
    "export members": "bin_console.directory.exporter:cmd_export_members",
    "networks search": "bin_console.directory.service:cmd_networks_search",
    "send": "bin_console.cli.send:cmd_send",
    "alerts show": "bin_console.cli.send:cmd_alerts_show",
    "alerts list": "bin_console.cli.send:cmd_alerts_list",
    "alerts reminders": "bin_console.cli.send:cmd_alerts_reminders",
    "sender": "bin_console.channels.email.service:cmd_sender",
    "smsc-sim": "bin_console.training.smsc_sim:cmd_smsc_sim",
    "smtp-sim": "bin_console.training.smtp_sim:cmd_smtp_sim",
    "credentials set": "bin_console.trust.credentials:cmd_credentials_set",
    "credentials check": "bin_console.trust.credentials:cmd_credentials_check",
    "audit verify": "bin_console.trust.audit:cmd_audit_verify",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bin-console", description=_("Command line: `bin-console [command]`. No command opens the console.")
    )
    p.add_argument("--version", action="version", version=f"bin-console {__version__}")
    p.add_argument(
        "--config", help=_("configuration file (TOML); default $BIN_CONSOLE_CONFIG or the platform config dir")
    )
    p.add_argument("--db", help=_("database URL (sqlite:///PATH or postgresql+psycopg://...); default $BIN_CONSOLE_DB"))
    # no command means `console`: its options get their defaults here; `sub` stays None without an action
    p.set_defaults(sub=None, theme=None, no_blink=False)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    c = sub.add_parser("console", help=_("open the console (the default)"))
    _console_options(c)

    d = sub.add_parser("demo", help=_("create a demo database and open the console on it (training SMSC, no real SMS)"))
    d.add_argument("--path", help=_("where to create the demo database (default: a new temporary folder)"))
    d.add_argument("--force", action="store_true", help=_("replace an existing demo database at --path"))
    d.add_argument("--no-ui", action="store_true", help=_("only create the database and print its URL"))
    _console_options(d)

    db = sub.add_parser("db", help=_("database schema")).add_subparsers(dest="sub", metavar="ACTION", required=True)
    db.add_parser("upgrade", help=_("create or upgrade the schema (keeps a copy of a SQLite file first)"))
    db.add_parser("current", help=_("print the schema revision and whether it is current"))

    imp = sub.add_parser("import", help=_("import networks or members from CSV/XLSX")).add_subparsers(
        dest="sub", metavar="WHAT", required=True
    )
    n = imp.add_parser("networks", help=_("networks and their streets"))
    n.add_argument("file")
    n.add_argument(
        "--zone", help=_("police zone code for networks without one (default: [console] zone, or the only zone)")
    )
    n.add_argument("--dry-run", action="store_true", help=_("check and report, write nothing"))
    n.add_argument(
        "--allow-moves",
        action="store_true",
        help=_("let the file move a network to another municipality or police zone"),
    )
    n.add_argument("--create-zones", action="store_true", help=_("create the police zones the directory does not know"))
    m = imp.add_parser("members", help=_("members of one network"))
    m.add_argument("file")
    m.add_argument("--network", required=True, help=_("network name"))
    m.add_argument("--dry-run", action="store_true", help=_("check and report, write nothing"))

    exp = sub.add_parser("export", help=_("export data")).add_subparsers(dest="sub", metavar="WHAT", required=True)
    e = exp.add_parser("members", help=_("members of one network as spreadsheet-safe CSV"))
    e.add_argument("--network", required=True)
    e.add_argument("-o", "--output", help=_("output file (default: standard output)"))

    nets = sub.add_parser("networks", help=_("networks")).add_subparsers(dest="sub", metavar="ACTION", required=True)
    s = nets.add_parser("search", help=_("ranked matches for a name, street or postcode"))
    s.add_argument("query")
    s.add_argument("--zone", help=_("only this police zone (code)"))
    s.add_argument("--limit", type=positive_int, default=20)

    snd = sub.add_parser("send", help=_("queue and send an alert without the console"))
    snd.add_argument("--network", action="append", default=[], help=_("target network (repeatable)"))
    snd.add_argument("--follow-up", type=positive_int, default=None, metavar="ID", help=_("follow up alert ID"))
    snd.add_argument("--email", action="store_true", help=_("--follow-up: by e-mail instead of the original's channel"))
    body = snd.add_mutually_exclusive_group()
    body.add_argument("--text", help=_("one text for every member"))
    body.add_argument("--template", help=_("template key, e.g. burglary (each member in their language)"))
    for lang in ("nl", "fr", "de", "en"):
        snd.add_argument(
            f"--text-{lang}",
            default=None,
            help=_("the {lang} text (each member gets their language)").format(lang=lang),
        )
    snd.add_argument("--combined", action="store_true", help=_("one text for all: the nl and fr texts joined"))
    snd.add_argument("--lang", default=None, help=_("template language for everyone (nl/fr/de/en)"))
    snd.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help=_("template placeholder"))
    snd.add_argument(
        "--non-urgent",
        "--normal",
        dest="normal",
        action="store_true",
        help=_("non-urgent (e-mail) instead of urgent (SMS)"),
    )
    snd.add_argument("--email-copy", action="store_true", help=_("urgent: also e-mail the members without a mobile"))
    snd.add_argument("--gsm-safe", action="store_true", help=_("rewrite typographic characters to GSM-7"))
    snd.add_argument("--expires", type=int, default=None, help=_("minutes until unsent parts expire"))
    snd.add_argument("--yes", action="store_true", help=_("confirm (required: nothing is sent without it)"))
    snd.add_argument("--wait", action="store_true", help=_("wait for receipts or expiry, not only SMSC acceptance"))
    snd.add_argument("--timeout", type=float, default=None, help=_("give up waiting after this many seconds"))

    al = sub.add_parser("alerts", help=_("alerts")).add_subparsers(dest="sub", metavar="ACTION", required=True)
    a = al.add_parser("show", help=_("per-state counts and failures of one alert"))
    a.add_argument("id", type=positive_int)
    al.add_parser("list", help=_("recent alerts")).add_argument(
        "--limit", type=positive_int, default=20, help=_("how many")
    )
    r = al.add_parser("reminders", help=_("urgent alerts whose closing message (follow-up) is due"))
    r.add_argument("--dismiss", type=positive_int, default=None, metavar="ID", help=_("no follow-up for alert ID"))

    sv = sub.add_parser("sender", help=_("run the SMS and e-mail senders in the foreground (for several consoles)"))
    sv.add_argument("--channel", choices=["sms", "email", "both"], default="both", help=_("which sender(s) to run"))

    sim = sub.add_parser("smsc-sim", help=_("training SMSC on loopback (no real SMS)"))
    sim.add_argument("--port", type=int, default=2775)
    sim.add_argument("--undeliverable", type=float, default=0.0, help=_("share of receipts that say UNDELIV (0-1)"))
    sim.add_argument("--latency-ms", type=float, default=0.0, help=_("delay before each submit_sm_resp"))
    sim.add_argument("--throttle-tps", type=float, default=0.0, help=_("answer ESME_RTHROTTLED above this rate"))
    sim.add_argument(
        "--auto-reply", type=float, default=0.0, help=_("share of delivered messages a member answers (0-1)")
    )

    ms = sub.add_parser("smtp-sim", help=_("training mail server on loopback (keeps what it receives, relays nothing)"))
    ms.add_argument("--port", type=int, default=2525)
    ms.add_argument("--maildir", help=_("also keep each message in this Maildir (any mail reader opens it)"))
    ms.add_argument("--greylist", action="store_true", help=_("answer 451 to each recipient's first attempt"))
    ms.add_argument("--reject", action="append", default=[], metavar="ADDRESS", help=_("answer 550 for this mailbox"))

    cr = sub.add_parser("credentials", help=_("secrets in the OS keyring")).add_subparsers(
        dest="sub", metavar="ACTION", required=True
    )
    cs = cr.add_parser("set", help=_("store a password (prompted, never an argument)"))
    cs.add_argument("service", choices=["smpp", "smtp", "imap"])
    cr.add_parser("check", help=_("which keyring backend is used and which secrets exist (never their values)"))

    au = sub.add_parser("audit", help=_("audit log")).add_subparsers(dest="sub", metavar="ACTION", required=True)
    au.add_parser("verify", help=_("verify the audit hash chain"))
    return p


def positive_int(text: str) -> int:
    """An id or a count: a positive integer that fits a database integer (a larger one crashes the driver)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{text} is not a number").format(text=repr(text))) from None
    if not 1 <= value <= ROW_ID_MAX:
        raise argparse.ArgumentTypeError(_("{text} is out of range (1 to {max})").format(text=text, max=ROW_ID_MAX))
    return value


def _undecodable_argument(argv: list[str]) -> str | None:
    """The first argument that was not valid UTF-8 (Python keeps its bytes as lone surrogates)."""
    for arg in argv:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return None


def _console_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--theme", choices=["auto", "textual-dark", "ansi-dark", "high-contrast"], default=None)
    p.add_argument("--no-blink", action="store_true", help=_("no blinking cursor (slow links)"))


def main(argv: list[str] | None = None) -> int:
    """The `bin-console` command. Called with ``argv`` (tests, other Python code) it returns the exit
    status; as the process's own entry point (no ``argv``) it ends the process when done."""
    try:
        rc = _main(sys.argv[1:] if argv is None else argv)
    except BrokenPipeError:
        # The reader went away (`| head`): end quietly like a Unix tool. Point stdout at /dev/null so
        # the interpreter's final flush does not raise the same error again at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        rc = EX_PIPE
    if argv is None:
        end_process(rc)
    return rc


def end_process(rc: int) -> int:
    """End the process now that the command is done, without Python's teardown of every module.

    Why: that teardown (clearing ~1,500 modules: SQLAlchemy, pydantic, the keyring backends with
    their crypto libraries) took 0.1-0.27 s after every command had finished, measured on `send`
    (issue 8: the whole `bin-console send` against the bare SMPP loop). What the teardown would do
    that matters is done first: atexit handlers (logging's flush, openpyxl's removal of its temp
    files), and stdout/stderr flushed. Every file the code writes is closed by its `with` block, and
    every database write is committed, before a command returns. If any thread that is not a daemon
    is still alive, the interpreter's own shutdown joins it as usual: returns ``rc`` then.
    """
    me = threading.current_thread()
    if any(t is not me and not t.daemon and t.is_alive() for t in threading.enumerate()):
        return rc
    atexit._run_exitfuncs()  # the handlers the interpreter would run (CPython; no public spelling)
    for stream in (sys.stdout, sys.stderr):
        if stream is None:  # started with that descriptor closed (`>&-`): print() wrote nothing
            continue
        try:
            stream.flush()
        except BrokenPipeError:  # the reader went away (`| head`): ends quietly, as main() does
            if stream is sys.stdout:
                rc = rc or EX_PIPE
        except (OSError, ValueError):  # EIO after the SSH session hung up, a closed file: the status stays
            pass
    os._exit(rc)


def _main(argv: list[str]) -> int:
    set_private_umask()
    bad = _undecodable_argument(argv)
    if bad is not None:
        print(
            _("bin-console: argument '{argument}' is not valid UTF-8; nothing done").format(argument=bad),
            file=sys.stderr,
        )
        return 2
    # The parser's help is in the language of the environment: the config (whose path is an
    # argument) is read only after parsing; its ui_language then applies to everything printed later.
    activate(choose_language(None, os.environ))
    parser = build_parser()
    args = parser.parse_args(argv)
    command = args.command or "console"
    key = f"{command} {args.sub}" if args.sub else command
    try:
        settings: Settings = load_settings(args.config, args.db)
    except ConfigError as exc:
        print(_("bin-console: configuration error: {error}").format(error=exc), file=sys.stderr)
        return EX_CONFIG
    # before the command's module is imported, so everything it prints is in that language
    activate(choose_language(settings, os.environ))
    if key in CREATES_DATABASE and not (key.startswith("import ") and args.dry_run):
        rc = create_database_if_missing(settings)
        if rc:
            return rc
    module_name, func_name = COMMANDS[key].split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(func(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
