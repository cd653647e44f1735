"""A topic as a lesson: one idea per section, each with its explanation, a check question and what a right reply holds.

Everything is taken from the indexed passages and the glossary, without the LLM: the
explanation is two or three of the section's own sentences (cited), the question asks
for the section's key course term in the learner's words or by name, and the words a
right reply should use are the rarest words (over the whole course) of the sentences
that state the idea.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from ..config import StudyConfig
from ..index import keyword_tokens
from .cards import FACT, build_deck
from .material import (BLANK, DANGLING, EMPHASIS, Citation, Material, Term, alias_pattern, mentions, normalise,
                       sentences_of)
from .quiz import gloss, masked_definition

EXPLAIN, NAME = "explain", "name"  # "explain X in your own words" / "which term is this?"
# Stems a reply is never asked to use: they say nothing about one idea.
_GENERIC = frozenset(keyword_tokens(
    "model models data generative network networks use used using method methods called one two also often "
    "can make makes made way ways new like example learn learns learned learning train training sample samples "
    "from into onto over under about each such than then there these those which while within without "
    "introduced proposed called known paper papers researchers first later work works shown show"))


@dataclass(frozen=True)
class Idea:
    """One step of a lesson: a section's idea, explained, then checked."""

    key: str  # "topic:section-slug", stable across index rebuilds: saved with a paused lesson
    topic: str
    section: str
    explanation: str  # two or three sentences of the section, in reading order
    citation: Citation  # the passage they come from
    kind: str  # EXPLAIN or NAME
    question: str
    concept: str  # what is asked about: the key term, or the section when it has none
    answer: str  # what "just tell me" and the last hint show ...
    answer_citation: Citation  # ... and its passage (a term's glossary entry)
    recap: str  # the one line that closes the idea: the passage's key sentence
    key_sentence: str  # the passage's sentence that states the idea ...
    blank: str  # ... and the phrase of it the second hint blanks
    references: tuple[str, ...]  # texts a right reply means the same as
    required: tuple[str, ...]  # stems a right reply uses (the idea's key words)
    accepted: tuple[str, ...] = ()  # names accepted for a NAME question
    term: str = ""  # the glossary term asked about, if any
    card_key: str = ""  # the concept's flashcard

    @property
    def cloze(self) -> str:
        """The key sentence with its key phrase blanked (the second hint)."""
        found = re.search(re.escape(self.blank), self.key_sentence, re.I) if self.blank else None
        if found is None:
            return self.key_sentence
        return self.key_sentence[: found.start()] + BLANK + self.key_sentence[found.end():]


# ---------------------------------------------------------------- word rarity


@lru_cache(maxsize=4)
def _document_frequency(material_id: int, texts: tuple[str, ...]) -> tuple[Counter, int]:
    df: Counter = Counter()
    for text in texts:
        df.update(set(keyword_tokens(text)))
    return df, len(texts)


def rarity(material: Material) -> Counter:
    """How many course passages use each stem (fewer: more specific)."""
    return _document_frequency(id(material), tuple(c.text for c in material.chunks))[0]


def key_words(text: str, material: Material, exclude: set[str], n: int,
              within: set[str] | None = None) -> list[tuple[str, str]]:
    """The ``n`` rarest content words of ``text`` over the course passages, as (stem, word as written);
    words the passage (``within``) also uses come first: they are what both the glossary and the lesson say."""
    df, total = _document_frequency(id(material), tuple(c.text for c in material.chunks))
    seen: dict[str, str] = {}
    for n_word, word in enumerate(re.findall(r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]", text)):
        if n_word and word[0].isupper() and not word.isupper():
            continue  # a person's or a product's name: not what an explanation in one's own words needs
        for stem in keyword_tokens(word):
            if stem not in seen and stem not in exclude and stem not in _GENERIC and len(stem) >= 3:
                seen[stem] = word
    ranked = sorted(seen, key=lambda s: (within is None or s in within, math.log((1 + total) / (1 + df[s])), len(s)),
                    reverse=True)
    return [(s, seen[s]) for s in ranked[:n]]


# ---------------------------------------------------------------- sections


@dataclass
class _Sentence:
    text: str
    row: int  # the chunk it is read from


def _prose(sentence: str, config: StudyConfig) -> bool:
    """A sentence worth showing on its own line: complete, card-sized, no formula, no list item."""
    return (config.teach_sentence_min_chars <= len(sentence) <= config.teach_sentence_max_chars
            and sentence[-1] in ".!?" and (sentence[0].isupper() or sentence[0].isdigit()) and "=" not in sentence
            and sentence.count('"') % 2 == 0)


def section_sentences(material: Material, topic: str, config: StudyConfig) -> dict[str, list[_Sentence]]:
    """The prose sentences of each section of a topic's documents, sections in reading order."""
    out: dict[str, list[_Sentence]] = {}
    for row, (chunk, t) in enumerate(zip(material.chunks, material.chunk_topics)):
        if t != topic or chunk.section == chunk.title:  # the document's lead paragraph is not a section
            continue
        sentences = out.setdefault(chunk.section, [])
        for paragraph in chunk.text.split("\n"):
            for s in sentences_of(paragraph):
                s = EMPHASIS.sub("", s).strip()
                if _prose(s, config) and s not in [x.text for x in sentences]:
                    sentences.append(_Sentence(s, row))
    return {k: v for k, v in out.items() if v}


def _key_term(section: str, sentences: list[_Sentence], material: Material, topic: str, used: set[str],
              config: StudyConfig) -> tuple[Term, int] | None:
    """The section's key course term and the sentence that states it best.

    Ranked by: not taught earlier in the lesson, named in the heading, specific (named in
    few course passages), of this topic, named often. The sentence is the one naming the
    term that shares most words with its glossary definition (a sentence leaning on the
    one before it only if no other names the term).
    """
    best = None
    for term in material.terms:
        named = [i for i, s in enumerate(sentences) if mentions(s.text, term.aliases)]
        if not named or not masked_definition(term).strip(BLANK + " ."):
            continue
        specific = term.share <= config.cloze_max_share
        heading = mentions(section, term.aliases)
        score = (normalise(term.name) not in used, heading and specific, heading, specific, term.topic == topic, min(len(named), 3), -term.share)
        if best is None or score > best[0]:
            best = (score, term, named)
    if best is None:
        return None
    _, term, named = best
    definition = set(keyword_tokens(term.definition))
    return term, max(named, key=lambda i: (not DANGLING.match(sentences[i].text),
                                           len(definition & set(keyword_tokens(sentences[i].text))), -i))


def _explanation(sentences: list[_Sentence], at: int, config: StudyConfig) -> tuple[str, int]:
    """Up to ``teach_sentences`` sentences of one passage around sentence ``at``, in order, and the passage row."""
    row = sentences[at].row
    same = [i for i, s in enumerate(sentences) if s.row == row]
    start = at
    if DANGLING.match(sentences[at].text) and at - 1 in same:
        start = at - 1  # "It ..." needs the sentence it leans on
    picked = [start]
    for i in same:
        if i > picked[-1] and len(picked) < config.teach_sentences:
            if sum(len(sentences[j].text) for j in picked) + len(sentences[i].text) > config.teach_explain_chars:
                break
            picked.append(i)
    if at not in picked:
        picked = [at]
    return " ".join(sentences[i].text for i in picked), row


def _name_of(term: Term, text: str) -> str:
    """The term as written in ``text`` (what the blank hides), else its name."""
    for alias in sorted(term.aliases, key=len, reverse=True):
        m = alias_pattern(alias).search(text)
        if m:
            return m.group(0)
    return term.name


def _card_key(material: Material, term: Term | None, topic: str, section: str) -> str:
    if term is not None:
        return f"term:{normalise(term.name)}"
    card = next((c for c in build_deck(material, topic) if c.kind == FACT and c.citation.section == section), None)
    return card.key if card else ""


def build_lesson(material: Material, topic: str, config: StudyConfig | None = None) -> list[Idea]:
    """The ideas of a topic, one per section in reading order (sections with no prose sentence are left out)."""
    config = config or StudyConfig()
    ideas: list[Idea] = []
    used: set[str] = set()
    named_ideas = 0
    for section, sentences in section_sentences(material, topic, config).items():
        found = _key_term(section, sentences, material, topic, used, config)
        key = f"{topic}:{normalise(section).replace(' ', '-')}"
        if found is not None:
            term, at = found
            used.add(normalise(term.name))
            explanation, row = _explanation(sentences, at, config)
            key_sentence = sentences[at].text
            own = {s for a in term.aliases for s in keyword_tokens(a)}
            passage = set(keyword_tokens(" ".join(s.text for s in sentences)))
            words = key_words(term.first_sentence, material, own, config.teach_key_words, within=passage)
            kind = NAME if named_ideas % 2 else EXPLAIN
            named_ideas += 1
            if kind == NAME:
                question = f"Which course term is this? {masked_definition(term)}"
                required = tuple(sorted(own))
                blank = _name_of(term, key_sentence)
            else:
                question = f'In your own words, explain "{term.name}".'
                required = tuple(s for s, _ in words)
                blank = next((w for _, w in words if re.search(rf"\b{re.escape(w)}\b", key_sentence)),
                             _name_of(term, key_sentence))
            ideas.append(Idea(
                key, topic, section, explanation, Citation.from_chunk(material.chunks[row]), kind, question,
                term.name, gloss(term), term.citation, key_sentence, key_sentence, blank,
                (term.first_sentence, key_sentence), required, term.aliases if kind == NAME else (), term.name,
                _card_key(material, term, topic, section)))
            continue
        # No course term: the section's first sentence that states something, asked about in the learner's words.
        at = next((i for i, s in enumerate(sentences) if not DANGLING.match(s.text)), 0)
        explanation, row = _explanation(sentences, at, config)
        key_sentence = sentences[at].text
        words = key_words(key_sentence, material, set(), config.teach_key_words)
        heading = section[0].lower() + section[1:] if section[1:2].islower() else section
        ideas.append(Idea(
            key, topic, section, explanation, Citation.from_chunk(material.chunks[row]), EXPLAIN,
            f"In your own words: what did this part say about {heading}?", section, key_sentence,
            Citation.from_chunk(material.chunks[row]), key_sentence, key_sentence, words[0][1] if words else "", (key_sentence, explanation), tuple(s for s, _ in words),
            card_key=_card_key(material, None, topic, section)))
    return ideas
