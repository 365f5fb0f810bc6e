"""The agent's one-paragraph summary of a handed-over call, from templates in the call's language.

Template-based on purpose: the agent must be able to trust it, so it only restates facts the system
recorded (intent, collected data, reason, frustration), never paraphrases the caller.
"""

from __future__ import annotations

from typing import Any

TEMPLATES: dict[str, dict[str, str]] = {
    "pl": {
        "opening": "Klient {caller} dzwoni w sprawie: {topic}.",
        "unknown_caller": "nieznany numer",
        "unknown_topic": "nie ustalono",
        "slots": "Zebrane dane: {slots}.",
        "verified": "Zweryfikowano: {verified}.",
        "reason": "Powód przekazania: {reason}.",
        "last_words": "Ostatnio powiedział: „{text}”.",
        "frustration": "Frustracja: {level} ({score:.2f}).",
        "low": "niska", "medium": "średnia", "high": "wysoka",
    },
    "en": {
        "opening": "Caller {caller} is calling about: {topic}.",
        "unknown_caller": "unknown number",
        "unknown_topic": "not established",
        "slots": "Collected: {slots}.",
        "verified": "Verified: {verified}.",
        "reason": "Handed over because: {reason}.",
        "last_words": "Last said: “{text}”.",
        "frustration": "Frustration: {level} ({score:.2f}).",
        "low": "low", "medium": "medium", "high": "high",
    },
}

REASONS: dict[str, dict[str, str]] = {
    "pl": {
        "explicit_request": "klient poprosił o konsultanta",
        "frustration": "klient jest zdenerwowany",
        "low_confidence": "bot źle rozpoznaje mowę klienta",
        "no_match": "bot nie rozumie prośby klienta",
        "complaint": "reklamacja",
        "system_fault": "błąd techniczny systemu",
        "maintenance": "restart serwera w trakcie rozmowy",
        "repeated_request": "klient kilka razy powtórzył tę samą prośbę",
        "no_input": "klient milczy albo na linii są tylko szumy",
        "account_security": "przejęcie konta lub oszustwo",
        "health_emergency": "klient źle się czuje (oddech, ból, omdlenie)",
        "safety_hazard": "zagrożenie bezpieczeństwa (dym, iskry, zapach gazu)",
        "bereavement": "śmierć bliskiej osoby",
        "legal_threat": "klient zapowiada kroki prawne",
        "churn_threat": "klient chce odejść do konkurencji lub zamknąć konto",
    },
    "en": {
        "explicit_request": "the caller asked for a person",
        "frustration": "the caller is frustrated",
        "low_confidence": "the bot cannot recognise the caller's speech reliably",
        "no_match": "the bot does not understand the request",
        "complaint": "complaint",
        "system_fault": "technical fault",
        "maintenance": "the server restarted during the call",
        "repeated_request": "the caller repeated the same request several times",
        "no_input": "the caller is silent or the line carries only noise",
        "account_security": "account takeover or fraud",
        "health_emergency": "the caller is unwell (breathing, pain, collapse)",
        "safety_hazard": "a safety hazard (smoke, sparks, a smell of gas)",
        "bereavement": "a bereavement",
        "legal_threat": "the caller threatens legal action",
        "churn_threat": "the caller is leaving for a competitor or closing the account",
    },
}

MEDIUM, HIGH = 0.3, 0.7


def _fmt(values: dict[str, Any]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} = {v}" for k, v in values.items() if v not in (None, ""))


def _verified(name: str, value: Any) -> str:
    """`order (number 48152, status shipped)`: what the CRM confirmed, short enough to read at a glance."""
    label = name.replace("_", " ")
    if isinstance(value, dict):
        facts = [f"{k.replace('_', ' ')} {v}" for k, v in value.items() if isinstance(v, str | int | float)]
        return f"{label} ({', '.join(facts[:4])})" if facts else label
    return label


def summarize(*, language: str, caller: str, topic: str | None, slots: dict[str, Any],
              verified: dict[str, Any], reason: str | None, frustration: float, last_caller_text: str = "",
              topic_example: str = "") -> str:
    """`topic_example`: the caller's own words for the topic intent, so the agent reads the request as it
    was said rather than as an intent id."""
    t = TEMPLATES.get(language, TEMPLATES["en"])
    reasons = REASONS.get(language, REASONS["en"])
    topic_text = topic.replace("_", " ") if topic else t["unknown_topic"]
    if topic and topic_example:
        topic_text += f" („{topic_example}”)" if language == "pl" else f" (“{topic_example}”)"
    parts = [t["opening"].format(caller=caller or t["unknown_caller"], topic=topic_text)]
    if slots_text := _fmt(slots):
        parts.append(t["slots"].format(slots=slots_text))
    if verified_text := ", ".join(_verified(k, v) for k, v in verified.items() if v):
        parts.append(t["verified"].format(verified=verified_text))
    parts.append(t["reason"].format(reason=reasons.get(reason or "", reason or "?")))
    if last_caller_text:
        text = last_caller_text if len(last_caller_text) <= 120 else last_caller_text[:117] + "…"
        parts.append(t["last_words"].format(text=text))
    level = t["high"] if frustration >= HIGH else t["medium"] if frustration >= MEDIUM else t["low"]
    parts.append(t["frustration"].format(level=level, score=frustration))
    return " ".join(parts)
