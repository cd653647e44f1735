"""Quiz feedback that teaches, on a small hand-made course (no models): a wrong choice is explained with its own
source, and a missed concept's flashcard comes due at once with its FSRS history kept."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import fsrs
import numpy as np
import pytest

from rag_tutor.chunking import Chunk
from rag_tutor.config import Settings, StudyConfig
from rag_tutor.study.grading import LETTERS
from rag_tutor.study.material import Citation, Material, Term, Topic, aliases, normalise
from rag_tutor.study.quiz import MCQ, option_term
from rag_tutor.study.session import StudySession
from clocks import Clock

T0 = datetime(2026, 4, 7, 9, 0, tzinfo=timezone.utc)
SOURCE, TITLE = "corpus/bread.md", "Bread basics"
GLOSSARY = {  # a small course of its own: five terms, none naming another
    "Sourdough starter": "A sourdough starter is a culture of wild yeast and bacteria kept alive in flour and water.",
    "Proofing": "Proofing is the last rise of shaped dough before it goes into the oven.",
    "Lamination": "Lamination is folding butter into dough again and again to build thin layers.",
    "Autolyse": "Autolyse is a rest of flour and water together before salt is added.",
    "Crumb": "Crumb is the pattern of holes inside a baked loaf.",
}


def bread_course() -> Material:
    chunks, terms = [], []
    for row, (name, definition) in enumerate(GLOSSARY.items()):
        chunk = Chunk(f"{SOURCE}#{row}", SOURCE, TITLE, name, "bread", definition)
        chunks.append(chunk)
        terms.append(Term(name, definition, "bread", [], Citation.from_chunk(chunk), row, aliases(name)))
    topic = Topic("bread", TITLE, 1, "How bread is made.", SOURCE)
    return Material([topic], terms, [], chunks, np.eye(len(terms), dtype="float32"), ["bread"] * len(terms))


@pytest.fixture
def clock():
    return Clock(T0)


@pytest.fixture
def make_session(tmp_path, clock):
    made = []

    def make(learner: str = "ada") -> StudySession:
        s = StudySession(Settings(home=tmp_path / "home"), learner, config=StudyConfig(fsrs_fuzzing=False),
                         seed=3, clock=clock, material=bread_course())
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def _wrong_letter(q) -> str:
    return LETTERS[(q.answer_index + 1) % len(q.options)]


def _miss_the_first_mcq(session: StudySession, seed: int):
    """Start a quiz, answer right until a multiple-choice question, answer that one wrongly; (question, reply)."""
    reply = session.start_quiz("bread", 5, seed=seed)
    while reply.question is not None:
        q = reply.question
        if q.kind == MCQ:
            return q, session.handle(_wrong_letter(q))
        reply = session.handle(LETTERS[q.answer_index] if q.options else q.answer)
    pytest.skip("this seed made no multiple-choice question")


def test_a_wrong_choice_is_explained_with_its_own_source_then_the_right_one(make_session):
    session, seen = make_session(), set()
    for seed in range(12):
        q, reply = _miss_the_first_mcq(session, seed)
        fb = reply.feedback
        chosen = q.options[(q.answer_index + 1) % len(q.options)]
        term, is_definition = option_term(session.material.terms, chosen)
        seen.add(is_definition)
        assert not fb.correct and fb.given == chosen
        assert fb.chosen_citation.section == term.name and fb.chosen_citation.text == GLOSSARY[term.name]
        assert fb.chosen_evidence in fb.chosen_citation.text
        text = reply.text
        assert f"Why not {_wrong_letter(q)}: " in text and term.name in fb.chosen_explanation
        if is_definition:  # the option was a definition: say whose, and that it is not the asked term's
            assert f"the definition of {term.name}, not of {q.concept}" in fb.chosen_explanation
        else:  # the option was a term: say what it really is, in its definition's words
            assert normalise(GLOSSARY[term.name].split(" is ", 1)[1]) in normalise(fb.chosen_explanation)
        own_source = f"Source: *{TITLE} › {term.name}* ({SOURCE})"
        right_source = f"Source: *{TITLE} › {q.concept}* ({SOURCE})"
        assert text.index(own_source) < text.index(f"Why {LETTERS[q.answer_index]}: ") < text.index(right_source)
        assert f"**{LETTERS[q.answer_index]}. {q.answer.rstrip('.')}**." in text and q.explanation in text
        if seen == {True, False}:
            return
    pytest.fail(f"twelve seeds gave only one kind of multiple-choice question: {seen}")


def test_a_choice_that_is_no_course_term_says_only_what_is_right(make_session):
    session = make_session()
    reply = session.start_quiz("bread", 5, seed=1)
    q = reply.question
    while q.options:  # a short answer: type something that names no term
        reply = session.handle(LETTERS[q.answer_index])
        q = reply.question
        if q is None:
            pytest.skip("no short-answer question in this quiz")
    reply = session.handle("rye flour")
    fb = reply.feedback
    assert not fb.correct and fb.chosen_explanation == "" and fb.chosen_citation is None
    assert "Why not" not in reply.text and q.explanation in reply.text and "Source:" in reply.text


def test_a_typed_answer_naming_another_term_is_explained(make_session):
    session = make_session()
    for seed in range(12):
        reply = session.start_quiz("bread", 5, seed=seed)
        while reply.question is not None and reply.question.options:
            reply = session.handle(LETTERS[reply.question.answer_index])
        if reply.question is None:
            continue
        q = reply.question
        other = next(name for name in GLOSSARY if name != q.answer)
        reply = session.handle(other)
        assert f"Why not *{other}*: " in reply.text and reply.feedback.chosen_citation.section == other
        return
    pytest.skip("no short-answer question in twelve seeds")


def test_a_missed_concept_card_is_due_now_and_keeps_its_history(make_session, clock):
    session = make_session()
    store, scheduler = session.store, session.scheduler
    # every term card reviewed twice an hour ago: scheduled days ahead, with a history
    for name in GLOSSARY:
        key = f"term:{normalise(name)}"
        state = scheduler.new_card(key, T0 - timedelta(hours=1))
        for minutes in (60, 45):
            done = scheduler.review(state, fsrs.Rating.Good, T0 - timedelta(minutes=minutes))
            store.save_review(key, "bread", done.state, done.log)
            state = done.state
    before = store.cards()
    assert all(c.due > T0 + timedelta(days=1) for c in before.values())
    reviews = store.review_count()

    q, reply = _miss_the_first_mcq(session, seed=2)
    key = f"term:{normalise(q.concept)}"
    after = store.cards()
    assert after[key].due == T0 and reply.feedback.due == T0
    assert after[key].reviews == before[key].reviews == 2 and after[key].lapses == before[key].lapses
    assert after[key].state.stability == before[key].state.stability
    assert after[key].state.last_review == before[key].state.last_review
    assert store.review_count() == reviews  # bringing it forward is not a review
    assert all(after[k].due == before[k].due for k in after if k != key)  # only the missed concept moves
    assert "is in your review now" in reply.text

    session.stop()
    review = session.start_review()  # no topic: the due cards of the course
    assert review.card is not None and review.card.key == key and "1 due" in review.text


def test_a_missed_concept_never_studied_joins_the_review(make_session):
    session = make_session("grace")
    assert session.store.cards() == {}
    q, reply = _miss_the_first_mcq(session, seed=4)
    stored = session.store.cards()
    key = f"term:{normalise(q.concept)}"
    assert list(stored) == [key] and stored[key].due == T0 and stored[key].reviews == 0
    session.stop()
    assert session.start_review().card.key == key


def test_a_right_answer_leaves_the_cards_alone(make_session):
    session = make_session()
    reply = session.start_quiz("bread", 3, seed=0)
    while reply.question is not None:
        q = reply.question
        reply = session.handle(LETTERS[q.answer_index] if q.options else q.answer)
        assert reply.feedback.correct and reply.feedback.due is None
    assert session.store.cards() == {}


def test_progress_in_the_chat_lists_the_most_missed_concepts(make_session):
    session = make_session()
    assert "Most often missed" not in session.handle("/progress").text
    q, _ = _miss_the_first_mcq(session, seed=2)
    session.stop()
    q2, _ = _miss_the_first_mcq(session, seed=2)  # the same seed: the same concept missed twice
    assert q2.concept == q.concept
    session.stop()
    assert f"Most often missed in quizzes: {q.concept} (2 of 2)" in session.handle("/progress").text
