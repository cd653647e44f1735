"""Grading a free reply to a lesson's check question: right, partial or wrong, and which concept it was mistaken for.

An explanation is compared by meaning (MiniLM cosine to the idea's key sentences) and by
the key words it uses (the rarest words the glossary and the passage share, stemmed).
A name is matched like a quiz's short answer. A wrong reply that is closer to another
glossary term's definition than to the idea names that term: the learner described it.
Thresholds: StudyConfig.teach_*; agreement with hand-graded replies: bench/teach_grading.py.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import numpy as np

from ..config import StudyConfig
from ..index import keyword_tokens
from .grading import matches_answer
from .lesson import NAME, Idea
from .material import Material, Term, mentions, normalise

RIGHT, PARTIAL, WRONG = "right", "partial", "wrong"


@dataclass
class Verdict:
    label: str  # RIGHT, PARTIAL or WRONG
    similarity: float  # best cosine of the reply to the idea's references
    found: tuple[str, ...]  # key words the reply uses (stems)
    confused_with: Term | None = None  # the other concept the reply describes or names


def decide(kind: str, similarity: float, found: int, named: bool, config: StudyConfig) -> str:
    """The rule, without any model: a NAME question is right when the name is given, partial when a word of it
    is or the reply is near its meaning; an explanation is right when it means the same as the key sentences
    and uses a key word, or uses several key words and is near, or is a close paraphrase; partial when it is
    near or uses a key word."""
    if kind == NAME:
        if named:
            return RIGHT
        return PARTIAL if found or similarity >= config.teach_partial_similarity else WRONG
    if (similarity >= config.teach_right_alone or (similarity >= config.teach_right_similarity and found)
            or (found >= config.teach_right_words and similarity >= config.teach_partial_similarity)):
        return RIGHT
    if similarity >= config.teach_partial_similarity or found:
        return PARTIAL
    return WRONG


def confusion(reply_vector: np.ndarray, similarity: float, candidates: list[Term], vectors: np.ndarray,
              config: StudyConfig) -> Term | None:
    """The candidate term whose definition the reply is closest to, if clearly closer than to the idea."""
    if not candidates:
        return None
    scores = vectors @ reply_vector
    best = int(np.argmax(scores))
    if scores[best] >= config.teach_confusion_similarity and scores[best] >= similarity + config.teach_confusion_margin:
        return candidates[best]
    return None


class Grader:
    """Grades replies to a lesson's questions with the session's embedder; definitions are embedded once."""

    def __init__(self, material: Material, embedder, config: StudyConfig) -> None:
        self.material, self.embedder, self.config = material, embedder, config
        self._definitions: np.ndarray | None = None
        self._references: dict[str, np.ndarray] = {}

    def _definition_vectors(self) -> np.ndarray:
        if self._definitions is None:
            self._definitions = self.embedder.embed([t.first_sentence for t in self.material.terms])
        return self._definitions

    def _reference_vectors(self, idea: Idea) -> np.ndarray:
        if idea.key not in self._references:
            self._references[idea.key] = self.embedder.embed(list(idea.references))
        return self._references[idea.key]

    def _others(self, idea: Idea) -> list[int]:
        """Terms a reply may be mistaken for: not the idea's own, not named in its definition (its parts), not a
        kind of it nor it a kind of them (one name inside the other: "Conditional GAN" and "GAN"). A term the
        passage only mentions stays a candidate: describing the generator when asked about the discriminator
        is the confusion to name."""
        own = [f" {normalise(a)} " for a in idea.accepted or (idea.term,) if a]
        said = idea.references[0] if idea.term else " ".join(idea.references)
        return [i for i, t in enumerate(self.material.terms)
                if t.name != idea.term and not mentions(said, t.aliases)
                and not any(o in f" {normalise(a)} " or f" {normalise(a)} " in o for a in t.aliases for o in own)]

    def grade(self, idea: Idea, reply: str) -> Verdict:
        """Right, partial or wrong, with the key words found and the concept the reply was mistaken for."""
        vector = self.embedder.embed([reply])[0]
        similarity = float(np.max(self._reference_vectors(idea) @ vector))
        stems = set(keyword_tokens(reply))
        # a key word typed with a small slip or another spelling ("reparametrisation") still counts as found
        found = tuple(s for s in idea.required if s in stems or any(
            len(s) >= 5 and difflib.SequenceMatcher(None, s, t[: len(s) + 2]).ratio() >= self.config.fuzzy_ratio
            for t in stems))
        key = re.sub(r"^(the|a|an) ", "", normalise(reply))
        names_other = next((t for t in self.material.terms if t.name != idea.term
                            and key in {normalise(a) for a in t.aliases}), None)
        # a typo of the name, but not another course term's name ("encoder" is not a typo of "decoder")
        named = (idea.kind == NAME and names_other is None
                 and matches_answer(reply, list(idea.accepted), self.config.fuzzy_ratio))
        label = decide(idea.kind, similarity, len(found), named, self.config)
        if label == RIGHT:
            return Verdict(label, similarity, found)
        others = self._others(idea)
        terms = [self.material.terms[i] for i in others]
        confused = None
        if idea.kind == NAME and names_other in terms:  # a name question answered with another course term's name
            confused = names_other
        if confused is None and not found and len(reply.split()) > 3:  # a reply using the idea's key words is about it
            confused = confusion(vector, similarity, terms, self._definition_vectors()[others], self.config)
        return Verdict(WRONG if confused is not None else label, similarity, found, confused)
