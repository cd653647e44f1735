"""The app remembers, in a real browser: a reload mid-conversation and mid-quiz brings both back; an off-topic
question after the conversation is declined; a long paste is cut with a notice. Screenshots go to artifacts/e2e/conversations-*.png."""

from __future__ import annotations

import re

import pytest

from rag_tutor.generator import DEFAULT_ADAPTER

pytestmark = [pytest.mark.e2e, pytest.mark.model]

QUESTION = "How does the encoder of a variational autoencoder describe an input?"
OFF_TOPIC = "How long should I knead dough for sourdough bread?"
FIRST_ANSWER_S = 600  # model load plus one answer on a busy CPU
STEP_S = 60


def ask(page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def open_app(page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=STEP_S * 1000)
    if not (DEFAULT_ADAPTER / "adapter_model.safetensors").exists():
        page.get_by_test_id("stSidebar").get_by_text("Use the LoRA adapter").click()


def quiz_form(page):
    return page.locator("[class*='st-key-quiz-']").filter(has=page.get_by_role("button", name="Submit answer")).last


def test_a_reload_mid_conversation_and_mid_quiz_keeps_both(page, app_url, shot):
    from playwright.sync_api import expect

    open_app(page, app_url)
    ask(page, QUESTION)
    answer = page.get_by_test_id("stChatMessage").filter(has=page.get_by_test_id("stExpander")).last
    expect(answer).to_be_visible(timeout=FIRST_ANSWER_S * 1000)
    answer_text = answer.get_by_test_id("stMarkdownContainer").first.inner_text()

    ask(page, "/quiz vae 3")
    quiz = quiz_form(page)
    expect(quiz.get_by_test_id("stRadioGroup").or_(quiz.get_by_role("textbox")).first).to_be_visible(
        timeout=STEP_S * 1000)
    if quiz.get_by_test_id("stRadioGroup").count():
        quiz.get_by_test_id("stRadioGroup").locator("label").first.click()
    else:
        quiz.get_by_role("textbox").fill("an encoder")
    quiz.get_by_role("button", name="Submit answer").click()
    expect(page.get_by_text(re.compile(r"Question 2 of 3")).last).to_be_visible(timeout=STEP_S * 1000)
    expect(page).to_have_url(re.compile(r"[?&]chat=\d+"), timeout=STEP_S * 1000)
    waiting = quiz_form(page).locator("strong").first.inner_text()
    shot("conversations-01-before-reload")

    page.reload()
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=STEP_S * 1000)
    expect(page.get_by_test_id("stChatMessage").filter(has_text=QUESTION)).to_have_count(1, timeout=STEP_S * 1000)
    restored = page.get_by_test_id("stChatMessage").filter(has=page.get_by_test_id("stExpander")).first
    expect(restored.get_by_test_id("stMarkdownContainer").first).to_have_text(answer_text)
    restored.locator("[data-testid='stExpander'] summary").first.click()
    expect(restored.locator("[data-testid='stExpander'] mark").first).to_be_visible(timeout=STEP_S * 1000)
    expect(page.get_by_test_id("stAlert").filter(has_text=re.compile(r"Correct\.|Not quite\.")).first).to_be_visible()
    quiz = quiz_form(page)  # question 2 waits for its answer again
    expect(quiz).to_be_visible(timeout=STEP_S * 1000)
    expect(quiz.get_by_text(re.compile(r"Question 2 of 3"))).to_be_visible()
    assert quiz.locator("strong").first.inner_text() == waiting
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_role("button", name=re.compile(r"How does the encoder"))).to_be_visible()
    quiz.scroll_into_view_if_needed()
    shot("conversations-02-after-reload")

    # Another chat, then back to this one from the sidebar.
    sidebar.get_by_role("button", name="New chat").click()
    expect(page.get_by_test_id("stChatMessage")).to_have_count(1, timeout=STEP_S * 1000)  # the welcome only
    sidebar.get_by_role("button", name=re.compile(r"How does the encoder")).click()
    expect(page.get_by_test_id("stChatMessage").filter(has_text=QUESTION)).to_have_count(1, timeout=STEP_S * 1000)
    expect(quiz_form(page)).to_be_visible(timeout=STEP_S * 1000)
    shot("conversations-03-opened-from-sidebar")

    # After this conversation about VAEs, a question about baking is declined as in a fresh chat.
    ask(page, OFF_TOPIC)
    declined = page.get_by_test_id("stChatMessage").filter(has_text="doesn't cover this").last
    expect(declined).to_be_visible(timeout=FIRST_ANSWER_S * 1000)
    assert "[1]" not in declined.inner_text()
    declined.scroll_into_view_if_needed()
    shot("conversations-04-off-topic-declined")
    assert not page.errors, page.errors


def test_a_long_paste_is_cut_with_a_notice(page, app_url, shot):
    from playwright.sync_api import expect

    open_app(page, app_url)
    pasted = ("Explain how a diffusion model turns noise into an image. " * 90)[:5000]
    ask(page, pasted)
    notice = page.get_by_test_id("stAlert").filter(has_text="only the first 2,000 were used")
    expect(notice).to_be_visible(timeout=STEP_S * 1000)
    assert "characters long" in notice.inner_text()
    notice.scroll_into_view_if_needed()
    shot("conversations-05-long-paste-notice")
