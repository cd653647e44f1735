"""The `rag-tutor quiz`, `flashcards` and `progress` commands: thin handlers over the study library.

They are wired into ``rag_tutor/cli.py`` with ``add_parsers(sub)`` in ``build_parser`` and
``COMMANDS.update(HANDLERS)``; each handler takes ``(args, settings)`` and returns an exit code.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..arguments import positive_int
from ..config import Settings
from .cards import build_deck
from .material import Material, StudyError
from .path import ProgressReport, resolve_topic
from .quiz import generate_quiz
from .session import StudyReply, StudySession


def add_parsers(subparsers) -> None:
    """Add the quiz, flashcards and progress sub-commands to the `rag-tutor` parser."""

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--learner", help="learner profile (default: 'default')")
        p.add_argument("--index-dir", type=Path, help="index folder (default: index/)")
        p.add_argument("--json", action="store_true")
        return p

    p = common(subparsers.add_parser("quiz", help="a quiz on a topic, played in the terminal or printed as JSON"))
    p.add_argument("--topic", help="topic, e.g. gan or 'diffusion models' (default: the whole course)")
    p.add_argument("--n", type=positive_int, help="number of questions (default 10)")
    p.add_argument("--seed", type=int, help="same seed, same quiz")
    p = common(subparsers.add_parser("flashcards", help="review flashcards (FSRS), or print a deck as JSON"))
    p.add_argument("--topic", help="topic to review (default: every card that is due)")
    common(subparsers.add_parser("progress", help="mastery per topic, due cards and recent quiz scores"))


def _session(args: argparse.Namespace, settings: Settings) -> StudySession:
    return StudySession(settings, learner=args.learner, seed=getattr(args, "seed", None))


def _topic(material: Material, name: str | None) -> str | None:
    if not name:
        return None
    topic = resolve_topic(name, material)
    if topic is None:
        known = ", ".join(t.topic for t in material.topics)
        raise StudyError(f'no course topic matches "{name}"; pass one of: {known}')
    return topic


def _play(session: StudySession, reply: StudyReply) -> int:
    """Print replies and read answers until the quiz or review ends (Ctrl-D leaves; progress is saved)."""
    print(reply.text)
    while session.mode is not None:
        try:
            line = input("\n> ")
        except EOFError:
            print("\nStopped; your answers are saved (`/quiz` in the chat or `rag-tutor quiz` resumes a quiz).")
            return 0
        answer = session.handle(line)
        if answer is None:
            print("That looks like a question for the tutor: ask it in `rag-tutor chat`. "
                  "Here, answer the question or type `stop`.")
            continue
        print(answer.text)
    return 0


def cmd_quiz(args: argparse.Namespace, settings: Settings) -> int:
    """`rag-tutor quiz`: with --json print the questions; otherwise play the quiz (or resume an unfinished one)."""
    session = _session(args, settings)
    try:
        topic = _topic(session.material, args.topic)
        if args.json:
            questions = generate_quiz(session.material, topic, args.n, args.seed or 0, session.config)
            print(json.dumps([q.to_dict() for q in questions], ensure_ascii=False, indent=1))
            return 0
        reply = None
        if topic is None and args.n is None and args.seed is None:
            reply = session.resume_quiz()
        return _play(session, reply or session.start_quiz(topic, args.n, args.seed))
    finally:
        session.close()


def cmd_flashcards(args: argparse.Namespace, settings: Settings) -> int:
    """`rag-tutor flashcards`: with --json print the deck; otherwise review the due (and a topic's new) cards."""
    session = _session(args, settings)
    try:
        topic = _topic(session.material, args.topic)
        if args.json:
            print(json.dumps([c.to_dict() for c in build_deck(session.material, topic)], ensure_ascii=False,
                             indent=1))
            return 0
        return _play(session, session.start_review(topic))
    finally:
        session.close()


def progress_json(report: ProgressReport) -> dict:
    """The JSON shape of `rag-tutor progress --json`."""
    def iso(moment):
        return moment.isoformat() if moment else None

    return {
        "learner": report.learner,
        "topics": [{"topic": t.topic, "title": t.title, "mastery": t.mastery, "quiz_correct": t.quiz_correct,
                    "quiz_answered": t.quiz_answered, "cards_seen": t.cards_seen, "cards_total": t.cards_total,
                    "cards_due": t.cards_due, "studied_at": iso(t.studied_at)} for t in report.topics],
        "due_cards": report.due_cards,
        "next_due": iso(report.next_due),
        "recent_scores": [{"topic": r.topic, "score": r.score, "total": r.total, "finished_at": iso(r.finished_at)}
                          for r in report.recent],
    }


def cmd_progress(args: argparse.Namespace, settings: Settings) -> int:
    """`rag-tutor progress`: per-topic mastery, due cards and recent scores."""
    session = _session(args, settings)
    try:
        if args.json:
            print(json.dumps(progress_json(session.report()), ensure_ascii=False))
        else:
            print(session.show_progress().text)  # the same text as /progress in the chat
        return 0
    finally:
        session.close()


HANDLERS = {"quiz": cmd_quiz, "flashcards": cmd_flashcards, "progress": cmd_progress}
