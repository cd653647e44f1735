"""The conversation behind both chats (terminal and Streamlit): history, slash commands, answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from .answer import AnswerStream, Tutor
from .study import COMMANDS as STUDY_COMMANDS
from .study import HELP as STUDY_HELP
from .study import StudyReply, StudySession

HELP = """Ask any question about generative AI; answers cite the course material as [n].
Commands:
  /help   this list
  /new    start a new conversation (forget earlier questions)
  /quit   leave"""

COMMANDS = ("/help", "/new", "/quit")


@dataclass
class Reply:
    text: str = ""  # for command replies
    stream: AnswerStream | None = None  # for answers: iterate, then read .answer
    quit: bool = False
    study: StudyReply | None = None  # quiz question, flashcard, feedback: structured for the UI


@dataclass
class Conversation:
    tutor: Tutor
    learner: str | None = None
    study: StudySession | None = None
    history: list[str] = field(default_factory=list)  # earlier learner questions, oldest first

    def __post_init__(self) -> None:
        if self.study is None:
            r = self.tutor.retriever
            self.study = StudySession(self.tutor.settings, self.learner, index=r.index, embedder=r.embedder)

    def send(self, line: str) -> Reply:
        line = (line or "").strip()
        if not line:
            return Reply("Type a question about generative AI, or /help for commands.")
        # quiz/review answers, study commands and "quiz me on GANs" first; a normal question returns None
        studied = self.study.handle(line)
        if studied is not None:
            return Reply(studied.text, study=studied)
        if line.startswith("/"):
            return self.command(line)
        stream = self.tutor.stream(line, list(self.history))
        self.history.append(line)
        return Reply(stream=stream)

    def command(self, line: str) -> Reply:
        name = line.split()[0].lower()
        if name in ("/quit", "/exit"):
            return Reply("Bye.", quit=True)
        if name == "/help":
            return Reply(HELP + "\n\n" + STUDY_HELP)
        if name == "/new":
            self.history.clear()
            return Reply("Started a new conversation.")
        return Reply(f"Unknown command {name}. Valid commands: {', '.join(STUDY_COMMANDS + COMMANDS)}.")
