"""Library: the documents in the index, uploads into the corpus, and rebuilding the index."""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path

import streamlit as st

import common
from rag_tutor.errors import RagTutorError
from uploads import UPLOAD_TYPES, add_to_corpus



# ---------------------------------------------------------------- uploads


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


# A table's five columns do not fit a phone: below Streamlit's own mobile width the documents are a list whose
# lines wrap, and the table (sortable, for wide screens) is hidden.
NARROW_CSS = """<style>
@media (max-width: 640px) {.st-key-docs-wide {display: none;}}
@media (min-width: 641px) {.st-key-docs-narrow {display: none;}}
.rt-docs {list-style: none; padding: 0 !important; margin: 0 !important;}
.rt-docs li {margin: 0 !important;}
.rt-docs li {padding: 0.4rem 0; border-bottom: 1px solid rgba(128,128,128,0.25); overflow-wrap: anywhere;}
.rt-docs .rt-meta {font-size: 0.8rem; opacity: 0.75;}
</style>"""


def document_list(rows: list[dict]) -> str:
    """The documents as a list for narrow screens: title, then status, chunks, when indexed and the file."""
    items = []
    for r in rows:
        meta = [r["Status"]]
        if r["Chunks"] is not None:
            meta.append(f"{r['Chunks']} chunks")
        if r["Last indexed"] is not None:
            meta.append(f"indexed {r['Last indexed']:%-d %b %H:%M}")
        items.append(f"<li><div>{html.escape(r['Title'])}</div><div class='rt-meta'>"
                     f"{html.escape(' · '.join(meta))}<br><code>{html.escape(r['Source'])}</code></div></li>")
    return f"<ul class='rt-docs'>{''.join(items)}</ul>"


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
    st.html(NARROW_CSS)
    with st.container(key="docs-wide"):
        st.dataframe(rows, hide_index=True, width="stretch",
                     column_order=["Title", "Status", "Chunks", "Last indexed", "Source"], column_config={
                         "Title": st.column_config.TextColumn(width="medium"),
                         "Status": st.column_config.TextColumn(width="small"),
                         "Chunks": st.column_config.NumberColumn(width="small"),
                         "Last indexed": st.column_config.DatetimeColumn(format="D MMM HH:mm", width="small"),
                     })
    with st.container(key="docs-narrow"):
        st.html(document_list(rows))


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
