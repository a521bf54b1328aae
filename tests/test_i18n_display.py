"""Words shown at display time in the active language, while what is stored or read by tools stays
English: delivery outcomes, state names, the confirm window's headline, the keymap error (issue 9)."""

from __future__ import annotations

import pytest
from bin_console.screens.confirm import SendSummary
from bin_console.widgets.status_line import render_status

from bin_console import labels
from bin_console.alerts.service import describe_outcome
from bin_console.app import LinkStatus, check_keymap
from bin_console.config import ConfigError
from bin_console.i18n import activate, decimal


@pytest.fixture
def restore_english():
    yield
    activate("en")


COUNTS = {"delivered": 7, "failed": 2, "submitted": 1}


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "1 awaiting receipt, 7 delivered, 2 failed"),
        ("nl", "1 wacht op bevestiging, 7 afgeleverd, 2 mislukt"),
        ("fr", "1 attend l'accusé, 7 remis, 2 échoués"),
    ],
)
def test_outcome_in_the_active_language(restore_english, lang, expected):
    activate(lang)
    assert describe_outcome(COUNTS, cancelled=False) == expected


def test_outcome_words_in_french(restore_english):
    activate("fr")
    assert describe_outcome({}, cancelled=False) == "aucun destinataire"
    assert describe_outcome({"delivered": 3}, cancelled=False) == "tous remis"
    assert describe_outcome({"queued": 3}, cancelled=True) == "annulation en cours"
    assert describe_outcome({"delivered": 1, "failed": 1}, cancelled=False) == "1 remis, 1 échoué"


def test_state_labels_translate_only_the_display(restore_english):
    activate("nl")
    assert labels.state_label("delivered") == "afgeleverd"
    assert labels.state_label("submitted") == "bij SMSC"
    assert labels.sender_state_label("config_error") == "configuratiefout"
    # written by a failing e-mail writer or IMAP reader: the monitor showed it in English
    assert labels.sender_state_label("error") == "fout"
    assert labels.state_label("something_new") == "something_new"  # unknown: literal, never dropped
    activate("en")
    # English shows the stored values themselves
    assert [labels.state_label(s) for s in labels.STATES] == list(labels.STATES)


def _summary(**kw) -> SendSummary:
    base = dict(
        channel="sms",
        recipients=12,
        network_names=["BIN Kerkwijk", "Molenwijk", "Oud<[b]>"],
        parts_each=2,
        encoding="gsm7",
        expires_at=None,
        training=False,
        text="x",
    )
    return SendSummary(**(base | kw))


def test_confirm_headline_per_language(restore_english):
    assert (
        _summary().headline().plain
        == "SMS to 12 members of BIN Kerkwijk, Molenwijk and Oud<[b]>, 2 parts each, 24 parts"
    )
    activate("fr")
    assert (
        _summary().headline().plain
        == "SMS à 12 membres de BIN Kerkwijk, Molenwijk et Oud<[b]>, 2 parties chacune, 24 parties"
    )
    assert _summary(channel="email", recipients=1).headline().plain.startswith("E-mail à 1 membre de BIN Kerkwijk")
    activate("nl")
    t = _summary(encoding="ucs2", ucs2_chars=["ë", "[x]"]).details().plain
    assert t == "Codering UCS-2 (door ë [x]) · "  # the untrusted characters literal, inside the template


def test_keymap_error_in_french_keeps_the_id(restore_english):
    activate("fr")
    with pytest.raises(ConfigError) as exc:
        check_keymap({"compose-reveiw": "f6"})
    assert str(exc.value).startswith("keys.compose-reveiw : aucune touche n'a l'id 'compose-reveiw'")


@pytest.mark.parametrize(
    ("lang", "small", "large"), [("en", "12.5", "1,234.5"), ("nl", "12,5", "1.234,5"), ("fr", "12,5", "1\u202f234,5")]
)
def test_rates_use_the_languages_decimal_comma(restore_english, lang, small, large):
    """The monitor, the sparkline and the status line showed 12.5 msg/s in Dutch and French too,
    where a point is the thousands separator: "1.234" reads as one thousand two hundred and
    thirty-four to a Flemish dispatcher."""
    activate(lang)
    assert (decimal(12.5), decimal(1234.5), decimal(250.0, 0)) == (small, large, "250")
    line = render_status(LinkStatus(link="bound", training=False, sms_rate=8.4))
    assert f"8{small[2]}4/s" in line.plain
