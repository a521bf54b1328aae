"""SMPP 3.4 command_status values as the sender treats them, with readable meanings for dispatchers."""

from __future__ import annotations

import smpplib.consts as C

THROTTLE = frozenset({C.SMPP_ESME_RTHROTTLED, C.SMPP_ESME_RMSGQFUL})
TRANSIENT = frozenset(
    {
        C.SMPP_ESME_RSYSERR,
        C.SMPP_ESME_RINVBNDSTS,  # the session is in a bad state: resubmit on a fresh bind
        C.SMPP_ESME_RX_T_APPN,
        C.SMPP_ESME_RINVSCHED,
        C.SMPP_ESME_RUNKNOWNERR,
    }
)
# RBINDFAIL is not here: SMSCs send it for passing states too (session limit reached, maintenance)
BIND_CONFIG = frozenset({C.SMPP_ESME_RINVPASWD, C.SMPP_ESME_RINVSYSID})
BIND_TRANSIENT = frozenset({C.SMPP_ESME_RALYBND, C.SMPP_ESME_RSYSERR, C.SMPP_ESME_RTHROTTLED, C.SMPP_ESME_RBINDFAIL})

# Readable meanings for the dispatcher (smpplib's DESCRIPTIONS are terse and some are missing).
_MEANING = {
    C.SMPP_ESME_RINVMSGLEN: "message length invalid",
    C.SMPP_ESME_RINVCMDLEN: "command length invalid",
    C.SMPP_ESME_RINVCMDID: "invalid command",
    C.SMPP_ESME_RINVBNDSTS: "not bound for this command",
    C.SMPP_ESME_RALYBND: "already bound (the SMSC still holds an old session)",
    C.SMPP_ESME_RINVPRTFLG: "invalid priority flag",
    C.SMPP_ESME_RINVREGDLVFLG: "invalid registered-delivery flag",
    C.SMPP_ESME_RSYSERR: "SMSC system error",
    C.SMPP_ESME_RINVSRCADR: "sender (source address) refused",
    C.SMPP_ESME_RINVDSTADR: "invalid destination number",
    C.SMPP_ESME_RINVMSGID: "invalid message id",
    C.SMPP_ESME_RBINDFAIL: "bind refused",
    C.SMPP_ESME_RINVPASWD: "wrong password",
    C.SMPP_ESME_RINVSYSID: "unknown system_id",
    C.SMPP_ESME_RMSGQFUL: "SMSC queue full",
    C.SMPP_ESME_RINVSERTYP: "invalid service type",
    C.SMPP_ESME_RINVESMCLASS: "invalid esm_class",
    C.SMPP_ESME_RSUBMITFAIL: "submit failed (SMSC refused the message)",
    C.SMPP_ESME_RINVSRCTON: "invalid sender TON",
    C.SMPP_ESME_RINVSRCNPI: "invalid sender NPI",
    C.SMPP_ESME_RINVDSTTON: "invalid destination TON",
    C.SMPP_ESME_RINVDSTNPI: "invalid destination NPI",
    C.SMPP_ESME_RINVSYSTYP: "invalid system_type",
    C.SMPP_ESME_RTHROTTLED: "throttled (sending faster than the contract allows)",
    C.SMPP_ESME_RINVSCHED: "invalid scheduled delivery time",
    C.SMPP_ESME_RINVEXPIRY: "invalid validity period",
    C.SMPP_ESME_RX_T_APPN: "temporary application error",
    C.SMPP_ESME_RX_P_APPN: "permanent application error",
    C.SMPP_ESME_RX_R_APPN: "message rejected by the SMSC application",
    C.SMPP_ESME_RINVOPTPARSTREAM: "error in optional parameters",
    C.SMPP_ESME_ROPTPARNOTALLWD: "optional parameter not allowed",
    C.SMPP_ESME_RINVPARLEN: "invalid parameter length",
    C.SMPP_ESME_RMISSINGOPTPARAM: "optional parameter missing",
    C.SMPP_ESME_RINVOPTPARAMVAL: "invalid optional parameter value",
    C.SMPP_ESME_RDELIVERYFAILURE: "delivery failure",
    C.SMPP_ESME_RUNKNOWNERR: "unknown SMSC error",
}


def status_name(status: int) -> str:
    for name in dir(C):
        if name.startswith("SMPP_ESME_") and getattr(C, name) == status:
            return name[len("SMPP_") :]
    return f"0x{status:08X}"


def status_meaning(status: int) -> str:
    """'ESME_RINVDSTADR (0x0B): invalid destination number' — short enough for delivery.error."""
    text = _MEANING.get(status) or C.DESCRIPTIONS.get(status, "unknown status")
    return f"{status_name(status)} (0x{status:02X}): {text}"[:200]


def classify(status: int) -> str:
    """'ok' | 'throttle' | 'transient' | 'permanent' for a submit_sm_resp / generic_nack status."""
    if status == C.SMPP_ESME_ROK:
        return "ok"
    if status in THROTTLE:
        return "throttle"
    if status in TRANSIENT:
        return "transient"
    return "permanent"
