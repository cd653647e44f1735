"""Grading a free reply to a lesson's check question: right, partial or wrong, and which concept it was mistaken for.

An explanation is compared by meaning (MiniLM cosine to the idea's key sentences) and by
the key words it uses (the rarest words the glossary and the passage share, stemmed).
A short reply is vague and far from a whole sentence by cosine, so it is partial too when,
among all glossary definitions, the idea's is one of the nearest to it (the nearest
teach_partial_rank share: 5 %, the 8 nearest of 163).
A name is matched like a quiz's short answer, or given short: words of the name that
include its rarest and that no other term's name holds ("minimax" for "Minimax game"). A wrong reply that is closer to another
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
from .lesson import NAME, Idea, rarity
from .material import Material, Term, mentions, normalise

RIGHT, PARTIAL, WRONG = "right", "partial", "wrong"


@dataclass
class Verdict:
    label: str  # RIGHT, PARTIAL or WRONG
    similarity: float  # best cosine of the reply to the idea's references
    found: tuple[str, ...]  # key words the reply uses (stems)
    confused_with: Term | None = None  # the other concept the reply describes or names


def decide(kind: str, similarity: float, found: int, named: bool, config: StudyConfig, rank: float | None = None
           ) -> str:
    """The rule, without any model: a NAME question is right when the name is given, partial when a word of it
    is or the reply is near its meaning; an explanation is right when it means the same as the key sentences
    and uses a key word, or uses several key words and is near, or is a close paraphrase; partial when it is
    near or uses a key word. ``rank``: the share of glossary definitions at least as close to the reply as the
    idea's (1/n: the nearest); near the top, the reply is on the idea even if vague."""
    near = similarity >= config.teach_partial_similarity or (rank is not None and rank <= config.teach_partial_rank)
    if kind == NAME:
        if named:
            return RIGHT
        return PARTIAL if found or near else WRONG
    if (similarity >= config.teach_right_alone or (similarity >= config.teach_right_similarity and found)
            or (found >= config.teach_right_words and similarity >= config.teach_partial_similarity)):
        return RIGHT
    if near or found:
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

    def _close(self, stem: str, word: str) -> bool:
        """``word`` is ``stem``, or it typed with a small slip or another spelling ("reparametrisation")."""
        return stem == word or (len(stem) >= 5 and difflib.SequenceMatcher(None, stem, word[: len(stem) + 2]).ratio()
                                >= self.config.fuzzy_ratio)

    def _short_name(self, idea: Idea, stems: set[str]) -> bool:
        """The reply is part of the asked name: its words all in the name, the name's rarest among them, and no other
        term's name holding them all ("a minimax" names "Minimax game"; "collapse" could be two terms)."""
        own = {s for a in idea.accepted for s in keyword_tokens(a)}
        said = {next((o for o in own if self._close(o, s)), "") for s in stems}  # the name's stems the reply gives
        df = rarity(self.material)
        if not stems or not own or "" in said or min(own, key=lambda o: (df[o], -len(o), o)) not in said:
            return False
        return not any(t.name != idea.term and said <= {x for a in t.aliases for x in keyword_tokens(a)}
                       for t in self.material.terms)

    def _rank(self, idea: Idea, vector: np.ndarray) -> float | None:
        """Where the idea's term's definition comes among all glossary definitions by closeness to the reply, as a
        share of them (1/n: the nearest)."""
        names = [t.name for t in self.material.terms]
        if idea.term not in names:
            return None
        scores = self._definition_vectors() @ vector
        return (int((scores > scores[names.index(idea.term)]).sum()) + 1) / len(names)

    def grade(self, idea: Idea, reply: str) -> Verdict:
        """Right, partial or wrong, with the key words found and the concept the reply was mistaken for."""
        vector = self.embedder.embed([reply])[0]
        similarity = float(np.max(self._reference_vectors(idea) @ vector))
        stems = set(keyword_tokens(reply))
        # a key word typed with a small slip or another spelling ("reparametrisation") still counts as found
        found = tuple(s for s in idea.required if any(self._close(s, t) for t in stems))
        key = re.sub(r"^(the|a|an) ", "", normalise(reply))
        names_other = next((t for t in self.material.terms if t.name != idea.term
                            and key in {normalise(a) for a in t.aliases}), None)
        # a typo of the name, but not another course term's name ("encoder" is not a typo of "decoder")
        named = (idea.kind == NAME and names_other is None
                 and (matches_answer(reply, list(idea.accepted), self.config.fuzzy_ratio)
                      or self._short_name(idea, stems)))
        label = decide(idea.kind, similarity, len(found), named, self.config, self._rank(idea, vector))
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
