"""Input validation: Belgian numbers, e-mail, names and value sets."""

from __future__ import annotations

import phonenumbers
import pytest

from bin_console.directory.validation import (
    ValidationError,
    check_kind,
    check_name,
    check_postcode,
    check_sender,
    parse_date_text,
    parse_email,
    parse_landline,
    parse_mobile,
    validate_member,
)


@pytest.mark.parametrize(
    "raw, e164",
    [
        ("0475 12 34 56", "+32475123456"),
        ("0475/12.34.56", "+32475123456"),
        ("+32 475 12 34 56", "+32475123456"),
        ("0032475123456", "+32475123456"),
        ("32475123456", "+32475123456"),
        ("+32 (0)470 12 34 56", "+32470123456"),
        ("0470-12-34-56", "+32470123456"),
        ("+32 460 12 34 56", "+32460123456"),
        ("475123456", "+32475123456"),  # an XLSX number cell lost its leading 0
        ("'+32475123456", "+32475123456"),  # spreadsheet-safe export prefix
    ],
)
def test_mobile_accepted(raw, e164):
    assert parse_mobile(raw) == e164


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("047012345", "not a valid Belgian number"),
        ("04701234567", "not a valid Belgian number"),
        ("02 511 22 33", "landline"),
        ("0800 12 345", "free-phone"),
        ("+31 6 12345678", "foreign"),
        ("+33 6 12 34 56 78", "foreign"),
        ("Tel: 0470 12 34 56", "not a phone number"),
        ("0470-ABC-123", "not a phone number"),
        ("=1+1", "not a phone number"),
        ("+32470123456;cmd", "not a phone number"),
        ("", "empty"),
        ("12345", "not a phone number"),
    ],
)
def test_mobile_rejected_with_reason(raw, reason):
    with pytest.raises(ValueError, match=reason):
        parse_mobile(raw)


def test_fast_path_agrees_with_phonenumbers():
    """The digits fast path must give exactly what the full library gives, or defer to it."""
    samples = [f"04{a}{b} {c:02d} {d:02d} {e:02d}" for a in range(10) for b in (0, 5, 9) for c, d, e in [(12, 34, 56)]]
    samples += [s.replace("04", "+32 4", 1) for s in samples] + [s.replace("04", "00324", 1) for s in samples]
    for s in samples:
        try:
            got = parse_mobile(s)
        except ValueError:
            got = None
        num = phonenumbers.parse(s, "BE")
        ok = phonenumbers.is_valid_number(num) and phonenumbers.number_type(num) == phonenumbers.PhoneNumberType.MOBILE
        want = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164) if ok else None
        assert got == want, s


def test_landline():
    assert parse_landline("02 511 22 33") == "+3225112233"
    assert parse_landline("0475 12 34 56") == "+32475123456"  # a mobile is callable too
    with pytest.raises(ValueError):
        parse_landline("0800 12 345")
    with pytest.raises(ValueError):
        parse_landline("Tel 02 511 22 33")


@pytest.mark.parametrize(
    "raw, out",
    [
        ("Jan.Peeters@EXAMPLE.BE", "Jan.Peeters@example.be"),
        ("  jan@example.be ", "jan@example.be"),
        ("a--b@x.be", "a--b@x.be"),
        ("jan+bin@sub.example.be", "jan+bin@sub.example.be"),
    ],
)
def test_email_ok(raw, out):
    assert parse_email(raw) == out


@pytest.mark.parametrize(
    "raw",
    [
        "jan@localhost",
        "jan@@example.be",
        "jan peeters@example.be",
        '"=HYPERLINK(1)"@example.be',
        "jan@example.be>",
        "jan@example.be\r\nBcc: all@evil.example",
        "jan@x.test",
        "jan@ab--cd.be",
        "a..b@example.be",
        ".jan@example.be",
        "x" * 70 + "@example.be",
        "jän@example.be",
        "",
    ],
)
def test_email_rejected(raw):
    with pytest.raises(ValueError):
        parse_email(raw)


@pytest.mark.parametrize("bad", ["=HYPERLINK(1)", "+cmd", "-2+3", "@SUM(A1)", "Jan\x1b[2JPeeters", "", "x" * 121])
def test_name_rejected(bad):
    with pytest.raises(ValueError):
        check_name(bad)


def test_name_ok_keeps_brackets_and_accents():
    assert check_name("  Renée [bis] Vandenbroucke-Özdemir ") == "Renée [bis] Vandenbroucke-Özdemir"


def test_sender_kind_postcode_dates():
    assert check_sender("POLITIE") == "POLITIE"
    assert check_sender("") is None
    with pytest.raises(ValueError, match="11"):
        check_sender("POLITIEZONE5")
    assert check_kind("Z-BIN") == "ZBIN" and check_kind("PLP-I") == "ZBIN" and check_kind("plp") == "BIN"
    with pytest.raises(ValueError):
        check_kind("WhatsApp")
    assert check_postcode("B-9100") == "9100"
    with pytest.raises(ValueError):
        check_postcode("91000")
    assert str(parse_date_text("05/03/2021")) == "2021-03-05"
    assert str(parse_date_text("2021-03-05")) == "2021-03-05"
    with pytest.raises(ValueError):
        parse_date_text("31/02/2021")


def test_validate_member_lists_every_bad_field():
    with pytest.raises(ValidationError) as ei:
        validate_member({"name": "=x", "mobile": "02 511 22 33", "language": "es", "role": "boss", "status": "gone"})
    assert set(ei.value.errors) == {"name", "mobile", "language", "role", "status"}
    ok = validate_member({"name": "Jan", "mobile": "0475 12 34 56", "language": "FR"})
    assert ok["mobile"] == "+32475123456" and ok["language"] == "fr" and ok["status"] == "active"
