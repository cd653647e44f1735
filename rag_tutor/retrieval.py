"""Question (+ conversation) -> passages: dense FAISS and BM25 rankings fused by weighted RRF."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .config import Settings
from .index import LoadedIndex, keyword_tokens, load_index
from .query import Query, Vocabulary, understand

@dataclass
class Passage:
    """One retrieved chunk, ready to show and cite."""

    source: str
    title: str
    section: str
    text: str
    score: float  # ranking score (higher is better): fused reciprocal ranks, or the second stage's (rerank.py)
    chunk_id: str = ""
    topic: str = ""
    similarity: float = 0.0  # cosine between the (expanded) question and the passage

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RetrievalResult:
    passages: list[Passage]
    query: Query  # the question as understood (follow-up resolved, kind, course terms, unknown names)
    top_similarity: float  # best cosine over the whole index: the decline signal

    # What older callers read off the result, from the query.
    @property
    def search_text(self) -> str:
        return self.query.search_text

    @property
    def notices(self) -> list[str]:
        return self.query.notices


def lessons_only(topics: list[str], minimum: int = 2) -> list[int]:
    """Positions of the passages that are not glossary entries, when there are at least ``minimum`` of them (else
    none: the ranking stands). (Also leaving out lessons 0.15 cosine below the closest one was tried: held-out
    40 of 60 instead of 41, follow-ups 6 of 12 instead of 7.)"""
    lessons = [i for i, topic in enumerate(topics) if topic != "glossary"]
    return lessons if len(lessons) >= minimum else []


class Retriever:
    """Hybrid search over a loaded index. The same object serves the CLI, the answer pipeline and the UI."""

    def __init__(self, index: LoadedIndex, embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.vocabulary = Vocabulary(index.chunks)
        self._reranker: object | None = None
        self._reranker_loaded = False

    @property
    def reranker(self):
        """The second stage the settings name (rerank.py), loaded on first use; None when off or missing."""
        if not self._reranker_loaded:
            from .rerank import load_reranker

            self._reranker = load_reranker(self.settings)
            self._reranker_loaded = True
        return self._reranker

    def understand(self, question: str, history: list[str] | None = None) -> Query:
        return understand(question, history, self.vocabulary, self.settings)

    @classmethod
    def load(cls, settings: Settings) -> "Retriever":
        from .embedder import load_embedder
        from .index import check_embedder

        index = load_index(Path(settings.index_dir), settings.verify_index_hashes)  # fails fast, before the model loads
        embedder = load_embedder(settings.embedder_package)
        check_embedder(index, embedder.info.name, Path(settings.index_dir))
        return cls(index, embedder, settings)

    # -- single rankings

    def dense_scores(self, text: str) -> np.ndarray:
        query = self.embedder.embed_query(text)[None, :]
        n = self.index.vectors.ntotal
        scores, ids = self.index.vectors.search(query, n)
        out = np.full(n, -1.0, dtype="float32")
        out[ids[0]] = scores[0]
        return out

    def bm25_scores(self, text: str) -> np.ndarray:
        vocab = self.index.bm25.vocab_dict
        tokens = [t for t in keyword_tokens(text) if t in vocab]
        if not tokens:
            return np.zeros(len(self.index.chunks), dtype="float32")
        return np.asarray(self.index.bm25.get_scores(tokens), dtype="float32")

    @staticmethod
    def _rrf(scores: np.ndarray, weight: float, rrf_k: int, positive_only: bool) -> np.ndarray:
        order = np.argsort(-scores, kind="stable")
        ranks = np.empty(len(scores), dtype="float64")
        ranks[order] = np.arange(1, len(scores) + 1)
        fused = weight / (rrf_k + ranks)
        if positive_only:
            fused[scores <= 0] = 0.0
        return fused

    # -- the public call

    def retrieve(self, query: Query | str, k: int | None = None, history: list[str] | None = None) -> RetrievalResult:
        """The k passages for a question (a ``Query``, or its text and the earlier turns), with the rules of
        ``query.RULES`` that act on passages applied: every caller sees the same passages for one question."""
        s = self.settings
        k = k or s.k
        if isinstance(query, str):
            query = self.understand(query, history)
        n = len(self.index.chunks)
        if n == 0:
            return RetrievalResult([], query, 0.0)

        dense_q = self.dense_scores(query.text)
        dense_h = None
        if (not query.uses_history and query.history and s.resolve_follow_ups
                and float(dense_q.max()) < s.decline_threshold):
            # Too far from everything alone (it would be declined in a fresh chat): maybe it points back. Taken so
            # only if the conversation's subject makes it answerable; else it is judged alone, as in a fresh chat.
            again = understand(query.text, query.history, self.vocabulary, s, weak_alone=True)
            if again.uses_history:
                dense_h = self.dense_scores(again.search_text)
                if float(dense_h.max()) >= s.decline_threshold:
                    again.notices = query.notices
                    query = again
        fused = self._rrf(dense_q, s.dense_weight, s.rrf_k, False)
        fused += self._rrf(self.bm25_scores(query.text), s.bm25_weight, s.rrf_k, True)
        similarity = dense_q
        if query.uses_history:
            if dense_h is None:
                dense_h = self.dense_scores(query.search_text)
            # The expanded query carries the subject the question points back to: it leads.
            fused *= 1.0 - s.history_weight
            fused += s.history_weight * self._rrf(dense_h, s.dense_weight, s.rrf_k, False)
            fused += s.history_weight * self._rrf(self.bm25_scores(query.search_text), s.bm25_weight, s.rrf_k, True)
            similarity = np.maximum(dense_q, dense_h)

        fused = self.rerank(query, fused)
        # definition_entry_first: the embedder often ranks a lesson that uses a term above the entry defining it.
        if query.defined_entry is not None:
            fused[query.defined_entry] = fused.max() + 1e-6
        order = np.argsort(-fused, kind="stable")
        # reasons_from_lessons: given a glossary entry, the small model copies the definition instead of the reason.
        if s.reasons_from_lessons and query.explains and query.defined_entry is None:
            keep = lessons_only([self.index.chunks[int(i)].topic for i in order[: k + s.context_passages]])
            order = order[keep] if keep else order
        passages = []
        for i in order[:k]:
            c = self.index.chunks[int(i)]
            passages.append(
                Passage(c.source, c.title, c.section, c.text, float(fused[i]), c.id, c.topic, float(similarity[i]))
            )
        return RetrievalResult(passages, query, float(similarity.max()))

    def rerank(self, query: Query, fused: np.ndarray) -> np.ndarray:
        """The second stage: the first stage's best ``rerank_candidates`` scored again, kept above the rest."""
        reranker, n = self.reranker, self.settings.rerank_candidates
        if reranker is None or n < 2:
            return fused
        head = np.argsort(-fused, kind="stable")[:n]
        scores = reranker.rescore(query.search_text, [self.index.chunks[int(i)].search_text for i in head],
                                  fused[head], self.settings.rerank_weight)
        out = fused.astype("float64")
        out[head] = out.max() + 1.0 + scores - scores.min()
        return out

    def search(self, question: str, k: int | None = None, history: list[str] | None = None) -> list[Passage]:
        return self.retrieve(question, k, history).passages
