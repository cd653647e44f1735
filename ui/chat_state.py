"""The chat's state in st.session_state: its turns and the Conversation behind them.

The Conversation (rag_tutor.chat) is the same object the terminal chat drives: it sends a
line to its StudySession first (quiz answers, "/quiz gans", "review VAEs") and otherwise to
the tutor. A turn is a dict so that it survives reruns as plain session state. Study
replies are folded into turns: a grade lands on the question it grades ("in place"), the
next question or card becomes a new turn. Every change runs in a widget callback, so the
page renders the state after the change; only an answer's stream is left to the page body,
which is where it can be drawn token by token.
"""

from __future__ import annotations

import streamlit as st

import common
from rag_tutor.answer import AnswerStream
from rag_tutor.chat import Conversation, Reply
from rag_tutor.study import render
from rag_tutor.study.session import StudyReply

TURNS = "chat_turns"
PENDING = "pending_answer"  # an AnswerStream the page body must draw (streaming needs the page, not a callback)


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
    """This browser session's Conversation, attached to the current learner's StudySession."""
    s = common.settings()
    study = common.get_study(s)
    conv = st.session_state.get("_conversation")
    if conv is None:
        conv = Conversation(tutor=_LazyTutor(s), learner=study.learner, study=study)
        st.session_state["_conversation"] = conv
    conv.tutor, conv.study = _LazyTutor(s), study  # a rebuilt index or a new learner brings a new study session
    return conv


def reset_chat() -> None:
    """New chat: no turns, no question history; an unfinished quiz stays saved (`/quiz` resumes it)."""
    st.session_state[TURNS] = []
    st.session_state.pop(PENDING, None)
    conv = st.session_state.pop("_conversation", None)
    if conv is not None:
        conv.history.clear()
    cached = st.session_state.pop("_study", None)
    if cached is not None:
        cached[1].close()


def _guarded(doing: str):
    """Callbacks never raise: a failure becomes an error turn and the app keeps running."""

    def wrap(fn):
        def run(*args, **kwargs):
            try:
                fn(*args, **kwargs)
            except Exception as exc:
                add("assistant", "error", text=common.message_of(exc, doing))

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
        add("assistant", "study", text=f"```text\n{reply.text}\n```")
    elif reply.quit:
        add("assistant", "study", text="Your progress is saved; close the tab to leave.")
    else:
        add("assistant", "study", text=reply.text)


@_guarded("reading your message")
def send(line: str | None = None) -> None:
    """The chat input: a quiz or card answer, a command, "quiz me on GANs", or a question for the tutor."""
    line = (line if line is not None else st.session_state.get("chat_line") or "").strip()
    if not line:
        return
    if line.split()[0].lower() == "/new":
        reset_chat()
    add("user", "text", text=line)
    _show(conversation().send(line), line)


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
