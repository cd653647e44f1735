"""Teach-me lessons: the grading rule, the hint ladder and the learner's controls, then a real lesson in the chat."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from rag_tutor.config import StudyConfig
from rag_tutor.study.lesson import EXPLAIN, NAME, Idea
from rag_tutor.study.material import BLANK, Citation, Material, Term
from rag_tutor.study.teach import Lesson, Teacher
from rag_tutor.study.teach_grading import PARTIAL, RIGHT, WRONG, Grader, confusion, decide
from clocks import Clock

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)
CONFIG = StudyConfig()


# ---------------------------------------------------------------- the rule, no model


def test_an_explanation_is_right_only_when_close_in_meaning_and_using_a_key_word():
    c = CONFIG
    assert decide(EXPLAIN, c.teach_right_similarity + 0.01, 1, False, c) == RIGHT
    assert decide(EXPLAIN, c.teach_right_alone + 0.01, 0, False, c) == RIGHT  # a close paraphrase
    assert decide(EXPLAIN, c.teach_right_similarity + 0.01, 0, False, c) == PARTIAL  # near, but no key word
    assert decide(EXPLAIN, c.teach_partial_similarity + 0.01, c.teach_right_words, False, c) == RIGHT
    assert decide(EXPLAIN, c.teach_partial_similarity - 0.05, 1, False, c) == PARTIAL  # a key word, far meaning
    assert decide(EXPLAIN, c.teach_partial_similarity - 0.05, 0, False, c) == WRONG


def test_a_name_is_right_only_when_named():
    c = CONFIG
    assert decide(NAME, 0.1, 0, True, c) == RIGHT
    assert decide(NAME, 0.99, 0, False, c) == PARTIAL  # described, not named
    assert decide(NAME, 0.1, 1, False, c) == PARTIAL  # a word of the name
    assert decide(NAME, c.teach_partial_similarity - 0.01, 0, False, c) == WRONG


def test_a_vague_reply_is_partial_when_the_idea_is_among_its_nearest_definitions():
    c, low = CONFIG, CONFIG.teach_partial_similarity - 0.1
    assert decide(EXPLAIN, low, 0, False, c, rank=c.teach_partial_rank) == PARTIAL
    assert decide(EXPLAIN, low, 0, False, c, rank=c.teach_partial_rank + 0.01) == WRONG
    assert decide(NAME, low, 0, False, c, rank=0.01) == PARTIAL


def _term(name: str, definition: str) -> Term:
    cite = Citation("corpus/glossary.md", "Glossary", name, f"{name}: {definition}", f"g#{name}")
    return Term(name, definition, "toy", [], cite, 0, (name,))


def test_a_reply_closer_to_another_definition_names_that_concept():
    terms = [_term("Encoder", "Maps an input to a code."), _term("Critic", "Scores samples.")]
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]], dtype="float32")
    reply = np.array([0.96, 0.28], dtype="float32")  # cosine 0.96 to the encoder's definition
    assert confusion(reply, 0.3, terms, vectors, CONFIG) is terms[0]
    assert confusion(reply, 0.9, terms, vectors, CONFIG) is None  # as close to the idea itself: no confusion
    assert confusion(np.array([0.5, 0.5]), 0.1, terms, vectors, CONFIG) is None  # close to nothing


class WordVectors:
    """A deterministic bag-of-words embedder for the rule tests (the real one is tested below)."""

    def embed(self, texts):
        vocab = ["noise", "image", "code", "score", "input", "critic", "sample", "blur"]
        out = np.array([[t.lower().count(w) for w in vocab] for t in texts], dtype="float32") + 1e-6
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _toy_lesson() -> tuple[Lesson, Material]:
    terms = [_term("Encoder", "Maps an input image to a code."), _term("Critic", "Gives each sample a score.")]
    cite = Citation("corpus/toy.md", "Toy", "Maps and codes", "The encoder maps an input image to a code.", "toy#0")
    ideas = [
        Idea(f"toy:{n}", "toy", f"Section {n}", "The encoder maps an input image to a code.", cite, kind,
             question, "Encoder", "Encoder maps an input image to a code.", terms[0].citation,
             "The encoder maps an input image to a code.", "The encoder maps an input image to a code.", "code",
             ("Maps an input image to a code.",), ("code",), ("Encoder",) if kind == NAME else (), "Encoder",
             "term:encoder")
        for n, (kind, question) in enumerate([(EXPLAIN, 'Explain "Encoder".'), (NAME, "Which term?"),
                                              (EXPLAIN, 'Explain "Encoder" again.')])]
    material = Material([], terms, [], [], np.zeros((0, 8), "float32"))
    return Lesson("toy", "Toy", ideas), material


def _teacher(scheduled: list) -> Teacher:
    lesson, material = _toy_lesson()
    grader = Grader(material, WordVectors(), CONFIG)
    return Teacher(lesson, grader, lambda idea, rating: scheduled.append((idea.key, rating)) or T0, lambda: T0)


def test_the_hint_ladder_nudges_then_blanks_then_tells_never_the_answer_first():
    scheduled: list = []
    t = _teacher(scheduled)
    first, _ = t.start()
    assert "**Check:**" in first and "The answer:" not in first
    said, step = t.reply("no clue about noise")
    assert step.verdict.label == WRONG and "**Hint 1 of 3:**" in said and "Encoder" in said and "The answer:" not in said
    said, step = t.reply("hint")
    assert "**Hint 2 of 3:**" in said and BLANK in said and "The answer:" not in said and step.hints == 2
    said, step = t.reply("it is noise")
    assert said.index("**The answer:**") < said.index("**Recap:**") < said.index("idea 2 of 3")
    assert "Source: *Glossary › Encoder*" in said and step.told and scheduled == [("toy:0", "again")]
    assert t.lesson.position == 1 and t.lesson.hints == 0


def test_right_first_time_is_good_after_hints_hard_and_skip_schedules_nothing():
    scheduled: list = []
    t = _teacher(scheduled)
    t.start()
    said, step = t.reply("it turns an input image into a code")
    assert step.verdict.label == RIGHT and said.startswith("**Right.**") and "idea 2 of 3" in said
    said, step = t.reply("a critic")  # another course term's name
    assert step.verdict.label == WRONG and step.verdict.confused_with.name == "Critic"
    assert "**Critic** is a different idea" in said and "**Hint 1 of 3:**" in said
    assert "Encoder" not in said  # asked for a name, neither the nudge nor the misconception gives it
    said, step = t.reply("Encoder")
    assert step.verdict.label == RIGHT
    said, step = t.reply("skip")
    assert step.done and "Lesson done" in said and "1 skipped" in said
    assert scheduled == [("toy:0", "good"), ("toy:1", "hard")]


def test_each_part_of_a_reply_is_its_own_paragraph_in_plain_words():
    """Markdown joins single line breaks, and a headless browser may have no emoji font: blank lines and words."""
    t = _teacher([])
    replies = [t.start()[0], t.reply("no clue about noise")[0], t.reply("an image code")[0], t.reply("tell me")[0]]
    for said in replies:
        assert not re.search(r"[^\n]\n(?!\n)", said), said  # no line break inside a paragraph
        assert all(ord(c) < 0x2190 for c in said), said  # no emoji or symbol glyphs
    assert replies[1].startswith("**Not yet.**\n\n**Hint 1 of 3:**")
    assert replies[3].startswith("**The answer:**") and "\n\nSource:" in replies[3] and "\n\n**Recap:**" in replies[3]


def test_a_name_given_short_is_right_only_with_its_rarest_word_and_no_other_term_holding_it():
    terms = [_term("Score transformer", "Maps an input image to a score code."), _term("Score critic", "Scores samples."),
             _term("Critic", "Gives each sample a score.")]
    material = Material([], terms, [], [], np.zeros((0, 8), "float32"))
    cite = terms[0].citation
    idea = Idea("toy:n", "toy", "Codes", "x", cite, NAME, "Which term?", "Score transformer", "Score transformer",
                cite, "x", "x", "transformer", ("x",), ("transform", "score"), ("Score transformer",),
                "Score transformer", "term:x")
    grader = Grader(material, WordVectors(), CONFIG)
    assert grader.grade(idea, "a transformer").label == RIGHT  # its rarest (here: longest) word, in no other name
    assert grader.grade(idea, "the transfromer").label == RIGHT  # with a slip
    assert grader.grade(idea, "score").label == PARTIAL  # "score critic" holds it too
    assert grader.grade(idea, "an image transformer").label != RIGHT  # a word that is not the name's


def test_just_tell_me_answers_at_once_and_stop_ends_the_lesson():
    scheduled: list = []
    t = _teacher(scheduled)
    t.start()
    said, step = t.reply("just tell me")
    assert said.startswith("**The answer:**") and "Source:" in said and scheduled == [("toy:0", "again")]
    said, step = t.reply("stop")
    assert step.done and "Lesson stopped" in said and "1 of 3 ideas" in said


# ---------------------------------------------------------------- a real lesson in the chat


@pytest.fixture(scope="module")
def shipped(course_index):
    from rag_tutor.index import load_index

    return course_index, load_index(course_index.index_dir)


@pytest.fixture
def make_session(shipped, embedder, tmp_path):
    from rag_tutor.study.session import StudySession

    settings, index = shipped
    settings = replace(settings, home=tmp_path / "home")
    made = []

    def make(clock):
        s = StudySession(settings, "ada", index=index, embedder=embedder, config=StudyConfig(fsrs_fuzzing=False),
                         clock=clock)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def _idea(reply):
    return reply.lesson.idea


@pytest.mark.model
def test_a_full_teach_loop_through_the_chat(make_session):
    from rag_tutor.chat import Conversation
    from rag_tutor.study.session import HELP

    assert "/teach" in HELP
    clock = Clock(T0)
    session = make_session(clock)
    chat = Conversation(tutor=None, study=session, remember=True)  # no question goes to the tutor here
    reply = chat.send("/teach Generative Adversarial Networks (GANs)").study
    assert session.mode == "teach" and reply.lesson.number == 1 and reply.lesson.total >= 5
    idea = _idea(reply)
    assert idea.topic == "gan" and "Source: *Generative Adversarial Networks (GANs) ›" in reply.text
    assert idea.explanation in reply.text and idea.question in reply.text

    # right: a reply in our own words
    reply = chat.send("Two networks compete: one creates fake samples from random noise, the other learns to "
                      "tell those fakes apart from real data.").study
    assert reply.lesson.verdict.label == RIGHT and "**Recap:**" in reply.text
    card = session.store.cards()[idea.card_key]
    assert card.due > clock.now  # reviewed "good": comes back later, not now

    # partial, then wrong: the ladder in order; the answer only at the end, with its source
    idea = _idea(reply)
    assert idea.kind == NAME and idea.concept == "Generator"
    partial = chat.send("the noise-to-image network").study
    assert partial.lesson.verdict.label == PARTIAL and "**Hint 1 of 3:**" in partial.text and "The answer:" not in partial.text
    wrong = chat.send("overfitting").study
    assert wrong.lesson.verdict.label == WRONG and "**Hint 2 of 3:**" in wrong.text and BLANK in wrong.text
    assert "The answer:" not in wrong.text
    told = chat.send("backpropagation").study
    assert told.lesson.told and re.search(r"\*\*The answer:\*\* Generator.*\n\nSource: \*Glossary", told.text)
    due = session.store.cards()[idea.card_key].due
    assert due - clock.now <= timedelta(minutes=CONFIG.relearn_minutes)  # reviewed "again": due within minutes
    assert told.lesson.number == 3

    # a wrong reply that describes another concept is named, with both sources
    mixed = chat.send("an encoder compresses the input into a latent distribution and a decoder rebuilds it; "
                      "it is trained on the evidence lower bound").study
    assert mixed.lesson.verdict.label == WRONG
    assert mixed.lesson.verdict.confused_with.name == "Variational autoencoder (VAE)"
    assert "That describes **Variational autoencoder (VAE)**" in mixed.text and "Source: *Glossary" in mixed.text
    assert "Discriminator is explained in *Generative Adversarial Networks (GANs) ›" in mixed.text

    # a resumed lesson continues at the same idea and hint
    at, hints = session.teacher.lesson.position, session.teacher.lesson.hints
    assert hints == 1
    later = make_session(Clock(T0))
    again = Conversation(tutor=None, study=later, remember=True)
    resumed = again.resume()
    assert resumed is not None and resumed.study is not None
    assert later.teacher.lesson.position == at and later.teacher.lesson.hints == hints
    assert "Resuming your lesson" in resumed.study.text and "**Hint 1 of 3:**" in resumed.study.text
    skipped = again.send("skip").study
    assert skipped.lesson.number == at + 2
    stopped = again.send("stop").study
    assert stopped.done and later.mode is None and "Lesson stopped" in stopped.text


@pytest.mark.model
def test_teach_me_requests_name_topics_as_the_learn_page_does(make_session):
    session = make_session(Clock(T0))
    assert session.handle("teach me about VAEs").lesson.idea.topic == "vae"
    assert session.handle("/teach gan").lesson.idea.topic == "gan"
    assert session.handle("/teach stop").done and session.mode is None
    assert "don't know a topic" in session.handle("/teach baking bread").text
    session.handle("/teach diffusion")
    assert session.handle("What is a U-Net used for?") is None  # a question for the tutor; the lesson waits
    assert "Lesson paused" in session.reminder()
    assert "still on" in session.handle("/teach").text and session.teacher.lesson.position == 0
    graded = session.handle("what the forward process does is add noise to the data, a little at every step")
    assert graded is not None and graded.lesson.verdict is not None  # a reply, not a question
