"""What every page shares: settings, the cached tutor and study material, index status, safe rendering.

Presentation only: every decision (retrieval, answers, grading, scheduling) is a
``rag_tutor`` call. Model output and corpus text are shown as Markdown with images
defanged, or HTML-escaped inside our own fixed markup; never as raw HTML.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import streamlit as st

from rag_tutor.embedder import MODEL_LOAD_LOCK

from rag_tutor.config import Settings, load_settings
from rag_tutor.errors import RagTutorError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

log = logging.getLogger("rag_tutor.ui")

UPLOAD_MAX_MB = 10  # largest corpus upload accepted (also server.maxUploadSize in .streamlit/config.toml)


# ---------------------------------------------------------------- errors


def message_of(exc: BaseException, doing: str = "") -> str:
    """One clear sentence: our own errors are already written for people, anything else gets a short summary."""
    from rag_tutor.generator import AdapterError

    if isinstance(exc, RagTutorError):
        text = str(exc)
        text = text[:1].upper() + text[1:]
        if isinstance(exc, AdapterError):
            text += ". In the app, turn off **Use the LoRA adapter** in the sidebar to answer with the base model."
        return text
    log.exception("unexpected error%s", f" while {doing}" if doing else "")
    what = f" while {doing}" if doing else ""
    return (f"Something went wrong{what} ({exc.__class__.__name__}: {str(exc)[:200]}). "
            "The app is still running: try again, or rebuild the index on the Library page.")


def show_error(exc: BaseException, doing: str = "") -> None:
    st.error(message_of(exc, doing), icon=":material/error:")


# ---------------------------------------------------------------- settings and index


def settings() -> Settings:
    """Defaults plus RAG_TUTOR_* variables, read on every run (cheap); a bad variable stops the page with a message."""
    try:
        return load_settings()
    except RagTutorError as exc:
        show_error(exc)
        st.stop()


def current_build(s: Settings) -> Path | None:
    from rag_tutor.index import current_build as _current

    return _current(Path(s.index_dir))


def _corpus_fingerprint(s: Settings) -> tuple:
    """File names, sizes and mtimes: enough to notice that the corpus changed since the last check."""
    rows = []
    for root in s.corpus_dirs:
        root = Path(root)
        if root.is_dir():
            for p in sorted(root.rglob("*")):
                if p.is_file():
                    st_ = p.stat()
                    rows.append((str(p), st_.st_size, st_.st_mtime_ns))
    return tuple(rows)


@st.cache_data(show_spinner=False, max_entries=4)
def _status(index_dir: str, corpus_dirs: tuple[str, ...], build: str, fingerprint: tuple):
    """``build`` and ``fingerprint`` are only cache keys: a new build or a touched file recomputes the status."""
    from rag_tutor.index import index_status

    return index_status(load_settings(index_dir=Path(index_dir), corpus_dirs=[Path(d) for d in corpus_dirs]))


def index_state(s: Settings):
    """IndexStatus of the served index against the corpus on disk (recomputed only when either changed)."""
    build = current_build(s)
    return _status(str(s.index_dir), tuple(str(d) for d in s.corpus_dirs), str(build), _corpus_fingerprint(s))


def index_banner(s: Settings) -> None:
    """The missing, damaged or stale index, flagged on every page."""
    try:
        status = index_state(s)
    except RagTutorError as exc:
        show_error(exc)
        return
    if not status.exists:
        st.warning(f"There is no usable index in `{s.index_dir}` yet, so the tutor cannot answer. "
                   "Build it on the **Library** page (or run `rag-tutor index`).", icon=":material/warning:")
    elif status.damaged:
        st.error(f"{status.damaged[0].upper()}{status.damaged[1:]}. Rebuild it on the **Library** page with a full "
                 "rebuild.", icon=":material/error:")
    elif status.stale:
        parts = [f"{len(v)} {k}" for k, v in
                 (("added", status.added), ("changed", status.changed), ("removed", status.removed)) if v]
        st.warning(f"The index is out of date with the corpus ({', '.join(parts)} document(s)). "
                   "Answers use the last build until you rebuild it on the **Library** page.",
                   icon=":material/sync_problem:")


# ---------------------------------------------------------------- heavy objects, loaded once


# Every model load in the app takes the library's one model-load lock (see rag_tutor/embedder.py).
MODEL_LOCK = MODEL_LOAD_LOCK
# The tutor (index, embedder, language model) loads in a background thread as soon as the app starts, so the
# learner can read and type meanwhile: one Future per (index folder, build, adapter on/off), the last two kept.
_LOADS: dict[tuple, Future] = {}
_LOADS_LOCK = threading.Lock()
_LOADER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tutor-loader")


def _load_tutor(settings: Settings, use_adapter: bool):
    from rag_tutor.answer import Tutor

    started = time.perf_counter()
    with MODEL_LOCK:
        tutor = Tutor(settings, use_adapter=use_adapter)
        tutor.ranker, tutor.matcher, tutor.reader  # the sentence ranker, its matcher and the reader load now too
        if tutor.uses_model:
            tutor.generator  # load the language model now, not in the middle of the first answer
    return tutor, time.perf_counter() - started


def _tutor_load(s: Settings, use_adapter: bool, retry: bool = False) -> Future | None:
    """The (possibly finished) load of the tutor for the served build; started here if it was not yet, and
    started again after a failure only with ``retry`` (a question retries; a page view does not)."""
    build = current_build(s)
    if build is None:
        return None
    key = (str(s.index_dir), str(build), use_adapter)
    with _LOADS_LOCK:
        if key not in _LOADS or (retry and _LOADS[key].done() and _LOADS[key].exception() is not None):
            _LOADS[key] = _LOADER.submit(_load_tutor, s, use_adapter)
            for old in list(_LOADS)[:-2]:
                del _LOADS[old]
        return _LOADS[key]


def warm(s: Settings) -> None:
    """Start loading the tutor in the background (once per build and adapter choice)."""
    _tutor_load(s, st.session_state.get("use_adapter", True))


class _LockedEmbedder:
    """The embedder for the study tools (grading typed definitions), loaded under MODEL_LOCK on first use."""

    def __init__(self, package: str) -> None:
        self._package = package

    def __getattr__(self, name: str):
        from rag_tutor.embedder import load_embedder

        with MODEL_LOCK:
            embedder = load_embedder(self._package)
        return getattr(embedder, name)


def tutor_loaded(s: Settings, use_adapter: bool = True) -> bool:
    future = _tutor_load(s, use_adapter)
    return future is not None and future.done() and future.exception() is None


def tutor_load_error(s: Settings, use_adapter: bool = True) -> BaseException | None:
    """Why the background load failed, if it did."""
    future = _tutor_load(s, use_adapter)
    return future.exception() if future is not None and future.done() else None


def get_tutor(s: Settings):
    """The Tutor for the served index build, with the model loaded; waits (with a spinner) if still loading."""
    use_adapter = st.session_state.get("use_adapter", True)
    future = _tutor_load(s, use_adapter, retry=True)
    if future is None:
        from rag_tutor.errors import IndexMissingError

        raise IndexMissingError(f"no index in {s.index_dir}; build it on the Library page or run `rag-tutor index`")
    if not future.done():
        message = ("The tutor is still loading: the search index and the language model "
                   "(once per start of the app; the first time after setup up to a minute)…")
        with st.spinner(message, show_time=True):
            tutor, seconds = future.result()
        st.toast(f"Tutor ready: loaded in {seconds:.1f} s.", icon=":material/check_circle:")
        return tutor
    return future.result()[0]


def model_status(s: Settings) -> str:
    """One Markdown line: model package, adapter, and whether it is loaded in this process."""
    import importlib.metadata

    from rag_tutor.generator import DEFAULT_ADAPTER

    try:
        version = importlib.metadata.version(s.generator_package)
        model = f"`{s.generator_package}` {version}"
    except importlib.metadata.PackageNotFoundError:
        model = f"`{s.generator_package}` (not installed)"
    use_adapter = st.session_state.get("use_adapter", True)
    adapter_dir = Path(s.adapter_dir) if s.adapter_dir else DEFAULT_ADAPTER
    if not use_adapter:
        adapter = "off"
    elif (adapter_dir / "adapter_model.safetensors").exists():
        adapter = "shipped LoRA" if adapter_dir == DEFAULT_ADAPTER else f"LoRA from `{adapter_dir.name}`"
    else:
        adapter = "missing"
    loaded = "loaded" if tutor_loaded(s, use_adapter) else "loading in the background"
    return f"{model} · adapter: {adapter} · {loaded}"


# ---------------------------------------------------------------- learner and study tools


def get_study(s: Settings):
    """This browser session's StudySession for the chosen learner (None: the default profile) and index build.

    A new learner or a rebuilt index gets a new session; an unfinished quiz stays saved and
    `/quiz` resumes it.
    """
    from rag_tutor.study.session import StudySession

    chosen = st.session_state.get("learner")
    key = (chosen, str(s.home), str(s.index_dir), str(current_build(s)))
    cached = st.session_state.get("_study")
    if cached is not None and cached[0] == key:
        return cached[1]
    if cached is not None:
        cached[1].close()
    study = StudySession(s, learner=chosen, embedder=_LockedEmbedder(s.embedder_package))
    st.session_state["_study"] = (key, study)
    return study


def progress(s: Settings):
    """The learner's ProgressReport (mastery per topic, due cards, recent quizzes)."""
    return get_study(s).report()


# ---------------------------------------------------------------- safe rendering


def md(text: str) -> str:
    """Untrusted text (model output, corpus) for st.markdown: HTML is never rendered by Streamlit without
    unsafe_allow_html; images are defanged so no text can make the browser fetch a URL."""
    return (text or "").replace("![", "!\\[")


def md_inline(text: str) -> str:
    """Untrusted text inside a label (expander, button): Markdown punctuation escaped."""
    return re.sub(r"([\\`*_{}\[\]<>()#+!|~:$])", r"\\\1", " ".join((text or "").split()))


def defanged(pieces):
    """Stream filter: ``md`` for text that arrives in pieces ("!" and "[" may come in different pieces)."""
    held = ""
    for piece in pieces:
        text = held + piece
        held = "!" if text.endswith("!") else ""
        text = text[:-1] if held else text
        if text:
            yield md(text)
    if held:
        yield held


def passage_html(text: str, quotes: list[str] | str = "", anchor: str = "") -> str:
    """A passage as our own markup (see ui/passages.py): its Markdown rendered, nothing raw, each quoted sentence
    marked whole."""
    from passages import passage_html as render

    return render(text, quotes, anchor)


# Our own fixed script (never model or corpus text): a click on an answer's [n] link opens that source's expander
# through its own summary (so Streamlit's state follows), marks the sentences that answer sentence rests on and
# scrolls them into view. Links look like #src-<turn>-<n>-q<i>: source n of a turn, the i-th sentence citing it.
CITE_JS = """<script>
(() => {
  if (window.__rtCites) return;
  window.__rtCites = true;
  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest('a[href^="#src-"]');
    const m = link && link.getAttribute("href").match(/^#(src-\\d+-\\d+)(?:-q(\\d+))?$/);
    const box = m && document.querySelector(".st-key-" + m[1]);
    if (!box) return;
    event.preventDefault();
    event.stopPropagation();
    const details = box.querySelector("details");
    if (details && !details.open) details.querySelector("summary").click();
    document.querySelectorAll("mark.rt-now").forEach((x) => x.classList.remove("rt-now"));
    const marks = [...box.querySelectorAll("mark.rt-hl")].filter(
      (x) => m[2] !== undefined && (x.dataset.q || "").split(" ").includes(m[2]));
    marks.forEach((x) => x.classList.add("rt-now"));
    box.scrollIntoView({block: "start"});
    setTimeout(() => {
      const first = marks[0] || box.querySelector("mark.rt-hl");
      const r = first && first.getBoundingClientRect();
      if (r && (r.top < 70 || r.bottom > window.innerHeight - 150)) first.scrollIntoView({block: "center"});
    }, 450);
  }, true);
})();
</script>
<style>
[class*="st-key-src-"] {scroll-margin-top: 4.5rem;}
a[href^="#src-"] {text-decoration: none; font-weight: 600; font-size: 0.85em; padding: 0 0.1rem;
  border-radius: 0.3rem; background: rgba(59,130,246,0.12); white-space: nowrap;}
a[href^="#src-"]:hover {background: rgba(59,130,246,0.25);}
</style>"""

# Streamlit cuts a button's label to one line ending in "…"; a podcast chapter's title is read whole, wrapped.
CHAPTER_CSS = """<style>
[class*="st-key-podcast-chapter-"] button {text-align: left; justify-content: flex-start;}
[class*="st-key-podcast-chapter-"] button * {white-space: normal; overflow: visible; text-overflow: clip;}
</style>"""

_MARKS = re.compile(r"\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]")


def cited_markdown(text: str, anchor: str, numbers) -> str:
    """An answer (already ``md``) with each [n] a link to its source's expander, ``anchor``-n, and to the quotes of
    the sentence it ends (the i-th sentence citing n rests on that citation's i-th quote)."""
    numbers, seen = set(numbers), {}

    def link(m: re.Match) -> str:
        out = []
        for n in (int(x) for x in re.findall(r"\d+", m.group(1))):
            if n not in numbers:
                out.append(f"\\[{n}\\]")
                continue
            i = seen.get(n, 0)
            seen[n] = i + 1
            out.append(f"[[{n}]](#{anchor}-{n}-q{i})")  # CommonMark: balanced brackets in a link's text
        return "".join(out)

    return _MARKS.sub(link, text)


def source_label(n: int | None, title: str, section: str) -> str:
    prefix = f"[{n}] " if n is not None else ""
    label = f"{title} › {section}" if section and section != title else title
    return md_inline(prefix + label)


def render_source(title: str, section: str, source: str, text: str, quote: list[str] | str = "",
                  n: int | None = None, anchor: str = "") -> None:
    """One cited passage in an expander: number, document title › section, the passage with its quotes marked.
    With ``anchor`` the expander gets the CSS class st-key-<anchor>, which an answer's [n] link opens (CITE_JS)."""
    with st.expander(source_label(n, title, section), icon=":material/menu_book:", key=anchor or None):
        st.html(passage_html(text, quote, anchor))
        st.caption(f"Source: `{source}`")
