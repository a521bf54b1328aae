"""GSM 03.38 / UCS-2 encoding, splitting and decoding (bin_console.channels.smpp.encoding)."""

from __future__ import annotations

import pytest

from bin_console.channels.smpp.encoding import (
    ConcatInfo,
    EncodedSms,
    add_udh,
    analyse,
    decode,
    encode,
    gsm_safe,
    split_udh,
)

# notes/bin-domain.md §6.2
GSM_SINGLE = "é è à ù ì ò É Ç ä ö ü Ä Ö Ü ß ñ å ø æ".split()
GSM_DOUBLE = ["€", "^", "{", "}", "[", "]", "~", "\\", "|"]
NOT_GSM = list("ëïçêâîôûÈÀÙÌÒÊËÏÔÂÎÛœŒ«»’‘“”„–—…") + ["\u00a0", "`"]


@pytest.mark.parametrize("ch", GSM_SINGLE)
def test_gsm_characters_cost_one_septet(ch):
    a = analyse("x" + ch)
    assert (a.encoding, a.units, a.ucs2_chars) == ("gsm7", 2, [])
    assert len(encode(ch).parts[0]) == 1


@pytest.mark.parametrize("ch", GSM_DOUBLE + ["\f"])
def test_extension_characters_cost_two_septets(ch):
    a = analyse("x" + ch)
    assert (a.encoding, a.units, a.chars) == ("gsm7", 3, 2)
    assert encode(ch).parts[0][0] == 0x1B


@pytest.mark.parametrize("ch", NOT_GSM)
def test_non_gsm_characters_force_ucs2_and_gsm_safe_removes_them(ch):
    a = analyse(f"Wijk {ch} alarm")
    assert a.encoding == "ucs2"
    assert a.ucs2_chars == [ch]
    assert analyse(gsm_safe(f"Wijk {ch} alarm")).encoding == "gsm7"


def test_section_sign_and_backtick():
    # smpplib's table has ` at 0x5F; GSM has § there.
    assert encode("§").parts == [b"\x5f"]
    assert encode("§").data_coding == 0
    assert encode("`").data_coding == 8
    assert decode(b"\x5f", 0) == "§"
    assert decode(b"\x09", 0) == "Ç"
    assert encode("@").parts == [b"\x00"]


def test_ucs2_chars_unique_in_order():
    assert analyse("Zoë zegt « ça » ë ç").ucs2_chars == ["ë", "«", "ç", "»"]


@pytest.mark.parametrize(
    ("text", "parts", "per_part"),
    [
        ("a" * 160, 1, 160),
        ("a" * 161, 2, 153),
        ("a" * 306, 2, 153),
        ("a" * 307, 3, 153),
        ("€" * 80, 1, 160),
        ("€" * 81, 2, 153),
        ("ë" * 70, 1, 70),
        ("ë" * 71, 2, 67),
        ("ë" * 134, 2, 67),
        ("ë" * 135, 3, 67),
        ("", 1, 160),
    ],
)
def test_part_counts(text, parts, per_part):
    a = analyse(text)
    assert (a.parts, a.per_part) == (parts, per_part)
    assert len(encode(text).parts) == parts


def test_escape_pair_is_never_split():
    text = "a" * 152 + "{" + "a" * 152  # bin-domain.md §6.3: 3 parts, a "subtract 153" counter says 2
    a = analyse(text)
    assert (a.encoding, a.units, a.parts) == ("gsm7", 306, 3)
    enc = encode(text)
    assert [len(p) for p in enc.parts] == [152, 153, 1]
    assert not any(p.endswith(b"\x1b") for p in enc.parts)
    assert enc.parts[1].startswith(b"\x1b\x28")
    assert all(len(p) <= 153 for p in enc.parts)
    assert "".join(decode(p, 0) for p in enc.parts) == text


def test_escape_pair_at_the_exact_boundary_fits():
    text = "a" * 151 + "€" + "b" * 10  # septets 152..153 hold the pair: no move needed
    enc = encode(text)
    assert enc.parts[0].endswith(b"\x1b\x65") and len(enc.parts[0]) == 153


def test_surrogate_pair_is_never_split():
    text = "ë" * 66 + "🚨" + "x" * 10
    a = analyse(text)
    assert (a.encoding, a.units, a.chars, a.parts) == ("ucs2", 78, 77, 2)
    enc = encode(text)
    assert enc.data_coding == 8
    assert len(enc.parts[0]) == 66 * 2  # the emoji (2 units) did not fit in 67: moved whole
    for p in enc.parts:
        assert p.decode("utf-16-be") is not None  # raises on a lone surrogate
    assert analyse("🚨" * 35).parts == 1
    assert analyse("🚨" * 36).parts == 2


@pytest.mark.parametrize(
    "text",
    [
        "Inbraak Kerkstraat 12, 2000 Antwerpen. Bel 101 bij verdachte personen. [BIN] {Zone} € 50 ~ ^ | \\ " * 5,
        "Cambriolage rue de l’Église à Liège. Fenêtre forcée, véhicule « Golf » grise. Appelez le 101. 🚨 " * 4,
        "§@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ÄÖÑÜ§¿äöñüà" * 3,
    ],
)
def test_round_trip_long_texts(text):
    enc = encode(text)
    assert len(enc.parts) > 1
    joined = b"".join(enc.parts)
    assert decode(joined, enc.data_coding) == text
    # also part by part: no part needs its neighbour to decode
    assert "".join(decode(p, enc.data_coding) for p in enc.parts) == text
    limit = 153 if enc.data_coding == 0 else 134
    assert all(len(p) <= limit for p in enc.parts)


def test_lone_surrogate_becomes_replacement_character():
    text = "ë\ud83d x"
    a = analyse(text)
    assert (a.encoding, a.units) == ("ucs2", 4)
    assert decode(b"".join(encode(text).parts), 8) == "ë\ufffd x"


def test_add_udh_and_split_udh():
    parts = encode("a" * 200).parts
    with_udh = add_udh(parts, 0x1A7)
    assert [p[:6] for p in with_udh] == [bytes([5, 0, 3, 0xA7, 2, 1]), bytes([5, 0, 3, 0xA7, 2, 2])]
    info, body = split_udh(with_udh[1], 0x40)
    assert info == ConcatInfo(0xA7, 2, 2, 8)
    assert body == parts[1]
    assert add_udh([b"abc"], 5) == [b"abc"]
    assert EncodedSms(0, parts).esm_class == 0x40


def test_split_udh_16bit_and_odd_inputs():
    sm = bytes([6, 8, 4, 0x12, 0x34, 3, 1]) + b"hi"
    assert split_udh(sm, 0x40) == (ConcatInfo(0x1234, 3, 1, 16), b"hi")
    assert split_udh(sm, 0x00) == (None, sm)  # no UDHI: the bytes are all text
    other_ie = bytes([4, 0x24, 2, 0, 1]) + b"x"  # some other IE only
    assert split_udh(other_ie, 0x40) == (None, b"x")
    assert split_udh(bytes([9, 0, 3]), 0x40) == (None, bytes([9, 0, 3]))  # UDHL longer than data
    assert split_udh(b"", 0x40) == (None, b"")


def test_decode_is_tolerant():
    assert decode(b"\x00h\x00i\x00", 8) == "hi\ufffd"
    assert decode(b"ab\x80\xff", 0) == "ab\ufffd\ufffd"
    assert decode(b"ab\x1b", 0) == "ab\ufffd"  # lone ESC at the end
    assert decode(b"\x1bA", 0) == "A"  # unknown extension: the basic character (23.038)
    assert decode("Liège".encode("latin-1"), 3) == "Liège"
    assert decode(b"ok\xe9", 1) == "ok\ufffd"
    assert decode(b"", 0) == ""
    assert decode(b"\x00A\x00B", 0x18) == "AB"  # general data coding group, UCS-2 alphabet
    assert decode(b"hi", 0xF0) == "hi"


@pytest.mark.parametrize(
    ("src", "want"),
    [
        ("België", "Belgie"),
        ("Geïnformeerd over ideeën", "Geinformeerd over ideeen"),
        ("C’est reçu, l‘appel “urgent” – fenêtre…", "C'est recu, l'appel \"urgent\" - fenetre..."),
        ("« Noël » — âge, île, contrôle, sûr, œuvre", '" Noel " - age, ile, controle, sur, oeuvre'),
        ("À 21h ÊÈÙÌÒËÏÔÂÎÛŒ", "A 21h EEUIOEIOAIUOE"),
        ("50\u00a0€", "50 €"),
        ("e\u0308", "e"),  # a decomposed ë from a paste
    ],
)
def test_gsm_safe_rewrites(src, want):
    out = gsm_safe(src)
    assert out == want
    assert analyse(out).encoding == "gsm7"


def test_gsm_safe_keeps_gsm_letters_and_gsm_text():
    kept = "é è à ù ì ò ä ö ü ñ Ç É Straße Männer café"
    assert gsm_safe(kept) == kept
    gsm_text = "Inbraak om 21u: {BIN} 50€ [x] ~ ^ | \\ § @ _ $\n"
    assert gsm_safe(gsm_text) is gsm_text or gsm_safe(gsm_text) == gsm_text
    assert gsm_safe("déjà vu 🚨 ë") == "déjà vu 🚨 e"  # no equivalent for the emoji: left as is
