import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

from rag_tutor.citations import SupportChecker
from rag_tutor.errors import IndexCorruptError, IndexLockedError, IndexMissingError
from rag_tutor.index import build_index, build_lock, chunk_sentences, current_build, index_status, load_index

pytestmark = pytest.mark.model


def test_first_build_then_nothing_to_do(tiny_corpus, settings_for, embedder):
    s = settings_for(tiny_corpus)
    first = build_index(s, embedder=embedder)
    assert (first.added, first.full, first.embedded_chunks) == (3, True, first.chunks)
    again = build_index(s, embedder=embedder)
    assert (again.added, again.changed, again.removed, again.unchanged, again.embedded_chunks) == (0, 0, 0, 3, 0)
    assert again.chunks == first.chunks and "3 unchanged" in again.line()


def test_incremental_add_edit_delete(tiny_corpus, settings_for, embedder):
    s = settings_for(tiny_corpus)
    build_index(s, embedder=embedder)
    (tiny_corpus / "08-flows.md").write_text("# Flows\n\n## Invertible maps\n\nA normalizing flow is invertible.\n")
    added = build_index(s, embedder=embedder)
    assert (added.added, added.unchanged, added.embedded_chunks) == (1, 3, 1)

    with open(tiny_corpus / "05-vae.md", "a") as fh:
        fh.write("\n## VAE samples\n\nVAE samples are often blurrier than GAN samples.\n")
    edited = build_index(s, embedder=embedder)
    assert (edited.changed, edited.unchanged) == (1, 3)
    index = load_index(s.index_dir)
    assert any("blurrier" in c.text for c in index.chunks)

    (tiny_corpus / "07-diffusion.md").unlink()
    removed = build_index(s, embedder=embedder)
    assert (removed.removed, removed.unchanged) == (1, 3)
    index = load_index(s.index_dir)
    assert not any(c.source.endswith("07-diffusion.md") for c in index.chunks)
    assert index.vectors.ntotal == len(index.chunks)
    _assert_sentences_match_chunks(index, embedder)
    # reused vectors are the same vectors a full rebuild computes
    full = build_index(s, full=True, embedder=embedder)
    assert full.full and full.reason == "--full requested"


def _assert_sentences_match_chunks(index, embedder):
    """The stored sentences are chunk i's own, as a fresh split gives them, with their own embeddings."""
    assert len(index.sentences) == len(index.chunks)
    for chunk, (sents, vecs) in zip(index.chunks, index.sentences):
        assert sents == chunk_sentences(chunk.text)
        assert np.allclose(vecs, embedder.embed(sents), atol=1e-4)


def test_stored_sentences_serve_the_citation_check(tiny_corpus, settings_for, embedder):
    s = settings_for(tiny_corpus)
    build_index(s, embedder=embedder)
    index = load_index(s.index_dir)
    checker = SupportChecker.for_index(embedder, index)
    chunk = next(c for c in index.chunks if "Gaussian noise" in c.text)
    embedder_calls = []
    checker.embedder = type("Spy", (), {"embed": lambda *a, **k: embedder_calls.append(a) or embedder.embed(*a[1:]),
                                        "embed_query": lambda self, t: embedder.embed_query(t)})()
    sup = checker.support("The forward process corrupts an image with Gaussian noise.", chunk.text)
    assert sup.score > 0.55 and "Gaussian noise" in sup.best_sentence and embedder_calls == []
    # a damaged sentence store is reported like any other corrupt part
    np.save(index.path / "sentences.npy", np.zeros((1, 384), "float32"), allow_pickle=False)
    with pytest.raises(IndexCorruptError, match="damaged: sentences.npy does not match.*rag-tutor index --full"):
        load_index(s.index_dir)


def test_changed_chunking_or_embedder_forces_full_rebuild(tiny_corpus, settings_for, embedder):
    s = settings_for(tiny_corpus)
    build_index(s, embedder=embedder)
    resized = build_index(replace(s, chunk_size=800), embedder=embedder)
    assert resized.full and "chunking settings changed" in resized.reason
    manifest = current_build(s.index_dir) / "manifest.json"
    data = json.loads(manifest.read_text())
    data["embedder"]["name"] = "some-other-model==1.0"
    manifest.write_text(json.dumps(data))
    rebuilt = build_index(replace(s, chunk_size=800), embedder=embedder)
    assert rebuilt.full and "embedder changed" in rebuilt.reason


def test_index_is_json_and_faiss_never_pickle(tiny_corpus, settings_for, embedder):
    s = settings_for(tiny_corpus)
    build_index(s, embedder=embedder)
    build = current_build(s.index_dir)
    names = {p.name for p in build.rglob("*")}
    assert {"manifest.json", "chunks.json", "vectors.faiss"} <= names
    assert not any(n.endswith((".pkl", ".pickle")) for n in names)


def test_status_reports_stale_documents(tiny_corpus, settings_for, embedder):
    s = settings_for(tiny_corpus)
    assert not index_status(s).exists
    build_index(s, embedder=embedder)
    assert not index_status(s).stale
    (tiny_corpus / "05-vae.md").write_text((tiny_corpus / "05-vae.md").read_text() + "\nMore.\n")
    status = index_status(s)
    assert status.stale and status.changed == ["corpus/05-vae.md"]


def test_second_concurrent_rebuild_is_refused(tiny_corpus, settings_for, embedder):
    s = settings_for(tiny_corpus)
    build_index(s, embedder=embedder)
    with build_lock(s.index_dir):
        with pytest.raises(IndexLockedError, match="another rebuild .* is running"):
            build_index(s, embedder=embedder)
    assert build_index(s, embedder=embedder).unchanged == 3  # the lock is released afterwards


def test_missing_and_corrupt_index_are_reported(tiny_corpus, settings_for, embedder):
    s = settings_for(tiny_corpus)
    with pytest.raises(IndexMissingError, match="rag-tutor index"):
        load_index(s.index_dir)
    build_index(s, embedder=embedder)
    (current_build(s.index_dir) / "chunks.json").write_text("[{broken")
    with pytest.raises(IndexCorruptError, match="rag-tutor index --full"):
        load_index(s.index_dir)
    # a corrupt index is replaced by a full rebuild
    assert build_index(s, embedder=embedder).full
    assert load_index(s.index_dir).chunks


def test_leftovers_of_a_killed_build_are_ignored_then_cleaned(tiny_corpus, settings_for, embedder):
    s = settings_for(tiny_corpus)
    build_index(s, embedder=embedder)
    served = current_build(s.index_dir)
    partial = s.index_dir / "builds" / ".tmp-killed"
    partial.mkdir()
    (partial / "chunks.json").write_text("[")
    os.symlink("builds/.tmp-killed", s.index_dir / ".current.tmp")  # killed just before the swap
    assert load_index(s.index_dir).path == served
    build_index(s, embedder=embedder)
    assert not partial.exists() and not (s.index_dir / ".current.tmp").exists()


def test_rebuild_killed_midway_leaves_the_previous_index_serving(settings_for, tmp_path, embedder):
    from rag_tutor.config import load_settings

    course = load_settings(env={}).corpus_dirs[0]
    s = settings_for(course)
    build_index(s, embedder=embedder)
    before = load_index(s.index_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rag_tutor", "index", "--full", "--index-dir", str(s.index_dir), "--corpus", str(course)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    deadline = time.time() + 120
    seen = ""
    while time.time() < deadline and "embedding" not in seen:
        seen += os.read(proc.stderr.fileno(), 4096).decode(errors="replace")
    assert "embedding" in seen, "the rebuild never started embedding"
    time.sleep(1.0)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    after = load_index(s.index_dir)
    assert after.path == before.path and len(after.chunks) == len(before.chunks)
    # and the next rebuild goes through: the kernel released the dead process's lock
    assert build_index(s, embedder=embedder).unchanged == len(before.manifest["documents"])
