"""The candidate sentences and the selector's rules, without models: which sentences can stand alone, a list's lead-in
and its items found in a passage, joined into one sentence, and cited once with each part quoted (so that each is
marked in the passage); a formula read with its "where" line; when no sentence answers; a sentence about another thing
named after the asked term."""

import numpy as np
import pytest

from rag_tutor.answer import Numbering, cited, unanswered, who_when_lead
from rag_tutor.candidates import (Candidate, Chosen, about_a_variant, formula_sentence, informative, list_blocks,
                                  list_sentence)
from rag_tutor.config import Settings
from rag_tutor.citations import split_sentences
from rag_tutor.prompts import Context
from rag_tutor.query import Query, without
from rag_tutor.retrieval import Passage

TEXT = """Kettles come in several kinds. Three things decide how fast one boils:

- the power of its element
- how much water it holds
- whether the lid is closed

A whistle tells you when it is done. Common materials include:

1. steel
2. glass

Nothing else is listed here: it is prose."""


def test_a_lead_in_ending_with_a_colon_owns_the_list_that_follows():
    sents = split_sentences(TEXT)
    blocks = list_blocks(TEXT, sents)
    assert {sents[i]: [sents[j] for j in items] for i, items in blocks.items()} == {
        "Three things decide how fast one boils:": ["the power of its element", "how much water it holds",
                                                     "whether the lid is closed"],
        "Common materials include:": ["steel", "glass"],
    }


def test_a_list_item_wrapped_over_two_lines_is_still_an_item_of_its_list():
    text = "Two things matter:\n\n- the power of its\n  element\n- the lid\n\nThe end."
    sents = split_sentences(text)
    assert {sents[i]: [sents[j] for j in items] for i, items in list_blocks(text, sents).items()} == {
        "Two things matter:": ["the power of its element", "the lid"]}


def test_a_colon_without_a_list_or_with_one_item_is_no_block():
    text = "The rule is simple: boil first.\n\nOne thing matters:\n\n- time\n\nThe end."
    assert list_blocks(text, split_sentences(text)) == {}


def test_a_list_reads_as_one_sentence_and_is_cited_once_with_every_part_marked():
    sents = split_sentences(TEXT)
    sentence = list_sentence(sents[1], sents[2:5])
    assert sentence == ("Three things decide how fast one boils: the power of its element; how much water it holds; "
                        "whether the lid is closed.")
    ctx = Context(1, Passage("corpus/k.md", "Kettles", "Boiling", TEXT, 1.0, "k#0"), TEXT)
    numbering = Numbering()
    text = cited([Chosen(ctx, sentence, tuple(sents[1:5])), Chosen(ctx, sents[0], (sents[0],))], numbering)
    assert text == sentence[:-1] + " [1]. Kettles come in several kinds [1]."
    (citation,) = numbering.citations
    assert citation.quotes == sents[1:5] + [sents[0]]


def test_a_question_is_unanswered_only_when_the_best_sentence_is_below_even_odds_and_the_rule_is_on():
    on = Settings()
    assert unanswered(-0.5, on) and not unanswered(0.5, on) and not unanswered(0.0, on)
    assert not unanswered(None, on)  # no sentence ranker: no such judgement
    assert not unanswered(-0.5, Settings(decline_unanswered=False))
    assert not unanswered(-0.5, on, foreign_share=0.6)  # mostly words no document uses: the ranker can't judge
    assert unanswered(2.0, on, no_number=True)  # an amount asked, and no chosen sentence gives a number
    assert not unanswered(2.0, Settings(decline_unanswered=False), no_number=True)


FORMULA = """A kettle's boiling time is roughly:

t = m x c x dT / P

where P is the element's power in watts. A lid saves energy.

heat = power x time = energy

which is the same law again."""


def test_a_formulas_where_line_reads_as_one_sentence_with_the_formula_and_its_lead_in():
    sents = split_sentences(FORMULA)
    where = sents.index("where P is the element's power in watts.")
    assert formula_sentence(sents, where) == (
        "A kettle's boiling time is roughly: t = m x c x dT / P, where P is the element's power in watts.",
        tuple(sents[where - 2:where + 1]))
    assert formula_sentence(sents, where + 1) is None  # a sentence of its own
    assert formula_sentence(sents, len(sents) - 1) is None  # not a "where" line
    assert formula_sentence(sents, 0) is None


def test_context_sentences_must_say_something_about_the_subject():
    assert informative("A VAE is trained by maximizing the evidence lower bound.")
    assert not informative("This lesson explains the two players and the training game.")
    assert not informative("The ELBO has two terms with clear roles:")
    assert not informative("ELBO(x) = E_{q(z|x)}[ log p(x|z) ] - KL( q(z|x) || p(z) )")
    assert not informative("Related terms: ELBO, KL divergence.")
    assert not informative("where k is the number of kettles in the kitchen.")  # the rest of a formula's line
    assert not informative("and the loss then falls to zero for every batch.")
    assert informative("beta-VAE weighs the KL term more heavily than a plain VAE does.")  # a term in lower case


@pytest.mark.parametrize("sentence,term,variant", [
    ("ZorbGAN (Quux et al., 2031) made faces sharper.", "GAN", True),  # a name holding the term
    ("The beta-VAE, proposed by Quux in 2031, weighs the KL term.", "VAE", True),
    ("**CLIPScore**, proposed by Quux in 2031, rates captions.", "CLIP", True),
    ("- SuperGAN (2031) was a toy.", "GAN", True),  # a list's item
    ("GANs were proposed by Quux in 2031.", "GAN", False),  # the term itself, or its plural
    ("The GAN of Quux (2031) had two networks.", "GAN", False),
    ("GAN-based editors came in 2031.", "GAN", False),  # the term as a qualifier
    ("In 2031, Quux proposed the GAN.", "GAN", False),
    ("Began in 2031, the GAN...", "GAN", False),  # an abbreviation only in its own capitals
    ("Transformer-XL (2031) reads longer texts.", "transformer", True),  # any case for a word
    ("Stable Diffusion XL came in 2031.", "Stable Diffusion", False),  # several words: never a part
])
def test_a_sentence_opening_with_another_thing_named_after_the_term_is_about_a_variant(sentence, term, variant):
    assert about_a_variant(sentence, term) is variant


def test_a_name_the_question_uses_is_no_variant():
    assert about_a_variant("ZorbGAN-2 (Quux, 2031) made faces.", "GAN", "Who made the GAN?")
    assert not about_a_variant("ZorbGAN-2 (Quux, 2031) made faces.", "GAN", "Who made zorbgan-2, the GAN?")
    assert about_a_variant("ZorbGAN-2 (Quux, 2031) made faces.", "GAN", "Who made ZorbGAN-23?")  # a whole name


SETTINGS = Settings()


def _scored(*sentences: tuple[str, bool]) -> list:
    ctx = Context(1, Passage("corpus/g.md", "GANs", "Origins", " ".join(s for s, _ in sentences), 1.0, "g#0"), "")
    return [(2.0 - i, Candidate(0.5, Chosen(ctx, s, (s,)), i, np.zeros(3), (1, i), shaped))
            for i, (s, shaped) in enumerate(sentences)]


def test_a_who_question_does_not_open_with_a_variant_when_a_shaped_sentence_is_about_the_term():
    variant = ("ZorbGAN (Quux, 2031) made faces sharper.", True)
    unshaped = ("GANs have two networks.", False)
    origin = ("GANs were proposed by Blix in 2030.", True)
    query = Query("Who proposed the GAN?", asks="person", course_terms=["GAN"])
    order = [c.chosen.sentence for _, c in who_when_lead(_scored(variant, unshaped, origin), query, SETTINGS)]
    assert order == [origin[0], variant[0], unshaped[0]]  # whatever the ranker's score
    kept = _scored(variant, unshaped)  # no shaped sentence about the term: the order stands
    assert who_when_lead(kept, query, SETTINGS) == kept
    first = _scored(origin, variant)  # the first is not a variant: the order stands
    assert who_when_lead(first, query, SETTINGS) == first
    asked = Query("Who proposed ZorbGAN?", asks="person", course_terms=["GAN"])  # the variant is what it asks about
    stands = _scored(variant, origin)
    assert who_when_lead(stands, asked, SETTINGS) == stands
    off = who_when_lead(_scored(variant, origin), query, without(SETTINGS, "variants_not_first"))
    assert off[0][1].chosen.sentence == variant[0]


def test_a_who_question_opens_with_a_sentence_giving_a_name_for_the_term_when_one_may_answer():
    query = Query("Who proposed the GAN?", asks="person", course_terms=["GAN"])
    unshaped = ("GANs have two networks.", False)
    origin = ("GANs were proposed by Blix in 2030.", True)
    unnamed = ("It was proposed by Blix in 2030.", True)  # a name, but not of the term asked about
    scored = _scored(unshaped, origin)  # log-odds 2.0 and 1.0
    assert who_when_lead(scored, query, SETTINGS)[0][1].chosen.sentence == origin[0]
    assert who_when_lead(scored, query, without(SETTINGS, "shaped_first")) == scored
    unlikely = [scored[0], (-1.5, scored[1][1])]  # the ranker thinks it does not answer
    assert who_when_lead(unlikely, query, SETTINGS) == unlikely
    other = _scored(unshaped, unnamed)
    assert who_when_lead(other, query, SETTINGS) == other
