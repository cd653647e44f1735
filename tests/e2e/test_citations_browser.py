"""Citations in the text, in a real browser: a click on an answer's [n] opens its source, scrolls it into view and
marks whole sentences; /help wraps and leaves out /quit; at 390x844 the Library page has no sideways scroll.
Screenshots go to artifacts/e2e/citations-*.png."""

from __future__ import annotations

import re

import pytest

from rag_tutor.generator import DEFAULT_ADAPTER

pytestmark = [pytest.mark.e2e, pytest.mark.model]

# Our own question: the course answers it from more than one sentence.
QUESTION = "Explain what the generator and the discriminator each try to achieve."
FIRST_ANSWER_S = 600  # model load plus one answer on a busy CPU
STEP_S = 60

# What a clicked [n] shows: its expander open, where the box and the marked sentence are on screen, and the
# marked sentences (their <mark> pieces joined) of that source.
MARKED_JS = """(anchor) => {
  const box = document.querySelector('.st-key-' + anchor);
  return !!box && !!box.querySelector('details[open]') && box.querySelectorAll('mark.rt-now').length > 0;
}"""
STATE_JS = """(anchor) => {
  const box = document.querySelector('.st-key-' + anchor);
  const details = box.querySelector('details');
  const rect = (el) => { const r = el.getBoundingClientRect(); return [r.top, r.bottom]; };
  const now = [...box.querySelectorAll('mark.rt-now')];
  const sentences = {};
  for (const m of box.querySelectorAll('mark.rt-hl')) {
    sentences[m.dataset.s] = (sentences[m.dataset.s] || []).concat([m.textContent]);
  }
  const before = (m) => {  // the text of the passage block before a mark's sentence starts
    const block = m.closest('p, li, pre, h1, h2, h3, h4, td');
    const range = document.createRange();
    range.setStart(block, 0);
    range.setEndBefore(m);
    const text = range.cloneContents();
    text.querySelectorAll('br').forEach((br) => br.replaceWith('\\n'));  // a line break ends a line
    return text.textContent.split('\\n').pop();
  };
  const firsts = {};
  for (const m of box.querySelectorAll('mark.rt-hl')) if (!(m.dataset.s in firsts)) firsts[m.dataset.s] = before(m);
  return {open: details.open, box: rect(box), height: window.innerHeight,
          now: now.map(rect), nowSentences: [...new Set(now.map((m) => m.dataset.s))],
          sentences: Object.fromEntries(Object.entries(sentences).map(([k, v]) => [k, v.join('')])),
          before: firsts};
}"""


def open_app(page, url: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=STEP_S * 1000)
    if not (DEFAULT_ADAPTER / "adapter_model.safetensors").exists():
        page.get_by_test_id("stSidebar").get_by_text("Use the LoRA adapter").click()


def ask(page, text: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")


def assert_whole_sentences(state: dict) -> None:
    assert state["sentences"], "no sentence is highlighted in the source"
    for sid, text in state["sentences"].items():
        text = " ".join(text.split())
        assert re.match(r"^[\"'(<]?[A-Z0-9]", text), f"highlight starts mid-sentence: {text!r}"
        assert re.search(r"[.!?:;)\]\w]$", text), f"highlight ends mid-sentence: {text!r}"
        before = state["before"][sid].rstrip()
        assert before == "" or before[-1] in ".!?:;", f"highlight starts after {before[-30:]!r}: {text!r}"


def test_clicking_a_citation_opens_its_source_with_whole_sentences_marked(page, app_url, shot):
    from playwright.sync_api import expect

    open_app(page, app_url)
    ask(page, QUESTION)
    answer = page.get_by_test_id("stChatMessage").filter(has=page.get_by_test_id("stExpander")).last
    expect(answer).to_be_visible(timeout=FIRST_ANSWER_S * 1000)
    links = answer.locator("a[href^='#src-']")
    expect(links.first).to_be_visible(timeout=STEP_S * 1000)
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert all(re.fullmatch(r"#src-\d+-\d+-q\d+", h) for h in hrefs), hrefs
    assert [re.sub(r"\D", "", links.nth(i).inner_text()) for i in range(len(hrefs))] == [
        h.split("-")[2] for h in hrefs]  # the [n] shown is the source the link opens
    answer.scroll_into_view_if_needed()
    shot("citations-01-answer")

    # Scrolled to the top of the page first, so that the source has to come into view.
    page.evaluate("() => { for (const el of document.querySelectorAll('*')) if (el.scrollTop) el.scrollTop = 0; }")
    tried = []
    for i, href in enumerate(hrefs[:3]):
        anchor = re.match(r"#(src-\d+-\d+)", href).group(1)
        expanders = page.locator(f".st-key-{anchor} details")
        expect(expanders).to_have_count(1)
        links.nth(i).click()
        # The source opens and marks the clicked sentence: on a busy 2-core runner that can take longer than the
        # fixed wait that used to be here (CI once found nothing marked after 1.2 s; alone it takes well under).
        page.wait_for_function(MARKED_JS, arg=anchor, timeout=STEP_S * 1000)
        page.wait_for_timeout(1200)  # the expander's opening animation, then the scroll to the marked sentence
        state = page.evaluate(STATE_JS, anchor)
        assert state["open"], f"{href}: the source did not open"
        top, bottom = state["box"]
        assert top < state["height"] and bottom > 0, f"{href}: the source is not in view ({top}, {bottom})"
        assert state["now"], f"{href}: nothing marked for this sentence"
        assert len(state["nowSentences"]) >= 1
        for t, b in state["now"]:
            assert 0 <= t and b <= state["height"], f"{href}: the marked sentence is off screen ({t}, {b})"
        assert_whole_sentences(state)
        tried.append(href)
        shot(f"citations-0{i + 2}-source-{i + 1}")
    assert tried
    assert not page.errors, page.errors


def test_help_wraps_without_quit(page, app_url, shot):
    from playwright.sync_api import expect

    open_app(page, app_url)
    ask(page, "/help")
    reply = page.get_by_test_id("stChatMessage").filter(has_text="/flashcards").last
    expect(reply).to_be_visible(timeout=STEP_S * 1000)
    assert "/quit" not in reply.inner_text()
    assert reply.locator("pre").count() == 0
    assert reply.locator("li").count() >= 5
    wide = reply.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert wide[0] <= wide[1] + 1, f"the help is wider than its message: {wide}"
    reply.scroll_into_view_if_needed()
    shot("citations-05-help")


def test_library_has_no_sideways_scroll_on_a_phone(browser, app_url, artifacts):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(app_url.rstrip("/") + "/library")
        expect(page.get_by_role("heading", name="Library", exact=True)).to_be_visible(timeout=STEP_S * 1000)
        docs = page.locator(".st-key-docs-narrow .rt-docs li")
        expect(docs.first).to_be_visible(timeout=STEP_S * 1000)
        assert docs.count() >= 10
        assert not page.locator(".st-key-docs-wide").is_visible()
        widths = page.evaluate("""() => {
          const main = document.querySelector('[data-testid="stMain"]');
          const over = [...main.querySelectorAll('*')].filter((el) => {
            const r = el.getBoundingClientRect();
            return r.width > 0 && r.right > window.innerWidth + 1;
          }).map((el) => (el.getAttribute('data-testid') || el.tagName) + ' ' + Math.round(el.getBoundingClientRect().right));
          return {doc: document.documentElement.scrollWidth, main: main.scrollWidth, mainClient: main.clientWidth,
                  inner: window.innerWidth, over: over.slice(0, 8)};
        }""")
        assert widths["doc"] <= widths["inner"] and widths["main"] <= widths["mainClient"], widths
        assert not widths["over"], widths
        page.screenshot(path=str(artifacts / "citations-06-library-390.png"), full_page=True)
    finally:
        context.close()
