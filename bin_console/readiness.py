"""Can this console send SMS? One answer, read once at start-up, that never stops the console opening.

Without a secure credential store, a stored SMPP password or an `[smpp]` account, the console still
opens for directory work and training: the status line shows `reason` and `fix`, and a real (urgent)
send is refused with them before anything is written. The training SMSC needs no password.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Settings, config_dir
from .credentials import CredentialStoreUnavailable, Secret, SecretMissing, get_secret


@dataclass(frozen=True)
class Readiness:
    ok: bool
    reason: str = ""  # why SMS cannot be sent, e.g. "no SMPP password stored"
    fix: str = ""  # what the operator does about it, one short instruction

    def sentence(self) -> str:
        return f"SMS cannot be sent: {self.reason}. {self.fix}"


READY = Readiness(ok=True)


def smpp_password(settings: Settings) -> tuple[Readiness, Secret | None]:
    """The readiness and, when ready for a real SMSC, the SMPP password (read once: a keyring may prompt)."""
    if settings.smpp.training:
        return READY, None
    if not settings.smpp.system_id:
        where = settings.config_path or config_dir() / "config.toml"
        return Readiness(False, "no SMPP account configured", f"Set [smpp] host, port and system_id in {where}."), None
    try:
        return READY, get_secret("smpp", settings)
    except CredentialStoreUnavailable:
        return Readiness(False, "no secure credential store", "`bin-console credentials check` names the fixes."), None
    except SecretMissing:
        return Readiness(False, "no SMPP password stored", "Run `bin-console credentials set smpp`."), None
    except Exception as exc:  # a locked keyring, a wrong passphrase: still open the console
        return (
            Readiness(
                False, f"the keyring could not be read ({type(exc).__name__})", "Run `bin-console credentials check`."
            ),
            None,
        )


def sms_readiness(settings: Settings) -> Readiness:
    return smpp_password(settings)[0]
