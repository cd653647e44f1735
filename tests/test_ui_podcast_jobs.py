"""The Learn page makes the suggested topic's audio overview in the background and shows its progress (AppTest,
real index, embedder and Piper voice)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "ui" / "app.py"
sys.path.insert(0, str(ROOT / "ui"))  # the app's own modules, as `streamlit run ui/app.py` sees them

import podcast_jobs  # noqa: E402

RENDER_S = 900  # index, voice and one podcast on a busy CPU


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [i.value for i in at.info]
    return "\n".join(parts + [p.proto.text for p in at.get("progress")])


@pytest.mark.model
def test_the_learn_page_makes_the_next_topics_podcast_in_the_background(tiny_corpus, settings_for, embedder,
                                                                         monkeypatch):
    from rag_tutor.index import build_index
    from rag_tutor.podcast import podcast_status

    settings = settings_for(tiny_corpus)
    build_index(settings, embedder=embedder)
    for name, value in (("HOME", settings.home), ("INDEX_DIR", settings.index_dir), ("CORPUS_DIRS", tiny_corpus)):
        monkeypatch.setenv(f"RAG_TUTOR_{name}", str(value))
    at = AppTest.from_file(str(APP), default_timeout=RENDER_S)
    at.session_state["use_adapter"] = False
    at.run()
    at.switch_page("views/learn.py").run()
    assert not at.exception
    topic = at.session_state["learn_topic"]  # the suggested one, shown first
    assert podcast_status(settings, topic).podcast is None  # nobody asked for it
    job = podcast_jobs.current(settings, topic)
    assert job is not None, "no background render was started for the suggested topic"
    title = next(h.value for h in at.header)
    page = _texts(at)
    assert job.running  # loading the index, the embedder and the voice alone take seconds
    assert f"Audio overview of {title}, made in the background:" in page, page  # its progress, above the tabs
    assert "It is being made in the background now" in page  # the Podcast tab says so; its button waits for it

    job.future.result(timeout=RENDER_S)
    assert podcast_status(settings, topic).podcast is not None
    at.run()
    assert not at.exception
    tab = next(t for t in at.tabs if t.label == "Podcast")
    assert len(tab.get("audio")) == 1  # ready without a click
    assert f"The audio overview of {title} is ready" in _texts(at)
    assert podcast_jobs.start(settings, topic) is job  # never made twice
