"""Saved conversations: every turn of a learner's chats, kept in the learner database.

The terminal chat and the app write the same two tables (migration 2 in study/progress.py). A conversation has
a title (its first question), dates, and a state: the questions a follow-up may point back to and the quiz or
review it was in. A turn is who spoke, what kind of turn it is (what the app draws), its text as Markdown (what
the terminal prints), and the objects it is drawn from: an Answer with its citations and sources, a quiz
question with its grade, a flashcard. Objects are stored as tagged JSON of a fixed list of dataclasses, never
pickled, so a learner file cannot run code; a turn that no longer decodes comes back as its text.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .study.progress import ProgressStore

TITLE_CHARS = 80  # a conversation's title: its first question, cut to this length


@dataclass
class Turn:
    role: str  # "user" or "assistant"
    kind: str  # "text", "answer", "study", "quiz", "card" or "error": how the app draws it
    text: str  # what was said, as Markdown: the question, the answer's text, the quiz question...
    data: dict = field(default_factory=dict)  # what it is drawn from: {"answer": Answer}, {"question": ...}
    at: datetime | None = None  # when it was saved


@dataclass
class ChatSummary:
    """One line of the list of past chats."""

    id: int
    title: str
    created_at: datetime
    updated_at: datetime
    turns: int


@dataclass
class SavedChat:
    id: int
    title: str
    created_at: datetime
    updated_at: datetime
    turns: list[Turn]
    history: list[str]  # the learner's earlier questions, oldest first (what follow-ups point back to)
    study: dict | None  # the quiz or review it was in (StudySession.snapshot), if any


# ---------------------------------------------------------------- tagged JSON


def _types() -> dict[str, type]:
    """The dataclasses a turn may hold, by a stable name (imported late: the store needs no model code)."""
    from .answer import Answer, Citation
    from .retrieval import Passage
    from .study.cards import Card
    from .study.material import Citation as Source
    from .study.quiz import QuizQuestion
    from .study.session import Feedback

    return {"Answer": Answer, "Citation": Citation, "Passage": Passage, "Card": Card, "Source": Source,
            "QuizQuestion": QuizQuestion, "Feedback": Feedback}


def encode(value):
    """A value as JSON-ready data; dataclasses, tuples and datetimes are tagged with "$"."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, datetime):
        return {"$": "datetime", "iso": value.isoformat()}
    if isinstance(value, tuple):
        return {"$": "tuple", "items": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        items = {str(k): encode(v) for k, v in value.items()}
        return {"$": "dict", "items": items} if "$" in items else items
    if dataclasses.is_dataclass(value):
        name = next((n for n, cls in _types().items() if type(value) is cls), None)
        if name is not None:
            return {"$": name, **{f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    raise TypeError(f"a saved turn cannot hold a {type(value).__name__}")


def decode(data, types: dict[str, type] | None = None):
    """The inverse of ``encode``; raises ValueError for a type this version does not know."""
    if isinstance(data, list):
        return [decode(v, types) for v in data]
    if not isinstance(data, dict):
        return data
    tag = data.get("$")
    if tag is None:
        return {k: decode(v, types) for k, v in data.items()}
    if tag == "datetime":
        return datetime.fromisoformat(data["iso"])
    if tag == "tuple":
        return tuple(decode(v, types) for v in data["items"])
    if tag == "dict":
        return {k: decode(v, types) for k, v in data["items"].items()}
    types = types or _types()
    cls = types.get(tag)
    if cls is None:
        raise ValueError(f"unknown saved type {tag!r}")
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    try:
        return cls(**{k: decode(v, types) for k, v in data.items() if k in names})
    except TypeError as exc:  # a field this version requires is missing
        raise ValueError(f"a saved {tag} no longer fits: {exc}") from None


# ---------------------------------------------------------------- the store


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def title_of(line: str) -> str:
    """A chat's title from a learner line: the question itself, whitespace collapsed and cut."""
    text = " ".join(line.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


class ConversationStore:
    """One learner's saved chats, in the same database (and transactions) as their progress."""

    def __init__(self, progress: ProgressStore) -> None:
        self.progress = progress

    @property
    def _db(self):
        return self.progress.conn

    def _owned(self, chat_id: int) -> bool:
        return self._db.execute("SELECT 1 FROM conversations WHERE id = ? AND learner_id = ?",
                                (chat_id, self.progress.learner_id)).fetchone() is not None

    def create(self) -> int:
        """A new, empty conversation; it is listed once it has a turn."""
        now = time.time()
        with self.progress.write() as db:
            cur = db.execute("INSERT INTO conversations (learner_id, created_at, updated_at) VALUES (?,?,?)",
                             (self.progress.learner_id, now, now))
            return int(cur.lastrowid)

    def append(self, chat_id: int, turn: Turn) -> int:
        """Add a turn at the end; returns its position (0-based)."""
        row = self._db.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM turns WHERE conversation_id = ?",
                               (chat_id,)).fetchone()
        self.put(chat_id, int(row[0]), turn)
        return int(row[0])

    def put(self, chat_id: int, position: int, turn: Turn) -> None:
        """Save the turn at ``position``, replacing what was there (the app grades a quiz question in place)."""
        data = json.dumps(encode(turn.data), ensure_ascii=False)
        now = time.time()
        with self.progress.write() as db:
            if not self._owned(chat_id):
                raise KeyError(f"conversation {chat_id} is not {self.progress.learner}'s")
            db.execute("INSERT INTO turns (conversation_id, position, role, kind, text, data, at) "
                       "VALUES (?,?,?,?,?,?,?) ON CONFLICT (conversation_id, position) DO UPDATE SET role = excluded.role, "
                       "kind = excluded.kind, text = excluded.text, data = excluded.data",
                       (chat_id, position, turn.role, turn.kind, turn.text, data, now))
            db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, chat_id))
            if turn.role == "user" and turn.text.strip() and not turn.text.lstrip().startswith("/"):
                db.execute("UPDATE conversations SET title = ? WHERE id = ? AND title = ''",
                           (title_of(turn.text), chat_id))

    def truncate(self, chat_id: int, length: int) -> None:
        """Forget the turns from ``length`` on."""
        with self.progress.write() as db:
            db.execute("DELETE FROM turns WHERE conversation_id = ? AND position >= ? AND conversation_id IN "
                       "(SELECT id FROM conversations WHERE learner_id = ?)",
                       (chat_id, length, self.progress.learner_id))

    def save_state(self, chat_id: int, history: list[str], study: dict | None) -> None:
        """What the conversation needs to go on: the questions follow-ups point back to, the quiz or review."""
        state = json.dumps({"history": list(history), "study": study}, ensure_ascii=False)
        with self.progress.write() as db:
            db.execute("UPDATE conversations SET state = ? WHERE id = ? AND learner_id = ?",
                       (state, chat_id, self.progress.learner_id))

    def list(self, limit: int = 50) -> list[ChatSummary]:
        """The learner's chats that have turns, most recently used first."""
        rows = self._db.execute(
            "SELECT c.id, c.title, c.created_at, c.updated_at, COUNT(t.position), "
            "(SELECT text FROM turns f WHERE f.conversation_id = c.id AND f.role = 'user' ORDER BY position LIMIT 1) "
            "FROM conversations c JOIN turns t ON t.conversation_id = c.id WHERE c.learner_id = ? "
            "GROUP BY c.id ORDER BY c.updated_at DESC, c.id DESC LIMIT ?", (self.progress.learner_id, limit))
        return [ChatSummary(int(i), title or title_of(first or "") or "New chat", _dt(c), _dt(u), int(n))
                for i, title, c, u, n, first in rows]

    def load(self, chat_id: int) -> SavedChat | None:
        """One chat with all its turns, or None if the learner has no such chat."""
        row = self._db.execute("SELECT id, title, created_at, updated_at, state FROM conversations "
                               "WHERE id = ? AND learner_id = ?", (chat_id, self.progress.learner_id)).fetchone()
        if row is None:
            return None
        types = _types()
        turns = []
        for role, kind, text, data, at in self._db.execute(
                "SELECT role, kind, text, data, at FROM turns WHERE conversation_id = ? ORDER BY position",
                (chat_id,)):
            try:
                decoded = decode(json.loads(data), types)
            except (ValueError, KeyError, TypeError):  # written by another version: keep what was said
                kind, decoded = ("text" if role == "user" else "study"), {}
            turns.append(Turn(role, kind, text, decoded, _dt(at)))
        try:
            state = json.loads(row[4] or "{}")
        except ValueError:
            state = {}
        first = next((t.text for t in turns if t.role == "user"), "")
        return SavedChat(int(row[0]), row[1] or title_of(first) or "New chat", _dt(row[2]), _dt(row[3]), turns,
                         [q for q in state.get("history") or [] if isinstance(q, str)], state.get("study"))

    def latest(self) -> SavedChat | None:
        """The chat used last (with at least one turn)."""
        chats = self.list(1)
        return self.load(chats[0].id) if chats else None

    def delete(self, chat_id: int) -> bool:
        """Delete a chat and its turns; False if the learner has no such chat."""
        with self.progress.write() as db:
            db.execute("DELETE FROM turns WHERE conversation_id IN "
                       "(SELECT id FROM conversations WHERE id = ? AND learner_id = ?)",
                       (chat_id, self.progress.learner_id))
            cur = db.execute("DELETE FROM conversations WHERE id = ? AND learner_id = ?",
                             (chat_id, self.progress.learner_id))
            return cur.rowcount > 0
