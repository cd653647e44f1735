"""The quiz, flashcards and progress command handlers, as the `rag-tutor` CLI will call them."""

from __future__ import annotations

import argparse
import io
import json
from dataclasses import replace

import pytest

from rag_tutor.errors import RagTutorError
from rag_tutor.study.cli import HANDLERS, add_parsers, cmd_flashcards, cmd_progress, cmd_quiz

pytestmark = pytest.mark.model


@pytest.fixture
def settings(course_index, tmp_path):
    return replace(course_index, home=tmp_path / "home")


@pytest.fixture
def parse():
    parser = argparse.ArgumentParser(prog="rag-tutor")
    add_parsers(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args


def _run(parse, settings, capsys, *argv) -> tuple[int, str]:
    args = parse([str(a) for a in argv])
    code = HANDLERS[args.command](args, settings)
    return code, capsys.readouterr().out


def test_quiz_json_is_the_documented_shape_and_repeatable(parse, settings, capsys):
    code, out = _run(parse, settings, capsys, "quiz", "--topic", "GANs", "--n", "6", "--seed", "3", "--json")
    assert code == 0
    items = json.loads(out)
    assert len(items) == 6
    for item in items:
        assert {"question", "options", "answer_index", "explanation", "citation", "topic"} <= set(item)
        assert set(item["citation"]) == {"source", "section", "text"} and item["topic"] == "gan"
        if item["options"]:
            assert 0 <= item["answer_index"] < len(item["options"])
    assert json.loads(_run(parse, settings, capsys, "quiz", "--topic", "gan", "--n", "6", "--seed", "3",
                           "--json")[1]) == items
    assert not (settings.home / "progress.db").exists()  # printing a quiz records nothing


def test_flashcards_json_is_the_deck(parse, settings, capsys):
    code, out = _run(parse, settings, capsys, "flashcards", "--topic", "vae", "--json")
    deck = json.loads(out)
    assert code == 0 and len(deck) > 20
    assert all(set(c) == {"front", "back", "topic", "citation"} and c["topic"] == "vae" for c in deck)


def test_an_interactive_quiz_then_progress(parse, settings, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("A\nB\nwhat is a GAN?\nC\n"))
    code, out = _run(parse, settings, capsys, "quiz", "--topic", "diffusion", "--n", "3", "--seed", "1",
                     "--learner", "cli")
    assert code == 0 and "Quiz finished" in out and "ask it in `rag-tutor chat`" in out
    code, out = _run(parse, settings, capsys, "progress", "--learner", "cli", "--json")
    report = json.loads(out)
    assert report["learner"] == "cli" and report["recent_scores"][0]["total"] == 3
    diffusion = next(t for t in report["topics"] if t["topic"] == "diffusion")
    assert diffusion["quiz_answered"] == 3
    assert {"topics", "due_cards", "next_due", "recent_scores"} <= set(report)
    code, out = _run(parse, settings, capsys, "progress", "--learner", "cli")
    assert "| diffusion |" in out


def test_an_interactive_review_saves_each_rating(parse, settings, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("show\ngood\nshow\neasy\n"))
    code, out = _run(parse, settings, capsys, "flashcards", "--topic", "gan", "--learner", "cli")
    assert code == 0 and out.count("Rated **") == 2 and "answers are saved" in out
    report = json.loads(_run(parse, settings, capsys, "progress", "--learner", "cli", "--json")[1])
    assert next(t for t in report["topics"] if t["topic"] == "gan")["cards_seen"] == 2


def test_an_unknown_topic_is_one_clear_error(parse, settings, capsys):
    args = parse(["quiz", "--topic", "quantum knitting", "--json"])
    with pytest.raises(RagTutorError) as err:
        cmd_quiz(args, settings)
    assert "quantum knitting" in str(err.value) and "gan" in str(err.value) and "\n" not in str(err.value)
    assert HANDLERS == {"quiz": cmd_quiz, "flashcards": cmd_flashcards, "progress": cmd_progress}
