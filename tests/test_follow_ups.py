"""Follow-ups made to stand alone, without any model."""

import pytest

from rag_tutor.config import load_settings
from rag_tutor.follow_ups import (asked_in_parallel, depends_on_history, head_asked, own_question, part_asked,
                                 resolve_follow_up, subject_of, together)
from rag_tutor.vocabulary import Vocabulary, terms_pattern

from tiny_course import alike, entry

SETTINGS = load_settings(env={})


def test_anaphora_detection():
    assert depends_on_history("Who introduced it?")
    assert depends_on_history("What are their weaknesses?")
    assert not depends_on_history("What is the evidence lower bound in a variational autoencoder?")
    names = terms_pattern(["FID", "Diffusion model", "Temperature"])
    # a short question naming no course term leans on the conversation; one naming a term stands alone
    assert depends_on_history("any downsides worth knowing?", names)
    assert not depends_on_history("What are the weaknesses of diffusion models?", names)
    assert not depends_on_history("What about FID?", names)  # short, but it changes the subject
    assert depends_on_history("Why?", names)


def test_a_follow_up_pronoun_is_resolved_to_the_earlier_subject():
    assert resolve_follow_up("Who introduced it?", ["What is a VAE?"]) == "Who introduced a VAE?"
    assert resolve_follow_up("How do they make a picture?", ["Describe diffusion models."]) == \
        "How do diffusion models make a picture?"
    assert resolve_follow_up("What is its main advantage?", ["Tell me about LoRA."]) == \
        "What is LoRA's main advantage?"
    assert resolve_follow_up("Why does it matter?", ["How does LoRA work?"]) == "Why does LoRA matter?"
    # nothing to resolve, or no clear subject: left to the history-expanded search
    assert resolve_follow_up("What is a GAN?", ["What is a VAE?"]) is None
    assert resolve_follow_up("Who introduced it?", ["I have a question about something long and winding here"]) is None


def test_the_subject_of_a_turn_is_the_course_term_it_names():
    names = terms_pattern(["Diffusion model", "FID", "DDPM", "Temperature", "Language model"])
    assert subject_of("Why are diffusion models popular for image generation?", names) == "diffusion models"
    assert resolve_follow_up("and what are their downsides?", ["Why do people like diffusion models for images?"],
                             names) == "and what are diffusion models' downsides?"
    # no pronoun to replace: the subject is put in front
    assert resolve_follow_up("any downsides worth knowing?", ["What is FID?"], names) == \
        "About FID: any downsides worth knowing?"
    turns = ["Give me an overview of diffusion models.", "What's DDPM?"]
    assert resolve_follow_up("Who wrote that paper?", turns, names) == \
        "About DDPM: Who wrote that paper?"
    # a question that names its own subject is left alone
    assert resolve_follow_up("What does FID measure?", ["What is a diffusion model?"], names) is None


def test_an_abbreviation_spelt_like_a_word_is_not_the_subject_of_every_question():
    # the glossary has IS (the Inception Score) and CLIP; "is" and "clip" are also ordinary words
    names = terms_pattern(["IS", "CLIP", "FID"], ordinary={"is", "clip"})
    assert subject_of("What is controllable generation?", names) == "controllable generation"
    assert resolve_follow_up("Who introduced it?", ["What is controllable generation?"], names) == \
        "Who introduced controllable generation?"
    assert depends_on_history("What is the main problem?", names)  # names nothing: it leans on the conversation
    assert subject_of("How is the IS computed?", names) == "the IS"
    assert subject_of("what is fid", names) == "fid"  # an abbreviation that is no ordinary word: any case


@pytest.mark.parametrize("question, turn, resolved", [
    ("and for video?", "How does beam search decode images?", "How does beam search decode video?"),
    ("What about the discriminator?", "How large is the generator of a GAN?", "How large is the discriminator of a GAN?"),
    ("and greedy?", "Why is beam search slow?", "Why is greedy search slow?"),
    ("what about perplexity?", "Why is beam search slow?", None),  # nothing alike enough
    ("and what are their drawbacks?", "How does beam search decode images?", None),  # a question of its own
    ("and for video, which flows are used?", "How does beam search decode images?", None),  # a clause of its own
    ("Why is it slow?", "How does beam search decode images?", None),  # not elliptical
    ("and the discriminator?", "Why is a GAN's generator slow?", "Why is a GAN's discriminator slow?"),  # one article, not two
    ("and on video?", "Is beam search trained on text?", "Is beam search trained on video?"),  # one "on", not two
    # a thing with its article replaces the words before the phrase back to theirs, not only the phrase
    ("and the discriminator?", "Why is the large generator slow?", "Why is the discriminator slow?"),
])
def test_an_elliptical_follow_up_asks_the_earlier_question_with_its_alike_phrase_replaced(question, turn, resolved):
    assert asked_in_parallel(question, [turn], alike, SETTINGS) == resolved


@pytest.mark.parametrize("turn, subject, longest", [
    ("How is LoRA used in diffusion models?", "LoRA", "diffusion models"),  # the longer term qualifies it
    ("Does top-k sampling work with a language model?", "top-k sampling", "a language model"),
    ("In my language model, why is top-k sampling slow?", "top-k sampling", "language model"),
    ("Why do diffusion models beat LoRA?", "diffusion models", "diffusion models"),  # neither in a phrase: the longest
    ("Is LoRA common in diffusion models for images?", "LoRA", "diffusion models"),
    ("What are the weaknesses of diffusion models like LoRA?", "diffusion models", "diffusion models"),  # both in one
])
def test_the_subject_of_a_turn_is_the_term_outside_a_prepositional_phrase(turn, subject, longest):
    names = terms_pattern(["LoRA", "Diffusion model", "Top-k sampling", "Language model"])
    assert subject_of(turn, names, outside_phrases=True) == subject
    assert subject_of(turn, names) == longest  # the rule off: the longest term
    resolved = resolve_follow_up("Who introduced it?", [turn], names, outside_phrases=True)
    assert resolved == f"Who introduced {subject}?"


def test_its_own_means_the_thing_the_clause_is_about_not_the_earlier_subject():
    names = terms_pattern(["VAE", "Decoder"])
    assert resolve_follow_up("Can it run on its own?", ["What is a VAE?"], names) == "Can a VAE run on its own?"
    assert resolve_follow_up("so does that part work on its own?", ["What is a VAE?"], names) == \
        "About a VAE: so does that part work on its own?"


@pytest.mark.parametrize("turn, subject", [
    ("How many layers does the Zorbnet encoder use?", "the Zorbnet encoder"),  # no course term in it: as written
    ("How many sampling passes did the first DDPM need?", "DDPM"),  # the course term it names
    ("How much memory does a diffusion model need?", "a diffusion model"),
    ("How many parameters does it have?", "parameters"),  # a pronoun: the course term, as before
])
def test_the_subject_of_a_turn_asking_an_amount_of_a_thing_is_the_thing(turn, subject):
    names = terms_pattern(["Parameters", "DDPM", "Denoising", "Diffusion model"])
    assert subject_of(turn, names) == subject
    assert resolve_follow_up("and how was it trained?", ["How many parameters does Zorbnet-2 have?"], names) == \
        "and how was Zorbnet-2 trained?"


@pytest.mark.parametrize("turn, subject", [
    ("What is LoRA based on?", "LoRA"),
    ("what are diffusion models trained on", "diffusion models"),
    ("What is LoRA built on?", "LoRA"),
])
def test_the_subject_of_a_turn_asking_what_a_thing_rests_on_is_the_thing(turn, subject):
    names = terms_pattern(["LoRA", "Diffusion model"])
    assert subject_of(turn, names) == subject


@pytest.mark.parametrize("question, history, resolved", [
    ("What sets the two apart?", ["What is a flow?", "What is an autoencoder?"],
     "What sets a flow and an autoencoder apart?"),
    ("Which one trains faster?", ["Explain flows.", "Explain autoencoders."],
     "which of flows and autoencoders trains faster?"),
    ("Do both need a sampler?", ["What is a flow?", "What is an autoencoder?"],
     "Do both a flow and an autoencoder need a sampler?"),
    ("Is either of them exact?", ["What is a flow?", "What is an autoencoder?"],
     "Is either a flow or an autoencoder exact?"),
    ("How do I pick between them?", ["What is a flow?", "What is an autoencoder?"],
     "How do I pick between a flow and an autoencoder?"),
    # "they both": both, the pronoun with it
    ("Do they both need a sampler?", ["What is a flow?", "What is an autoencoder?"],
     "Do both a flow and an autoencoder need a sampler?"),
    # the latest turn names two terms: "the two" are those, not the turn before's
    ("Which one came first?", ["What is a sampler?", "Compare flows and autoencoders."], None),
    # the question names two terms itself, or both turns are on one subject: nothing to put in
    ("Do both flows and autoencoders need a sampler?", ["What is a flow?", "What is an autoencoder?"], None),
    ("Which one is older?", ["What is a flow?", "Who invented flows?"], None),
    ("Which one is older?", ["What is a flow?"], None),
])
def test_the_two_or_both_after_two_turns_are_both_subjects(question, history, resolved):
    names = terms_pattern(["Flow", "Autoencoder", "Sampler"])
    per_turn = [subject_of(t, names) for t in history]
    assert together(question, history, per_turn, names) == resolved
    if resolved:
        assert resolve_follow_up(question, history, names, pairs=True) == resolved
        # the rule switched off: not both subjects
        assert resolve_follow_up(question, history, names, pairs=False) != resolved
    # "the two" or "both" points back unless the question names two terms itself
    assert depends_on_history(question, names, pairs=True) == ("flows and" not in question)


@pytest.mark.parametrize("question, within", [
    ("My friend mentioned samplers. How do they work?", True),
    ("People keep talking about flows, what are they?", True),
    ("Autoencoders are everywhere - when did they appear?", True),
    ("How do they work?", False),  # no term of its own: it points back
    ("Is a flow faster than it?", False),  # the term is in the pronoun's own clause
    ("Compared with flows, is it faster?", False),  # a clause that only compares
    ("Unlike autoencoders, does it need a sampler?", False),
])
def test_a_pronoun_after_a_term_the_question_names_stands_for_that_term(question, within):
    names = terms_pattern(["Flow", "Autoencoder", "Sampler"])
    assert (own_question(question, names) is not None) is within


@pytest.mark.parametrize("question, own", [
    ("I read about flows yesterday. Who made them?", "Who made flows?"),
    ("People keep talking about autoencoders, what are they?", "what are autoencoders?"),
    ("My sampler is slow. What is its main cost?", "What is sampler's main cost?"),
    ("Compared with flows, is it faster?", None),  # "it" is not the compared thing
    ("What is a flow?", None),  # one clause: nothing leads up to it
    ("In a flow, which layer comes first?", None),  # no pronoun: the whole question is asked
    ("I read about them in a flow paper - what is it?", None),  # the first pronoun points back
])
def test_a_last_clause_pointing_at_a_term_named_before_is_asked_with_it(question, own):
    names = terms_pattern(["Flow", "Autoencoder", "Sampler"])
    assert own_question(question, names) == own


def test_a_part_named_after_a_turn_on_its_whole_is_asked_about_that_whole():
    chunks = [entry("g#0", "Normalizing flow (NF)", "A model that maps data to noise with invertible layers."),
              entry("g#1", "Coupling layer", "The invertible layer of a normalizing flow that splits its input."),
              entry("g#2", "Beam search", "A decoding method that keeps several candidate sequences."),
              entry("g#3", "Beam width", "How many sequences beam search keeps."),
              entry("g#4", "Sampler", "Draws the samples. Related terms: Normalizing flow.")]
    vocabulary = Vocabulary(chunks)
    assert vocabulary.part_of("the coupling layer", "NFs")
    assert not vocabulary.part_of("the coupling layer", "beam search")  # its definition does not name it
    assert not vocabulary.part_of("the normalizing flow", "a normalizing flow")
    assert not vocabulary.part_of("the beam width", "beam search")  # its own name says whose it is
    assert not vocabulary.part_of("the sampler", "a normalizing flow")  # a related term is no whole
    names, part_of = vocabulary.names, vocabulary.part_of
    assert part_asked("What does the coupling layer split?", ["Tell me about normalizing flows."], names, part_of) == \
        "About normalizing flows: What does the coupling layer split?"
    assert part_asked("What does the coupling layer split?", ["What is beam search?"], names, part_of) is None
    # "a coupling layer" is any one, not the flow's; a question naming the whole too needs no help
    assert part_asked("What does a coupling layer split?", ["Tell me about normalizing flows."], names, part_of) is None
    assert part_asked("Does the coupling layer of a normalizing flow split?", ["Tell me about normalizing flows."],
                      names, part_of) is None


def test_a_term_named_by_its_last_word_after_a_turn_on_its_whole_is_put_in():
    chunks = [entry("g#0", "Normalizing flow (NF)", "A model that maps data to noise with invertible layers."),
              entry("g#1", "Coupling layer", "The invertible layer of a normalizing flow that splits its input."),
              entry("g#2", "Beam search", "A decoding method that keeps several candidate sequences."),
              entry("g#3", "Beam width", "How many sequences beam search keeps."),
              entry("g#4", "Hidden layer", "Any layer between the input and the output."),
              entry("g#5", "Sampler", "Draws the samples of a normalizing flow.")]
    vocabulary = Vocabulary(chunks)
    assert vocabulary.part_by_head("layer", "NFs") == "coupling layer"
    assert vocabulary.part_by_head("layers", "a normalizing flow") == "coupling layer"
    assert vocabulary.part_by_head("width", "beam search") == "beam width"
    assert vocabulary.part_by_head("layer", "beam search") is None  # no layer's definition names beam search
    assert vocabulary.part_by_head("sampler", "a normalizing flow") is None  # a course term of its own
    names, by_head = vocabulary.names, vocabulary.part_by_head
    assert head_asked("Why does that layer split its input?", ["Tell me about normalizing flows."], names, by_head) == \
        "Why does the coupling layer split its input?"
    assert head_asked("How wide is the width usually?", ["How does beam search work?"], names, by_head) == \
        "How wide is the beam width usually?"
    assert head_asked("Why does that layer split?", ["What is beam search?"], names, by_head) is None
    # a question naming a course term of its own needs no help
    assert head_asked("Does that layer use a sampler?", ["Tell me about normalizing flows."], names, by_head) is None
