"""Checking that each cited sentence is supported by its passage, and the extractive fallback.

Support of a sentence by a passage combines three signals, because each fails alone:
embedding similarity to the passage's closest sentence (catches paraphrase), the
share of the sentence's content words found in the passage (catches a fluent
sentence about the right topic that states something the passage does not say),
and a penalty for each name or number the passage never mentions (catches the
invented date or venue inside an otherwise faithful sentence).

Calibration (corpus glossary definitions against topic passages, support_threshold
0.55): independent paraphrases median 0.67; same-topic wrong claims max 0.53.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .chunking import fenced_blocks
from .index import keyword_tokens

CITE = re.compile(r"\s*\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")
# End of a sentence: punctuation, any citation markers after it ("noise.[2]"), space, an optional
# list bullet, then a capital or digit.
_SENTENCE_END = re.compile(
    r"([.!?][\"')]*(?:\s*\[\d{1,2}(?:\s*,\s*\d{1,2})*\])*)\s+(?:[-*•]\s+)?(?=[\"'(\[]?[A-Z0-9])"
)


_NOT_AN_END = re.compile(r"(\bet al|\be\.g|\bi\.e|\bvs|\bcf|\bDr|\bMr|\bMs|\bSt|(?<![\w.])[A-Z])\.$")


# A line that starts a block of its own rather than continuing the line above: a list item, a heading, a table row,
# a block quote, a fence, a display formula, an HTML tag or a rule ("---", "===").
_RULE = r"(?:-{3,}|\*{3,}|_{3,}|={3,})\s*$"
_BLOCK_START = re.compile(r"\s*(?:(?:[-*•+]|\d+[.)])\s|#|\||>|```|~~~|\$\$|<|" + _RULE + ")")
# ... and one that takes no continuation (the lines after a heading or a table row are blocks of their own).
_NO_CONTINUATION = re.compile(r"\s*(?:#|\||```|~~~|\$\$|<|" + _RULE + ")")


def logical_lines(text: str) -> list[str]:
    """The lines of Markdown as a reader sees them: a paragraph hard-wrapped over several lines is one line, and so
    is a list item with its wrapped continuation; a heading, a table row, a block quote's start, a formula, an HTML
    tag, a blank line, a line after a break (two spaces or a backslash at the end of the line above) and each line
    of a fenced code block stay lines of their own. (A document written one paragraph per line, as the course is,
    comes back unchanged.)"""
    lines = text.splitlines()
    code = {n for i, j, _ in fenced_blocks(lines) for n in range(i, j + 1)}  # fences included
    out: list[str] = []
    joinable = False
    for n, line in enumerate(lines):
        bare = line.strip()
        if n in code:
            out.append(line)
            joinable = False
            continue
        if joinable and bare and not _BLOCK_START.match(line):
            out[-1] = f"{out[-1].rstrip()} {bare}"
            continue
        out.append(line)
        # a line ending in two spaces or a backslash ends with a break (the chunker ends each paragraph so)
        joinable = bool(bare) and not _NO_CONTINUATION.match(line) and not line.endswith(("  ", "\\"))
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of prose; each line of a list or a heading counts as its own sentence (lines as
    ``logical_lines`` joins them: a hard-wrapped sentence is one sentence)."""
    out: list[str] = []
    for line in logical_lines(text):
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line).strip()
        line = line.strip("#").strip()
        if not line:
            continue
        # keep a citation marker with the sentence it follows: "... noise. [2] Next" -> "... noise [2]." style
        start = 0
        for m in _SENTENCE_END.finditer(line):
            out.append(line[start : m.end(1)].strip())
            start = m.end()
        if line[start:].strip():
            out.append(line[start:].strip())
    # a bare "[2]" split off after its sentence's full stop belongs to that sentence, and so does what
    # follows an initial or an abbreviation ("Diederik P. Kingma", "Ho et al. showed", "e.g. text")
    merged: list[str] = []
    for piece in out:
        if merged and (CITE.fullmatch(" " + piece.strip()) or _NOT_AN_END.search(merged[-1])):
            merged[-1] = f"{merged[-1]} {piece.strip()}"
        else:
            merged.append(piece)
    return merged


def cut_run_on(sentence: str) -> str:
    """A model's sentence up to a full stop that runs on in lower case ("...in 2014. variational inference,
    which ... and The result was..."): what follows is a spliced fragment, not a sentence of its own."""
    for m in re.finditer(r"\.\s+(?=[a-z])", sentence):
        if not _NOT_AN_END.search(sentence[: m.start() + 1]):
            return sentence[: m.start() + 1]
    return sentence


def cited_numbers(sentence: str) -> list[int]:
    nums: list[int] = []
    for group in CITE.findall(sentence):
        for n in group.split(","):
            if int(n) not in nums:
                nums.append(int(n))
    return nums


def strip_citations(sentence: str) -> str:
    return re.sub(r"\s+([.!?,;:])", r"\1", CITE.sub("", sentence)).strip()


def with_marks(sentence: str, marks: str) -> str:
    """The sentence with its citation marks before the final stop: "Noise is added [1]."."""
    body = sentence.strip()
    end = body[-1] if body and body[-1] in ".!?" else "."
    body = body[:-1] if body and body[-1] in ".!?" else body
    return f"{body} {marks}{end}"


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's content words (stemmed) that occur in the passage."""
    words = set(keyword_tokens(sentence))
    if not words:
        return 0.0
    return len(words & set(keyword_tokens(passage))) / len(words)


# A Markdown link or image, its words in group 1: [words](target), [words](target "title"), ![alt](image).
MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)\s]*(?:\s+\"[^\"]*\")?\)")
_ENTITY = re.compile(r"(?<!^)(?<![.!?]\s)\b(?:[A-Z][A-Za-z]+|\d[\d.,]*)\b")
NOVEL_PENALTY = 0.15  # per name or number the passage never mentions: where small models invent facts
# An invented number ("an online sampler for 68 experiments") fails a sentence on its own: a long sentence
# that copies a passage faithfully otherwise still scores well above the threshold.
NOVEL_NUMBER_PENALTY = 0.35


def novel_entities(sentence: str, passage: str) -> list[str]:
    """Names and numbers in the claim that the passage does not contain."""
    low = passage.lower()
    return [e for e in _ENTITY.findall(sentence) if e.lower().rstrip(".,") not in low]


_EDGES = ".,;:!?()[]\"'*`"  # stripped from a word's ends before comparing it with the passage's words


def glued_words(sentence: str, passage: str) -> list[str]:
    """Words of the claim that are passage words run together: two consecutive ones ("makegenerative"),
    or a long run that lost its spaces ("pipelinedefaultsto50.Toofewsteps", listed once per 8 characters).
    A small model's copying slip, which content-word overlap alone does not notice."""
    words = re.findall(r"[a-z][a-z-]*", passage.lower())
    vocab, pairs = set(words), {a + b for a, b in zip(words, words[1:])}
    out = [w for w in re.findall(r"[a-z][a-z-]*", sentence.lower()) if w not in vocab and w in pairs]
    tokens = {t.strip(_EDGES).lower() for t in passage.split()}
    for token in sentence.split():
        core = token.strip(_EDGES)
        if len(core) >= 20 and core.lower() not in tokens and "/" not in core:
            out += [core] * (len(core) // 8)
    return out


def repetitive(sentence: str, n: int = 3, times: int = 3) -> bool:
    """A generation loop ("From peft module: From peft module: From peft module: ..."): some run of n
    words occurs ``times`` times or more. Every piece of it is in the passage, so support alone passes it."""
    words = re.findall(r"\w+", sentence.lower())
    grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return max(grams.values(), default=0) >= times


@dataclass
class Support:
    score: float
    cosine: float
    lexical: float
    best_sentence: str  # the passage sentence closest to the claim (for highlighting)
    novel: list[str] = field(default_factory=list)  # invented names and numbers, glued words


@dataclass
class SupportChecker:
    """Scores claims against passages with the same embedder the index uses."""

    embedder: object
    _cache: dict = field(default_factory=dict)

    @classmethod
    def for_index(cls, embedder, index) -> "SupportChecker":
        """A checker that already knows the index's chunks: their sentences were embedded at build time."""
        checker = cls(embedder)
        for chunk, stored in zip(index.chunks, index.sentences or []):
            checker._cache[chunk.text] = stored
        return checker

    def _sentences(self, passage: str) -> tuple[list[str], np.ndarray]:
        if passage not in self._cache:
            sents = split_sentences(passage) or [passage]
            self._cache[passage] = (sents, self.embedder.embed(sents, batch_size=64))
        return self._cache[passage]

    def support(self, claim: str, passage: str) -> Support:
        claim = strip_citations(claim)
        sents, vecs = self._sentences(passage)
        q = self.embedder.embed_query(claim)
        sims = vecs @ q
        best = int(np.argmax(sims))
        cosine = float(sims[best])
        lexical = lexical_support(claim, passage)
        novel = novel_entities(claim, passage) + glued_words(claim, passage)
        numbers = sum(bool(re.match(r"\d", e)) for e in novel)
        score = 0.5 * cosine + 0.5 * lexical - NOVEL_PENALTY * (len(novel) - numbers) - NOVEL_NUMBER_PENALTY * numbers
        return Support(score, cosine, lexical, sents[best], novel)

    def sentence_vectors(self, passage: str) -> tuple[list[str], np.ndarray]:
        """A passage's sentences and their unit vectors (row i is sentence i)."""
        return self._sentences(passage)

    def closest_sentences(self, query_vec: np.ndarray, passage: str, n: int,
                          keep=None) -> list[tuple[float, int, str]]:
        """The n passage sentences most similar to the query, as (similarity, position, sentence);
        with ``keep``, only sentences it accepts."""
        sents, vecs = self._sentences(passage)
        sims = vecs @ query_vec
        order = [i for i in np.argsort(-sims) if keep is None or keep(sents[i])][:n]
        return [(float(sims[i]), int(i), sents[i]) for i in order]
