"""The learning path over the course topics, topic names as learners type them, and per-topic mastery."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from .cards import build_deck
from ..config import StudyConfig
from .material import Citation, Material, Topic, aliases, mentions, normalise
from .progress import ProgressStore, QuizRecord
from .scheduler import Scheduler

RESOURCES_TOPIC = "resources"  # the reading-list document's topic
_FILLER = {"the", "a", "an", "topic", "lesson", "chapter", "module", "section", "on", "about", "please", "some",
           "my", "of", "in"}


# ---------------------------------------------------------------- topic names


def _key(text: str) -> str:
    """Normalised, filler words dropped, each word singular: "the GANs" -> "gan"."""
    words = [w for w in normalise(text).split() if w not in _FILLER]
    return " ".join(w[:-3] + "y" if w.endswith("ies") and len(w) > 4 else
                    w[:-1] if w.endswith("s") and len(w) > 3 and not w.endswith("ss") else w for w in words)


def _topic_names(material: Material) -> list[tuple[int, str, str]]:
    """(tier, name key, topic): tier 0 for topic ids, titles and title parts, 1 for glossary terms."""
    names: list[tuple[int, str, str]] = []
    for t in material.topics:
        bare = re.sub(r"\([^)]*\)", " ", t.title)
        keys = [t.topic, *aliases(t.title), *re.split(r",|\band\b|:|\bwith\b", bare)]
        names += [(0, _key(k), t.topic) for k in keys]
    for term in material.terms:
        if term.topic:
            names += [(1, _key(a), term.topic) for a in term.aliases]
    return [(tier, k, t) for tier, k, t in names if k]


def resolve_topic(name: str, material: Material) -> str | None:
    """The topic id a learner means: "GANs", "gan" and "generative adversarial networks" all give "gan".

    Tried in turn: an exact name (topic id, title, part of a title, a glossary term of the
    topic), a close spelling, a topic or term named inside a longer phrase ("the history of
    generative AI"), and a word found in a single topic's title ("metrics").
    """
    key = _key(name)
    if not key:
        return None
    names = _topic_names(material)
    for _, k, topic in names:
        if k == key:
            return topic
    keys = [k for _, k, _ in names]
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.85)
    if close:
        return names[keys.index(close[0])][2]
    padded = f" {key} "
    inside = [(-tier, len(k), -i, t) for i, (tier, k, t) in enumerate(names) if len(k) >= 3 and f" {k} " in padded]
    if inside:
        return max(inside)[3]
    titles = {t for tier, k, t in names if tier == 0 and len(key) >= 3 and f" {key} " in f" {k} "}
    return titles.pop() if len(titles) == 1 else None


# ---------------------------------------------------------------- the path


@dataclass
class PathStep:
    topic: str
    title: str
    order: int | None
    summary: str
    source: str  # the topic's deep-article document
    cards: int  # flashcards in its deck
    quiz_items: int  # glossary terms and key facts its quizzes draw on
    resources: list[Citation] = field(default_factory=list)  # reading-list sections about it


def _sections(material: Material, topic: str) -> dict[str, tuple[Citation, str, np.ndarray]]:
    """Per section of a topic's documents: first passage (the citation), full text, mean embedding."""
    groups: dict[str, list[int]] = {}
    for row, (chunk, t) in enumerate(zip(material.chunks, material.chunk_topics)):
        if t == topic and chunk.section != chunk.title:  # the document's lead paragraph is not a section
            groups.setdefault(chunk.section, []).append(row)
    out = {}
    for section, rows in groups.items():
        vec = material.vectors[rows].mean(axis=0)
        text = "\n".join(material.chunks[r].text for r in rows)
        out[section] = (Citation.from_chunk(material.chunks[rows[0]]), text, vec / (np.linalg.norm(vec) or 1.0))
    return out


def _resources(material: Material, topic: Topic, config: StudyConfig) -> list[Citation]:
    """Reading-list sections that name the topic's glossary terms (most terms first, at least half the best's).

    Embedding similarity alone ranks the broad sections high for every topic; the
    terms a section names are a sharper signal. Similarity only breaks ties, and picks
    one section for a topic whose terms no section names, if it is close enough.
    """
    sections = _sections(material, RESOURCES_TOPIC)
    rows = [i for i, t in enumerate(material.chunk_topics) if t == topic.topic]
    if topic.topic == RESOURCES_TOPIC or not sections or not rows:
        return []
    centre = material.vectors[rows].mean(axis=0)
    centre /= np.linalg.norm(centre) or 1.0
    terms = material.terms_for(topic.topic)
    scored = []
    for section, (cite, text, vec) in sections.items():
        named = sum(1 for t in terms if mentions(text, t.aliases))
        scored.append((named, float(vec @ centre), section, cite))
    scored.sort(key=lambda s: (-s[0], -s[1], s[2]))
    floor = max(1.0, scored[0][0] / 2)  # a section naming far fewer terms than the best one is off-topic
    picked = [s[3] for s in scored if s[0] >= floor][: config.resource_sections]
    if not picked and scored[0][1] >= config.resource_min_similarity:
        picked = [scored[0][3]]
    return picked


def learning_path(material: Material, config: StudyConfig | None = None) -> list[PathStep]:
    """The course topics in their ``order``, each with its document, deck size, quiz material and reading."""
    config = config or StudyConfig()
    return [PathStep(t.topic, t.title, t.order, t.summary, t.source, len(build_deck(material, t.topic)),
                     len(material.terms_for(t.topic)) + len(material.facts_for(t.topic)),
                     _resources(material, t, config)) for t in material.topics]


# ---------------------------------------------------------------- mastery


@dataclass
class TopicProgress:
    topic: str
    title: str
    mastery: float  # 0..1: quiz_weight * quiz score + (1 - quiz_weight) * card memory
    quiz_correct: int  # within the latest quiz_window answers
    quiz_answered: int
    cards_seen: int
    cards_total: int
    cards_due: int
    studied_at: datetime | None


@dataclass
class ProgressReport:
    learner: str
    topics: list[TopicProgress]
    due_cards: int
    next_due: datetime | None
    recent: list[QuizRecord]

    def next_topic(self, mastered: float) -> TopicProgress | None:
        """The first topic on the path below ``mastered``: where to go next."""
        return next((t for t in self.topics if t.mastery < mastered), None)


def progress_report(store: ProgressStore, material: Material, scheduler: Scheduler, now: datetime,
                    config: StudyConfig | None = None) -> ProgressReport:
    """Per-topic mastery from quiz answers and FSRS card states, due cards and recent quiz scores.

    Quiz score: share correct of the latest answers, scaled down until ``quiz_confidence``
    answers exist. Card memory: FSRS retrievability summed over the reviewed cards, divided
    by the topic's deck size (an unseen card counts as forgotten).
    """
    config = config or StudyConfig()
    answers = store.answers_by_topic(config.quiz_window)
    stored = store.cards()
    studied = store.studied()
    deck_keys = {c.key for c in build_deck(material)}
    topics = []
    for t in material.topics:
        deck = build_deck(material, t.topic)
        mine = [stored[c.key] for c in deck if c.key in stored]
        given = answers.get(t.topic, [])
        quiz = (sum(given) / len(given)) * min(1.0, len(given) / config.quiz_confidence) if given else 0.0
        memory = sum(scheduler.retrievability(c.state, now) for c in mine) / len(deck) if deck else 0.0
        topics.append(TopicProgress(
            t.topic, t.title, round(config.quiz_weight * quiz + (1 - config.quiz_weight) * memory, 3),
            sum(given), len(given), len(mine), len(deck), sum(1 for c in mine if c.due <= now),
            studied.get(t.topic)))
    live = [c for k, c in stored.items() if k in deck_keys]
    upcoming = [c.due for c in live if c.due > now]
    return ProgressReport(store.learner, topics, sum(1 for c in live if c.due <= now),
                          min(upcoming) if upcoming else None, store.recent_quizzes(config.recent_scores))
