"""The study tools as the chat uses them: commands, plain requests, quiz and review modes, path and progress."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import fsrs
import pytest

from rag_tutor.config import StudyConfig
from rag_tutor.study.material import load_material
from rag_tutor.study.path import learning_path, resolve_topic
from rag_tutor.study.progress import ProgressStore
from rag_tutor.study.scheduler import card_id
from rag_tutor.study.session import COMMANDS, HELP, StudySession
from clocks import Clock

pytestmark = pytest.mark.model
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def index(course_index):
    from rag_tutor.index import load_index

    return load_index(course_index.index_dir)


@pytest.fixture
def settings(course_index, tmp_path):
    return replace(course_index, home=tmp_path / "home")


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def session(settings, index, embedder, clock):
    s = StudySession(settings, "ada", index=index, embedder=embedder, config=StudyConfig(fsrs_fuzzing=False),
                     seed=5, clock=clock)
    yield s
    s.close()


def _right(reply) -> str:
    q = reply.question
    return "ABCD"[q.answer_index] if q.options else q.answer


def _wrong(reply) -> str:
    q = reply.question
    return "ABCD"[(q.answer_index + 1) % len(q.options)] if q.options else "no idea whatsoever"


# ---------------------------------------------------------------- quizzes


def test_a_full_quiz_through_the_chat_records_its_attempts(session, settings):
    reply = session.handle("/quiz gans 5")
    assert session.mode == "quiz" and reply.total == 5 and reply.question.topic == "gan"
    for n in range(5):
        assert reply.number == n + 1
        concept = reply.question.concept
        reply = session.handle(_right(reply) if n % 2 == 0 else _wrong(reply))
        assert reply.feedback.correct == (n % 2 == 0)
        assert reply.feedback.citation.text and "Source:" in reply.text
        if n % 2:
            assert "the answer is" in reply.text
            assert concept in reply.summary.revisit if reply.done else True
    assert reply.done and session.mode is None
    assert (reply.summary.score, reply.summary.total) == (3, 5)
    assert len(reply.summary.revisit) == 2 and "Concepts to revisit" in reply.text
    store = ProgressStore(settings.home / "progress.db", "ada")
    [record] = store.recent_quizzes(5)
    assert (record.topic, record.score, record.total) == ("gan", 3, 5)
    quiz_id = store.conn.execute("SELECT id FROM quizzes").fetchone()[0]
    assert [ok for _, _, _, ok in store.attempts(quiz_id)] == [True, False, True, False, True]


def test_a_question_mid_quiz_goes_to_the_tutor_and_the_quiz_keeps_its_place(session):
    first = session.handle("quiz me on VAEs")
    assert first.question.topic == "vae"
    assert session.handle("What is the reparameterization trick?") is None
    assert session.handle("how does the ELBO relate to the KL divergence") is None
    assert "question 1/" in session.reminder()
    progress = session.handle("/progress")
    assert progress.progress is not None and "Quiz paused" in progress.text
    assert session.handle("/quiz").question is first.question  # /quiz shows the waiting question again
    reply = session.handle(_right(first))
    assert reply.feedback.correct and reply.number == 2


def test_an_unclear_answer_gets_a_hint_not_a_grade(session):
    reply = session.handle("/quiz diffusion 10")
    while reply.question.kind == "short":
        reply = session.handle(_right(reply))
    hint = session.handle("banana")
    assert hint.feedback is None and hint.question is reply.question and "letter" in hint.text


def test_a_stopped_quiz_scores_the_answers_given(session):
    reply = session.handle("give me a quiz on flows")
    session.handle(_right(reply))
    skipped = session.handle("I don't know")
    assert skipped.feedback.correct is False and skipped.number == 3 and "the answer is" in skipped.text
    stopped = session.handle("stop")
    assert stopped.done and stopped.summary.score == 1 and stopped.summary.total == 10
    assert len(stopped.summary.revisit) == 1 and "8 not answered" in stopped.text
    assert session.mode is None


def test_an_unknown_topic_lists_the_real_ones(session):
    reply = session.handle("/quiz quantum knitting")
    assert "quantum knitting" in reply.text and "gan" in reply.text and session.mode is None


def test_a_crash_mid_quiz_loses_only_the_answer_being_given(settings, index, session):
    crash = textwrap.dedent(f"""
        import os
        from dataclasses import replace
        from rag_tutor.config import load_settings
        from rag_tutor.study.session import StudySession
        from rag_tutor.study.progress import ProgressStore
        settings = load_settings(env={{}}, index_dir={str(settings.index_dir)!r}, home={str(settings.home)!r})
        s = StudySession(settings, "ada", seed=3)
        reply = s.start_quiz("gan", 6)
        for _ in range(3):
            q = reply.question
            reply = s.handle("ABCD"[q.answer_index] if q.options else q.answer)
        ProgressStore.record_answer = lambda *a, **k: os._exit(9)  # the power goes out while saving answer 4
        q = reply.question
        s.handle("ABCD"[q.answer_index] if q.options else q.answer)
    """)
    done = subprocess.run([sys.executable, "-c", crash], capture_output=True, text=True, timeout=300)
    assert done.returncode == 9, done.stderr
    resumed = session.handle("/quiz")
    assert "Resuming" in resumed.text and resumed.number == 4 and resumed.total == 6
    for _ in range(3):
        resumed = session.handle(_right(resumed))
    assert resumed.done and resumed.summary.score == 6


# ---------------------------------------------------------------- flashcards


def test_review_follows_fsrs_and_serves_due_cards_later(session, clock):
    reply = session.handle("let's review GANs")
    card = reply.card
    assert session.mode == "review" and card.topic == "gan" and "new" in reply.text
    back = session.handle("show")
    assert back.revealed and card.back in back.text and "Source:" in back.text
    rated = session.handle("good")
    reference = fsrs.Scheduler(enable_fuzzing=False)
    expected, _ = reference.review_card(fsrs.Card(card_id=card_id(card.key), due=T0), fsrs.Rating.Good,
                                        review_datetime=T0)
    assert rated.feedback.rating == "good" and rated.feedback.due == expected.due
    assert rated.card is not None and rated.card.key != card.key
    session.handle("stop")
    assert session.handle("/flashcards").text.startswith("No cards are due")
    clock.now = expected.due + timedelta(seconds=1)
    due = session.handle("/flashcards")
    assert due.card.key == card.key and "1 due" in due.text
    easy = session.handle("4")  # a rating without "show" rates the card directly
    assert easy.feedback.rating == "easy"


def test_typed_answers_rate_the_card(session):
    reply = session.handle("/flashcards gan")
    while reply.card.kind != "definition":
        reply = session.handle("show")
        reply = session.handle("easy")
    graded = session.handle(reply.card.answer)
    assert graded.feedback.correct and graded.feedback.rating == "good"


def test_again_brings_the_card_back_in_the_same_review(session):
    reply = session.handle("/flashcards vae")
    total = reply.total
    session.handle("show")
    reply = session.handle("again")
    assert reply.total == total + 1 and reply.feedback.rating == "again"


# ---------------------------------------------------------------- commands and requests


@pytest.mark.parametrize("line", ["What is a GAN?", "Explain the ELBO", "/help", "/new", "/nonsense",
                                  "review how VAEs and GANs differ in their training objectives"])
def test_lines_for_the_tutor_or_the_chat_are_left_alone(session, line):
    assert session.handle(line) is None


@pytest.mark.parametrize("line,mode,topic", [
    ("quiz me on GANs", "quiz", "gan"), ("/quiz generative adversarial networks 3", "quiz", "gan"),
    ("can you quiz me about diffusion models?", "quiz", "diffusion"), ("give me a 4-question quiz on LoRA", "quiz",
                                                                        "adaptation"),
    ("let's review VAEs", "review", "vae"), ("/flashcards variational autoencoders", "review", "vae"),
    ("show me flashcards on transformers", "review", "autoregressive"),
])
def test_plain_requests_and_commands_start_study(session, line, mode, topic):
    reply = session.handle(line)
    assert session.mode == mode
    assert (reply.question or reply.card).topic == topic


def test_progress_and_path_requests(session):
    assert session.handle("show my progress").progress is not None
    path = session.handle("what should I study next?")
    assert [s.topic for s in path.path][:3] == ["intro", "history", "concepts"]
    one = session.handle("/path GANs")
    assert one.path[0].topic == "gan" and "corpus/06-generative-adversarial-networks.md" in one.text
    assert "gan" in session.store.studied()
    assert set(COMMANDS) == {"/quiz", "/flashcards", "/teach", "/progress", "/path"} and all(c in HELP for c in COMMANDS)


# ---------------------------------------------------------------- path, topics, mastery


def test_learning_path_follows_the_course_order(index):
    material = load_material(index)
    path = learning_path(material)
    assert [s.order for s in path] == list(range(1, 21))
    assert "glossary" not in {s.topic for s in path}
    for step in path:
        assert step.source.startswith("corpus/") and step.cards > 0 and step.quiz_items > 0
        assert all(c.source == "corpus/20-resources-and-reading-list.md" for c in step.resources)
    by_topic = {s.topic: s for s in path}
    assert "Foundational papers on VAEs and GANs" in {c.section for c in by_topic["gan"].resources}
    assert "Diffusion and score-based model papers" in {c.section for c in by_topic["diffusion"].resources}


@pytest.mark.parametrize("name,topic", [
    ("GANs", "gan"), ("gan", "gan"), ("generative adversarial networks", "gan"), ("VAE", "vae"),
    ("Variational Autoencoders", "vae"), ("diffusion models", "diffusion"), ("LoRA", "adaptation"),
    ("the history of generative AI", "history"), ("RLHF", "alignment"), ("evaluation metrics", "evaluation"),
    ("quantum knitting", None),
])
def test_topic_names_as_learners_type_them(index, name, topic):
    assert resolve_topic(name, load_material(index)) == topic


def test_mastery_grows_with_study_and_survives_a_restart(settings, index, embedder, session):
    before = {t.topic: t.mastery for t in session.report().topics}
    reply = session.handle("/quiz gan 5")
    while not reply.done:
        reply = session.handle(_right(reply))
    reply = session.handle("/flashcards gan")
    for _ in range(3):
        session.handle("show")
        reply = session.handle("easy")
    after = {t.topic: t for t in session.report().topics}
    assert after["gan"].mastery > before["gan"] == 0.0
    assert after["gan"].quiz_correct == 5 and after["gan"].cards_seen >= 3
    session.close()
    restarted = StudySession(settings, "ada", index=index, embedder=embedder, clock=session.clock)
    again = {t.topic: t for t in restarted.report().topics}
    assert again["gan"].mastery == after["gan"].mastery and again["gan"].cards_seen == after["gan"].cards_seen
    other = StudySession(settings, "bob", index=index, embedder=embedder, clock=session.clock)
    assert {t.topic: t.mastery for t in other.report().topics}["gan"] == 0.0
