"""The chat's state in st.session_state: its turns and the Conversation behind them.

The Conversation (rag_tutor.chat) is the same object the terminal chat drives: it sends a
line to its StudySession first (quiz answers, "/quiz gans", "review VAEs") and otherwise to
the tutor. A turn is a dict so that it survives reruns as plain session state. Study
replies are folded into turns: a grade lands on the question it grades ("in place"), the
next question or card becomes a new turn. Every change runs in a widget callback, so the
page renders the state after the change; only an answer's stream is left to the page body,
which is where it can be drawn token by token.

Every turn is saved in the learner database (rag_tutor.conversations) after each change, and
the chat's id is kept in the page address (?chat=N, with ?learner=NAME), so a reload or a
restart of the app opens the same conversation, its follow-up history and its quiz or review.
"""

from __future__ import annotations

import json
import re

import streamlit as st

import common
from rag_tutor.answer import AnswerStream
from rag_tutor.chat import Conversation, Reply
from rag_tutor.conversations import ChatSummary, Turn, encode
from rag_tutor.study import render
from rag_tutor.study.session import StudyReply

TURNS = "chat_turns"
PENDING = "pending_answer"  # an AnswerStream the page body must draw (streaming needs the page, not a callback)
SAVED = "_saved_turns"  # position -> the turn as last saved, so that only changed turns are written
UNSAVED = "_unsaved"  # why the conversation could not be saved, shown once under the chat


def turns() -> list[dict]:
    return st.session_state.setdefault(TURNS, [])


def add(role: str, kind: str, **fields) -> dict:
    st.session_state["_turn_id"] = st.session_state.get("_turn_id", 0) + 1
    turn = {"id": st.session_state["_turn_id"], "role": role, "kind": kind, **fields}
    turns().append(turn)
    return turn


class _DeferredAnswer(AnswerStream):
    """An answer whose tutor (and model) loads when the page starts drawing it, under a spinner."""

    def __init__(self, s, question: str, history: list[str]) -> None:
        super().__init__(iter(()))
        self._s, self._question, self._history = s, question, history

    def __iter__(self):
        inner = common.get_tutor(self._s).stream(self._question, self._history)
        yield from inner
        self.answer = inner.answer


class _LazyTutor:
    """What the Conversation sees as its tutor: a quiz answer or a command never loads the model."""

    def __init__(self, s) -> None:
        self._s = s

    def stream(self, question: str, history: list[str]) -> AnswerStream:
        return _DeferredAnswer(self._s, question, history)


def conversation() -> Conversation:
    """This browser session's Conversation, attached to the current learner's StudySession; in a new session
    (a reload, a restarted app) the chat named in the address is opened again."""
    s = common.settings()
    study = common.get_study(s)
    conv = st.session_state.get("_conversation")
    if conv is None:
        conv = Conversation(tutor=_LazyTutor(s), learner=study.learner, study=study)
        st.session_state["_conversation"] = conv
        wanted = str(st.query_params.get("chat", ""))
        if wanted.isdigit():
            _open(conv, int(wanted))
    conv.tutor, conv.study = _LazyTutor(s), study  # a rebuilt index or a new learner brings a new study session
    return conv


def adopt_learner_from_url() -> None:
    """A new browser session takes the learner from the address (set when a learner is chosen)."""
    name = " ".join(str(st.query_params.get("learner", "")).split())[:64]
    if name and "learner" not in st.session_state:
        st.session_state["learner"] = name


def reset_chat() -> None:
    """New chat: no turns, no question history; the old chat stays saved, and so does an unfinished quiz
    (`/quiz` resumes it)."""
    st.session_state[TURNS] = []
    st.session_state[SAVED] = {}
    st.session_state.pop(PENDING, None)
    st.query_params.pop("chat", None)
    conv = st.session_state.pop("_conversation", None)
    if conv is not None:
        conv.history.clear()
    cached = st.session_state.pop("_study", None)
    if cached is not None:
        cached[1].close()


# ---------------------------------------------------------------- saved conversations


def _text_of(turn: dict) -> str:
    """A turn as the terminal prints it."""
    kind = turn["kind"]
    if kind == "answer":
        return turn["answer"].answer
    if kind == "quiz":
        return render.question(turn["question"], turn["number"], turn["total"])
    if kind == "card":
        return render.card_front(turn["card"], turn["number"], turn["total"])
    return turn.get("text", "")


def _record(turn: dict) -> tuple[Turn, str]:
    """The turn as saved, and a fingerprint to tell whether it changed since."""
    data = {k: v for k, v in turn.items() if k not in ("id", "role", "kind")}
    saved = Turn(turn["role"], turn["kind"], _text_of(turn), data)
    return saved, json.dumps([saved.role, saved.kind, saved.text, encode(data)], sort_keys=True)


def save() -> None:
    """Write the turns that changed, and the history and quiz or review the chat is in; never raises (a full
    or read-only disk is said once under the chat)."""
    items = turns()
    conv = conversation()
    if not items:
        return
    try:
        store = conv.saved
        if conv.chat_id is None:
            conv.chat_id = store.create()
            st.session_state[SAVED] = {}
        saved = st.session_state.setdefault(SAVED, {})
        for position, turn in enumerate(items):
            record, fingerprint = _record(turn)
            if saved.get(position) != fingerprint:
                store.put(conv.chat_id, position, record)
                saved[position] = fingerprint
        conv.checkpoint()
        st.query_params["chat"] = str(conv.chat_id)
    except Exception as exc:
        st.session_state[UNSAVED] = "This conversation could not be saved: " + common.message_of(exc, "saving it")


def _open(conv: Conversation, chat_id: int) -> bool:
    """Show a saved chat: its turns, its follow-up history, and its quiz or review at the same question."""
    resumed = conv.resume(chat_id)
    if resumed is None:
        st.query_params.pop("chat", None)
        return False
    st.session_state[TURNS] = []
    st.session_state.pop(PENDING, None)
    saved = st.session_state[SAVED] = {}
    for position, t in enumerate(resumed.chat.turns):
        fields = dict(t.data)
        if t.kind in ("text", "study", "error"):
            fields.setdefault("text", t.text)
        turn = add(t.role, t.kind, **fields)
        saved[position] = _record(turn)[1]
    study = conv.study
    if resumed.study is not None and not any(is_active(t, study) for t in turns()):
        absorb(resumed.study)  # a chat saved by the terminal: its quiz question or card drawn anew
    st.query_params["chat"] = str(chat_id)
    return True


def past_chats(limit: int = 30) -> list[ChatSummary]:
    """The learner's saved chats, most recently used first."""
    return conversation().saved.list(limit)


def current_chat() -> int | None:
    return conversation().chat_id


def open_chat(chat_id: int) -> None:
    """The sidebar: open a saved chat."""
    reset_chat()
    if not _open(conversation(), chat_id):
        add("assistant", "error", text="That chat no longer exists.")


def delete_chat(chat_id: int) -> None:
    """The sidebar: delete a saved chat (the one open becomes a new chat)."""
    conv = conversation()
    was_open = conv.chat_id == chat_id
    conv.saved.delete(chat_id)
    if was_open:
        reset_chat()


def _guarded(doing: str):
    """Callbacks never raise: a failure becomes an error turn and the app keeps running."""

    def wrap(fn):
        def run(*args, **kwargs):
            try:
                fn(*args, **kwargs)
            except Exception as exc:
                add("assistant", "error", text=common.message_of(exc, doing))
            save()

        return run

    return wrap


# ---------------------------------------------------------------- study replies -> turns


def _latest(kind: str) -> dict | None:
    return next((t for t in reversed(turns()) if t["kind"] == kind), None)


def _intro(reply: StudyReply) -> str:
    """The reply's text without the parts the page draws itself (the question, the card, the grade)."""
    if reply.feedback is not None:
        return ""
    text = reply.text
    tail = ""
    if reply.question is not None:
        tail = render.question(reply.question, reply.number, reply.total)
    elif reply.card is not None:
        tail = render.card_back(reply.card) if reply.revealed else render.card_front(reply.card, reply.number,
                                                                                      reply.total)
    if tail and text.endswith(tail):
        text = text[: -len(tail)]
    return text.strip()


def absorb(reply: StudyReply) -> None:
    """Fold one StudyReply into the turns."""
    quiz, card = _latest("quiz"), _latest("card")
    if reply.feedback is not None:
        target = quiz if reply.feedback.rating is None else card
        if target is not None and target.get("feedback") is None:
            target["feedback"] = reply.feedback
            target["hint"] = ""
            if target["kind"] == "card":
                target["flipped"] = True
    if reply.question is not None:
        same = (quiz is not None and quiz.get("feedback") is None and quiz["number"] == reply.number
                and quiz["question"] == reply.question)
        if same:
            quiz["hint"] = reply.text  # "answer with a letter...": shown under the question
        else:
            add("assistant", "quiz", question=reply.question, number=reply.number, total=reply.total,
                intro=_intro(reply), feedback=None, hint="")
    elif reply.card is not None:
        same = (card is not None and card.get("feedback") is None and card["number"] == reply.number
                and card["card"] == reply.card)
        if same:
            card["flipped"] = card["flipped"] or reply.revealed
            card["hint"] = "" if reply.revealed and reply.text == render.card_back(reply.card) else reply.text
        else:
            add("assistant", "card", card=reply.card, number=reply.number, total=reply.total,
                intro=_intro(reply), flipped=reply.revealed, feedback=None, hint="")
    else:
        text = reply.text
        if reply.feedback is not None:  # the grade is drawn on its question; keep the closing summary
            text = text.split("\n\n")[-1]
        add("assistant", "study", text=text, done=reply.done)


def is_active(turn: dict, study) -> bool:
    """Whether a quiz or card turn is the one the study session is waiting on."""
    if turn.get("feedback") is not None:
        return False
    if turn["kind"] == "quiz" and study.quiz is not None:
        quiz = study.quiz
        return (quiz.position < len(quiz.questions) and quiz.position + 1 == turn["number"]
                and quiz.questions[quiz.position] == turn["question"] and turn is _latest("quiz"))
    if turn["kind"] == "card" and study.review is not None:
        review = study.review
        return (review.position < len(review.queue) and review.position + 1 == turn["number"]
                and review.queue[review.position] == turn["card"] and turn is _latest("card"))
    return False


# ---------------------------------------------------------------- callbacks


def _study():
    return conversation().study


def _show(reply: Reply, line: str) -> None:
    """One Conversation reply as turns; an answer's stream is left for the page body to draw."""
    if reply.study is not None:
        absorb(reply.study)
    elif reply.stream is not None:
        st.session_state[PENDING] = reply.stream
    elif line.split()[0].lower() == "/help":
        add("assistant", "study", text=help_markdown(reply.text))
    elif reply.quit:
        add("assistant", "study", text="Your progress is saved; close the tab to leave.")
    else:
        add("assistant", "study", text=reply.text)


TERMINAL_ONLY = ("/quit", "/exit")  # commands the app has no use for: closing the tab leaves
_COMMAND_LINE = re.compile(r"^\s{2,}(/\w+(?:\s+\S+)*?)\s{2,}(\S.*)$")  # "  /quiz [topic] [n]     a quiz, ..."


def help_markdown(text: str) -> str:
    """The chat's /help text (written for the terminal, in aligned columns) as Markdown that wraps: each command
    a list item, its continued lines joined to it, the terminal-only ones left out."""
    out: list[str] = []
    skipping = False
    for line in text.splitlines():
        command = _COMMAND_LINE.match(line)
        if command:
            skipping = command.group(1).split()[0].lower() in TERMINAL_ONLY
            if not skipping:
                out.append(f"- `{command.group(1)}` {common.md(command.group(2))}")
        elif line.startswith("  ") and line.strip() and out and out[-1].startswith("- "):
            if not skipping:
                out[-1] += " " + common.md(line.strip())
        else:
            skipping = False
            if line.strip() and out and out[-1].startswith("- "):
                out.append("")  # a line after a list is not a lazy continuation of its last item
            elif line.strip() and out and out[-1]:
                out[-1] += "  "  # a line of its own ("Commands:"), not run into the sentence before
            out.append(common.md(line.strip()))
    return "\n".join(out)


@_guarded("reading your message")
def send(line: str | None = None) -> None:
    """The chat input: a quiz or card answer, a command, "quiz me on GANs", or a question for the tutor."""
    line = (line if line is not None else st.session_state.get("chat_line") or "").strip()
    if not line:
        return
    if line.split()[0].lower() == "/new":
        reset_chat()
    conv = conversation()
    line, notices = conv.bounded(line)
    add("user", "text", text=line, notices=notices)
    _show(conv.send(line), line)


@_guarded("starting the quiz")
def start_quiz(topic: str | None, label: str, n: int | None = None) -> None:
    """A quiz on a topic (id, title or term; None: the whole course); ``label`` is the learner's side of it."""
    add("user", "text", text=label)
    absorb(_study().start_quiz(topic, n))


@_guarded("starting the flashcards")
def start_cards(topic: str | None, label: str) -> None:
    add("user", "text", text=label)
    absorb(_study().start_review(topic))


@_guarded("grading your answer")
def submit_answer(turn_id: int) -> None:
    """The quiz form: a chosen option (by letter) or a typed short answer."""
    from rag_tutor.study.grading import LETTERS

    value = st.session_state.get(f"answer-{turn_id}")
    if value is None or (isinstance(value, str) and not value.strip()):
        turn = next(t for t in turns() if t["id"] == turn_id)
        turn["hint"] = "_Choose an option (or type your answer) first._"
        return
    reply = _study().answer(LETTERS[value] if isinstance(value, int) else value)
    if reply is None:  # the study session read it as a question for the tutor
        turn = next(t for t in turns() if t["id"] == turn_id)
        turn["hint"] = "_That reads like a question; type just your answer._"
        return
    absorb(reply)


@_guarded("flipping the card")
def flip(turn_id: int) -> None:
    turn = next(t for t in turns() if t["id"] == turn_id)
    if is_active(turn, _study()):
        absorb(_study().reveal())
    else:
        turn["flipped"] = not turn.get("flipped")


@_guarded("saving your rating")
def rate(rating: str) -> None:
    absorb(_study().rate(rating))


def ask(question: str) -> None:
    """A button that asks the tutor something (an example, a suggested topic)."""
    send(question)
