"""The per-alert message template renders exactly what build_message builds, for any member."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime

import pytest

from bin_console.channels.email import message as msg_mod
from bin_console.channels.email.message import MessageTemplate, build_message, message_tag, parse_message_id
from bin_console.channels.email.smtp_link import wire_bytes
from bin_console.config import SmtpSettings

FIXED = datetime(2026, 12, 1, 12, 0, 5, tzinfo=UTC)

SETTINGS = [
    SmtpSettings(from_addr="bin@pz-test.be"),
    SmtpSettings(from_addr="bin@pz-test.be", reply_to="antwoord@pz-test.be"),
    SmtpSettings(
        from_addr="bin@politiezone-met-een-heel-lange-naam.example.be",
        reply_to="antwoorden-buurtinformatienetwerk@politiezone-met-een-heel-lange-naam.example.be",
        unsubscribe_url="https://bin.politiezone.example.be/uitschrijven/{token}?bron=mail",
    ),
    # an address holding a run of underscores as long as a token: the template must not be fooled
    SmtpSettings(from_addr="bin@pz.be", reply_to="a" + "_" * 43 + "@pz.be"),
]
TEXTS = [
    ("Preventietip: sluit uw ramen", "nl"),
    ("Vol à la tire au marché de la Grand-Place " * 4 + "\nSoyez vigilants.", "fr"),
    ("Einbruch in der Kirchstraße – bitte wachsam sein", "de"),
    ("", "en"),
]


def _token(rnd: random.Random) -> str:
    return "".join(rnd.choice(string.ascii_letters + string.digits + "-_") for _ in range(43))


@pytest.fixture(autouse=True)
def _fixed_date(monkeypatch):
    monkeypatch.setattr(msg_mod, "utcnow", lambda: FIXED)


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize(("text", "language"), TEXTS)
def test_the_template_gives_the_bytes_build_message_gives(settings, text, language):
    rnd = random.Random(f"{settings.from_addr}{language}")
    template = MessageTemplate(settings, alert_id=41, text=text, language=language)
    addresses = ["lid1@example.be", "jan.van.de.velde-de-langenaam@" + "x" * 70 + ".be", "ann@exämple.be"]
    for delivery_id, to_addr in enumerate(addresses, start=9_999_998):
        for duplicate in (False, True):
            # tokens are secrets.token_urlsafe(32); a token of other characters takes the slow path
            for token in (_token(rnd), _token(rnd), "a token, with spaces;", "ünï"):
                got = template.render(
                    delivery_id=delivery_id, to_addr=to_addr, token=token, possible_duplicate=duplicate
                )
                want = build_message(
                    settings,
                    alert_id=41,
                    delivery_id=delivery_id,
                    to_addr=to_addr,
                    text=text,
                    language=language,
                    token=token,
                    possible_duplicate=duplicate,
                )
                assert got == wire_bytes(want)
                assert template.message_id(delivery_id, token) == want["Message-ID"]


def test_each_member_gets_only_their_own_headers():
    template = MessageTemplate(SETTINGS[1], alert_id=3, text="Inbraak", language="nl")
    a = template.render(delivery_id=1, to_addr="a@example.be", token="A" * 43)
    b = template.render(delivery_id=2, to_addr="b@example.be", token="B" * 43)
    assert b"To: a@example.be\r\n" in a and b"b@example.be" not in a and b"B" * 43 not in a
    assert f"<bin.3.1.{message_tag('A' * 43, 3, 1)}@pz-test.be>".encode() in a
    assert f"<bin.3.2.{message_tag('B' * 43, 3, 2)}@pz-test.be>".encode() in b
    assert b"X-BIN-Resent" not in a


def test_the_message_id_cannot_be_guessed_without_the_members_token_and_stays_the_same_on_a_resend():
    """A STOP by e-mail must answer a delivery's Message-ID: with ids alone (bin.ALERT.DELIVERY,
    sequential) anyone who knows a member's address could forge one and unsubscribe them."""
    template = MessageTemplate(SETTINGS[1], alert_id=3, text="Inbraak", language="nl")
    token = "k" * 43
    first = template.message_id(7, token)
    assert first == template.message_id(7, token)  # a re-send is recognisable: the same id
    assert first != template.message_id(7, "j" * 43) != template.message_id(8, token)
    alert_id, delivery_id, tag = parse_message_id(f"In-Reply-To: {first}")
    assert (alert_id, delivery_id, len(tag)) == (3, 7, 16) and tag == message_tag(token, 3, 7)
    assert parse_message_id("<bin.3.7@pz-test.be>") == (3, 7, "")  # sent before the tag: still linked
