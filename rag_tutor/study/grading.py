"""Reading a learner's answer: "B", "2", "the second one", an option's text, or a typed term with typos.

Written by hand because the job is small and specific: no library maps "the second
one" to an option, and difflib (stdlib) covers the typo tolerance.
"""

from __future__ import annotations

import difflib
import re

from ..citations import lexical_support
from .material import alias_pattern, normalise

LETTERS = "ABCDEFGH"
_ORDINALS = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3,
             "fifth": 4, "5th": 4, "last": -1}
_TRUE = {"true", "t", "yes", "y", "correct", "right", "vrai"}
_FALSE = {"false", "f", "no", "n", "incorrect", "wrong"}
# Words around an answer that carry no choice: "I think it's option B", "my answer is the second one".
_FILLER = re.compile(
    r"\b(i think|i guess|i'?d say|i choose|i pick|i go with|my answer is|the answer is|answer|it'?s|it is|"
    r"is it|could it be|is|maybe|probably|option|choice|letter|number|the|one|please)\b", re.I)
_QUESTION_START = re.compile(
    r"^(what|why|how|who|whom|whose|when|where|which|is|are|was|were|do|does|did|can|could|should|would|will|"
    r"explain|describe|define|tell me|compare|give me an example|what's|whats|how's)\b", re.I)
_ARTICLES = re.compile(r"^(a|an|the)\s+")


def looks_like_question(line: str) -> bool:
    """A learner question rather than an answer: ends with "?" or opens like one, in at least three words."""
    text = line.strip()
    words = re.findall(r"\w+", text)
    if len(words) < 3:
        return False
    return text.endswith("?") or bool(_QUESTION_START.match(text))


def parse_choice(reply: str, options: list[str], fuzzy_ratio: float = 0.85) -> int | None:
    """The option a reply picks, or None when it names none of them."""
    raw = reply.strip()
    if not raw or not options:
        return None
    low = normalise(raw)
    norm_options = [normalise(o) for o in options]
    if low in norm_options:
        return norm_options.index(low)
    core = " ".join(_FILLER.sub(" ", raw.lower()).replace("(", " ").replace(")", " ").split()).strip(" .:!?")
    if len(core) == 1 and core.upper() in LETTERS[: len(options)]:
        return LETTERS.index(core.upper())
    if core.isdigit() and 1 <= int(core) <= len(options):
        return int(core) - 1
    if core in _ORDINALS and _ORDINALS[core] < len(options):
        return _ORDINALS[core] % len(options)
    if norm_options == ["true", "false"]:
        return 0 if core in _TRUE or low in _TRUE else 1 if core in _FALSE or low in _FALSE else None
    # Typed option text (with or without "could it be ..."): the one option containing it, else the closest spelling.
    for typed in dict.fromkeys((low, normalise(core))):
        if len(typed) >= 4:
            containing = [i for i, o in enumerate(norm_options) if typed in o]
            if len(containing) == 1:
                return containing[0]
        ratios = [difflib.SequenceMatcher(None, typed, o).ratio() for o in norm_options]
        best = max(range(len(options)), key=ratios.__getitem__)
        if ratios[best] >= fuzzy_ratio:
            return best
    return None


def _singular(text: str) -> str:
    return " ".join(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in text.split())


def matches_answer(reply: str, accepted: list[str] | tuple[str, ...], fuzzy_ratio: float = 0.85) -> bool:
    """Whether a typed short answer names the expected term (any accepted form, small typos allowed)."""
    typed = _ARTICLES.sub("", normalise(reply))
    if not typed:
        return False
    for answer in accepted:
        want = _ARTICLES.sub("", normalise(answer))
        if not want:
            continue
        if want.isdigit():
            if want in typed.split():
                return True
            continue
        if _singular(typed) == _singular(want):
            return True
        if difflib.SequenceMatcher(None, _singular(typed), _singular(want)).ratio() >= fuzzy_ratio:
            return True
        # "it's the discriminator": the term inside a short sentence
        if alias_pattern(answer).search(reply) and len(typed.split()) <= len(want.split()) + 4:
            return True
    return False


def recall_score(reply: str, expected: str, embedder=None) -> float:
    """How well a typed explanation matches a card's back: embedding cosine, or word overlap without a model."""
    if not reply.strip():
        return 0.0
    if embedder is None:
        return lexical_support(expected, reply)
    a, b = embedder.embed([reply, expected])
    return float(a @ b)
