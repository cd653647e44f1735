"""Spaced repetition with FSRS (the ``fsrs`` package): the rating decides the next due date."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone

import fsrs

from ..config import StudyConfig

RATINGS = {"again": fsrs.Rating.Again, "hard": fsrs.Rating.Hard, "good": fsrs.Rating.Good, "easy": fsrs.Rating.Easy}
_WORDS = {**RATINGS, "1": fsrs.Rating.Again, "2": fsrs.Rating.Hard, "3": fsrs.Rating.Good, "4": fsrs.Rating.Easy,
          "a": fsrs.Rating.Again, "h": fsrs.Rating.Hard, "g": fsrs.Rating.Good, "e": fsrs.Rating.Easy}


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_rating(text: str) -> fsrs.Rating | None:
    """"again"/"hard"/"good"/"easy", their initials, or 1-4; None for anything else."""
    return _WORDS.get(text.strip().lower().rstrip(".!"))


def card_id(key: str) -> int:
    """A stable FSRS card id from a card key (FSRS's default id is the creation time)."""
    return int(hashlib.sha1(key.encode()).hexdigest()[:15], 16)


@dataclass
class Reviewed:
    state: fsrs.Card  # the card's new FSRS state
    log: fsrs.ReviewLog


class Scheduler:
    """A thin wrapper so the rest of the package never builds FSRS objects itself."""

    def __init__(self, config: StudyConfig | None = None) -> None:
        config = config or StudyConfig()
        self.fsrs = fsrs.Scheduler(desired_retention=config.desired_retention, enable_fuzzing=config.fsrs_fuzzing)

    def new_card(self, key: str, now: datetime | None = None) -> fsrs.Card:
        """A card never reviewed: due now."""
        return fsrs.Card(card_id=card_id(key), due=now or utcnow())

    def due_now(self, state: fsrs.Card | None, key: str, now: datetime | None = None) -> fsrs.Card:
        """The card brought forward to ``now`` (a missed quiz question), its stability, difficulty and last
        review kept; a card never reviewed starts new. FSRS reads the early review from ``last_review``."""
        now = now or utcnow()
        if state is None:
            return self.new_card(key, now)
        moved = fsrs.Card.from_dict(state.to_dict())
        moved.due = min(moved.due, now)
        return moved

    def review(self, state: fsrs.Card, rating: fsrs.Rating, now: datetime | None = None) -> Reviewed:
        """Apply one rating at ``now`` (UTC); FSRS sets the next due date."""
        card, log = self.fsrs.review_card(state, rating, review_datetime=now or utcnow())
        return Reviewed(card, log)

    def retrievability(self, state: fsrs.Card, now: datetime | None = None) -> float:
        """FSRS's probability that the card is recalled at ``now`` (0 for a card never reviewed)."""
        return float(self.fsrs.get_card_retrievability(state, now or utcnow()))
