"""The conversation behind both chats (terminal and Streamlit): history, slash commands, answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from .answer import AnswerStream, Tutor
from .conversations import ConversationStore, SavedChat, Turn
from .errors import RagTutorError
from .query import clean_question
from .study import COMMANDS as STUDY_COMMANDS
from .study import HELP as STUDY_HELP
from .study import StudyReply, StudySession

HELP = """Ask any question about generative AI; answers cite the course material as [n].
Commands:
  /help   this list
  /new    start a new conversation (forget earlier questions; the old one stays saved)
  /quit   leave"""

COMMANDS = ("/help", "/new", "/quit")


@dataclass
class Reply:
    text: str = ""  # for command replies
    stream: AnswerStream | None = None  # for answers: iterate, then read .answer
    quit: bool = False
    study: StudyReply | None = None  # quiz question, flashcard, feedback: structured for the UI
    notices: list[str] = field(default_factory=list)  # said before the reply (a line cut to the limit)


@dataclass
class Resumed:
    chat: SavedChat
    study: StudyReply | None = None  # the quiz question or flashcard the chat was waiting on, asked again


class _Remembered(AnswerStream):
    """An answer stream that saves the finished answer as a turn."""

    def __init__(self, inner: AnswerStream, conversation: "Conversation") -> None:
        super().__init__(iter(()))
        self._inner, self._conversation = inner, conversation

    def __iter__(self):
        yield from self._inner
        self.answer = self._inner.answer
        if self.answer is not None:
            self._conversation.record(Turn("assistant", "answer", self.answer.answer, {"answer": self.answer}))


@dataclass
class Conversation:
    tutor: Tutor
    learner: str | None = None
    study: StudySession | None = None
    history: list[str] = field(default_factory=list)  # earlier learner questions, oldest first
    remember: bool = False  # save every turn in the learner database (the terminal chat; the app saves its own)
    chat_id: int | None = None  # the saved conversation, once it has a turn
    unsaved: str | None = None  # why saving failed, if it did (the chat goes on)
    max_chars: int | None = None  # longest line taken (default: the study settings' max_question_chars)

    def __post_init__(self) -> None:
        if self.study is None:
            r = self.tutor.retriever
            self.study = StudySession(self.tutor.settings, self.learner, index=r.index, embedder=r.embedder)
        if self.max_chars is None and hasattr(self.study, "settings"):
            self.max_chars = self.study.settings.max_question_chars

    def bounded(self, line: str) -> tuple[str, list[str]]:
        """The line cut to the longest question the tutor takes, and the notice that says so (none if it fits);
        the terminal and the app both show it, so a long paste is never dropped in silence."""
        line = (line or "").strip()
        if not line or self.max_chars is None or len(line) <= self.max_chars:
            return line, []
        return clean_question(line, self.max_chars)

    # ------------------------------------------------------------ saving

    @property
    def saved(self) -> ConversationStore:
        """The learner's saved conversations (in their progress database)."""
        return ConversationStore(self.study.store)

    def record(self, *turns: Turn) -> None:
        """Save turns and the state at the end of this conversation (when ``remember``); a full or read-only disk
        is noted in ``unsaved`` and the chat goes on."""
        if not self.remember:
            return
        try:
            if self.chat_id is None:
                self.chat_id = self.saved.create()
            for turn in turns:
                self.saved.append(self.chat_id, turn)
            self.checkpoint()
        except RagTutorError as exc:
            self.unsaved = str(exc)

    def checkpoint(self) -> None:
        """Save what the conversation needs to go on: the question history and the running quiz or review."""
        if self.chat_id is not None:
            self.saved.save_state(self.chat_id, self.history, self.study.snapshot())

    def resume(self, chat_id: int | None = None) -> Resumed | None:
        """Continue a saved conversation (default: the last one used): its history, so that follow-ups work, and
        its quiz or review at the same question. None if there is no such conversation."""
        chat = self.saved.load(chat_id) if chat_id is not None else self.saved.latest()
        if chat is None:
            return None
        self.chat_id, self.history = chat.id, list(chat.history)
        try:
            study = self.study.restore(chat.study)
        except RagTutorError:  # no index to rebuild a review's cards from: the chat comes back without it
            study = None
        return Resumed(chat, study)

    # ------------------------------------------------------------ the conversation

    def send(self, line: str) -> Reply:
        line, notices = self.bounded(line)
        if not line:
            return Reply("Type a question about generative AI, or /help for commands.")
        reply = self._reply(line)
        reply.notices = notices + reply.notices
        return reply

    def _reply(self, line: str) -> Reply:
        # quiz/review answers, study commands and "quiz me on GANs" first; a normal question returns None
        studied = self.study.handle(line)
        if studied is not None:
            self.record(Turn("user", "text", line), Turn("assistant", "study", studied.text))
            return Reply(studied.text, study=studied)
        if line.startswith("/"):
            reply = self.command(line)
            if not reply.quit and line.split()[0].lower() != "/new":
                self.record(Turn("user", "text", line), Turn("assistant", "study", reply.text))
            return reply
        stream = self.tutor.stream(line, list(self.history))
        self.history.append(line)
        self.record(Turn("user", "text", line))
        return Reply(stream=_Remembered(stream, self) if self.remember else stream)

    def command(self, line: str) -> Reply:
        name = line.split()[0].lower()
        if name in ("/quit", "/exit"):
            return Reply("Bye.", quit=True)
        if name == "/help":
            return Reply(HELP + "\n\n" + STUDY_HELP)
        if name == "/new":
            self.history.clear()
            self.chat_id = None  # the next turn starts a new saved conversation
            return Reply("Started a new conversation.")
        return Reply(f"Unknown command {name}. Valid commands: {', '.join(STUDY_COMMANDS + COMMANDS)}.")
