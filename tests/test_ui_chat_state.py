"""The chat page's own presentation of library replies (ui/chat_state.py), without running the app."""

from __future__ import annotations

import sys
from pathlib import Path

from markdown_it import MarkdownIt

from rag_tutor.chat import HELP
from rag_tutor.study import HELP as STUDY_HELP

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ui"))  # the app's own modules, as `streamlit run ui/app.py` sees them

import chat_state  # noqa: E402


def test_help_in_the_app_wraps_and_leaves_out_the_terminal_only_commands():
    text = HELP + "\n\n" + STUDY_HELP  # what /help replies, in the terminal as in the app
    assert "/quit" in text
    shown = chat_state.help_markdown(text)
    html = MarkdownIt("commonmark").render(shown)
    assert "/quit" not in shown and "<pre>" not in html  # prose and a list: it wraps like any message
    items = html.count("<li>")
    assert items == sum(1 for line in text.splitlines() if chat_state._COMMAND_LINE.match(line)) - 1
    for command in ("/help", "/new", "/quiz", "/flashcards", "/progress"):
        assert f"<li><code>{command}" in html
    last = text.splitlines()[-1]
    assert last.split()[0] not in html.split("</ul>")[-2]  # the closing line is its own paragraph, after the list
