import re

import numpy as np
import pytest

from rag_tutor.errors import EmptyQuestionError

pytestmark = pytest.mark.model


@pytest.mark.parametrize(
    "question, expected_topic",
    [
        ("Which researchers first proposed the variational autoencoder?", "vae"),
        ("What does the discriminator do in a GAN?", "gan"),
        ("How does nucleus sampling decide which tokens to keep?", "sampling"),
        ("What is FID and is lower better?", "evaluation"),
        ("How does RLHF use a reward model?", "alignment"),
        ("Why are normalizing flows restricted in their architecture?", "flows"),
    ],
)
def test_the_right_topic_comes_first(course_retriever, question, expected_topic):
    passages = course_retriever.search(question)
    assert len(passages) == 5
    assert passages[0].topic in {expected_topic, "glossary"}
    assert any(p.topic == expected_topic for p in passages[:3])
    assert all(p.title and p.source and p.text for p in passages)
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)


def test_follow_up_uses_the_conversation(course_retriever):
    alone = course_retriever.search("What objective do they optimize?")
    followed = course_retriever.retrieve("What objective do they optimize?", history=["Tell me about VAEs"])
    assert followed.query.uses_history
    assert any("elbo" in p.text.lower() or "evidence lower bound" in p.text.lower() for p in followed.passages[:3])
    assert [p.chunk_id for p in alone] != [p.chunk_id for p in followed.passages]


def test_a_follow_up_too_far_from_everything_alone_is_taken_with_the_conversation(course_retriever):
    question = "what do you give up when you turn the scale way up?"  # no pronoun: it only reads as a follow-up
    alone = course_retriever.retrieve(question, history=[])
    assert not alone.query.uses_history
    assert alone.top_similarity < course_retriever.settings.decline_threshold  # alone, it would be declined
    followed = course_retriever.retrieve(question, history=["What does classifier-free guidance do?"])
    # asked with the earlier subject: "About classifier-free guidance: ...", or with "the scale" read as the guidance
    # scale (heads_of_parts)
    assert followed.query.uses_history and "guidance" in followed.query.resolved.lower()
    assert "guidance" in followed.passages[0].text.lower()
    assert followed.top_similarity >= course_retriever.settings.decline_threshold


def test_a_follow_up_naming_no_course_term_is_taken_with_the_conversation_when_that_comes_closer(course_retriever):
    """Close enough alone to another subject (judging: human evaluation), but in a chat about GANs it asks about the
    discriminator: with the earlier subject the course comes closer to it."""
    from rag_tutor.retrieval import Retriever

    question, history = "what does the judging network see?", ["How does a GAN work?"]
    followed = course_retriever.retrieve(question, history=history)
    assert followed.query.uses_history and followed.query.resolved.startswith("About a GAN")
    assert "gan" in followed.passages[0].text.lower() or "adversarial" in followed.passages[0].text.lower()
    without = Retriever(course_retriever.index, course_retriever.embedder,
                        course_retriever.settings.with_overrides(closer_with_history=False))
    alone = without.retrieve(question, history=history)
    assert not alone.query.uses_history and alone.top_similarity >= course_retriever.settings.decline_threshold
    assert followed.top_similarity > alone.top_similarity


def test_an_off_topic_question_after_a_conversation_is_not_pulled_into_it(course_retriever):
    result = course_retriever.retrieve("How long should I knead bread dough?", history=["What is classifier-free "
                                                                                         "guidance?"])
    assert not result.query.uses_history
    assert result.top_similarity < course_retriever.settings.decline_threshold


def test_self_contained_question_ignores_history(course_retriever):
    result = course_retriever.retrieve("What is the BLEU metric used to evaluate?", history=["Tell me about VAEs"])
    assert not result.query.uses_history
    assert result.passages[0].topic in {"evaluation", "glossary"}


def test_off_topic_question_scores_low_similarity(course_retriever):
    on = course_retriever.retrieve("What does mode collapse do to a GAN's samples?").top_similarity
    off = course_retriever.retrieve("How do I make pancakes?").top_similarity
    assert on > course_retriever.settings.decline_threshold > off


def test_k_controls_the_number_of_passages(course_retriever):
    assert len(course_retriever.search("diffusion", k=2)) == 2
    assert len(course_retriever.search("diffusion", k=12)) == 12


def test_empty_and_huge_questions(course_retriever):
    with pytest.raises(EmptyQuestionError):
        course_retriever.search("   \n ")
    result = course_retriever.retrieve("What is a GAN? " * 3000)
    assert result.notices and "only the first" in result.notices[0]
    assert result.passages


def test_questions_naming_a_course_term_are_recognised(course_retriever):
    assert "ELBO" in course_retriever.retrieve("What is the ELBO?").query.course_terms
    assert course_retriever.retrieve("Why do GANs suffer from mode collapse?").query.course_terms
    assert course_retriever.retrieve("How do I make pancakes?").query.course_terms == []
    assert course_retriever.retrieve("How deep is the Grand Canyon?").query.course_terms == []


def test_the_course_index_does_not_read_is_as_the_inception_score(course_retriever):
    result = course_retriever.retrieve("Who introduced it?", history=["What is controllable generation?"])
    assert result.query.resolved == "Who introduced controllable generation?"


def test_a_definition_question_gets_the_terms_glossary_entry_first(course_retriever):
    def first(question):
        top = course_retriever.retrieve(question).passages[0]
        return top.section if top.topic == "glossary" else None

    # lessons that use the word outrank the entry that defines it without the rule (5th and 7th)
    assert first("What is a sample in the context of image generation?") == "Sample"
    assert first("What is a prompt?") == "Prompt"
    assert first("What does RLHF stand for?") == "RLHF"
    assert first("Explain diffusion models in simple terms.") == "Diffusion model"
    assert first("What is the latent space of a VAE?") == "Latent space"


def test_only_a_term_that_is_the_subject_is_looked_up(course_retriever):
    entry = course_retriever.vocabulary.defined_entry
    assert entry("What is a common failure of GAN training?") is None  # asks about a weakness
    assert entry("What is GAN training?") is None and entry("What is a transformer decoder?") is None  # longer terms
    assert entry("How do diffusion models work?") is None  # not a definition question
    assert entry("what is clip") is None  # an ordinary word; CLIP is written in capitals
    chunks = course_retriever.index.chunks
    assert chunks[entry("What is CLIP?")].section == "CLIP"
    assert chunks[entry("What are VAEs?")].section == "Variational autoencoder (VAE)"
    assert chunks[entry("What does DDPM stand for?")].section == "DDPM"


def test_follow_ups_retrieve_the_earlier_subjects_passages(course_retriever):
    result = course_retriever.retrieve("Who came up with it, and in which year?", 4, ["What is a GAN?"])
    assert result.query.resolved == "Who came up with a GAN, and in which year?"
    assert any("Goodfellow" in p.text for p in result.passages[:2])


def test_a_resolved_follow_up_retrieves_and_carries_the_subject(course_retriever):
    result = course_retriever.retrieve("Who introduced it?", history=["What is a VAE?"])
    assert result.query.resolved == "Who introduced a VAE?" and result.search_text == result.query.resolved
    assert any("Kingma" in p.text for p in result.passages[:3])


def test_a_follow_up_stands_for_a_term_by_the_other_name_its_glossary_entry_gives(course_retriever):
    result = course_retriever.retrieve("What threshold does it use?", history=["Tell me about nucleus sampling."])
    assert result.query.resolved == "What threshold does nucleus sampling use?"
    assert any("Top-p sampling" in p.text for p in result.passages[:2])


def test_unknown_names_are_the_ones_no_document_mentions(course_retriever):
    assert course_retriever.vocabulary.unknown_names("How do GANs compare with VAEs in DALL-E?") == []
    assert course_retriever.vocabulary.unknown_names("How does routing work in Zorblax and FooNet?") == ["Zorblax", "FooNet"]
    result = course_retriever.retrieve("Can diffusion models run in Zorblax?")
    assert result.query.unknown_names == ["Zorblax"]


def test_course_abbreviations_typed_in_lower_case_are_recognised_unless_they_are_ordinary_words(course_retriever):
    assert course_retriever.vocabulary.course_terms("how does lora actually work?") == ["LoRA"]
    assert "LLM" in course_retriever.vocabulary.course_terms("why are llms sycophantic")
    # "is" and "clip" are ordinary words in the documents: only IS and CLIP written so name the terms
    assert course_retriever.vocabulary.course_terms("what is a clip of audio?") == []
    assert "CLIP" in course_retriever.vocabulary.course_terms("How does CLIP score an image?")


def test_the_learned_passage_ranker_reorders_only_the_first_stages_best(course_retriever):
    import numpy as np

    from rag_tutor.rankers import PASSAGE_CANDIDATES, PASSAGE_FEATURES
    from rag_tutor.retrieval import Retriever

    retriever = course_retriever
    assert retriever.passage_ranker is not None
    stage = retriever.first_stage(retriever.understand("Why does a diffusion model need many steps to sample?"))
    head = np.argsort(-stage.fused, kind="stable")[:PASSAGE_CANDIDATES]
    rows = retriever.passage_rows(stage, head)
    assert len(rows) == len(head) and all(len(r) == len(PASSAGE_FEATURES) for r in rows)
    learned = retriever.learned_order(stage, stage.fused.copy())
    order = np.argsort(-learned, kind="stable")
    assert set(order[:PASSAGE_CANDIDATES].tolist()) == set(head.tolist())  # the same passages lead...
    assert order[PASSAGE_CANDIDATES:].tolist() == np.argsort(-stage.fused, kind="stable")[PASSAGE_CANDIDATES:].tolist()
    expected = head[np.argsort(-retriever.passage_ranker.scores(rows), kind="stable")]
    assert order[:PASSAGE_CANDIDATES].tolist() == expected.tolist()  # ...in the ranker's order
    off = Retriever(retriever.index, retriever.embedder,
                    retriever.settings.with_overrides(learned_passage_ranker=False))
    assert off.passage_ranker is None
    assert off.learned_order(stage, stage.fused) is stage.fused


def test_a_bare_abbreviation_does_not_make_a_question_look_off_topic(course_retriever):
    from rag_tutor.query import without
    from rag_tutor.retrieval import Retriever

    question = "why do LLMs hallucinate?"
    spelt = course_retriever.retrieve(question)
    assert spelt.query.spelt_out != question and spelt.top_similarity >= course_retriever.settings.decline_threshold
    typed = Retriever(course_retriever.index, course_retriever.embedder,
                      without(course_retriever.settings, "spell_out_abbreviations")).retrieve(question)
    assert typed.top_similarity < spelt.top_similarity
    assert [p.chunk_id for p in typed.passages] == [p.chunk_id for p in spelt.passages]  # rankings unchanged


def test_an_elliptical_follow_up_is_asked_of_the_earlier_question_with_the_phrase_it_parallels(course_retriever):
    from rag_tutor.query import without
    from rag_tutor.retrieval import Retriever

    turn = "Which metric is used to evaluate generated images?"
    result = course_retriever.retrieve("and for text?", history=[turn])
    assert result.query.resolved == "Which metric is used to evaluate generated text?"  # MiniLM: "text" ~ "images"
    assert result.passages[0].source.endswith("16-evaluation-metrics.md")
    off = Retriever(course_retriever.index, course_retriever.embedder,
                    without(course_retriever.settings, "parallel_follow_ups")).retrieve("and for text?", history=[turn])
    assert off.query.resolved != result.query.resolved
    # something the course never mentions is not put in: it is judged alone
    assert not course_retriever.retrieve("what about banana bread?", history=[turn]).query.uses_history


def test_an_initialism_is_read_as_its_term_only_when_the_closest_passage_names_that_term(course_retriever):
    from rag_tutor.query import understand

    read = course_retriever.understand("what does a big cfg value do to my pictures?")
    assert read.text == "what does a big classifier-free guidance value do to my pictures?"
    assert read.notices == ["Read as: cfg → classifier-free guidance."]
    # another NTP than next-token prediction: read so, the closest passage is about no such thing
    question = "Which protein dataset did the NTP group at my lab release last year?"
    as_read = understand(question, [], course_retriever.vocabulary, course_retriever.settings)
    assert as_read.initialisms == {"NTP": "next-token prediction"}  # the query stage alone reads it
    kept = course_retriever.understand(question)
    assert kept.text == question and not kept.initialisms and not kept.notices


def test_an_abbreviation_in_capitals_is_no_keyword_of_passages_that_write_the_word_in_lower_case(course_retriever):
    from rag_tutor.query import without
    from rag_tutor.retrieval import Retriever

    chunks = course_retriever.index.chunks
    lower_only = [i for i, c in enumerate(chunks)
                  if re.search(r"\bclips?\b", c.search_text) and not re.search(r"\bCLIP\b", c.search_text)]
    assert lower_only  # the course writes of a video's "clip" too
    in_capitals = course_retriever.bm25_scores("CLIP")
    assert in_capitals.max() > 0 and not in_capitals[lower_only].any()
    assert course_retriever.bm25_scores("clip")[lower_only].any()  # in lower case: the ordinary word
    off = Retriever(course_retriever.index, course_retriever.embedder,
                    without(course_retriever.settings, "abbreviations_in_capitals"))
    assert off.bm25_scores("CLIP")[lower_only].any()
    question = "Who proposed the Inception Score (IS)?"  # "IS" is a stop word: no keyword to take off
    assert np.array_equal(course_retriever.bm25_scores(question), off.bm25_scores(question))
