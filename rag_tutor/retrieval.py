"""Question (+ conversation) -> passages: dense FAISS and BM25 rankings fused by weighted RRF."""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from .config import Settings
from .index import LoadedIndex, keyword_tokens, load_index
from .query import Query, understand, without
from .vocabulary import Vocabulary
from .rankers import (PASSAGE_CANDIDATES, PASSAGE_FEATURES, PASSAGE_WEIGHTS, LinearRanker, Shared, keyword_idf,
                      passage_features)

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


QUERY_VECTORS_KEPT = 64  # question embeddings kept for reuse (a few per conversation turn)


@dataclass
class FirstStage:
    """The first stage's view of a question: the fused dense and BM25 ranking, and what the learned ranker reads."""

    query: Query  # as understood; a question too weak alone may have become a follow-up
    fused: np.ndarray  # fused reciprocal-rank score of every chunk
    similarity: np.ndarray  # every chunk's cosine to the question (the better of alone / with the earlier subject)
    dense: np.ndarray  # every chunk's cosine to the searched text
    bm25: np.ndarray  # every chunk's BM25 score for the searched text
    vector: np.ndarray  # the searched text's embedding


def above_the_rest(fused: np.ndarray, head: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The ranking with the passages ``head`` ordered by a second stage's ``scores`` and kept above all others."""
    out = fused.astype("float64")
    out[head] = out.max() + 1.0 + scores - scores.min()
    return out


def lessons_only(topics: list[str], minimum: int = 2) -> list[int]:
    """Positions of the passages that are not glossary entries, when there are at least ``minimum`` of them (else
    none: the ranking stands). (Also leaving out lessons 0.15 cosine below the closest one was tried: held-out
    40 of 60 instead of 41, follow-ups 6 of 12 instead of 7.)"""
    lessons = [i for i, topic in enumerate(topics) if topic != "glossary"]
    return lessons if len(lessons) >= minimum else []


def english_words(embedder) -> frozenset[str]:
    """The whole words of the embedder's tokenizer (~20,000 for MiniLM): English words that are not misspellings
    of the course's (vocabulary.Vocabulary.respell). Empty for an embedder without a word-piece vocabulary."""
    try:
        vocab = embedder.model.tokenizer.get_vocab()
    except AttributeError:
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha() and w.islower())


class Retriever:
    """Hybrid search over a loaded index. The same object serves the CLI, the answer pipeline and the UI."""

    def __init__(self, index: LoadedIndex, embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.vocabulary = Vocabulary(index.chunks, english_words(embedder))
        self._reranker: object | None = None
        self._reranker_loaded = False
        self.passage_weights = PASSAGE_WEIGHTS  # the learned passage ranker's file (rankers.py retrains it)
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()  # the last questions' embeddings
        self._vectors_lock = threading.Lock()
        self._capitals: dict[str, np.ndarray] = {}  # name -> which passages write it in capitals (bm25_scores)

    @property
    def reranker(self):
        """The second stage the settings name (rerank.py), loaded on first use; None when off or missing."""
        if not self._reranker_loaded:
            from .rerank import load_reranker

            self._reranker = load_reranker(self.settings)
            self._reranker_loaded = True
        return self._reranker

    def understand(self, question: str, history: list[str] | None = None) -> Query:
        query = understand(question, history, self.vocabulary, self.settings, similar=self.similar)
        if query.initialisms and not self.closest_names(query.text, list(query.initialisms.values())):
            # expand_initialisms: "EDM" read as "encoder-decoder model" in a question on a diffusion paper brings the
            # course no closer to that term: the learner meant something else, and the question is taken as typed
            query = understand(question, history, self.vocabulary, without(self.settings, "expand_initialisms"),
                               similar=self.similar)
        return query

    def closest_names(self, text: str, terms: list[str]) -> bool:
        """Whether the passage closest to a text (MiniLM) names each of the terms, in its heading or its text."""
        chunk = self.index.chunks[int(np.argmax(self.dense_scores(text)))]
        where = f"{chunk.section} {chunk.text}".lower()
        return all(term.lower() in where for term in terms)

    def similar(self, text: str, phrases: list[str]) -> list[float]:
        """MiniLM's cosine between a short text and each phrase (the query stage's ``Similarity``). The phrases are
        embedded in one batch and not kept: they are no questions, and would push questions' vectors out."""
        return (self.embedder.embed(phrases) @ self.query_vector(text)).tolist()

    def query_vector(self, text: str) -> np.ndarray:
        """The embedding of a question's text, computed once: retrieval, the prompt's excerpts and the selector all
        need it (it was embedded up to three times per answer)."""
        with self._vectors_lock:
            vector = self._vectors.get(text)
            if vector is not None:
                self._vectors.move_to_end(text)
                return vector
        vector = self.embedder.embed_query(text)
        vector.setflags(write=False)  # shared: nobody may change it
        with self._vectors_lock:
            self._vectors[text] = vector
            while len(self._vectors) > QUERY_VECTORS_KEPT:
                self._vectors.popitem(last=False)
        return vector

    @cached_property
    def passage_ranker(self) -> LinearRanker | None:
        """The learned passage ranker (rankers.py), when the rule is on and its weights ship."""
        if not self.settings.learned_passage_ranker:
            return None
        return LinearRanker.load(self.passage_weights, PASSAGE_FEATURES)

    @cached_property
    def chunk_keywords(self) -> list[tuple[frozenset[str], frozenset[str]]]:
        """Each indexed chunk's keywords: of its text, and of its title and section heading (computed once)."""
        return [(frozenset(keyword_tokens(c.text)), frozenset(keyword_tokens(f"{c.title} {c.section}")))
                for c in self.index.chunks]

    @cached_property
    def idf(self) -> dict[str, float]:
        """Each keyword's rarity over the indexed chunks (the learned rankers weigh shared keywords by it)."""
        return keyword_idf([text for text, _ in self.chunk_keywords])

    def keyword_rarity(self, word: str) -> float:
        return self.idf.get(word, math.log(len(self.index.chunks) + 1))  # a keyword no chunk holds: the rarest

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
        return self._dense(self.query_vector(text))

    def _dense(self, vector: np.ndarray) -> np.ndarray:
        n = self.index.vectors.ntotal
        scores, ids = self.index.vectors.search(vector[None, :], n)
        out = np.full(n, -1.0, dtype="float32")
        out[ids[0]] = scores[0]
        return out

    def bm25_scores(self, text: str) -> np.ndarray:
        vocab = self.index.bm25.vocab_dict
        tokens = [t for t in keyword_tokens(text) if t in vocab]
        if not tokens:
            return np.zeros(len(self.index.chunks), dtype="float32")
        scores = np.asarray(self.index.bm25.get_scores(tokens), dtype="float32")
        if self.settings.abbreviations_in_capitals:
            for name in self.vocabulary.in_capitals(text):
                # BM25 lower-cases, so "CLIP" also matches "a short clip": that word's part of the score (BM25
                # sums one part per token) is kept only for the passages that write the name in capitals ("IS" is a
                # stop word, no token at all)
                token = next(iter(keyword_tokens(name)), None)
                if token in tokens:
                    part = np.asarray(self.index.bm25.get_scores([token] * tokens.count(token)), dtype="float32")
                    scores -= np.where(self._written_in_capitals(name), 0.0, part)
        return scores

    def _written_in_capitals(self, name: str) -> np.ndarray:
        """Which passages write this name in capitals, as a word of its own (in their heading or their text)."""
        found = self._capitals.get(name)
        if found is None:
            pattern = re.compile(rf"\b{re.escape(name)}\b")
            found = self._capitals[name] = np.array([bool(pattern.search(c.search_text)) for c in self.index.chunks])
        return found

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

    def first_stage(self, query: Query) -> FirstStage:
        """Dense and BM25 rankings fused by weighted reciprocal ranks (the expanded text leads for a follow-up)."""
        s = self.settings
        vector_q = self.query_vector(query.text)
        dense_q = self._dense(vector_q)
        # the small embedder places a bare abbreviation far from everything ("why do LLMs ...?"): how close the
        # course comes to the question is the better of it as typed and spelt out (spell_out_abbreviations)
        close_q = (np.maximum(dense_q, self._dense(self.query_vector(query.spelt_out)))
                   if query.spelt_out != query.text else dense_q)
        vector_h = dense_h = None
        weak = float(close_q.max()) < s.decline_threshold
        # closer_with_history: a question naming no course term of its own may point back even when it is close
        # enough alone ("what does the search step use?" after a question on RAG is close to beam search)
        unnamed = s.closer_with_history and not query.course_terms and not query.unknown_names
        if not query.uses_history and query.history and s.resolve_follow_ups and (weak or unnamed):
            # Too far from everything alone (it would be declined in a fresh chat): maybe it points back. Taken so
            # only if the conversation's subject makes it answerable; else it is judged alone, as in a fresh chat.
            # One naming no course term is taken so only if the course comes closer to it with that subject. Its
            # text is read already: an initialism kept as typed (Retriever.understand) stays so.
            again = understand(query.text, query.history, self.vocabulary, without(s, "expand_initialisms"),
                               weak_alone=True, similar=self.similar)
            if again.uses_history:
                vector_h = self.query_vector(again.search_text)
                dense_h = self._dense(vector_h)
                if float(dense_h.max()) >= s.decline_threshold and (weak or dense_h.max() > close_q.max()):
                    again.notices = query.notices
                    query = again
        bm25_q = self.bm25_scores(f"{query.text} {query.keywords_added}")
        fused = self._rrf(dense_q, s.dense_weight, s.rrf_k, False)
        fused += self._rrf(bm25_q, s.bm25_weight, s.rrf_k, True)
        if not query.uses_history:
            return FirstStage(query, fused, close_q, dense_q, bm25_q, vector_q)
        if vector_h is None:  # set together with dense_h
            vector_h = self.query_vector(query.search_text)
            dense_h = self._dense(vector_h)
        bm25_h = self.bm25_scores(f"{query.search_text} {query.keywords_added}")
        # The expanded query carries the subject the question points back to: it leads.
        fused *= 1.0 - s.history_weight
        fused += s.history_weight * self._rrf(dense_h, s.dense_weight, s.rrf_k, False)
        fused += s.history_weight * self._rrf(bm25_h, s.bm25_weight, s.rrf_k, True)
        return FirstStage(query, fused, np.maximum(close_q, dense_h), dense_h, bm25_h, vector_h)

    def retrieve(self, query: Query | str, k: int | None = None, history: list[str] | None = None) -> RetrievalResult:
        """The k passages for a question (a ``Query``, or its text and the earlier turns), with the rules of
        ``query.RULES`` that act on passages applied: every caller sees the same passages for one question."""
        s = self.settings
        k = k or s.k
        if isinstance(query, str):
            query = self.understand(query, history)
        if not self.index.chunks:
            return RetrievalResult([], query, 0.0)
        stage = self.first_stage(query)
        query, similarity = stage.query, stage.similarity
        fused = self.learned_order(stage, self.rerank(query, stage.fused))
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

    def passage_rows(self, stage: FirstStage, head: np.ndarray) -> list[list[float]]:
        """The learned passage ranker's features of the chunks ``head`` (in the order they rank)."""
        ranks_dense = np.empty(len(stage.dense), dtype=int)
        ranks_dense[np.argsort(-stage.dense, kind="stable")] = np.arange(len(stage.dense))
        ranks_bm25 = np.empty(len(stage.bm25), dtype=int)
        ranks_bm25[np.argsort(-stage.bm25, kind="stable")] = np.arange(len(stage.bm25))
        top_bm25 = float(stage.bm25.max()) or 1.0
        asked = set(keyword_tokens(stage.query.search_text))
        rows = []
        for rank, i in enumerate(int(i) for i in head):
            cosines = (self.index.sentences[i][1] @ stage.vector).tolist() if self.index.sentences else []
            text_words, heading = self.chunk_keywords[i]
            rows.append(passage_features(
                stage.query, self.index.chunks[i].topic == "glossary", rank, float(stage.dense[i]),
                int(ranks_dense[i]), float(stage.bm25[i]) / top_bm25, int(ranks_bm25[i]), cosines,
                Shared.of(asked, text_words, self.keyword_rarity), len(asked & heading) / max(1, len(asked)),
                stage.query.defined_entry == i))
        return rows

    def learned_order(self, stage: FirstStage, fused: np.ndarray) -> np.ndarray:
        """learned_passage_ranker: the best ``PASSAGE_CANDIDATES`` passages ordered by the learned ranker (rankers.py),
        kept above the rest."""
        ranker = self.passage_ranker
        if ranker is None:
            return fused
        head = np.argsort(-fused, kind="stable")[:PASSAGE_CANDIDATES]
        return above_the_rest(fused, head, ranker.scores(self.passage_rows(stage, head)))

    def rerank(self, query: Query, fused: np.ndarray) -> np.ndarray:
        """The second stage: the first stage's best ``rerank_candidates`` scored again, kept above the rest."""
        reranker, n = self.reranker, self.settings.rerank_candidates
        if reranker is None or n < 2:
            return fused
        head = np.argsort(-fused, kind="stable")[:n]
        scores = reranker.rescore(query.search_text, [self.index.chunks[int(i)].search_text for i in head],
                                  fused[head], self.settings.rerank_weight)
        return above_the_rest(fused, head, scores)

    def search(self, question: str, k: int | None = None, history: list[str] | None = None) -> list[Passage]:
        return self.retrieve(question, k, history).passages
