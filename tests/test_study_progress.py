"""The SQLite progress store and the FSRS wrapper: transactions, profiles, migrations, damage, two writers."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone

import fsrs
import pytest

from rag_tutor.errors import RagTutorError
from rag_tutor.study import progress
from rag_tutor.config import StudyConfig
from rag_tutor.study.progress import (ProgressCorruptError, ProgressError, ProgressStore, ProgressVersionError,
                                      schema_version)
from rag_tutor.study.scheduler import Scheduler, card_id, parse_rating

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
QUESTION = {"topic": "gan", "concept": "Mode collapse", "kind": "mcq"}


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _execute(path, statement: str, *params) -> None:
    """Change a progress file behind the store's back, as another program would."""
    db = sqlite3.connect(path)
    db.execute(statement, params)
    db.commit()
    db.close()


def _review(store: ProgressStore, scheduler: Scheduler, key: str, rating: fsrs.Rating, now: datetime) -> fsrs.Card:
    stored = store.cards().get(key)
    state = stored.state if stored else scheduler.new_card(key, now)
    done = scheduler.review(state, rating, now)
    store.save_review(key, "gan", done.state, done.log)
    return done.state


def test_scheduling_follows_fsrs_through_the_database(tmp_path):
    """Due dates after each saved review are the ones FSRS itself computes for the same ratings and times."""
    scheduler = Scheduler(StudyConfig(fsrs_fuzzing=False))
    reference = fsrs.Scheduler(enable_fuzzing=False)
    expected = fsrs.Card(card_id=card_id("term:gan"), due=T0)
    now = T0
    for rating in (fsrs.Rating.Good, fsrs.Rating.Good, fsrs.Rating.Again, fsrs.Rating.Good, fsrs.Rating.Easy):
        store = ProgressStore(tmp_path / "p.db", "ada")  # reopened each time: state must survive on disk
        state = _review(store, scheduler, "term:gan", rating, now)
        store.close()
        expected, _ = reference.review_card(expected, rating, review_datetime=now)
        assert state.due == expected.due and state.stability == pytest.approx(expected.stability)
        now = expected.due
    store = ProgressStore(tmp_path / "p.db", "ada")
    assert store.cards()["term:gan"].state.due == expected.due
    assert store.due_keys(expected.due - timedelta(seconds=1)) == []
    assert store.due_keys(expected.due) == ["term:gan"]
    assert store.review_count() == 5 and store.cards()["term:gan"].lapses == 1
    assert expected.due - T0 > timedelta(days=3)  # past the learning steps, intervals are days


def test_ratings_are_read_from_words_and_numbers():
    assert parse_rating("Again") == fsrs.Rating.Again and parse_rating("4") == fsrs.Rating.Easy
    assert parse_rating("good.") == fsrs.Rating.Good and parse_rating("maybe") is None


def test_progress_survives_a_restart(tmp_path):
    store = ProgressStore(tmp_path / "p.db", "ada")
    quiz = store.start_quiz("gan", 7, [QUESTION, QUESTION], T0)
    store.record_answer(quiz, 0, QUESTION, "B", True, T0)
    store.record_answer(quiz, 1, QUESTION, "C", False, T0)
    store.finish_quiz(quiz, T0)
    store.mark_studied("vae", T0)
    store.close()
    again = ProgressStore(tmp_path / "p.db", "ada")
    assert again.attempts(quiz) == [(0, "Mode collapse", "B", True), (1, "Mode collapse", "C", False)]
    [record] = again.recent_quizzes(5)
    assert (record.topic, record.score, record.total) == ("gan", 1, 2)
    assert again.answers_by_topic(20) == {"gan": [False, True]}
    assert set(again.studied()) == {"gan", "vae"}


def test_learners_have_separate_profiles(tmp_path):
    ada = ProgressStore(tmp_path / "p.db", "ada")
    bob = ProgressStore(tmp_path / "p.db", "bob")
    _review(ada, Scheduler(), "term:gan", fsrs.Rating.Good, T0)
    ada.start_quiz("gan", 1, [QUESTION], T0)
    assert bob.cards() == {} and bob.open_quiz() is None
    assert ada.open_quiz() is not None and set(ada.cards()) == {"term:gan"}
    assert ada.learners() == ["ada", "bob"]


def test_an_unfinished_quiz_keeps_every_answer_given(tmp_path):
    store = ProgressStore(tmp_path / "p.db", "ada")
    quiz = store.start_quiz(None, 1, [QUESTION] * 3, T0)
    store.record_answer(quiz, 0, QUESTION, "A", True, T0)
    store.record_answer(quiz, 0, QUESTION, "B", False, T0)  # a replayed answer does not count twice
    saved = ProgressStore(tmp_path / "p.db", "ada").open_quiz()
    assert saved.quiz_id == quiz and saved.answers == {0: True} and len(saved.questions) == 3
    store.start_quiz("vae", 2, [QUESTION], T0)  # a new quiz abandons the old one
    assert store.open_quiz().topic == "vae"


def test_the_most_missed_concepts_are_counted_per_learner(tmp_path):
    store = ProgressStore(tmp_path / "p.db", "ada")
    other = ProgressStore(tmp_path / "p.db", "grace")

    def quiz(s: ProgressStore, answers: list[tuple[str, bool]]) -> None:
        questions = [{"topic": "bread", "concept": c, "kind": "mcq"} for c, _ in answers]
        quiz_id = s.start_quiz("bread", 1, questions, T0)
        for position, (q, (_, correct)) in enumerate(zip(questions, answers)):
            s.record_answer(quiz_id, position, q, "B", correct, T0)

    quiz(store, [("Proofing", False), ("Crumb", False), ("Autolyse", True), ("Lamination", False)])
    quiz(store, [("Proofing", False), ("Crumb", True), ("Autolyse", True), ("Lamination", False)])
    quiz(store, [("Proofing", False), ("Crumb", False)])
    quiz(other, [("Autolyse", False), ("Autolyse", False)])  # another learner's misses are not ada's
    missed = store.most_missed(10)
    assert [(m.concept, m.missed, m.answered) for m in missed] == [
        ("Proofing", 3, 3), ("Crumb", 2, 3), ("Lamination", 2, 2)]  # ties: more answers first; Autolyse: never missed
    assert all(m.topic == "bread" for m in missed)
    assert [m.concept for m in store.most_missed(1)] == ["Proofing"]
    assert [(m.concept, m.missed) for m in other.most_missed(10)] == [("Autolyse", 2)]


def test_bringing_a_card_forward_keeps_its_reviews(tmp_path):
    """A missed quiz question moves a card's due date to now; its reviews, lapses and log stay."""
    scheduler = Scheduler(StudyConfig(fsrs_fuzzing=False))
    store = ProgressStore(tmp_path / "p.db", "ada")
    state = _review(store, scheduler, "term:crumb", fsrs.Rating.Again, T0)
    state = _review(store, scheduler, "term:crumb", fsrs.Rating.Good, T0 + timedelta(minutes=1))
    state = _review(store, scheduler, "term:crumb", fsrs.Rating.Good, T0 + timedelta(minutes=15))
    assert state.due > T0 + timedelta(days=1)
    now = T0 + timedelta(hours=2)
    store.schedule_card("term:crumb", "bread", scheduler.due_now(state, "term:crumb", now))
    card = ProgressStore(tmp_path / "p.db", "ada").cards()["term:crumb"]
    assert card.due == now and (card.reviews, card.lapses) == (3, 1) and store.review_count() == 3
    assert card.state.stability == state.stability and card.state.last_review == state.last_review
    assert store.due_keys(now) == ["term:crumb"]
    assert scheduler.due_now(card.state, "term:crumb", now - timedelta(hours=1)).due == now - timedelta(hours=1)
    fresh = scheduler.due_now(None, "term:proofing", now)  # never reviewed: a new card, due now
    assert fresh.due == now and fresh.last_review is None


def test_a_failed_write_rolls_back(tmp_path):
    store = ProgressStore(tmp_path / "p.db", "ada")
    quiz = store.start_quiz(None, 1, [QUESTION], T0)
    with pytest.raises(sqlite3.IntegrityError):
        store.record_answer(quiz, 0, {"topic": None, "concept": "x", "kind": "mcq"}, "A", True, T0)
    assert store.attempts(quiz) == [] and store.studied() == {}


WRITER = textwrap.dedent("""
    import os, sys, time
    from datetime import datetime, timedelta, timezone
    import fsrs
    from rag_tutor.study.progress import ProgressStore
    from rag_tutor.study.scheduler import Scheduler
    path, learner, go, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    while not os.path.exists(go):
        time.sleep(0.005)
    store = ProgressStore(path, learner)
    shared = ProgressStore(path, "shared")
    scheduler = Scheduler()
    now = datetime(2026, 1, 5, tzinfo=timezone.utc)
    q = {"topic": "gan", "concept": "c", "kind": "mcq"}
    quiz = store.start_quiz("gan", 1, [q] * n, now)
    for i in range(n):
        store.record_answer(quiz, i, q, "A", i % 2 == 0, now)
        for s in (store, shared):
            key = f"fact:{learner}:{i}"
            done = scheduler.review(scheduler.new_card(key, now), fsrs.Rating.Good, now + timedelta(seconds=i))
            s.save_review(key, "gan", done.state, done.log)
    store.finish_quiz(quiz, now)
""")


def test_two_processes_write_at_once_without_corruption(tmp_path):
    path, go, n = tmp_path / "home" / "progress.db", tmp_path / "go", 60
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, str(go), str(n)],
                              stderr=subprocess.PIPE, text=True) for name in ("ada", "bob")]
    time.sleep(0.3)
    go.touch()  # both start together, on a database neither has created yet
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT version FROM schema_version").fetchall() == [(schema_version(),)]
    assert db.execute("SELECT COUNT(*) FROM quiz_attempts").fetchone()[0] == 2 * n
    assert db.execute("SELECT COUNT(*) FROM reviews").fetchone()[0] == 4 * n
    assert db.execute("SELECT COUNT(*) FROM cards").fetchone()[0] == 4 * n
    assert db.execute("SELECT journal_mode FROM pragma_journal_mode").fetchone()[0] == "wal"
    for name in ("ada", "bob"):
        store = ProgressStore(path, name)
        assert store.recent_quizzes(1)[0].score == n // 2
    assert len(ProgressStore(path, "shared").cards()) == 2 * n


def test_a_corrupt_database_is_reported_and_left_alone(tmp_path):
    path = tmp_path / "progress.db"
    path.write_bytes(b"this is not a database, just some bytes" * 200)
    before = _digest(path)
    with pytest.raises(ProgressCorruptError) as err:
        ProgressStore(path, "ada")
    assert isinstance(err.value, RagTutorError) and str(path) in str(err.value)
    assert "\n" not in str(err.value) and str(err.value).count(". ") == 0
    assert _digest(path) == before
    assert list(tmp_path.iterdir()) == [path]  # no backup, no new file: nothing was touched


def test_a_foreign_sqlite_file_is_not_taken_over(tmp_path):
    path = tmp_path / "progress.db"
    _execute(path, "CREATE TABLE notes (body TEXT)")
    before = _digest(path)
    with pytest.raises(ProgressCorruptError, match="not a rag-tutor progress file"):
        ProgressStore(path, "ada")
    assert _digest(path) == before


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "progress.db"
    ProgressStore(path, "ada").close()
    _execute(path, "UPDATE schema_version SET version = ?", schema_version() + 5)
    before = _digest(path)
    with pytest.raises(ProgressVersionError, match="newer than this rag-tutor"):
        ProgressStore(path, "ada")
    assert _digest(path) == before


def test_migrating_keeps_a_backup_first(tmp_path, monkeypatch):
    path = tmp_path / "progress.db"
    store = ProgressStore(path, "ada")
    _review(store, Scheduler(), "term:gan", fsrs.Rating.Good, T0)
    store.close()
    before = schema_version()
    monkeypatch.setattr(progress, "MIGRATIONS", [*progress.MIGRATIONS, ("ALTER TABLE learners ADD COLUMN note TEXT",)])
    migrated = ProgressStore(path, "ada")
    assert set(migrated.cards()) == {"term:gan"}
    assert migrated.conn.execute("SELECT version FROM schema_version").fetchone()[0] == len(progress.MIGRATIONS)
    [backup] = tmp_path.glob(f"progress.db.v{before}-*.bak")
    old = sqlite3.connect(backup)
    assert old.execute("SELECT version FROM schema_version").fetchone()[0] == before
    assert old.execute("SELECT card_key FROM cards").fetchall() == [("term:gan",)]


def test_bad_learner_names_are_refused(tmp_path):
    with pytest.raises(ProgressError, match="--learner"):
        ProgressStore(tmp_path / "p.db", "   ")
