"""Library: the documents in the index, uploads into the corpus, and rebuilding the index."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from datetime import datetime
from pathlib import Path

import streamlit as st

import common
from rag_tutor.documents import SUFFIXES, iter_corpus_files, load_document
from rag_tutor.errors import CorpusError, RagTutorError

UPLOAD_TYPES = [s.lstrip(".") for s in SUFFIXES]


# ---------------------------------------------------------------- uploads


def safe_name(name: str) -> str:
    """A plain file name: no folders, ASCII letters, digits, '.', '-' and '_' only, a known suffix, <= 100 chars."""
    base = Path((name or "").replace("\\", "/")).name
    stem, suffix = os.path.splitext(base)
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")[:90] or "document"
    return stem + suffix.lower()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def add_to_corpus(name: str, data: bytes, folder: Path, corpus_dirs: list[Path]) -> tuple[str, str]:
    """Validate one upload and write it into ``folder``; returns (level, message) with level success|warning|error."""
    clean = safe_name(name)
    if Path(clean).suffix not in SUFFIXES:
        return "error", f"**{common.md_inline(name)}** was not added: only {', '.join(SUFFIXES)} files can be indexed."
    if len(data) > common.UPLOAD_MAX_MB * 1024 * 1024:
        return "error", (f"**{common.md_inline(name)}** was not added: it is {len(data) / 2**20:.1f} MB, "
                         f"above the {common.UPLOAD_MAX_MB} MB limit.")
    digest = hashlib.sha256(data).hexdigest()
    try:
        existing = iter_corpus_files(corpus_dirs)
    except CorpusError:
        existing = []
    for path, _root in existing:
        if path.stat().st_size == len(data) and _sha256(path) == digest:
            return "warning", (f"**{common.md_inline(name)}** is already in the corpus as "
                               f"`{path.name}`; nothing was added.")
    target = folder / clean
    if target.exists():
        return "error", (f"**{common.md_inline(name)}** was not added: a different document named `{clean}` is "
                         "already in the corpus. Rename the file and upload it again.")
    with tempfile.TemporaryDirectory() as tmp:  # read it exactly as the indexer will, before it enters the corpus
        probe = Path(tmp) / clean
        probe.write_bytes(data)
        try:
            doc = load_document(probe, Path(tmp))
        except CorpusError as exc:
            return "error", f"**{common.md_inline(name)}** was not added: {exc}."
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{clean}.part"  # hidden names are never indexed, so a half-written file is invisible
    partial.write_bytes(data)
    os.replace(partial, target)
    renamed = f" (saved as `{clean}`)" if clean != name else ""
    message = f"Added **{common.md_inline(doc.title)}**{renamed}. Rebuild the index to make it searchable."
    if doc.flagged:  # documents are data: sentences that address an AI never reach answers, quizzes or podcasts
        lines = ", ".join(str(f.line) for f in doc.flagged[:5]) + (", ..." if len(doc.flagged) > 5 else "")
        return "warning", (f"{message} {len(doc.flagged)} sentence(s) that address an AI system (line {lines}) "
                           "were left out of it.")
    return "success", message


def upload_section(s) -> None:
    st.subheader("Add documents")
    folders = [Path(d) for d in s.corpus_dirs]
    folder = folders[0]
    if len(folders) > 1:
        folder = Path(st.selectbox("Corpus folder", [str(f) for f in folders]))
    with st.form("upload", clear_on_submit=True, border=True):
        files = st.file_uploader(
            f"Markdown, text or PDF files, up to {common.UPLOAD_MAX_MB} MB each",
            type=UPLOAD_TYPES, accept_multiple_files=True, max_upload_size=common.UPLOAD_MAX_MB)
        submitted = st.form_submit_button("Add to the corpus", icon=":material/upload_file:", key="upload-submit")
    if submitted:
        if not files:
            st.info("Choose one or more files first.")
        results = []
        for f in files or []:
            try:
                results.append(add_to_corpus(f.name, f.getvalue(), folder, folders))
            except OSError as exc:
                results.append(("error", f"**{common.md_inline(f.name)}** could not be saved ({exc.strerror})."))
        st.session_state["upload_results"] = results
        st.rerun()  # so the document list and the stale-index banner include the new files
    for level, text in st.session_state.pop("upload_results", []):
        getattr(st, level)(text)


# ---------------------------------------------------------------- the index


def documents_section(s) -> None:
    from rag_tutor.index import read_manifest

    build = common.current_build(s)
    if build is None:
        st.info("No index has been built yet. Press **Rebuild index** below.")
        return
    try:
        manifest = read_manifest(build)
        status = common.index_state(s)
    except RagTutorError as exc:
        common.show_error(exc)
        return
    docs = manifest.get("documents", {})
    built = datetime.fromtimestamp(manifest.get("built_at", 0))
    c1, c2, c3 = st.columns(3)
    c1.metric("Documents", len(docs))
    c2.metric("Chunks", sum(d.get("chunks", 0) for d in docs.values()))
    c3.metric("Last build", built.strftime("%d %b %H:%M"), help=built.strftime("%Y-%m-%d %H:%M:%S"))
    changed, removed = set(status.changed), set(status.removed)
    rows = []
    for source, d in sorted(docs.items(), key=lambda kv: (kv[1].get("order") is None, kv[1].get("order") or 0,
                                                          kv[0])):
        state = ("changed since" if source in changed else "removed from corpus" if source in removed
                 else "up to date")
        rows.append({"Title": d.get("title", source), "Source": source, "Chunks": d.get("chunks", 0),
                     "Last indexed": datetime.fromtimestamp(d["indexed_at"]) if d.get("indexed_at") else None,
                     "Status": state})
    for source in status.added:
        rows.append({"Title": Path(source).name, "Source": source, "Chunks": None, "Last indexed": None,
                     "Status": "new, not indexed yet"})
    st.dataframe(rows, hide_index=True, width="stretch",
                 column_order=["Title", "Status", "Chunks", "Last indexed", "Source"], column_config={
                     "Title": st.column_config.TextColumn(width="medium"),
                     "Status": st.column_config.TextColumn(width="small"),
                     "Chunks": st.column_config.NumberColumn(width="small"),
                     "Last indexed": st.column_config.DatetimeColumn(format="D MMM HH:mm", width="small"),
                 })


def rebuild_section(s) -> None:
    from rag_tutor.index import build_index

    st.subheader("Rebuild the index")
    st.caption("Only added or changed documents are embedded again; the current index keeps serving until the "
               "new one is complete.")
    full = st.checkbox("Full rebuild (embed every document again)", key="full_rebuild")
    if st.button("Rebuild index", type="primary", icon=":material/refresh:", key="rebuild"):
        bar = st.progress(0.0, text="Reading the corpus…")

        def progress(done: int, total: int) -> None:
            bar.progress(done / total if total else 1.0, text=f"Embedding chunks: {done}/{total}")

        try:
            summary = build_index(s, full=full, progress=progress)
        except Exception as exc:
            bar.empty()
            common.show_error(exc, "rebuilding the index")
            return
        bar.progress(1.0, text="Done")
        st.session_state["rebuild_result"] = (summary.line(), list(summary.skipped),
                                              summary.reason if summary.full else "")
        st.rerun()  # every cached view (status, tutor, material) follows the new build
    result = st.session_state.pop("rebuild_result", None)
    if result:
        line, skipped, reason = result
        st.success(line[:1].upper() + line[1:], icon=":material/check_circle:")
        if reason and reason != "no usable index yet":
            st.caption(f"Full rebuild: {reason}.")
        for text in skipped:
            st.warning(common.md_inline(text))


st.set_page_config(layout="wide")
s = common.settings()
st.title("Library")
st.caption(f"Corpus: {', '.join(f'`{d}`' for d in s.corpus_dirs)} · index: `{s.index_dir}`")
documents_section(s)
upload_section(s)
rebuild_section(s)
