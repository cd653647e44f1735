"""The learned second stage: the passage and sentence rankers' features, weights files and training (no models)."""

import json
import math

import numpy as np
import pytest

from rag_tutor.candidates import Candidate, Chosen
from rag_tutor.prompts import Context
from rag_tutor.query import Query
from rag_tutor.retrieval import Passage
from rag_tutor.rankers import (PASSAGE_CANDIDATES, PASSAGE_FEATURES, PASSAGE_TRAINING_POOL, PASSAGE_WEIGHTS,
                               SENTENCE_FEATURES, SENTENCE_WEIGHTS, LinearRanker, Shared, fit, fit_listwise,
                               keyword_idf, names_a_term, passage_features, sentence_features)

LESSON = Passage("corpus/gan.md", "GANs", "Training", "GAN training is unstable because the two networks chase each "
                 "other. Mode collapse is one symptom.", 1.0, "g#1", "gan", 0.7)
ENTRY = Passage("corpus/glossary.md", "Glossary", "GAN", "A GAN pits a generator against a discriminator.", 0.9,
                "glossary#3", "glossary", 0.6)


def candidate(passage, n, sentence, position, similarity, relevance=0.7, shaped=False, quotes=None):
    context = Context(n, passage, passage.text, relevance)
    return Candidate(similarity, Chosen(context, sentence, quotes or (sentence,)), position, np.zeros(3),
                     (n, position), shaped)


def words(text):
    return [w.strip("?.,").lower() for w in text.split() if len(w) > 3]


def row(query, cand, best=0.7, matched=0.5, best_matched=0.6, top_passage=1.0):
    values = sentence_features(query, set(words(query.search_text)), cand, best,
                               lambda w: {"unstable": 3.0}.get(w, 1.0), words, matched, best_matched, top_passage)
    return dict(zip(SENTENCE_FEATURES, values))


def test_features_describe_the_sentence_against_what_is_asked():
    why = Query("Why is GAN training unstable?", asks="reason", explains=True, course_terms=["GAN"])
    lesson = row(why, candidate(LESSON, 1, "GAN training is unstable because the two networks chase each other.",
                                0, 0.62))
    assert len(lesson) == len(SENTENCE_FEATURES)
    assert lesson["similarity"] == 0.62 and lesson["behind_best"] == pytest.approx(-0.08)
    assert lesson["passage_rank"] == 0 and lesson["first_sentence"] == 1 and lesson["position"] == 0
    assert lesson["keyword_share"] == 1.0  # why, training, unstable: "why" is no keyword here (3 letters)
    assert lesson["rare_keyword_share"] == 1.0
    assert lesson["reason_given"] == 1 and lesson["names_term"] == 1 and lesson["glossary"] == 0
    assert lesson["passage_best_gap"] == pytest.approx(0.08)
    assert lesson["matched"] == 0.5 and lesson["matched_behind_best"] == pytest.approx(-0.1)
    assert lesson["passage_behind"] == 0.0  # LESSON's score is the best passage's

    entry = row(why, candidate(ENTRY, 2, ENTRY.text, 0, 0.5, relevance=0.5))
    assert entry["glossary"] == 1 and entry["explains_glossary"] == 1 and entry["defines_glossary"] == 0
    assert entry["reason_given"] == 0 and entry["passage_rank"] == 1
    assert entry["keyword_share"] == 0.0
    assert entry["passage_behind"] == pytest.approx(-0.1)  # ENTRY scores 0.9
    assert row(why, candidate(ENTRY, 2, ENTRY.text, 0, 0.5), top_passage=20.0)["passage_behind"] == -8.0

    what = Query("What is a GAN?", asks="definition", course_terms=["GAN"])
    plain = row(what, candidate(ENTRY, 1, ENTRY.text, 0, 0.8))
    assert plain["defines_glossary"] == 1 and plain["explains_glossary"] == 0
    # a reason in the sentence counts only when the question asks for one
    assert row(what, candidate(LESSON, 1, "It is unstable because of the game.", 0, 0.5))["reason_given"] == 0


def test_a_sentence_names_a_term_only_as_a_word_of_its_own():
    assert names_a_term("GANs were introduced in 2014.", ["GAN"])
    assert names_a_term("A GAN-based upscaler sharpens photos.", ["GAN"])
    assert names_a_term("Latent diffusion models run in a small space.", ["latent diffusion model"])
    assert not names_a_term("DCGAN made the recipe stable.", ["GAN"])  # another term's name holds it
    assert not names_a_term("Training began in earnest.", ["GAN"])
    assert not names_a_term("The VQ-VAE keeps a codebook.", ["VAE"])
    assert not names_a_term("On average the scores rose.", ["RAG"])
    assert not names_a_term("a gan of words", ["GAN"])  # an abbreviation in its own capitals
    cand = candidate(LESSON, 1, "DCGAN made the recipe stable.", 1, 0.5)
    assert row(Query("Who made GANs?", asks="person", course_terms=["GAN"]), cand)["names_term"] == 0


def test_rarer_shared_keywords_weigh_more():
    q = Query("Is GAN training unstable?", course_terms=[])
    common = row(q, candidate(LESSON, 1, "GAN training needs care and patience.", 1, 0.5))
    rare = row(q, candidate(LESSON, 1, "It is unstable, as every practitioner knows.", 1, 0.5))
    assert common["keyword_share"] == rare["keyword_share"] == 0.5  # training / unstable, one each
    assert rare["rare_keyword_share"] > common["rare_keyword_share"]
    assert rare["rare_keyword_share"] == pytest.approx(3 / 4) and math.isclose(common["rare_keyword_share"], 1 / 4)


def test_fit_learns_which_feature_marks_the_answer_and_the_file_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(200, len(SENTENCE_FEATURES))).tolist()
    labels = [int(r[6] > 0.5) for r in rows]  # only keyword_share tells
    ranker = fit(rows, labels, SENTENCE_FEATURES, "made up")
    assert ranker.weights[6] == max(ranker.weights, key=abs)
    hi, lo = [0.0] * len(SENTENCE_FEATURES), [0.0] * len(SENTENCE_FEATURES)
    hi[6], lo[6] = 2.0, -2.0
    assert ranker.scores([hi, lo])[0] > ranker.scores([hi, lo])[1]
    path = tmp_path / "weights" / "ranker.json"
    ranker.save(path)
    again = LinearRanker.load(path, SENTENCE_FEATURES)
    assert again is not None and again.weights == ranker.weights and again.trained_on == "made up"
    np.testing.assert_allclose(again.scores([hi]), ranker.scores([hi]))


def test_listwise_fit_learns_what_puts_the_answer_first_within_each_question():
    # Two features: "marks" is higher for the answering candidate than for the others of its question, but varies a
    # lot between questions; "level" is high for every candidate of a question that has an answer at all. Within a
    # question only "marks" tells which candidate answers; "level", alike for all of a question's candidates, orders
    # nothing and gets no weight.
    rng = np.random.default_rng(1)
    rows, labels, groups = [], [], []
    for g in range(120):
        answered, offset = g % 4 != 0, rng.normal(scale=3.0)
        for i in range(5):
            hit = answered and i == 0
            marks, level = offset + (1.0 if hit else 0.0) + rng.normal(scale=0.2), answered + rng.normal(scale=0.1)
            rows.append([marks, level] + [0.0] * (len(SENTENCE_FEATURES) - 2))
            labels.append(int(hit))
            groups.append(g)
    ranker = fit_listwise(rows, labels, groups, SENTENCE_FEATURES, "made up")
    scores = ranker.scores(rows)
    firsts = [max(range(5), key=lambda i: scores[5 * g + i]) for g in range(120) if g % 4]
    assert firsts.count(0) >= 0.9 * len(firsts)
    assert ranker.weights[0] > 0 and ranker.weights[1] == pytest.approx(0.0, abs=0.05)  # it orders nothing within one
    # calibrated: an answering candidate's log-odds above even, the others' below
    assert np.mean(scores[np.asarray(labels) == 1]) > 0 > np.mean(scores[np.asarray(labels) == 0])


def test_weights_for_other_features_or_no_file_are_not_used(tmp_path):
    assert LinearRanker.load(tmp_path / "missing.json", SENTENCE_FEATURES) is None
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps({"mean": [0.0], "scale": [1.0], "weights": [1.0], "bias": 0.0,
                                 "features": ["similarity"]}))
    assert LinearRanker.load(stale, SENTENCE_FEATURES) is None
    stale.write_text("{not json")
    assert LinearRanker.load(stale, SENTENCE_FEATURES) is None


@pytest.mark.parametrize("path,names", [(PASSAGE_WEIGHTS, PASSAGE_FEATURES), (SENTENCE_WEIGHTS, SENTENCE_FEATURES)])
def test_the_shipped_weights_load_offline(path, names):
    ranker = LinearRanker.load(path, names)
    assert ranker is not None and tuple(ranker.features) == names
    assert all(s > 0 for s in ranker.scale) and ranker.trained_on


def test_passage_features_describe_the_passage_against_what_is_asked():
    why = Query("Why is GAN training unstable?", asks="reason", explains=True, defined_entry=None)
    shared = Shared.of({"train", "unstabl"}, {"train", "unstabl", "gan"}, lambda w: 1.0)
    values = dict(zip(PASSAGE_FEATURES, passage_features(why, True, 0, 0.6, 2, 0.5, 0, [0.4, 0.7, 0.5], shared,
                                                         0.5, False)))
    assert len(values) == len(PASSAGE_FEATURES)
    assert values["log_fused_rank"] == 0 and values["log_dense_rank"] == pytest.approx(math.log(3))
    assert values["best_sentence"] == 0.7 and values["second_sentence"] == 0.5
    assert values["keyword_share"] == values["rare_keyword_share"] == 1.0 and values["heading_share"] == 0.5
    assert values["explains_glossary"] == 1 and values["defines_glossary"] == 0 and values["defined_entry"] == 0
    what = Query("What is a GAN?", asks="definition", defined_entry=7)
    one = dict(zip(PASSAGE_FEATURES, passage_features(what, True, 3, 0.8, 0, 1.0, 0, [0.8], Shared(0.0, 0.0), 0.0,
                                                      True)))
    assert one["defines_glossary"] == 1 and one["defined_entry"] == 1 and one["second_sentence"] == 0.8


def test_keyword_idf_weighs_rare_words_up():
    idf = keyword_idf([frozenset(t.split()) for t in ["gan training", "gan sampling", "gan loss"]])
    assert idf["gan"] == pytest.approx(0.0) and idf["loss"] == pytest.approx(math.log(2))


@pytest.mark.model
@pytest.mark.parametrize("question,history,answer", [
    ("What does a VAE encoder output?", [], "mean"),  # what
    ("Why can GAN training be unstable?", [], "gradient"),  # why
    ("Who came up with the variational autoencoder model?", [], "Kingma"),  # who
    ("Which metrics are used to evaluate generated images?", [], "FID"),  # list
    ("And who introduced it?", ["What's a variational autoencoder?"], "Kingma"),  # follow-up
])
def test_training_rows_label_what_holds_the_answer_for_each_question_form(course_retriever, question, history,
                                                                          answer):
    from rag_tutor.answer import Tutor
    from rag_tutor.rankers import passage_rows, sentence_groups, sentence_rows

    tutor = Tutor(course_retriever.settings.with_overrides(generate=False), retriever=course_retriever)
    asked = [{"question": question, "history": history, "answers": [answer], "kind": "in_scope"},
             {"question": question, "history": history, "answers": [answer], "kind": "out_of_scope"}]  # skipped
    rows, labels, groups = passage_rows(tutor, asked)
    assert len(rows) == PASSAGE_TRAINING_POOL < PASSAGE_CANDIDATES and set(groups) == {0}
    assert all(len(r) == len(PASSAGE_FEATURES) for r in rows) and 0 < sum(labels) < len(labels)
    rows, labels, groups = sentence_rows(tutor, sentence_groups(tutor, asked))
    assert rows and all(len(r) == len(SENTENCE_FEATURES) for r in rows) and 0 < sum(labels) < len(labels)
    candidates = tutor.candidates(*_query_and_contexts(tutor, question, history))
    assert [int(answer.lower() in c.chosen.sentence.lower()) for c in candidates] == labels


def _query_and_contexts(tutor, question, history):
    result = tutor.retrieve(tutor.retriever.understand(question, history))
    return result.query, tutor.contexts(result)


@pytest.mark.model
def test_retraining_writes_both_rankers_one_matcher_per_seed_and_the_reader(course_index, tmp_path, monkeypatch, capsys):
    """The maintainer's retrain (``python -m rag_tutor.rankers``) end to end on a few questions of our own."""
    from rag_tutor.matcher import Matcher, adapter_dirs
    from rag_tutor.rankers import LinearRanker, main
    from rag_tutor.reader import Reader

    asked = [("What does a VAE encoder output?", [], "mean"), ("Why can GAN training be unstable?", [], "gradient"),
             ("Who came up with the variational autoencoder model?", [], "Kingma"),
             ("Which metrics are used to evaluate generated images?", [], "FID"),
             ("And who introduced it?", ["What's a variational autoencoder?"], "Kingma")]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"question": q, "history": h, "answers": [a], "kind": "in_scope"}) + "\n"
                                 for q, h, a in asked))
    monkeypatch.setenv("RAG_TUTOR_INDEX_DIR", str(course_index.index_dir))
    out = tmp_path / "weights"
    assert main(["--questions", str(questions), "--out", str(out), "--folds", "2", "--matcher-seeds", "2",
                 "--reader-epochs", "12", "--reader-learning-rate", "1e-3"]) == 0
    assert LinearRanker.load(out / "passages.json", PASSAGE_FEATURES) is not None
    assert LinearRanker.load(out / "sentences.json", SENTENCE_FEATURES) is not None
    assert [p.name for p in adapter_dirs(out / "matcher")] == ["seed-0", "seed-1"]
    assert Matcher.load(course_index.embedder_package, out / "matcher") is not None
    assert Reader.load(course_index.embedder_package, out / "reader") is not None
    printed = capsys.readouterr().out
    assert "with 2 seed(s)" in printed and "reader: trained on" in printed


@pytest.mark.model
def test_a_reader_that_did_not_learn_is_not_written(course_index, tmp_path, monkeypatch, capsys):
    """Three steps on three questions teach the reader too little: it would order them worse than the sentence
    ranker, so no reader is written (the one there before is removed) and the command says so and fails."""
    from rag_tutor.rankers import main

    asked = [("Why can GAN training be unstable?", "gradient"), ("Who came up with the variational autoencoder "
             "model?", "Kingma"), ("Which metrics are used to evaluate generated images?", "FID")]
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps({"question": q, "history": [], "answers": [a], "kind": "in_scope"}) + "\n"
                                 for q, a in asked))
    monkeypatch.setenv("RAG_TUTOR_INDEX_DIR", str(course_index.index_dir))
    out = tmp_path / "weights"
    (out / "reader").mkdir(parents=True)
    (out / "reader" / "adapter_config.json").write_text("{}")
    assert main(["--questions", str(questions), "--out", str(out), "--no-matcher", "--reader-epochs", "1",
                 "--reader-learning-rate", "1e-6"]) == 1
    assert not (out / "reader").exists() and (out / "sentences.json").is_file()
    assert "reader: not written" in capsys.readouterr().out


def test_cached_reuses_a_value_only_for_the_same_key(tmp_path):
    from rag_tutor.rankers import cached

    path, calls = tmp_path / "cache" / "groups.pkl", []

    def compute(value):
        calls.append(value)
        return value

    assert cached(path, "k1", lambda: compute([1, 2])) == [1, 2]
    assert cached(path, "k1", lambda: compute([9])) == [1, 2]  # same key: reused, not computed
    assert cached(path, "k2", lambda: compute([3])) == [3]  # something it depends on changed
    assert calls == [[1, 2], [3]]
    path.write_bytes(b"not a pickle")
    assert cached(path, "k2", lambda: compute([4])) == [4]  # an unreadable file is replaced
    assert cached(None, "k2", lambda: compute([5])) == [5]  # no file: always computed
    assert not list(path.parent.glob(".*.tmp*"))  # no file left from writing it


@pytest.mark.model
def test_retraining_reuses_the_groups_until_the_questions_change(course_index, tmp_path, monkeypatch, capsys):
    """``--reuse``: the second retrain on the same questions skips the groups, and fits the same ranker."""
    from rag_tutor.rankers import main

    questions = tmp_path / "questions.jsonl"
    asked = [("What does a VAE encoder output?", "mean"), ("Why can GAN training be unstable?", "gradient")]
    questions.write_text("".join(json.dumps({"question": q, "history": [], "answers": [a], "kind": "in_scope"}) + "\n"
                                 for q, a in asked))
    monkeypatch.setenv("RAG_TUTOR_INDEX_DIR", str(course_index.index_dir))
    cache, out = tmp_path / "groups.pkl", tmp_path / "weights"
    args = ["--questions", str(questions), "--out", str(out), "--no-matcher", "--no-reader", "--reuse", str(cache)]
    assert main(args) == 0
    first = (out / "sentences.json").read_text()
    assert cache.is_file() and "reusing" not in capsys.readouterr().out
    assert main(args) == 0
    assert "reusing" in capsys.readouterr().out and (out / "sentences.json").read_text() == first
    with questions.open("a") as f:
        f.write(json.dumps({"question": "Which metrics evaluate generated images?", "history": [], "answers": ["FID"],
                            "kind": "in_scope"}) + "\n")
    assert main(args) == 0
    assert "reusing" not in capsys.readouterr().out


def test_the_groups_key_changes_with_what_the_groups_depend_on(tmp_path):
    from rag_tutor.config import load_settings
    from rag_tutor.rankers import groups_key

    questions, weights = tmp_path / "q.jsonl", tmp_path / "passages.json"
    questions.write_text('{"question": "What is a GAN?"}\n')
    weights.write_text("{}")
    settings = load_settings(env={}, index_dir=tmp_path / "no-index")
    key = groups_key([questions], weights, settings, 5)
    assert groups_key([questions], weights, settings, 5) == key
    assert groups_key([questions], weights, settings, 3) != key
    assert groups_key([questions], weights, settings.with_overrides(decline_threshold=0.3), 5) != key
    weights.write_text('{"weights": [1]}')
    assert groups_key([questions], weights, settings, 5) != key
    weights.write_text("{}")
    questions.write_text('{"question": "What is a VAE?"}\n')
    assert groups_key([questions], weights, settings, 5) != key
