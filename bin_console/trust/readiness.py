"""Can this console send SMS (or e-mail)? One answer, read once at start-up, that never stops the console opening.

Without a secure credential store, a stored SMPP password or an `[smpp]` account, the console still
opens for directory work and training: the status line shows `reason` and `fix`, and a real (urgent)
send is refused with them before anything is written. The training SMSC needs no password.
The e-mail channel asks the same way for its SMTP/IMAP passwords (``password_readiness``,
bin_console/channels/email/service.py).
Reason and fix are in the operator's language (read once at start-up, after cli.main activated it);
``what`` is an N_() msgid, translated in ``sentence()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bin_console.config import Settings, config_dir
from bin_console.i18n import N_, _
from bin_console.trust.credentials import CredentialStoreUnavailable, Secret, SecretMissing, get_secret


@dataclass(frozen=True)
class Readiness:
    ok: bool
    reason: str = ""  # why SMS cannot be sent, e.g. "no SMPP password stored"
    fix: str = ""  # what the operator does about it, one short instruction
    what: str = N_("SMS cannot be sent")  # what is off: "E-mail cannot be sent", "E-mail replies cannot be read"

    def sentence(self) -> str:
        return _("{what}: {reason}. {fix}").format(what=_(self.what), reason=self.reason, fix=self.fix)


READY = Readiness(ok=True)


def smpp_password(settings: Settings) -> tuple[Readiness, Secret | None]:
    """The readiness and, when ready for a real SMSC, the SMPP password (read once: a keyring may prompt)."""
    if settings.smpp.training:
        return READY, None
    if not settings.smpp.system_id:
        where = settings.config_path or config_dir() / "config.toml"
        fix = _("Set [smpp] host, port and system_id in {path}.").format(path=where)
        return Readiness(False, _("no SMPP account configured"), fix), None
    return password_readiness(settings, "smpp")


def password_readiness(
    settings: Settings, account: str, *, what: str = N_("SMS cannot be sent")
) -> tuple[Readiness, Secret | None]:
    """The readiness and, when ready, the stored password of `account` ("smpp", "smtp", "imap")."""
    try:
        return Readiness(True, what=what), get_secret(account, settings)
    except CredentialStoreUnavailable:
        fix = _("`bin-console credentials check` names the fixes.")
        return Readiness(False, _("no secure credential store"), fix, what), None
    except SecretMissing:
        fix = _("Run `bin-console credentials set {account}`.").format(account=account)
        return Readiness(False, _("no {account} password stored").format(account=account.upper()), fix, what), None
    except Exception as exc:  # a locked keyring, a wrong passphrase: still open the console
        reason = _("the keyring could not be read ({error})").format(error=type(exc).__name__)
        return Readiness(False, reason, _("Run `bin-console credentials check`."), what), None


def sms_readiness(settings: Settings) -> Readiness:
    return smpp_password(settings)[0]
