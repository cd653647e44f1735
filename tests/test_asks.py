"""What a question asks for and the shape of a sentence that gives it, without any model."""

import pytest

from rag_tutor.asks import ANSWER_SHAPES, EXPLAINS, NUMBER_SHAPE, has_shape, kind_of


SHAPES = [
    ("person", "Dinh and colleagues proposed early flows.", "Invertible layers compute exact likelihoods."),
    ("maker", "Quuxcorp released the first flow in 2014.", "The flow released its grip on the field."),
    ("maker", "Early flows came from Dinh et al. at Quuxcorp.", "Flows learn from Gaussian noise."),
    ("date", "Early flows appeared in 2014.", "Flows use invertible layers."),
    ("reason", "Flows are exact because every layer is invertible.", "Flows are a family of models."),
    ("weakness", "However, flows are costly in memory.", "Flows map data to noise."),
    ("example", "Decoding methods such as beam search keep several candidates.", "Beam search is a method."),
    ("comparison", "Beam search keeps the best sequences, while sampling draws at random.", "Sampling is random."),
]


@pytest.mark.parametrize("kind,has,lacks", SHAPES, ids=[s[0] for s in SHAPES])
def test_an_answer_sentence_has_the_shape_its_question_asks_for(kind, has, lacks):
    assert ANSWER_SHAPES[kind].search(has) and not ANSWER_SHAPES[kind].search(lacks)


@pytest.mark.parametrize("sentence,number", [
    ("A flow stacks 12 coupling layers.", True),
    ("The beam keeps 0.5 of the mass.", True),
    ("Beam widths of four or five are common.", True),
    ("Hundreds of layers are rare.", True),
    ("A latent of 64x64 cells.", True),
    ("Dinh and colleagues proposed early flows in 2014.", False),  # a year is no amount
    ("One of the layers is invertible.", False),
    ("A flow named Glow-2 came later.", False),  # a version number is no amount
    ("The decoder works zero-shot or few-shot.", False),  # a way of prompting, not a count
    ("Zero layers are frozen.", True),
])
def test_a_sentence_gives_a_number_unless_it_is_only_a_year(sentence, number):
    assert bool(NUMBER_SHAPE.search(sentence)) is number


ORDINARY = frozenset({"diffusion", "face", "score"})  # words the documents also write in lower case


@pytest.mark.parametrize("sentence,person", [
    ("Stable Diffusion uses a text encoder.", False),  # a model's name: "diffusion" is an ordinary word
    ("Models are shared on Hugging Face.", False),
    ("Blix Quuxley proposed early flows.", True),  # a surname the documents never write in lower case
    ("Blix P. Quuxley proposed early flows.", True),
    ("Stable Diffusion came from Blix Quuxley.", True),  # a name after a model's name
    ("Stable Diffusion came from Quux et al.", True),  # the shape's other parts still count
    ("Stable Diffusion came from Blix and colleagues.", True),
    ("Tools such as Blix and Diffusion spread.", False),  # "X and Y", Y an ordinary word
    ("Flows came from Blix and Quuxley.", True),
])
def test_two_capitalised_words_name_a_person_only_when_the_last_is_no_ordinary_word(sentence, person):
    assert has_shape(ANSWER_SHAPES["person"], sentence, ORDINARY) is person
    assert has_shape(ANSWER_SHAPES["person"], sentence)  # without the documents' words: any pair is a name


def test_no_shape_asked_for_is_no_shape():
    assert not has_shape(None, "Blix Quuxley proposed it in 2014.")


@pytest.mark.parametrize("question, kind, explains", [
    ("How is beam search different from sampling?", "comparison", True),
    ("What's the difference between a flow and a VAE?", "comparison", True),
    ("and beam search: is it any different?", "comparison", True),
    ("Do the two decoders treat long inputs differently?", "comparison", True),
    # "different" before a noun asks nothing of a difference
    ("Why do two runs of one sampler give different outputs?", "reason", True),
    ("I ran one sampler on two different machines and got other text. Why?", "reason", True),
    ("What do you call a model that handles different kinds of input?", "definition", False),
    # nor "differentiable" or "differentially"
    ("Why is the relaxed loss differentiable everywhere?", "reason", True),
    ("Which optimizer clips gradients differentially per record?", "list", False),
])
def test_a_question_compares_only_when_it_asks_how_things_differ(question, kind, explains):
    assert kind_of(question) == kind
    assert bool(EXPLAINS.search(question)) == explains
