"""What to study next, and why: one rule over mastery, FSRS due cards and the path's prerequisites.

The rule, in order:
1. a topic the learner asked for is what they get, with a warning naming the prerequisites
   they have not started ("Diffusion builds on VAEs, which you haven't started");
2. due cards first: the topic with the most due cards (at least ``due_first``) is reviewed;
3. else the earliest topic on the path that is not mastered and whose prerequisites are;
4. else nothing: every topic is mastered.
A topic's prerequisites are the topics before it in the path order (the corpus declares no
others). A topic without flashcards cannot be measured, so it neither gates nor is suggested.
Within the chosen topic, the next idea is the first idea of its lesson (study/lesson.py, one
per section) whose flashcard is not yet reviewed or remembered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from ..config import StudyConfig
from .lesson import Idea, build_lesson
from .material import Material
from .path import ProgressReport, TopicProgress
from .progress import StoredCard
from .scheduler import Scheduler

REVIEW, LEARN, DONE = "review", "learn", "done"


@dataclass
class NextStep:
    action: str  # REVIEW (its due cards), LEARN (teach the topic from `section`) or DONE
    topic: str | None  # topic id; None when every topic is mastered
    title: str  # the topic's short name ("GANs")
    reason: str  # one plain sentence: why this, now
    command: str  # the chat line that starts it ("/flashcards gan", "/teach gan")
    section: str | None = None  # the next idea within the topic: the section of its first idea not yet learnt
    due: int = 0  # the topic's due cards
    missing: tuple[str, ...] = ()  # prerequisites not started, in path order (only for a topic the learner asked for)

    @property
    def sentence(self) -> str:
        """The reason as a sentence: capitalised, with a full stop."""
        stop = "" if self.reason.endswith((".", "?", "!")) else "."
        return self.reason[:1].upper() + self.reason[1:] + stop

    def markdown(self) -> str:
        """One line for the chat: what, why, the command, and the next idea."""
        if self.topic is None:
            return f"**Next:** {self.sentence}"
        idea = f" Next idea: *{self.section}*." if self.section and self.action == LEARN else ""
        stop = "" if self.reason.endswith((".", "?", "!")) else "."
        return f"**Next: {self.title}** ({self.command}): {self.reason}{stop}{idea}"


def short_name(title: str) -> str:
    """"Generative Adversarial Networks (GANs)" -> "GANs"; a title without an acronym stays whole."""
    found = re.search(r"\(([^()]+)\)\s*$", title)
    return found.group(1).strip() if found else title


def started(t: TopicProgress) -> bool:
    """Opened, reviewed or quizzed at least once."""
    return t.studied_at is not None or t.cards_seen > 0 or t.quiz_answered > 0


def _names(topics: list[TopicProgress]) -> str:
    names = [short_name(t.title) for t in topics]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def choose(report: ProgressReport, config: StudyConfig | None = None, asked: str | None = None
           ) -> tuple[str, TopicProgress | None, str, tuple[str, ...]]:
    """(action, topic, reason, unstarted prerequisites) from the report alone; see the module's rule."""
    config = config or StudyConfig()
    topics = [t for t in report.topics if t.cards_total > 0]
    position = {t.topic: i for i, t in enumerate(topics)}
    if asked is not None and asked in position:
        t = topics[position[asked]]
        missing = [p for p in topics[: position[asked]] if not started(p)]
        if missing:
            named, more = missing[-config.prerequisites_named:], len(missing) - config.prerequisites_named
            earlier = f" (and {more} earlier topic{'s' if more > 1 else ''})" if more > 0 else ""
            reason = (f"{short_name(t.title)} builds on {_names(named)}{earlier}, which you haven't started; "
                      f"the path starts with {short_name(missing[0].title)}")
            return LEARN, t, reason, tuple(p.topic for p in missing)
        if t.cards_due >= config.due_first:
            return REVIEW, t, _due(t), ()
        if t.mastery >= config.mastered:
            return LEARN, t, f"you have already mastered {short_name(t.title)} ({t.mastery:.0%}); go over it again", ()
        return LEARN, t, f"you asked for {short_name(t.title)}, and you have started everything before it", ()
    due = [t for t in topics if t.cards_due >= config.due_first]
    if due:
        t = max(due, key=lambda d: (d.cards_due, -position[d.topic]))
        return REVIEW, t, _due(t), ()
    for i, t in enumerate(topics):
        if t.mastery >= config.mastered:
            continue
        if i == 0:
            return LEARN, t, f"{short_name(t.title)} is the first topic of the path", ()
        before = topics[i - 1]
        if started(t):
            return LEARN, t, (f"you are at {t.mastery:.0%} on {short_name(t.title)} and everything before it is "
                              f"mastered; it counts as mastered at {config.mastered:.0%}"), ()
        return LEARN, t, (f"you have mastered {short_name(before.title)} ({before.mastery:.0%}); next in the path "
                          f"is {short_name(t.title)}"), ()
    return DONE, None, "you have mastered every topic and no card is due", ()


def _due(t: TopicProgress) -> str:
    n = t.cards_due
    return f"{n} card{'s' if n != 1 else ''} on {short_name(t.title)} {'are' if n != 1 else 'is'} due"


def next_idea(material: Material, topic: str, stored: dict[str, StoredCard], scheduler: Scheduler, now: datetime,
              config: StudyConfig | None = None) -> str | None:
    """The section of the topic's first lesson idea (the ideas /teach walks, in reading order) whose flashcard is
    not yet reviewed or has fallen below ``idea_recall``; None when every idea's card is remembered.

    The lesson reviews an idea's card when it ends, so a taught idea counts as learnt until FSRS says it fades.
    An idea without a card is passed over: nothing the learner did can say they know it.
    """
    config = config or StudyConfig()
    ideas = build_lesson(material, topic, config)
    at = first_unlearnt(ideas, stored, scheduler, now, config)
    return None if at is None else ideas[at].section


def first_unlearnt(ideas: list[Idea], stored: dict[str, StoredCard], scheduler: Scheduler, now: datetime,
                   config: StudyConfig) -> int | None:
    """The position of the first idea whose flashcard is not yet reviewed or has fallen below ``idea_recall``
    (where /teach starts a lesson); None when every idea with a card is remembered."""
    for at, idea in enumerate(ideas):
        card = stored.get(idea.card_key)
        if idea.card_key and (card is None or scheduler.retrievability(card.state, now) < config.idea_recall):
            return at
    return None


def next_step(report: ProgressReport, material: Material, stored: dict[str, StoredCard], scheduler: Scheduler,
              now: datetime, config: StudyConfig | None = None, asked: str | None = None) -> NextStep:
    """The next step for this learner (``asked``: a topic id the learner chose), with its reason."""
    config = config or StudyConfig()
    action, t, reason, missing = choose(report, config, asked)
    if t is None:
        return NextStep(DONE, None, "", reason, "/progress")
    command = f"/flashcards {t.topic}" if action == REVIEW else f"/teach {t.topic}"
    section = next_idea(material, t.topic, stored, scheduler, now, config) if action == LEARN else None
    return NextStep(action, t.topic, short_name(t.title), reason, command, section, t.cards_due, missing)


def suggest(session, report: ProgressReport | None = None, asked: str | None = None) -> NextStep:
    """``next_step`` for a StudySession, now (the chat's /path and the Learn page both ask this)."""
    report = report or session.report()
    return next_step(report, session.material, session.store.cards(), session.scheduler, session.clock(),
                     session.config, asked)
