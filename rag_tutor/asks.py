"""What a question asks for, and the shape of a sentence that gives it.

The kind of question (``ASKS``: a reason, a mechanism, a person, a date...), the shape of a sentence answering each
kind (``ANSWER_SHAPES``), and amounts: whether a question asks for one and whether a sentence gives it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from .config import Settings

if TYPE_CHECKING:
    from .query import Query


# "What's the catch?", "is there a catch?": a weakness asked for in everyday words (not "catch on", "catch them").
A_CATCH = r"\b(?:the|a|any|big|main|one) catch\b"
# The words naming who made something: people ("which researchers"), or an organisation ("which lab"), the maker.
PEOPLE_NOUNS = r"researchers?|authors?|people"
MAKER_NOUNS = r"labs?|compan(?:y|ies)|organi[sz]ations?|teams?|groups?|universit(?:y|ies)|institutions?"
# The kinds asking who made or when came something: their answer opens with a name or a year (answer.who_when_lead),
# and one asked only of a course term is not declined for its cosine (query.term_fact).
WHO_WHEN = ("person", "maker", "date")
# A word asking how things differ: "difference", "differently", "different from", "how is it different?". Not
# "different" before a noun ("on two different machines", "a different result each run"): that asks nothing of a
# difference; nor "differentiable" or "differentially".
DIFFERENCE = (r"differences?|differently|differentiat(?:e|es|ing)|"
              r"different(?!\s+(?!(?:from|than|to|about|in|at|for|with|when|between|or|and)\b)[a-z])")
# What a question asks, first match wins. Informative for the benchmarks and the answer's lead; the rules below
# use `explains` (the older, wider "why/how/weakness/comparison" test) so that their measured effect stands.
ASKS: tuple[tuple[str, re.Pattern], ...] = tuple((kind, re.compile(rx, re.I)) for kind, rx in (
    # "which of GANs and VAEs ...": which of two named things, a comparison (as a follow-up's "which one" is put)
    ("comparison", rf"\b(vs\.?|versus|{DIFFERENCE}|compare\w*|contrast)\b|\bwhich of (?:[\w'-]+ ){{1,4}}(?:and|or) "),
    # "... and got another result. Why?": a question ending on "why" asks it too
    ("reason", r"^\W*why\b|\bwhy (do|does|is|are|did|would|should|can)\b|\bwhat (causes|makes)\b|\bwhy\W*$"),
    ("weakness", r"\b(weakness\w*|drawbacks?|downsides?|limitations?|problems?|risks?|go wrong|fail\w*)\b|"
                 + A_CATCH),
    ("mechanism", r"\bhow (does|do|is|are|can|did|will|would)\b|\bsteps?\b|\bwork\b"),
    # "which researchers made X" asks who, as "who made X" does: not for a list
    ("person", rf"^\W*who\b|\bwho (introduced|proposed|invented|created|wrote|came up)\b|\b(?:which|what) "
               rf"(?:{PEOPLE_NOUNS})\b"),
    # "which lab (company, team...) made X": the maker, a person or an organisation
    ("maker", rf"\b(?:which|what) (?:{MAKER_NOUNS})\b"),
    ("date", r"^\W*when\b|\bwhat year\b|\bwhich year\b"),
    ("example", r"\bexamples?\b|\bfor instance\b|\bsuch as\b"),
    ("list", r"\b(name|list|which|what are the)\b"),
    ("definition", r"^\W*(what|define|explain|describe|meaning)\b"),
))


def kind_of(question: str) -> str:
    """What a question asks: the first kind of ``ASKS`` whose pattern it matches, else "other"."""
    return next((kind for kind, pattern in ASKS if pattern.search(question)), "other")


# The words the course heads its weaknesses with ("GAN weaknesses", "Limitations of VAEs"), and other words for a
# weakness, which share none of them (weakness_words). Not "problems", "risks" or "go wrong": those also ask about
# a subject ("has RLHF solved the problem?"), and searching them with these words lost answers on the tuning sets.
WEAKNESS_WORDS = "weaknesses limitations"
WEAKNESS_SYNONYMS = re.compile(r"\b(downsides?|drawbacks?|disadvantages?|cons|shortcomings?|pitfalls?)\b|"
                                + A_CATCH, re.I)
# The person shape's "First Last": two capitalised words, the second perhaps after an initial.
_NAME_PAIR = r"[A-Z][a-z]+ (?:[A-Z]\. )?[A-Z][a-z]+"
# Two capitalised words joined by "and" ("Kingma and Welling"), as the person shape reads them
_AND_PAIR = r"[A-Z][a-z]+ and [A-Z][a-z]+"
# What a sentence answering each kind of question tends to contain (a person's name or "introduced by", a year,
# a causal link...). The extractive answer prefers such sentences by ``Settings.answer_shape_bonus``.
_PERSON = (rf"\b{_NAME_PAIR}\b|\b[A-Z][a-z]+ and (?:colleagues|co-?authors)\b|\b{_AND_PAIR}\b|"
           r"\bet al\b|\b(?:introduced|proposed|invented|developed) by\b")
ANSWER_SHAPES: dict[str, re.Pattern] = {kind: re.compile(rx) for kind, rx in {
    "person": _PERSON,
    # a person, as above, or an organisation doing the work ("Quuxcorp released X")
    "maker": _PERSON + r"|\b(?!(?:It|The|This|That|They)\b)[A-Z][\w·-]*(?: [A-Z][\w·-]*)?(?:'s)? (?:released|"
                       r"introduced|built|developed|created|published|launched|announced)\b",
    "date": r"\b(?:1[89]|20)\d\d\b",
    "reason": r"(?i)\b(?:because|since|so that|therefore|thus|which (?:lets|allows|means|makes)|lets|allows|"
              r"enables|means that|leads? to|causes?)\b",
    "weakness": r"(?i)\b(?:however|but|problems?|fails?|failures?|struggles?|limit\w*|drawbacks?|hard|difficult|"
                r"unstable|instability|slow|costly|expensive|weakness\w*|risks?|bias\w*)\b",
    "example": r"(?i)\b(?:for example|for instance|such as|e\.g\.|including|like)\b",
    "comparison": r"(?i)\b(?:while|whereas|unlike|compared|than|instead|rather|both|differ\w*)\b",
}.items()}
# A question after an amount ("how many layers", "what learning rate"), and a sentence giving one: digits that are no
# year, or a number word ("hundreds", "three-quarters", "zero"; not "one", which is mostly "one of", nor "zero-shot").
# An amount's noun may follow a word or two naming it ("what ROUGE score"), not a verb or a kind ("what kind of").
_HOW_AMOUNT = r"how (?:many|much|large|big|long|small)\b"  # "how many", "how big": asks for an amount
_NUMBER_ASKED = re.compile(rf"\b{_HOW_AMOUNT}|\bwhat (?:is the |are the |was the |were the )?"
                           r"(?:(?!(?:is|are|was|were|do|does|did|kinds?|types?|sorts?)\b)[\w@-]+ ){0,2}"
                           r"(?:learning rate|batch size|size|number|percentage|score|value|rate|threshold|resolution)s?"
                           r"\b(?!-)|\bwhich value\b", re.I)
# A question word earlier in the same clause makes an amount phrase part of what else is asked ("Who warned about how
# much energy training takes?", "Why is there a cap on how much text fits?"): asked for is the person, the reason.
# A clause ends at a sentence's end, a semicolon or a comma ("What data was it trained on, and how many images?").
_ASKED_BEFORE = re.compile(rf"\b(?:who|whom|whose|why|which|what|where|when|(?!{_HOW_AMOUNT})how)\b", re.I)
# "What is the Inception Score?" asks what the named score is, not a value: a named measure ending its clause.
# Its name is capitalised ("the FID score"): "What is the learning rate?" after a model still asks for a value.
_NAMED_MEASURE = re.compile(r"(?i:what (?:is|are) the )(?:[\w-]+ )?[A-Z][\w-]* "
                            r"(?i:score|value|rate|number)s?\s*(?:[?.!,;]|$)")


def asks_amount(question: str) -> bool:
    """Whether the question asks for an amount (``_NUMBER_ASKED``), in a clause of its own (``_ASKED_BEFORE``) and
    not as the name of a measure (``_NAMED_MEASURE``). "How many layers?" and "Roughly how long does it take?" do;
    "Who measured how much energy training takes?" does not."""
    for m in _NUMBER_ASKED.finditer(question):
        clause = re.split(r"[.?!;,]", question[:m.start()])[-1]
        if not _ASKED_BEFORE.search(clause) and not _NAMED_MEASURE.match(question, m.start()):
            return True
    return False


_DIGITS = r"(?<![\w.])(?<![A-Za-z]-)(?!(?:1[89]|20)\d\d\b)\d+(?:[.,]\d+)*"  # not a year
NUMBER_SHAPE = re.compile(_DIGITS + r"|\b(?:zero|two|three|four|five|six|seven|"
                          r"eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundreds?|thousands?|millions?|"
                          r"billions?|trillions?|dozens?|half|halves|double[sd]?|twice|quarters?|percent)\b(?!-shot)", re.I)
# A value, score or rate is given in digits ("a guidance scale of 7.5"): a word for a number counts things ("these
# two summaries"), and gives none (rule amounts_by_name).
DIGITS_SHAPE = re.compile(_DIGITS)
# A name carrying a version or model number (GPT-4, fp8, A100, Llama 2): the number says which one. Not a size or a
# version suffix standing alone (1B, 512x512, v1), nor a capitalized first word before a number ("Name 3 ...").
# Not a family of versions either ("Glow 1.x", "GPT-3.x"): it names no one version a sentence could name.
VERSIONED_NAME = re.compile(r"\b(?![vV]\d)[A-Za-z][A-Za-z.]*-?\d[\w.]*(?<!\.)(?<!\.[xX])(?!\.[xX]\b)"
                            r"|(?<=\w )[A-Z][a-z]+ \d+(?:\.\d+)?\b(?!\.[xX]\b)")
# Kinds of unit an amount can be asked in ("how many dollars", "per month", "in terabytes"): a sentence giving the
# amount names a unit of the same kind. Not years: "how many years ago" is answered by a year.
UNIT_KINDS: dict[str, re.Pattern] = {kind: re.compile(rx, re.I) for kind, rx in {
    "money": r"\$|€|\b(?:dollars?|euros?|usd|cents?)\b",
    "time": r"\b(?:seconds?|minutes?|(?<!watt-)(?<!watt )hours?|days?|weeks?|months?)\b",
    "storage": r"\b(?:(?:kilo|mega|giga|tera|peta)?bytes?|[kmgtp]b)\b",
    "energy": r"\b(?:(?:kilo|mega|giga)?watts?(?:[- ]hours?)?|[kmg]wh)\b",
}.items()}
# A quantity asked for by its two-word name ("what learning rate", "which batch size", "what audio sampling rate"),
# which a sentence giving it names too: a parameter count gives no learning rate. Not the words after "how many" (a
# question after "passes" is answered by "it runs 50 steps"): tried, it declined one course question worded so and no
# out-of-scope one more (tuning sets, 2026-12-06).
_NAMED_AMOUNT = re.compile(r"\b(learning rate|batch size|sampling rate)s?\b", re.I)
# Likewise a value, score or threshold asked for by the word before it ("what gamma value", "which FID score"), but
# not by a word that only qualifies it ("what default value", "the exact score") or says it is a quantity ("what
# threshold values"). Nor by a word no document uses (``amount_names``' ``known``): no sentence could name it.
_QUALIFIERS = "default|typical|exact|actual|usual|recommended|good|best|right|ideal|optimal|standard|common|final|precise"
_VALUE_OF = re.compile(rf"\b(?:what|which) (?:is |was |are |were )?(?:the |its |their )?(?:(?:{_QUALIFIERS})\s+)?"
                       rf"(?!(?:{_QUALIFIERS}|kind|sort|type|the|a|an|its|their|this|that|threshold|parameter|"
                       r"hyperparameter|setting|number|numeric|numerical)s?\b)([\w-]+) "
                       r"(?:values?|scores?|thresholds?|coefficients?)\b", re.I)


def amount_names(question: str, known: Callable[[str], bool] = lambda name: True) -> list[str]:
    """The names of the quantities an amount question asks for (``_NAMED_AMOUNT``, ``_VALUE_OF``), lower case:
    "What learning rate and batch size train a flow?" -> ["learning rate", "batch size"]; "What gamma value does the
    library use?" -> ["gamma"], if ``known`` (a word the documents use: no sentence could name another)."""
    named = [m.group(1) for m in _NAMED_AMOUNT.finditer(question)]
    named += [m.group(1) for m in _VALUE_OF.finditer(question) if known(m.group(1))]
    return list(dict.fromkeys(n.lower() for n in named))


# A sentence that names a source: a person, a year or a quoted title ("Language Models Are Few-Shot Learners").
SOURCE_SHAPE = re.compile("|".join((ANSWER_SHAPES["person"].pattern, ANSWER_SHAPES["date"].pattern,
                                    r"[\"“][A-Z][^\"”]{8,}[\"”]")))


def has_shape(shape: re.Pattern | None, sentence: str, ordinary: frozenset[str] = frozenset()) -> bool:
    """Whether a sentence has the shape asked for. A "First Last" pair, or an "X and Y" pair, whose last word the
    documents also write in lower case (``ordinary``: "Stable Diffusion", "Hugging Face", "Inception Score",
    "Midjourney and Stable Diffusion") names no person (rule person_names_only); the shape's other parts ("et al",
    "and colleagues", a year) still count."""
    for m in (shape.finditer(sentence) if shape is not None else ()):
        pair = re.fullmatch(_NAME_PAIR, m.group(0)) or re.fullmatch(_AND_PAIR, m.group(0))
        if not (ordinary and pair and m.group(0).split()[-1].lower() in ordinary):
            return True
    return False


def gives_amount(sentence: str, query: "Query") -> bool:
    """Whether a sentence gives the amount the query asks for: a number (``NUMBER_SHAPE``), in a clause naming every
    versioned name the question asks it of (``Query.amount_of``), and a unit of each kind it is asked in
    (``Query.amount_units``: "how many dollars" is not answered by a count of operations), using a word that names
    the quantity asked for by its name (``Query.amount_names``, rule amounts_by_name: a learning rate is not given by a
    count of parameters, nor by a number in words)."""
    # with names, the number is in a clause naming them: "X-1 had 7 layers; X-2 came later" gives none of X-2
    clauses = sentence.split(";") if query.amount_of else [sentence]
    named = [c for c in clauses if all(name.lower() in c.lower() for name in query.amount_of)]
    stems = word_stems(sentence) if query.amount_names else frozenset()
    number = DIGITS_SHAPE if query.amount_names else NUMBER_SHAPE
    return (any(number.search(c) for c in named)
            and all(UNIT_KINDS[kind].search(sentence) for kind in query.amount_units)
            and (not query.amount_names or any(word_stems(name) <= stems for name in query.amount_names)))


def answer_shape(query: "Query", settings: Settings) -> re.Pattern | None:
    """The shape of a sentence that answers the query (``ANSWER_SHAPES``); for a question after a source whose kind
    has no shape of its own ("which paper first did that?"), ``SOURCE_SHAPE`` (rule ``sources_shaped``)."""
    shape = ANSWER_SHAPES.get(query.asks)
    if shape is None and query.asks_sources and settings.sources_shaped:
        return SOURCE_SHAPE
    return shape


# Questions after a reason, a mechanism, a weakness or a comparison, which a glossary definition does not answer.
EXPLAINS = re.compile(rf"\b(why|how (?:does|do|is|are|can|did|will)|vs\.?|versus|{DIFFERENCE}|compare\w*|"
                       r"weakness\w*|drawbacks?|downsides?|limitations?|problems?|bias\w*|when does|when should)\b|"
                       + A_CATCH, re.I)
# Questions after a source: who wrote or proposed something, when, or what to read.
SOURCES = re.compile(r"\b(papers?|articles?|books?|publications?|published|publish|read|reading|cite\w*|authors?|"
                      r"sources?|references?)\b", re.I)


def word_stems(text: str) -> frozenset[str]:
    """The English stems of a text's words (letters and digits), lower case."""
    from .index import english_stemmer

    return frozenset(english_stemmer().stemWords(re.findall(r"[a-z0-9]+", text.lower())))
