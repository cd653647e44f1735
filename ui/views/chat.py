"""Chat: streamed, cited answers; quizzes and flashcards inside the conversation."""

from __future__ import annotations

from datetime import datetime, timezone
from itertools import chain

import streamlit as st

import chat_state
import common
from rag_tutor.study import render
from rag_tutor.study.grading import LETTERS

ASSISTANT = ":material/school:"
USER = ":material/person:"
RATINGS = ("again", "hard", "good", "easy")
EXAMPLES = ("What is a VAE?", "How do diffusion models work?")
# Material icons come from Streamlit's bundled font; emoji need a system emoji font the learner may not have.
RIGHT, WRONG, OPTION = ":green[:material/check_circle:]", ":red[:material/cancel:]", ":material/radio_button_unchecked:"

# Our own fixed CSS: a flashcard's front is one big button (click to flip), its back a tinted panel.
CARD_CSS = """<style>
[class*="st-key-flip-"] button {min-height: 8rem; border-radius: 0.8rem; box-shadow: 0 2px 6px rgba(0,0,0,0.08);}
[class*="st-key-flip-"] button p {font-size: 1.15rem;}
[class*="st-key-cardback-"] {background: rgba(59,130,246,0.07); border-radius: 0.8rem;}
</style>"""


def topic_title(study, topic: str) -> str:
    found = study.material.topic(topic)
    return found.title if found else topic


# ---------------------------------------------------------------- answers


def answer_topic(answer) -> str | None:
    """The course topic an answer is about: its first cited topic document, else the glossary term it cites."""
    topics = {p.chunk_id: p.topic for p in answer.passages}
    for c in answer.citations:
        topic = topics.get(c.chunk_id, "")
        if topic and topic != "glossary":
            return topic
    return answer.citations[0].section if answer.citations else None


def sources(answer, anchor: str) -> None:
    """The passages an answer cites, each with the quoted sentences marked."""
    if answer.citations:
        st.caption(f"**Sources** · {len(answer.citations)} passage(s) from the course")
        for c in answer.citations:
            common.render_source(c.title, c.section, c.source, c.text, c.quotes or c.quote, n=c.n,
                                 anchor=f"{anchor}-{c.n}")


def answer_body(turn: dict) -> None:
    answer = turn["answer"]
    for notice in answer.notices:
        st.caption(f":material/info: {common.md_inline(notice)}")
    anchor = f"src-{turn['id']}"
    st.markdown(common.cited_markdown(common.md(answer.answer), anchor, [c.n for c in answer.citations]))
    if answer.declined:
        # a decline for close passages that do not answer shows the nearest sentence's passage, to judge for oneself
        sources(answer, anchor)
        if answer.suggestions:
            st.caption("Closest topics in the course:")
            cols = st.columns(len(answer.suggestions))
            for i, title in enumerate(answer.suggestions):
                cols[i].button(common.md_inline(title), key=f"suggest-{turn['id']}-{i}", icon=":material/lightbulb:",
                               on_click=chat_state.ask, args=(f"Tell me about {title}",), width="stretch")
        return
    if answer.mode == "extractive":
        st.caption("The model's own wording could not be checked against the course, so this answer quotes the "
                   "most relevant sentences instead.")
    sources(answer, anchor)
    topic = answer_topic(answer)
    if topic:
        left, right, rest = st.columns([1, 1, 1.2])
        left.button("Quiz me on this", key=f"quizme-{turn['id']}", icon=":material/quiz:",
                    on_click=chat_state.start_quiz, args=(topic, "Quiz me on this"))
        right.button("Make flashcards", key=f"cards-{turn['id']}", icon=":material/style:",
                     on_click=chat_state.start_cards, args=(topic, "Make flashcards on this"))
        took = answer.timings.get("total_s")
        if took:
            rest.caption(f"Answered in {took:.1f} s")


def answer_live(s, stream) -> None:
    """Stream the model's raw text, then replace it with the verified answer and its sources."""
    with st.chat_message("assistant", avatar=ASSISTANT):
        slot = st.empty()
        try:
            with slot.container():
                common.get_tutor(s)  # loaded once; the first time under its own spinner
            pieces = common.defanged(stream)
            with slot.container():
                with st.spinner("Searching the course material…"):
                    first = next(pieces, "")
                st.write_stream(chain([first], pieces), cursor="▌")
            answer = stream.answer
        except Exception as exc:
            text = common.message_of(exc, "answering")
            chat_state.add("assistant", "error", text=text)
            chat_state.save()
            slot.error(text, icon=":material/error:")
            return
        turn = chat_state.add("assistant", "answer", answer=answer)
        chat_state.save()
        study = chat_state.conversation().study
        with slot.container():
            answer_body(turn)
            note = study.reminder()
            if note:
                st.caption(common.md(note))


# ---------------------------------------------------------------- quiz questions


def quiz_body(turn: dict, study, active: bool) -> None:
    q, feedback, tid = turn["question"], turn["feedback"], turn["id"]
    if turn["intro"]:
        st.markdown(common.md(turn["intro"]))
    with st.container(border=True, key=f"quiz-{tid}"):
        st.caption(f"Question {turn['number']} of {turn['total']} · {common.md_inline(topic_title(study, q.topic))}")
        st.markdown(f"**{common.md(q.question)}**")
        if active:
            with st.form(f"quizform-{tid}", border=False):
                if q.options:
                    st.radio("Your answer", list(range(len(q.options))), index=None, key=f"answer-{tid}",
                             format_func=lambda i: f"{LETTERS[i]}. {common.md_inline(q.options[i])}",
                             label_visibility="collapsed")
                else:
                    st.text_input("Your answer", key=f"answer-{tid}", placeholder="Type the term or phrase…")
                st.form_submit_button("Submit answer", type="primary", icon=":material/check:", key=f"submit-{tid}",
                                      on_click=chat_state.submit_answer, args=(tid,))
            st.caption("You can also type your answer in the chat box.")
        elif q.options:
            for i, option in enumerate(q.options):
                mark = OPTION
                if feedback is not None and i == q.answer_index:
                    mark = RIGHT
                elif feedback is not None and not feedback.correct and feedback.given == option:
                    mark = WRONG
                st.markdown(f"{mark} {LETTERS[i]}. {common.md_inline(option)}")
        if turn.get("hint"):
            st.caption(common.md(turn["hint"]))
        if feedback is not None:
            if feedback.correct:
                st.success(f"**Correct.** {common.md(feedback.explanation)}", icon=":material/check_circle:")
            else:
                given = f"You answered *{common.md_inline(feedback.given)}*. " if not q.options else ""
                right = q.answer
                if q.answer_index is not None:  # a long option (a definition) is already in the explanation
                    said = q.answer.rstrip(".").lower() in feedback.explanation.lower()
                    right = LETTERS[q.answer_index] + ("" if said else f". {q.answer}")
                why = common.md(feedback.explanation)
                chosen = feedback.chosen_citation if feedback.chosen_explanation else None
                if chosen is not None:  # the wrong choice is another course term: say what it is, then why
                    label = (LETTERS[q.options.index(feedback.given)] if feedback.given in q.options
                             else f"*{common.md_inline(feedback.given)}*")
                    right_label = f"Why {LETTERS[q.answer_index]}" if q.answer_index is not None else "Why"
                    why = (f"**Why not {label}:** {common.md(feedback.chosen_explanation)}  \n"
                           f"**{right_label}:** {why}")
                st.error(f"**Not quite.** {given}The answer is **{common.md_inline(right.rstrip('.'))}**.  \n"
                         f"{why}", icon=":material/cancel:")
                if chosen is not None:
                    common.render_source(chosen.title, chosen.section, chosen.source, chosen.text,
                                         feedback.chosen_evidence)
            c = feedback.citation
            common.render_source(c.title, c.section, c.source, c.text, q.evidence)
            if not feedback.correct and feedback.due is not None:
                st.caption(f":material/style: The flashcard for *{common.md_inline(q.concept)}* is in your review "
                           "now (/flashcards).")


# ---------------------------------------------------------------- flashcards


def card_body(turn: dict, study, active: bool) -> None:
    card, feedback, tid = turn["card"], turn["feedback"], turn["id"]
    if turn["intro"]:
        st.markdown(common.md(turn["intro"]))
    st.caption(f"Card {turn['number']} of {turn['total']} · {common.md_inline(topic_title(study, card.topic))}")
    if not turn["flipped"]:
        st.button(common.md_inline(card.front), key=f"flip-{tid}", on_click=chat_state.flip, args=(tid,),
                  width="stretch", help="Click to flip the card")
        if active:
            st.caption("Click the card to see its back, or type your answer in the chat box.")
    else:
        with st.container(border=True, key=f"cardback-{tid}"):
            st.caption(common.md_inline(card.front))
            st.markdown(f"**{common.md(card.back)}**")
        quote = card.back if card.kind == "fact" else card.answer if card.kind == "term" else ""
        c = card.citation
        common.render_source(c.title, c.section, c.source, c.text, quote)
        if active:
            st.caption("How well did you know it?")
            cols = st.columns(len(RATINGS))
            for col, rating in zip(cols, RATINGS):
                col.button(rating.capitalize(), key=f"rate-{tid}-{rating}", on_click=chat_state.rate, args=(rating,),
                           width="stretch", type="primary" if rating == "good" else "secondary")
    if turn.get("hint") and active:
        st.caption(common.md(turn["hint"]))
    if feedback is not None:
        now = datetime.now(timezone.utc)
        typed = f"You typed *{common.md_inline(feedback.given)}* · " if feedback.given else ""
        mark = RIGHT if feedback.correct else WRONG
        st.caption(f"{mark} {typed}Rated **{feedback.rating}** · next review {render.when(feedback.due, now)}")


# ---------------------------------------------------------------- the page


def render_turn(turn: dict, study) -> None:
    user = turn["role"] == "user"
    with st.chat_message(turn["role"], avatar=USER if user else ASSISTANT):
        kind = turn["kind"]
        if kind == "answer":
            answer_body(turn)
        elif kind == "quiz":
            quiz_body(turn, study, chat_state.is_active(turn, study))
        elif kind == "card":
            card_body(turn, study, chat_state.is_active(turn, study))
        elif kind == "error":
            st.error(turn["text"], icon=":material/error:")
        else:
            st.markdown(common.md(turn["text"]))
        for notice in turn.get("notices") or ():
            st.warning(common.md(notice), icon=":material/content_cut:")


def welcome() -> None:
    with st.chat_message("assistant", avatar=ASSISTANT):
        st.markdown("Hi! Ask me anything about generative AI. Every answer cites the course passages it comes "
                    "from as **[n]**. I can also quiz you and run flashcards: try `/quiz gans` or "
                    "*review VAEs*, or `/help` for everything.")
        cols = st.columns(len(EXAMPLES) + 1)
        for col, question in zip(cols, EXAMPLES):
            col.button(question, on_click=chat_state.ask, args=(question,), width="stretch")
        cols[-1].button("Quiz me on GANs", on_click=chat_state.start_quiz, args=("gan", "Quiz me on GANs"),
                        width="stretch", icon=":material/quiz:")


s = common.settings()
st.html(CARD_CSS)
st.html(common.CITE_JS, unsafe_allow_javascript=True)
study = chat_state.conversation().study
welcome()  # always first: the turns below keep their places while a run is in progress
for turn in chat_state.turns():
    render_turn(turn, study)
# No max_chars: the browser would drop a longer paste without a word; Conversation.bounded cuts it and says so.
st.chat_input("Ask about generative AI, answer a quiz, or type /help", key="chat_line",
              on_submit=chat_state.send)
unsaved = st.session_state.pop(chat_state.UNSAVED, None)
if unsaved:
    st.warning(unsaved, icon=":material/save:")
pending = st.session_state.pop(chat_state.PENDING, None)
if pending is not None:
    answer_live(s, pending)
elif common.current_build(s) is not None and not common.tutor_loaded(s, st.session_state.get("use_adapter", True)):
    error = common.tutor_load_error(s, st.session_state.get("use_adapter", True))
    if error is not None:  # a question tries the load again
        common.show_error(error, "loading the tutor")
    else:
        st.caption(":material/hourglass_top: The tutor is loading in the background; you can ask already.")
