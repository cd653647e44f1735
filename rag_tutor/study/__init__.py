"""Study tools: flashcards (FSRS), quizzes, the learning path and saved progress.

The data flows one way: index -> ``load_material`` (topics, glossary terms, key facts,
each tied to its passage) -> ``build_deck`` / ``generate_quiz`` / ``learning_path``;
``ProgressStore`` keeps what the learner did, and ``StudySession`` is the one object the
chat, the CLI and the UI talk to.
"""

from .cards import Card, build_deck
from ..config import StudyConfig
from .material import Citation, StudyError, load_material
from .path import learning_path, progress_report, resolve_topic
from .progress import ProgressCorruptError, ProgressError, ProgressStore, ProgressVersionError, open_store
from .quiz import QuizQuestion, generate_quiz, grade
from .scheduler import Scheduler
from .session import COMMANDS, HELP, StudyReply, StudySession

__all__ = [
    "COMMANDS", "HELP", "Card", "Citation", "ProgressCorruptError", "ProgressError", "ProgressStore",
    "ProgressVersionError", "QuizQuestion", "Scheduler", "StudyConfig", "StudyError", "StudyReply", "StudySession",
    "build_deck", "generate_quiz", "grade", "learning_path", "load_material", "open_store", "progress_report",
    "resolve_topic",
]
