"""The Streamlit app, driven headlessly with AppTest: each page, a chat turn, a quiz, a flashcard, a rebuild, errors.

The fast tests fake the tutor (no model); the ``model`` tests use the real embedder,
index and, for the chat turn, the real LLM.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rag_tutor.answer import Answer, AnswerStream, Citation
from rag_tutor.errors import RagTutorError
from rag_tutor.generator import DEFAULT_ADAPTER
from rag_tutor.retrieval import Passage
from rag_tutor.study.grading import LETTERS

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "ui" / "app.py"
sys.path.insert(0, str(ROOT / "ui"))  # the app's own modules, as `streamlit run ui/app.py` sees them

import common  # noqa: E402

ANSWER_TIMEOUT = 600  # seconds: model load plus one answer on a busy CPU


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    """Point the app at temp folders; returns a function that sets the index and corpus folders."""
    monkeypatch.setenv("RAG_TUTOR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RAG_TUTOR_INDEX_DIR", str(tmp_path / "no-index"))

    def use(index_dir: Path | None = None, corpus: Path | None = None) -> None:
        if index_dir is not None:
            monkeypatch.setenv("RAG_TUTOR_INDEX_DIR", str(index_dir))
        if corpus is not None:
            monkeypatch.setenv("RAG_TUTOR_CORPUS_DIRS", str(corpus))

    return use


def new_app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["use_adapter"] = (DEFAULT_ADAPTER / "adapter_model.safetensors").exists()
    return at


def texts(at) -> str:
    """Everything a learner reads on the page, as one string."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for kind in ("error", "warning", "info", "success") for e in getattr(at, kind)]
    parts += [e.label for e in at.expander] + [h.proto.body for h in at.get("html")]
    return "\n".join(parts)


def assistant_turns(at):
    return [m for m in at.chat_message if m.name == "assistant"]


# ---------------------------------------------------------------- a fake tutor for the fast tests


PASSAGE = ("The forward process gradually corrupts an image with Gaussian noise over many steps. "
           "After enough steps the image is pure noise.")


class FakeTutor:
    """Streams fixed pieces, then a verified answer with one citation; or raises, like a failing model."""

    def __init__(self, fail: Exception | None = None):
        self.fail = fail
        self.questions = []

    def stream(self, question, history):
        self.questions.append((question, list(history)))
        out = AnswerStream(iter(()))

        def pieces():
            if self.fail:
                raise self.fail
            yield "The forward process adds noise "
            yield "step by step [1]."
            cite = Citation(1, "corpus/07-diffusion.md", "Diffusion models", "The forward process", PASSAGE,
                            "corpus/07-diffusion.md#1", 0.8, PASSAGE.split(". ")[0] + ".")
            passage = Passage("corpus/07-diffusion.md", "Diffusion models", "The forward process", PASSAGE, 1.0,
                              "corpus/07-diffusion.md#1", "diffusion", 0.7)
            out.answer = Answer(question, "The forward process adds Gaussian noise step by step [1].", False,
                                [cite], [passage], {"total_s": 0.1}, "generated", "raw")

        out._pieces = pieces()
        return out


@pytest.fixture
def fake_tutor(monkeypatch):
    def install(tutor: FakeTutor) -> FakeTutor:
        monkeypatch.setattr(common, "get_tutor", lambda s: tutor)
        return tutor

    return install


# ---------------------------------------------------------------- fast: no model


def test_every_page_explains_a_missing_index_and_keeps_running(app_env):
    at = new_app().run()
    assert not at.exception
    assert "no usable index" in texts(at)
    at.chat_input[0].set_value("What is a GAN?").run()
    assert not at.exception
    assert any("No index in" in e.value for e in at.error)  # the chat turn says what is wrong and what to do
    assert at.chat_input  # and the chat is still there
    for page in ("views/learn.py", "views/progress.py"):
        at.switch_page(page).run()
        assert not at.exception
        assert any("No index in" in e.value and "rag-tutor index" in e.value for e in at.error), page
    at.switch_page("views/library.py").run()
    assert not at.exception and "No index has been built yet" in texts(at)


def test_chat_turn_renders_the_verified_answer_with_numbered_sources(app_env, fake_tutor):
    tutor = fake_tutor(FakeTutor())
    at = new_app().run()
    at.chat_input[0].set_value("What is the forward process?").run()
    assert not at.exception
    reply = assistant_turns(at)[-1]
    answer = [m.value for m in reply.markdown]
    assert any("adds Gaussian noise step by step [[1]](#src-" in a for a in answer)  # verified text, [1] a link
    labels = [e.label for e in reply.expander]
    assert labels == [r"\[1\] Diffusion models › The forward process"]
    html = reply.get("html")[0].proto.body
    assert "<mark" in html and "corrupts an image with Gaussian noise" in html
    assert [b.label for b in reply.button] == ["Quiz me on this", "Make flashcards"]
    at.chat_input[0].set_value("Who proposed it?").run()
    assert tutor.questions[-1] == ("Who proposed it?", ["What is the forward process?"])  # follow-up history


def test_model_output_and_corpus_text_are_never_rendered_as_html():
    html = common.passage_html("<script>alert(1)</script> **bold** ![x](http://evil/t.png)", "alert(1)")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert common.md("see ![x](http://evil/t.png)") == "see !\\[x](http://evil/t.png)"
    assert "".join(common.defanged(["look !", "[x](http://evil)"])) == "look !\\[x](http://evil)"


def test_a_model_failure_becomes_a_message_and_the_chat_goes_on(app_env, fake_tutor):
    fake_tutor(FakeTutor(fail=RagTutorError("the language model failed while answering (RuntimeError)")))
    at = new_app().run()
    at.chat_input[0].set_value("What is a VAE?").run()
    assert not at.exception
    assert any("The language model failed while answering" in e.value for e in at.error)
    fake_tutor(FakeTutor())
    at.chat_input[0].set_value("What is the forward process?").run()
    assert any("[1]" in m.value for m in assistant_turns(at)[-1].markdown)


def test_unexpected_errors_are_summarised_not_raised(app_env, fake_tutor):
    fake_tutor(FakeTutor(fail=ValueError("boom")))
    at = new_app().run()
    at.chat_input[0].set_value("What is a VAE?").run()
    assert not at.exception
    assert any("Something went wrong while answering (ValueError: boom)" in e.value for e in at.error)


def test_uploads_are_validated_renamed_and_deduplicated(app_env, tiny_corpus):
    app_env(corpus=tiny_corpus)
    at = new_app().run()
    at.switch_page("views/library.py").run()
    uploader = at.file_uploader[0]
    uploader.set_value([
        ("../../etc/My notes (v2).md", b"# My notes\n\nA GAN has a generator and a discriminator.\n", "text/markdown"),
        ("broken.pdf", b"%PDF-1.4 not really a pdf", "application/pdf"),
        ("copy.md", (tiny_corpus / "05-vae.md").read_bytes(), "text/markdown"),
        ("empty.txt", b"   \n", "text/plain"),
        ("big.txt", b"a" * (common.UPLOAD_MAX_MB * 2**20 + 1), "text/plain"),
    ])
    at.button(key="upload-submit").click().run()
    assert not at.exception
    page = texts(at)
    assert (tiny_corpus / "My-notes-v2.md").exists() and not (tiny_corpus.parent / "etc").exists()
    assert "saved as `My-notes-v2.md`" in page
    assert "broken.pdf** was not added: unreadable PDF" in page
    assert "already in the corpus as `05-vae.md`" in page
    assert "empty.txt** was not added: empty file" in page
    assert "above the 10 MB limit" in page
    assert sorted(p.name for p in tiny_corpus.iterdir()) == ["05-vae.md", "07-diffusion.md", "My-notes-v2.md",
                                                            "glossary.md"]


def reopened(chat_id: int | None = None, learner: str | None = None) -> AppTest:
    """A new browser session (a reload, or the app restarted) at the address the chat left behind."""
    at = new_app()
    if chat_id is not None:
        at.query_params["chat"] = str(chat_id)
    if learner is not None:
        at.query_params["learner"] = learner
    return at.run()


def chat_buttons(at) -> list[str]:
    return [b.label for b in at.sidebar.button if (b.key or "").startswith("chat-open-")]


def test_a_reload_brings_the_conversation_and_its_follow_up_history_back(app_env, fake_tutor):
    tutor = fake_tutor(FakeTutor())
    at = new_app().run()
    at.chat_input[0].set_value("What is the forward process?").run()
    at.chat_input[0].set_value("/help").run()
    chat_id = at.session_state["_conversation"].chat_id
    assert chat_id is not None and at.query_params.get("chat") in (str(chat_id), [str(chat_id)])

    again = reopened(chat_id)
    assert not again.exception
    kinds = [(t["role"], t["kind"]) for t in again.session_state["chat_turns"]]
    assert kinds == [("user", "text"), ("assistant", "answer"), ("user", "text"), ("assistant", "study")]
    reply = assistant_turns(again)[1]  # after the welcome message
    assert any("adds Gaussian noise step by step [[1]](#src-" in m.value for m in reply.markdown)
    assert [e.label for e in reply.expander] == [r"\[1\] Diffusion models › The forward process"]
    assert "<mark" in reply.get("html")[0].proto.body  # the cited sentence is still highlighted
    again.chat_input[0].set_value("Who proposed it?").run()
    assert tutor.questions[-1] == ("Who proposed it?", ["What is the forward process?"])
    assert len(reopened(chat_id).session_state["chat_turns"]) == 6  # the reopened chat went on, saved


def test_the_sidebar_lists_opens_and_deletes_past_chats(app_env, fake_tutor):
    fake_tutor(FakeTutor())
    at = new_app().run()
    assert chat_buttons(at) == []  # nothing saved yet: no list
    at.chat_input[0].set_value("What is the forward process?").run()
    at.sidebar.button[0].click().run()  # New chat
    assert at.session_state["chat_turns"] == []
    at.chat_input[0].set_value("How is noise added?").run()
    labels = chat_buttons(at)
    assert len(labels) == 2 and re.fullmatch(r"\d\d:\d\d · How is noise added\?", labels[0]), labels
    assert labels[1].endswith(" · What is the forward process?")
    first = next(b for b in at.sidebar.button if b.label == labels[1])
    first.click().run()
    assert not at.exception
    assert [t.get("text") for t in at.session_state["chat_turns"] if t["role"] == "user"] == [
        "What is the forward process?"]
    current = at.session_state["_conversation"].chat_id
    at.sidebar.button(key=f"chat-delete-{current}").click().run()
    assert not at.exception
    assert at.session_state["chat_turns"] == []  # the open chat was deleted: a new one
    assert [label.split(" · ")[1] for label in chat_buttons(at)] == ["How is noise added?"]
    assert reopened(current).session_state["chat_turns"] == []  # gone for good


def test_each_learner_has_their_own_chats_and_a_reload_keeps_the_learner(app_env, fake_tutor):
    fake_tutor(FakeTutor())
    at = new_app().run()
    at.chat_input[0].set_value("What is the forward process?").run()
    at = reopened(learner="grace")  # a new profile, typed in the sidebar, is kept in the address
    assert at.sidebar.selectbox(key="learner_select").value == "grace"
    assert at.session_state["chat_turns"] == [] and chat_buttons(at) == []
    at.chat_input[0].set_value("How is noise added?").run()
    grace_chat = at.session_state["_conversation"].chat_id
    again = reopened(grace_chat, learner="grace")
    assert [label.split(" · ")[1] for label in chat_buttons(again)] == ["How is noise added?"]
    assert len(again.session_state["chat_turns"]) == 2
    assert reopened(grace_chat).session_state["chat_turns"] == []  # not the default learner's chat


def test_a_long_paste_is_cut_to_the_limit_with_a_notice(app_env, fake_tutor):
    tutor = fake_tutor(FakeTutor())
    at = new_app().run()
    pasted = "Explain the forward process." + " noise" * 1000  # 6,028 characters
    at.chat_input[0].set_value(pasted).run()
    assert not at.exception
    limit = common.settings().max_question_chars
    asked = tutor.questions[-1][0]
    assert 0 < len(asked) <= limit
    shown = [w.value for w in at.warning]
    assert any(f"{len(pasted):,} characters long; only the first {limit:,} were used" in w for w in shown), shown
    assert any("[1]" in m.value for m in assistant_turns(at)[-1].markdown)  # and it was answered


# ---------------------------------------------------------------- with the real embedder, index and LLM


@pytest.mark.model
def test_index_page_rebuilds_reports_and_flags_a_stale_index(app_env, tiny_corpus, tmp_path):
    app_env(index_dir=tmp_path / "index", corpus=tiny_corpus)
    at = new_app().run()
    at.switch_page("views/library.py").run()
    at.button(key="rebuild").click().run(timeout=300)
    assert not at.exception
    assert any("Indexed (full rebuild): 3 added" in s.value for s in at.success)
    assert "no usable index" not in texts(at)
    table = at.dataframe[0].value
    assert sorted(table["Source"]) == ["corpus/05-vae.md", "corpus/07-diffusion.md", "corpus/glossary.md"]
    assert set(table["Status"]) == {"up to date"}

    (tiny_corpus / "08-flows.md").write_text("# Flows\n\nA normalizing flow is an invertible network.\n")
    at.run()
    assert "index is out of date with the corpus (1 added" in texts(at)
    at.switch_page("views/chat.py").run()
    assert "index is out of date with the corpus (1 added" in texts(at)  # flagged on every page
    at.switch_page("views/library.py").run()
    assert "new, not indexed yet" in set(at.dataframe[0].value["Status"])
    at.button(key="rebuild").click().run(timeout=300)
    assert any("incremental update): 1 added, 0 changed, 0 removed, 3 unchanged" in s.value for s in at.success)
    assert "out of date" not in texts(at)


@pytest.mark.model
def test_chat_turn_streams_a_real_answer_with_its_sources(app_env, course_index):
    app_env(index_dir=course_index.index_dir)
    at = new_app()
    at.run(timeout=ANSWER_TIMEOUT)  # opening the chat loads the model
    at.chat_input[0].set_value("What does the forward process of a diffusion model do?").run(timeout=ANSWER_TIMEOUT)
    assert not at.exception and not at.error
    turn = at.session_state["chat_turns"][-1]
    answer = turn["answer"]
    assert not answer.declined and answer.citations
    reply = assistant_turns(at)[-1]
    shown = "\n".join(m.value for m in reply.markdown)
    assert answer.answer in re.sub(r"\[(\[\d+\])\]\(#src-\d+-\d+-q\d+\)", r"\1", shown)  # each [n] a link
    markers = sorted({int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)})
    labels = [e.label for e in reply.expander]
    assert markers == [c.n for c in answer.citations] == list(range(1, len(labels) + 1))
    for c, label in zip(answer.citations, labels):
        assert label.startswith(rf"\[{c.n}\] ") and common.md_inline(c.title) in label
    assert any("<mark" in h.proto.body for h in reply.get("html"))


def asked_without_adapter(app_env, course_index, question: str):
    """A fresh chat asked one question; its answer and the assistant's turn as shown."""
    app_env(index_dir=course_index.index_dir)
    at = new_app()
    at.session_state["use_adapter"] = False
    at.run(timeout=ANSWER_TIMEOUT)
    at.chat_input[0].set_value(question).run(timeout=ANSWER_TIMEOUT)
    return at.session_state["chat_turns"][-1]["answer"], assistant_turns(at)[-1]


@pytest.mark.model
def test_an_off_topic_question_is_declined_with_topic_buttons(app_env, course_index):
    _, reply = asked_without_adapter(app_env, course_index, "What is the capital of France?")
    assert any("doesn't cover this" in m.value for m in reply.markdown)
    assert reply.button and all(b.key.startswith("suggest-") for b in reply.button)


@pytest.mark.model
def test_a_decline_for_close_passages_shows_the_closest_sentence_and_its_source(app_env, course_index):
    from rag_tutor.answer import CLOSEST, NO_NUMBER

    answer, reply = asked_without_adapter(app_env, course_index, "What learning rate should a GAN discriminator use?")
    assert answer.declined and answer.answer.startswith(f"{NO_NUMBER} {CLOSEST}") and len(answer.citations) == 1
    assert [e.label for e in reply.expander][0].startswith(r"\[1\] ")  # the passage, to judge for oneself
    assert any(b.key.startswith("suggest-") for b in reply.button)


@pytest.mark.model
def test_a_quiz_is_answered_by_radio_and_by_typing_and_scored(app_env, course_index):
    app_env(index_dir=course_index.index_dir)
    at = new_app().run(timeout=ANSWER_TIMEOUT)
    at.chat_input[0].set_value("/quiz vae 2").run()
    assert not at.exception
    turn = at.session_state["chat_turns"][-1]
    assert turn["kind"] == "quiz" and turn["number"] == 1
    question = turn["question"]
    if question.options:  # choose the right option in the radio group and submit the form
        at.radio(key=f"answer-{turn['id']}").set_value(question.answer_index)
    else:
        at.text_input(key=f"answer-{turn['id']}").set_value(question.answer)
    at.button(key=f"submit-{turn['id']}").click().run()
    assert not at.exception
    assert any(s.value.startswith("**Correct.**") for s in at.success)  # feedback in place ...
    assert any(e.label.startswith(common.md_inline(question.citation.title)) for e in at.expander)  # ... cited
    second = at.session_state["chat_turns"][-1]
    assert second["kind"] == "quiz" and second["number"] == 2
    q2 = second["question"]
    wrong = LETTERS[(q2.answer_index + 1) % len(q2.options)] if q2.options else "xyzzy"
    at.chat_input[0].set_value(wrong).run()  # a typed (wrong) answer
    assert not at.exception
    shown = next(e.value for e in at.error if e.value.startswith("**Not quite.**"))
    assert (f"**{LETTERS[q2.answer_index]}" if q2.options else common.md_inline(q2.answer)) in shown
    assert any("Quiz finished: 1/2" in m.value for m in at.markdown)
    at.switch_page("views/progress.py").run()
    assert not at.exception
    assert [m.value for m in at.metric if m.label == "Quizzes finished"] == ["1"]


@pytest.mark.model
def test_a_flashcard_flips_on_click_and_is_rated(app_env, course_index, tmp_path):
    app_env(index_dir=course_index.index_dir)
    at = new_app().run(timeout=ANSWER_TIMEOUT)
    at.chat_input[0].set_value("/flashcards vae").run()
    turn = at.session_state["chat_turns"][-1]
    assert turn["kind"] == "card" and not turn["flipped"]
    front = at.button(key=f"flip-{turn['id']}")
    assert front.label == common.md_inline(turn["card"].front)
    front.click().run()
    assert not at.exception
    assert any(turn["card"].back in m.value for m in at.markdown)  # the back is shown
    ratings = [b.label for b in at.button if (b.key or "").startswith(f"rate-{turn['id']}-")]
    assert ratings == ["Again", "Hard", "Good", "Easy"]
    at.button(key=f"rate-{turn['id']}-good").click().run()
    assert not at.exception
    assert any("Rated **good**" in c.value for c in at.caption)
    assert at.session_state["chat_turns"][-1]["number"] == 2  # the next card
    from rag_tutor.study.progress import open_store

    store = open_store(tmp_path / "home", "default")
    assert store.review_count() == 1


@pytest.mark.model
def test_learn_page_shows_a_topic_and_starts_its_quiz_in_the_chat(app_env, course_index):
    app_env(index_dir=course_index.index_dir)
    at = new_app().run(timeout=ANSWER_TIMEOUT)
    at.switch_page("views/learn.py").run()
    assert not at.exception
    at.selectbox(key="learn_topic").set_value("vae").run()
    assert any(h.value.startswith("Variational Autoencoders") for h in at.header)
    page = texts(at)
    assert "Kingma and Welling" in page  # the deep article
    assert "Beta-VAE" in page  # a key term
    assert [t.label for t in at.tabs] == ["Article", "Podcast", "Key terms", "Flashcards", "Reading list"]
    at.button(key="learn-quiz").click().run()
    assert not at.exception
    assert at.session_state["chat_turns"][-1]["kind"] == "quiz"
    assert at.chat_input  # now on the chat page


@pytest.mark.model
def test_learn_page_says_what_it_suggests_and_why_and_teach_me_goes_to_the_chat(app_env, course_index, tmp_path):
    from datetime import datetime, timedelta, timezone

    import fsrs

    from rag_tutor.index import load_index
    from rag_tutor.study.cards import build_deck
    from rag_tutor.study.material import load_material
    from rag_tutor.study.progress import open_store
    from rag_tutor.study.scheduler import Scheduler

    app_env(index_dir=course_index.index_dir)
    at = new_app().run(timeout=ANSWER_TIMEOUT)
    at.switch_page("views/learn.py").run()
    assert not at.exception
    assert "**Suggested next: What Is Generative AI?** · What Is Generative AI? is the first topic of the path." \
        in texts(at)
    assert at.selectbox(key="learn_topic").value == "intro"
    at.selectbox(key="learn_topic").set_value("diffusion").run()  # ahead of the path (intro, opened, is started)
    assert any("Diffusion and Score-Based Models builds on VAEs and GANs" in w.value and "3 earlier topics" in w.value
               and "which you haven't started" in w.value for w in at.warning)

    # two GAN cards learnt a month ago are due now: the suggestion becomes reviewing them
    store = open_store(tmp_path / "home", "default")
    scheduler, then = Scheduler(), datetime.now(timezone.utc) - timedelta(days=30)
    for card in build_deck(load_material(load_index(course_index.index_dir)), "gan")[:2]:
        done = scheduler.review(scheduler.new_card(card.key, then), fsrs.Rating.Good, then)
        store.save_review(card.key, card.topic, done.state, done.log)
    store.close()
    at.run()
    assert "**Suggested next: GANs** · 2 cards on GANs are due." in texts(at)
    assert at.button(key="learn-next").label == "Review 2 due"

    at.button(key="learn-teach").click().run()  # the chosen topic (diffusion) taught in the chat
    assert not at.exception
    assert [t["text"] for t in at.session_state["chat_turns"] if t["role"] == "user"] == ["/teach diffusion"]
    assert at.chat_input  # now on the chat page


def _podcast_tab(at):
    return next(t for t in at.tabs if t.label == "Podcast")


@pytest.mark.model
def test_learn_page_plays_a_rendered_podcast_with_transcript_and_chapters(app_env, course_index, rendered,
                                                                           monkeypatch):
    settings, podcast, _ = rendered
    app_env(index_dir=course_index.index_dir)
    monkeypatch.setenv("RAG_TUTOR_HOME", str(settings.home))
    at = new_app().run(timeout=ANSWER_TIMEOUT)
    at.switch_page("views/learn.py").run()
    at.selectbox(key="learn_topic").set_value("diffusion").run()
    assert not at.exception
    tab = _podcast_tab(at)
    assert len(tab.get("audio")) == 1
    page = texts(at)
    assert "Guide:" in page and "Host:" in page
    guide = next(ln for ln in podcast.script.lines if ln.speaker == "guide")
    assert guide.text[:50] in page
    chapter = tab.button(key="podcast-chapter-2")
    chapter.click().run()
    assert at.session_state["podcast_start_diffusion"] == podcast.script.chapters[2].start_s > 0


@pytest.mark.model
def test_learn_page_makes_a_podcast_on_demand_and_flags_it_stale(app_env, tiny_corpus, settings_for, embedder):
    from rag_tutor.index import build_index

    settings = settings_for(tiny_corpus)
    build_index(settings, embedder=embedder)
    app_env(index_dir=settings.index_dir, corpus=tiny_corpus)
    at = new_app().run(timeout=ANSWER_TIMEOUT)
    at.switch_page("views/learn.py").run()
    at.selectbox(key="learn_topic").set_value("vae").run()
    tab = _podcast_tab(at)
    assert not tab.get("audio")
    tab.button(key="podcast-make").click().run(timeout=ANSWER_TIMEOUT)  # the real Piper voice
    assert not at.exception and not at.error
    assert len(_podcast_tab(at).get("audio")) == 1
    assert "Kingma and Welling" in texts(at)

    doc = tiny_corpus / "05-vae.md"
    doc.write_text(doc.read_text() + "\nA line added later.\n")
    at.run()
    assert any("out of date" in w.value for w in at.warning)
    assert len(_podcast_tab(at).get("audio")) == 1  # the old one still plays


@pytest.mark.model
def test_a_reload_mid_quiz_resumes_at_the_same_question(app_env, course_index):
    app_env(index_dir=course_index.index_dir)
    at = new_app().run(timeout=ANSWER_TIMEOUT)
    at.chat_input[0].set_value("/quiz vae 3").run()
    turn = at.session_state["chat_turns"][-1]
    question = turn["question"]
    right = LETTERS[question.answer_index] if question.options else question.answer
    at.chat_input[0].set_value(right).run()
    waiting = at.session_state["chat_turns"][-1]
    assert waiting["kind"] == "quiz" and waiting["number"] == 2
    chat_id = at.session_state["_conversation"].chat_id

    again = reopened(chat_id)
    assert not again.exception
    restored = again.session_state["chat_turns"][-1]
    assert restored["number"] == 2 and restored["question"] == waiting["question"]
    assert again.button(key=f"submit-{restored['id']}")  # the question waits for its answer again
    assert any(s.value.startswith("**Correct.**") for s in again.success)  # the first one keeps its grade
    q2 = restored["question"]
    again.chat_input[0].set_value(LETTERS[q2.answer_index] if q2.options else q2.answer).run()
    assert again.session_state["chat_turns"][-1]["number"] == 3


@pytest.mark.model
def test_a_wrong_choice_is_explained_its_card_comes_due_and_progress_lists_it(app_env, course_index):
    from datetime import datetime, timezone

    app_env(index_dir=course_index.index_dir)
    at = new_app().run(timeout=ANSWER_TIMEOUT)
    at.chat_input[0].set_value("/quiz gan 10").run()
    missed = None
    while missed is None:
        turn = at.session_state["chat_turns"][-1]
        assert turn["kind"] == "quiz", "a ten-question quiz on GANs had no multiple-choice question"
        q = turn["question"]
        if q.kind == "mcq":  # choose a distractor (a glossary term or definition) in the radio group
            missed, wrong = q, (q.answer_index + 1) % len(q.options)
            at.radio(key=f"answer-{turn['id']}").set_value(wrong)
            at.button(key=f"submit-{turn['id']}").click().run()
        else:
            at.chat_input[0].set_value(LETTERS[q.answer_index] if q.options else q.answer).run()
        assert not at.exception
    shown = next(e.value for e in at.error if e.value.startswith("**Not quite.**"))
    feedback = next(t["feedback"] for t in at.session_state["chat_turns"] if t.get("question") == missed)
    chosen = feedback.chosen_citation
    assert chosen is not None and chosen.section and chosen.section != missed.citation.section
    assert f"**Why not {LETTERS[wrong]}:**" in shown and f"**Why {LETTERS[missed.answer_index]}:**" in shown
    assert common.md(feedback.chosen_explanation) in shown
    labels = [e.label for e in at.expander]
    assert common.source_label(None, chosen.title, chosen.section) in labels  # its own source, to open ...
    assert common.source_label(None, missed.citation.title, missed.citation.section) in labels  # ... and the right one
    assert any("is in your review now" in c.value for c in at.caption)
    from rag_tutor.study.material import normalise

    card = at.session_state["_study"][1].store.cards()[f"term:{normalise(missed.concept)}"]
    assert card.due <= datetime.now(timezone.utc) and card.reviews == 0  # in review now, never reviewed yet

    at.switch_page("views/progress.py").run()
    assert not at.exception
    assert "Concepts most often missed" in [h.value for h in at.subheader]
    table = next(d.value for d in at.dataframe if "Concept" in d.value.columns)
    row = table[table["Concept"] == missed.concept]
    assert len(row) == 1 and int(row["Missed"].iloc[0]) == 1 and int(row["Answered"].iloc[0]) == 1
