"""Can this console send SMS? One answer, read once at start-up, that never stops the console opening.

Without a secure credential store, a stored SMPP password or an `[smpp]` account, the console still
opens for directory work and training: the status line shows `reason` and `fix`, and a real (urgent)
send is refused with them before anything is written. The training SMSC needs no password.
Reason and fix are in the operator's language (read once at start-up, after cli.main activated it).
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Settings, config_dir
from .credentials import CredentialStoreUnavailable, Secret, SecretMissing, get_secret
from .i18n import _


@dataclass(frozen=True)
class Readiness:
    ok: bool
    reason: str = ""  # why SMS cannot be sent, e.g. "no SMPP password stored"
    fix: str = ""  # what the operator does about it, one short instruction

    def sentence(self) -> str:
        return _("SMS cannot be sent: {reason}. {fix}").format(reason=self.reason, fix=self.fix)


READY = Readiness(ok=True)


def smpp_password(settings: Settings) -> tuple[Readiness, Secret | None]:
    """The readiness and, when ready for a real SMSC, the SMPP password (read once: a keyring may prompt)."""
    if settings.smpp.training:
        return READY, None
    if not settings.smpp.system_id:
        where = settings.config_path or config_dir() / "config.toml"
        fix = _("Set [smpp] host, port and system_id in {path}.").format(path=where)
        return Readiness(False, _("no SMPP account configured"), fix), None
    try:
        return READY, get_secret("smpp", settings)
    except CredentialStoreUnavailable:
        fix = _("`bin-console credentials check` names the fixes.")
        return Readiness(False, _("no secure credential store"), fix), None
    except SecretMissing:
        return Readiness(False, _("no SMPP password stored"), _("Run `bin-console credentials set smpp`.")), None
    except Exception as exc:  # noqa: BLE001 - a locked keyring, a wrong passphrase: still open the console
        reason = _("the keyring could not be read ({error})").format(error=type(exc).__name__)
        return Readiness(False, reason, _("Run `bin-console credentials check`.")), None


def sms_readiness(settings: Settings) -> Readiness:
    return smpp_password(settings)[0]
