"""rag-tutor in the browser: `streamlit run ui/app.py`.

The frame around every page: navigation, the sidebar (learner, new chat, saved chats,
learning path with progress, model status) and the missing/stale-index banner. Each page
lives in ui/views/ (not pages/: that name switches Streamlit to its older
folder-based multipage mode) and only presents what the rag_tutor library returns.
"""

from __future__ import annotations

from datetime import datetime

import streamlit as st

import chat_state
import common
from rag_tutor.study.next_step import suggest

st.set_page_config(
    page_title="rag-tutor",
    page_icon="🎓",  # an emoji favicon is drawn locally; a :material: one is fetched from fonts.gstatic.com
    layout="centered",
    menu_items={"Get help": None, "Report a bug": None,
                "About": "rag-tutor: an offline tutor for generative AI. Answers cite the course material."},
)

PAGES = [
    st.Page("views/chat.py", title="Chat", icon=":material/forum:", default=True),
    st.Page("views/learn.py", title="Learn", icon=":material/route:"),
    st.Page("views/progress.py", title="Progress", icon=":material/monitoring:"),
    st.Page("views/library.py", title="Library", icon=":material/library_books:"),
]


def sidebar(s):
    """Learner, new chat, learning path and model; returns the slot for the model status."""
    with st.sidebar:
        st.markdown("### :material/school: rag-tutor")
        study = common.get_study(s)
        current = study.learner
        try:
            known = study.store.learners()
        except Exception as exc:  # a broken progress file must not take the app down
            common.show_error(exc, "opening the progress database")
            known = []
        options = sorted(set(known) | {current})
        chosen = st.selectbox("Learner", options, index=options.index(current), accept_new_options=True,
                              help="Pick your profile, or type a new name to start one.", key="learner_select")
        if chosen and chosen.strip() and chosen != current:
            chat_state.reset_chat()  # another learner: a fresh conversation and their own quizzes
            st.session_state["learner"] = " ".join(chosen.split())[:64]
            st.query_params["learner"] = st.session_state["learner"]  # a reload keeps the learner
            st.rerun()
        st.button("New chat", icon=":material/add_comment:", on_click=chat_state.reset_chat, width="stretch")
        past_chats()
        learning_path(s)
        st.divider()
        status = st.empty()  # filled after the page ran: the Chat page may load the model
        st.session_state.setdefault("use_adapter", True)
        st.toggle("Use the LoRA adapter", key="use_adapter",
                  help="The tutor's fine-tuned adapter; turn it off to answer with the base model.")
    return status


def past_chats() -> None:
    """The learner's saved chats (title, date): open one, or delete it."""
    try:
        chats = chat_state.past_chats()
        current = chat_state.current_chat()
    except Exception as exc:
        common.show_error(exc, "listing your chats")
        return
    if not chats:
        return
    st.markdown("**Chats**")
    with st.container(height=min(260, 48 * len(chats) + 16), border=False, key="chat-list"):
        today = datetime.now().astimezone().date()
        for chat in chats:
            when = chat.updated_at.astimezone()
            date = f"{when:%H:%M}" if when.date() == today else f"{when:%-d %b}"  # first: a long title hides the end
            left, right = st.columns([7, 1], vertical_alignment="center", gap="small")
            if left.button(f"{date} · {common.md_inline(chat.title)}", key=f"chat-open-{chat.id}",
                           type="primary" if chat.id == current else "tertiary", width="stretch",
                           help=f"{chat.title} · {chat.turns} turns · last used {when:%Y-%m-%d %H:%M}"):
                chat_state.open_chat(chat.id)
                st.switch_page("views/chat.py")
            right.button("", icon=":material/delete:", key=f"chat-delete-{chat.id}", type="tertiary",
                         help="Delete this chat", on_click=chat_state.delete_chat, args=(chat.id,))


def learning_path(s) -> None:
    """Every topic in course order with its mastery bar."""
    if common.current_build(s) is None:
        return
    try:
        report = common.progress(s)
    except Exception as exc:
        common.show_error(exc, "reading your progress")
        return
    st.markdown("**Learning path**")
    nxt = suggest(common.get_study(s), report)
    if nxt.topic:
        st.caption(f"Next up: **{common.md_inline(nxt.title)}**", help=nxt.sentence)
    with st.container(height=260, border=True):
        for t in report.topics:
            st.progress(min(1.0, max(0.0, t.mastery)), text=f"{common.md_inline(t.title)} · {t.mastery:.0%}")


def main() -> None:
    s = common.settings()
    page = st.navigation(PAGES)
    chat_state.adopt_learner_from_url()
    status = sidebar(s)
    common.warm(s)  # the tutor loads in the background while the learner reads and types
    common.index_banner(s)
    try:
        page.run()
    except Exception as exc:  # st.stop/st.rerun are BaseExceptions and pass through
        common.show_error(exc, f"showing the {page.title} page")
    status.caption("**Model** · " + common.model_status(s))


main()
