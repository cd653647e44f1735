"""The answer pipeline around the LLM: prompt, verification, fallback and declining (no LLM needed here)."""

import pytest

from rag_tutor.answer import CLOSEST, NO_NUMBER, NOT_ANSWERED, Tutor
from rag_tutor.prompts import DECLINE, Context
from rag_tutor.retrieval import Passage

pytestmark = pytest.mark.model

VAE = Passage("corpus/vae.md", "VAEs", "Origin", "The variational autoencoder was introduced by Kingma and Welling in "
              "2013. A VAE is trained by maximizing the evidence lower bound.", 1.0, "v#0", "vae", 0.8)
GAN = Passage("corpus/gan.md", "GANs", "Discriminator", "In a GAN, the discriminator is a classifier that tells real "
              "training samples from fakes made by the generator.", 0.9, "g#0", "gan", 0.5)


@pytest.fixture(scope="module")
def tutor(course_retriever):
    return Tutor(course_retriever.settings, retriever=course_retriever)


def contexts():
    return [Context(1, VAE, VAE.text), Context(2, GAN, GAN.text)]




def test_verify_keeps_supported_citations_and_renumbers(tutor):
    raw = "A discriminator tells real samples from fakes made by the generator [2]. Kingma and Welling introduced the VAE in 2013 [1]."
    text, citations, share = tutor.verify(raw, contexts())
    assert share == 1.0
    assert text.startswith("A discriminator tells real samples from fakes made by the generator [1].")
    assert "Kingma and Welling introduced the VAE in 2013 [2]." in text
    assert [(c.n, c.source) for c in citations] == [(1, "corpus/gan.md"), (2, "corpus/vae.md")]


def test_verify_drops_out_of_range_and_unsupported_citations(tutor):
    raw = ("Kingma and Welling introduced the VAE in 2013 [7]. "
           "Kingma and Welling introduced the VAE in 2013 [2]. "
           "The VAE was first shown at a conference in Berlin with a live orchestra [1].")
    text, citations, share = tutor.verify(raw, contexts())
    assert "Berlin" not in text  # unsupported: dropped, not shown with a citation
    assert "[7]" not in text and text.count("[1]") == 2  # wrong numbers replaced by the supporting passage
    assert [c.source for c in citations] == ["corpus/vae.md"]
    assert share == pytest.approx(2 / 3)


def test_verify_drops_a_generation_loop_made_of_passage_words(tutor):
    loop = "Kingma and Welling introduced: " * 6
    raw = f"Kingma and Welling introduced the VAE in 2013 [1]. {loop}[1]."
    text, citations, share = tutor.verify(raw, contexts())
    assert text == "Kingma and Welling introduced the VAE in 2013 [1]." and share == pytest.approx(1 / 2)


def test_uncited_supported_sentence_gets_its_passage(tutor):
    text, citations, _ = tutor.verify("The discriminator is a classifier telling real samples from fakes.", contexts())
    assert text.endswith("[1].") and citations[0].source == "corpus/gan.md"


def test_extractive_fallback_cites_every_sentence(tutor):
    text, citations = tutor.extractive(tutor.retriever.understand("Who introduced the VAE?"), contexts())
    assert "Kingma" in text
    from rag_tutor.citations import cited_numbers, split_sentences

    assert all(cited_numbers(s) for s in split_sentences(text))
    assert {c.n for c in citations} == {n for s in split_sentences(text) for n in cited_numbers(s)}


def test_the_selector_does_not_say_the_same_thing_twice(tutor):
    glossary = Passage("corpus/glossary.md", "Glossary", "VAE", "The variational autoencoder was introduced by Kingma "
                       "and Welling in 2013 as a generative model.", 1.0, "gl#0", "glossary", 0.8)
    query = tutor.retriever.understand("Which two researchers came up with the variational autoencoder?")
    both = [Context(1, VAE, VAE.text), Context(2, glossary, glossary.text), Context(3, GAN, GAN.text)]
    chosen = [c.sentence for c in tutor.select(query, both)]
    assert sum("Kingma and Welling" in sentence for sentence in chosen) == 1, chosen
    from dataclasses import replace

    repeating = Tutor(replace(tutor.settings, answer_duplicate_cosine=1.01), retriever=tutor.retriever)
    assert sum("Kingma and Welling" in c.sentence for c in repeating.select(query, both)) == 2


def test_an_explaining_sentence_the_ranker_thinks_unrelated_is_left_out(tutor):
    from dataclasses import replace

    query = tutor.retriever.understand("Which two researchers came up with the variational autoencoder?")
    candidates = tutor.candidates(query, contexts())
    scores = dict(zip((c.chosen.sentence for c in candidates), tutor.scores(query, candidates)))
    lead = max(scores, key=scores.get)
    assert "Kingma and Welling" in lead and len(scores) == 3
    everything = Tutor(replace(tutor.settings, answer_extra_min_score=-1e9), retriever=tutor.retriever)
    assert len(everything.select(query, contexts())) == 3
    between = sorted(scores.values())[1]  # keeps the second-best sentence, not the worst
    picky = Tutor(replace(tutor.settings, answer_extra_min_score=between), retriever=tutor.retriever)
    chosen = [c.sentence for c in picky.select(query, contexts())]
    assert chosen[0] == lead and len(chosen) == 2 and min(scores, key=scores.get) not in chosen
    # the same by distance from the best (answer_extra_within): just far enough to keep the second-best
    near = Tutor(replace(everything.settings, answer_extra_within=scores[lead] - between + 1e-6),
                retriever=tutor.retriever)
    assert [c.sentence for c in near.select(query, contexts())] == chosen
    alone = Tutor(replace(everything.settings, answer_extra_within=(scores[lead] - between) / 2),
                  retriever=tutor.retriever)
    assert [c.sentence for c in alone.select(query, contexts())] == [lead]


def test_a_reading_list_entry_answers_only_a_question_after_a_source(tutor):
    from dataclasses import replace

    from rag_tutor.candidates import reading_entry

    entry = ('**Dinh, Krueger and Bengio (2014), "NICE: Non-linear Independent Components Estimation".** Built a '
             'flow from invertible coupling layers with an exact likelihood.')
    assert reading_entry(entry) and reading_entry("- " + entry)
    assert not reading_entry("**Coupling layers** keep half of the input (2014) and transform the rest.")
    assert not reading_entry("Dinh and colleagues (2014) built a flow from coupling layers.")
    lesson = Passage("corpus/flows.md", "Flows", "Coupling layers", "A coupling layer splits its input in two halves. "
                     "One half passes through unchanged and sets the scale and shift applied to the other half. "
                     "Because of this, the layer is easy to invert and its Jacobian is triangular.", 1.0, "f#0",
                     "flows", 0.7)
    reading = Passage("corpus/reading.md", "Reading list", "Flows", entry, 0.9, "r#0", "reading", 0.6)
    both = [Context(1, lesson, lesson.text), Context(2, reading, reading.text)]
    why = tutor.retriever.understand("Why is a coupling layer in a flow easy to invert?")
    # every candidate may be shown (no minimum score, four sentences): only the rule keeps the entry out
    every = replace(tutor.settings, answer_extra_min_score=-1e9)
    on, off = (Tutor(replace(every, reading_entries_for_sources=rule), retriever=tutor.retriever)
               for rule in (True, False))
    assert not any(reading_entry(c.sentence) for c in on.select(why, both, n_sentences=4))
    assert any(reading_entry(c.sentence) for c in off.select(why, both, n_sentences=4))
    paper = tutor.retriever.understand("Which paper introduced coupling layers for flows?")
    assert any(reading_entry(c.sentence) for c in tutor.select(paper, both))


def test_off_topic_question_is_declined_with_suggestions_and_no_citations(tutor):
    answer = tutor.ask("How do I make pancakes?")
    assert answer.declined and answer.mode == "declined"
    assert answer.answer.startswith(DECLINE)
    assert answer.citations == []
    assert answer.raw == ""  # declined before the LLM ran


def test_empty_question_is_an_error(tutor):
    from rag_tutor.errors import EmptyQuestionError

    with pytest.raises(EmptyQuestionError):
        tutor.ask("  ")




class _AlwaysDeclines:
    """Stands in for the LLM to pin down what happens after it says "not covered"."""

    def stream(self, messages, stats=None, settings=None):
        yield DECLINE


def test_the_models_not_covered_is_overruled_when_a_passage_is_close(tutor):
    declining = Tutor(tutor.settings.with_overrides(writer="model"), retriever=tutor.retriever)
    declining._generator = _AlwaysDeclines()
    question = "What does the discriminator in a GAN do?"
    assert declining.retrieve(question).top_similarity >= tutor.settings.trust_decline_below
    gan = declining.ask(question)
    assert not gan.declined and gan.mode == "extractive" and "discriminator" in gan.answer.lower()
    assert gan.citations
    # a question whose passages are all far from it: the decline stands
    llama = declining.stream("Which learning rate schedule trained the original Llama?")  # no amount asked
    pieces = list(llama)  # nothing is streamed before the decline: the learner never sees an answer taken back
    assert llama.answer.declined and not llama.answer.citations and llama.answer.raw == DECLINE
    assert pieces == [llama.answer.answer]
    stream = declining.stream(question)
    assert list(stream) == [stream.answer.answer] and stream.answer.mode == "extractive"


def test_a_question_naming_something_no_document_mentions_is_declined_and_says_so(tutor):
    answer = tutor.ask("How do I train a diffusion model with Zorblax and FooNet?")
    assert answer.declined and answer.citations == [] and answer.raw == ""
    assert answer.answer.startswith(DECLINE + " It never mentions Zorblax or FooNet.")
    assert any("Diffusion" in topic for topic in answer.suggestions)  # the closest topics still help
    canyon = tutor.ask("How deep is the Grand Canyon?")
    assert canyon.declined and "It never mentions Grand Canyon." in canyon.answer  # one name, not two


def test_a_definition_question_opens_with_its_terms_glossary_entry(tutor):
    answer = tutor.ask("What's a GAN?")
    assert answer.answer.startswith("Generative adversarial network (GAN):")  # not a GAN variant's entry


def test_close_passages_with_no_answering_sentence_are_declined_unless_the_rule_is_off(tutor):
    from dataclasses import replace

    question = "Why are VAE samples blurry?"
    assert not tutor.ask(question).declined
    # the same question, its passages and candidate sentences unchanged, judged against a bar no sentence reaches
    strict = Tutor(replace(tutor.settings, answer_min_score=1e9), retriever=tutor.retriever)
    answer = strict.ask(question)
    assert answer.declined and answer.answer.startswith(f"{NOT_ANSWERED} {CLOSEST}")
    # the judgement can be wrong: the sentence that comes nearest is shown, cited, with the closest topics
    assert len(answer.citations) == 1 and answer.citations[0].quote in answer.citations[0].text
    assert answer.suggestions
    off = Tutor(replace(strict.settings, decline_unanswered=False), retriever=tutor.retriever)
    assert not off.ask(question).declined


def without_rule(tutor: Tutor, name: str) -> Tutor:
    """The tutor with one rule off in every stage, the query stage (the retriever's settings) included."""
    from rag_tutor.query import without
    from rag_tutor.retrieval import Retriever

    settings = without(tutor.settings, name)
    return Tutor(settings, retriever=Retriever(tutor.retriever.index, tutor.retriever.embedder, settings))


def test_the_askers_words_do_not_keep_the_answering_sentence_from_being_chosen(tutor):
    question = "why would I pick a diffusion model over a GAN?"
    lessons = ("06-generative-adversarial-networks.md", "07-diffusion-and-score-based-models.md")
    answer = tutor.ask(question)
    assert not answer.declined and answer.citations[0].source.endswith(lessons)
    # Rankers trained without everyday questions gave the lead sentence log-odds below 0 with "would I" in the
    # scored text, and declined it without the rule; those trained with them (bench/data/everyday_questions.jsonl)
    # answer it either way. The rule still wins with them (558 against 555 right answers on the tuning sets).
    plain_off = without_rule(tutor, "plain_questions").ask(question)
    assert not plain_off.declined and plain_off.citations[0].source.endswith(lessons)


def test_a_name_listed_with_a_known_one_is_answered_from_the_course_and_said_unknown(tutor):
    question = "Did Vaswani and Polosukhin introduce the Transformer architecture?"
    answer = tutor.ask(question)
    assert not answer.declined and "Vaswani" in answer.answer
    assert "The course never mentions Polosukhin." in answer.notices
    assert without_rule(tutor, "names_beside_known").ask(question).declined


def test_an_amount_the_course_never_gives_is_declined_saying_so(tutor):
    from dataclasses import replace

    question = "What learning rate should a GAN discriminator use?"
    answer = tutor.ask(question)
    assert answer.declined and answer.answer.startswith(f"{NO_NUMBER} {CLOSEST}") and len(answer.citations) == 1
    off = Tutor(replace(tutor.settings, decline_unanswered=False), retriever=tutor.retriever)
    assert not off.ask(question).declined


def test_a_question_a_little_too_far_is_answered_when_the_ranker_is_confident(tutor):
    question = "who wrote the paper on squeezing a big teacher net into a small student?"  # MiniLM: below 0.36
    answer = tutor.ask(question)
    assert not answer.declined and "Hinton" in answer.answer
    assert without_rule(tutor, "confident_answers").ask(question).declined


def test_a_question_a_little_too_far_and_not_answered_shows_its_closest_sentence(tutor):
    from dataclasses import replace

    question = "who wrote the paper on squeezing a big teacher net into a small student?"  # MiniLM: below 0.36
    # the same question, judged against a confidence no sentence reaches: declined, but not as if nothing were close
    unsure = Tutor(replace(tutor.settings, confident_min_score=1e9), retriever=tutor.retriever)
    answer = unsure.ask(question)
    assert answer.declined and answer.answer.startswith(f"{NOT_ANSWERED} {CLOSEST}") and len(answer.citations) == 1
    assert "Hinton" in answer.answer and answer.citations[0].quote in answer.citations[0].text
    assert answer.suggestions
    # far below the band, nothing is shown as coming close
    far = tutor.ask("How long should I boil an egg for a runny yolk?")
    assert far.declined and far.answer.startswith(DECLINE) and not far.citations


def test_a_formulas_where_line_answers_what_a_symbol_controls(tutor):
    question = "In an RLHF objective, what is beta for?"
    assert "where beta controls" in tutor.ask(question).answer
    assert "where beta controls" not in without_rule(tutor, "formulas_explained").ask(question).answer


def test_an_amount_asked_in_a_unit_is_not_answered_with_a_number_in_another(tutor):
    question = "How many dollars does fine-tuning a model with LoRA cost?"  # the course gives no price
    answer = tutor.ask(question)
    assert answer.declined and answer.answer.startswith(f"{NO_NUMBER} {CLOSEST}")
    assert not without_rule(tutor, "amounts_in_units").ask(question).declined


def test_a_lists_item_chosen_first_is_shown_with_its_whole_list(tutor, monkeypatch):
    question = "What are the main forms of misuse of generative AI?"

    def item_first(query, candidates):  # the ranker puts one item of the list first, the whole list next
        def score(c):
            text = " ".join(c.chosen.quotes)
            return 1.0 if "phishing" in text and "propaganda" not in text else 0.9 if "propaganda" in text else 0.0
        return [score(c) for c in candidates]

    leads = []
    for t in (tutor, without_rule(tutor, "items_with_their_list")):
        monkeypatch.setattr(t, "scores", item_first)
        monkeypatch.setattr(t, "order_keys", lambda query, candidates, scores: scores)  # that order, no reader's
        leads.append(t.ask(question).answer.split(" [1]")[0])
    assert "phishing" in leads[0] and "propaganda" in leads[0]  # two items of one list, in one sentence
    assert "phishing" in leads[1] and "propaganda" not in leads[1]


def test_an_amount_asked_of_one_version_is_not_answered_with_another_versions_number(tutor):
    question = "How many attention heads does GPT-4 use?"  # the course gives GPT-3's size, never GPT-4's heads
    answer = tutor.ask(question)
    assert answer.declined and answer.answer.startswith(f"{NO_NUMBER} {CLOSEST}")
    assert not without_rule(tutor, "amounts_of_the_named").ask(question).declined


def test_a_quantity_asked_by_name_is_not_answered_with_a_number_of_another(tutor):
    question = "What learning rate trains a LoRA adapter?"  # the course gives LoRA's sizes, never a learning rate
    answer = tutor.ask(question)
    assert answer.declined and answer.answer.startswith(f"{NO_NUMBER} {CLOSEST}")
    assert not without_rule(tutor, "amounts_by_name").ask(question).declined


def test_a_question_about_a_kind_the_course_never_names_is_declined_with_the_closest_sentence(tutor):
    question = "How does tail-free sampling pick the next token?"  # the course teaches top-k and top-p sampling
    answer = tutor.ask(question)
    assert answer.declined and answer.answer.startswith(f"{DECLINE} It never mentions tail-free sampling. {CLOSEST}")
    assert answer.citations  # the nearest sentence, cited
    assert not without_rule(tutor, "decline_unnamed_kinds").ask(question).declined


def test_a_long_question_naming_its_setting_in_passing_is_not_declined_for_it(tutor):
    long = ("I am building a study assistant for the Zorblax team at work and we keep arguing about one thing: "
            "when should we fine-tune a model instead of using retrieval-augmented generation for documents "
            "that change every few months?")
    result = tutor.retriever.retrieve(long)
    assert result.query.unknown_names == ["Zorblax"]
    answer = tutor.ask(long)
    assert not answer.declined and answer.citations  # answered, not declined for the name


def test_excerpt_sentences_from_list_items_keep_their_full_stops(tutor):
    from rag_tutor.candidates import ended

    assert ended("DCGAN (Radford et al., 2015), which stabilised GAN training") == (
        "DCGAN (Radford et al., 2015), which stabilised GAN training.")
    assert ended("Is it real?") == "Is it real?" and ended("Two kinds:") == "Two kinds."
    listy = Passage("corpus/h.md", "History", "GANs", "Milestones:\n- DCGAN (2015), stable convolutional GANs\n"
                    "- StyleGAN (2018), style-based generators\n\nGANs remained hard to train.", 1.0, "h#0", "h", 0.7)
    from rag_tutor.retrieval import RetrievalResult

    from rag_tutor.query import Query

    (ctx,) = tutor.contexts(RetrievalResult([listy], Query("What were the GAN milestones?"), 0.7))
    assert "GANs. GANs remained" in ctx.excerpt or "generators. GANs remained" in ctx.excerpt


def _passage(topic: str, similarity: float, n: int) -> Passage:
    return Passage(f"corpus/{topic}.md", topic, f"S{n}", "text", 1.0 - n / 10, f"{topic}#{n}", topic, similarity)


def test_lessons_only_drops_definitions_but_never_leaves_fewer_than_two_passages():
    from rag_tutor.retrieval import lessons_only

    assert lessons_only(["glossary", "gan", "vae", "gan", "glossary", "flow"]) == [1, 2, 3, 5]
    assert lessons_only(["glossary", "gan", "glossary"]) == []


def test_a_why_question_is_answered_from_the_lessons_and_a_what_is_question_keeps_its_definition(course_retriever):
    from dataclasses import replace

    from rag_tutor.retrieval import Retriever

    def tutor_with(**settings):
        s = replace(course_retriever.settings, **settings)
        return Tutor(s, retriever=Retriever(course_retriever.index, course_retriever.embedder, s))

    on = tutor_with(reasons_from_lessons=True)
    why = on.retrieve("Why can the Jensen-Shannon divergence starve a GAN generator of useful gradients?")
    assert why.passages and all(p.topic != "glossary" for p in why.passages)
    assert "Jensen-Shannon" in why.passages[0].section
    what = on.retrieve("Define the Jensen-Shannon divergence.")
    assert (what.passages[0].topic, what.passages[0].section) == ("glossary", "Jensen-Shannon divergence")
    off = tutor_with(reasons_from_lessons=False)
    plain = off.retrieve("Why can the Jensen-Shannon divergence starve a GAN generator of useful gradients?")
    assert len(plain.passages) == off.settings.k and any(p.topic == "glossary" for p in plain.passages)


def test_extractive_answer_leads_with_the_sentence_that_answers(tutor):
    """The closest sentence comes first even from the second passage, and is cited [1]."""
    query = tutor.retriever.understand("What does the discriminator of a GAN do?")
    text, citations = tutor.extractive(query, contexts())
    assert text.startswith("In a GAN, the discriminator is a classifier that tells real training samples from fakes "
                           "made by the generator [1].")
    assert citations[0].source == "corpus/gan.md"


@pytest.mark.parametrize("question,history", [
    ("Why is sampling from a diffusion model slow?", []),
    ("what is a latent space", []),
    ("And who came up with it?", ["What's a variational autoencoder?"]),
])
def test_retrieve_and_ask_draw_on_the_same_passages(course_index, tutor, question, history, capsys):
    """`rag-tutor retrieve` shows exactly the passages `ask`, the chat and the app answer from (all use Tutor)."""
    import json

    from rag_tutor import cli

    argv = ["retrieve", "--json", "--index-dir", str(course_index.index_dir)]
    if history:
        batch = course_index.index_dir.parent / "batch.jsonl"
        batch.write_text(json.dumps({"question": question, "history": history}) + "\n")
        argv += ["--batch", str(batch)]
    else:
        argv.insert(1, question)
    assert cli.main(argv) == 0
    shown = [(p["source"], p["section"], p["text"]) for p in json.loads(capsys.readouterr().out)["passages"]]
    answered = tutor.retrieve(question, history).passages
    assert shown == [(p.source, p.section, p.text) for p in answered]


class _Says:
    """Stands in for the LLM: always writes the same text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def stream(self, messages, stats=None, settings=None):
        yield self.text


def _selector_with(tutor, text: str) -> Tutor:
    selecting = Tutor(tutor.settings.with_overrides(writer="selector", recap=True), retriever=tutor.retriever)
    selecting._generator = _Says(text)
    return selecting


def test_the_selector_answers_at_once_and_a_passing_recap_comes_after(tutor):
    question = "What does the discriminator do in a GAN?"
    plain = Tutor(tutor.settings.with_overrides(generate=False), retriever=tutor.retriever).ask(question)
    recap = "The discriminator learns to tell real training samples from fake samples [1]."
    stream = _selector_with(tutor, recap).stream(question)
    pieces = list(stream)
    answer = stream.answer
    assert pieces[0] == plain.answer  # the chosen sentences first, as they are without a model
    assert answer.mode == "selected" and answer.recap.startswith("In short: ")
    assert pieces == [plain.answer, " " + answer.recap] and "".join(pieces) == answer.answer
    assert all(c.n == i for i, c in enumerate(answer.citations, 1))


@pytest.mark.parametrize("recap", [
    "What does the discriminator do in a GAN?",  # the question again
    "The discriminator is a clasifier that tells real from fake [1].",  # a word no source has
    "The discriminator is a pineapple that judges fruit salads for the generator [1].",  # unsupported
])
def test_a_recap_that_copies_invents_or_is_unsupported_is_left_out(tutor, recap):
    stream = _selector_with(tutor, recap).stream("What does the discriminator do in a GAN?")
    pieces = list(stream)
    assert pieces == [stream.answer.answer] and not stream.answer.recap and stream.answer.raw == recap


def test_a_recap_that_copies_a_shown_sentence_is_left_out(tutor):
    question = "What does the discriminator do in a GAN?"
    first = Tutor(tutor.settings.with_overrides(generate=False), retriever=tutor.retriever).ask(question)
    from rag_tutor.citations import split_sentences

    copy = split_sentences(first.answer)[0]
    stream = _selector_with(tutor, copy).stream(question)
    assert list(stream) == [first.answer] and not stream.answer.recap


def test_by_default_the_selector_answers_and_no_language_model_runs(tutor):
    plain = Tutor(tutor.settings.with_overrides(writer="selector", recap=False), retriever=tutor.retriever)
    plain._generator = _Says("This must never be shown [1].")
    stream = plain.stream("What does the discriminator do in a GAN?")
    pieces = list(stream)
    assert not plain.uses_model and pieces == [stream.answer.answer] and stream.answer.mode == "selected"
    assert "never be shown" not in stream.answer.answer and not stream.answer.raw and stream.answer.citations


def test_a_list_question_is_answered_with_the_list_each_item_marked_in_its_passage(tutor):
    answer = tutor.ask("What are the typical uses of code generation models?")
    lead = answer.answer.split(" [")[0]
    assert lead.count(";") >= 2, answer.answer  # the lead-in and its items, as one sentence
    first = next(c for c in answer.citations if c.n == 1)
    assert first.quotes[0].endswith(":") and len(first.quotes) >= 3
    assert all(q.rstrip(";.") in first.text for q in first.quotes)  # each part is a sentence of the passage


def test_a_list_item_is_never_shown_as_a_fragment(tutor):
    from dataclasses import replace

    text = ("Kettles differ in several ways. Three things decide how fast a kettle boils water:\n\n"
            "- the electrical power of its heating element\n- how much water it holds\n"
            "- whether the lid is closed while heating\n\nA whistle tells you when the water boils.")
    kettle = Passage("corpus/kettle.md", "Kettles", "Boiling", text, 1.0, "k#0", "kettles", 0.8)
    query = tutor.retriever.understand("What decides how fast a kettle boils water?")
    for words in (60, 12):  # the whole list fits, or it does not and an item is shown with its lead-in
        picky = Tutor(replace(tutor.settings, answer_list_words=words), retriever=tutor.retriever)
        chosen = [c.sentence for c in picky.select(query, [Context(1, kettle, text), Context(2, GAN, GAN.text)])]
        assert all(sentence[:1].isupper() for sentence in chosen), chosen
        assert sum(sentence.startswith("Three things decide") for sentence in chosen) == 1, chosen


def test_the_selector_scores_with_the_learned_ranker_unless_the_rule_is_off(tutor, course_retriever):
    query = tutor.retriever.understand("What does the discriminator of a GAN do?")
    candidates = tutor.candidates(query, contexts())
    assert tutor.ranker is not None and len(candidates) >= 2
    learned = tutor.scores(query, candidates)
    assert learned == pytest.approx(list(tutor.ranker.scores(tutor.feature_rows(query, candidates))))
    off = Tutor(course_retriever.settings.with_overrides(learned_sentence_ranker=False), retriever=course_retriever)
    assert off.ranker is None and off.scores(query, candidates) == [off.hand_score(c) for c in candidates]
    assert learned != off.scores(query, candidates)
