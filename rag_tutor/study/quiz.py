"""Quiz generation from the course material, without the LLM, deterministic for a seed.

Multiple-choice items come from glossary entries: the correct option is the entry's
term or definition, the distractors are its nearest neighbours in embedding space
(same topic and related terms first). A neighbour is never used when it could also
be right: when one term's name contains the other's, or one definition names the
other term (a kind-of relation either way), or their passages are near duplicates.
True/false items pair a term with its own or a neighbour's definition; short-answer
items ask for a term by its definition or fill the blank of a key fact.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

import numpy as np

from ..config import StudyConfig
from .grading import matches_answer, parse_choice
from .material import BLANK, Citation, Fact, Material, Term, alias_pattern, mentions, normalise

MCQ, TRUE_FALSE, SHORT = "mcq", "true_false", "short"


@dataclass
class QuizQuestion:
    kind: str  # "mcq" | "true_false" | "short"
    question: str
    options: list[str]  # empty for short answers
    answer_index: int | None  # index of the correct option (None for short answers)
    answer: str  # the correct option's text, or the expected short answer
    explanation: str  # one sentence, backed by the citation
    citation: Citation
    topic: str
    concept: str  # what to revisit when the answer is wrong
    evidence: str  # the sentence of the cited passage that makes the answer right
    accepted: list[str] = field(default_factory=list)  # other accepted short answers

    def to_dict(self) -> dict:
        """The JSON shape of `rag-tutor quiz --json` (plus kind and answer, which short answers need)."""
        return {"question": self.question, "options": self.options, "answer_index": self.answer_index,
                "explanation": self.explanation, "citation": self.citation.to_dict(), "topic": self.topic,
                "kind": self.kind, "answer": self.answer}

    def to_record(self) -> dict:
        """Everything, for saving an unfinished quiz."""
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict) -> "QuizQuestion":
        return cls(**{**record, "citation": Citation(**record["citation"])})


@dataclass
class Grade:
    correct: bool
    given: str  # the answer as understood: the chosen option's text, or the typed text
    choice: int | None = None


def grade(question: QuizQuestion, reply: str, config: StudyConfig | None = None) -> Grade | None:
    """Grade a reply; None when it is not an answer to this question (no option recognised)."""
    config = config or StudyConfig()
    if question.kind == SHORT:
        if not reply.strip():
            return None
        ok = matches_answer(reply, [question.answer, *question.accepted], config.fuzzy_ratio)
        return Grade(ok, reply.strip())
    choice = parse_choice(reply, question.options, config.fuzzy_ratio)
    if choice is None:
        return None
    return Grade(choice == question.answer_index, question.options[choice], choice)


# ---------------------------------------------------------------- wording


def gloss(term: Term) -> str:
    """One sentence saying what a term is: "Mode collapse is a GAN failure in which ..."."""
    sentence = term.first_sentence.rstrip(".") + "."
    first, _, rest = sentence.partition(" ")
    if first in ("A", "An", "The"):
        return f"{term.name} is {first.lower()} {rest}"
    return f"{term.name}: {sentence}"


def masked_definition(term: Term) -> str:
    """The definition's first sentence with the term's own names blanked (so the stem does not give it away)."""
    text = term.first_sentence
    for alias in sorted(term.aliases, key=len, reverse=True):
        text = alias_pattern(alias).sub(BLANK, text)
    return text


def option_term(terms: list[Term], option: str) -> tuple[Term, bool] | None:
    """The glossary term an option (or a typed answer) names or defines, and whether it is the definition;
    None when it matches no term. Distractors are glossary names or definitions, so a wrong choice has one."""
    key = normalise(option)
    if not key:
        return None
    named = next((t for t in terms if key in {normalise(a) for a in (t.name, *t.aliases)}), None)
    if named is not None:
        return named, False
    defined = next((t for t in terms if key == normalise(t.first_sentence)), None)
    return (defined, True) if defined is not None else None


def why_not(term: Term, is_definition: bool, concept: str) -> str:
    """Why a wrong choice is wrong: what the chosen option really is, in words its cited passage backs."""
    if is_definition:
        return f"that is the definition of {term.name}, not of {concept}."
    return gloss(term)


# ---------------------------------------------------------------- distractors


# Words that name a kind of thing rather than the thing: "diffusion model" is about "diffusion".
_GENERIC = {"model", "network", "process", "learning", "sampling", "training", "method", "function"}


def _cores(term: Term) -> tuple[str, ...]:
    """The names without their generic words: "Diffusion model" -> "Diffusion"."""
    out = []
    for alias in term.aliases:
        words = [w for w in alias.split() if normalise(w) not in _GENERIC and normalise(w).rstrip("s") not in _GENERIC]
        if words and len(" ".join(words)) >= 3:
            out.append(" ".join(words))
    return tuple(out)


def _named_in(name: str, cores: tuple[str, ...]) -> bool:
    """Word-level containment, hyphens as spaces: "Encoder" is named in "Encoder-decoder model"."""
    padded = f" {normalise(name)} "
    return any(f" {normalise(c)} " in padded for c in cores)


def _acronym_inside(name: str, term: Term) -> bool:
    return any(len(a) >= 3 and a.isupper() and a in name for a in term.aliases)


def could_also_be_right(a: Term, b: Term) -> bool:
    """A kind-of relation either way, so a's definition may fit b (or b's fit a).

    Detected when one name contains the other's core ("Latent diffusion" / "Diffusion model")
    or acronym ("CycleGAN" / "GAN"), or one definition names the other term.
    """
    if normalise(a.name) == normalise(b.name):
        return True
    if _named_in(a.name, _cores(b)) or _named_in(b.name, _cores(a)):
        return True
    if _acronym_inside(a.name, b) or _acronym_inside(b.name, a):
        return True  # "CycleGAN" is a GAN
    return mentions(a.definition, b.aliases) or mentions(b.definition, a.aliases)


class Neighbours:
    """Plausible wrong answers for a term, ranked by embedding similarity of the glossary passages."""

    def __init__(self, material: Material, config: StudyConfig) -> None:
        self.terms = material.terms
        self.config = config
        vectors = material.vectors[[t.row for t in self.terms]] if self.terms else np.zeros((0, 1))
        self.similarity = vectors @ vectors.T
        self._ranked: dict[int, list[int]] = {}

    def ranked(self, i: int) -> list[int]:
        """Indices of the usable neighbours of term i, most plausible first."""
        if i not in self._ranked:
            c, term = self.config, self.terms[i]
            related = {normalise(r) for r in term.related}
            scores = self.similarity[i].astype("float64")
            bonus = [c.same_topic_bonus * (o.topic == term.topic) + c.related_bonus * (normalise(o.name) in related)
                     for o in self.terms]
            order = sorted(range(len(self.terms)), key=lambda j: (-(scores[j] + bonus[j]), self.terms[j].name))
            self._ranked[i] = [j for j in order if j != i and self.similarity[i, j] < c.max_distractor_similarity
                               and self.terms[j].share <= c.distractor_max_share
                               and not could_also_be_right(term, self.terms[j])]
        return self._ranked[i]

    def pick(self, i: int, k: int, rng: random.Random, taken: set[str]) -> list[Term]:
        """k neighbours, drawn by the seed from the k+2 most plausible; no two share a name or a definition."""
        ranked = [self.terms[j] for j in self.ranked(i)]
        window = ranked[: k + 2]
        rng.shuffle(window)
        chosen: list[Term] = []
        for cand in window + ranked[k + 2:]:
            keys = {normalise(cand.name), normalise(cand.first_sentence)}
            if keys & taken:
                continue
            chosen.append(cand)
            taken |= keys
            if len(chosen) == k:
                break
        return chosen


# ---------------------------------------------------------------- item makers


def _mcq(term: Term, neighbours: list[Term], rng: random.Random, to_definition: bool) -> QuizQuestion:
    if to_definition:
        question = f'Which definition fits "{term.name}"?'
        correct, wrong = term.first_sentence, [n.first_sentence for n in neighbours]
    else:
        question = f"Which term matches this definition? {masked_definition(term)}"
        correct, wrong = term.name, [n.name for n in neighbours]
    options = [correct, *wrong]
    rng.shuffle(options)
    return QuizQuestion(MCQ, question, options, options.index(correct), correct, gloss(term), term.citation,
                        term.topic, term.name, term.first_sentence)


def _true_false(term: Term, neighbour: Term | None) -> QuizQuestion:
    owner = neighbour or term
    question = f'True or false: "{owner.first_sentence}" describes {term.name}.'
    truth = neighbour is None
    # when false, the explanation says whose definition it is: the sentence the cited passage supports
    return QuizQuestion(TRUE_FALSE, question, ["True", "False"], 0 if truth else 1, "True" if truth else "False",
                        gloss(owner), owner.citation, term.topic, term.name, owner.first_sentence)


def _name_the_term(term: Term) -> QuizQuestion:
    return QuizQuestion(SHORT, f"Name the term: {masked_definition(term)}", [], None, term.name, gloss(term),
                        term.citation, term.topic, term.name, term.first_sentence, list(term.aliases))


def _fill_blank(fact: Fact) -> QuizQuestion:
    return QuizQuestion(SHORT, f"Fill in the blank: {fact.cloze}", [], None, fact.answer, fact.sentence,
                        fact.citation, fact.topic, fact.citation.section, fact.sentence, list(fact.aliases))


# ---------------------------------------------------------------- the quiz


def _plan(n: int, n_terms: int, config: StudyConfig) -> list[str]:
    """Kinds for the glossary-based items: mostly multiple choice, a share of true/false and name-the-term."""
    k = min(n, n_terms)
    tf = round(k * config.tf_share)
    short = round(k * config.short_share)
    return [TRUE_FALSE] * tf + [SHORT] * short + [MCQ] * (k - tf - short)


def generate_quiz(material: Material, topic: str | None = None, n: int | None = None, seed: int = 0,
                  config: StudyConfig | None = None) -> list[QuizQuestion]:
    """Up to ``n`` questions on ``topic`` (None: the whole course); the same seed gives the same quiz.

    Fewer questions come back when the topic has less material than asked for.
    """
    config = config or StudyConfig()
    n = max(1, min(n or config.quiz_questions, config.max_quiz_questions))
    rng = random.Random(f"{seed}:{topic}:{n}")
    neighbours = Neighbours(material, config)
    index_of = {id(t): i for i, t in enumerate(material.terms)}
    terms = material.terms_for(topic)
    rng.shuffle(terms)
    facts = material.facts_for(topic)
    rng.shuffle(facts)

    fill = min(round(n * config.fill_share), len(facts))  # slots kept for fill-in-the-blank facts
    kinds = _plan(n - fill, len(terms), config)
    rng.shuffle(kinds)
    questions: list[QuizQuestion] = []
    used: set[str] = set()
    for term, kind in zip(terms, kinds):
        i = index_of[id(term)]
        if kind == SHORT:
            questions.append(_name_the_term(term))
        elif kind == TRUE_FALSE:
            wrong = neighbours.pick(i, 1, rng, {normalise(term.name), normalise(term.first_sentence)})
            questions.append(_true_false(term, wrong[0] if wrong and rng.random() < 0.5 else None))
        else:
            picked = neighbours.pick(i, config.distractors, rng,
                                     {normalise(term.name), normalise(term.first_sentence)})
            if len(picked) < config.distractors:
                continue
            questions.append(_mcq(term, picked, rng, to_definition=rng.random() < 0.5))
        used.update(normalise(a) for a in term.aliases)
    fresh = [f for f in facts if not {normalise(a) for a in (f.answer, *f.aliases)} & used]
    # facts fill the kept slots and any the glossary could not; facts about a term already
    # asked come last, so a small topic still fills its quiz
    for fact in fresh + [f for f in facts if f not in fresh]:
        if len(questions) >= n:
            break
        questions.append(_fill_blank(fact))
    questions = questions[:n]
    rng.shuffle(questions)
    return questions

