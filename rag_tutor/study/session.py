"""The study side of a conversation: commands, plain requests, and the quiz and review modes.

``StudySession.handle(line)`` returns a ``StudyReply`` when the line is for the study
tools and None when it is a normal question for the tutor. During a quiz or a review
the learner's lines are answers; a question asked meanwhile returns None and the quiz
keeps its place. The terminal chat, the Streamlit chat and the CLI all drive this class.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable

import fsrs

from ..config import Settings
from ..errors import RagTutorError
from . import render
from .cards import Card, build_deck, card_for_question, grade_recall
from ..config import StudyConfig
from .grading import looks_like_question
from .material import Citation, Material, load_material
from .path import PathStep, ProgressReport, learning_path, progress_report, resolve_topic
from .next_step import first_unlearnt, suggest
from .progress import ProgressStore, open_store
from .quiz import MCQ, SHORT, Grade, QuizQuestion, generate_quiz, grade, option_term, why_not
from .scheduler import RATINGS, Scheduler, parse_rating, utcnow
from .lesson import Idea, build_lesson
from .teach import STOP as _STOP_LESSON
from .teach import KNOWN, Lesson, Teacher, TeachStep
from .teach_grading import Grader

COMMANDS = ("/quiz", "/flashcards", "/teach", "/progress", "/path")
MOST_MISSED = 5  # concepts listed as most often missed, by /progress and the Progress page
HELP = """Study tools:
  /quiz [topic] [n]     a quiz, e.g. /quiz gans 5; /quiz alone resumes an unfinished quiz; /quiz stop ends it
  /flashcards [topic]   review a topic's cards, or (no topic) every card that is due; /flashcards stop ends it
  /teach TOPIC          a lesson: each idea explained from the course, then a question for you, hints if needed;
                        `just tell me`, `hint`, `skip` and `stop` work at any step
  /progress             mastery per topic, due cards and recent scores
  /path [topic]         the learning path, or one topic's document, cards, quiz and reading list
Plain requests work too: "teach me GANs", "quiz me on GANs", "let's review VAEs", "show my progress", "what should I study next?"."""

_STOP = re.compile(r"^(stop|quit|end|exit|cancel|finish)(\s+(the\s+)?(quiz|review|flashcards|cards))?[\s.!]*$", re.I)
_TENTATIVE = re.compile(r"^(is it|could it be|maybe|i think)\b", re.I)  # "is it the generator?" is an answer
_GIVE_UP = re.compile(r"^(skip|pass|i don'?t know|idk|no idea|dunno)[\s.!]*$", re.I)
_REVEAL = re.compile(r"^(show|flip|reveal|back|answer|\?|i don'?t know|idk|no idea|pass|skip)[\s.!]*$", re.I)
_POLITE = (r"^(?:(?:please|ok|okay|now|so|can you|could you|can we|could we|let'?s|let us|i want to|i'd like to|"
           r"time to)\s+)*")
_QUIZ_ME = re.compile(_POLITE + r"(?:quiz|test)\s+me\b(?P<rest>.*)$", re.I)
_A_QUIZ = re.compile(_POLITE + r"(?:(?:have|take|do|start|give me|get)\s+)?(?:(?:a|an|another|one more)\s+)?"
                     r"(?:(?P<n>\d+)[- ]question\s+)?quiz\b(?P<rest>.*)$", re.I)
_REVIEW = re.compile(_POLITE + r"(?:review|revise|practi[cs]e|drill|study)\s+(?P<rest>.+)$", re.I)
_CARDS = re.compile(_POLITE + r"(?:(?:show me|give me|start|open|do)\s+)?(?:my\s+|the\s+|some\s+)?"
                    r"(?:flash\s?cards?|cards)\b(?P<rest>.*)$", re.I)
_PROGRESS = re.compile(r"^(?:show\s+(?:me\s+)?)?(?:my\s+)?progress[\s.!?]*$"
                       r"|^how am i doing\b|^what'?s my (progress|score)", re.I)
_PATH = re.compile(r"^(?:show\s+(?:me\s+)?)?(?:the\s+|my\s+)?(?:learning\s+path|study\s+plan|syllabus)[\s.!?]*$"
                   r"|^what should i (study|learn|do) next\b", re.I)
# During a lesson a reply may open like a question ("what the discriminator does is..."): only a line that ends
# with "?" or plainly asks goes to the tutor.
_ASKS = re.compile(r"^((what|why|how|who|when|where|which)\s+(is|are|was|were|does|do|did|can|could|should|would)\b"
                   r"|(can|could|would) you\b|tell me (about|more)\b|explain\b|what'?s\b)", re.I)
_TEACH_ME = re.compile(_POLITE + r"(?:teach|tutor)\s+me\b(?:\s+(?:about|on))?(?P<rest>.*)$", re.I)
_REST_FILLER = re.compile(r"\b(on|about|in|for|with|my|the|some|due|flash\s?cards?|cards|please|questions?|quiz)\b",
                          re.I)


@dataclass
class Feedback:
    """How the last answer was graded."""

    correct: bool
    given: str
    answer: str
    explanation: str
    citation: Citation
    rating: str | None = None  # flashcards: the FSRS rating applied
    due: datetime | None = None  # when the card comes back (a missed quiz question: its concept's card, now)
    chosen_explanation: str = ""  # a wrong choice that is a course term or definition: what it really is ...
    chosen_citation: Citation | None = None  # ... and the passage that says so
    chosen_evidence: str = ""  # the sentence of that passage to highlight


@dataclass
class QuizSummary:
    score: int
    total: int
    revisit: list[str]  # concepts answered wrongly


@dataclass
class StudyReply:
    text: str  # Markdown for the terminal
    question: QuizQuestion | None = None  # the quiz question now waiting for an answer
    number: int = 0  # its position (1-based) ...
    total: int = 0  # ... out of
    card: Card | None = None  # the flashcard now shown
    revealed: bool = False  # its back is shown: a rating (again/hard/good/easy) is expected
    feedback: Feedback | None = None
    summary: QuizSummary | None = None
    done: bool = False  # a quiz or a review just ended
    path: list[PathStep] | None = None
    progress: ProgressReport | None = None
    lesson: TeachStep | None = None  # a teach-me step: the idea waiting for a reply, the last grade


@dataclass
class _Quiz:
    quiz_id: int
    topic: str | None
    questions: list[QuizQuestion]
    results: dict[int, bool] = field(default_factory=dict)  # position -> correct

    @property
    def position(self) -> int:
        return next((i for i in range(len(self.questions)) if i not in self.results), len(self.questions))


@dataclass
class _Review:
    topic: str | None
    queue: list[Card]
    position: int = 0
    revealed: bool = False
    reviewed: int = 0


class StudySession:
    """One learner's quizzes, flashcards, path and progress, shared by the chat, the CLI and the UI."""

    def __init__(self, settings: Settings, learner: str | None = None, index=None, embedder=None,
                 config: StudyConfig | None = None, seed: int | None = None,
                 clock: Callable[[], datetime] = utcnow, material: Material | None = None) -> None:
        self.settings = settings
        self.config = config or settings.study
        self.learner = learner or self.config.default_learner
        self.scheduler = Scheduler(self.config)
        self.clock = clock
        self._index, self._embedder = index, embedder
        self._material: Material | None = material
        self._store: ProgressStore | None = None
        self._rng = random.Random(seed)
        self.quiz: _Quiz | None = None
        self.review: _Review | None = None
        self.teacher: Teacher | None = None  # a running teach-me lesson

    # ------------------------------------------------------------ lazily loaded parts

    @property
    def material(self) -> Material:
        """The course material, read from the index on first use."""
        if self._material is None:
            if self._index is None:
                from ..index import load_index

                self._index = load_index(Path(self.settings.index_dir), self.settings.verify_index_hashes)
            self._material = load_material(self._index, self.config)
        return self._material

    @property
    def store(self) -> ProgressStore:
        """The learner's progress store under ``settings.home``, opened on first use."""
        if self._store is None:
            self._store = open_store(self.settings.home, self.learner, self.config.db_name,
                                     self.config.busy_timeout_ms)
        return self._store

    def embedder(self):
        """The sentence embedder (grades typed definitions); loaded only if a card needs it."""
        if self._embedder is None:
            from ..embedder import load_embedder

            self._embedder = load_embedder(self.settings.embedder_package)
        return self._embedder

    def close(self) -> None:
        """Close the progress database (everything is already committed)."""
        if self._store is not None:
            self._store.close()
            self._store = None

    @property
    def mode(self) -> str | None:
        """"quiz", "review" or "teach" while one is running, else None."""
        return "quiz" if self.quiz else "review" if self.review else "teach" if self.teacher else None

    # ------------------------------------------------------------ saved with a conversation

    def snapshot(self) -> dict | None:
        """The running quiz, review or lesson as JSON-ready data (saved with the conversation), or None."""
        if self.teacher is not None:
            return {"teach": self.teacher.lesson.snapshot()}
        if self.quiz is not None:
            return {"quiz": self.quiz.quiz_id}
        if self.review is not None:
            r = self.review
            return {"review": {"topic": r.topic, "queue": [c.key for c in r.queue], "position": r.position,
                               "revealed": r.revealed, "reviewed": r.reviewed}}
        return None

    def restore(self, state: dict | None) -> StudyReply | None:
        """Go on with a saved quiz or review at the question or card it was waiting on, asked again; None if
        there is nothing to go on with (none was running, the quiz was finished or replaced since, or the
        cards are gone from the index)."""
        state = state or {}
        if isinstance(state.get("teach"), dict):
            return self.restore_lesson(state["teach"])
        if "quiz" in state:
            saved = self.store.open_quiz()
            if saved is None or saved.quiz_id != state["quiz"]:
                return None
            return self.resume_quiz()
        review = state.get("review")
        if not isinstance(review, dict):
            return None
        topic = review.get("topic")
        cards = {c.key: c for c in build_deck(self.material, topic)}
        queue = [cards[k] for k in review.get("queue", []) if k in cards]
        position = int(review.get("position", 0))
        if position >= len(queue):
            return None
        self.quiz = None
        self.review = _Review(topic, queue, position, bool(review.get("revealed")), int(review.get("reviewed", 0)))
        return self.reveal() if self.review.revealed else self._show("Resuming your review.")

    # ------------------------------------------------------------ the entry point

    def handle(self, line: str) -> StudyReply | None:
        """A reply if the line is for the study tools; None if it is a normal question for the tutor."""
        text = " ".join((line or "").split())
        if not text:
            return None
        if text.startswith("/"):
            return self._command(text)
        request = self._request(text)
        if request is not None:
            return request
        if self.teacher is not None:
            return self._teach_reply(text)
        if self.mode and _STOP.match(text):
            return self.stop()
        if self.quiz:
            return self.answer(text)
        if self.review:
            rating = parse_rating(text)
            if rating is not None:  # no card's answer is "good" or "3": a rating, shown or not
                return self.rate(rating)
            if looks_like_question(text):
                return None
            if self.review.revealed:
                return StudyReply("_Rate the card: again / hard / good / easy (1-4), or `stop`._",
                                  card=self._card(), revealed=True)
            if _REVEAL.match(text):
                return self.reveal()
            return self.type_answer(text)
        return None

    def reminder(self) -> str | None:
        """A line to show after a tutor answer while a quiz or review waits, else None."""
        if self.quiz:
            return (f"_Quiz paused at question {self.quiz.position + 1}/{len(self.quiz.questions)}: "
                    "answer it when you are ready, or type `stop`._")
        if self.review:
            return f"_Review paused at card {self.review.position + 1}/{len(self.review.queue)}; `stop` ends it._"
        if self.teacher:
            lesson = self.teacher.lesson
            return (f"_Lesson paused at idea {lesson.position + 1}/{len(lesson.ideas)}: reply to its question when "
                    "you are ready, or type `stop`._")
        return None

    def _command(self, text: str) -> StudyReply | None:
        name, *args = text.split()
        name = name.lower()
        if name == "/quiz":
            if args and _STOP.match(" ".join(args)):
                return self.stop("quiz")
            n = int(args.pop()) if args and args[-1].isdigit() else None
            if not args and n is None:
                if self.quiz is not None:
                    return self._ask("Your quiz is still on (`/quiz stop` ends it).")
                resumed = self.resume_quiz()
                if resumed is not None:
                    return resumed
            topic = " ".join(args)
            return self.start_quiz(None if topic.lower() in ("", "all", "course", "everything") else topic, n)
        if name in ("/flashcards", "/cards"):
            if args and _STOP.match(" ".join(args)):
                return self.stop("review")
            return self.start_review(" ".join(args) or None)
        if name == "/teach":
            if args and _STOP_LESSON.match(" ".join(args)):
                return self.stop("teach")
            if not args and self.teacher is not None:
                text, step = self.teacher.start("Your lesson is still on (`/teach stop` ends it).")
                return StudyReply(text, lesson=step)
            return self.start_teach(" ".join(args) or None)
        if name == "/progress":
            return self._with_reminder(self.show_progress())
        if name == "/path":
            return self._with_reminder(self.show_path(" ".join(args) or None))
        return None  # /help, /new, unknown: the chat's own commands

    def _request(self, text: str) -> StudyReply | None:
        """Plain-language requests: "quiz me on GANs", "let's review VAEs", "show my progress"."""
        if _PROGRESS.match(text):
            return self._with_reminder(self.show_progress())
        if _PATH.match(text):
            return self._with_reminder(self.show_path())
        m = _TEACH_ME.match(text)
        if m:
            topic = " ".join(_REST_FILLER.sub(" ", m.group("rest")).strip(" .!?").split())
            if len(topic.split()) <= self.config.request_max_words:
                return self.start_teach(topic or None)
        for pattern, start in ((_QUIZ_ME, "quiz"), (_A_QUIZ, "quiz"), (_REVIEW, "review"), (_CARDS, "review")):
            m = pattern.match(text)
            if not m:
                continue
            rest = m.group("rest")
            numbers = re.findall(r"\b(\d+)\b", rest)
            n = int(m.groupdict().get("n") or (numbers[0] if numbers else 0)) or None
            topic = " ".join(_REST_FILLER.sub(" ", re.sub(r"\d+", " ", rest)).strip(" .!?").split())
            if len(topic.split()) > self.config.request_max_words:
                return None  # "review how VAEs differ from GANs and why" is a question for the tutor
            return self.start_quiz(topic or None, n) if start == "quiz" else self.start_review(topic or None)
        return None

    def _with_reminder(self, reply: StudyReply) -> StudyReply:
        note = self.reminder()
        if note:
            reply.text += "\n\n" + note
        return reply

    def _unknown_topic(self, name: str) -> StudyReply:
        topics = ", ".join(t.topic for t in self.material.topics)
        return StudyReply(f'I don\'t know a topic called "{name}". Topics: {topics}.')

    # ------------------------------------------------------------ quizzes

    def start_quiz(self, topic: str | None = None, n: int | None = None, seed: int | None = None) -> StudyReply:
        """Generate and save a quiz, and ask its first question."""
        topic_id = None
        if topic:
            topic_id = resolve_topic(topic, self.material)
            if topic_id is None:
                return self._unknown_topic(topic)
        seed = self._rng.randrange(2**31) if seed is None else seed
        questions = generate_quiz(self.material, topic_id, n, seed, self.config)
        if not questions:
            return StudyReply(f"There is no quiz material for {topic_id or 'the course'} in the index.")
        self.review = self.teacher = None
        quiz_id = self.store.start_quiz(topic_id, seed, [q.to_record() for q in questions], self.clock())
        self.quiz = _Quiz(quiz_id, topic_id, questions)
        asked = n or self.config.quiz_questions
        title = self.material.topic(topic_id).title if topic_id else "the whole course"
        intro = f"**Quiz on {title}**: {len(questions)} questions"
        if len(questions) < min(asked, self.config.max_quiz_questions):
            intro += f" (only {len(questions)} could be made from this topic)"
        intro += ". Ask a normal question any time: the quiz keeps its place."
        return self._ask(intro)

    def resume_quiz(self) -> StudyReply | None:
        """Continue the learner's unfinished quiz (after a restart or a crash), or None if there is none."""
        saved = self.store.open_quiz()
        if saved is None:
            return None
        questions = [QuizQuestion.from_record(r) for r in saved.questions]
        self.review = None
        self.quiz = _Quiz(saved.quiz_id, saved.topic, questions, dict(saved.answers))
        if self.quiz.position >= len(questions):
            return self._finish("")
        return self._ask(f"Resuming your unfinished quiz at question {self.quiz.position + 1}/{len(questions)}.")

    def _ask(self, prefix: str) -> StudyReply:
        quiz = self.quiz
        q = quiz.questions[quiz.position]
        text = render.question(q, quiz.position + 1, len(quiz.questions))
        return StudyReply(f"{prefix}\n\n{text}" if prefix else text, question=q, number=quiz.position + 1,
                          total=len(quiz.questions))

    def answer(self, text: str) -> StudyReply | None:
        """Grade an answer to the waiting question, save it, and ask the next one (or end the quiz)."""
        quiz = self.quiz
        if quiz is None:
            return None
        q = quiz.questions[quiz.position]
        if looks_like_question(text) and not _TENTATIVE.match(text) and (
                q.kind == "short" or grade(q, text, self.config) is None):
            return None  # a question for the tutor; the quiz keeps its place
        result = Grade(False, "(skipped)") if _GIVE_UP.match(text) else grade(q, text, self.config)
        if result is None:
            hint = "Answer with a letter, the option's number or its text" if q.options else "Type your answer"
            return StudyReply(f"_{hint}, or `stop` to end the quiz._", question=q, number=quiz.position + 1,
                              total=len(quiz.questions))
        self.store.record_answer(quiz.quiz_id, quiz.position, q.to_record(), result.given, result.correct,
                                 self.clock())
        quiz.results[quiz.position] = result.correct
        feedback = Feedback(result.correct, result.given, q.answer, q.explanation, q.citation)
        if not result.correct:
            try:
                self._explain_choice(q, result, feedback)
                feedback.due = self._review_missed(q)
            except RagTutorError:
                pass  # a resumed quiz whose index is gone: the answer is still graded and saved
        said = render.answer_feedback(q, feedback)
        if quiz.position >= len(quiz.questions):
            reply = self._finish(said)
        else:
            reply = self._ask(said)
        reply.feedback = feedback
        return reply

    def _explain_choice(self, q: QuizQuestion, result: Grade, feedback: Feedback) -> None:
        """Fill in what a wrong choice really is, when it is another course term or its definition."""
        if q.kind not in (MCQ, SHORT) or result.given == "(skipped)":
            return  # true/false: the explanation already says whose definition the statement is
        match = option_term(self.material.terms, result.given)
        if match is None or match[0].name == q.concept:
            return
        term, is_definition = match
        feedback.chosen_explanation = why_not(term, is_definition, q.concept)
        feedback.chosen_citation = term.citation
        feedback.chosen_evidence = term.first_sentence

    def _review_missed(self, q: QuizQuestion) -> datetime | None:
        """Put the missed concept's flashcard into review now (its FSRS history kept); when it is due."""
        card = card_for_question(q, build_deck(self.material, q.topic))
        if card is None:
            return None
        now = self.clock()
        stored = self.store.cards().get(card.key)
        if stored is not None and stored.due <= now:
            return stored.due
        state = self.scheduler.due_now(stored.state if stored else None, card.key, now)
        self.store.schedule_card(card.key, card.topic, state)
        return state.due

    def _finish(self, prefix: str) -> StudyReply:
        quiz = self.quiz
        self.store.finish_quiz(quiz.quiz_id, self.clock())
        score = sum(quiz.results.values())
        revisit = list(dict.fromkeys(quiz.questions[i].concept for i, ok in sorted(quiz.results.items()) if not ok))
        self.quiz = None
        text = render.summary(score, len(quiz.questions), len(quiz.results), revisit)
        return StudyReply(f"{prefix}\n\n{text}" if prefix else text, done=True,
                          summary=QuizSummary(score, len(quiz.questions), revisit))

    def stop(self, kind: str | None = None) -> StudyReply:
        """End the running quiz (scored on the answers given) or review; ``kind`` limits it to one of them."""
        if self.quiz and kind in (None, "quiz"):
            return self._finish("Quiz stopped.")
        if self.review and kind in (None, "review"):
            return self._end_review("Review stopped.")
        if self.teacher and kind in (None, "teach"):
            text, step = self.teacher.stop()
            self.teacher = None
            return StudyReply(text, done=True, lesson=step)
        return StudyReply(f"No {'lesson' if kind == 'teach' else kind or 'quiz, review or lesson'} is running.")

    # ------------------------------------------------------------ flashcards

    def start_review(self, topic: str | None = None) -> StudyReply:
        """Review a topic's due and new cards, or every due card of the course when no topic is given."""
        topic_id = None
        if topic:
            topic_id = resolve_topic(topic, self.material)
            if topic_id is None:
                return self._unknown_topic(topic)
        now = self.clock()
        stored = self.store.cards()
        deck = build_deck(self.material, topic_id)
        due = sorted((c for c in deck if c.key in stored and stored[c.key].due <= now),
                     key=lambda c: (stored[c.key].due, c.key))
        new = [c for c in deck if c.key not in stored][: self.config.new_cards_per_session] if topic_id else []
        if topic_id:
            self.store.mark_studied(topic_id, now)
        if not due and not new:
            upcoming = [stored[c.key].due for c in deck if c.key in stored]
            text = "No cards are due now" + (f"; the next review is {render.when(min(upcoming), now)}"
                                            if upcoming else "") + "."
            if not topic_id:
                text += " Start new cards with /flashcards TOPIC (see /path)."
            return StudyReply(text, done=True)
        paused = self.quiz is not None
        self.quiz = self.teacher = None
        self.review = _Review(topic_id, due + new)
        what = self.material.topic(topic_id).title if topic_id else "due cards"
        intro = f"**Flashcards: {what}**: {len(due)} due, {len(new)} new."
        if paused:
            intro += " Your quiz is saved: /quiz resumes it."
        return self._show(intro)

    def _card(self) -> Card:
        return self.review.queue[self.review.position]

    def _show(self, prefix: str) -> StudyReply:
        r = self.review
        text = render.card_front(self._card(), r.position + 1, len(r.queue))
        return StudyReply(f"{prefix}\n\n{text}" if prefix else text, card=self._card(), number=r.position + 1,
                          total=len(r.queue))

    def reveal(self) -> StudyReply:
        """Show the back of the current card; a rating is expected next."""
        if self.review is None:
            return StudyReply("No review is running; start one with /flashcards.")
        self.review.revealed = True
        return StudyReply(render.card_back(self._card()), card=self._card(), revealed=True,
                          number=self.review.position + 1, total=len(self.review.queue))

    def type_answer(self, text: str) -> StudyReply:
        """Grade a typed answer to the current card, apply the rating it earns, and show the next card."""
        if self.review is None:
            return StudyReply("No review is running; start one with /flashcards.")
        card = self._card()
        embedder = self.embedder() if card.kind == "term" else None
        recall = grade_recall(card, text, embedder, self.config)
        return self._apply(RATINGS[recall.rating], text, recall.rating != "again")

    def rate(self, rating: fsrs.Rating | str) -> StudyReply:
        """Apply the learner's own rating (after ``reveal``) and show the next card."""
        if self.review is None:
            return StudyReply("No review is running; start one with /flashcards.")
        if isinstance(rating, str):
            parsed = parse_rating(rating)
            if parsed is None:
                return StudyReply("_Rate the card: again / hard / good / easy (1-4)._", card=self._card(),
                                  revealed=self.review.revealed)
            rating = parsed
        return self._apply(rating, "", rating != fsrs.Rating.Again)

    def _apply(self, rating: fsrs.Rating, typed: str, correct: bool) -> StudyReply:
        r, card, now = self.review, self._card(), self.clock()
        stored = self.store.cards().get(card.key)
        state = stored.state if stored else self.scheduler.new_card(card.key, now)
        reviewed = self.scheduler.review(state, rating, now)
        self.store.save_review(card.key, card.topic, reviewed.state, reviewed.log)
        r.reviewed += 1
        if reviewed.state.due - now <= timedelta(minutes=self.config.relearn_minutes):
            r.queue.append(card)  # learning steps: it comes back in this review
        name = rating.name.lower()
        lines = [] if r.revealed else [f"{'✅' if correct else '❌'} **{card.back}**", render.source_line(card.citation)]
        lines.append(f"Rated **{name}**: next review {render.when(reviewed.state.due, now)}.")
        feedback = Feedback(correct, typed, card.back, card.back, card.citation, name, reviewed.state.due)
        r.position += 1
        r.revealed = False
        reply = self._show("\n".join(lines)) if r.position < len(r.queue) else self._end_review("\n".join(lines))
        reply.feedback = feedback
        return reply

    def _end_review(self, prefix: str) -> StudyReply:
        r, now = self.review, self.clock()
        self.review = None
        upcoming = [c.due for c in self.store.cards().values() if c.due > now]
        text = f"**Review done**: {r.reviewed} cards reviewed."
        if upcoming:
            text += f" Next review {render.when(min(upcoming), now)}."
        return StudyReply(f"{prefix}\n\n{text}" if prefix else text, done=True)

    # ------------------------------------------------------------ teach-me lessons

    def _teacher(self, lesson: Lesson) -> Teacher:
        grader = Grader(self.material, self.embedder(), self.config)
        return Teacher(lesson, grader, self._schedule_idea, self.clock)

    def _lesson(self, topic_id: str) -> Lesson | None:
        ideas = build_lesson(self.material, topic_id, self.config)
        return Lesson(topic_id, self.material.topic(topic_id).title, ideas) if ideas else None

    def start_teach(self, topic: str | None = None) -> StudyReply:
        """Start a lesson on a topic (id, title or course term, as /path takes them); the first idea is explained
        and its question asked. Without a topic: the adaptive next step's topic (study/next_step.py), and why.
        The lesson starts at its first idea not yet learnt (next_step.first_unlearnt), else at idea 1."""
        why = ""
        if topic:
            topic_id = resolve_topic(topic, self.material)
            if topic_id is None:
                return self._unknown_topic(topic)
        else:
            nxt = suggest(self)
            topic_id = nxt.topic or self.material.topics[0].topic
            why = f"_Suggested: {nxt.sentence}_\n\n"
        lesson = self._lesson(topic_id)
        if lesson is None:
            return StudyReply(f"There is nothing to teach on {topic_id} in the index.")
        paused = self.quiz is not None
        self.quiz = self.review = None
        at = first_unlearnt(lesson.ideas, self.store.cards(), self.scheduler, self.clock(), self.config)
        lesson.position = at or 0
        lesson.outcomes = {i: KNOWN for i in range(lesson.position)}
        self.store.mark_studied(topic_id, self.clock())
        self.teacher = self._teacher(lesson)
        intro = (f"{why}**Lesson: {lesson.title}**: {len(lesson.ideas)} ideas, one at a time. Each is explained from "
                 "the course, then you answer a question on it. Ask a normal question any time: the lesson keeps its "
                 "place.\n\n" + "\n".join(f"{n}. {idea.section}" for n, idea in enumerate(lesson.ideas, 1)))
        if at is None:
            intro += "\n\nEvery idea here is already learnt: going over it again from idea 1."
        elif at:
            learnt = "idea 1 is" if at == 1 else f"ideas 1–{at} are"
            intro += f"\n\nStarting at idea {at + 1} of {len(lesson.ideas)}; {learnt} already learnt."
        if paused:
            intro += " Your quiz is saved: /quiz resumes it."
        text, step = self.teacher.start(intro)
        return StudyReply(text, lesson=step)

    def restore_lesson(self, saved: dict) -> StudyReply | None:
        """Go on with a saved lesson at the idea and hint it was on; None if the topic or the idea is gone."""
        topic_id = saved.get("topic")
        lesson = self._lesson(topic_id) if self.material.topic(topic_id or "") else None
        if lesson is None:
            return None
        keys = [i.key for i in lesson.ideas]
        position = keys.index(saved["idea"]) if saved.get("idea") in keys else int(saved.get("position", 0))
        if position >= len(lesson.ideas):
            return None
        lesson.position, lesson.hints = position, int(saved.get("hints", 0)) if saved.get("idea") in keys else 0
        lesson.outcomes = {int(k): v for k, v in (saved.get("outcomes") or {}).items()}
        self.quiz = self.review = None
        self.teacher = self._teacher(lesson)
        text, step = self.teacher.start(f"Resuming your lesson at idea {position + 1}/{len(lesson.ideas)}.")
        return StudyReply(text, lesson=step)

    def _teach_reply(self, text: str) -> StudyReply | None:
        if looks_like_question(text) and not _TENTATIVE.match(text) and (text.endswith("?") or _ASKS.match(text)):
            return None  # a question for the tutor; the lesson keeps its place
        said, step = self.teacher.reply(text)
        if step.done:
            self.teacher = None
        return StudyReply(said, lesson=step, done=step.done)

    def _schedule_idea(self, idea: Idea, rating: str) -> datetime | None:
        """Review the idea's flashcard with the rating the lesson earned (FSRS); when it is due next."""
        if not idea.card_key:
            return None
        deck = build_deck(self.material)
        card = next((c for c in deck if c.key == idea.card_key), None)
        if card is None:
            return None
        now = self.clock()
        stored = self.store.cards().get(card.key)
        state = stored.state if stored else self.scheduler.new_card(card.key, now)
        reviewed = self.scheduler.review(state, RATINGS[rating], now)
        self.store.save_review(card.key, card.topic, reviewed.state, reviewed.log)
        return reviewed.state.due

    # ------------------------------------------------------------ path and progress

    def report(self) -> ProgressReport:
        """Per-topic mastery, due cards and recent scores, now."""
        return progress_report(self.store, self.material, self.scheduler, self.clock(), self.config)

    def show_progress(self) -> StudyReply:
        """The /progress reply."""
        report = self.report()
        text = render.progress(report, self.clock(), self.store.most_missed(MOST_MISSED),
                               suggest(self, report).markdown())
        return StudyReply(text, progress=report)

    def show_path(self, topic: str | None = None) -> StudyReply:
        """The whole path, or one topic's step (which counts as studying it)."""
        steps = learning_path(self.material, self.config)
        report = self.report()
        if topic is None:
            return StudyReply(suggest(self, report).markdown() + "\n\n" + render.path(steps, report), path=steps,
                              progress=report)
        topic_id = resolve_topic(topic, self.material)
        if topic_id is None:
            return self._unknown_topic(topic)
        self.store.mark_studied(topic_id, self.clock())
        step = next(s for s in steps if s.topic == topic_id)
        mastery = next((t.mastery for t in report.topics if t.topic == topic_id), None)
        text = render.step(step, mastery) + "\n" + suggest(self, report, topic_id).markdown()
        return StudyReply(text, path=[step], progress=report)
