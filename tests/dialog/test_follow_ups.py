"""A short follow-up on an answer asks the same question about another thing (issue 12, blind12 en-r17/pl-r12).

"Do you take credit cards?" — the payment methods — "And bank transfer?" shares its words with a failed bank
transfer, and was handed to a person as a payment problem; "a na czajnik tak samo?" after the warranty answer
went to technical support. Right after an FAQ answer, a short turn opened by "and" / "a" with no word of trouble
asks that FAQ again; a new request the classifier is sure of, or trouble, is still what it says.
The shipped flows through the real dialog engine (NLU trained from the flow YAML, demo CRM over HTTP).
"""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(("lang", "question", "follow_up", "heard"), [
    ("en", "do you take credit cards", "and bank transfer", "bank transfer"),
    ("pl", "jaka jest gwarancja na młynek do kawy", "a na czajnik tak samo", "dwa lata gwarancji"),
])
async def test_a_follow_up_on_an_answer_is_answered_not_handed_over(call, lang, question, follow_up, heard) -> None:
    c = call(lang)
    await c.start()
    await c.say(question)
    reply = await c.say(follow_up)
    assert reply.action == "continue" and heard in reply.text, (reply.action, reply.reason, reply.text)


@pytest.mark.parametrize(("lang", "question", "follow_up", "action", "said"), [
    # a new request the classifier is sure of
    ("en", "do you take credit cards", "and where is my order", "continue", "order number"),
    # trouble said the same way is still trouble
    ("en", "what payment methods do you accept", "and my card was charged twice", "transfer", ""),
    ("pl", "jakie formy płatności są dostępne", "a karta została obciążona dwa razy", "transfer", ""),
])
async def test_a_new_request_or_trouble_after_an_answer_is_what_it_says(call, lang, question, follow_up, action,
                                                                       said) -> None:
    c = call(lang)
    await c.start()
    await c.say(question)
    reply = await c.say(follow_up)
    assert reply.action == action and said in reply.text, (reply.action, reply.reason, reply.text)
