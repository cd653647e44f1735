"""The conversation behind both chats (terminal and Streamlit): history, slash commands, answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from .answer import AnswerStream, Tutor

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


@dataclass
class Conversation:
    tutor: Tutor
    history: list[str] = field(default_factory=list)  # earlier learner questions, oldest first

    def send(self, line: str) -> Reply:
        line = (line or "").strip()
        if not line:
            return Reply("Type a question about generative AI, or /help for commands.")
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
            return Reply(HELP)
        if name == "/new":
            self.history.clear()
            return Reply("Started a new conversation.")
        return Reply(f"Unknown command {name}. Valid commands: {', '.join(COMMANDS)}.")
