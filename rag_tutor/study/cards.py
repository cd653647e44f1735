"""Flashcards: glossary terms in both directions and key facts of the topic documents, each citing its passage."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..config import StudyConfig
from .grading import matches_answer, recall_score
from .material import Citation, Fact, Material, Term, normalise
from .quiz import QuizQuestion, gloss, masked_definition

TERM, DEFINITION, FACT = "term", "definition", "fact"  # front shows: the term / a definition / a sentence with a blank


@dataclass(frozen=True)
class Card:
    key: str  # stable across index rebuilds: what the progress database stores
    kind: str
    front: str
    back: str
    topic: str
    citation: Citation
    answer: str  # what a typed answer is compared with
    accepted: tuple[str, ...] = ()  # other accepted typed answers (a term's acronym...)

    def to_dict(self) -> dict:
        """The JSON shape of `rag-tutor flashcards --json`."""
        return {"front": self.front, "back": self.back, "topic": self.topic, "citation": self.citation.to_dict()}


def _term_cards(term: Term) -> list[Card]:
    name = normalise(term.name)
    return [
        Card(f"term:{name}", TERM, f'What does "{term.name}" mean?', gloss(term), term.topic, term.citation,
             term.definition),
        Card(f"definition:{name}", DEFINITION, f"Which term? {masked_definition(term)}", term.name, term.topic,
             term.citation, term.name, term.aliases),
    ]


def _fact_card(fact: Fact) -> Card:
    digest = hashlib.sha1(fact.sentence.encode()).hexdigest()[:12]
    return Card(f"fact:{fact.citation.source}:{digest}", FACT, fact.cloze, fact.sentence, fact.topic, fact.citation,
                fact.answer, fact.aliases)


def build_deck(material: Material, topic: str | None = None) -> list[Card]:
    """Every card of a topic (None: the whole course): term cards, then key facts, then definitions."""
    terms = material.terms_for(topic)
    by_term = [_term_cards(t) for t in terms]
    cards = [pair[0] for pair in by_term] + [_fact_card(f) for f in material.facts_for(topic)]
    cards += [pair[1] for pair in by_term]
    seen: set[str] = set()
    return [c for c in cards if not (c.key in seen or seen.add(c.key))]


def card_for_question(question: QuizQuestion, deck: list[Card]) -> Card | None:
    """The flashcard of a quiz question's concept: the term's card ("What does X mean?"), or for a
    fill-in-the-blank the card of the same key sentence; None if the deck has neither."""
    fact = next((c for c in deck if c.kind == FACT and c.back == question.evidence), None)
    key = f"term:{normalise(question.concept)}"
    return fact or next((c for c in deck if c.key == key), None)


@dataclass
class Recall:
    rating: str  # "again" | "hard" | "good"
    score: float  # 0..1, how close the typed answer was


def grade_recall(card: Card, typed: str, embedder=None, config: StudyConfig | None = None) -> Recall:
    """Rate a typed answer: a term or a blank must match (typos allowed); a definition is compared by meaning."""
    config = config or StudyConfig()
    if card.kind == TERM:
        score = recall_score(typed, card.answer, embedder)
        good, hard = ((config.recall_good, config.recall_hard) if embedder is not None
                      else (config.recall_good_words, config.recall_hard_words))
        rating = "good" if score >= good else "hard" if score >= hard else "again"
        return Recall(rating, score)
    exact = matches_answer(typed, [card.answer, *card.accepted], fuzzy_ratio=1.0)
    close = exact or matches_answer(typed, [card.answer, *card.accepted], config.fuzzy_ratio)
    return Recall("good" if exact else "hard" if close else "again", 1.0 if exact else 0.8 if close else 0.0)
