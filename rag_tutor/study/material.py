"""The indexed course as study material: topics, glossary terms and key facts, each tied to its passage.

Everything here is read from the index (chunks, vectors, manifest), so a card or a
quiz item always cites a passage the tutor can retrieve, and nothing needs the LLM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..chunking import Chunk, without_related
from ..citations import split_sentences
from ..documents import load_document, parse_glossary
from ..errors import RagTutorError
from ..index import LoadedIndex
from ..config import StudyConfig

GLOSSARY_TOPIC = "glossary"
BLANK = "_____"
_PAREN = re.compile(r"\s*\(([^()]*)\)\s*")
EMPHASIS = re.compile(r"\*\*|__|`")  # markdown emphasis and code marks, dropped from quoted sentences
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")
# A sentence opening with one of these leans on the sentence before it: not a card on its own.
DANGLING = re.compile(
    r"^(it|its|this|that|these|those|they|their|he|she|such|here|both|each|also|then|so|but|and|or|"
    r"for example|for instance|in this|the lesson|this lesson|this document)\b", re.I)


class StudyError(RagTutorError):
    """A study tool cannot run on this index or this request."""

    exit_code = 7


@dataclass(frozen=True)
class Citation:
    """The passage a card or a quiz item comes from."""

    source: str
    title: str
    section: str
    text: str
    chunk_id: str = ""

    @classmethod
    def from_chunk(cls, chunk: Chunk) -> "Citation":
        return cls(chunk.source, chunk.title, chunk.section, chunk.text, chunk.id)

    def to_dict(self) -> dict:
        """The JSON shape the CLI prints: source, section and passage text."""
        return {"source": self.source, "section": self.section, "text": self.text}

    def markdown(self) -> str:
        return f"*{self.title} › {self.section}* ({self.source})"


@dataclass
class Term:
    """One glossary entry; ``definition`` is read from the indexed passage, so the citation always holds it."""

    name: str
    definition: str
    topic: str
    related: list[str]
    citation: Citation
    row: int  # the passage's row in the index vectors
    aliases: tuple[str, ...] = ()
    share: float = 0.0  # share of the topic passages that name the term: how common it is in the course

    @property
    def first_sentence(self) -> str:
        sentences = sentences_of(self.definition)
        return sentences[0] if sentences else self.definition


@dataclass
class Fact:
    """A key sentence of a topic document with one phrase (a course term or a year) to recall."""

    sentence: str
    answer: str  # the phrase blanked out, as written in the sentence
    aliases: tuple[str, ...]  # other accepted answers (the term's full name, acronym...)
    topic: str
    citation: Citation
    row: int
    start: int = 0  # where the answer sits in the sentence

    @property
    def cloze(self) -> str:
        return self.sentence[: self.start] + BLANK + self.sentence[self.start + len(self.answer):]


@dataclass
class Topic:
    topic: str
    title: str
    order: int | None
    summary: str
    source: str  # the topic's own document


@dataclass
class Material:
    topics: list[Topic]  # course order, glossary excluded
    terms: list[Term]
    facts: list[Fact]
    chunks: list[Chunk]
    vectors: np.ndarray  # normalised passage embeddings, one row per chunk
    chunk_topics: list[str] = field(default_factory=list)  # topic of each chunk's document

    def terms_for(self, topic: str | None) -> list[Term]:
        return [t for t in self.terms if topic is None or t.topic == topic]

    def facts_for(self, topic: str | None) -> list[Fact]:
        return [f for f in self.facts if topic is None or f.topic == topic]

    def topic(self, topic: str) -> Topic | None:
        return next((t for t in self.topics if t.topic == topic), None)


# ---------------------------------------------------------------- names


_ABBREVIATION = re.compile(r"(\bet al|\be\.g|\bi\.e|\bvs|\bcf|\betc|\b[A-Z])\.$")


def sentences_of(text: str) -> list[str]:
    """``split_sentences`` without the false breaks after "et al.", "e.g." or an initial ("Diederik P.")."""
    out: list[str] = []
    for piece in split_sentences(text):
        if out and _ABBREVIATION.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def normalise(text: str) -> str:
    """Lower case, punctuation to spaces, single spaces: the form names are compared in."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


def aliases(name: str) -> tuple[str, ...]:
    """"Generative adversarial network (GAN)" -> its full name, the name without the acronym, the acronym."""
    out = [name.strip()]
    bare = _PAREN.sub(" ", name).strip()
    if bare and bare != name:
        out.append(bare)
    out.extend(m.strip() for m in _PAREN.findall(name) if m.strip())
    seen: list[str] = []
    for a in out:
        if normalise(a) and normalise(a) not in [normalise(s) for s in seen]:
            seen.append(a)
    return tuple(seen)


@lru_cache(maxsize=4096)
def alias_pattern(alias: str) -> re.Pattern:
    """Whole-word, plural-tolerant match of a name inside prose.

    A name with capitals after its first letter is matched case-sensitively (but for
    that first letter), so the acronym "IS" never matches "is" nor "CLIP" "clip".
    """
    alias = alias.strip()
    raw = re.split(r"[\s-]+", alias)
    words = [re.escape(w) for w in raw]
    flags = re.I
    if any(c.isupper() for c in alias[1:]):
        words[0] = "(?i:" + re.escape(alias[0]) + ")" + re.escape(raw[0][1:])
        flags = 0
    body = r"[\s-]+".join(words)
    return re.compile(rf"(?<![\w-])({body})(?:e?s)?(?![\w-])", flags)


@lru_cache(maxsize=4096)
def _first_word(alias: str) -> str:
    return re.split(r"[\s-]+", alias.strip())[0].lower()


def mentions(text: str, names: tuple[str, ...]) -> bool:
    """Whether the text names any of ``names`` (whole words, plural-tolerant)."""
    low = text.lower()
    return any(_first_word(a) in low and alias_pattern(a).search(text) for a in names)


def slug(text: str) -> str:
    return normalise(text).replace(" ", "-")


# ---------------------------------------------------------------- loading


def _topics(manifest: dict) -> tuple[list[Topic], dict[str, str]]:
    topics: list[Topic] = []
    by_source: dict[str, str] = {}
    for source, doc in manifest["documents"].items():
        stem = Path(source).stem.lower()
        topic = doc.get("topic") or (GLOSSARY_TOPIC if stem == GLOSSARY_TOPIC else slug(doc.get("title") or stem))
        by_source[source] = topic
        if topic != GLOSSARY_TOPIC:
            topics.append(Topic(topic, doc.get("title") or topic, doc.get("order"), doc.get("summary") or "", source))
    topics.sort(key=lambda t: (t.order is None, t.order if t.order is not None else 0, t.title.lower()))
    return topics, by_source


def _glossary_fields(manifest: dict) -> dict[str, tuple[str, list[str]]]:
    """Term -> (topic, related) from the glossary files the index was built from."""
    out: dict[str, tuple[str, list[str]]] = {}
    for source, doc in manifest["documents"].items():
        if doc.get("topic") != GLOSSARY_TOPIC and Path(source).stem.lower() != GLOSSARY_TOPIC:
            continue
        path = Path(doc["path"])
        try:
            parsed = load_document(path, path.parent)
        except (RagTutorError, OSError):
            raise StudyError(f"the glossary {path} the index was built from cannot be read; "
                             "rebuild the index with `rag-tutor index`") from None
        for entry in parse_glossary(parsed):
            out[normalise(entry.term)] = (entry.topic, entry.related)
    return out


def _definition(chunk: Chunk) -> str:
    """The definition inside a glossary passage "Term: definition Related terms: a, b."."""
    text = chunk.text
    if text.startswith(chunk.section + ":"):
        text = text[len(chunk.section) + 1:]
    return without_related(text).strip()


def _terms(index: LoadedIndex, by_source: dict[str, str]) -> list[Term]:
    fields = _glossary_fields(index.manifest)
    terms = []
    for row, chunk in enumerate(index.chunks):
        if by_source.get(chunk.source) != GLOSSARY_TOPIC or not chunk.text.startswith(chunk.section + ":"):
            continue  # the glossary's introduction, not an entry
        topic, related = fields.get(normalise(chunk.section), ("", []))
        terms.append(Term(chunk.section, _definition(chunk), topic, related, Citation.from_chunk(chunk), row,
                          aliases(chunk.section)))
    return terms


def _quoted_spans(sentence: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r'"[^"]*"', sentence)]


def _cloze_target(sentence: str, terms: list[Term]) -> tuple[str, tuple[str, ...], int] | None:
    """(phrase, accepted answers, offset): the longest course term named once (outside a quoted title), else a year."""
    best: tuple[str, tuple[str, ...], int] | None = None
    quoted = _quoted_spans(sentence)
    low = sentence.lower()
    for term in terms:
        for alias in term.aliases:
            if _first_word(alias) not in low:
                continue
            found = list(alias_pattern(alias).finditer(sentence))
            if len(found) != 1 or len(normalise(alias)) < 3:
                continue
            start, end = found[0].span()
            if any(a <= start < b for a, b in quoted):
                continue  # blanking a word of a paper title tests the title, not the idea
            others = tuple(a for a in term.aliases if normalise(a) != normalise(alias))
            if mentions(sentence[:start] + sentence[end:], others):
                continue  # "a generative adversarial network (GAN)": blanking one half leaves the other
            phrase = found[0].group(0)
            if best is None or len(phrase) > len(best[0]):
                best = (phrase, term.aliases, start)
    if best:
        return best
    years = [m for m in _YEAR.finditer(sentence) if not any(a <= m.start() < b for a, b in quoted)]
    if len(years) == 1 and len(_YEAR.findall(sentence)) == 1:
        return years[0].group(0), (years[0].group(0),), years[0].start()
    return None


def _measure_shares(index: LoadedIndex, by_source: dict[str, str], terms: list[Term]) -> None:
    texts = [c.text for c in index.chunks if by_source.get(c.source) != GLOSSARY_TOPIC]
    for term in terms:
        term.share = sum(1 for text in texts if mentions(text, term.aliases)) / max(1, len(texts))


def _readable(sentence: str, config: StudyConfig) -> bool:
    """A sentence that states something on its own: a complete sentence of card length, no formula."""
    return (config.fact_min_chars <= len(sentence) <= config.fact_max_chars and sentence.endswith(".")
            and sentence[0].isalpha() and not DANGLING.match(sentence) and "=" not in sentence
            and sentence.count('"') % 2 == 0)


def _facts(index: LoadedIndex, by_source: dict[str, str], terms: list[Term], config: StudyConfig) -> list[Fact]:
    specific = [t for t in terms if t.share <= config.cloze_max_share]
    facts: list[Fact] = []
    taken: dict[tuple[str, str], int] = {}
    for row, chunk in enumerate(index.chunks):
        topic = by_source.get(chunk.source, "")
        key = (chunk.source, chunk.section)
        if topic == GLOSSARY_TOPIC or taken.get(key, 0) >= config.facts_per_section:
            continue
        for sentence in sentences_of(chunk.text):
            sentence = EMPHASIS.sub("", sentence).strip()
            if not _readable(sentence, config):
                continue
            target = _cloze_target(sentence, specific)
            if target is None:
                continue
            facts.append(Fact(sentence, target[0], target[1], topic, Citation.from_chunk(chunk), row, target[2]))
            taken[key] = taken.get(key, 0) + 1
            if taken[key] >= config.facts_per_section:
                break
    return facts


_CACHE: dict[tuple[str, StudyConfig], Material] = {}


def load_material(index: LoadedIndex, config: StudyConfig | None = None) -> Material:
    """Topics, terms and facts of an index; computed once per index build and config."""
    config = config or StudyConfig()
    key = (str(index.path), config)
    if key not in _CACHE:
        topics, by_source = _topics(index.manifest)
        terms = _terms(index, by_source)
        _measure_shares(index, by_source, terms)
        facts = _facts(index, by_source, terms, config)
        vectors = index.vectors.reconstruct_n(0, index.vectors.ntotal) if index.vectors.ntotal else np.zeros((0, 1))
        chunk_topics = [by_source.get(c.source, "") for c in index.chunks]
        _CACHE[key] = Material(topics, terms, facts, index.chunks, np.asarray(vectors, "float32"), chunk_topics)
    return _CACHE[key]
