"""The dispatcher's words: one wording for the skip reasons and for Z-BIN, wherever they are shown."""

from __future__ import annotations

from dataclasses import dataclass

from bin_console.labels import channel_of, kind_label, skip_reasons, skipped_of


@dataclass
class Counts:
    skipped_opt_out: int = 0
    skipped_no_address: int = 0
    skipped_left: int = 0
    skipped_duplicate: int = 0


def test_skip_reasons_name_only_what_happened_in_the_channel_words():
    counts = Counts(skipped_opt_out=3, skipped_no_address=1200, skipped_duplicate=1)
    assert skip_reasons("sms", counts) == "3 opted out, 1,200 no mobile, 1 duplicate"
    assert skip_reasons("email", counts) == "3 opted out, 1,200 no e-mail, 1 duplicate"
    assert skipped_of("sms", Counts(skipped_left=2)) == "skipped: 2 left or pending"
    assert skipped_of("sms", Counts()) == "nobody skipped"


def test_urgent_means_sms():
    assert channel_of("urgent") == "sms" and channel_of("normal") == "email"


def test_z_bin_is_written_with_its_hyphen():
    assert [kind_label(k) for k in ("ZBIN", "zbin", "Z-BIN", "BIN", "bin")] == ["Z-BIN"] * 3 + ["BIN"] * 2
