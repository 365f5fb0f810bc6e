"""Text preparation for the intent classifier: what a caller's words look like to the features.

ASR output and typed test input vary in case, punctuation, diacritics ("zamowienie" / "zamówienie") and
hesitations ("yyy", "um"); none of that carries intent, so it is folded away before the features see it.
Polish inflects heavily ("paczka", "paczki", "paczkę", "paczce"): a word's first letters stand in for a
stemmer, which we do not have offline for Polish.
"""

from __future__ import annotations

import re
from itertools import pairwise

from voicebot.dialog.text import fold, stem_matches

# Pure hesitation sounds, per language. Meaningful short words stay: English "no" ("no thanks" ends a
# call) and "ok"; Polish "no" is mostly a filler ("no to", "no bo") or a colloquial "yes", never an intent.
_FILLERS = {
    "en": frozenset({"um", "umm", "uh", "uhm", "uhh", "erm", "er", "hmm", "hm", "mm", "mhm", "ah", "eh", "well"}),
    "pl": frozenset({"yyy", "yy", "y", "eee", "ee", "eh", "hmm", "hm", "mmm", "mm", "mhm", "no"}),
}
# Language unknown: only sounds that are hesitations in every language we serve.
_ANY_FILLERS = (_FILLERS["en"] | _FILLERS["pl"]) - {"no", "well"}
# Openers that carry no request ("dzień dobry, dzwonię w sprawie zamówienia" is about the order): dropped
# when a request of two or more words follows, so a greeting does not outvote it. Folded, per language.
_OPENERS = {
    "en": ("good morning", "good afternoon", "good evening", "hello there", "hi there", "hey there", "hello", "hi",
           "hey", "hiya"),
    # "Jań dobry" / "Kień dobry": whisper base's "Dzień dobry" over an 8 kHz line (21 and 3 of the 25 written in
    # phone_blind3..19's Polish calls; left in, "Kień dobry, …, reklamacja" was a greeting, phone_blind19 pl-e4)
    "pl": ("dzien dobry", "jan dobry", "kien dobry", "dobry wieczor", "witam serdecznie", "witam", "halo", "czesc",
           "hej"),
}
# "I don't want to complain, I just want to know when the bed comes" is about the bed: a negated request
# ("don't want", "nie chcę", "no need") followed by the caller's real one (after "just", "tylko", "ale"...)
# is dropped, so the refused topic does not outvote the asked one. Alone ("I don't want to talk to a machine")
# it stays: there the negation is the request. Folded words, per language.
_NEGATORS = {"en": frozenset({"don't", "dont", "not", "no", "never"}), "pl": frozenset({"nie"})}
_WANTING = {
    "en": frozenset({"want", "wanna", "need", "calling", "trying", "asking"}),
    "pl": frozenset({"chce", "chcemy", "potrzebuje", "dzwonie", "musze", "zamierzam", "prosze"}),
}
_CONTRAST = {
    "en": frozenset({"just", "only", "but", "rather", "instead", "simply"}),
    "pl": frozenset({"tylko", "ale", "chce", "chcialbym", "chcialabym", "wole", "raczej", "jedynie"}),
}
# "Not cancel it, just shift it", "it isn't broken, I just don't like the colour", "nie jest zepsuty, po prostu mi
# się nie podoba": a negated word (a verb, a fault) corrected by what the caller asserts after "just"/"tylko" is not
# what they ask for, so it must not outvote the asserted one. The negation's scope runs from the negator to the
# corrective word, a few words at most; "but"/"ale" is no such word ("it doesn't work, but the light is on" still
# reports the fault). Folded words, per language.
_NEGATING = {
    "en": frozenset({"not", "don't", "dont", "isn't", "isnt", "wasn't", "wasnt", "aren't", "arent", "doesn't",
                     "doesnt", "didn't", "didnt", "won't", "wont", "never"}),
    "pl": frozenset({"nie"}),
}
_CORRECTING = {
    "en": frozenset({"just", "only", "simply", "rather", "instead"}),
    "pl": frozenset({"tylko", "jedynie", "raczej", "prostu", "lecz"}),  # "prostu": of "po prostu"
}
# Negating what a thing should do or what should have come reports the trouble itself ("it doesn't work, it just
# beeps", "nie dostałem zwrotu, tylko maila"): that negation stands. Folded word prefixes of the negated word.
_EXPECTED = ("work", "switch", "turn", "start", "charg", "heat", "cool", "load", "open", "spin", "drain", "connect",
             "respond", "arriv", "come", "came", "get", "got", "receiv", "show", "go", "went",
             "dzial", "wlacz", "laduj", "grzej", "chlodz", "wiruj", "odpowiad", "przysz", "dosz", "dosta",
             "otrzym", "dojecha", "przyjecha", "pokazuj", "idzie", "poszl", "zwroci", "oddal", "odda")
# "No, not cancel it, change it", "nie odwołać, przełożyć": a negated task verb followed, in the same clause, by
# another task verb corrects itself without "just"/"tylko"; the second verb is the request. Folded word prefixes.
_TASK_VERBS = {
    "en": ("cancel", "move", "chang", "resched", "shift", "postpon", "rebook", "book", "return",
           "send", "delay", "push"),
    "pl": ("odwol", "anul", "przeloz", "przenie", "przesun", "zmien", "umow", "zarezerw", "zwroc", "odesl"),
}
MAX_NEGATED = 6  # words between the negator and the corrective word: one clause ("isn't broken or anything, i")
# After "just" a noun phrase is what the caller got instead, not what they ask ("I didn't get my refund, just an
# email" reports the missing refund): the negation stands. English only: Polish does not mark nouns so.
_NOUN_PHRASE = frozenset({"a", "an", "the", "one", "some", "this", "that", "these", "those"})
# "kogoś do pomiaru", "someone to assemble the bed": a person wanted FOR A JOB is a service visit, not a request
# to talk to a person; the pronoun is dropped so it does not outvote the job. Kept before a word of talking
# ("kogoś do rozmowy", "someone to talk to"). Folded words, per language.
_SOMEONE = {"en": frozenset({"someone", "somebody"}), "pl": frozenset({"kogos", "ktos"})}
_FOR_A_JOB = {"en": frozenset({"to", "come", "coming"}), "pl": frozenset({"do", "przyjechal", "przyjechac",
                                                                          "przyszedl", "przyjsc", "przyjdzie"})}
_MODAL = frozenset({"moze", "moglby", "moglaby", "could", "can", "will", "would"})  # "czy ktoś może przyjechać"
_TALKING = frozenset({"talk", "speak", "chat", "help", "rozmowy", "porozmawiania", "pomocy", "kontaktu",
                      "obslugi", "konsultanta", "you", "me"})
_SUBJECT = frozenset({"i", "do", "i'm", "im", "am", "we"})
MIN_REAL_REQUEST = 2  # words after the contrast that make a request of their own
# Words a turn that is only a greeting consists of ("hi there, good morning", "halo, dzień dobry").
_GREETING_WORDS = {
    "en": frozenset(w for o in _OPENERS["en"] for w in o.split()) | {"howdy", "everyone", "hullo", "yo"},
    "pl": frozenset(w for o in _OPENERS["pl"] for w in o.split()) | {"dzien", "dobry", "wieczor", "witajcie",
                                                                      "serwus", "siema", "elo", "czolem", "halo"},
}
# Words a turn that is only a thank-you consists of ("thanks a lot", "dziękuję bardzo"): a thank-you, not a
# goodbye, so the caller is asked whether there is anything else instead of being hung up on.
_THANKS_WORDS = {
    "en": frozenset({"thanks", "thank", "thx", "you", "a", "lot", "so", "much", "very", "many", "really", "ever",
                     "million", "bunch", "appreciated", "appreciate", "it", "kindly", "that's", "great"}),
    "pl": frozenset({"dzieki", "dziekuje", "dziekujemy", "bardzo", "serdecznie", "wielkie", "stokrotne",
                     "piekne", "uprzejmie", "za", "pomoc"}),
}
_THANKING = frozenset({"thanks", "thank", "thx", "appreciated", "appreciate", "dzieki", "dziekuje", "dziekujemy"})
STEM_LENGTH = 5  # long enough to tell "zamow(ienie)" from "zamkn(iete)", short enough to merge endings


def normalize(text: str, language: str | None = None) -> str:
    """Lower-case, fold diacritics, digits -> one token, drop punctuation, fillers and a leading greeting."""
    text = re.sub(r"\d+", " 0 ", fold(text))  # order numbers differ per caller; "a number was said" matters
    words = re.findall(r"[\w']+", text)
    fillers = _FILLERS.get(language or "", _ANY_FILLERS)
    kept = _without_refused_request([w for w in words if w not in fillers] or words, language)
    kept = _without_negated_correction(kept, language)
    kept = _without_someone_for_a_job(kept, language)
    openers = _OPENERS.get(language or "", _OPENERS["en"] + _OPENERS["pl"])
    stripped = True
    while stripped:
        stripped = False
        for opener in openers:
            n = opener.count(" ") + 1
            if " ".join(kept[:n]) == opener and len(kept) - n >= 2:
                kept, stripped = kept[n:], True
                break
    return " ".join(kept)


def _without_refused_request(words: list[str], language: str | None) -> list[str]:
    """The words without "don't want to complain" when a real request follows ("..., I just want...")."""
    langs = [language] if language in _NEGATORS else list(_NEGATORS)
    for lang in langs:
        for i in range(len(words) - 1):
            # the negator right before the wanting verb, or one word before it ("do not want", "i'm not calling")
            if words[i] not in _NEGATORS[lang] or not (
                    words[i + 1] in _WANTING[lang] or (i + 2 < len(words) and words[i + 2] in _WANTING[lang])):
                continue
            for j in range(i + 2, len(words)):
                if words[j] in _CONTRAST[lang] and len(words) - j - 1 >= MIN_REAL_REQUEST:
                    start = i  # with the subject: "i do not want to cancel" -> ""
                    while start and i - start < 2 and words[start - 1] in _SUBJECT:
                        start -= 1
                    return words[:start] + words[j:]
            return words
    return words


def _without_negated_correction(words: list[str], language: str | None) -> list[str]:
    """The words without the negated part of "not X, just Y" ("could we not cancel it, just shift it" -> "could we
    just shift it"): the negator and what it negates, up to the corrective word."""
    langs = [language] if language in _NEGATING else list(_NEGATING)
    for lang in langs:
        i = 0
        while i < len(words):
            if words[i] in _NEGATING[lang] and not (i + 1 < len(words) and _expected(words[i + 1:i + 3])):
                for j in range(i + 2, min(len(words), i + MAX_NEGATED + 2)):  # one word negated at least
                    if words[j] in _NEGATING[lang]:
                        break  # a negation of its own: "not X, I don't Y" is not this shape
                    if _task_verb(words[j], lang) and _task_verb(words[i + 1], lang) and (
                            words[j][:4] != words[i + 1][:4]):  # "not cancel it, change it" -> "change it"
                        words = words[:i] + words[j:]
                        break
                    if words[j] not in _CORRECTING[lang] or j + 1 == len(words):  # "not move it, just cancel"
                        continue
                    if lang == "en" and words[j + 1] in _NOUN_PHRASE:
                        break
                    cut = j - 1 if words[j] == "prostu" and words[j - 1] == "po" else j
                    if cut > i:
                        words = words[:i] + words[cut:]
                    break
            i += 1
    return words


def _task_verb(word: str, lang: str) -> bool:
    return word.startswith(_TASK_VERBS[lang])


def _expected(negated: list[str]) -> bool:
    """The negated words (the first one or two: "doesn't work", "nie jest włączony") say what should have happened."""
    return any(w.startswith(_EXPECTED) for w in negated if w not in ("jest", "sie", "is", "be", "it", "mi"))


def _without_someone_for_a_job(words: list[str], language: str | None) -> list[str]:
    """The words without "kogoś"/"someone" when a job follows ("kogoś do pomiaru", "someone to fit it")."""
    langs = [language] if language in _SOMEONE else list(_SOMEONE)
    out = []
    for i, w in enumerate(words):
        after = words[i + 1:]
        if after and after[0] in _MODAL:
            after = after[1:]
        if (len(after) >= 2 and after[1] not in _TALKING
                and any(w in _SOMEONE[lang] and after[0] in _FOR_A_JOB[lang] for lang in langs)):
            continue
        out.append(w)
    return out


def greeting_only(words: list[str], language: str | None) -> bool:
    """Every (normalized) word is a greeting word: "hiya", "hello hello good morning", "halo, dzień dobry"."""
    vocab = _GREETING_WORDS.get(language or "", _GREETING_WORDS["en"] | _GREETING_WORDS["pl"])
    return bool(words) and all(w in vocab for w in words)


def thanks_only(words: list[str], language: str | None) -> bool:
    """Every (normalized) word belongs to a thank-you and one of them thanks: "thanks a lot", "dzięki wielkie"."""
    vocab = _THANKS_WORDS.get(language or "", _THANKS_WORDS["en"] | _THANKS_WORDS["pl"])
    return bool(words) and all(w in vocab for w in words) and any(w in _THANKING for w in words)


def stems(text: str) -> list[str]:
    """Word prefixes and prefix bigrams of normalized text: inflection-tolerant word features."""
    words = [w[:STEM_LENGTH] for w in text.split()]
    return words + [f"{a}_{b}" for a, b in pairwise(words)]


def mentions(text: str, terms: tuple[str, ...]) -> bool:
    """Whether normalized `text` holds one of `terms`: words or phrases, `word*` matching every ending of a stem
    ("bank*" -> "banku", "banking"). Terms are folded like the text ("prąd" = "prad")."""
    words = text.split()
    for term in terms:
        parts = fold(term).split()
        n = len(parts)
        for i in range(len(words) - n + 1):
            if all(stem_matches(w, p) for w, p in zip(words[i:i + n], parts, strict=True)):
                return True
    return False



# "And can I pay by BLIK?", "czy można zapłacić przelewem": a caller ASKING whether or how something can be
# done is not reporting a fault, though the words (pay, card, delivery) are the fault's words too. Such a turn
# opens with a question of possibility or choice; folded word sequences, after fillers and a leading "and/so".
_ASKING = {
    "en": ("can i", "can we", "could i", "could we", "may i", "is it possible", "is there", "are there", "do you",
           "does it", "what", "which", "how can i", "how do i", "how can we", "how do we", "will i", "would it"),
    "pl": ("czy", "mozna", "moge", "mozemy", "da sie", "dalo by sie", "daloby sie", "jak moge", "jak mozna",
           "jakie", "jaki", "jaka", "jakimi", "macie", "przyjmujecie", "akceptujecie", "obslugujecie", "bedzie"),
}
_LEADING = frozenset({"and", "so", "also", "oh", "ok", "okay", "right", "yes", "yeah", "a", "i", "to", "no", "dobra",
                      "aha", "jeszcze", "tak"})
# Words that tell of trouble all the same ("can you check why my card was declined"): the question stays a
# problem report. Negation counts ("why can't i pay", "czy nie da się"). Whole folded words, then word prefixes.
_TROUBLE_WORDS = frozenset({"not", "no", "never", "nothing", "why", "twice", "still", "again", "wrong", "nie", "nic",
                            "czemu", "dlaczego", "dalej", "nadal", "wciaz", "ciagle", "znow", "znowu"})
_AUX = frozenset({"don", "didn", "doesn", "can", "won", "isn", "aren", "wasn", "haven", "hasn", "couldn", "wouldn"})
_TROUBLE_STEMS = ("fail", "error", "declin", "reject", "refus", "double", "broke", "stuck", "problem", "crash",
                  "complain", "charged", "overcharg", "missing", "late ", "delay", "damag", "rude", "worst",
                  "terrible", "awful", "hack", "stolen", "fraud", "scam", "spozni", "opozni", "uszkodz", "niemil",
                  "chamsk", "okropn", "fataln", "oszus", "ukradz", "blad", "bled", "odrzuc", "dwukrot", "podwojn",
                  "zepsu", "reklam", "skarg", "zgin", "pobral", "pobrano", "dwa razy",
                  # what a faulty thing does: a turn naming a product with one of these reports a fault
                  "nois", "leak", "smell", "smok", "spark", "burn", "crack", "scratch", "dented", "fault", "defect",
                  "dead ", "leje", "ciekn", "kapie", "przeciek", "halas", "buczy", "piszcz",
                  "smierdz", "dymi", "iskrz", "pekn", "porysow", "wadliw", "usterk", "kopie", "poraz", "shock",
                  "stopped", "przestal", "flicker", "migocz", "mruga", "sie wiesza", "wysyp", "stlucz", "bounc",
                  "dissatisf",
                  # asking what to do about something is asking for help with it
                  "do i do", "should i do", "can i do", "co robic", "co zrobic", "co mam zrobic", "co mam robic")


# "Normal card payment is fine too, right?", "kartą też można, prawda?": a statement the caller wants confirmed is
# a question as much as one that opens with "can I"; the tag at its end makes it one. Folded word sequences.
_TAGS = {
    "en": ("right", "is that right", "isn't it", "is it", "correct", "is that correct", "i assume", "i hope",
           # an elliptic follow-up on what was just answered: "and by bank transfer too?"
           "too", "as well", "also"),
    "pl": ("prawda", "tak", "czy tak", "zgadza sie", "racja", "dobrze mysle", "mam racje", "tez", "rowniez", "takze"),
}
MIN_TAGGED = 3  # words before the tag: a statement of its own ("yes right" is an answer, not a question)
# "I just wanted to thank the lady from yesterday", "chciałam podziękować, pani była bardzo miła": a thank-you or
# praise told as a story shares a complaint's words (a person, yesterday, the service) but reports no trouble.
# Thanking as what the caller called to do, not a polite "thanks, ..." before a complaint: folded word prefixes.
_PRAISING = ("to thank", "say thank", "say a big thank", "grateful", "compliment", "praise", "podziekow", "wdzieczn",
             "pochwal", "komplement")


# "it's me again", "to znowu ja": a caller calling back says "again" about themself, not about a fault.
_CALLING_AGAIN = (("me", "again"), ("znowu", "ja"), ("ja", "znowu"))


def _untroubled(words: list[str]) -> bool:
    """No word of trouble or negation among the (normalized) words."""
    for pair in _CALLING_AGAIN:
        words = [w for i, w in enumerate(words)
                 if not (tuple(words[i:i + 2]) == pair or (i and tuple(words[i - 1:i + 1]) == pair))]
    negated = any(w in _TROUBLE_WORDS or w.endswith("n't") or (w.endswith("nt") and w[:-2] in _AUX) for w in words)
    joined = " " + " ".join(words) + " "  # "late " is a whole word: "can I pay later" is no trouble
    return not negated and not any(f" {t}" in joined for t in _TROUBLE_STEMS)


def untroubled(text: str) -> bool:
    """A normalized turn holds no word of trouble or negation: "the sofa i ordered", not "the sofa i ordered is
    scratched" or "w sprawie pralki, nie działa"."""
    words = text.split()
    while words and words[0] in _LEADING:  # "no, it's about the sofa": the answer word is no trouble
        words = words[1:]
    return _untroubled(words)


def asks_how_or_whether(text: str, language: str | None) -> bool:
    """A normalized turn asks whether or how something can be done, with no word of trouble in it."""
    words = text.split()
    while words and words[0] in _LEADING:
        words = words[1:]
    opening = " ".join(words)
    askers = _ASKING.get(language or "", _ASKING["en"] + _ASKING["pl"])
    if any(opening == a or opening.startswith(a + " ") for a in askers):
        return _untroubled(words)
    tags = _TAGS.get(language or "", _TAGS["en"] + _TAGS["pl"])
    for tag in tags:
        n = tag.count(" ") + 1
        if len(words) - n >= MIN_TAGGED and words[-n:] == tag.split():
            return _untroubled(words[:-n])  # "isn't it" is the tag's own negation, not trouble
    return False


# "My neighbour managed to sort the problem out for me", "pralka już działa": the trouble is over, there is nothing
# to hand over (phone_blind32 en-r6's cancelled visit, then that remark went to technical support). Folded word
# sequences; a turn that still negates ("it still isn't working", "nadal nie działa") or goes on with a "but" ("it's
# working again but it makes a noise") is no such remark.
# Whole words only, no stems: `resolved` matches each phrase as words of its own.
_RESOLVED = ("managed to sort", "managed to fix", "sorted itself out", "fixed itself", "got it sorted",
             "got it fixed", "working again", "works again", "working fine now", "works fine now",
             "udalo sie naprawic", "udalo mi sie naprawic", "udalo sie to naprawic", "juz dziala", "dziala juz",
             "znowu dziala", "znow dziala", "samo przeszlo", "naprawil to", "naprawila to")
_NOT_OVER = frozenset({"not", "never", "still", "again", "but", "though", "nie", "nadal", "wciaz", "dalej", "znowu",
                       "znow", "ale", "jednak"})


def resolved(text: str) -> bool:
    """A normalized turn says the trouble is over ("managed to fix it", "już działa"), with nothing still wrong."""
    joined = " " + text + " "
    said = [r for r in _RESOLVED if f" {r} " in joined]
    for r in said:
        joined = joined.replace(f" {r} ", " ")
    return bool(said) and not any(w in _NOT_OVER or w.endswith("n't") for w in joined.split())


def praises(text: str, language: str | None) -> bool:
    """A normalized turn thanks or praises someone, with no word of trouble in it."""
    words = text.split()
    joined = " " + " ".join(words)
    return any(f" {p}" in joined for p in _PRAISING) and _untroubled(words)


# "And bank transfer?" / "a na czajnik tak samo?" right after an answer: the same question about another thing,
# said short. The words that open such a follow-up (folded word sequences) and its longest length in words.
_FOLLOW_UP_OPENERS = {
    "en": ("and", "what about", "how about"),
    "pl": ("a", "i", "oraz", "a co z", "a jak z"),
}
MAX_FOLLOW_UP = 6


def follows_up(text: str, language: str | None) -> bool:
    """A normalized turn is a short follow-up on the question just answered, with no word of trouble in it."""
    words = text.split()
    openers = _FOLLOW_UP_OPENERS.get(language or "", _FOLLOW_UP_OPENERS["en"] + _FOLLOW_UP_OPENERS["pl"])
    opened = any(words[:o.count(" ") + 1] == o.split() for o in openers)
    return opened and 1 < len(words) <= MAX_FOLLOW_UP and _untroubled(words)


# "The blender stopped working and I'd like to put in a formal complaint", "kupiłem lodówkę i buczy, możecie kogoś
# przysłać": a caller often tells the story first and asks last. The words that open the request (folded word
# sequences); what follows the last of them is the request clause.
_REQUEST_OPENERS = {
    "en": ("could you", "can you", "can i", "can we", "would you", "i need", "i'd like", "i would like", "i want",
           "i wanna", "how do i", "please"),
    "pl": ("czy mozecie", "mozecie", "moglibyscie", "potrzebuje", "chcialbym", "chcialabym", "chce", "prosze",
           "czy moge", "jak moge", "mozna"),
}
MIN_STORY = 2  # words before the request opener: a story, not just a lead-in ("hi I need...")
MIN_ASKED = 2  # words after the opener: a request of its own, not "can you help"


def request_clause(text: str, language: str | None) -> str | None:
    """The request at the end of a normalized turn that tells a story first, or None."""
    words = text.split()
    openers = _REQUEST_OPENERS.get(language or "", _REQUEST_OPENERS["en"] + _REQUEST_OPENERS["pl"])
    cut = None
    for i in range(MIN_STORY, len(words)):
        if any(words[i:i + o.count(" ") + 1] == o.split() and len(words) - i - o.count(" ") - 1 >= MIN_ASKED
               for o in openers):
            cut = i
    return " ".join(words[cut:]) if cut is not None else None


def request_after_yes(text: str, language: str | None, yes_words: frozenset[str]) -> str | None:
    """The request in "yes, I need to move it" / "tak, chcę ją przełożyć": a normalized turn that opens with a yes
    word (one or two) and goes straight on to a request opener; None otherwise."""
    words = text.split()
    openers = _REQUEST_OPENERS.get(language or "", _REQUEST_OPENERS["en"] + _REQUEST_OPENERS["pl"])
    for i in (1, 2):
        if i >= len(words) or not all(w in yes_words for w in words[:i]):
            break
        for o in openers:
            n = o.count(" ") + 1
            if words[i:i + n] == o.split() and len(words) - i - n >= MIN_ASKED:
                return " ".join(words[i:])
    return None


# "Uh huh, that's the one I meant", "that isn't my number", "nie, to nie jest moje zamówienie": a yes or a no with a
# remark on what was read back. Such a turn opens with the yes/no or with pointing at what was said ("that",
# "to"), holds only words of pointing besides, and names at most one thing of the kind a bot reads back (a number,
# an address, an order) - "this is not my sofa" names goods and stays a complaint. Folded words; Polish read-back
# things as prefixes, so endings match ("zamówienie", "zamówienia"); English ones whole ("ordered" is a story).
_REMARK = {
    "en": frozenset({"that", "that's", "thats", "this", "it", "it's", "its", "is", "isn't", "was", "wasn't", "not",
                     "the", "one", "i", "i'm", "im", "meant", "said", "asked", "for", "all", "good", "fine",
                     "exactly", "what", "you", "got", "read", "back", "sounds", "looks", "perfect", "spot", "on",
                     "huh", "uh", "oh", "mean", "think", "so", "just", "my", "our"}),
    "pl": frozenset({"to", "jest", "ten", "ta", "te", "sie", "wszystko", "mi", "o", "chodzi", "wlasnie", "sam",
                     "chyba", "nie", "tak", "no", "jak", "najbardziej", "mam", "na", "mysli", "myslalem",
                     "myslalam", "moj", "moja", "moje", "mojego", "moim", "nasz", "nasza", "nasze"}),
}
_POINTING = {"en": frozenset({"that", "that's", "thats", "this", "it", "it's", "its", "huh", "uh", "oh"}),
             "pl": frozenset({"to", "ten", "ta"})}
_READ_BACK = {"en": ("number", "address", "email", "e-mail", "mail", "name", "order", "code", "date", "time",
                     "postcode", "phone", "day"),
              "pl": ("numer", "adres", "email", "mail", "imie", "imien", "nazwisk", "zamow", "kod", "termin", "dat",
                     "godzin", "dzien", "telefon")}
MAX_REMARK_ANSWER = 8  # words: longer turns say more than yes or no
MAX_NAMED = 2  # read-back words of the one thing: "phone number", "numer telefonu"


def answer_with_remark(words: list[str], yes_no_words: frozenset[str], language: str | None) -> bool:
    """Normalized words are a yes/no answer with a remark on what was read back, nothing else."""
    lang = language if language in _REMARK else "en"
    if not words or len(words) > MAX_REMARK_ANSWER or (
            words[0] not in yes_no_words and words[0] not in _POINTING[lang]):
        return False
    named = 0
    for w in words:
        if w in yes_no_words or w in _REMARK[lang]:
            continue
        if named < MAX_NAMED and (w.startswith(_READ_BACK[lang]) if lang == "pl" else w in _READ_BACK[lang] or (
                w.endswith("s") and w[:-1] in _READ_BACK[lang])):
            named += 1
            continue
        return False
    return True
