"""Saved progress in SQLite: learners, quiz attempts, card states and reviews, topics studied, conversations.

One file under ``Settings.home`` holds every learner's profile. WAL mode and a busy
timeout let a chat, a CLI review and the UI write at the same time; every write is
one short ``BEGIN IMMEDIATE`` transaction, so a crash loses at most the answer being
given. The schema has a version and a list of migrations; an existing database is
copied to a backup file before it is migrated, and a newer or unreadable database
is reported and left untouched.
"""

from __future__ import annotations

import errno
import json
import sqlite3
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import fsrs

from ..errors import RagTutorError

# One tuple of statements per schema version; append, never edit a released one.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE learners (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at REAL NOT NULL)""",
        """CREATE TABLE quizzes (id INTEGER PRIMARY KEY, learner_id INTEGER NOT NULL REFERENCES learners(id),
             topic TEXT, seed INTEGER NOT NULL, questions TEXT NOT NULL, total INTEGER NOT NULL,
             status TEXT NOT NULL DEFAULT 'open', started_at REAL NOT NULL, finished_at REAL)""",
        """CREATE TABLE quiz_attempts (id INTEGER PRIMARY KEY, quiz_id INTEGER NOT NULL REFERENCES quizzes(id),
             learner_id INTEGER NOT NULL REFERENCES learners(id), position INTEGER NOT NULL, topic TEXT NOT NULL,
             concept TEXT NOT NULL, kind TEXT NOT NULL, given TEXT NOT NULL, correct INTEGER NOT NULL,
             answered_at REAL NOT NULL, UNIQUE (quiz_id, position))""",
        """CREATE INDEX quiz_attempts_by_topic ON quiz_attempts (learner_id, topic, answered_at)""",
        """CREATE TABLE cards (learner_id INTEGER NOT NULL REFERENCES learners(id), card_key TEXT NOT NULL,
             topic TEXT NOT NULL, fsrs TEXT NOT NULL, due REAL NOT NULL, reviews INTEGER NOT NULL,
             lapses INTEGER NOT NULL, PRIMARY KEY (learner_id, card_key))""",
        """CREATE INDEX cards_by_due ON cards (learner_id, due)""",
        """CREATE TABLE reviews (id INTEGER PRIMARY KEY, learner_id INTEGER NOT NULL REFERENCES learners(id),
             card_key TEXT NOT NULL, rating INTEGER NOT NULL, reviewed_at REAL NOT NULL, due_after REAL NOT NULL,
             log TEXT NOT NULL)""",
        """CREATE TABLE topics_studied (learner_id INTEGER NOT NULL REFERENCES learners(id), topic TEXT NOT NULL,
             first_at REAL NOT NULL, last_at REAL NOT NULL, PRIMARY KEY (learner_id, topic))""",
    ),
    (  # 2: saved conversations (rag_tutor/conversations.py)
        """CREATE TABLE conversations (id INTEGER PRIMARY KEY, learner_id INTEGER NOT NULL REFERENCES learners(id),
             title TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, updated_at REAL NOT NULL,
             state TEXT NOT NULL DEFAULT '{}')""",
        """CREATE INDEX conversations_by_learner ON conversations (learner_id, updated_at)""",
        """CREATE TABLE turns (conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
             position INTEGER NOT NULL, role TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL,
             data TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (conversation_id, position))""",
    ),
]


class ProgressError(RagTutorError):
    exit_code = 8


class ProgressCorruptError(ProgressError):
    """The file is not a readable rag-tutor progress database."""


class ProgressVersionError(ProgressError):
    """The database was written by a newer rag-tutor."""


class ProgressStorageError(ProgressError):
    """The folder holding the database is read-only or full."""


# SQLite's names for a read-only or full disk, and for I/O failures (extended codes start with these).
_STORAGE_ERRORS = ("SQLITE_READONLY", "SQLITE_FULL", "SQLITE_CANTOPEN", "SQLITE_IOERR")


class ProgressBusyError(ProgressError):
    """Another process held the database for longer than the busy timeout."""


@dataclass
class StoredCard:
    key: str
    topic: str
    state: fsrs.Card
    reviews: int
    lapses: int

    @property
    def due(self) -> datetime:
        return self.state.due


@dataclass
class OpenQuiz:
    """A quiz that was started and not finished: its questions and the answers already given."""

    quiz_id: int
    topic: str | None
    questions: list[dict]
    answers: dict[int, bool] = field(default_factory=dict)  # position -> correct


@dataclass
class MissedConcept:
    concept: str
    topic: str
    missed: int  # wrong (or skipped) quiz answers about it
    answered: int  # all quiz answers about it


@dataclass
class QuizRecord:
    topic: str | None
    score: int
    total: int
    finished_at: datetime


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def schema_version() -> int:
    return len(MIGRATIONS)


class ProgressStore:
    """One learner's view of the progress database at ``path``."""

    def __init__(self, path: Path, learner: str, busy_timeout_ms: int = 10_000) -> None:
        name = " ".join((learner or "").split())
        if not name or len(name) > 64:
            raise ProgressError("a learner name must be 1 to 64 characters; pass one with --learner NAME")
        self.path = Path(path)
        self.learner = name
        self.busy_timeout_ms = busy_timeout_ms
        self.conn = self._open()
        self.learner_id = self._learner_id(name)

    # ------------------------------------------------------------ opening and migrating

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProgressError(f"cannot create the progress folder {self.path.parent} ({exc.strerror}); "
                                "set RAG_TUTOR_HOME to a writable folder") from None
        try:
            conn = sqlite3.connect(self.path, timeout=self.busy_timeout_ms / 1000, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._storage_error(exc) from None
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            if conn.execute("PRAGMA quick_check(1)").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("quick_check failed")
            self._check_version(conn)  # before anything writes to the file
            self._set_wal(conn)
            conn.execute("PRAGMA foreign_keys = ON")
            self._migrate(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            if getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED"):
                raise self._busy() from None
            if self._folder_problem() or getattr(exc, "sqlite_errorname", "").startswith(_STORAGE_ERRORS):
                raise self._storage_error(exc) from None
            raise ProgressCorruptError(
                f"the progress database {self.path} is unreadable ({exc}); it was left untouched: "
                "move it aside to start afresh or restore a backup"
            ) from None
        except ProgressError:
            conn.close()
            raise
        return conn

    def _folder_problem(self) -> str:
        """Why nothing can be written next to the database ("" if a file can be): a probe, since permission bits
        say nothing of a read-only filesystem, and nothing to root."""
        try:
            with tempfile.TemporaryFile(dir=self.path.parent):
                pass
        except OSError as exc:
            return {errno.EROFS: "is on a read-only filesystem", errno.ENOSPC: "is on a full disk",
                    errno.EACCES: "is not writable", errno.EPERM: "is not writable",
                    errno.EDQUOT: "is over its disk quota"}.get(exc.errno, f"cannot be written ({exc.strerror})")
        return ""

    def _storage_error(self, exc: sqlite3.Error) -> ProgressError:
        """A read-only or full disk, in one line that names the folder; the database is left as it is."""
        problem = self._folder_problem()
        if not problem:
            name = getattr(exc, "sqlite_errorname", "")  # extended codes: SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED
            problem = next((text for prefix, text in (("SQLITE_FULL", "is on a full disk"),
                                                      ("SQLITE_READONLY", "is read-only"),
                                                      ("SQLITE_IOERR", "had a disk error")) if name.startswith(prefix)),
                           f"could not be used ({exc})")
        return ProgressStorageError(f"the learner data folder {self.path.parent} {problem}; nothing was changed: "
                                    "free space or set RAG_TUTOR_HOME to a writable folder")

    def _busy(self) -> ProgressBusyError:
        return ProgressBusyError(f"another rag-tutor process kept {self.path} locked for "
                                 f"{self.busy_timeout_ms / 1000:g} s; try again")

    def _set_wal(self, conn: sqlite3.Connection) -> None:
        # Switching to WAL needs a moment of exclusive access, and SQLite does not wait for it: retry.
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorname", "") != "SQLITE_BUSY" or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @staticmethod
    def _version(conn: sqlite3.Connection) -> int:
        # The version lives in the schema_version table, never in PRAGMA user_version: another tool setting
        # user_version (even high) changes nothing here, and a newer schema is recognised by this table alone.
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "schema_version" not in tables:
            if tables:
                raise sqlite3.DatabaseError("it has tables but no schema_version: not a rag-tutor progress file")
            return 0
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        if row is None:
            raise sqlite3.DatabaseError("its schema_version table is empty")
        return int(row[0])

    def _check_version(self, conn: sqlite3.Connection) -> None:
        version, target = self._version(conn), schema_version()
        if version > target:
            raise ProgressVersionError(
                f"the progress database {self.path} has schema version {version}, newer than this rag-tutor "
                f"understands ({target}); upgrade rag-tutor or set RAG_TUTOR_HOME to another folder"
            )

    def _migrate(self, conn: sqlite3.Connection) -> None:
        target = schema_version()
        if self._version(conn) == target:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._version(conn)  # another process may have migrated while we waited for the lock
            if version > target:
                raise ProgressVersionError(f"the progress database {self.path} was just upgraded by a newer "
                                           "rag-tutor; upgrade this one too")
            if 0 < version < target:
                self._backup(version)
            if version == 0:
                conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                conn.execute("INSERT INTO schema_version VALUES (0)")
            for statements in MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute("UPDATE schema_version SET version = ?", (target,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _backup(self, version: int) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        backup = self.path.with_name(f"{self.path.name}.v{version}-{stamp}.bak")
        # A second connection reads the last committed state: SQLite refuses to back up through a
        # connection inside a write transaction, and our lock keeps other writers out meanwhile.
        source, target = sqlite3.connect(self.path), sqlite3.connect(backup)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        return backup

    def close(self) -> None:
        self.conn.close()

    # ------------------------------------------------------------ transactions

    def write(self):
        """One short write transaction (``with store.write() as db:``), for the modules that keep their own
        tables in this database (saved conversations)."""
        return self._write()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED"):
                raise self._busy() from None
            if getattr(exc, "sqlite_errorname", "").startswith(_STORAGE_ERRORS):
                raise self._storage_error(exc) from None
            raise
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if getattr(exc, "sqlite_errorname", "").startswith(_STORAGE_ERRORS):
                raise self._storage_error(exc) from None
            raise
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    def _learner_id(self, name: str) -> int:
        row = self.conn.execute("SELECT id FROM learners WHERE name = ?", (name,)).fetchone()
        if row:
            return int(row[0])
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO learners (name, created_at) VALUES (?, ?)", (name, time.time()))
        return int(self.conn.execute("SELECT id FROM learners WHERE name = ?", (name,)).fetchone()[0])

    def learners(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM learners ORDER BY name")]

    # ------------------------------------------------------------ quizzes

    def start_quiz(self, topic: str | None, seed: int, questions: list[dict], now: datetime) -> int:
        """Save a new quiz (its questions, so it can be resumed); older unfinished quizzes are abandoned."""
        with self._write() as db:
            db.execute("UPDATE quizzes SET status = 'abandoned' WHERE learner_id = ? AND status = 'open'",
                       (self.learner_id,))
            cur = db.execute(
                "INSERT INTO quizzes (learner_id, topic, seed, questions, total, started_at) VALUES (?,?,?,?,?,?)",
                (self.learner_id, topic, seed, json.dumps(questions), len(questions), _ts(now)))
            return int(cur.lastrowid)

    def record_answer(self, quiz_id: int, position: int, question: dict, given: str, correct: bool,
                      now: datetime) -> None:
        """One graded answer, committed at once; answering the same position twice keeps the first."""
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO quiz_attempts (quiz_id, learner_id, position, topic, concept, kind, given, "
                "correct, answered_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (quiz_id, self.learner_id, position, question["topic"], question["concept"], question["kind"],
                 given, int(correct), _ts(now)))
            self._studied(db, question["topic"], now)

    def finish_quiz(self, quiz_id: int, now: datetime) -> None:
        with self._write() as db:
            db.execute("UPDATE quizzes SET status = 'finished', finished_at = ? WHERE id = ? AND learner_id = ?",
                       (_ts(now), quiz_id, self.learner_id))

    def open_quiz(self) -> OpenQuiz | None:
        """The latest unfinished quiz, with the answers already recorded."""
        row = self.conn.execute(
            "SELECT id, topic, questions FROM quizzes WHERE learner_id = ? AND status = 'open' "
            "ORDER BY started_at DESC, id DESC LIMIT 1", (self.learner_id,)).fetchone()
        if row is None:
            return None
        answers = {int(p): bool(c) for p, c in self.conn.execute(
            "SELECT position, correct FROM quiz_attempts WHERE quiz_id = ?", (row[0],))}
        return OpenQuiz(int(row[0]), row[1], json.loads(row[2]), answers)

    def attempts(self, quiz_id: int) -> list[tuple[int, str, str, bool]]:
        """(position, concept, given, correct) of one quiz, in question order."""
        return [(int(p), c, g, bool(ok)) for p, c, g, ok in self.conn.execute(
            "SELECT position, concept, given, correct FROM quiz_attempts WHERE quiz_id = ? ORDER BY position",
            (quiz_id,))]

    def recent_quizzes(self, n: int) -> list[QuizRecord]:
        rows = self.conn.execute(
            "SELECT q.topic, COALESCE(SUM(a.correct), 0), q.total, q.finished_at FROM quizzes q "
            "LEFT JOIN quiz_attempts a ON a.quiz_id = q.id WHERE q.learner_id = ? AND q.status = 'finished' "
            "GROUP BY q.id ORDER BY q.finished_at DESC, q.id DESC LIMIT ?", (self.learner_id, n))
        return [QuizRecord(t, int(s), int(total), _dt(f)) for t, s, total, f in rows]

    def answers_by_topic(self, window: int) -> dict[str, list[bool]]:
        """The latest ``window`` quiz answers per topic, newest first."""
        out: dict[str, list[bool]] = {}
        for topic, correct in self.conn.execute(
                "SELECT topic, correct FROM quiz_attempts WHERE learner_id = ? ORDER BY answered_at DESC, id DESC",
                (self.learner_id,)):
            if len(out.setdefault(topic, [])) < window:
                out[topic].append(bool(correct))
        return out

    def most_missed(self, n: int) -> list[MissedConcept]:
        """The ``n`` concepts answered wrongly most often, most first (ties: most answers, then by name)."""
        return [MissedConcept(c, t, int(m), int(a)) for c, t, m, a in self.conn.execute(
            "SELECT concept, topic, SUM(1 - correct) AS missed, COUNT(*) AS answered FROM quiz_attempts "
            "WHERE learner_id = ? GROUP BY concept, topic HAVING missed > 0 "
            "ORDER BY missed DESC, answered DESC, concept LIMIT ?", (self.learner_id, n))]

    # ------------------------------------------------------------ cards

    def cards(self) -> dict[str, StoredCard]:
        """Every card this learner has reviewed, by key."""
        return {k: StoredCard(k, t, fsrs.Card.from_json(s), int(r), int(lapses)) for k, t, s, r, lapses in
                self.conn.execute("SELECT card_key, topic, fsrs, reviews, lapses FROM cards WHERE learner_id = ?",
                                  (self.learner_id,))}

    def due_keys(self, now: datetime) -> list[str]:
        """Keys of the reviewed cards due at ``now``, most overdue first."""
        return [r[0] for r in self.conn.execute(
            "SELECT card_key FROM cards WHERE learner_id = ? AND due <= ? ORDER BY due, card_key",
            (self.learner_id, _ts(now)))]

    def save_review(self, key: str, topic: str, state: fsrs.Card, log: fsrs.ReviewLog) -> None:
        """The card's new FSRS state and the review log, in one transaction."""
        lapse = int(log.rating == fsrs.Rating.Again)
        with self._write() as db:
            db.execute(
                "INSERT INTO cards (learner_id, card_key, topic, fsrs, due, reviews, lapses) VALUES (?,?,?,?,?,1,?) "
                "ON CONFLICT (learner_id, card_key) DO UPDATE SET topic = excluded.topic, fsrs = excluded.fsrs, "
                "due = excluded.due, reviews = reviews + 1, lapses = lapses + excluded.lapses",
                (self.learner_id, key, topic, state.to_json(), _ts(state.due), lapse))
            db.execute("INSERT INTO reviews (learner_id, card_key, rating, reviewed_at, due_after, log) "
                       "VALUES (?,?,?,?,?,?)", (self.learner_id, key, int(log.rating), _ts(log.review_datetime),
                                                _ts(state.due), log.to_json()))
            self._studied(db, topic, log.review_datetime)

    def schedule_card(self, key: str, topic: str, state: fsrs.Card) -> None:
        """Set a card's FSRS state without a review (a missed quiz question brings it forward): its reviews,
        lapses and review log stay as they were; a card not stored yet is added with none."""
        with self._write() as db:
            db.execute(
                "INSERT INTO cards (learner_id, card_key, topic, fsrs, due, reviews, lapses) VALUES (?,?,?,?,?,0,0) "
                "ON CONFLICT (learner_id, card_key) DO UPDATE SET fsrs = excluded.fsrs, due = excluded.due",
                (self.learner_id, key, topic, state.to_json(), _ts(state.due)))

    def review_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM reviews WHERE learner_id = ?",
                                     (self.learner_id,)).fetchone()[0])

    # ------------------------------------------------------------ topics

    def _studied(self, db: sqlite3.Connection, topic: str, now: datetime) -> None:
        db.execute("INSERT INTO topics_studied (learner_id, topic, first_at, last_at) VALUES (?,?,?,?) "
                   "ON CONFLICT (learner_id, topic) DO UPDATE SET last_at = excluded.last_at",
                   (self.learner_id, topic, _ts(now), _ts(now)))

    def mark_studied(self, topic: str, now: datetime) -> None:
        """The learner opened a topic (its document, path entry, cards or quiz)."""
        with self._write() as db:
            self._studied(db, topic, now)

    def studied(self) -> dict[str, datetime]:
        """Topic -> when it was last studied."""
        return {t: _dt(last) for t, last in self.conn.execute(
            "SELECT topic, last_at FROM topics_studied WHERE learner_id = ?", (self.learner_id,))}


def open_store(home: Path, learner: str, db_name: str = "progress.db", busy_timeout_ms: int = 10_000) -> ProgressStore:
    """The progress store under a user data folder (``Settings.home``)."""
    return ProgressStore(Path(home) / db_name, learner, busy_timeout_ms)
