"""Quizzes and flashcards generated from the shipped corpus: every answer backed by its cited passage."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag_tutor.documents import load_document, parse_glossary
from rag_tutor.study.cards import DEFINITION, FACT, TERM, build_deck, grade_recall
from rag_tutor.study.grading import matches_answer, parse_choice
from rag_tutor.study.material import BLANK, load_material, normalise
from rag_tutor.study.quiz import MCQ, SHORT, TRUE_FALSE, generate_quiz, grade

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.model
SEEDS = range(4)


@pytest.fixture(scope="module")
def material(course_index):
    from rag_tutor.index import load_index

    return load_material(load_index(course_index.index_dir))


@pytest.fixture(scope="module")
def glossary() -> dict[str, str]:
    """Term -> definition, read straight from the glossary file (not through the study package)."""
    path = ROOT / "corpus" / "glossary.md"
    return {e.term: normalise(e.definition) for e in parse_glossary(load_document(path, path.parent))}


@pytest.fixture(scope="module")
def quizzes(material):
    topics = [None] + [t.topic for t in material.topics]
    return [q for topic in topics for seed in SEEDS for q in generate_quiz(material, topic, 10, seed)]


def test_every_topic_gets_a_full_quiz(material):
    for topic in material.topics:
        questions = generate_quiz(material, topic.topic, 10, seed=0)
        assert len(questions) == 10, topic.topic
        assert {q.topic for q in questions} == {topic.topic}
    kinds = {q.kind for q in generate_quiz(material, "gan", 10, seed=0)}
    assert kinds == {MCQ, TRUE_FALSE, SHORT}


def test_correct_answer_is_in_the_cited_passage(quizzes):
    for q in quizzes:
        passage = normalise(q.citation.text)
        assert q.citation.source.startswith("corpus/") and q.citation.section
        assert normalise(q.evidence) in passage, q.question
        if q.kind != TRUE_FALSE:
            assert normalise(q.answer) in passage, q.question
        assert q.explanation.strip() and q.explanation.count(". ") <= 2  # one sentence (abbreviations aside)


def test_options_are_distinct_non_empty_and_exactly_one_is_correct(quizzes, glossary):
    for q in quizzes:
        if q.kind == SHORT:
            assert q.options == [] and q.answer_index is None and q.answer.strip()
            continue
        assert all(o.strip() for o in q.options)
        assert len({normalise(o) for o in q.options}) == len(q.options), q.options
        assert q.options[q.answer_index] == q.answer
        if q.kind == TRUE_FALSE:
            owner = glossary[q.citation.section]
            assert normalise(q.evidence) in owner
            stated_is_owner = q.concept == q.citation.section
            assert (q.answer == "True") == stated_is_owner
            if not stated_is_owner:
                assert normalise(q.evidence) not in glossary[q.concept]
            continue
        assert len(q.options) == 4
        if q.question.startswith("Which definition"):
            # the options are definitions: only the asked term's definition contains one
            asked = glossary[q.concept]
            assert [normalise(o) in asked for o in q.options].count(True) == 1, q.options
        else:
            # the options are terms: the stem's definition belongs to exactly one of them
            assert [normalise(q.evidence) in glossary[o] for o in q.options].count(True) == 1, q.options


def test_distractors_are_never_a_kind_of_the_answer(quizzes):
    """A family and its members ("GAN" / "CycleGAN", "Diffusion model" / "Latent diffusion") never share a question."""
    for q in quizzes:
        if q.kind == MCQ and not q.question.startswith("Which definition"):
            answer = f" {normalise(q.answer)} "
            for o in q.options:
                option = f" {normalise(o)} "
                if o != q.answer:
                    assert answer not in option and option not in answer, (q.answer, o)


def test_fill_in_the_blank_restores_the_cited_sentence(quizzes):
    blanks = [q for q in quizzes if q.kind == SHORT and BLANK in q.question]
    assert blanks
    for q in blanks:
        filled = q.question.removeprefix("Fill in the blank: ").replace(BLANK, q.answer, 1)
        assert normalise(filled) == normalise(q.evidence)


def test_explanations_pass_the_citation_checker(material, embedder, course_index):
    from rag_tutor.citations import SupportChecker

    checker = SupportChecker(embedder)
    for q in generate_quiz(material, None, 20, seed=0):
        assert checker.support(q.explanation, q.citation.text).score >= course_index.support_threshold, q.explanation


def test_same_seed_same_quiz(material):
    first = [q.to_dict() for q in generate_quiz(material, "diffusion", 8, seed=42)]
    again = [q.to_dict() for q in generate_quiz(material, "diffusion", 8, seed=42)]
    other = [q.to_dict() for q in generate_quiz(material, "diffusion", 8, seed=43)]
    assert first == again
    assert first != other


def test_quiz_json_shape(material):
    item = generate_quiz(material, "vae", 1, seed=0)[0].to_dict()
    assert {"question", "options", "answer_index", "explanation", "citation", "topic"} <= set(item)
    assert set(item["citation"]) == {"source", "section", "text"}


# ---------------------------------------------------------------- grading


OPTIONS = ["Alpha beta", "Gamma", "Delta epsilon", "Zeta"]


@pytest.mark.parametrize("reply,index", [
    ("B", 1), ("b", 1), ("2", 1), ("the second one", 1), ("(c)", 2), ("option D", 3), ("gamma", 1),
    ("Delta epsilon", 2), ("delta epsilom", 2), ("first", 0), ("the last one", 3), ("I think it's B", 1),
    ("is it B?", 1), ("could it be gamma?", 1),
])
def test_choice_is_understood(reply, index):
    assert parse_choice(reply, OPTIONS) == index


@pytest.mark.parametrize("reply", ["xyz", "E", "5", "", "what is a GAN?"])
def test_non_answers_are_not_choices(reply):
    assert parse_choice(reply, OPTIONS) is None


@pytest.mark.parametrize("reply,index", [("true", 0), ("False", 1), ("t", 0), ("no", 1), ("A", 0), ("2", 1)])
def test_true_false_answers(reply, index):
    assert parse_choice(reply, ["True", "False"]) == index


def test_short_answers_are_fuzzy():
    assert matches_answer("Discriminators", ["Discriminator"])
    assert matches_answer("the discrimintor", ["Discriminator"])
    assert matches_answer("it's the discriminator", ["Discriminator"])
    assert not matches_answer("generator", ["Discriminator"])
    gan = ["Generative adversarial network (GAN)", "Generative adversarial network", "GAN"]
    assert matches_answer("GANs", gan) and matches_answer("generative adversarial networks", gan)
    assert matches_answer("2014", ["2014"]) and not matches_answer("2013", ["2014"])


def test_grade_reads_each_kind(material):
    questions = generate_quiz(material, "gan", 10, seed=1)
    for q in questions:
        if q.kind == SHORT:
            assert grade(q, q.answer.upper()).correct
            assert not grade(q, "no idea at all").correct
        else:
            letter = "ABCD"[q.answer_index]
            assert grade(q, letter).correct and grade(q, q.answer).correct
            wrong = (q.answer_index + 1) % len(q.options)
            assert not grade(q, str(wrong + 1)).correct
            assert grade(q, "tell me about the weather please") is None


# ---------------------------------------------------------------- flashcards


def test_deck_has_both_directions_and_key_facts(material):
    deck = build_deck(material)
    kinds = {k: [c for c in deck if c.kind == k] for k in (TERM, DEFINITION, FACT)}
    assert len(kinds[TERM]) == len(kinds[DEFINITION]) == len(material.terms) == 163
    assert len(kinds[FACT]) >= 100
    assert len({c.key for c in deck}) == len(deck)
    for topic in material.topics:
        assert any(c.kind == FACT for c in build_deck(material, topic.topic)), topic.topic


def test_every_card_cites_the_passage_it_comes_from(material):
    for card in build_deck(material):
        passage = normalise(card.citation.text)
        assert normalise(card.answer) in passage, card.front
        if card.kind == FACT:
            assert BLANK in card.front and normalise(card.back) in passage
        item = card.to_dict()
        assert set(item) == {"front", "back", "topic", "citation"}
        assert set(item["citation"]) == {"source", "section", "text"}


def test_typed_answers_to_cards_are_graded(material, embedder):
    deck = build_deck(material, "gan")
    by_front = next(c for c in deck if c.kind == DEFINITION and c.back == "Discriminator")
    assert grade_recall(by_front, "discriminator").rating == "good"
    assert grade_recall(by_front, "discrimnator").rating == "hard"
    assert grade_recall(by_front, "encoder").rating == "again"
    term = next(c for c in deck if c.kind == TERM and c.key == "term:mode collapse")
    assert grade_recall(term, "the generator only produces a few kinds of output, losing diversity",
                        embedder).rating in ("good", "hard")
    assert grade_recall(term, "a way to tokenize text", embedder).rating == "again"
