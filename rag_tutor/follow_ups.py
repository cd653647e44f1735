"""Follow-ups: a question that points back into the conversation, made to stand alone.

A pronoun ("Who introduced it?"), a place ("the first one"), a question asked again of another thing ("and
diffusion?", "what about for video?") or an aspect alone ("any weaknesses?"): each earlier turn's subject
(``subject_of``) is what such a question is about. Whether a question points back at all, and which of these rules
apply, is decided once, in the query stage (query.understand).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .asks import ASKS, EXPLAINS
from .config import Settings

# Words that point back into the conversation ("Who introduced it?").
_ANAPHORA = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|this|that|these|those|he|she|his|her|the same|one|ones|there|"
    r"the (model|method|technique|approach|idea|paper|family|process|metric|term)s?)\b",
    re.I,
)


# Words that point into the conversation without naming anything ("the second one", "the former").
POINTING = re.compile(_ANAPHORA.pattern + r"|^(first|second|third|last|latter|former|other|previous|earlier)$", re.I)
# "the first one", "that second one", "the former", "the latter": one of several earlier subjects, by its place.
_ORDINAL = re.compile(r"\b(?:the|that|this)\s+(first|second|former|latter|last)(?:\s+one)?\b", re.I)
# Words pointing at two earlier things together: "the two", "both", "which one", "either", "between them".
_TOGETHER = re.compile(r"\b(?:(?P<two>(?:the|these|those) two(?: of them)?)|"
                       r"(?P<both>(?:(?:they|them|these|those) )?both(?: of them)?)|"
                       r"(?P<which>which one|which of (?:them|the two|these|those))|(?P<either>either(?: one| of them)?)|"
                       r"(?P<between>between them))\b", re.I)
# How an elliptical follow-up opens ("And the decoder?", "What about training?").
_ELLIPSIS = re.compile(r"^\W*(and|but|so|also|then|what about|how about|what else|more)\b", re.I)


def points_at(question: str) -> bool:
    """Whether a question points into the conversation: a pronoun or "the model" (``_ANAPHORA``), or an earlier
    subject by its place ("the first one")."""
    return bool(_ANAPHORA.search(question) or _ORDINAL.search(question))


def elliptical(question: str) -> bool:
    """A question with no subject of its own: 3 words or fewer, opened like a follow-up, or asking only for an aspect
    of something (its weaknesses, an example, who made it, why, how) — not "What's the weather like today?"."""
    return (len(re.findall(r"\w+", question)) <= 3 or bool(_ELLIPSIS.search(question))
            or bool(EXPLAINS.search(question))
            or any(pattern.search(question) for kind, pattern in ASKS if kind not in ("list", "definition")))


# Where a clause or sentence ends inside a question ("People keep talking about X, what are they?", "X is everywhere.
# When did it come out?", "I read about X - is it new?").
_CLAUSE_END = re.compile(r"[.?!;:,]\s|\s[-–—]\s")


# A clause that only names something to compare with ("Compared with GANs, ...", "Unlike VAEs, ...").
_COMPARING = re.compile(r"^\W*(?:compared (?:with|to)|unlike|like|besides|apart from|as opposed to|versus|vs\.?|"
                        r"other than|rather than|in contrast to)\b", re.I)


def _within(question: str, names: re.Pattern | None) -> tuple[re.Match, int, str] | None:
    """The question's first pronoun, where its clause starts, and the course term it stands for, named in an earlier
    clause or sentence of the question; None when there is no such term: the pronoun's own clause names one before
    it ("Is X faster than it?" points back), or the earlier ones name one only to compare ("Compared with X, is it
    faster?" points back too)."""
    pronoun = _POINTS_BACK.search(question)
    if names is None or pronoun is None:
        return None
    before = question[:pronoun.start()]
    ends = list(_CLAUSE_END.finditer(before))
    if not ends or names.search(before[ends[-1].end():]):
        return None
    start = ends[-1].end()
    terms = [m.group(0) for clause in _CLAUSE_END.split(before[:start]) if not _COMPARING.match(clause)
             for m in names.finditer(clause)]
    return (pronoun, start, terms[-1]) if terms else None


def own_question(question: str, names: re.Pattern | None) -> str | None:
    """A question's last clause or sentence with its pronoun replaced by the course term an earlier one names, when
    it stands for that term (``_within``): "I read about CLIP yesterday. Who designed it?" -> "Who designed CLIP?";
    None otherwise. Such a question is about that term, not about an earlier turn's subject (rule pronouns_within:
    "My friend mentioned LoRA. Why is it useful?"), and asks what its last clause asks (rule last_clause_asks).
    (Read for any last clause, pronoun or not, the kind lost answers on the tuning sets: a question opening with a
    phrase that places it in a topic became a person question, and a follow-up put as "About X: ..." took the kind
    of its own last words.)"""
    found = _within(question, names)
    if found is None:
        return None
    pronoun, start, term = found
    if pronoun.group(1).lower() in ("its", "their"):
        term = f"{term}'" if term.endswith("s") else f"{term}'s"
    return (question[start:pronoun.start()] + term + question[pronoun.end():]).strip()


def depends_on_history(question: str, names: re.Pattern | None = None, pairs: bool = False) -> bool:
    """A question that refers back (pronoun, "the model"; with ``pairs``, "the two" or "both" naming at most one
    course term), or is too short to stand alone: given the course's terms, a short elliptical question naming none
    of them ("so any catch with that?"), else 3 words or fewer."""
    words = re.findall(r"\w+", question)
    if points_at(question) or (pairs and names is not None and _TOGETHER.search(question)
                               and len(_named(question, names)) < 2):
        return True
    if names is None:
        return len(words) <= 3
    # "What about GANs?" names its own subject; "What's a good recipe for banana bread?" is not elliptical
    return len(words) <= 8 and not names.search(question) and elliptical(question)


# How a plain question opens, before the thing it is about ("What is", "Tell me about", "How does").
_OPENER = re.compile(
    r"^(?:(?:and|but|so|also|then) )?(?:(?:can|could) you |please )?"
    r"(?:what['’]?s|what (?:is|are|was|were|does|do)|who['’]?s|who (?:is|was|are|were)|"
    r"tell me (?:more )?about|explain|describe|define|how (?:do|does|did|is|are)|why (?:do|does|is|are)|"
    r"i (?:want|would like|'d like) to (?:learn|know|understand) about|let's talk about|what about)\s+", re.I)
# Openers after which the rest of the question is the thing asked about ("What is prompt injection?")
_NAMES_A_THING = re.compile(r"^(?:(?:and|but|so|also|then) )?(?:(?:can|could) you |please )?"
                            r"(?:what['’]?s|what (?:is|are|was|were)|tell me (?:more )?about|"
                            r"explain|describe|define|what about)\s+", re.I)
# Pronouns that may stand for an earlier subject ...
_PRONOUN = re.compile(r"\b(it|they|them|its|their)\b", re.I)
# ... and the ones a follow-up's subject is put in for: not "its own" or "their own", which mean the thing the same
# clause is about ("does the decoder run on its own?" is not "on the VAE's own").
_POINTS_BACK = re.compile(r"\b(it|they|them|its(?!\s+own\b)|their(?!\s+own\b))\b", re.I)


# Where a second question joined to a first begins: ", and where do they sit", " and what is it built on".
_SECOND_QUESTION = re.compile(r",?\s+(?:and|or)\s+(?=(?:what|how|why|where|which|who|whom|whose|when|does|do|did|is|"
                              r"are|was|were|can|could|should)\b)|,\s*(?:and|or)\s+", re.I)


# A preposition opening the phrase a term sits in, up to two words before it ("LoRA in diffusion models", "what the
# discriminator of a GAN does"): such a term qualifies the thing a turn is about. Not "about": "Tell me about X"
# names its subject.
_IN_PHRASE = re.compile(r"\b(?:of|for|in|on|to|with|from|by|over|under|into|than|like|as|below|above|between|among|"
                        r"without|within|across|through|via|per)\s+(?:[\w'’-]+\s+){0,2}$", re.I)


def main_term(turn: str, found: list[re.Match], outside_phrases: bool = False) -> str:
    """Of the course terms a turn names (``found``, each a match in ``turn``), the one it is about: the longest; with
    ``outside_phrases`` (rule subjects_outside_phrases), the longest not inside a prepositional phrase when one is not
    ("How is LoRA used in diffusion models?" is about LoRA, not diffusion models)."""
    if outside_phrases:
        found = [m for m in found if not _IN_PHRASE.search(turn[:m.start()])] or found
    return max((m.group(0) for m in found), key=len)


# "How many parameters does X have?": an amount asked of X, whose noun ("parameters") is what is asked, not what the
# question is about.
_AMOUNT_OF = re.compile(r"^\W*(?:(?:and|but|so|also|then) )?how (?:many|much) [\w\s-]+? (?:does|do|did) (?P<of>.+?) "
                        r"(?:have|has|use|need|take|contain|require)\b", re.I)


def subject_of(turn: str, names: re.Pattern | None = None, outside_phrases: bool = False) -> str | None:
    """What an earlier question was about: the course term it names (``main_term``: "Why are diffusion models
    so popular?" -> "diffusion models"), else the object of a plain question ("What is a VAE?" -> "a VAE");
    None when neither is clear. An amount asked of something ("How many layers does the Zorbnet encoder use?") is
    about that thing: the course term named in it, else the thing as written."""
    text = turn.strip().rstrip("?.! ")
    amount = _AMOUNT_OF.match(text)
    if amount and len(amount.group("of").split()) <= 6 and not _PRONOUN.search(amount.group("of")):
        of = amount.group("of")
        found = list(names.finditer(of)) if names is not None else []
        return main_term(of, found, outside_phrases) if found else of
    m = _OPENER.match(text)
    subject = re.sub(r"\s+(work|mean|do|used for|based on|built on|trained on)$", "", text[m.end():]) if m else ""
    # "What is DPO, and does it need a reward model?": the thing named, not a term of the second question
    head, *second = _SECOND_QUESTION.split(subject, 1) if subject and _NAMES_A_THING.match(text) else [subject]
    if second:
        subject, turn = head, text[:m.end()] + head
    # "How does it work for audio?" has no subject of its own: the one before it does.
    subject = subject if subject and len(subject.split()) <= 6 and not _PRONOUN.search(subject) else None
    if names is not None:
        found = list(names.finditer(turn))
        if found:
            term = main_term(turn, found, outside_phrases)
            # "What is prompt injection?" is about prompt injection, not the course term inside it, "prompt"
            if subject and _NAMES_A_THING.match(text) and term.lower() in subject.lower():
                return subject
            return term
    return subject


def by_place(question: str, subjects: list[str]) -> str | None:
    """A question pointing at earlier subjects (``subjects``, oldest first) by their place, with each replaced by its
    subject ("What was the main weakness of the first one?" after a question on VAEs and one on GANs -> "... of
    VAEs?"); None when it points at none, or there are fewer than two subjects (then "the first one" is more likely
    in the answer)."""
    if len(subjects) < 2 or not _ORDINAL.search(question):
        return None
    place = {"first": 0, "second": 1, "former": -2}
    return _ORDINAL.sub(lambda m: subjects[place.get(m.group(1).lower(), -1)], question)


def _named(text: str, names: re.Pattern) -> set[str]:
    return {m.group(0).lower() for m in names.finditer(text)}


def _bare(subject: str) -> str:
    """A subject without its article or plural "s": "a flow" and "flows" are one subject."""
    return re.sub(r"^(?:the|a|an)\s+|s$", "", subject.lower())


def together(question: str, history: list[str], per_turn: list[str | None], names: re.Pattern | None) -> str | None:
    """A question pointing at the last two earlier turns' subjects together ("what's the difference between the
    two?" after "Tell me how VAEs work." and "Tell me how GANs work."), with both put in ("... between VAEs and
    GANs?"); None when it points at no two things, names two course terms of its own, the two turns have the same
    subject, or the latest turn names two course terms itself ("the two" are then those: "Which of the two came
    first?" after a question on MAF and IAF)."""
    m = _TOGETHER.search(question)
    if m is None or names is None or len(per_turn) < 2 or len(_named(question, names)) > 1:
        return None
    first, second = per_turn[-2], per_turn[-1]
    if not first or not second or _bare(first) == _bare(second) or len(_named(history[-1], names)) > 1:
        return None
    pair = {"two": f"{first} and {second}", "both": f"both {first} and {second}",
            "which": f"which of {first} and {second}", "either": f"either {first} or {second}",
            "between": f"between {first} and {second}"}[m.lastgroup]
    return question[:m.start()] + pair + question[m.end():]


def part_asked(question: str, history: list[str], names: re.Pattern | None, part_of: Callable[[str, str], bool],
               outside_phrases: bool = False) -> str | None:
    """A follow-up naming one course term as "the X" ("What does the decoder do?") after a turn on a subject whose
    part X is by the glossary (``part_of``: the decoder's definition names the VAE), asked about that subject ("About
    a VAE: What does the decoder do?"); None otherwise (rule parts_of_subjects)."""
    found = list(names.finditer(question)) if names is not None and history else []
    if len({m.group(0).lower() for m in found}) != 1 or not found[0].group(0).lower().startswith("the "):
        return None
    subject = subject_of(history[-1], names, outside_phrases)
    if not subject or subject.lower() in question.lower() or not part_of(found[0].group(0), subject):
        return None
    return f"About {subject}: {question}"


# "that function", "this penalty": a demonstrative before a word that may be the last word of a course term
_HEAD = re.compile(r"\b(?:that|this|these|those|the)\s+([a-z]{4,})\b", re.I)


def head_asked(question: str, history: list[str], names: re.Pattern | None,
               part_by_head: Callable[[str, str], str | None], outside_phrases: bool = False) -> str | None:
    """A follow-up naming a course term by its last word ("Why is that function costly to compute?" after a turn on
    energy-based models), with the whole term put in ("Why is the partition function ...?"): the one term ending so
    whose glossary definition names the earlier turn's subject (``part_by_head``; rule heads_of_parts). None when the
    question names a course term, the word is one itself, or no one term fits."""
    if names is None or not history or names.search(question):
        return None
    subject = subject_of(history[-1], names, outside_phrases)
    if not subject:
        return None
    for m in _HEAD.finditer(question):
        term = part_by_head(m.group(1), subject)
        if term:
            return question[:m.start()] + "the " + term + question[m.end():]
    return None


# "and diffusion?", "what about for language models?": the question before, asked again of another subject.
_ASKED_AGAIN = re.compile(r"^\W*(?:and|what about|how about)\s+(?:for\s+|with\s+)?(?P<x>[^?.!]+?)\s*[?.!]*$", re.I)


def asked_again(question: str, history: list[str], names: re.Pattern | None = None,
                outside_phrases: bool = False) -> str | None:
    """An elliptical question that is only a course term ("and diffusion?" after "Who proposed flows?"): the latest
    earlier question with its subject replaced by that term ("Who proposed diffusion?"); None otherwise."""
    m = _ASKED_AGAIN.match(question)
    if names is None or m is None or not history or not names.fullmatch(m.group("x")):
        return None
    turn = history[-1].strip()
    subject = subject_of(turn, names, outside_phrases)
    at = turn.lower().find(subject.lower()) if subject else -1
    if at < 0 or subject.lower() == m.group("x").lower():
        return None
    return put_in(turn, at, at + len(subject), m.group("x"))


def put_in(turn: str, start: int, end: int, thing: str) -> str:
    """``turn`` with its characters start..end replaced by ``thing``, whose article goes when one (or a possessive)
    is already there ("a GAN's generator" with "the discriminator" is "a GAN's discriminator"); a thing with an
    article replaces the words before it back to theirs ("the large generator" with "the discriminator" is "the
    discriminator"); and its first word goes when the word before is the same ("on text" with "on images" is "on
    images")."""
    modified = re.search(r"\b(?:the|a|an)\s+(?:[\w-]+\s+){1,2}$", turn[:start], re.I)
    if modified and re.match(r"(?:the|a|an)\s", thing, re.I):
        start = modified.start()  # not "the large the discriminator"
    elif re.search(r"(?:\b(?:the|a|an)|['’]s)\s+$", turn[:start], re.I):
        thing = re.sub(r"^(?:the|a|an)\s+", "", thing, flags=re.I)
    before = re.search(r"\b(\w+)\s+$", turn[:start])
    first = thing.split(maxsplit=1)
    if before and len(first) == 2 and first[0].lower() == before.group(1).lower():
        thing = first[1]  # "conditioned on text" with "on images": "conditioned on images"
    return turn[:start] + thing + turn[end:]


# The words that ask, which an earlier question's parallel phrase never starts or ends with.
_ASKING_WORDS = frozenset("what which who whom whose when where why how does do did is are was were can could should "
                          "would will".split())
PARALLEL_PHRASE_WORDS = 4  # the longest phrase of the earlier question that "and for X?" may stand for
# How alike a text is to each of several phrases (the retriever's: MiniLM's cosine)
Similarity = Callable[[str, list[str]], list[float]]


def asked_in_parallel(question: str, history: list[str], similar: Similarity | None,
                      settings: Settings) -> str | None:
    """An elliptical question naming something else ("and for video?", "what about the discriminator?") after a question
    with a phrase of the same kind ("How does X generate images...?"): that question with the phrase replaced ("How
    does X generate video...?"). The phrase is the one of up to ``PARALLEL_PHRASE_WORDS`` words, not starting or ending
    with a stopword or a word of asking, that ``similar`` rates closest to the new thing, if at least
    ``parallel_min_similarity`` (below it, nothing is alike: "what about licensing?" after "What is the ELBO?").
    None for a new thing of more than ``parallel_max_words`` words, with a clause of its own, or a question of its
    own ("and what are they used for?")."""
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    m = _ASKED_AGAIN.match(question)
    if similar is None or m is None or not history:
        return None
    x = m.group("x").strip()
    if (not x or len(x.split()) > settings.parallel_max_words or re.search(r"[,;:]", x)
            or x.split()[0].lower() in _ASKING_WORDS or _PRONOUN.search(x)):
        return None  # "and what are they used for?" is a question of its own
    turn = history[-1].strip()
    words = list(re.finditer(r"[\w'’-]+", turn))
    outer = set(STOPWORDS_EN_PLUS) | _ASKING_WORDS
    spans = [(words[i].start(), words[j - 1].end()) for i in range(len(words))
             for j in range(i + 1, min(len(words), i + PARALLEL_PHRASE_WORDS) + 1)
             if words[i].group(0).lower() not in outer and words[j - 1].group(0).lower() not in outer]
    bare = re.sub(r"^(?:(?:on|in|to|at|by|of|from|into|about)\s+)?(?:(?:the|a|an)\s+)?", "", x, flags=re.I)
    spans = [(a, b) for a, b in spans if turn[a:b].lower() != bare.lower()]
    if not spans:
        return None
    scores = similar(bare, [turn[a:b] for a, b in spans])
    best = max(scores)
    if best < settings.parallel_min_similarity:
        return None
    # the closest; of two about as close (within 0.02), the shorter ("molecule", not "used for molecule")
    a, b = min((span for span, score in zip(spans, scores) if score >= best - 0.02), key=lambda t: t[1] - t[0])
    return put_in(turn, a, b, x)


def _singular(pronoun: str) -> bool:
    return pronoun.lower() in ("it", "its")


def antecedent(pronoun: str, history: list[str], subjects: list[str | None]) -> str | None:
    """What a follow-up's pronoun stands for, given each earlier turn's subject (``subject_of``, oldest first): the
    subject of the latest turn, unless that turn used a pronoun of the same number itself ("How many layers does its
    encoder use?" after "Tell me about VAEs."): then both pronouns stand for the same thing, the turn before's."""
    for i in range(len(history) - 1, -1, -1):
        own = _PRONOUN.search(history[i])
        if i > 0 and own and _singular(own.group(1)) == _singular(pronoun):
            continue
        return subjects[i]
    return None


def resolve_follow_up(question: str, history: list[str], names: re.Pattern | None = None,
                      outside_phrases: bool = False, pairs: bool = False) -> str | None:
    """The follow-up made to stand alone: with ``pairs`` (rule pairs_in_follow_ups), the last two earlier subjects
    it points at together put in (``together``); else earlier subjects it points at by place put in (``by_place``);
    else its first pronoun replaced by what it stands for (``antecedent``: "Who introduced it?" after "What is a
    VAE?" -> "Who introduced a VAE?"), or, with no pronoun, the latest subject put in front ("About FID: any
    weaknesses?"); None if the earlier subject is unclear or the question names its own."""
    per_turn = [subject_of(t, names, outside_phrases) for t in history]
    subjects = [s for s in per_turn if s]
    placed = (together(question, history, per_turn, names) if pairs else None) or by_place(question, subjects)
    if placed:
        return placed
    if not subjects:
        return None
    pronoun = _POINTS_BACK.search(question)
    if not pronoun:
        subject = subjects[-1]
        if names is None or (names.search(question) and not _ANAPHORA.search(question)):
            return None  # it names its own subject
        if subject.lower() in question.lower():
            return None
        return f"About {subject}: {question}"
    subject = antecedent(pronoun.group(1), history, per_turn) or subjects[-1]

    def name(m: re.Match) -> str:
        if m.group(1).lower() in ("its", "their"):
            return f"{subject}'" if subject.endswith("s") else f"{subject}'s"
        return subject

    return _POINTS_BACK.sub(name, question, count=1)
