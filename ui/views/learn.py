"""Learn: the learning path, one topic at a time: its article, key terms, flashcards, quiz and reading list."""

from __future__ import annotations

import re
import time
from pathlib import Path

import streamlit as st

import chat_state
import common
import podcast_jobs
from rag_tutor.documents import load_document
from rag_tutor.errors import CorpusError
from rag_tutor.errors import RagTutorError
from rag_tutor.index import read_manifest
from rag_tutor.podcast import make_podcast, podcast_status
from rag_tutor.study.cards import build_deck
from rag_tutor.study.next_step import REVIEW, suggest
from rag_tutor.study.path import learning_path


def readable(text: str, title: str) -> str:
    """The document under the page's own header: its leading "# title" dropped, other headings one level down
    (code blocks untouched)."""
    text = re.sub(rf"\A\s*#\s+{re.escape(title)}\s*\n", "", text)
    lines, fenced = [], False
    for line in text.splitlines():
        fenced ^= line.lstrip().startswith("```")
        lines.append(f"#{line}" if not fenced and re.match(r"#{1,5}\s", line) else line)
    return "\n".join(lines)


def article(s, study, step) -> None:
    """The topic's own document as Markdown; the indexed passages if the file has gone."""
    build = common.current_build(s)
    info = read_manifest(build)["documents"].get(step.source, {}) if build else {}
    path = Path(info.get("path", ""))
    try:
        doc = load_document(path, path.parent) if info.get("path") else None
    except CorpusError:
        doc = None
    if doc is not None:
        st.markdown(common.md(readable(doc.text, step.title)))
        return
    st.warning(f"The file behind this topic ({step.source}) is missing or unreadable; showing its indexed "
               "passages. Rebuild the index on the Library page.")
    for chunk in study.material.chunks:
        if chunk.source == step.source:
            st.markdown(f"#### {common.md_inline(chunk.section)}\n\n{common.md(chunk.text)}")


def key_terms(study, topic: str) -> None:
    terms = study.material.terms_for(topic)
    if not terms:
        st.info("This topic has no glossary terms.")
        return
    for term in sorted(terms, key=lambda t: t.name.lower()):
        related = f"  \n*Related:* {common.md_inline(', '.join(term.related))}" if term.related else ""
        st.markdown(f"**{common.md_inline(term.name)}**: {common.md(term.definition)}{related}")


def flashcards(study, topic: str) -> None:
    deck = build_deck(study.material, topic)
    if not deck:
        st.info("This topic has no flashcards.")
        return
    stored = study.store.cards()
    rows = [{"Front": c.front, "Back": c.back,
             "Next review": stored[c.key].due.astimezone() if c.key in stored else None} for c in deck]
    st.caption(f"{len(deck)} cards; {sum(1 for c in deck if c.key in stored)} reviewed so far.")
    st.dataframe(rows, hide_index=True, width="stretch", column_config={
        "Front": st.column_config.TextColumn(width="large"),
        "Back": st.column_config.TextColumn(width="large"),
        "Next review": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
    })


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def _render(s, topic: str, force: bool) -> None:
    bar = st.progress(0.0, text="Starting...")
    job = podcast_jobs.current(s, topic)
    try:
        if job is not None and job.running and not force:
            while job.running:  # being made in the background: wait for it rather than make it twice
                bar.progress(job.share, text=job.text)
                time.sleep(0.5)
            if job.error is not None:
                raise job.error
        else:
            make_podcast(s, topic, force=force,
                         progress=lambda share, text: bar.progress(min(1.0, share), text=text))
    except RagTutorError as exc:
        bar.empty()
        st.error(f"The audio overview could not be made: {exc}")
        return
    st.rerun()


def background_podcast(s, topic: str, title: str) -> None:
    """The progress of the podcast being made in the background for the suggested topic; redrawn every two
    seconds while it runs, then the whole page once, so that the Podcast tab plays it."""
    job = podcast_jobs.current(s, topic)
    if job is None:
        return
    flag = "_podcast_job_running"

    def show() -> None:
        if job.running:
            st.session_state[flag] = topic
            st.progress(job.share, text=f"Audio overview of {title}, made in the background: {job.text}")
        elif job.error is not None:
            st.caption(f"The audio overview of {common.md_inline(title)} could not be made in the background: "
                       f"{common.md_inline(common.message_of(job.error, 'making the audio overview'))}")
        elif st.session_state.pop(flag, None) == topic:
            st.rerun()  # the Podcast tab plays it now
        else:
            st.caption(f":material/podcasts: The audio overview of {common.md_inline(title)} is ready "
                       "(Podcast tab).")

    st.fragment(show, run_every=2 if job.running else None)()


def podcast(s, topic: str) -> None:
    """The topic's audio overview: player, chapters, and the transcript with each line's source."""
    status = podcast_status(s, topic)
    pod = status.podcast
    if pod is None:
        job = podcast_jobs.current(s, topic)
        when = ("It is being made in the background now (its progress is above) and plays here when ready."
                if job is not None and job.running else "Making it takes about a minute, once; it is kept for "
                "next time.")
        st.info("Listen to this lesson: a host asks, a guide answers from the course material, in about "
                f"3 minutes. {when}")
        if st.button("Make the audio overview", icon=":material/podcasts:", key="podcast-make", type="primary"):
            _render(s, topic, force=False)
        return
    if status.stale:
        st.warning(f"This audio overview is out of date: {status.reason}. You can still play the old one.")
        if st.button("Make it again from the current material", icon=":material/refresh:", key="podcast-remake"):
            _render(s, topic, force=True)
    start_key = f"podcast_start_{topic}"
    st.audio(str(pod.audio), format="audio/wav", start_time=int(st.session_state.get(start_key, 0)))
    st.caption(f"{_clock(pod.duration_s)} · {pod.engine} voices · {len(pod.script.sources)} sources")
    st.html(common.CHAPTER_CSS)  # chapter titles wrap instead of ending in "…"
    chapters, transcript = st.columns([1, 2], gap="large")
    with chapters:
        st.markdown("**Chapters**")
        for i, chapter in enumerate(pod.script.chapters):
            if st.button(f"{_clock(chapter.start_s)} · {chapter.title}", key=f"podcast-chapter-{i}", type="tertiary"):
                st.session_state[start_key] = chapter.start_s
                st.rerun()
    with transcript:
        st.markdown("**Transcript**")
        for line in pod.script.lines:
            who = "Host" if line.speaker == "host" else "Guide"
            cite = f" [{line.source}]" if line.source else ""
            st.markdown(f"`{_clock(line.start_s)}` **{who}:** {common.md_inline(line.text)}{cite}")
    st.markdown("**Sources**")
    for n, c in enumerate(pod.script.sources, 1):
        quotes = [ln.text for ln in pod.script.lines if ln.source == n]
        common.render_source(c.title, c.section, c.source, c.text, quotes[0] if quotes else "", n)


def suggestion(nxt, key: str) -> None:
    """What the adaptive path suggests and why, with a button that starts it in the chat."""
    with st.container(border=True):
        if nxt.topic is None:
            st.markdown(f"**Suggested next:** {common.md_inline(nxt.sentence)}")
            return
        idea = f"  \nNext idea: *{common.md_inline(nxt.section)}*" if nxt.section else ""
        text, go = st.columns([3, 1], vertical_alignment="center")
        text.markdown(f"**Suggested next: {common.md_inline(nxt.title)}** · {common.md_inline(nxt.sentence)}{idea}")
        label = f"Review {nxt.due} due" if nxt.action == REVIEW else "Start the lesson"
        if go.button(label, icon=":material/arrow_forward:", key=key, width="stretch"):
            chat_state.send(nxt.command)
            st.switch_page("views/chat.py")


def reading_list(step) -> None:
    if not step.resources:
        st.info("The reading list has no section about this topic.")
        return
    for c in step.resources:
        common.render_source(c.title, c.section, c.source, c.text)


s = common.settings()
study = common.get_study(s)
steps = learning_path(study.material, study.config)
report = study.report()
progress = {t.topic: t for t in report.topics}

st.title("Learn")
if not steps:
    st.info("The index has no topic documents yet. Add some on the Library page.")
    st.stop()
ids = [step.topic for step in steps]
nxt = suggest(study, report)
suggestion(nxt, "learn-next")
if nxt.topic in ids and s.podcast.prepare_next:
    podcast_jobs.start(s, nxt.topic)  # usually ready by the time the learner opens the Podcast tab
    background_podcast(s, nxt.topic, steps[ids.index(nxt.topic)].title)
if st.session_state.get("learn_topic") not in ids:
    st.session_state["learn_topic"] = nxt.topic if nxt.topic in ids else ids[0]
topic = st.selectbox(
    "Topic", ids, key="learn_topic",
    format_func=lambda t: f"{ids.index(t) + 1}. {steps[ids.index(t)].title} · {progress[t].mastery:.0%} mastered"
    if t in progress else t)
step = steps[ids.index(topic)]
if st.session_state.get("_marked_studied") != (study.learner, topic):
    study.store.mark_studied(topic, study.clock())  # opening a topic counts as studying it
    st.session_state["_marked_studied"] = (study.learner, topic)

st.header(common.md_inline(step.title))
if step.summary:
    st.markdown(f"*{common.md(step.summary)}*")
mine = progress.get(topic)
if mine:
    st.progress(min(1.0, mine.mastery), text=f"Mastery {mine.mastery:.0%} · quiz {mine.quiz_correct}/"
                f"{mine.quiz_answered} · cards seen {mine.cards_seen}/{mine.cards_total} · due {mine.cards_due}")
if topic != nxt.topic:
    chosen = suggest(study, report, topic)
    if chosen.missing:  # the learner chose a topic ahead of the path: say what it builds on
        st.warning(common.md_inline(chosen.sentence), icon=":material/route:")
teach, left, right = st.columns([1, 1, 1])
if teach.button("Teach me", icon=":material/school:", type="primary", key="learn-teach",
                help="A short lesson in the chat: an explanation, then a question to check you understood"):
    chat_state.send(f"/teach {topic}")
    st.switch_page("views/chat.py")
if left.button("Quiz me on this topic", icon=":material/quiz:", key="learn-quiz"):
    chat_state.start_quiz(topic, f"Quiz me on {step.title}")
    st.switch_page("views/chat.py")
if right.button(f"Review its {step.cards} flashcards", icon=":material/style:", key="learn-cards"):
    chat_state.start_cards(topic, f"Flashcards on {step.title}")
    st.switch_page("views/chat.py")

tabs = st.tabs(["Article", "Podcast", "Key terms", "Flashcards", "Reading list"])
with tabs[0]:
    article(s, study, step)
with tabs[1]:
    podcast(s, topic)
with tabs[2]:
    key_terms(study, topic)
with tabs[3]:
    flashcards(study, topic)
with tabs[4]:
    reading_list(step)
