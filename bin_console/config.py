"""Configuration: one TOML file, platform paths, and the database URL.

Resolution: config file from ``--config``, else ``$BIN_CONSOLE_CONFIG``, else
``<platform config dir>/config.toml`` (optional). Database URL from ``--db``, else ``$BIN_CONSOLE_DB``,
else ``[database] url`` in the file, else SQLite in the platform data dir.

Secrets are never read from here: a ``password`` key in ``[smpp]`` or ``[smtp]`` is refused
(see bin_console/trust/credentials.py for where they live).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

import platformdirs

from bin_console.i18n import LANGUAGES, _

APP_NAME = "bin-console"
APP_AUTHOR: Literal[False] = False  # no vendor folder on Windows/macOS


class ConfigError(ValueError):
    """The configuration file is unreadable or holds a bad value. The message says which and where."""


def set_private_umask() -> None:
    """Files we create (database, WAL, logs, exports) are readable by the operator alone."""
    os.umask(0o077)


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR))


@dataclass
class SmppSettings:
    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = ""
    system_type: str = ""
    bind_mode: str = "transceiver"  # transceiver | transmitter (then run a receiver too)
    sender: str = "POLITIE"  # alphanumeric (<= 11 chars, TON 5) or a number (TON 1)
    window: int = 10
    max_tps: float = 50.0
    connect_timeout: float = 10.0
    response_timeout: float = 30.0  # deadline for every submit_sm_resp
    enquire_link_interval: float = 30.0
    enquire_link_timeout: float = 10.0
    reconnect_max: float = 30.0
    validity_minutes: int = 60
    training: bool = False  # the training SMSC: the console shows TRAINING


MAIL_SECURITY = ("starttls", "tls", "none")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


@dataclass
class SmtpSettings:
    """The e-mail channel's relay. The password comes from `bin-console credentials set smtp`."""

    host: str = "127.0.0.1"
    port: int = 587
    security: str = "starttls"  # starttls | tls (implicit, usually port 465) | none (loopback only)
    ca_file: str = ""  # CA bundle for the relay's certificate (a police PKI); empty: the system's
    username: str = ""  # empty: no AUTH (a relay that trusts the host)
    from_addr: str = "bin@politie.invalid"
    reply_to: str = ""  # the mailbox the console reads over IMAP ([imap]); empty: no Reply-To
    unsubscribe_url: str = ""  # one-click POST target, "{token}" replaced; empty: mailto only
    max_per_minute: int = 0  # 0: no limit (a Microsoft 365 mailbox allows about 30)
    connections: int = 1  # parallel SMTP sessions
    timeout: float = 30.0  # per SMTP command, the answer after the final dot included
    retry_initial_s: float = 5.0  # first back-off after a 4xx answer, doubled each time
    retry_max_s: float = 900.0
    max_attempts: int = 8  # 4xx answers before a delivery is failed with the last one
    training: bool = False  # the training mail server: the console shows TRAINING
    # set by load_settings when the file has an [smtp] section (not a setting: _apply refuses it)
    in_file: bool = field(default=False, metadata={"internal": True})

    @property
    def configured(self) -> bool:
        """An e-mail sender is wanted: [smtp] is in the config file, or the settings were changed in
        code (the demo's training mail server). A console without [smtp] sends no e-mail at all,
        rather than trying 127.0.0.1:587."""
        return self != SmtpSettings()


@dataclass
class ImapSettings:
    """The Reply-To mailbox. The password comes from `bin-console credentials set imap`."""

    host: str = ""  # empty: replies by e-mail are not read
    port: int = 993
    security: str = "tls"  # tls | starttls | none (loopback only)
    ca_file: str = ""  # CA bundle for the server's certificate (a police PKI); empty: the system's
    username: str = ""
    mailbox: str = "INBOX"
    poll_s: float = 30.0
    timeout: float = 30.0  # per socket operation: connect, TLS handshake, login, each command


@dataclass
class Settings:
    db_url: str = ""
    config_path: Path | None = None
    zone: str | None = None  # default police zone code for new networks and the search filter
    smpp: SmppSettings = field(default_factory=SmppSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    imap: ImapSettings = field(default_factory=ImapSettings)
    ui_theme: str = "auto"  # auto | textual-dark | ansi-dark | high-contrast
    # true | false | "auto": off over SSH and on the Linux VT (bin_console/terminal.py); plain
    # true/false from older config files keep their meaning.
    cursor_blink: bool | str = "auto"
    alert_expiry_minutes: int = 60
    language: str = "nl"  # default template language, and the text a member gets when theirs is missing
    # after an urgent SMS alert, remind the dispatcher this long after that a closing message is due
    followup_reminder_minutes: int = 45
    # [keys]: binding id -> key(s), e.g. compose = "f4" or quit = "ctrl+q,f10" (the console checks the ids)
    keys: dict[str, str] = field(default_factory=dict)
    ui_language: str = "auto"  # the console's own language: auto (from the locale) | en | nl | fr


_SECRET_KEYS = {"password", "passwd", "secret", "token"}


def _apply(section: object, values: dict, where: str) -> None:
    known = {f.name: f for f in fields(section) if not f.metadata.get("internal")}  # type: ignore[arg-type]
    for key, value in values.items():
        if key.lower() in _SECRET_KEYS:
            raise ConfigError(
                _(
                    "{setting}: secrets do not belong in the config file; "
                    "use `bin-console credentials set` (OS keyring) or systemd credentials"
                ).format(setting=f"{where}.{key}")
            )
        if key not in known:
            raise ConfigError(_("{setting}: unknown setting").format(setting=f"{where}.{key}"))
        current = getattr(section, key)
        if isinstance(current, bool):
            if not isinstance(value, bool):
                raise ConfigError(
                    _("{setting}: expected true or false, got {value}").format(
                        setting=f"{where}.{key}", value=repr(value)
                    )
                )
        elif isinstance(current, int | float) and not isinstance(current, bool):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(
                    _("{setting}: expected a number, got {value}").format(setting=f"{where}.{key}", value=repr(value))
                )
            value = type(current)(value)
        elif isinstance(current, str) and not isinstance(value, str):
            raise ConfigError(
                _("{setting}: expected text, got {value}").format(setting=f"{where}.{key}", value=repr(value))
            )
        setattr(section, key, value)


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'bin-console.db'}"


def refuse_password_in_url(url: str, where: str) -> None:
    """A password in the database URL ends up in shell history, ps output and config backups: refuse it.

    The message never repeats the URL (it holds the password).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        u = make_url(url)
    except ArgumentError:
        return  # not a URL we can read: the database layer reports that, without a password check
    if u.password or any(k.lower() == "password" for k in u.query):
        raise ConfigError(
            _(
                "the database URL from {where} contains a password: remove it. PostgreSQL (libpq) reads the"
                " password by itself from ~/.pgpass, or from the file named by PGPASSFILE, which must be mode 0600"
                " (line: host:port:database:user:password); under systemd, deliver that file as a credential"
                " (LoadCredential=pgpass:... and PGPASSFILE=%d/pgpass)"
            ).format(where=where)
        )


def load_settings(config: str | os.PathLike | None = None, db: str | None = None) -> Settings:
    s = Settings()
    path: Path | None = None
    if config is not None:
        path = Path(config)
        if not path.exists():
            raise ConfigError(_("config file {path} does not exist").format(path=path))
    elif os.environ.get("BIN_CONSOLE_CONFIG"):
        path = Path(os.environ["BIN_CONSOLE_CONFIG"])
        if not path.exists():
            raise ConfigError(_("config file {path} (from BIN_CONSOLE_CONFIG) does not exist").format(path=path))
    else:
        candidate = config_dir() / "config.toml"
        path = candidate if candidate.exists() else None
    raw: dict = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(_("cannot read config file {path}: {error}").format(path=path, error=exc)) from None
        s.config_path = path
    for name, values in raw.items():
        if not isinstance(values, dict):
            raise ConfigError(_("{name}: expected a [section]").format(name=name))
        if name == "smpp":
            _apply(s.smpp, values, "smpp")
        elif name == "smtp":
            _apply(s.smtp, values, "smtp")
            s.smtp.in_file = True
        elif name == "imap":
            _apply(s.imap, values, "imap")
        elif name == "database":
            for k, v in values.items():
                if k != "url" or not isinstance(v, str):
                    raise ConfigError(_("{setting}: only `url` (text) is allowed").format(setting=f"database.{k}"))
                # refused even when --db or the environment overrides it: the file still holds it
                refuse_password_in_url(v, "[database] url in the config file")
                s.db_url = v
        elif name == "console":
            _apply_console(s, values)
        elif name == "keys":
            s.keys = _parse_keys(values)
        else:
            raise ConfigError(_("[{name}]: unknown section").format(name=name))
    where = "[database] url in the config file"
    if db:
        s.db_url, where = db, "--db"
    elif os.environ.get("BIN_CONSOLE_DB"):
        s.db_url, where = os.environ["BIN_CONSOLE_DB"], "BIN_CONSOLE_DB"
    if s.db_url:
        refuse_password_in_url(s.db_url, where)
    if not s.db_url:
        s.db_url = default_db_url()
    if len(s.smpp.sender) > 11 and not s.smpp.sender.lstrip("+").isdigit():
        raise ConfigError(_("smpp.sender: an alphanumeric sender has at most 11 characters"))
    _check_mail_security("smtp", s.smtp.security, s.smtp.host)
    if s.imap.host:
        _check_mail_security("imap", s.imap.security, s.imap.host)
    if not all(a.isascii() for a in (s.smtp.from_addr, s.smtp.reply_to)):
        # smtplib speaks ASCII: a non-ASCII sender would fail every e-mail of every alert as unsendable
        raise ConfigError(_("smtp.from_addr, smtp.reply_to: ASCII addresses (an accented domain in punycode, xn--...)"))
    if s.smtp.connections < 1:
        raise ConfigError(_("smtp.connections: at least 1"))
    if s.smtp.max_per_minute < 0:
        raise ConfigError(_("smtp.max_per_minute: 0 (no limit) or more"))
    if s.imap.timeout <= 0:
        raise ConfigError(_("imap.timeout: more than 0 seconds"))
    _check_training(s)
    return s


def _check_training(s: Settings) -> None:
    """One console is in training or it is not. The console stamps an alert with one training flag
    (smpp.training) and each sender claims only the rows of its own flag, so with the training SMSC and
    a real relay (or the reverse) the e-mails would wait forever, never sent. Refused rather than
    guessed: a section that does not say `training` is real (false), and taking the other section's
    flag could send a training session's e-mails through a real relay to real members."""
    if s.smpp.training != s.smtp.training:
        message = _(
            "[smpp] training = {smpp} but [smtp] training = {smtp}: the alerts of one channel would never be "
            "sent. Set training to true in both (the training SMSC and the training mail server) or to false "
            "in both"
        )
        flag = {True: "true", False: "false"}
        raise ConfigError(message.format(smpp=flag[s.smpp.training], smtp=flag[s.smtp.training]))


def _parse_keys(values: dict) -> dict[str, str]:
    """[keys] binding-id = "key[,key...]". Which ids exist is the console's to say (bin_console.app
    checks them before the TUI starts); here only the shape."""
    out: dict[str, str] = {}
    for binding_id, keys in values.items():
        if not isinstance(keys, str) or not keys.strip():
            raise ConfigError(
                _('{setting}: expected a key such as "f4" or "ctrl+n", got {value}').format(
                    setting=f"keys.{binding_id}", value=repr(keys)
                )
            )
        out[binding_id] = keys.strip()
    return out


def _check_mail_security(where: str, security: str, host: str) -> None:
    """Plain text only towards this machine: a password or a member's address never crosses a network bare."""
    if security not in MAIL_SECURITY:
        raise ConfigError(
            _("{setting}: one of {choices}, not {value}").format(
                setting=f"{where}.security", choices=", ".join(MAIL_SECURITY), value=repr(security)
            )
        )
    if security == "none" and host not in LOOPBACK_HOSTS:
        raise ConfigError(
            _('{setting} = "none" is only allowed towards loopback, not {host}').format(
                setting=f"{where}.security", host=repr(host)
            )
        )


def _apply_console(s: Settings, values: dict) -> None:
    allowed = {
        "zone": str,
        "ui_theme": str,
        "cursor_blink": bool,
        "alert_expiry_minutes": int,
        "language": str,
        "ui_language": str,
        "followup_reminder_minutes": int,
    }
    for k, v in values.items():
        if k not in allowed:
            raise ConfigError(_("{setting}: unknown setting").format(setting=f"console.{k}"))
        if k == "cursor_blink":  # tri-state: true | false | "auto"
            if v != "auto" and not isinstance(v, bool):
                raise ConfigError(
                    _('console.cursor_blink: expected bool, got {value} (true, false or "auto")').format(value=repr(v))
                )
            s.cursor_blink = v
            continue
        if not isinstance(v, allowed[k]) or (allowed[k] is int and isinstance(v, bool)):
            raise ConfigError(
                _("{setting}: expected {type}, got {value}").format(
                    setting=f"console.{k}", type=allowed[k].__name__, value=repr(v)
                )
            )
        if k == "followup_reminder_minutes" and isinstance(v, int) and v <= 0:  # int: checked above
            raise ConfigError(
                _("console.followup_reminder_minutes: expected a positive number of minutes, got {value}").format(
                    value=repr(v)
                )
            )
        if k == "ui_language" and v not in ("auto", *LANGUAGES):
            raise ConfigError(
                _("console.ui_language: expected auto, {choices}; got {value}").format(
                    choices=", ".join(LANGUAGES), value=repr(v)
                )
            )
        setattr(s, k, v)
