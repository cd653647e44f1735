"""Teach-me in a real browser: the Learn page says what it suggests and why, a topic chosen ahead of the path names
what it builds on, "Teach me" opens the lesson in the chat, and a wrong, a partly right and a right reply get the
first hint, the second hint, then the recap with the card scheduled. Screenshots: artifacts/e2e/teach-*.png."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.model]

STEP_S = 120  # one page or one graded reply on a busy CPU (the first grade loads the embedder)
WRONG = "It is a kind of database index for storing files."
PARTLY = "Two networks compete: a generator turns random noise into fakes and a discriminator tries to spot them."
RIGHT = ("A framework introduced by Goodfellow in 2014 where a generator makes fake data from noise and a "
         "discriminator tries to tell it from real data.")


def say(page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def last_turn(page):
    return page.get_by_test_id("stChatMessage").last


def test_learn_page_teach_me_runs_a_lesson_with_hints_in_the_chat(page, app_url, shot):
    from playwright.sync_api import expect

    page.goto(f"{app_url}?learner=teach-e2e")  # a new learner: other browser tests share the app's data
    page.get_by_test_id("stSidebarNav").get_by_text("Learn", exact=True).click()
    expect(page.get_by_role("heading", name="Learn", exact=True)).to_be_visible(timeout=STEP_S * 1000)
    main = page.get_by_test_id("stMain")
    suggestion = main.get_by_text(re.compile(r"Suggested next: What Is Generative AI\?"))
    expect(suggestion).to_be_visible(timeout=STEP_S * 1000)
    expect(main.get_by_text(re.compile(r"is the first topic of the path\."))).to_be_visible()
    expect(main.get_by_text(re.compile(r"Next idea: Definition of generative AI"))).to_be_visible()
    expect(main.get_by_role("button", name="Start the lesson")).to_be_visible()
    shot("teach-01-learn-suggestion")

    main.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name=re.compile(r"Generative Adversarial Networks")).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Generative Adversarial Networks"))).to_be_visible(
        timeout=STEP_S * 1000)
    warning = main.get_by_test_id("stAlert").filter(has_text="which you haven't started")
    expect(warning).to_be_visible(timeout=STEP_S * 1000)
    expect(warning).to_contain_text("GANs builds on Autoregressive and Transformer Models and VAEs")
    shot("teach-02-ahead-of-the-path")

    main.get_by_role("button", name="Teach me", exact=True).click()
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=STEP_S * 1000)
    lesson = page.get_by_test_id("stChatMessage").filter(has_text="Lesson: Generative Adversarial Networks")
    expect(lesson).to_be_visible(timeout=STEP_S * 1000)
    expect(lesson).to_contain_text("idea 1 of ")
    expect(lesson).to_contain_text("Source: Generative Adversarial Networks (GANs) › Origins")
    expect(lesson).to_contain_text('Check: In your own words, explain "Generative adversarial network (GAN)".')
    expect(page.get_by_test_id("stChatMessage").filter(has_text="/teach gan")).to_have_count(1)
    shot("teach-03-explanation-and-check")

    say(page, WRONG)
    expect(last_turn(page)).to_contain_text("Not yet.", timeout=STEP_S * 1000)
    expect(last_turn(page)).to_contain_text("Hint 1 of 3:")
    expect(last_turn(page).locator("p").filter(has_text="Not yet.")).to_have_text("Not yet.")  # its own paragraph
    assert "The answer:" not in last_turn(page).inner_text()  # never the answer first
    shot("teach-04-wrong-first-hint")

    say(page, PARTLY)
    expect(last_turn(page)).to_contain_text("Partly right", timeout=STEP_S * 1000)
    expect(last_turn(page)).to_contain_text("Hint 2 of 3: fill the blank in the key sentence")
    expect(last_turn(page)).to_contain_text("_____")
    shot("teach-05-partly-right-second-hint")

    say(page, RIGHT)
    turn = last_turn(page)
    expect(turn).to_contain_text("Right.", timeout=STEP_S * 1000)
    expect(turn).to_contain_text("Recap: Generative adversarial networks were introduced by Ian Goodfellow")
    expect(turn).to_contain_text("Its flashcard is scheduled: next review in")
    expect(turn).to_contain_text("idea 2 of ")  # the lesson moves on to the next idea
    turn.scroll_into_view_if_needed()
    shot("teach-06-right-recap-next-idea")
    assert not page.errors, page.errors
