"""Build, update and load the index: FAISS vectors + BM25 keywords + a JSON chunk store.

Layout of ``index_dir``::

    current -> builds/<id>       symlink swapped atomically when a build completes
    builds/<id>/manifest.json    documents' hashes, embedder, chunking settings
    builds/<id>/chunks.json      chunk store, row i = FAISS vector i (JSON: loading runs no code)
    builds/<id>/vectors.faiss    normalised embeddings, inner-product index
    builds/<id>/bm25/            bm25s keyword index (numpy arrays saved without pickle + JSON vocab)
    builds/<id>/sentences.json   each chunk's sentences (row i = chunk i), for excerpts and the citation check
    builds/<id>/sentences.npy    their embeddings, concatenated in that order (saved without pickle)
    .lock                        held (flock) while a build runs

The manifest records the size and SHA-256 of every other file of its build and the number of chunks, vectors,
BM25 documents and sentences. Loading checks all of them, hashes included (5 ms on the shipped 4 MB index): a
shuffled chunk store or a vectors file swapped for another of the same size would otherwise serve wrong
passages without a word.

A build writes into ``builds/.tmp-<id>`` and only then renames and swaps the
``current`` link, so a build killed at any point leaves the previous index serving.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .chunking import CHUNKER_VERSION, Chunk, chunk_document
from .config import Settings
from .documents import Document, load_corpus
from .errors import IndexCorruptError, IndexLockedError, IndexMissingError

MANIFEST_VERSION = 2  # 2: file sizes, hashes and counts
SENTENCES_VERSION = 2  # bump when citations.split_sentences changes: stored sentences must match a fresh split
# (2: a hard-wrapped sentence is one sentence, citations.logical_lines)
CURRENT = "current"
BUILDS = "builds"
LOCK = ".lock"

_TOKEN = re.compile(r"[a-z0-9]+")


def keyword_tokens(text: str) -> list[str]:
    """Lower-case word tokens without English stopwords, Snowball-stemmed (for BM25)."""
    from bm25s.stopwords import STOPWORDS_EN

    words = [w for w in _TOKEN.findall(text.lower()) if w not in STOPWORDS_EN]
    return english_stemmer().stemWords(words)


_STEMMERS = threading.local()


def english_stemmer():
    """This thread's English Snowball stemmer (PyStemmer), made on first need: a stemmer keeps a cache and is not
    shared between threads (the app answers from several)."""
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        import Stemmer

        stemmer = _STEMMERS.english = Stemmer.Stemmer("english")
    return stemmer


@dataclass
class BuildSummary:
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    chunks: int = 0
    seconds: float = 0.0
    full: bool = False
    reason: str = ""  # why a full rebuild happened
    skipped: list[str] = field(default_factory=list)
    flagged: list[str] = field(default_factory=list)  # sentences addressing an AI, left out (one line each)
    embedded_chunks: int = 0

    def line(self) -> str:
        kind = "full rebuild" if self.full else "incremental update"
        text = (
            f"indexed ({kind}): {self.added} added, {self.changed} changed, {self.removed} removed, "
            f"{self.unchanged} unchanged documents; {self.chunks} chunks ({self.embedded_chunks} embedded) "
            f"in {self.seconds:.1f} s"
        )
        if self.skipped:
            text += f"; {len(self.skipped)} file(s) skipped"
        return text


@dataclass
class LoadedIndex:
    path: Path  # the build folder in use
    manifest: dict
    chunks: list[Chunk]
    vectors: "object"  # faiss.Index
    bm25: "object"  # bm25s.BM25
    # chunk i's sentences and their normalised embeddings (None for a build made before they were stored)
    sentences: list[tuple[list[str], np.ndarray]] | None = None

    @property
    def embedder_name(self) -> str:
        return self.manifest["embedder"]["name"]


@dataclass
class IndexStatus:
    """How the corpus on disk compares with the index being served."""

    exists: bool
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    built_at: float | None = None
    damaged: str = ""  # why the served index cannot be used ("" when it can)
    flagged: int = 0  # sentences left out of the indexed documents because they address an AI

    @property
    def stale(self) -> bool:
        return bool(self.added or self.changed or self.removed)


# ---------------------------------------------------------------- locking


@contextmanager
def build_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive, non-blocking; the kernel releases it if the process dies, so it never goes stale."""
    index_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(index_dir / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise IndexLockedError(
                f"another rebuild of {index_dir} is running (pid {holder}); wait for it to finish and try again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


# ---------------------------------------------------------------- reading


def current_build(index_dir: Path) -> Path | None:
    link = index_dir / CURRENT
    if not link.is_symlink() and not link.exists():
        return None
    target = (index_dir / os.readlink(link)) if link.is_symlink() else link
    return target if target.is_dir() else None


def damaged(index_dir: Path, what: str) -> IndexCorruptError:
    """The one message for every kind of damage: what is wrong, and the command that mends it."""
    return IndexCorruptError(f"the index at {index_dir} is damaged: {what}; run `rag-tutor index --full`")


# What a manifest must hold, each key with the type of its value.
_MANIFEST_KEYS = {"version": int, "built_at": (int, float), "embedder": dict, "chunking": dict, "documents": dict,
                  "files": dict, "counts": dict}
_COUNTS = ("chunks", "vectors", "bm25_docs", "sentences")


def read_manifest(build: Path) -> dict:
    """The build's manifest, checked for shape; any problem is an IndexCorruptError naming it."""
    where = build.parent.parent if build.parent.name == BUILDS else build
    try:
        manifest = json.loads((build / "manifest.json").read_bytes().decode("utf-8"))
    except OSError as exc:
        raise damaged(where, f"manifest.json cannot be read ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise damaged(where, "manifest.json is not valid JSON") from None
    if not isinstance(manifest, dict):
        raise damaged(where, "manifest.json does not hold a JSON object")
    if manifest.get("version") != MANIFEST_VERSION:
        raise damaged(where, f"manifest.json has format {manifest.get('version')!r}, this rag-tutor reads "
                             f"{MANIFEST_VERSION}")
    for key, kind in _MANIFEST_KEYS.items():
        if not isinstance(manifest.get(key), kind):
            raise damaged(where, f"manifest.json lacks a valid {key!r}")
    embedder, counts = manifest["embedder"], manifest["counts"]
    if not isinstance(embedder.get("name"), str) or not isinstance(embedder.get("dim"), int):
        raise damaged(where, "manifest.json lacks the embedder's name or dimension")
    if not all(isinstance(counts.get(k), int) for k in _COUNTS):
        raise damaged(where, "manifest.json lacks the counts of chunks, vectors, BM25 documents and sentences")
    if not all(isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in manifest["documents"].values()):
        raise damaged(where, "manifest.json has a document entry without its hash")
    return manifest


def _file_record(path: Path) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return {"size": path.stat().st_size, "sha256": digest.hexdigest()}


def build_files(build: Path) -> dict[str, dict]:
    """Size and SHA-256 of every file of a build but its manifest, by path inside the build."""
    return {f.relative_to(build).as_posix(): _file_record(f) for f in sorted(build.rglob("*"))
            if f.is_file() and f.name != "manifest.json"}


def verify_files(index_dir: Path, build: Path, manifest: dict, hashes: bool = True) -> None:
    """Every file the manifest lists is there with its size (and, with ``hashes``, its SHA-256), and no other."""
    listed = manifest["files"]
    present = {f.relative_to(build).as_posix() for f in build.rglob("*") if f.is_file() and f.name != "manifest.json"}
    for name in sorted(present - set(listed)):
        raise damaged(index_dir, f"{name} is not in the manifest")
    for name, want in sorted(listed.items()):
        path = build / name
        if not isinstance(want, dict) or not path.is_file():
            raise damaged(index_dir, f"{name} is missing")
        if path.stat().st_size != want.get("size"):
            raise damaged(index_dir, f"{name} does not match the manifest (size)")
        if hashes and _file_record(path)["sha256"] != want.get("sha256"):
            raise damaged(index_dir, f"{name} does not match the manifest (content)")


def check_embedder(index: "LoadedIndex", embedder_name: str, index_dir: Path) -> None:
    """Vectors from another embedder are meaningless to this one: refuse them."""
    if index.embedder_name != embedder_name:
        raise IndexCorruptError(
            f"the index in {index_dir} was built with embedder {index.embedder_name}, "
            f"but {embedder_name} is configured; rebuild it with `rag-tutor index --full`"
        )


def load_index(index_dir: Path, hashes: bool = True) -> LoadedIndex:
    """Load the index being served, checked against its manifest; every failure is an IndexMissingError or
    IndexCorruptError with advice. ``hashes=False`` checks sizes and counts only."""
    index_dir = Path(index_dir)
    for attempt in range(3):
        build = current_build(index_dir)
        if build is None:
            raise IndexMissingError(f"no index in {index_dir}; build it with `rag-tutor index`")
        try:
            return _load_build(index_dir, build, hashes)
        except IndexCorruptError:
            # A rebuild may have swapped `current` and removed this build while we read it.
            if attempt == 2 or current_build(index_dir) == build:
                raise
    raise AssertionError("unreachable")


def _load_build(index_dir: Path, build: Path, hashes: bool = True) -> LoadedIndex:
    import bm25s
    import faiss

    manifest = read_manifest(build)
    verify_files(index_dir, build, manifest, hashes)
    try:
        rows = json.loads((build / "chunks.json").read_text(encoding="utf-8"))
        chunks = [Chunk(**row) for row in rows]
        vectors = faiss.read_index(str(build / "vectors.faiss"))
        bm25 = bm25s.BM25.load(str(build / "bm25"), allow_pickle=False)
    except Exception as exc:  # any unreadable part means the same thing to the user
        raise damaged(index_dir, f"a file cannot be read ({exc.__class__.__name__})") from None
    counts = manifest["counts"]
    found = {"chunks": len(chunks), "vectors": vectors.ntotal, "bm25_docs": int(bm25.scores.get("num_docs", -1))}
    for key, n in found.items():
        if n != counts[key]:
            raise damaged(index_dir, f"it holds {n} {key.replace('_', ' ')}, the manifest says {counts[key]}")
    if vectors.d != manifest["embedder"]["dim"]:
        raise damaged(index_dir, f"its vectors have {vectors.d} dimensions, the embedder has "
                                 f"{manifest['embedder']['dim']}")
    sentences = _load_sentences(index_dir, build, len(chunks))
    if sentences is not None and sum(len(s) for s, _ in sentences) != counts["sentences"]:
        raise damaged(index_dir, f"it holds {sum(len(s) for s, _ in sentences)} sentences, the manifest says "
                                 f"{counts['sentences']}")
    return LoadedIndex(build, manifest, chunks, vectors, bm25, sentences)


def _load_sentences(index_dir: Path, build: Path, n_chunks: int) -> list[tuple[list[str], np.ndarray]] | None:
    if not (build / "sentences.json").exists():
        return None  # an older build: sentences are split and embedded when first needed
    try:
        rows = json.loads((build / "sentences.json").read_text())
        matrix = np.load(build / "sentences.npy", allow_pickle=False)
    except Exception as exc:
        raise damaged(index_dir, f"its sentences cannot be read ({exc.__class__.__name__})") from None
    if len(rows) != n_chunks or sum(map(len, rows)) != len(matrix):
        raise damaged(index_dir, f"it holds {len(matrix)} sentence vectors for {sum(map(len, rows))} sentences")
    out, start = [], 0
    for sents in rows:
        out.append((sents, matrix[start : start + len(sents)]))
        start += len(sents)
    return out


def chunk_sentences(text: str) -> list[str]:
    """A chunk's sentences as the citation check sees them (at least one: the whole text)."""
    from .citations import split_sentences  # citations imports this module

    return split_sentences(text) or [text]


def index_status(settings: Settings, verify: bool = False) -> IndexStatus:
    """Compare the corpus on disk with the served index's manifest (embeds nothing). The index is checked
    against its manifest as a load would check it; ``verify`` hashes its files whatever the settings say."""
    index_dir = Path(settings.index_dir)
    if current_build(index_dir) is None:
        return IndexStatus(exists=False)
    try:
        manifest = load_index(index_dir, hashes=verify or settings.verify_index_hashes).manifest
    except IndexCorruptError as exc:
        return IndexStatus(exists=True, damaged=str(exc))
    except IndexMissingError:
        return IndexStatus(exists=False)
    docs = {d.source: d.sha256 for d in load_corpus(settings.corpus_dirs).documents}
    old = manifest["documents"]
    return IndexStatus(
        exists=True,
        added=sorted(set(docs) - set(old)),
        changed=sorted(s for s in docs if s in old and old[s]["sha256"] != docs[s]),
        removed=sorted(set(old) - set(docs)),
        built_at=manifest.get("built_at"),
        flagged=sum(int(d.get("flagged", 0)) for d in old.values()),
    )


# ---------------------------------------------------------------- writing


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, data) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())


@dataclass
class _Previous:
    """The served build, grouped by document, for reuse by an incremental build."""

    manifest: dict | None = None
    chunks: dict[str, list[Chunk]] = field(default_factory=dict)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    sentences: dict[str, list[tuple[list[str], np.ndarray]]] = field(default_factory=dict)


def _previous(index_dir: Path) -> _Previous:
    """The served build's manifest, chunks, vectors and sentences by document (empty if unusable)."""
    try:
        old = load_index(index_dir)
    except (IndexMissingError, IndexCorruptError):
        return _Previous()
    vectors = old.vectors.reconstruct_n(0, old.vectors.ntotal)
    prev = _Previous(old.manifest)
    rows: dict[str, list[int]] = {}
    for i, chunk in enumerate(old.chunks):
        prev.chunks.setdefault(chunk.source, []).append(chunk)
        rows.setdefault(chunk.source, []).append(i)
        if old.sentences is not None:
            prev.sentences.setdefault(chunk.source, []).append(old.sentences[i])
    prev.vectors = {s: vectors[r] for s, r in rows.items()}
    return prev


def _chunking(settings: Settings) -> dict:
    return {"chunk_size": settings.chunk_size, "chunk_overlap": settings.chunk_overlap, "chunker": CHUNKER_VERSION,
            "sentences": SENTENCES_VERSION}


def _full_rebuild_reason(manifest: dict | None, embedder_info, settings: Settings, full: bool) -> str:
    if full:
        return "--full requested"
    if manifest is None:
        return "no usable index yet"
    if manifest["embedder"] != {"name": embedder_info.name, "dim": embedder_info.dim}:
        return f"embedder changed ({manifest['embedder']['name']} -> {embedder_info.name})"
    want = _chunking(settings)
    if manifest["chunking"] != want:
        return f"chunking settings changed ({manifest['chunking']} -> {want})"
    return ""


def build_index(
    settings: Settings,
    full: bool = False,
    progress: Callable[[int, int], None] | None = None,
    embedder=None,
) -> BuildSummary:
    """Create or update the index for ``settings.corpus_dirs``; returns what changed.

    ``progress(done, total)`` is called as chunks and then their sentences are embedded.
    """
    import bm25s
    import faiss

    from .embedder import load_embedder

    started = time.perf_counter()
    index_dir = Path(settings.index_dir)
    report = load_corpus(settings.corpus_dirs)  # fails before touching the index if the corpus is unusable
    summary = BuildSummary(skipped=report.skipped, flagged=[f.describe(d.source) for d in report.documents
                                                            for f in d.flagged])

    with build_lock(index_dir):  # before the embedder loads: a second rebuild is refused at once
        embedder = embedder or load_embedder(settings.embedder_package)
        builds = index_dir / BUILDS
        builds.mkdir(exist_ok=True)
        for stray in builds.glob(".tmp-*"):  # left by a killed build
            shutil.rmtree(stray, ignore_errors=True)

        served = _previous(index_dir)
        manifest, old_chunks, old_vectors = served.manifest, served.chunks, served.vectors
        summary.reason = _full_rebuild_reason(manifest, embedder.info, settings, full)
        summary.full = bool(summary.reason)
        old_docs = {} if summary.full or manifest is None else manifest["documents"]

        plan: list[tuple[Document, list[Chunk] | None]] = []  # None = needs embedding
        for doc in report.documents:
            prev = old_docs.get(doc.source)
            if prev and prev["sha256"] == doc.sha256 and doc.source in old_vectors:
                summary.unchanged += 1
                plan.append((doc, old_chunks[doc.source]))
            else:
                if prev:
                    summary.changed += 1
                else:
                    summary.added += 1
                plan.append((doc, None))
        current = {d.source for d in report.documents}
        summary.removed = len([s for s in (manifest or {}).get("documents", {}) if s not in current])

        new_chunks = {
            doc.source: chunk_document(doc, settings.chunk_size, settings.chunk_overlap)
            for doc, reuse in plan
            if reuse is None
        }
        to_embed = [c for chunks in new_chunks.values() for c in chunks]
        # Each chunk's sentences are embedded here once rather than per question (~0.3 s of first-token time).
        sentence_rows: dict[str, list[list[str]]] = {}
        for doc, reuse in plan:
            if reuse is None or doc.source not in served.sentences:
                chunks = reuse if reuse is not None else new_chunks[doc.source]
                sentence_rows[doc.source] = [chunk_sentences(c.text) for c in chunks]
        to_split = [t for rows in sentence_rows.values() for sents in rows for t in sents]
        total = len(to_embed) + len(to_split)
        done = 0

        def tick(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, total)

        fresh = embedder.embed([c.search_text for c in to_embed], settings.embed_batch_size, tick) if to_embed else None
        split_vecs = embedder.embed(to_split, 64, tick) if to_split else None
        fresh_by_doc: dict[str, np.ndarray] = {}
        offset = 0
        for source, chunks in new_chunks.items():
            fresh_by_doc[source] = fresh[offset : offset + len(chunks)]
            offset += len(chunks)

        all_chunks: list[Chunk] = []
        blocks: list[np.ndarray] = []
        sentences: list[tuple[list[str], np.ndarray]] = []
        documents: dict[str, dict] = {}
        offset = 0
        for doc, reuse in plan:
            if doc.source in sentence_rows:
                for sents in sentence_rows[doc.source]:
                    sentences.append((sents, split_vecs[offset : offset + len(sents)]))
                    offset += len(sents)
            else:
                sentences.extend(served.sentences[doc.source])
            chunks = reuse if reuse is not None else new_chunks[doc.source]
            vecs = old_vectors[doc.source] if reuse is not None else fresh_by_doc[doc.source]
            all_chunks.extend(chunks)
            blocks.append(vecs)
            documents[doc.source] = {
                "sha256": doc.sha256,
                "title": doc.title,
                "topic": doc.topic,
                "order": doc.order,
                "summary": doc.summary,
                "path": str(doc.path),
                "chunks": len(chunks),
                "flagged": len(doc.flagged),
                "indexed_at": (old_docs.get(doc.source, {}).get("indexed_at") if reuse is not None else None)
                or time.time(),
            }
        matrix = np.vstack(blocks).astype("float32") if blocks else np.zeros((0, embedder.info.dim), "float32")

        build_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        tmp = builds / f".tmp-{build_id}"
        tmp.mkdir()
        vectors = faiss.IndexFlatIP(embedder.info.dim)
        vectors.add(matrix)
        faiss.write_index(vectors, str(tmp / "vectors.faiss"))
        bm25 = bm25s.BM25()
        bm25.index([keyword_tokens(c.search_text) or ["_"] for c in all_chunks], show_progress=False)
        bm25.save(str(tmp / "bm25"), allow_pickle=False)
        _write_json(tmp / "chunks.json", [c.to_dict() for c in all_chunks])
        _write_json(tmp / "sentences.json", [sents for sents, _ in sentences])
        sentence_matrix = (np.vstack([vecs for _, vecs in sentences]) if sentences
                           else np.zeros((0, embedder.info.dim))).astype("float32")
        np.save(tmp / "sentences.npy", sentence_matrix, allow_pickle=False)
        for f in tmp.rglob("*"):
            if f.is_file():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
        _write_json(
            tmp / "manifest.json",
            {
                "version": MANIFEST_VERSION,
                "built_at": time.time(),
                "embedder": {"name": embedder.info.name, "dim": embedder.info.dim},
                "chunking": _chunking(settings),
                "corpus_dirs": [str(p) for p in settings.corpus_dirs],
                "documents": documents,
                "files": build_files(tmp),
                "counts": {"chunks": len(all_chunks), "vectors": vectors.ntotal,
                           "bm25_docs": int(bm25.scores["num_docs"]), "sentences": len(sentence_matrix)},
            },
        )
        _load_build(index_dir, tmp)  # the new build is read back and checked, hashes included, before it serves
        final = builds / build_id
        os.rename(tmp, final)
        _fsync_dir(builds)

        link_tmp = index_dir / f".{CURRENT}.tmp"
        if link_tmp.is_symlink() or link_tmp.exists():
            link_tmp.unlink()
        os.symlink(Path(BUILDS) / build_id, link_tmp)
        os.replace(link_tmp, index_dir / CURRENT)  # the atomic swap
        _fsync_dir(index_dir)

        for old in builds.iterdir():
            if old.name != build_id:
                shutil.rmtree(old, ignore_errors=True)

    summary.chunks = len(all_chunks)
    summary.embedded_chunks = len(to_embed)
    summary.seconds = time.perf_counter() - started
    return summary
