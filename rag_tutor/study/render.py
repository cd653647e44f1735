"""Markdown for the terminal and the chat: questions, cards, feedback, the path and the progress table."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from .cards import Card
from .material import Citation
from .path import PathStep, ProgressReport
from .progress import MissedConcept
from .quiz import TRUE_FALSE, QuizQuestion
from .grading import LETTERS

if TYPE_CHECKING:
    from .session import Feedback


def when(due: datetime, now: datetime) -> str:
    """"in 10 minutes", "in 5 hours", "in 3 days (2026-11-26)"."""
    seconds = (due - now).total_seconds()
    if seconds <= 0:
        return "now"
    if seconds < 3600:
        minutes = max(1, round(seconds / 60))
        return f"in {minutes} minute{'s' if minutes > 1 else ''}"
    if seconds < 48 * 3600:
        return f"in {round(seconds / 3600)} hours"
    return f"in {round(seconds / 86400)} days ({due.date().isoformat()})"


def source_line(citation: Citation) -> str:
    return f"Source: {citation.markdown()}"


def question(q: QuizQuestion, number: int, total: int) -> str:
    lines = [f"**Question {number}/{total}** ({q.topic}) {q.question}"]
    if q.options:
        lines += [f"  {LETTERS[i]}. {opt}" for i, opt in enumerate(q.options)]
        choices = "A or B" if q.kind == TRUE_FALSE else f"A-{LETTERS[len(q.options) - 1]}"
        lines.append(f"_Answer {choices}, the option's number or its text._")
    else:
        lines.append("_Type your answer._")
    return "\n".join(lines)


def choice_label(q: QuizQuestion, given: str) -> str:
    """How to name the learner's answer: its letter for an option, the typed text in italics otherwise."""
    return LETTERS[q.options.index(given)] if given in q.options else f"*{given}*"


def answer_feedback(q: QuizQuestion, feedback: Feedback) -> str:
    """The graded answer: right, or what was right and, when the wrong choice is a
    course term or definition, what that choice really is; each with its source."""
    if feedback.correct:
        return f"✅ Correct.\n{q.explanation}\n{source_line(q.citation)}"
    right = f"{LETTERS[q.answer_index]}. {q.answer}" if q.answer_index is not None else q.answer
    head = f"❌ Not quite: the answer is **{right.rstrip('.')}**."
    lines = [head]
    if feedback.chosen_explanation and feedback.chosen_citation is not None:
        lines += [f"Why not {choice_label(q, feedback.given)}: {feedback.chosen_explanation}",
                  source_line(feedback.chosen_citation)]
        why = f"Why {LETTERS[q.answer_index]}" if q.answer_index is not None else "Why"
        lines.append(f"{why}: {q.explanation}")
    else:
        lines.append(q.explanation)
    lines.append(source_line(q.citation))
    if feedback.due is not None:
        lines.append(f"_Its flashcard ({q.concept}) is in your review now: /flashcards._")
    return "\n".join(lines)


def summary(score: int, total: int, answered: int, revisit: list[str]) -> str:
    skipped = f" ({total - answered} not answered)" if answered < total else ""
    text = f"**Quiz finished: {score}/{total}{skipped}.**"
    if revisit:
        text += "\nConcepts to revisit: " + ", ".join(revisit) + "."
    else:
        text += " Nothing to revisit."
    return text


def card_front(card: Card, number: int, total: int) -> str:
    return (f"**Card {number}/{total}** ({card.topic}) {card.front}\n"
            "_Type your answer, or `show` to see the back._")


def card_back(card: Card) -> str:
    return (f"**Back:** {card.back}\n{source_line(card.citation)}\n"
            "_How well did you know it? again / hard / good / easy (1-4)._")


def path(steps: list[PathStep], report: ProgressReport | None) -> str:
    mastery = {t.topic: t.mastery for t in report.topics} if report else {}
    lines = ["**Learning path**"]
    for n, s in enumerate(steps, 1):
        done = f", mastery {mastery[s.topic]:.0%}" if s.topic in mastery else ""
        lines.append(f"{n}. **{s.title}** (`{s.topic}`): {s.cards} cards, {s.quiz_items} quiz items{done}")
    lines.append("_Open a topic with /path TOPIC; study it with /flashcards TOPIC and /quiz TOPIC._")
    return "\n".join(lines)


def step(s: PathStep, mastery: float | None) -> str:
    lines = [f"**{s.title}** (`{s.topic}`, step {s.order})", s.summary, f"Read: {s.source}",
             f"Flashcards: {s.cards} (/flashcards {s.topic}); quiz items: {s.quiz_items} (/quiz {s.topic})"]
    if mastery is not None:
        lines.append(f"Mastery: {mastery:.0%}")
    if s.resources:
        lines.append("Reading list: " + "; ".join(f"{c.section} ({c.source})" for c in s.resources))
    return "\n".join(line for line in lines if line)


def progress(report: ProgressReport, now: datetime, missed: list[MissedConcept] | None = None,
             next_line: str = "") -> str:
    lines = [f"**Progress of {report.learner}**", "", "| topic | mastery | quiz | cards seen | due |",
             "| --- | --- | --- | --- | --- |"]
    for t in report.topics:
        quiz = f"{t.quiz_correct}/{t.quiz_answered}" if t.quiz_answered else "-"
        lines.append(f"| {t.topic} | {t.mastery:.0%} | {quiz} | {t.cards_seen}/{t.cards_total} | {t.cards_due} |")
    lines.append("")
    due = f"{report.due_cards} cards due now"
    if report.next_due:
        due += f"; next review {when(report.next_due, now)}"
    lines.append(due + ".")
    if report.recent:
        lines.append("Recent quizzes: " + ", ".join(
            f"{r.topic or 'course'} {r.score}/{r.total} ({r.finished_at.date().isoformat()})" for r in report.recent))
    if missed:
        lines.append("Most often missed in quizzes: "
                     + ", ".join(f"{m.concept} ({m.missed} of {m.answered})" for m in missed) + ".")
    if next_line:  # the adaptive next step (study/next_step.py), with its reason
        lines.append(next_line)
    return "\n".join(lines)
