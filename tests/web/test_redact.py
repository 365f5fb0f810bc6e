"""PII redaction: valid card numbers/PESELs/IBANs/phones/e-mails go, invalid ones and ordinary numbers stay."""

import pytest

from voicebot.store.calls import CallStore, TurnRecord
from voicebot.store.keys import Keys
from voicebot.store.redact import iban_ok, luhn_ok, pesel_ok, redact


@pytest.mark.parametrize(("text", "expected"), [
    # cards: Luhn-valid, written in groups, unbroken, with dashes, spoken (en/pl)
    ("my card is 4111 1111 1111 1111 thanks", "my card is [CARD] thanks"),
    ("karta 5500000000000004", "karta [CARD]"),
    ("it's 4012-8888-8888-1881", "it's [CARD]"),
    ("four one one one one one one one one one one one one one one one", "[CARD]"),
    ("cztery jeden jeden jeden jeden jeden jeden jeden jeden jeden jeden jeden jeden jeden jeden jeden", "[CARD]"),
    # PESEL with a correct checksum
    ("mój PESEL to 44051401359", "mój PESEL to [PESEL]"),
    ("PESEL 02070803628.", "PESEL [PESEL]."),
    # IBAN with country code, and a bare Polish account number (NRB)
    ("konto PL61 1090 1014 0000 0712 1981 2874", "konto [IBAN]"),
    ("numer konta 61 1090 1014 0000 0712 1981 2874 proszę", "numer konta [IBAN] proszę"),
    ("IBAN DE89370400440532013000", "IBAN [IBAN]"),
    # phones
    ("call me at +48 600 100 200", "call me at [PHONE]"),
    ("mój numer 600-100-200", "mój numer [PHONE]"),
    ("office (555) 123-4567", "office [PHONE]"),
    # e-mail
    ("write to jan.kowalski@example.pl please", "write to [EMAIL] please"),
    # two numbers in one breath
    ("4111111111111111 44051401359", "[CARD] [PESEL]"),
    # card numbers as whisper writes them when spoken: thousands separators, dotted groups
    ("my card is 4,111,111,111,111,111.", "my card is [CARD]."),
    ("it's 4111.1111.1111.1111 thanks", "it's [CARD] thanks"),
    ("PESEL 44.051.401.359", "PESEL [PESEL]"),
])
def test_pii_is_replaced(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1112",  # fails Luhn
    "cztery jeden jeden jeden jeden jeden jeden jeden jeden jeden jeden jeden jeden jeden jeden dwa",
    "PESEL 44051401358",  # wrong check digit
    "konto PL61 1090 1014 0000 0712 1981 2875",  # fails mod-97
    "order 12345 for 100 zł on 2024 05 01",
    "I want two tickets for five people",
    "chcę dwa bilety na piątek",
    "it costs 12.50, then 1, 2, 3 more",  # decimals and lists are not numbers to hide
    "4111.1111.1111.1112",  # a dotted number that fails Luhn
])
def test_invalid_or_harmless_numbers_stay(text: str) -> None:
    assert redact(text) == text


def test_checksums() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert pesel_ok("44051401359") and not pesel_ok("44051401358") and not pesel_ok("4405140135")
    assert iban_ok("PL61109010140000071219812874") and not iban_ok("PL61109010140000071219812875")


async def test_call_store_redacts_and_keeps_original_for_admins(redis_client, redis_prefix) -> None:
    store = CallStore(redis_client, Keys(redis_prefix), redact=redact, keep_originals=True)
    await store.start_call("c1")
    await store.add_turn("c1", TurnRecord(role="caller", text="card 4111 1111 1111 1111"))
    await store.add_turn("c1", TurnRecord(role="caller", text="no pii here"))
    turns = await store.turns("c1")
    assert turns[0].text == "card [CARD]" and turns[0].text_original == "card 4111 1111 1111 1111"
    assert turns[1].text == "no pii here" and turns[1].text_original is None
    raw = await redis_client.xrange(Keys(redis_prefix).turns("c1"))
    assert "4111" not in raw[0][1]["text"]
