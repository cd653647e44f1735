"""A wrong quiz answer in a real browser: the feedback says why the chosen option is wrong (with its own source)
and why the right one is right, and the concept's flashcard is then due in /flashcards and counted on Progress.

The wrong option is chosen from the quiz the app saved in the learner database (the served app's RAG_TUTOR_HOME):
the first multiple-choice question's first option that is not its answer. Questions of other kinds before it are
answered right. Screenshots: artifacts/e2e/quiz-feedback-01..03.png.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timezone

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.model]

STEP_S = 120  # one page or one graded answer on a busy CPU
LETTERS = "ABCDEFGH"
QUIZ = "/quiz gans 6"
LEARNER = "quiz-feedback-e2e"  # a learner of its own: the served app's data is shared by every browser test
OWN = "learner_id = (SELECT id FROM learners WHERE name = ?)"


def say(page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def open_question(home) -> dict:
    """The waiting question of the learner's open quiz, as the app saved it, with its position."""
    db = sqlite3.connect(f"file:{home / 'progress.db'}?mode=ro", uri=True)
    try:
        quiz_id, questions = db.execute(f"SELECT id, questions FROM quizzes WHERE status = 'open' AND {OWN} "
                                        "ORDER BY started_at DESC, id DESC LIMIT 1", (LEARNER,)).fetchone()
        answered = db.execute("SELECT COUNT(*) FROM quiz_attempts WHERE quiz_id = ?", (quiz_id,)).fetchone()[0]
    finally:
        db.close()
    return {**json.loads(questions)[answered], "position": answered}


def due_cards(home) -> list[tuple[str, str]]:
    """(card key, topic) of every card due now."""
    db = sqlite3.connect(f"file:{home / 'progress.db'}?mode=ro", uri=True)
    try:
        rows = db.execute(f"SELECT card_key, topic, due FROM cards WHERE {OWN}", (LEARNER,)).fetchall()
    finally:
        db.close()
    now = datetime.now(timezone.utc).timestamp()
    return [(k, t) for k, t, due in rows if due <= now]


def active_quiz(page, position: int):
    from playwright.sync_api import expect

    quiz = page.locator("[class*='st-key-quiz-']").last
    expect(quiz).to_contain_text(f"Question {position + 1} of", timeout=STEP_S * 1000)
    expect(quiz.get_by_role("button", name="Submit answer")).to_be_visible(timeout=STEP_S * 1000)
    expect(quiz.get_by_test_id("stRadioGroup").or_(quiz.get_by_role("textbox")).first).to_be_visible(
        timeout=STEP_S * 1000)
    return quiz


def test_a_wrong_answer_is_explained_and_its_card_comes_back(page, app_url, app_home, shot, artifacts):
    from playwright.sync_api import expect

    page.goto(f"{app_url}?learner={LEARNER}")
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=STEP_S * 1000)
    say(page, QUIZ)

    # Answer right until a multiple-choice question comes; answer it wrong.
    for n in range(6):
        quiz = active_quiz(page, n)
        q = open_question(app_home)
        assert q["position"] == n, q
        if n == 0:
            assert not due_cards(app_home)  # a new learner: nothing due yet
        if q["kind"] == "mcq":
            break
        if q["options"]:
            quiz.get_by_test_id("stRadioGroup").locator("label").nth(q["answer_index"]).click()
        else:
            quiz.get_by_role("textbox").fill(q["answer"])
        quiz.get_by_role("button", name="Submit answer").click()
        expect(page.get_by_test_id("stAlert").filter(has_text="Correct.")).to_have_count(q["position"] + 1,
                                                                                       timeout=STEP_S * 1000)
    else:
        pytest.fail(f"no multiple-choice question in {QUIZ}")

    right = q["answer_index"]
    wrong = next(i for i in range(len(q["options"])) if i != right)
    quiz.get_by_test_id("stRadioGroup").locator("label").nth(wrong).click()
    quiz.scroll_into_view_if_needed()
    shot("quiz-feedback-01-wrong-option-chosen")
    quiz.get_by_role("button", name="Submit answer").click()

    graded = page.get_by_test_id("stAlert").filter(has_text="Not quite.")
    expect(graded).to_have_count(1, timeout=STEP_S * 1000)
    text = " ".join(graded.inner_text().split())
    text = text[text.index("Not quite."):]  # after the icon's name
    # The right letter, why the chosen option is wrong, then why the right one is right.
    assert f"The answer is {LETTERS[right]}" in text, text
    assert re.search(rf"Why not {LETTERS[wrong]}: \S.{{10,}}Why {LETTERS[right]}: \S.{{10,}}", text), text
    why_not = text.split(f"Why not {LETTERS[wrong]}:")[1].split(f"Why {LETTERS[right]}:")[0]
    chosen = q["options"][wrong].lower()
    assert any(w in why_not.lower() for w in (q["concept"].lower(), chosen, chosen.split()[0])), \
        why_not  # it speaks of the chosen option: by its name, or as another concept's definition
    # Each explanation has its source: the chosen option's passage, then the question's own.
    turn = page.get_by_test_id("stChatMessage").filter(has=graded)
    sources = turn.locator("[data-testid='stExpander'] summary")
    expect(sources).to_have_count(2, timeout=STEP_S * 1000)
    labels = [s.inner_text().strip() for s in sources.all()]
    assert labels[0] != labels[1], labels
    sources.first.click()
    expect(turn.locator("[data-testid='stExpander'] mark").first).to_be_visible(timeout=STEP_S * 1000)
    note = turn.get_by_text(re.compile(r"is in your review now"))
    expect(note).to_contain_text(q["concept"])
    graded.scroll_into_view_if_needed()
    shot("quiz-feedback-02-why-not-and-why")
    (artifacts / "quiz-feedback.txt").write_text(text + "\n")  # the feedback as the learner read it

    # The concept's card is due now, and /flashcards (due cards) shows it.
    due = due_cards(app_home)
    assert len(due) == 1, due
    key, _topic = due[0]
    say(page, "/quiz stop")
    expect(page.get_by_test_id("stChatMessage").filter(has_text="Quiz stopped.")).to_have_count(
        1, timeout=STEP_S * 1000)
    say(page, "/flashcards")
    intro = page.get_by_test_id("stChatMessage").filter(has_text="Flashcards: due cards")
    expect(intro).to_contain_text("1 due", timeout=STEP_S * 1000)
    front = page.locator("[class*='st-key-flip-'] button:visible").last
    expect(front).to_be_visible(timeout=STEP_S * 1000)
    if key.startswith("term:"):
        expect(front).to_contain_text(f'What does "{q["concept"]}" mean?')
    front.scroll_into_view_if_needed()
    shot("quiz-feedback-03-card-due-in-review")

    # Progress lists it among the concepts most often missed (a table drawn on a canvas: its caption shows
    # only when something was missed).
    page.get_by_test_id("stSidebarNav").get_by_text("Progress", exact=True).click()
    expect(page.get_by_role("heading", name="Concepts most often missed")).to_be_visible(timeout=STEP_S * 1000)
    expect(page.get_by_text("A missed question puts its concept's flashcard into your review")).to_be_visible(
        timeout=STEP_S * 1000)
    assert not page.get_by_text("No missed quiz questions yet.").count()
    assert not page.errors, page.errors
