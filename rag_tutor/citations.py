"""Checking that each cited sentence is supported by its passage, and the extractive fallback.

Support of a sentence by a passage combines two signals, because each fails alone:
embedding similarity to the passage's closest sentence (catches paraphrase) and the
share of the sentence's content words found in the passage (catches a fluent
sentence about the right topic that states something the passage does not say).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .index import keyword_tokens

CITE = re.compile(r"\s*\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Sentences of prose; each line of a list or a heading counts as its own sentence."""
    out: list[str] = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", line).strip()
        line = line.strip("#").strip()
        if not line:
            continue
        # keep a citation marker with the sentence it follows: "... noise. [2] Next" -> "... noise [2]." style
        for piece in _SENTENCE_END.split(line):
            piece = piece.strip()
            if piece:
                out.append(piece)
    # a bare "[2]" split off after its sentence's full stop belongs to that sentence
    merged: list[str] = []
    for piece in out:
        if merged and CITE.fullmatch(" " + piece.strip()):
            merged[-1] = f"{merged[-1]} {piece.strip()}"
        else:
            merged.append(piece)
    return merged


def cited_numbers(sentence: str) -> list[int]:
    nums: list[int] = []
    for group in CITE.findall(sentence):
        for n in group.split(","):
            if int(n) not in nums:
                nums.append(int(n))
    return nums


def strip_citations(sentence: str) -> str:
    return re.sub(r"\s+([.!?,;:])", r"\1", CITE.sub("", sentence)).strip()


def lexical_support(sentence: str, passage: str) -> float:
    """Share of the sentence's content words (stemmed) that occur in the passage."""
    words = set(keyword_tokens(sentence))
    if not words:
        return 0.0
    return len(words & set(keyword_tokens(passage))) / len(words)


@dataclass
class Support:
    score: float
    cosine: float
    lexical: float
    best_sentence: str  # the passage sentence closest to the claim (for highlighting)


@dataclass
class SupportChecker:
    """Scores claims against passages with the same embedder the index uses."""

    embedder: object
    _cache: dict = field(default_factory=dict)

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
        return Support(0.5 * cosine + 0.5 * lexical, cosine, lexical, sents[best])

    def closest_sentences(self, query_vec: np.ndarray, passage: str, n: int) -> list[tuple[float, int, str]]:
        """The n passage sentences most similar to the query, as (similarity, position, sentence)."""
        sents, vecs = self._sentences(passage)
        sims = vecs @ query_vec
        order = np.argsort(-sims)[:n]
        return [(float(sims[i]), int(i), sents[i]) for i in order]
