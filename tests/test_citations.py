import re

import pytest

from rag_tutor.citations import SupportChecker, cited_numbers, lexical_support, split_sentences, strip_citations


def test_sentences_keep_their_citation_markers():
    text = "A GAN has two networks [1]. The generator makes samples.[2] - The discriminator judges them [1, 3]."
    sents = split_sentences(text)
    assert len(sents) == 3
    assert [cited_numbers(s) for s in sents] == [[1], [2], [1, 3]]
    assert strip_citations(sents[2]) == "The discriminator judges them."


WRAPPED = """Kettles boil water by heating an element under it. A closed lid
traps the steam, so the water boils sooner than in an
open pan.

## Safety
Never fill it past the line.  
Unplug it before cleaning:
- descale it monthly with
  vinegar and rinse well
- dry the base

```python
def boil(kettle):
    kettle.on()
```
| part | job |
| lid | keeps heat |"""


def test_a_hard_wrapped_sentence_is_one_sentence_and_other_blocks_keep_their_lines():
    assert split_sentences(WRAPPED) == [
        "Kettles boil water by heating an element under it.",
        "A closed lid traps the steam, so the water boils sooner than in an open pan.",
        "Safety",  # a heading does not run into the line after it
        "Never fill it past the line.",  # a line ending in two spaces ends with a break
        "Unplug it before cleaning:",
        "descale it monthly with vinegar and rinse well",  # a list item's wrapped continuation
        "dry the base",
        "```python", "def boil(kettle):", "kettle.on()", "```",  # a code line is never joined
        "| part | job |", "| lid | keeps heat |",
    ]


def test_text_written_one_paragraph_per_line_keeps_its_lines():
    from rag_tutor.citations import logical_lines

    text = "One paragraph here.  \nAnother one, with no full stop  \n- an item  \nA last line"
    assert logical_lines(text) == text.splitlines()


def test_a_code_block_shown_inside_a_longer_fence_keeps_its_lines():
    """The chunker's code blocks: a shorter fence inside a longer one is code, not the end of the block."""
    from rag_tutor.citations import logical_lines

    text = "Write it so:\n\n````markdown\n```python\nkettle.fill()\nkettle.on()\n```\n````\nThen wait\nfor it."
    assert logical_lines(text) == ["Write it so:", "", "````markdown", "```python", "kettle.fill()", "kettle.on()",
                                   "```", "````", "Then wait for it."]


def test_lexical_support_counts_content_words():
    passage = "The variational autoencoder was introduced by Kingma and Welling in 2013."
    assert lexical_support("Kingma and Welling introduced the VAE in 2013.", passage) > 0.7
    assert lexical_support("It was presented at ICML in Berlin by Max.", passage) < 0.3


@pytest.mark.model
def test_support_separates_claims_the_passage_makes_from_ones_it_does_not(embedder):
    checker = SupportChecker(embedder)
    passage = ("In a GAN, the discriminator is a classifier that tells real training samples from fakes made by the "
               "generator. Training alternates between updating the discriminator and the generator.")
    good = checker.support("The discriminator tells real samples from the generator's fakes.", passage)
    bad = checker.support("GANs were invented in Berlin in 1998 by a team of physicists.", passage)
    assert good.score > 0.6 > bad.score
    assert "classifier" in good.best_sentence


def test_invented_names_and_numbers_are_found():
    from rag_tutor.citations import novel_entities

    passage = "The variational autoencoder was introduced by Kingma and Welling in 2013."
    assert novel_entities("Kingma and Welling presented it at ICML in Berlin in 2014.", passage) == ["ICML", "Berlin", "2014"]
    assert novel_entities("Kingma and Welling introduced it in 2013.", passage) == []


def test_initials_and_abbreviations_do_not_end_a_sentence():
    text = ("The VAE was introduced by Diederik P. Kingma and Max Welling. Ho et al. improved it. "
            "Noise, e.g. Gaussian noise, is added. It works [1].")
    assert split_sentences(text) == [
        "The VAE was introduced by Diederik P. Kingma and Max Welling.", "Ho et al. improved it.",
        "Noise, e.g. Gaussian noise, is added.", "It works [1]."]


def test_words_run_together_count_against_support(embedder):
    from rag_tutor.citations import glued_words

    passage = ("A strong research direction aims to make generative AI efficient enough to run on laptops and "
               "phones, and on-device models keep data private.")
    garbled = "A strong research direction aims to makegenerative AI efficient andon-device."
    assert glued_words(garbled, passage) == ["makegenerative", "andon-device"]
    assert glued_words("On-device models keep data private.", passage) == []
    # a long run that lost its spaces counts several times over; a long word of the passage does not
    steps = "20 to 50 steps is common; the pipeline defaults to 50. Too few steps give blurry images."
    assert len(glued_words("The pipelinedefaultsto50.Toofewstepsgiveblurry images.", steps)) >= 4
    assert glued_words("Use stable-diffusion-v1-5-checkpoints.", "Load stable-diffusion-v1-5-checkpoints first.") == []
    checker = SupportChecker(embedder)
    clean = checker.support("A strong research direction aims to make generative AI efficient.", passage)
    glued = checker.support(garbled, passage)
    assert glued.score <= clean.score - 0.3 and "makegenerative" in glued.novel


@pytest.mark.model
def test_an_invented_number_fails_an_otherwise_faithful_long_sentence(embedder):
    checker = SupportChecker(embedder)
    passage = ("Stable Diffusion: An openly released text-to-image model from 2022, based on the latent diffusion "
               "work of Rombach et al. (2022). It denoises in a VAE's compressed latent space using a U-Net "
               "conditioned on CLIP text embeddings.")
    faithful = "Stable Diffusion is an openly released text-to-image model from 2022, based on latent diffusion."
    padded = ("Stable Diffusion is an openly released text-to-image model from 2022, based on latent diffusion, "
              "and has been applied in 68 experiments.")
    assert checker.support(faithful, passage).score >= 0.55 > checker.support(padded, passage).score


def test_a_full_stop_that_runs_on_in_lower_case_ends_the_claim():
    from rag_tutor.citations import cut_run_on

    spliced = ("The VAE was introduced by Kingma and Welling in 2013. variational inference, which replaces the "
               "posterior, and The result was a deep generative model.")
    assert cut_run_on(spliced) == "The VAE was introduced by Kingma and Welling in 2013."
    for fine in ("Ho et al. showed that denoising works.", "Noise, e.g. Gaussian noise, is added.",
                 "GANs vs. diffusion models."):
        assert cut_run_on(fine) == fine


def test_a_sentence_is_finished_only_once_words_of_the_next_follow():
    from rag_tutor.answer import finished_sentences

    assert finished_sentences("A GAN has two networks") == []
    assert finished_sentences("A GAN has two networks [1]. The gen") == ["A GAN has two networks [1]."]
    # a citation still being written after the full stop may belong to the sentence before it
    assert finished_sentences("A GAN has two networks. [1") == []
    assert finished_sentences("Ho et al. showed it. Then") == ["Ho et al. showed it."]


# Our own questions, on topics with several passages each, so that an answer cites more than one.
OWN_QUESTIONS = [
    "Explain what the generator and the discriminator each try to achieve.",
    "In what way does the KV cache make generation with a transformer faster?",
    "Describe how the reparameterization trick lets a VAE be trained with gradients.",
    "Tell me how a few-shot prompt shows the model what to do.",
]


@pytest.fixture(scope="module")
def cited_tutor(course_retriever):
    from rag_tutor.answer import Tutor

    return Tutor(course_retriever.settings, retriever=course_retriever)


# A shown sentence as Numbering renders it: the claim, its marks, its stop ("Noise is added [1][2].").
SHOWN = re.compile(r"\s*(.+?)\s*((?:\[\d+\])+)([.!?])")


@pytest.mark.model
@pytest.mark.parametrize("question", OWN_QUESTIONS)
def test_each_shown_number_is_the_passage_its_sentence_was_checked_against(cited_tutor, question):
    """On real answers: every [n] after a sentence names a passage that supports that sentence (the checker's own
    score, at the answer's threshold), and the quote the app highlights for that sentence is a sentence of the same
    passage, taken in the order the answer cites it (Citation.quotes, what the [n] links point at)."""
    from rag_tutor.answer import RECAP_LEAD

    tutor = cited_tutor
    answer = tutor.ask(question)
    assert not answer.declined, answer.answer
    assert not SHOWN.sub("", answer.answer).strip(), f"uncited text shown: {answer.answer!r}"
    by_n = {c.n: c for c in answer.citations}
    used: dict[int, int] = {}
    for shown in SHOWN.finditer(answer.answer):
        claim = shown.group(1).removeprefix(RECAP_LEAD) + shown.group(3)
        for n in (int(x) for x in re.findall(r"\d+", shown.group(2))):
            c = by_n[n]
            support = tutor.checker.support(claim, c.text)
            assert support.score >= tutor.settings.support_threshold, (answer.mode, n, claim, c.chunk_id)
            i = used.get(n, 0)
            used[n] = i + 1
            assert c.quotes[i] in split_sentences(c.text), (n, c.quotes[i])
    assert used == {c.n: len(c.quotes) for c in answer.citations}, (answer.answer, [c.quotes for c in answer.citations])
