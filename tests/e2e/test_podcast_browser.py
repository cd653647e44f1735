"""A topic's audio overview in a real browser: the player loads the WAV, chapters and transcript are shown."""

from __future__ import annotations

import re
import shutil

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.model]

STEP_S = 90


def test_topic_page_plays_its_podcast_in_chromium(page, app_url, app_home, rendered, shot):
    from playwright.sync_api import expect

    settings, podcast, _ = rendered
    shutil.copytree(podcast.audio.parent, app_home / podcast.audio.parent.name, dirs_exist_ok=True)

    page.goto(app_url)
    page.get_by_test_id("stSidebarNav").get_by_text("Learn", exact=True).click()
    expect(page.get_by_role("heading", name="Learn", exact=True)).to_be_visible(timeout=STEP_S * 1000)
    page.get_by_test_id("stMain").get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name=re.compile(r"Diffusion and Score-Based")).click()
    expect(page.get_by_role("heading", name=re.compile(r"^Diffusion and Score-Based"))).to_be_visible(
        timeout=STEP_S * 1000)
    page.get_by_role("tab", name="Podcast").click()

    player = page.locator("audio")
    expect(player).to_have_count(1, timeout=STEP_S * 1000)
    # the browser fetched the WAV and read its header: a real, playable 2-4 minute file
    page.wait_for_function("() => { const a = document.querySelector('audio'); return a && a.readyState >= 1; }",
                           timeout=STEP_S * 1000)
    duration = page.evaluate("() => document.querySelector('audio').duration")
    assert 120 <= duration <= 240
    assert abs(duration - podcast.duration_s) < 1.0
    first_guide = next(ln for ln in podcast.script.lines if ln.speaker == "guide")
    expect(page.get_by_text(first_guide.text[:60], exact=False).filter(visible=True).first).to_be_visible(timeout=STEP_S * 1000)
    expect(page.get_by_text(re.compile(r"^Host:")).filter(visible=True).first).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^0:00 · Introduction"))).to_be_visible()
    player.scroll_into_view_if_needed()
    shot("13-podcast")
    assert not page.errors, page.errors
