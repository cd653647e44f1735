"""Teach-me mode: a lesson that explains one idea at a time, asks before it tells, and gives hints in order.

Per idea (study/lesson.py): the explanation with its source and a check question; the
learner's reply is graded (study/teach_grading.py); a partial or wrong reply gets the
next rung of the hint ladder (a nudge naming the idea, then the key sentence with a
blank, then the answer with its source), never the answer first. A right reply, or the
answer shown, closes the idea with a one-line recap and the concept's flashcard reviewed
in FSRS (right first time: good; after hints: hard; told: again). "just tell me", "hint",
"skip" and "stop" work at any step. The small LLM plays no part: every line is the
course's own text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from ..index import keyword_tokens
from . import render
from .lesson import NAME, Idea
from .teach_grading import PARTIAL, RIGHT, Grader, Verdict
from .quiz import gloss

HINTS = 3  # nudge, key sentence with a blank, the answer
FIRST, HINTED, TOLD, SKIPPED = "first", "hinted", "told", "skipped"  # how an idea ended
KNOWN = "known"  # an idea before the lesson's start: its card was already remembered
RATING = {FIRST: "good", HINTED: "hard", TOLD: "again"}  # the FSRS rating each ending gives the concept's card
TELL = re.compile(r"^(just\s+)?(tell|show|give)\s+me(\s+the\s+answer)?[\s.!]*$|^(the\s+)?answer[\s.!]*$", re.I)
SKIP = re.compile(r"^(skip|next|move on|skip (it|this|this one))[\s.!]*$", re.I)
HINT = re.compile(r"^(hint|a hint|give me a hint|another hint|help|i'?m stuck|i don'?t know|idk|no idea|dunno|"
                  r"not sure)[\s.!?]*$", re.I)
STOP = re.compile(r"^(stop|quit|end|exit|cancel|finish)(\s+(the\s+)?(lesson|teaching|teach))?[\s.!]*$", re.I)


@dataclass
class TeachStep:
    """What one teach reply holds, for a UI that wants more than its Markdown."""

    idea: Idea | None  # the idea now waiting for a reply (None once the lesson is over)
    number: int  # its position, 1-based ...
    total: int  # ... out of
    verdict: Verdict | None = None  # how the last reply was graded
    hints: int = 0  # hint rungs shown for the waiting idea
    told: bool = False  # the last reply ended with the answer shown
    due: datetime | None = None  # when the closed idea's flashcard comes back
    done: bool = False


@dataclass
class Lesson:
    """A running lesson: where it is and how each idea went (saved with the conversation)."""

    topic: str
    title: str
    ideas: list[Idea]
    position: int = 0
    hints: int = 0  # rungs of the ladder shown for the current idea
    outcomes: dict[int, str] = field(default_factory=dict)  # position -> FIRST / HINTED / TOLD / SKIPPED / KNOWN

    @property
    def idea(self) -> Idea | None:
        return self.ideas[self.position] if self.position < len(self.ideas) else None

    def snapshot(self) -> dict:
        return {"topic": self.topic, "position": self.position, "hints": self.hints,
                "idea": self.idea.key if self.idea else None,
                "outcomes": {str(k): v for k, v in self.outcomes.items()}}


# ---------------------------------------------------------------- wording


def present(lesson: Lesson) -> str:
    """The current idea: its explanation with the source, then the check question."""
    idea, n = lesson.idea, lesson.position + 1
    how = "Type the term" if idea.kind == NAME else "Answer in a sentence or two, in your own words"
    return (f"**{lesson.title}, idea {n} of {len(lesson.ideas)}: {idea.section}**\n\n{idea.explanation}\n\n"
            f"{render.source_line(idea.citation)}\n\n**Check:** {idea.question}\n\n"
            f"_{how}; or `hint`, `just tell me`, `skip`, `stop`._")


def hint(idea: Idea, rung: int) -> str:
    """Rung 1: a nudge naming the idea; rung 2: the key sentence with a blank; rung 3: the answer, cited."""
    if rung == 1:
        if idea.kind == NAME:  # naming the concept would be the answer: point at where the explanation names it
            return (f"**Hint 1 of {HINTS}:** the term is named in the explanation of *{idea.section}*: which part "
                    "plays this role?")
        what = f"**{idea.concept}**" if idea.term else "this part"
        return f"**Hint 1 of {HINTS}:** think of what {what} does in *{idea.section}*; look back at the explanation."
    if rung == 2:
        return f"**Hint 2 of {HINTS}:** fill the blank in the key sentence: {idea.cloze}"
    return answer(idea)


def answer(idea: Idea) -> str:
    return f"**The answer:** {idea.answer}\n\n{render.source_line(idea.answer_citation)}"


def misconception(idea: Idea, verdict: Verdict) -> str:
    """A reply that describes (or names) another concept: what that concept is, both sources cited."""
    other = verdict.confused_with
    if idea.kind == NAME:  # the asked term's name is the answer: not said here
        return (f"**{other.name}** is a different idea: {gloss(other)}\n\n{render.source_line(other.citation)}\n\n"
                f"The term asked for is explained in {idea.citation.markdown()}.")
    return (f"That describes **{other.name}** rather than {idea.concept}: {gloss(other)}\n\n"
            f"{render.source_line(other.citation)}\n\n"
            f"{idea.concept} is explained in {idea.citation.markdown()}.")


def partly(reply: str, verdict: Verdict) -> str:
    """A partial reply: the key words it already uses, as the learner wrote them."""
    used = list(dict.fromkeys(w for w in re.findall(r"[A-Za-z][A-Za-z0-9-]*", reply)
                              if set(keyword_tokens(w)) & set(verdict.found)))
    if not used:
        return "**Partly right:** you are on the way."
    return f"**Partly right:** {', '.join(f'*{w}*' for w in used)} {'is' if len(used) == 1 else 'are'} on the mark; say more."


def recap(idea: Idea, due: datetime | None, now: datetime) -> str:
    line = f"**Recap:** {idea.recap} ({idea.citation.markdown()})"
    if due is not None:
        line += f"\n\n_Its flashcard is scheduled: next review {render.when(due, now)}._"
    return line


def summary(lesson: Lesson) -> str:
    counts = {k: sum(1 for v in lesson.outcomes.values() if v == k) for k in (FIRST, HINTED, TOLD, SKIPPED, KNOWN)}
    done = len(lesson.outcomes)
    known = f"{counts[KNOWN]} already learnt, " if counts[KNOWN] else ""
    return (f"**Lesson {'done' if done == len(lesson.ideas) else 'stopped'}: {lesson.title}**: {done} of "
            f"{len(lesson.ideas)} ideas; {known}{counts[FIRST]} right first time, {counts[HINTED]} after hints, "
            f"{counts[TOLD]} told, {counts[SKIPPED]} skipped.\n\nTest yourself with /quiz {lesson.topic}; "
            f"review the cards with /flashcards {lesson.topic}.")


# ---------------------------------------------------------------- the loop


class Teacher:
    """Runs one lesson; ``schedule(idea, rating)`` reviews the concept's card and returns when it is due."""

    def __init__(self, lesson: Lesson, grader: Grader, schedule: Callable[[Idea, str], datetime | None],
                 clock: Callable[[], datetime]) -> None:
        self.lesson, self.grader, self.schedule, self.clock = lesson, grader, schedule, clock

    def _step(self, text: str, **kw) -> tuple[str, TeachStep]:
        lesson = self.lesson
        return text, TeachStep(lesson.idea, lesson.position + 1, len(lesson.ideas), hints=lesson.hints,
                               done=lesson.idea is None, **kw)

    def start(self, intro: str = "") -> tuple[str, TeachStep]:
        body = present(self.lesson)
        if self.lesson.hints:  # a resumed lesson: the hints already given, again
            body += "\n\n" + "\n\n".join(hint(self.lesson.idea, r) for r in range(1, self.lesson.hints + 1))
        return self._step(f"{intro}\n\n{body}" if intro else body)

    def _close(self, said: list[str], outcome: str, verdict: Verdict | None = None) -> tuple[str, TeachStep]:
        """End the current idea: recap and card (unless skipped), then the next idea or the summary."""
        lesson, idea = self.lesson, self.lesson.idea
        due = None
        if outcome != SKIPPED:
            due = self.schedule(idea, RATING[outcome])
            said.append(recap(idea, due, self.clock()))
        lesson.outcomes[lesson.position] = outcome
        lesson.position += 1
        lesson.hints = 0
        said.append(present(lesson) if lesson.idea is not None else summary(lesson))
        return self._step("\n\n".join(said), verdict=verdict, told=outcome == TOLD, due=due)

    def reply(self, text: str) -> tuple[str, TeachStep]:
        """A learner line during the lesson: a command (tell, hint, skip, stop) or an answer to grade."""
        lesson, idea = self.lesson, self.lesson.idea
        if STOP.match(text):
            return self.stop()
        if TELL.match(text):
            return self._close([answer(idea)], TOLD)
        if SKIP.match(text):
            return self._close([f"Skipped: {idea.section}."], SKIPPED)
        if HINT.match(text):
            return self._next_hint([], None)
        verdict = self.grader.grade(idea, text)
        if verdict.label == RIGHT:
            return self._close(["**Right.**"], FIRST if lesson.hints == 0 else HINTED, verdict)
        said = [partly(text, verdict) if verdict.label == PARTIAL else "**Not yet.**"]
        if verdict.confused_with is not None:
            said.append(misconception(idea, verdict))
        return self._next_hint(said, verdict)

    def _next_hint(self, said: list[str], verdict: Verdict | None) -> tuple[str, TeachStep]:
        lesson = self.lesson
        lesson.hints += 1
        if lesson.hints >= HINTS:
            return self._close(said + [answer(lesson.idea)], TOLD, verdict)
        said.append(hint(lesson.idea, lesson.hints))
        return self._step("\n\n".join(said + ["_Try again, or `just tell me`._"]), verdict=verdict)

    def stop(self) -> tuple[str, TeachStep]:
        text = summary(self.lesson)
        self.lesson.position = len(self.lesson.ideas)
        return text, TeachStep(None, len(self.lesson.ideas), len(self.lesson.ideas), done=True)
