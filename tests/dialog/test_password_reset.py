"""A forgotten password is self-service: the bot texts a reset link to the number on the account and goes on;
a person is offered only when the caller declines the link or it cannot be sent."""

from __future__ import annotations

import subprocess
import sys

import pytest

from voicebot.config import PROJECT_ROOT
from voicebot.dialog.crm_server import start_demo_crm
from voicebot.dialog.demo_crm import CRM_DATA

FORGOT = {"en": "I forgot my password", "pl": "zapomniałem hasła"}
YES = {"en": "yes please", "pl": "tak"}
NO = {"en": "no thanks", "pl": "nie, dziękuję"}
SENT = {"en": "sent the reset link", "pl": "został wysłany"}
OFFER = {"en": "connect you", "pl": "Czy połączyć z konsultantem"}


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_yes_sends_the_link_to_the_account_number_without_a_transfer(call, crm, lang) -> None:
    c = call(lang)
    await c.start()
    offered = await c.say(FORGOT[lang])
    assert offered.intent == "reset_password" and offered.node == "password_help"
    sent = await c.say(YES[lang])
    assert sent.action == "continue" and sent.node == "anything_else"
    assert SENT[lang] in sent.text and "2 0 0" in sent.text  # the caller hears where it went
    assert crm.runner.app[CRM_DATA].reset_links == [{"phone": "48600100200"}]


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_no_to_the_link_offers_a_person_and_no_again_goes_on(call, crm, lang) -> None:
    c = call(lang)
    await c.start()
    await c.say(FORGOT[lang])
    offer = await c.say(NO[lang])
    assert offer.node == "offer_human_account" and OFFER[lang] in offer.text
    assert crm.runner.app[CRM_DATA].reset_links == []
    declined = await c.say(NO[lang])
    assert declined.action == "continue" and declined.node == "anything_else"


@pytest.mark.parametrize("lang", ["en", "pl"])
async def test_crm_failure_is_told_and_offers_a_person(call, lang) -> None:
    failing = await start_demo_crm(fail_status=500)
    try:
        c = call(lang, crm_url=failing.url)
        await c.start()
        await c.say(FORGOT[lang])
        offer = await c.say(YES[lang])
        assert offer.node == "offer_human_account" and OFFER[lang] in offer.text
        handed = await c.say(YES[lang])
        assert handed.action == "transfer"
    finally:
        await failing.stop()


def test_simulate_forgot_password_yes_link_sent_no_transfer() -> None:
    done = subprocess.run([sys.executable, "-m", "voicebot", "simulate", "--lang", "en"],
                          input="I forgot my password\nyes please\n", capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "sent the reset link" in done.stdout and "anything else" in done.stdout
    assert "<transfer" not in done.stdout
