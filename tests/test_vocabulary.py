"""The course's vocabulary read from a tiny corpus, without any model."""

import pytest

from rag_tutor.chunking import Chunk
from rag_tutor.vocabulary import Vocabulary, beside_known, entry_names, names_in

from tiny_course import CHUNKS, VOCABULARY, entry


@pytest.mark.parametrize("question,unknown,unknown_without_english", [
    ("Is it OK to run beam search on a phone?", [], ["OK"]),  # a two-letter English word in capitals is no name
    ("Do flows work in the US and the EU?", ["EU"], ["US", "EU"]),  # ... "EU" is no English word
    ("Can I run beam search in JAX?", ["JAX"], ["JAX"]),  # a longer one in capitals still names something
])
def test_a_short_word_in_capitals_is_no_unknown_name(question, unknown, unknown_without_english):
    assert Vocabulary(CHUNKS, frozenset({"ok", "us", "run", "jax"})).unknown_names(question) == unknown
    assert Vocabulary(CHUNKS).unknown_names(question) == unknown_without_english


SPELT_OUT = [
    Chunk("s#0", "corpus/13-safety.md", "Safety", "Tuning with feedback", "safety",
          "Models are tuned with reinforcement learning from human feedback (RLHF). Plain reinforcement learning "
          "rewards an agent for its actions."),
    Chunk("s#1", "corpus/06-gans.md", "GANs", "Adversarial training", "gans",
          "A generative adversarial network (GAN) pits two networks against each other. Generative adversarial "
          "networks were proposed in 2014."),
    Chunk("s#2", "corpus/09-llms.md", "LLMs", "Scale", "llms",
          "A large language model (LLM) writes text. Any language model gives each next token a probability."),
]


@pytest.mark.parametrize("question,unknown", [
    ("Which RL algorithm tunes the model?", []),  # "reinforcement learning" stands on its own in the documents
    ("Is GA the same thing?", ["GA"]),  # "generative adversarial" always goes on to "network(s)"
    ("Does RLAIF need people?", ["RLAIF"]),  # spelt out nowhere
    ("How good is my LM?", []),  # ... and of its closing words: "language model" stands on its own too
    ("Is HF needed?", ["HF"]),  # "human feedback" always follows "reinforcement learning (from)"
])
def test_an_abbreviation_of_the_opening_or_closing_words_of_a_spelt_out_one_is_known(question, unknown):
    assert Vocabulary(SPELT_OUT).unknown_names(question) == unknown


@pytest.mark.parametrize("question,unknown", [
    ("Is an RLHF-tuned model a GAN?", []),  # every part is a name or a word the documents use
    ("Is a Zorblax-style sampler a flow?", ["Zorblax-style"]),
])
def test_a_hyphenated_compound_of_known_words_is_known(question, unknown):
    assert Vocabulary(SPELT_OUT).unknown_names(question) == unknown


@pytest.mark.parametrize("question, unknown, beside", [
    ("Did Dinh and Zorblax propose the first flows?", ["Zorblax"], ["Zorblax"]),
    ("Did Zorblax, Quux and Dinh propose flows?", ["Zorblax", "Quux"], ["Zorblax", "Quux"]),  # through each other
    ("What did Dinh or Zorblax propose?", ["Zorblax"], ["Zorblax"]),
    ("Can I run beam search in Zorblax?", ["Zorblax"], []),  # what it asks about: still unknown
    ("Did Dinh work at Zorblax?", ["Zorblax"], []),  # not listed with the known name
    ("Did Zorblax and Quux propose flows?", ["Zorblax", "Quux"], []),  # listed only with each other
    ("Did Dinh and Zorblax Quux propose flows?", ["Zorblax", "Quux"], ["Zorblax", "Quux"]),  # a full name
    ("Did Quux Zorblax and Dinh propose flows?", ["Quux", "Zorblax"], ["Quux", "Zorblax"]),  # a full name
    ("Did Zorblax Dinh propose flows?", ["Zorblax"], []),  # one name: the unknown word may be what is asked about
])
def test_a_name_no_document_mentions_listed_with_one_they_do_is_told_apart(question, unknown, beside):
    assert VOCABULARY.unknown_names(question) == unknown
    assert beside_known(question, unknown) == beside


def test_names_in_a_question_are_the_words_written_as_names():
    assert names_in("Can PEFT adapters be trained with JAX or Flax code?") == ["PEFT", "JAX", "Flax"]
    assert names_in("How do I load it with llama.cpp? Or SageMaker?") == ["llama.cpp", "SageMaker"]
    assert names_in("what does hits@k count in a ranking?") == ["hits@k"]  # a word joined by "@" is a name too
    # a sentence's first word, single letters, contractions and anything with a digit are not names
    assert names_in("I'm training a 1B model on A100s. What's the point? Explain it, I beg you.") == []
    assert names_in("¿Quién inventó las redes generativas adversarias?") == []
    # a possessive names its owner; a contraction still names nothing
    assert names_in("How does Zorblax's rule relate to Quimby’s method? It doesn't, isn't it?") == ["Zorblax", "Quimby"]


def test_a_name_opening_with_a_hyphen_is_the_end_of_one_the_documents_write():
    vocabulary = Vocabulary(CHUNKS + [Chunk("e#0", "corpus/16-evaluation.md", "Evaluation", "Overlap metrics",
                                            "evaluation", "ROUGE-L relies on the longest common subsequence.")])
    assert vocabulary.unknown_names("Is its -L form better for long summaries?") == []
    assert vocabulary.unknown_names("Is its -Q form better?") == ["-Q"]


SPELT_LIKE_WORDS = [
    Chunk("w#0", "corpus/glossary.md", "Glossary", "DUB", "glossary", "- **Definition:** A made-up voice encoder."),
    Chunk("w#1", "corpus/12-audio.md", "Audio", "Voice", "audio", "Actors dub a film. DUB encodes voices."),
    Chunk("w#2", "corpus/glossary.md", "Glossary", "GAN", "glossary", "- **Definition:** Two networks in a game."),
]


@pytest.mark.parametrize("text,names", [
    ("Who made DUB?", ["DUB"]),  # an abbreviation the documents also write as an ordinary word ("dub")
    ("Who made dub?", []),  # ... in lower case: the ordinary word
    ("Is DUBS a plural?", []),  # not a word of its own
    ("Who made the GAN?", []),  # no document writes "gan" as a word
])
def test_abbreviations_spelt_like_an_ordinary_word_are_found_only_in_capitals(text, names):
    assert Vocabulary(SPELT_LIKE_WORDS).in_capitals(text) == names


def test_a_glossary_entry_goes_by_the_other_name_its_definition_gives():
    also = Chunk("g#9", "corpus/glossary.md", "Glossary", "Top-q sampling", "glossary",
                 "Top-q sampling: Samples from a quantile of the tokens; also called quantile sampling. "
                 "Related terms: Beam search, also called wide search.")
    assert entry_names(also) == ["Top-q sampling", "quantile sampling"]  # not a related term's other name
    assert entry_names(entry("g#8", "Wide search (WS)", "A search, also known as the broad search.")) == [
        "Wide search", "WS", "broad search"]
    vocabulary = Vocabulary([also])
    assert vocabulary.names.search("Is quantile sampling slow?")
