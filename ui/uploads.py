"""Uploads into the corpus: a file is checked exactly as the indexer will read it before it enters a corpus folder.
No Streamlit calls here (the Library page shows the messages), so it can be imported and tested on its own."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path

import common
from rag_tutor.documents import SUFFIXES, iter_corpus_files, load_document
from rag_tutor.errors import CorpusError
from rag_tutor.files import write_atomically

UPLOAD_TYPES = [s.lstrip(".") for s in SUFFIXES]


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
    write_atomically(target, data)  # staged under a hidden name, never indexed: a half-written file is invisible
    renamed = f" (saved as `{clean}`)" if clean != name else ""
    message = f"Added **{common.md_inline(doc.title)}**{renamed}. Rebuild the index to make it searchable."
    if doc.flagged:  # documents are data: sentences that address an AI never reach answers, quizzes or podcasts
        lines = ", ".join(str(f.line) for f in doc.flagged[:5]) + (", ..." if len(doc.flagged) > 5 else "")
        return "warning", (f"{message} {len(doc.flagged)} sentence(s) that address an AI system (line {lines}) "
                           "were left out of it.")
    return "success", message
