"""The adaptive next step: due cards first, then the earliest unmastered topic whose prerequisites are mastered,
a topic asked for ahead of the path with what it builds on, and the reason given for each."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from rag_tutor.config import StudyConfig
from rag_tutor.study.next_step import DONE, LEARN, REVIEW, choose, short_name
from rag_tutor.study.path import ProgressReport, TopicProgress
from clocks import Clock

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
TITLES = [("intro", "What Is Generative AI?"), ("vae", "Variational Autoencoders (VAEs)"),
          ("gan", "Generative Adversarial Networks (GANs)"), ("diffusion", "Diffusion and Score-Based Models")]


def course(**state: dict) -> ProgressReport:
    """Four topics in path order, each unstarted unless ``state[topic]`` sets its fields."""
    topics = [TopicProgress(t, title, 0.0, 0, 0, 0, 20, 0, None) for t, title in TITLES]
    topics = [replace(t, **state.get(t.topic, {})) for t in topics]
    return ProgressReport("ada", topics, sum(t.cards_due for t in topics), None, [])


MASTERED = {"mastery": 0.85, "cards_seen": 20, "studied_at": T0}


def test_a_new_learner_starts_at_the_first_topic():
    action, topic, reason, _ = choose(course())
    assert (action, topic.topic) == (LEARN, "intro")
    assert reason == "What Is Generative AI? is the first topic of the path"


def test_mastering_a_topic_moves_the_path_on_and_says_so():
    action, topic, reason, _ = choose(course(intro=MASTERED, vae={**MASTERED, "mastery": 0.82}))
    assert (action, topic.topic) == (LEARN, "gan")
    assert reason == "you have mastered VAEs (82%); next in the path is GANs"


def test_a_started_topic_below_the_bar_is_continued_before_a_later_one():
    report = course(intro=MASTERED, vae={"mastery": 0.4, "cards_seen": 8, "studied_at": T0},
                    gan={"mastery": 0.6, "cards_seen": 12, "studied_at": T0})
    action, topic, reason, _ = choose(report)
    assert (action, topic.topic) == (LEARN, "vae")  # GANs is further along, but it builds on VAEs
    assert reason.startswith("you are at 40% on VAEs")


def test_due_cards_come_before_new_material_most_due_first():
    report = course(intro=MASTERED, vae={**MASTERED, "cards_due": 1}, gan={"mastery": 0.3, "cards_seen": 6,
                                                                           "cards_due": 3, "studied_at": T0})
    action, topic, reason, _ = choose(report)
    assert (action, topic.topic) == (REVIEW, "gan")
    assert reason == "3 cards on GANs are due"
    action, topic, reason, _ = choose(report, StudyConfig(due_first=4))  # under the threshold: new material
    assert (action, topic.topic) == (LEARN, "gan")
    assert choose(course(intro={**MASTERED, "cards_due": 1}))[2] == "1 card on What Is Generative AI? is due"


def test_a_topic_ahead_of_the_path_is_never_suggested_but_is_given_when_asked_with_a_warning():
    report = course(intro=MASTERED, gan={"mastery": 0.2, "cards_seen": 3, "studied_at": T0})
    assert choose(report)[1].topic == "vae"  # GANs was started, but VAEs before it was not
    action, topic, reason, missing = choose(report, asked="diffusion")
    assert (action, topic.topic, missing) == (LEARN, "diffusion", ("vae",))
    assert reason == "Diffusion and Score-Based Models builds on VAEs, which you haven't started; the path starts " \
                     "with VAEs"
    _, _, reason, missing = choose(course(), StudyConfig(prerequisites_named=2), asked="diffusion")
    assert missing == ("intro", "vae", "gan")
    assert reason.startswith("Diffusion and Score-Based Models builds on VAEs and GANs (and 1 earlier topic), which "
                             "you haven't started; the path starts with What Is Generative AI?")
    _, _, reason, missing = choose(report, asked="vae")  # everything before it started: no warning
    assert missing == () and reason == "you asked for VAEs, and you have started everything before it"


def test_a_topic_without_cards_neither_gates_nor_is_suggested():
    report = course(intro={"cards_total": 0}, vae=MASTERED)
    assert choose(report)[1].topic == "gan"


def test_every_topic_mastered_means_nothing_new():
    report = course(**{t: MASTERED for t, _ in TITLES})
    assert choose(report)[:2] == (DONE, None)


@pytest.mark.parametrize("title,name", [("Generative Adversarial Networks (GANs)", "GANs"),
                                        ("Diffusion and Score-Based Models", "Diffusion and Score-Based Models")])
def test_short_names(title, name):
    assert short_name(title) == name


# ---------------------------------------------------------------- on the real course, through the chat


@pytest.fixture(scope="module")
def index(course_index):
    from rag_tutor.index import load_index

    return load_index(course_index.index_dir)


@pytest.mark.model
def test_path_follows_due_cards_then_the_next_idea_on_the_real_course(course_index, index, embedder, tmp_path):
    from rag_tutor.study.lesson import build_lesson
    from rag_tutor.study.next_step import suggest
    from rag_tutor.study.session import StudySession

    clock = Clock(T0)
    session = StudySession(replace(course_index, home=tmp_path), "ada", index=index, embedder=embedder,
                           config=StudyConfig(fsrs_fuzzing=False), clock=clock)
    first = suggest(session)
    assert (first.action, first.topic, first.command) == (LEARN, "intro", "/teach intro")
    assert first.section == "Definition of generative AI as learning a data distribution"  # its lesson's first idea
    text = session.handle("what should I study next?").text
    assert text.startswith("**Next: What Is Generative AI?** (/teach intro): What Is Generative AI? is the first "
                           "topic of the path. Next idea: *Definition of generative AI as learning a data "
                           "distribution*.")

    reply = session.handle("/flashcards gan")  # three GAN cards learnt, then a month passes
    for _ in range(3):
        session.handle("show")
        reply = session.handle("good")
    session.handle("stop")
    clock.now += timedelta(days=30)
    due = suggest(session)
    assert (due.action, due.topic, due.command) == (REVIEW, "gan", "/flashcards gan")
    assert due.reason == f"{due.due} cards on GANs are due" and due.due == 3
    assert session.handle("/path").text.startswith(f"**Next: GANs** (/flashcards gan): {due.due} cards on GANs")
    reply = session.handle("/flashcards")
    while not reply.done:
        reply = session.handle("show")
        reply = session.handle("easy")
    after = suggest(session)
    assert after.action == LEARN and after.topic == "intro"  # nothing due: back to the path

    # one idea taught (the answer shown: its card reviewed "again"): the next idea is the lesson's second one
    ideas = build_lesson(session.material, "intro", session.config)
    assert ideas[0].section == first.section
    assert session.handle("/teach intro").lesson.idea == ideas[0]
    session.handle("just tell me")
    session.handle("stop")
    moved = suggest(session)
    assert (moved.action, moved.topic, moved.section) == (LEARN, "intro", ideas[1].section)
    started = session.handle("/teach")  # no topic: the suggested one, from its first idea not yet learnt
    assert started.text.startswith(f"_Suggested: {moved.sentence}_\n\n**Lesson: What Is Generative AI?**")
    assert f"Starting at idea 2 of {len(ideas)}; idea 1 is already learnt." in started.text
    assert started.lesson.idea == ideas[1] and started.lesson.number == 2
    assert "1 already learnt" in session.handle("stop").text
    clock.now += timedelta(hours=1)  # the card shown again soon after "again" is due: reviewing it comes first
    again = suggest(session)
    assert (again.action, again.topic, again.reason) == (REVIEW, "intro", "1 card on What Is Generative AI? is due")

    warned = session.handle("/path diffusion").text  # intro and GANs were started above, the rest was not
    assert ("(/teach diffusion): Diffusion and Score-Based Models builds on Autoregressive and Transformer Models "
            "and VAEs (and 2 earlier topics), which you haven't started; the path starts with History and "
            "Milestones of Generative AI.") in warned
    session.close()
