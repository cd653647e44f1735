"""Saved conversations in the learner database: no models, a temp folder."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest

from rag_tutor.answer import Answer, Citation
from rag_tutor.chat import Conversation
from rag_tutor.conversations import ConversationStore, Turn, decode, encode
from rag_tutor.retrieval import Passage
from rag_tutor.study import progress
from rag_tutor.study.cards import Card
from rag_tutor.study.material import Citation as Source
from rag_tutor.study.progress import ProgressStore
from rag_tutor.study.quiz import QuizQuestion
from rag_tutor.study.session import Feedback

PASSAGE = "A sparse autoencoder adds a penalty that keeps most hidden units silent for each input."


def answer() -> Answer:
    cite = Citation(1, "corpus/ae.md", "Autoencoders", "Sparsity", PASSAGE, "ae#3", 0.71, PASSAGE)
    passage = Passage("corpus/ae.md", "Autoencoders", "Sparsity", PASSAGE, 0.9, "ae#3", "ae", 0.64)
    return Answer("What makes an autoencoder sparse?", "A penalty keeps most hidden units silent [1].", False,
                  [cite], [passage], {"total_s": 1.2}, "generated", "raw text", ["a notice"])


def question() -> QuizQuestion:
    source = Source("corpus/ae.md", "Autoencoders", "Sparsity", PASSAGE, "ae#3")
    return QuizQuestion("mcq", "What keeps hidden units silent?", ["A penalty", "A decoder", "Dropout"], 0,
                        "A penalty", "A sparsity penalty keeps them silent.", source, "ae", "sparsity", PASSAGE)


@pytest.fixture
def store(tmp_path):
    progress_store = ProgressStore(tmp_path / "progress.db", "ada")
    yield ConversationStore(progress_store)
    progress_store.close()


def test_turns_round_trip_with_answers_citations_quiz_questions_and_cards(store):
    chat = store.create()
    card = Card("term:sparse", "term", "Sparse autoencoder", "An autoencoder with a sparsity penalty.", "ae",
                Source("corpus/ae.md", "Autoencoders", "Sparsity", PASSAGE), "sparse autoencoder", ("SAE",))
    due = datetime(2030, 1, 2, 3, 4, tzinfo=timezone.utc)
    feedback = Feedback(False, "A decoder", "A penalty", "A sparsity penalty keeps them silent.",
                        question().citation, None, due)
    store.append(chat, Turn("user", "text", "What makes an autoencoder sparse?"))
    store.append(chat, Turn("assistant", "answer", answer().answer, {"answer": answer()}))
    store.append(chat, Turn("assistant", "quiz", "What keeps hidden units silent?",
                            {"question": question(), "number": 1, "total": 3, "feedback": feedback, "hint": ""}))
    store.append(chat, Turn("assistant", "card", card.front, {"card": card, "flipped": True}))
    loaded = store.load(chat)
    assert [t.kind for t in loaded.turns] == ["text", "answer", "quiz", "card"]
    assert loaded.turns[1].data["answer"] == answer()  # text, citations (quote, support), sources, mode, notices
    assert loaded.turns[2].data["question"] == question()
    assert loaded.turns[2].data["feedback"] == feedback and loaded.turns[2].data["feedback"].due == due
    assert loaded.turns[3].data["card"] == card and loaded.turns[3].data["card"].accepted == ("SAE",)
    assert loaded.title == "What makes an autoencoder sparse?"


def test_list_titles_dates_order_and_delete(store):
    empty = store.create()  # a chat with no turns is not listed
    first = store.create()
    store.append(first, Turn("user", "text", "/quiz ae"))  # a command is not a title ...
    store.append(first, Turn("user", "text", "  How   do autoencoders learn a code? " + "x" * 100))  # ... a question is
    second = store.create()
    store.append(second, Turn("user", "text", "/progress"))  # only commands: the first line is the title
    chats = store.list()
    assert [c.id for c in chats] == [second, first]  # most recently used first
    assert chats[0].title == "/progress"
    assert chats[1].title.startswith("How do autoencoders learn a code? x") and chats[1].title.endswith("…")
    assert len(chats[1].title) == 80 and chats[1].turns == 2
    assert chats[1].updated_at.tzinfo is not None and chats[1].created_at <= chats[1].updated_at
    store.append(first, Turn("assistant", "study", "Quiz done."))
    assert [c.id for c in store.list()] == [first, second]
    assert store.latest().id == first
    assert store.delete(first) and not store.delete(first)
    assert store.load(first) is None and [c.id for c in store.list()] == [second]
    assert store.progress.conn.execute("SELECT COUNT(*) FROM turns WHERE conversation_id = ?",
                                       (first,)).fetchone()[0] == 0
    assert store.load(empty).turns == []


def test_a_learner_sees_only_their_own_chats(tmp_path, store):
    chat = store.create()
    store.append(chat, Turn("user", "text", "What is a sparse autoencoder?"))
    other = ConversationStore(ProgressStore(tmp_path / "progress.db", "grace"))
    assert other.list() == [] and other.load(chat) is None and not other.delete(chat)
    with pytest.raises(KeyError):
        other.append(chat, Turn("user", "text", "mine now"))
    assert len(store.load(chat).turns) == 1


def test_put_replaces_a_turn_in_place_and_state_is_saved(store):
    chat = store.create()
    store.append(chat, Turn("assistant", "quiz", "Q1", {"question": question(), "feedback": None}))
    store.put(chat, 0, Turn("assistant", "quiz", "Q1", {"question": question(), "feedback": "graded"}))
    store.save_state(chat, ["What is a sparse autoencoder?"], {"quiz": 7})
    loaded = store.load(chat)
    assert len(loaded.turns) == 1 and loaded.turns[0].data["feedback"] == "graded"
    assert loaded.history == ["What is a sparse autoencoder?"] and loaded.study == {"quiz": 7}
    store.truncate(chat, 0)
    assert store.load(chat).turns == []


def test_a_turn_this_version_cannot_read_comes_back_as_its_text(store):
    chat = store.create()
    store.append(chat, Turn("assistant", "answer", "Saved by a future version [1].", {"answer": answer()}))
    store.progress.conn.execute("UPDATE turns SET data = '{\"answer\": {\"$\": \"Hologram\"}}'")
    [turn] = store.load(chat).turns
    assert (turn.kind, turn.text, turn.data) == ("study", "Saved by a future version [1].", {})


def test_the_codec_refuses_what_it_does_not_know():
    with pytest.raises(TypeError, match="cannot hold a set"):
        encode({"x": {1, 2}})
    with pytest.raises(ValueError, match="unknown saved type"):
        decode({"$": "os.system", "cmd": "rm -rf /"})
    assert decode(encode({"$": "a dict with a dollar key", "t": (1, "a")})) == {"$": "a dict with a dollar key",
                                                                                 "t": (1, "a")}


def test_an_older_database_is_backed_up_then_gains_the_conversation_tables(tmp_path, monkeypatch):
    path = tmp_path / "progress.db"
    monkeypatch.setattr(progress, "MIGRATIONS", progress.MIGRATIONS[:1])  # a database written before this change
    old = ProgressStore(path, "ada")
    old.mark_studied("ae", datetime(2030, 1, 1, tzinfo=timezone.utc))
    old.close()
    monkeypatch.undo()
    store = ProgressStore(path, "ada")
    assert set(store.studied()) == {"ae"}
    chat = ConversationStore(store).create()
    assert ConversationStore(store).load(chat).turns == []
    [backup] = tmp_path.glob("progress.db.v1-*.bak")
    tables = {r[0] for r in sqlite3.connect(backup).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "conversations" not in tables and "topics_studied" in tables


# ---------------------------------------------------------------- the chat object saves and resumes


class EchoTutor:
    """Streams a fixed answer and records what it was asked (the pipeline itself is tested elsewhere)."""

    def __init__(self):
        self.calls = []

    def stream(self, question, history):
        from rag_tutor.answer import AnswerStream

        self.calls.append((question, list(history)))
        out = AnswerStream(iter(()))

        def pieces():
            yield "A penalty [1]."
            out.answer = answer()

        out._pieces = pieces()
        return out


class QuietStudy:
    """A study session with nothing running, on a real progress store."""

    def __init__(self, store):
        self.store, self.learner = store, "ada"

    def handle(self, line):
        return None

    def snapshot(self):
        return None

    def restore(self, state):
        return None


def test_the_chat_saves_every_turn_and_resume_restores_its_history(tmp_path):
    store = ProgressStore(tmp_path / "progress.db", "ada")
    tutor = EchoTutor()
    chat = Conversation(tutor, study=QuietStudy(store), remember=True)
    for line in ("What makes an autoencoder sparse?", "Who proposed it?"):
        list(chat.send(line).stream)
    chat.send("/help")
    saved = ConversationStore(store).load(chat.chat_id)
    assert [(t.role, t.kind) for t in saved.turns] == [("user", "text"), ("assistant", "answer")] * 2 + [
        ("user", "text"), ("assistant", "study")]
    assert saved.turns[1].data["answer"].citations[0].quote == PASSAGE
    assert saved.history == ["What makes an autoencoder sparse?", "Who proposed it?"]

    later = Conversation(EchoTutor(), study=QuietStudy(store), remember=True)  # a new process
    resumed = later.resume()
    assert resumed.chat.id == chat.chat_id and resumed.study is None
    list(later.send("When was it introduced?").stream)
    assert later.tutor.calls == [("When was it introduced?", ["What makes an autoencoder sparse?",
                                                              "Who proposed it?"])]
    assert len(ConversationStore(store).load(chat.chat_id).turns) == 8  # the same chat goes on

    later.send("/new")
    list(later.send("What is a denoising autoencoder?").stream)
    assert later.chat_id != chat.chat_id and len(ConversationStore(store).list()) == 2
    assert Conversation(EchoTutor(), study=QuietStudy(store), remember=True).resume().chat.id == later.chat_id
