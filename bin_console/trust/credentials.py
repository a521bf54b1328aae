"""Secrets (SMPP / SMTP passwords): systemd credentials first, then an encrypting OS keyring. Nothing else.

Never plaintext files, environment variables, config keys or command-line arguments (/proc/*/cmdline is
world-readable; env vars reach child processes and crash reports). A ``Secret`` masks itself in repr/str,
so a crash screen that prints locals or a stray log line shows ``Secret('***')``; call ``.reveal()`` only
inline at the point of use. See shared notes/reliability.md §1 and §4.5.
"""

from __future__ import annotations

import ctypes
import getpass
import os
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bin_console.i18n import N_, _
from bin_console.trust.logsetup import MIN_SECRET_LEN

SERVICE_NAME = "bin-console"
SERVICES = ("smpp", "smtp", "imap")
EX_CONFIG = 78
SMPP_PASSWORD_MAX = 8  # SMPP 3.4: 9 octets with the NUL; smpplib silently truncates longer ones
SMPP_SYSTEM_ID_MAX = 15

# Backends that encrypt at rest. Matched on "module.ClassName".
_ALLOWED_BACKENDS = {
    "keyring.backends.SecretService.Keyring",
    "keyring.backends.libsecret.Keyring",
    "keyring.backends.kwallet.DBusKeyring",
    "keyring.backends.kwallet.DBusKeyringKWallet4",
    "keyrings.cryptfile.cryptfile.CryptFileKeyring",
}
_TEST_BACKEND_ENV = "BIN_CONSOLE_ALLOW_TEST_KEYRING"
# The one allowed backend that asks for a passphrase of its own (on the terminal, through getpass).
_PASSPHRASE_BACKEND = "keyrings.cryptfile.cryptfile.CryptFileKeyring"
PR_SET_DUMPABLE = 4  # <linux/prctl.h>
T = TypeVar("T")

FIXES = N_(  # translated where it is shown: _(FIXES)
    "Fixes: (1) over SSH without D-Bus, run the console inside 'dbus-run-session' with an unlocked "
    "gnome-keyring ('gnome-keyring-daemon --unlock --components=secrets'); "
    "(2) or pip install keyrings.cryptfile and set "
    "PYTHON_KEYRING_BACKEND=keyrings.cryptfile.cryptfile.CryptFileKeyring; "
    "(3) for the 'bin-console sender' service, use systemd credentials "
    "(LoadCredentialEncrypted=smpp-password:... in the unit)."
)


class Secret:
    """A secret value that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self):  # pickling would write the value somewhere: refuse
        raise TypeError("a Secret cannot be pickled")


def forbid_core_dumps() -> None:
    """Keep secrets out of core dumps: no core file (RLIMIT_CORE 0), and on Linux not dumpable at all.

    PR_SET_DUMPABLE 0 also covers what RLIMIT_CORE does not: a core_pattern pipe (systemd-coredump,
    apport) and ptrace/`/proc/PID/mem` by other processes of the same user. Called before any secret
    (or the keyring passphrase) is read; idempotent, and it cannot be undone by the process later.
    """
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"prctl(PR_SET_DUMPABLE, 0) failed: {os.strerror(err)}")


class CredentialStoreUnavailable(RuntimeError):
    """No secure place to read or store secrets; the message names the fixes. CLI exit 78."""


class SecretMissing(LookupError):
    """The store works but holds no such secret; the message says which command stores it."""


def _backend_name(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__name__}"


def _backend_ok(backend: object) -> bool:
    if getattr(backend, "is_test_backend", False):
        return os.environ.get(_TEST_BACKEND_ENV) == "1"
    return _backend_name(backend) in _ALLOWED_BACKENDS


def secure_backend():
    """The keyring backend, if it is one we trust; else CredentialStoreUnavailable."""
    try:
        import keyring
        from keyring.backends.chainer import ChainerBackend

        backend = keyring.get_keyring()
    except Exception as exc:  # ModuleNotFoundError from a bad PYTHON_KEYRING_BACKEND / keyringrc.cfg
        message = _(
            "keyring configuration is broken ({error}); check PYTHON_KEYRING_BACKEND "
            "and ~/.config/python_keyring/keyringrc.cfg. {fixes}"
        )
        raise CredentialStoreUnavailable(message.format(error=f"{type(exc).__name__}: {exc}", fixes=_(FIXES))) from None
    name = _backend_name(backend)
    if isinstance(backend, ChainerBackend):
        chained = list(backend.backends)
        bad = [_backend_name(b) for b in chained if not _backend_ok(b)]
        if bad or not chained:
            message = _(
                "keyring chains insecure backends {backends}; set PYTHON_KEYRING_BACKEND to one secure backend. {fixes}"
            )
            raise CredentialStoreUnavailable(message.format(backends=bad or "[none]", fixes=_(FIXES)))
        return backend
    if getattr(backend, "is_test_backend", False) and not _backend_ok(backend):
        message = _("keyring backend {name} is a test backend, refused outside tests. {fixes}")
        raise CredentialStoreUnavailable(message.format(name=name, fixes=_(FIXES)))
    if not _backend_ok(backend):
        message = _("no secure credential store (keyring picked {name}). {fixes}")
        raise CredentialStoreUnavailable(message.format(name=name, fixes=_(FIXES)))
    return backend


def _can_prompt() -> bool:
    """getpass asks on the controlling terminal, else on stdin: is either there?"""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
    except OSError:
        return sys.stdin is not None and sys.stdin.isatty()
    os.close(fd)
    return True


def _no_passphrase(name: str) -> CredentialStoreUnavailable:
    message = _(
        "the keyring {name} needs its passphrase and there is no terminal to ask it on; run this command "
        "in a terminal, or for the 'bin-console sender' service use systemd credentials "
        "(LoadCredentialEncrypted=smpp-password:... in the unit)."
    )
    return CredentialStoreUnavailable(message.format(name=name))


def _backend_call(backend, call: Callable[..., T], *args: str) -> T:
    """backend's `call`(*args), turning a passphrase prompt that cannot be answered into one clear error."""
    name = _backend_name(backend)
    if name == _PASSPHRASE_BACKEND and not _can_prompt():
        raise _no_passphrase(name)
    try:
        return call(*args)
    except EOFError:  # getpass read end-of-file: no passphrase came
        raise _no_passphrase(name) from None


def check_backend() -> str:
    """Name of the keyring backend in use; raises CredentialStoreUnavailable when it is not secure."""
    return _backend_name(secure_backend())


def account_name(service: str, settings=None) -> str:
    """Keyring username: one entry per service and SMPP system_id / SMTP user."""
    who = ""
    if settings is not None:
        if service == "smpp":
            who = settings.smpp.system_id
        elif service == "smtp":
            who = settings.smtp.username
        elif service == "imap":
            who = settings.imap.username
    return f"{service}:{who or 'default'}"


def _from_systemd(service: str) -> Secret | None:
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return None
    path = Path(directory) / f"{service}-password"
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        message = _("cannot read systemd credential {path}: {error}")
        raise CredentialStoreUnavailable(message.format(path=path, error=exc.strerror)) from None
    if raw.endswith("\n"):
        raw = raw[:-1]
    return _registered(Secret(raw))


def _registered(secret: Secret) -> Secret:
    """Every secret we hand out is also known to the log redactor."""
    from bin_console.trust.logsetup import redact

    redact(secret)
    return secret


def get_secret(service: str, settings=None, *, required: bool = True) -> Secret | None:
    """$CREDENTIALS_DIRECTORY/<service>-password, then the keyring. Missing: SecretMissing (or None)."""
    if service not in SERVICES:
        raise ValueError(f"unknown secret {service!r}; expected one of {', '.join(SERVICES)}")
    forbid_core_dumps()
    found = _from_systemd(service)
    if found is not None:
        return found
    backend = secure_backend()
    value = _backend_call(backend, backend.get_password, SERVICE_NAME, account_name(service, settings))
    if value is None:
        if not required:
            return None
        message = _("no {service} password stored for {account}; run 'bin-console credentials set {service}'")
        raise SecretMissing(message.format(service=service, account=account_name(service, settings)))
    return _registered(Secret(value))


def set_secret(service: str, secret: Secret, settings=None) -> str:
    """Store in the (secure) keyring; returns the account name it was stored under."""
    if service not in SERVICES:
        raise ValueError(f"unknown secret {service!r}; expected one of {', '.join(SERVICES)}")
    forbid_core_dumps()
    problem = validate(service, secret, settings)
    if problem:
        raise ValueError(problem)
    backend = secure_backend()
    account = account_name(service, settings)
    _backend_call(backend, backend.set_password, SERVICE_NAME, account, secret.reveal())
    return account


def validate(service: str, secret: Secret, settings=None) -> str | None:
    """Why this secret cannot work, or None."""
    value = secret.reveal()
    if not value:
        return _("the password is empty")
    if service == "smpp":
        if len(value.encode("utf-8")) > SMPP_PASSWORD_MAX:
            return _(
                "an SMPP password has at most {max} characters (SMPP 3.4 allows 8 + NUL, and "
                "smpplib silently truncates longer ones, so the bind would fail with ESME_RINVPASWD)"
            ).format(max=SMPP_PASSWORD_MAX)
        if settings is not None and len(settings.smpp.system_id) > SMPP_SYSTEM_ID_MAX:
            return _(
                "smpp.system_id {system_id} is longer than {max} characters "
                "(SMPP 3.4 limit; smpplib would silently truncate it)"
            ).format(system_id=repr(settings.smpp.system_id), max=SMPP_SYSTEM_ID_MAX)
    if "\n" in value or "\r" in value or "\x00" in value:
        return _("the password contains a line break or NUL")
    if len(value) < MIN_SECRET_LEN:
        # the log redaction skips values this short (they would blank words out of every line)
        return _("the password is shorter than {min} characters").format(min=MIN_SECRET_LEN)
    return None


# --- CLI --------------------------------------------------------------------------------------------


def cmd_credentials_set(args, settings) -> int:
    service = args.service
    try:
        name = check_backend()
    except CredentialStoreUnavailable as exc:
        print(f"bin-console: {exc}", file=sys.stderr)
        return EX_CONFIG
    if service == "smpp" and len(settings.smpp.system_id) > SMPP_SYSTEM_ID_MAX:
        message = _(
            "bin-console: smpp.system_id is longer than {max} characters (SMPP 3.4 limit); fix the config file first"
        )
        print(message.format(max=SMPP_SYSTEM_ID_MAX), file=sys.stderr)
        return 2
    forbid_core_dumps()
    try:
        prompt = _("{service} password for {account}: ").format(
            service=service, account=account_name(service, settings)
        )
        first = Secret(getpass.getpass(prompt))
        second = Secret(getpass.getpass(_("again: ")))
    except (EOFError, KeyboardInterrupt):
        print("\n" + _("bin-console: no password entered; nothing stored"), file=sys.stderr)
        return 2
    if first != second:
        print(_("bin-console: the two entries differ; nothing stored"), file=sys.stderr)
        return 2
    problem = validate(service, first, settings)
    if problem:
        print(_("bin-console: {problem}; nothing stored").format(problem=problem), file=sys.stderr)
        return 2
    try:
        account = set_secret(service, first, settings)
    except CredentialStoreUnavailable as exc:
        print(f"bin-console: {exc}", file=sys.stderr)
        return EX_CONFIG
    except Exception as exc:  # the backend refused (locked keyring, wrong cryptfile passphrase...)
        print(
            _("bin-console: the keyring refused to store it: {error}").format(error=type(exc).__name__), file=sys.stderr
        )
        return EX_CONFIG
    _audit_set(settings, service, account)
    stored = _("{service} password stored in {backend} as {entry}")
    print(stored.format(service=service, backend=name, entry=f"{SERVICE_NAME}/{account}"))
    return 0


def _audit_set(settings, service: str, account: str) -> None:
    """Record that a secret changed (never its value). Best effort: no database is no reason to fail."""
    try:
        from bin_console.cli.runtime import open_db
        from bin_console.trust import audit
        from bin_console.trust.actor import Actor

        db = open_db(settings)
    except Exception:
        return
    try:
        with db.write() as s:
            audit.append(s, Actor.current(), "creds.set", account, {"service": service})
    except Exception:
        pass
    finally:
        db.dispose()


def cmd_credentials_check(args, settings) -> int:
    """Backend name and which secrets exist; never a value."""
    try:
        name = check_backend()
    except CredentialStoreUnavailable as exc:
        print(f"bin-console: {exc}", file=sys.stderr)
        return EX_CONFIG
    forbid_core_dumps()
    print(_("keyring backend: {name}").format(name=name))
    systemd_dir = os.environ.get("CREDENTIALS_DIRECTORY")
    for service in SERVICES:
        if systemd_dir and (Path(systemd_dir) / f"{service}-password").is_file():
            print(_("{service}: present (systemd credential {service}-password)").format(service=service))
            continue
        account = account_name(service, settings)
        try:
            backend = secure_backend()
            present = _backend_call(backend, backend.get_password, SERVICE_NAME, account) is not None
        except CredentialStoreUnavailable as exc:
            print(_("{service}: cannot read ({error})").format(service=service, error=exc))
            continue
        except Exception as exc:  # a locked keyring, a wrong cryptfile passphrase
            print(_("{service}: cannot read ({error})").format(service=service, error=type(exc).__name__))
            continue
        found = _("{service}: present ({entry})") if present else _("{service}: MISSING ({entry})")
        print(found.format(service=service, entry=f"{SERVICE_NAME}/{account}"))
    return 0
