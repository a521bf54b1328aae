"""Validation of directory input: phone numbers, e-mail addresses, names and the member/network value sets.

Every parser returns the stored form or raises ``ValueError`` with a reason a coordinator can act on.
The same functions serve the member form, the directory service and the importer, so a number that
the form refuses is refused by an import too.

Speed matters for imports (>= 20,000 rows/s): the common shapes (Belgian mobiles, plain ASCII e-mail
addresses) take a fast path checked against the libraries' own rules; everything else goes through
``phonenumbers`` / ``email-validator`` in full.
"""

from __future__ import annotations

import re
from datetime import date, datetime

import email_validator
import idna
import phonenumbers
from phonenumbers import PhoneNumberType

from bin_console.data.models import LANGUAGES, MEMBER_ROLES, MEMBER_STATUSES, NETWORK_KINDS, NETWORK_STATUSES
from bin_console.i18n import N_, _
from bin_console.trust.textsafe import has_control_chars

DEFAULT_REGION = "BE"
COUNTRY_CODE = 32


class ValidationError(ValueError):
    """One or more fields are invalid: ``errors`` maps field name -> reason."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class DuplicateMemberError(ValueError):
    """The member clashes with another member of the same network on ``field`` (mobile, email or name)."""

    def __init__(self, clash_id: int, clash_name: str, field: str):
        self.clash_id = clash_id
        self.clash_name = clash_name
        self.field = field
        messages = {
            "mobile": N_("same mobile number as member {name} (#{id}) in this network"),
            "email": N_("same e-mail address as member {name} (#{id}) in this network"),
            "name": N_("same name and address as member {name} (#{id}) in this network"),
        }
        message = (
            _(messages[field]) if field in messages else _("same {field} as member {name} (#{id}) in this network")
        )
        super().__init__(message.format(field=field, name=repr(clash_name), id=clash_id))


# --- phone numbers ----------------------------------------------------------------------------------

# phonenumbers.parse is lenient ("Tel: 0470 12 34 56" parses), so the characters are gated first.
_PHONE_CHARS = re.compile(r"[0-9+()./\- ]{6,25}")
_TRUNK_IN_BRACKETS = re.compile(r"\(\s*0\s*\)")
# The fast path uses the library's own BE mobile pattern, so both paths agree when the metadata changes.
_BE_METADATA = phonenumbers.PhoneMetadata.metadata_for_region(DEFAULT_REGION)
assert _BE_METADATA is not None and _BE_METADATA.mobile is not None  # the library ships BE
assert _BE_METADATA.mobile.national_number_pattern is not None
_BE_MOBILE_NSN = re.compile(_BE_METADATA.mobile.national_number_pattern)
_LANDLINE_TYPES = {PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.VOIP}
_TYPE_NAMES = {
    # N_() msgids, translated where the reason is built
    PhoneNumberType.FIXED_LINE: N_("a landline"),
    PhoneNumberType.TOLL_FREE: N_("a free-phone (0800) number"),
    PhoneNumberType.PREMIUM_RATE: N_("a premium-rate (090x) number"),
    PhoneNumberType.SHARED_COST: N_("a shared-cost number"),
    PhoneNumberType.VOIP: N_("a VoIP number"),
    PhoneNumberType.PAGER: N_("a pager number"),
    PhoneNumberType.UAN: N_("a service number"),
    PhoneNumberType.VOICEMAIL: N_("a voicemail number"),
    PhoneNumberType.MOBILE: N_("a mobile number"),
}


def _gate(raw: str) -> str:
    s = (raw or "").strip()
    if not s:
        raise ValueError(_("empty"))
    # A spreadsheet-safe export prefixes phone cells with ' (see exporter); take them back.
    if s.startswith("'"):
        s = s[1:].strip()
    if not _PHONE_CHARS.fullmatch(s):
        reason = _("{value} is not a phone number (only digits, spaces and + ( ) . / - allowed, 6-25 characters)")
        raise ValueError(reason.format(value=repr(s)))
    return s


def _national_digits(s: str) -> str | None:
    """The Belgian national significant number for the plain shapes, or None (then the slow path decides)."""
    s = _TRUNK_IN_BRACKETS.sub("", s)
    plus = s.startswith("+")
    digits = re.sub(r"\D", "", s)
    if plus:
        return digits[2:] if digits.startswith("32") else None
    if digits.startswith("0032"):
        return digits[4:]
    if digits.startswith("0") and not digits.startswith("00"):
        return digits[1:]
    if digits.startswith("32") and len(digits) == 11:
        return digits[2:]
    return None


def _parse(s: str) -> phonenumbers.PhoneNumber:
    try:
        num = phonenumbers.parse(s, DEFAULT_REGION)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(_("{value} is not a phone number ({error})").format(value=repr(s), error=exc._msg)) from None
    if num.country_code != COUNTRY_CODE:
        region = phonenumbers.region_code_for_number(num) or f"+{num.country_code}"
        reason = _("{value} is a foreign number ({region}); only Belgian (+32) numbers are accepted")
        raise ValueError(reason.format(value=repr(s), region=region))
    if not phonenumbers.is_valid_number(num):
        reason = _("{value} is not a valid Belgian number (too short, too long or unknown range)")
        raise ValueError(reason.format(value=repr(s)))
    return num


def parse_mobile(raw: str) -> str:
    """A Belgian mobile number in E.164 (``+32475123456``), the only kind of number an SMS goes to."""
    s = _gate(raw)
    nsn = _national_digits(s)
    if nsn is not None and _BE_MOBILE_NSN.fullmatch(nsn):
        return f"+{COUNTRY_CODE}{nsn}"
    num = _parse(s)
    kind = phonenumbers.number_type(num)
    if kind != PhoneNumberType.MOBILE:
        what = _(_TYPE_NAMES[kind]) if kind in _TYPE_NAMES else _("not a mobile number")
        if kind in _LANDLINE_TYPES:
            reason = _("{value} is {what}, not a mobile number (it can be stored as landline, but never receives SMS)")
        else:
            reason = _("{value} is {what}, not a mobile number")
        raise ValueError(reason.format(value=repr(s), what=what))
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def parse_landline(raw: str) -> str:
    """Any callable Belgian number (fixed line, VoIP, or a mobile given as 'phone') in E.164. Never an SMS target."""
    s = _gate(raw)
    num = _parse(s)
    kind = phonenumbers.number_type(num)
    if kind not in _LANDLINE_TYPES and kind != PhoneNumberType.MOBILE:
        what = _(_TYPE_NAMES[kind]) if kind in _TYPE_NAMES else _("not a personal number")
        raise ValueError(_("{value} is {what}, not a member's phone").format(value=repr(s), what=what))
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def is_mobile(e164: str | None) -> bool:
    nsn = e164[3:] if e164 and e164.startswith("+32") else ""
    return bool(nsn) and bool(_BE_MOBILE_NSN.fullmatch(nsn))


# --- e-mail -----------------------------------------------------------------------------------------

_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_FAST_EMAIL = re.compile(rf"({_LOCAL})@((?:{_LABEL}\.)+[A-Za-z]{{2,63}})")
_SPECIAL = tuple(
    getattr(email_validator, "SPECIAL_USE_DOMAIN_NAMES", ("arpa", "invalid", "local", "localhost", "onion", "test"))
)


# all current special-use names are single labels: a set lookup on the last label (the fast path's hot spot)
_SPECIAL_TLDS = frozenset(d for d in _SPECIAL if "." not in d)
_SPECIAL_MULTI = tuple(d for d in _SPECIAL if "." in d)


def parse_email(raw: str) -> str:
    """A deliverable-looking address, normalised (domain lower case). No DNS lookups (isolated hosts).

    An internationalised domain is stored in its ASCII (punycode) form, typed either way:
    ``jan@café.be`` -> ``jan@xn--caf-dma.be``. That is the form SMTP carries (smtplib sends commands
    in ASCII; a Unicode domain raised UnicodeEncodeError in the sender), and the one shown: a
    dispatcher sees the address that is really used, and a look-alike letter in a domain cannot pass
    for another (browsers show punycode for the same reason). Replies match both forms (address_forms).
    """
    s = (raw or "").strip()
    if not s:
        raise ValueError(_("empty"))
    m = _FAST_EMAIL.fullmatch(s)
    if m and len(s) <= 254 and len(m.group(1)) <= 64 and "--" not in m.group(2):
        domain = m.group(2).lower()
        if domain.rpartition(".")[2] not in _SPECIAL_TLDS and not any(
            domain == d or domain.endswith("." + d) for d in _SPECIAL_MULTI
        ):
            return f"{m.group(1)}@{domain}"
    try:
        v = email_validator.validate_email(s, check_deliverability=False, strict=True, allow_smtputf8=False)
    except email_validator.EmailNotValidError as exc:
        raise ValueError(_("{value} is not a valid e-mail address: {error}").format(value=repr(s), error=exc)) from None
    return v.ascii_email or v.normalized  # ascii_email is None only for an SMTPUTF8 local part (refused above)


def address_forms(raw: str) -> tuple[str, ...]:
    """The lower-case forms one address may take, the ASCII (punycode) domain first, then the Unicode
    one: a reply's From and a stored address (older rows hold Unicode domains) match when they share
    one. Empty for an empty address; an undecodable domain gives the address as it is."""
    addr = (raw or "").strip().lower()
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain:
        return (addr,) if addr else ()
    forms = [addr]
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
        forms = [f"{local}@{ascii_domain}", addr, f"{local}@{idna.decode(ascii_domain)}"]
    except (idna.IDNAError, UnicodeError, ValueError):
        pass
    return tuple(dict.fromkeys(forms))


# --- text fields ------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@")


def check_text(value: object, *, max_len: int, required: bool = False, what: str = N_("text")) -> str:
    """Trimmed text; refuses control characters, a leading formula character and overlong values.

    ``what`` names the field, an N_() msgid (translated here; the reasons are worded so that no
    adjective agrees with it in French).
    """
    s = "" if value is None else str(value).strip()
    field = _(what)
    if not s:
        if required:
            raise ValueError(_("{field} is required").format(field=field))
        return ""
    if has_control_chars(s):
        raise ValueError(_("{field} contains control characters").format(field=field))
    if s.startswith(_FORMULA_START):
        raise ValueError(_("{field} may not start with = + - or @").format(field=field))
    if len(s) > max_len:
        raise ValueError(_("{field} is longer than {max_len} characters").format(field=field, max_len=max_len))
    return s


def check_name(value: object) -> str:
    return check_text(value, max_len=120, required=True, what=N_("name"))


_POSTCODE = re.compile(r"(?:B\s*-?\s*)?(\d{4})", re.IGNORECASE)


def check_postcode(value: object) -> str:
    s = "" if value is None else str(value).strip()
    if not s:
        return ""
    m = _POSTCODE.fullmatch(s)
    if not m:
        raise ValueError(_("{value} is not a Belgian postcode (4 digits)").format(value=repr(s)))
    return m.group(1)


def check_sender(value: object) -> str | None:
    """Alphanumeric SMS sender (<= 11 plain characters) or a number; empty means the configured default."""
    s = "" if value is None else str(value).strip()
    if not s:
        return None
    if s.lstrip("+").isdigit():
        if len(s) > 16:
            raise ValueError(_("a numeric sender has at most 15 digits"))
        return s
    if len(s) > 11:
        raise ValueError(_("{value}: an alphanumeric SMS sender has at most 11 characters").format(value=repr(s)))
    if not re.fullmatch(r"[A-Za-z0-9 ._-]+", s):
        raise ValueError(_("{value}: an SMS sender may only use A-Z, a-z, 0-9, space . _ -").format(value=repr(s)))
    return s


def check_choice(value: object, allowed: tuple[str, ...], what: str, default: str) -> str:
    s = ("" if value is None else str(value)).strip()
    if not s:
        return default
    low = s.lower()
    if low not in allowed:
        reason = _("{field} {value} is not one of {choices}")
        raise ValueError(reason.format(field=_(what), value=repr(s), choices=", ".join(allowed)))
    return low


def check_date(value: object) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_date_text(str(value))


_DMY = re.compile(r"(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})")
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?")


def parse_date_text(s: str) -> date | None:
    """dd/mm/yyyy (Belgian order, also with - or .), dd/mm/yy, or ISO yyyy-mm-dd."""
    s = s.strip()
    if not s:
        return None
    try:
        m = _YMD.fullmatch(s)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        m = _DMY.fullmatch(s)
        if m:
            year = int(m.group(3))
            if len(m.group(3)) == 2:
                year += 2000 if year < 70 else 1900
            return date(year, int(m.group(2)), int(m.group(1)))
    except ValueError:
        pass
    raise ValueError(_("{value} is not a date (use dd/mm/yyyy or yyyy-mm-dd)").format(value=repr(s)))


# --- whole records ----------------------------------------------------------------------------------

MEMBER_FIELDS = (
    "name",
    "mobile",
    "landline",
    "email",
    "street",
    "house_number",
    "postcode",
    "municipality",
    "language",
    "role",
    "status",
    "consent_date",
    "sms_opt_out",
    "email_opt_out",
)


def _opt(parser, value):
    s = "" if value is None else str(value).strip()
    return parser(s) if s else None


def validate_member(data: dict) -> dict:
    """Check a member record (form or import) and return the stored values; ValidationError lists every bad field."""
    errors: dict[str, str] = {}
    out: dict = {}
    unknown = set(data) - set(MEMBER_FIELDS)
    if unknown:
        errors.update({k: _("unknown field") for k in sorted(unknown)})
    checks = {
        "name": lambda v: check_name(v),
        "mobile": lambda v: _opt(parse_mobile, v),
        "landline": lambda v: _opt(parse_landline, v),
        "email": lambda v: _opt(parse_email, v),
        "street": lambda v: check_text(v, max_len=120, what=N_("street")),
        "house_number": lambda v: check_text(v, max_len=12, what=N_("house number")),
        "postcode": check_postcode,
        "municipality": lambda v: check_text(v, max_len=80, what=N_("municipality")),
        "language": lambda v: check_choice(v, LANGUAGES, N_("language"), ""),  # "": not known
        "role": lambda v: check_choice(v, MEMBER_ROLES, N_("role"), "member"),
        "status": lambda v: check_choice(v, MEMBER_STATUSES, N_("status"), "active"),
        "consent_date": check_date,
        "sms_opt_out": bool,
        "email_opt_out": bool,
    }
    for field, check in checks.items():
        try:
            out[field] = check(data.get(field))
        except ValueError as exc:
            errors[field] = str(exc)
    if errors:
        raise ValidationError(errors)
    # A mobile typed into "phone/landline" would never get an SMS: move it where the alerts look
    # (the importer does the same for a mobile in the landline column).
    if not out["mobile"] and is_mobile(out["landline"]):
        out["mobile"], out["landline"] = out["landline"], None
    return out


NETWORK_FIELDS = (
    "name",
    "kind",
    "municipality",
    "status",
    "charter_signed",
    "coordinator_name",
    "coordinator_phone",
    "coordinator_email",
    "sms_sender",
)

# What coordinators write in the "type" column, mapped to the stored kinds (models.NETWORK_KINDS).
KIND_ALIASES = {"bin": "BIN", "plp": "BIN", "riq": "BIN", "nin": "BIN", "zbin": "ZBIN", "binz": "ZBIN", "plpi": "ZBIN"}


def check_kind(value: object) -> str:
    s = ("" if value is None else str(value)).strip()
    if not s:
        return "BIN"
    key = re.sub(r"[^a-z]", "", s.lower())
    kind = KIND_ALIASES.get(key)
    if kind is None or kind not in NETWORK_KINDS:
        raise ValueError(_("kind {value} is not one of BIN, Z-BIN, PLP, PLP-I").format(value=repr(s)))
    return kind


def _coordinator_phone(value: object) -> str | None:
    s = "" if value is None else str(value).strip()
    if not s:
        return None
    try:
        return parse_mobile(s)
    except ValueError:
        return parse_landline(s)


def validate_network(data: dict, *, partial: bool = False) -> dict:
    """Check network fields; with partial (an update) only the fields given."""
    errors: dict[str, str] = {}
    out: dict = {}
    checks = {
        "name": lambda v: check_text(v, max_len=120, required=True, what=N_("network name")),
        "kind": check_kind,
        "municipality": lambda v: check_text(v, max_len=80, what=N_("municipality")),
        "status": lambda v: check_choice(v, NETWORK_STATUSES, N_("status"), "active"),
        "charter_signed": check_date,
        "coordinator_name": lambda v: check_text(v, max_len=120, what=N_("coordinator")),
        "coordinator_phone": _coordinator_phone,
        "coordinator_email": lambda v: _opt(parse_email, v),
        "sms_sender": check_sender,
    }
    for field, check in checks.items():
        if field not in data:
            continue
        try:
            out[field] = check(data.get(field))
        except ValueError as exc:
            errors[field] = str(exc)
    if not partial and "name" not in data:
        errors["name"] = _("network name is required")
    unknown = set(data) - set(NETWORK_FIELDS)
    errors.update({k: _("unknown field") for k in sorted(unknown)})
    if errors:
        raise ValidationError(errors)
    return out


def validate_street(data: dict) -> dict:
    errors: dict[str, str] = {}
    out: dict = {}
    try:
        out["street"] = check_text(data.get("street"), max_len=120, required=True, what=N_("street"))
    except ValueError as exc:
        errors["street"] = str(exc)
    try:
        out["postcode"] = check_postcode(data.get("postcode"))
    except ValueError as exc:
        errors["postcode"] = str(exc)
    try:
        out["municipality"] = check_text(data.get("municipality"), max_len=80, what=N_("municipality"))
    except ValueError as exc:
        errors["municipality"] = str(exc)
    if errors:
        raise ValidationError(errors)
    return out
