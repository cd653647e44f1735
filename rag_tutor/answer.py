"""ask(): retrieve -> choose sentences or prompt and generate (streamed) -> verify citations -> Answer.

The prompt lives in ``prompts.py`` and the candidate sentences' helpers in ``candidates.py``. Generation is plain
code (``generator.py``) so that streaming, timings and the citation check stay visible.
"""

from __future__ import annotations

import math
import re
import time
from functools import cached_property
from dataclasses import asdict, dataclass, field
from typing import Iterator

import numpy as np

from .asks import WHO_WHEN, answer_shape, gives_amount, has_shape
from .candidates import (Candidate, Chosen, about_a_variant, ended, formula_sentence, informative, list_blocks,
                         list_sentence, reading_entry)
from .citations import (SupportChecker, cited_numbers, cut_run_on, repetitive, split_sentences, strip_citations,
                        with_marks)
from .config import Settings
from .index import keyword_tokens
from .query import Query, may_be_confident, too_far
from .matcher import Matcher, matcher_for
from .prompts import DECLINE, RECAP_PROMPT, Context, build_messages
from .reader import Reader, read_text, reader_for
from .retrieval import Passage, Retriever, RetrievalResult
from .rankers import SENTENCE_FEATURES, SENTENCE_WEIGHTS, LinearRanker, names_a_term, sentence_features

NOT_ANSWERED = "The course material doesn't seem to answer this directly."
NO_NUMBER = "The course material doesn't give that number."
CLOSEST = "The closest it comes:"
RECAP_LEAD = "In short: "


@dataclass
class Citation:
    n: int  # the number shown in the answer text
    source: str
    title: str
    section: str
    text: str  # the whole cited passage
    chunk_id: str = ""
    support: float = 0.0  # support score of the weakest sentence citing it
    quote: str = ""  # the passage sentence closest to the claim, for highlighting
    # for each answer sentence citing it, in the answer's order: the passage sentence closest to that sentence
    quotes: list[str] = field(default_factory=list)


@dataclass
class Answer:
    question: str
    answer: str
    declined: bool
    citations: list[Citation]
    passages: list[Passage]
    timings: dict = field(default_factory=dict)
    mode: str = "generated"  # generated | extractive | declined
    raw: str = ""  # what the model wrote, before verification
    notices: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)  # closest topics when declined
    prompt_sources: list[str] = field(default_factory=list)  # chunk ids of the model's sources [1]..[n], in order
    recap: str = ""  # the model's one-sentence recap, when the selector wrote the answer and the recap passed

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passages"] = [p.to_dict() for p in self.passages]
        return d




def unanswered(best: float | None, settings: Settings, foreign_share: float = 0.0, no_number: bool = False) -> bool:
    """decline_unanswered: no candidate sentence is more likely than not to answer the question (the sentence
    ranker's best log-odds ``best`` below ``answer_min_score``). None: no ranker, so no such judgement; nor when
    most of the question's words are words no document uses (``foreign_share``, as in a question in another
    language): the ranker's features compare the question's words with the sentence's, and cannot read it.
    Also when the question asks for an amount and no chosen sentence gives a number (``no_number``)."""
    if not settings.decline_unanswered:
        return False
    return no_number or (best is not None and best < settings.answer_min_score and foreign_share < 0.5)


def joined_names(names: list[str], question: str) -> list[str]:
    """Names written next to each other in the question read as one ("Grand Canyon", not "Grand or Canyon")."""
    out: list[str] = []
    for name in names:
        if out and re.search(rf"\b{re.escape(out[-1])}\s+{re.escape(name)}\b", question):
            out[-1] = f"{out[-1]} {name}"
        else:
            out.append(name)
    return out


@dataclass
class Checked:
    """A model sentence that passed the check, with (context, support score, closest passage sentence) for each
    passage that supports it."""

    claim: str
    checks: list[tuple[Context, float, str]]


class Numbering:
    """Citation numbers 1..m in the order the checked sentences first cite their passages."""

    def __init__(self) -> None:
        self._by_context: dict[int, Citation] = {}

    def render(self, checked: Checked) -> str:
        marks = []
        for ctx, score, quote in checked.checks:
            if ctx.n not in self._by_context:
                p = ctx.passage
                self._by_context[ctx.n] = Citation(len(self._by_context) + 1, p.source, p.title, p.section, p.text,
                                                   p.chunk_id, score, quote)
            cit = self._by_context[ctx.n]
            cit.support = min(cit.support, score)
            cit.quotes.append(quote)
            marks.append(f"[{cit.n}]")
        return with_marks(checked.claim, "".join(dict.fromkeys(marks)))  # a passage quoted twice is cited once

    @property
    def citations(self) -> list[Citation]:
        return list(self._by_context.values())


def cited(chosen: list[Chosen], numbering: Numbering) -> str:
    """The selector's sentences, each with its passage's citation mark (once) and each of its quotes."""
    return " ".join(numbering.render(Checked(c.sentence, [(c.context, 1.0, q) for q in c.quotes])) for c in chosen)


def finished_sentences(text: str) -> list[str]:
    """The sentences of a text still being written, but the one in progress: a sentence is finished once words
    of the next follow it (a bare "[2" after its full stop may still belong to it)."""
    sentences = [s for s in split_sentences(text) if strip_citations(s)]
    if len(sentences) > 1 and not re.search(r"[A-Za-z]{2}", strip_citations(sentences[-1])):
        return sentences[:-2]
    return sentences[:-1]


def who_when_lead(scored: list[tuple[float, Candidate]], query: Query, settings: Settings
                  ) -> list[tuple[float, Candidate]]:
    """The selector's order (log-odds, candidate) with a who/when question's first sentence put right. Not one about
    a variant of a term it names (rule variants_not_first, ``about_a_variant``: "DCGAN (2015)..." for "Who proposed
    the GAN?"): the first candidate with the shape asked for that is not leads. Nor one without that shape, no name
    or no year (rule shaped_first: "PPO: Proximal Policy Optimization: a reinforcement-learning algorithm..." for
    "Who proposed PPO?"): the first with it that names a term the question names leads, if the sentence ranker thinks
    it may answer (``answer_extra_min_score``, the bar for any sentence besides the best)."""
    asked = query.search_text or query.text  # with the earlier turns for a follow-up

    def variant(c: Candidate) -> bool:
        return settings.variants_not_first and any(about_a_variant(c.chosen.sentence, term, asked)
                                                   for term in query.course_terms)

    def names_the_term(c: Candidate) -> bool:
        return not query.course_terms or names_a_term(c.chosen.sentence, query.course_terms)

    first = scored[0][1]
    if variant(first):
        floor, wanted = -math.inf, (lambda c: True)
    elif first.shaped or not settings.shaped_first:
        return scored
    else:
        floor, wanted = settings.answer_extra_min_score, names_the_term
    lead = next((t for t in scored if t[1].shaped and not variant(t[1]) and wanted(t[1]) and t[0] >= floor), None)
    return scored if lead is None else [lead] + [t for t in scored if t is not lead]


class AnswerStream:
    """Iterate for the streamed text; ``.answer`` holds the verified Answer once iteration ends."""

    def __init__(self, pieces: Iterator[str]) -> None:
        self._pieces = pieces
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        yield from self._pieces


class Tutor:
    """Retrieval, the generator and the citation checker, loaded once and shared by CLI and UI."""

    def __init__(self, settings: Settings, retriever: Retriever | None = None, use_adapter: bool = True) -> None:
        self.settings = settings
        self.retriever = retriever or Retriever.load(settings)
        self.checker = SupportChecker.for_index(self.retriever.embedder, self.retriever.index)
        self.use_adapter = use_adapter
        self._generator = None

    @property
    def uses_model(self) -> bool:
        """Whether answers run the language model: when it writes them, or writes the selector's recap."""
        s = self.settings
        return s.generate and (s.writer == "model" or s.recap)

    @property
    def generator(self):
        if self._generator is None:
            from .generator import load_generator

            self._generator = load_generator(self.settings, self.use_adapter)
        return self._generator

    # ------------------------------------------------------------ context

    def retrieve(self, question: Query | str, history: list[str] | None = None) -> RetrievalResult:
        """The k passages an answer draws on: the retriever's, the same `rag-tutor retrieve` shows."""
        return self.retriever.retrieve(question, self.settings.k, history)

    def contexts(self, result: RetrievalResult) -> list[Context]:
        """The first passages in retrieval order, numbered 1..n, each cut to its sentences closest to the question.

        Sentences about the course itself ("This lesson explains...") are left out: they match a
        question's words and answer nothing. (Ordering passages by their closest sentence instead
        of by retrieval rank was tried: the answer was in source [1] for 20 of 30 dev questions,
        against 23 in retrieval order.)

        Putting the lessons' passages before glossary entries for questions that do not ask "what is X"
        was tried too: the answer reached source [1] more often (held-out: 49 of 60 instead of 44), but the
        model's answers got worse (held-out accuracy 0.583 -> 0.517): a glossary entry that ranks first is
        usually more on point than the lesson passages below it. What did help is narrower (``retrieve``): only
        why/how/weakness/comparison questions, and the glossary entries left out rather than moved down.
        """
        s = self.settings
        qvec = self.retriever.query_vector(result.search_text)
        out: list[Context] = []
        for passage in result.passages:
            if len(out) == s.context_passages:
                break
            best = (self.closest(result.search_text, qvec, passage.text, s.context_sentences, informative)
                    or self.closest(result.search_text, qvec, passage.text, s.context_sentences))
            excerpt = " ".join(ended(sent) for _, _, sent in sorted(best, key=lambda t: t[1]))
            out.append(Context(len(out) + 1, passage, excerpt, best[0][0]))
        return out

    def closest(self, text: str, qvec: np.ndarray, passage: str, n: int, keep=None) -> list[tuple[float, int, str]]:
        """The n sentences of a passage closest to the question, as (score, position, sentence), best first.

        The score is MiniLM's cosine; with the second stage on (settings.rerank), blended with e5's cosine, which is
        first mapped onto MiniLM's mean and spread within the passage so that scores of different passages stay
        comparable and the shape bonus and rank penalty of ``extractive`` keep their meaning.
        """
        candidates = self.checker.closest_sentences(qvec, passage, 10_000, keep)
        weight, reranker = self.settings.sentence_rerank_weight, self.retriever.reranker
        if reranker is None or weight <= 0 or len(candidates) < 2:
            return candidates[:n]
        mini = np.array([c[0] for c in candidates])
        e5 = reranker.similarities(text, [c[2] for c in candidates]).astype("float64")
        mapped = mini.mean() + (e5 - e5.mean()) * (mini.std() / (e5.std() or 1.0))
        blended = (1 - weight) * mini + weight * mapped
        return sorted(((float(b), pos, sent) for b, (_, pos, sent) in zip(blended, candidates)),
                      key=lambda t: -t[0])[:n]

    # ------------------------------------------------------------ verification

    def check(self, sentence: str, contexts: list[Context]) -> Checked | None:
        """One sentence of the model's, with the passages that support it (its own citations if they do, else the
        best-supporting passage); None if no passage supports it, or it is a decline or a loop."""
        threshold = self.settings.support_threshold
        by_n = {c.n: c for c in contexts}
        claim = cut_run_on(strip_citations(sentence))
        if not claim or claim.rstrip(".") == DECLINE.rstrip(".") or repetitive(claim):
            return None
        checks = []
        for n in cited_numbers(sentence):
            if n in by_n:  # a number that points past the sources is dropped outright
                sup = self.checker.support(claim, by_n[n].passage.text)
                if sup.score >= threshold:
                    checks.append((by_n[n], sup.score, sup.best_sentence))
        if not checks:  # uncited or wrongly cited: attach the best-supporting passage, if any
            best = max(((c, self.checker.support(claim, c.passage.text)) for c in contexts),
                       key=lambda t: t[1].score, default=None)
            if best and best[1].score >= threshold:
                checks.append((best[0], best[1].score, best[1].best_sentence))
        return Checked(claim, checks) if checks else None

    def verify(self, raw: str, contexts: list[Context]) -> tuple[str, list[Citation], float]:
        """Keep supported sentences with their supporting citations; renumber them 1..m.

        Returns (text, citations, share of the model's sentences that survived).
        """
        sentences = [s for s in split_sentences(raw) if strip_citations(s)]
        numbering = Numbering()
        parts = [numbering.render(c) for c in (self.check(s, contexts) for s in sentences) if c]
        share = len(parts) / len(sentences) if sentences else 0.0
        return " ".join(parts), numbering.citations, share

    def candidates(self, query: Query, contexts: list[Context]) -> list[Candidate]:
        """The sentences an answer may be made of, from the first ``answer_passages`` passages (the
        ``extract_candidates`` closest to the question in each; 0: all of them), with their cosine to the question.
        A list's lead-in ("Several factors drove this:") is a candidate too, scored as itself and shown with its
        items as one sentence, if that sentence has at most ``answer_list_words`` words; a list item that is no
        sentence of its own reads with its lead-in."""
        s = self.settings
        qvec = self.retriever.query_vector(query.plain)
        shape = answer_shape(query, s)
        ordinary = self.retriever.vocabulary.ordinary if s.person_names_only else frozenset()
        out: list[Candidate] = []
        for ctx in contexts[:s.answer_passages]:
            sents, vecs = self.checker.sentence_vectors(ctx.passage.text)
            blocks = list_blocks(ctx.passage.text, sents) if s.answer_list_words else {}
            lead_of = {j: i for i, items in blocks.items() for j in items}
            found = [(sim, pos, sent, (sent,)) for sim, pos, sent in
                     self.closest(query.plain, qvec, ctx.passage.text, s.extract_candidates or len(sents),
                                  informative)]
            explained: set[int] = set()
            for sim, pos, _ in self.closest(query.plain, qvec, ctx.passage.text, len(sents)):
                if pos in blocks:  # a list's lead-in says what the list is about: it stands for the list, shown whole
                    parts = (sents[pos], *(sents[j] for j in blocks[pos]))
                    whole = list_sentence(parts[0], list(parts[1:]))
                    if len(whole.split()) <= s.answer_list_words:
                        found.append((sim, pos, whole, parts))
                elif s.formulas_explained and (joined := formula_sentence(sents, pos)):
                    found.append((sim, pos, *joined))  # "where beta controls ...", read with its formula
                    explained.add(pos - 1)
            # a formula explained by the line after it is a candidate only as part of that sentence
            found = [f for f in found if f[1] not in explained or len(f[3]) > 1]
            for sim, pos, sent, quotes in found:
                if pos in lead_of and quotes == (sents[pos],) and not sent[:1].isupper():
                    # an item that is no sentence of its own ("a text prompt for a language model") reads whole
                    # with its lead-in
                    quotes = (sents[lead_of[pos]], sent)
                    sent = list_sentence(quotes[0], [sent])
                if len(sent.split()) >= 4:
                    out.append(Candidate(float(sim), Chosen(ctx, sent, quotes), pos, vecs[pos],
                                         (ctx.n, lead_of.get(pos, pos)),
                                         has_shape(shape, sent, ordinary)))
        return out

    def hand_score(self, candidate: Candidate) -> float:
        """The score without the learned ranker: the cosine, ``answer_shape_bonus`` for the shape the question asks
        for (a year for "when", a name for "who"), a small penalty for a lower-ranked passage."""
        bonus = self.settings.answer_shape_bonus if candidate.shaped else 0.0
        return candidate.similarity - 0.03 * (candidate.chosen.context.n - 1) + bonus

    @cached_property
    def ranker(self) -> LinearRanker | None:
        """The learned sentence ranker (rankers.py), when the rule is on and its weights ship."""
        if not self.settings.learned_sentence_ranker:
            return None
        return LinearRanker.load(SENTENCE_WEIGHTS, SENTENCE_FEATURES)

    @cached_property
    def matcher(self) -> Matcher | None:
        """The matcher (matcher.py) when the rule ``learned_matcher`` is on and its adapter ships."""
        return matcher_for(self.settings)

    def scored_text(self, candidate: Candidate) -> str:
        """The passage sentence a candidate's cosine is taken on: itself, or for a list shown whole its lead-in, and
        for a list item shown with its lead-in the item."""
        return self.checker.sentence_vectors(candidate.chosen.context.passage.text)[0][candidate.position]

    def matched(self, query: Query, candidates: list[Candidate], matcher: Matcher | None = None) -> list[float]:
        """Each candidate's cosine by ``matcher`` (else the tutor's own); without one, MiniLM's (the feature it
        refines)."""
        matcher = matcher or self.matcher
        if matcher is None:
            return [c.similarity for c in candidates]
        texts = [self.scored_text(c) for c in candidates]
        return [float(v) for v in matcher.similarities(query.plain, texts)]

    def feature_rows(self, query: Query, candidates: list[Candidate],
                     matched: list[float] | None = None) -> list[list[float]]:
        """The learned sentence ranker's features of each candidate (``matched``: the matcher's cosines, given when
        training the ranker on cosines of matchers that did not see the question)."""
        best = max((c.similarity for c in candidates), default=0.0)
        asked = set(keyword_tokens(query.plain))
        rarity = self.retriever.keyword_rarity
        matched = self.matched(query, candidates) if matched is None else matched
        best_matched = max(matched, default=0.0)
        top_passage = max((c.chosen.context.passage.score for c in candidates), default=0.0)
        return [sentence_features(query, asked, c, best, rarity, keyword_tokens, m, best_matched, top_passage)
                for c, m in zip(candidates, matched)]

    def scores(self, query: Query, candidates: list[Candidate]) -> list[float]:
        """Each candidate's score: the learned ranker's (learned_sentence_ranker), else ``hand_score``."""
        if self.ranker is not None:
            return [float(v) for v in self.ranker.scores(self.feature_rows(query, candidates))]
        return [self.hand_score(c) for c in candidates]

    @cached_property
    def reader(self) -> Reader | None:
        """The reader (reader.py) when the rule ``learned_reader`` is on and its adapter ships."""
        return reader_for(self.settings)

    def order_keys(self, query: Query, candidates: list[Candidate], scores: list[float]) -> list[float]:
        """What the selector orders the candidates by: their ``scores``, plus ``reader_weight`` times the reader's
        score when there is a reader. Only the order: whether to answer is judged on ``scores`` alone."""
        if self.reader is None or not candidates:
            return list(scores)
        read = self.reader.scores(query.plain, [read_text(c.chosen.context.passage.section, c.chosen.sentence)
                                                for c in candidates])
        return [score + self.settings.reader_weight * float(r) for score, r in zip(scores, read)]

    def select(self, query: Query, contexts: list[Context], n_sentences: int = 3) -> list[Chosen]:
        return self.selection(query, contexts, n_sentences)[0]

    def selection(self, query: Query, contexts: list[Context], n_sentences: int = 3) -> tuple[list[Chosen], float | None]:
        """The answer sentences the selector chooses among ``candidates`` (``scores``): the best-scored first, the others in
        reading order, each only if the learned ranker scores it at least ``answer_extra_min_score`` and at most
        ``answer_extra_within`` below the best candidate. A sentence that repeats one already chosen
        (``answer_duplicate_cosine``) is passed over, and so is a list's item beside its list. Also the best
        candidate's score, which ``unanswered`` judges (None without the learned ranker)."""
        s = self.settings
        candidates = self.candidates(query, contexts)
        scores = self.scores(query, candidates)
        scored = sorted(zip(scores, candidates, self.order_keys(query, candidates, scores)), key=lambda t: -t[2])
        scored = [(score, c) for score, c, _ in scored]
        if s.reading_entries_for_sources and not query.asks_sources:
            # a reading list's entry answers "which paper...?", and explains nothing else
            scored = [t for t in scored if not reading_entry(t[1].chosen.sentence)] or scored
        if query.asks in WHO_WHEN and scored:
            scored = who_when_lead(scored, query, s)
        # the best log-odds, before the entry below is put first (the reader may order another candidate first)
        best = max(t[0] for t in scored) if scored and self.ranker is not None else None
        if query.defined_entry is not None and query.asks == "definition":
            # definition_entry_first: "What's a GAN?" opens with the GAN's entry, not the entry of a GAN variant
            entry_id = self.retriever.index.chunks[query.defined_entry].id
            entry = next((t for t in scored if t[1].chosen.context.passage.chunk_id == entry_id), None)
            if entry is not None:
                scored = [entry] + [t for t in scored if t is not entry]

        def may_join(score: float) -> bool:  # a sentence besides the best: only one the ranker thinks may answer,
            # and nearly as likely as the best to (answer_extra_within)
            return best is None or (score >= s.answer_extra_min_score and score >= best - s.answer_extra_within)

        chosen = [c for _, c in scored[:1]]
        if chosen and s.items_with_their_list:
            # items_with_their_list: a list's item that comes first is shown with the whole list when that is a
            # candidate too ("What are the main forms of X?": the list, not one item)
            item = chosen[0]
            whole = next((c for score, c in scored if c.group == item.group and len(c.chosen.quotes) > 1
                          and set(item.chosen.quotes) < set(c.chosen.quotes)
                          and may_join(score)), None)
            if whole is not None:
                chosen = [whole]
        for score, extra in scored[1:]:
            if len(chosen) == n_sentences or not may_join(score):
                break
            # the same fact twice (a glossary entry and the lesson often word it alike) teaches nothing more, and
            # nor does a list's item beside the list, or two items each with the same lead-in
            if (max(float(extra.vector @ c.vector) for c in chosen) < s.answer_duplicate_cosine
                    and extra.group not in {c.group for c in chosen}):
                chosen.append(extra)
        chosen = chosen[:1] + sorted(chosen[1:], key=lambda c: (c.chosen.context.n, c.position))
        return [c.chosen for c in chosen], best

    def extractive(self, query: Query, contexts: list[Context]) -> tuple[str, list[Citation]]:
        """The selector's sentences, each cited: the fallback when the model's own sentences all fail the check."""
        numbering = Numbering()
        return cited(self.select(query, contexts), numbering), numbering.citations

    def recap(self, raw: str, query: Query, shown: list[str], contexts: list[Context]) -> Checked | None:
        """The model's recap sentence, if it passes: supported by a passage (``check``), at most ``recap_max_words``
        words, every word found in the sources or the question (a 135M model misspells and invents words), not a
        question, and not a copy of the question or of a sentence already shown."""
        s = self.settings
        sentences = [x for x in split_sentences(raw) if strip_citations(x)]
        if not sentences:
            return None
        checked = self.check(sentences[0], contexts)
        if checked is None:
            return None
        claim = checked.claim.strip()
        if claim.endswith("?") or len(claim.split()) > s.recap_max_words:
            return None
        known = set(keyword_tokens(" ".join(c.passage.text for c in contexts) + " " + query.text))
        if any(w not in known for w in keyword_tokens(claim)):  # stemmed: "learns" is known from "learn"
            return None
        embed = self.retriever.embedder.embed_query
        vec = embed(claim)
        if any(float(vec @ embed(other)) >= s.recap_max_overlap for other in [query.text, *shown]):
            return None
        return checked

    # ------------------------------------------------------------ the public calls

    def decline(self, question: str, result: RetrievalResult, timings: dict, unknown: list[str] = (),
                why: str = DECLINE, closest: list[Chosen] = ()) -> Answer:
        """Not answered, with the closest topics. ``why``: DECLINE (nothing close, or a name no document mentions),
        or NOT_ANSWERED / NO_NUMBER (passages are close, or a little too far, but no sentence of them is judged to
        answer: ``unanswered``, ``too_far`` with the ranker's score); then ``closest``, the sentence that comes
        nearest, is shown with its citation: the judgement can be wrong, and the learner can read the passage and
        decide."""
        topics: list[str] = []
        for p in result.passages:
            if p.title not in topics and p.topic != "glossary":
                topics.append(p.title)
        topics = topics[:3]
        text = why
        if unknown:
            unknown = joined_names(unknown, question)
            named = ", ".join(unknown[:-1]) + (" or " if len(unknown) > 1 else "") + unknown[-1]
            text += f" It never mentions {named}."
        numbering = Numbering()
        if closest:
            text += f" {CLOSEST} " + cited(list(closest), numbering)
        if topics:
            text += " The closest topics in the course are: " + "; ".join(topics) + "."
        return Answer(question, text, True, numbering.citations, result.passages, timings, "declined",
                      notices=result.notices, suggestions=topics)

    def stream(self, question: str, history: list[str] | None = None) -> AnswerStream:
        """Stream the model's text as it is generated; the verified Answer is on ``.answer`` at the end."""
        stream = AnswerStream(iter(()))
        stream._pieces = self._run(question, history or [], stream)
        return stream

    def ask(self, question: str, history: list[str] | None = None) -> Answer:
        stream = self.stream(question, history)
        for _ in stream:
            pass
        return stream.answer

    def _selected(self, query: Query, chosen: list[Chosen], result: RetrievalResult, contexts: list[Context],
                  timings: dict, started: float, out: AnswerStream) -> Iterator[str]:
        """The selector's answer, shown at once; then the model's recap, shown only once it has passed."""
        from .generator import GenerationStats

        s = self.settings
        numbering = Numbering()
        text = cited(chosen, numbering)
        timings["first_token_s"] = time.perf_counter() - started
        yield text
        raw, recap, mode = "", "", "selected" if s.generate else "extractive"
        if self.uses_model and chosen:
            picked = {}
            for c in chosen:  # the model sees only the chosen sentences, under their passages' numbers
                picked.setdefault(c.context.n, (c.context, []))[1].append(ended(c.sentence))
            sources = [Context(n, ctx.passage, " ".join(sents), ctx.relevance) for n, (ctx, sents) in sorted(picked.items())]
            stats = GenerationStats()
            raw = "".join(self.generator.stream(build_messages(query.asked, query.history, sources, RECAP_PROMPT),
                                                stats, s.with_overrides(max_new_tokens=s.recap_tokens))).strip()
            timings["new_tokens"] = stats.new_tokens
            timings["model_first_token_s"] = stats.first_token_s
            checked = self.recap(raw, query, [c.sentence for c in chosen], sources)
            if checked:
                recap = RECAP_LEAD + numbering.render(checked)
                text = f"{text} {recap}"
                yield " " + recap
        timings["total_s"] = time.perf_counter() - started
        out.answer = Answer(query.text, text, False, numbering.citations, result.passages, timings, mode, raw,
                            result.notices, prompt_sources=[c.passage.chunk_id for c in contexts],
                            recap=recap)

    def _run(self, question: str, history: list[str], out: AnswerStream) -> Iterator[str]:
        from .generator import GenerationStats

        s = self.settings
        started = time.perf_counter()
        query = self.retriever.understand(question, history)  # raises on an empty question
        question = query.text
        result = self.retrieve(query)
        query = result.query  # a question too weak alone may have been taken as a follow-up
        timings = {"retrieve_s": time.perf_counter() - started, "first_token_s": None, "total_s": None,
                   "new_tokens": 0}
        # decline_unknown_names: a question naming something no document mentions ("Can I use PEFT with JAX?") is
        # declined even when the rest of it is close to the material: the passages would answer a question it did
        # not ask. Only when the names weigh in the question: a long scenario may name its setting in passing.
        words = len(keyword_tokens(question)) or 1
        unknown = (query.unknown_names if s.decline_unknown_names
                   and s.unknown_name_share <= len(query.unknown_names) / words else [])
        far = too_far(query, result.top_similarity, s)
        if unknown or (far and not may_be_confident(result.top_similarity, s)):
            timings["total_s"] = time.perf_counter() - started
            out.answer = self.decline(question, result, timings, unknown)
            yield out.answer.answer
            return
        contexts = self.contexts(result)
        chosen, best = self.selection(query, contexts)
        if query.unnamed_kind:
            # decline_unnamed_kinds: a neighbour of what the course teaches ("<a word it never uses> sampling"): the
            # passages on its kind would answer another question. The nearest sentence is shown all the same.
            timings["total_s"] = time.perf_counter() - started
            out.answer = self.decline(question, result, timings, [query.unnamed_kind], closest=chosen[:1])
            yield out.answer.answer
            return
        # confident_answers: a question a little too far stays declined unless the ranker is sure enough
        still_far = far and too_far(query, result.top_similarity, s, best)
        no_number = query.asks_number and not any(gives_amount(c.sentence, query) for c in chosen)
        if still_far or unanswered(best, s, query.foreign_share, no_number):
            timings["total_s"] = time.perf_counter() - started
            # Either way the sentence that comes nearest is shown, cited: a question only a little too far by
            # cosine is often a course question in everyday words, and its nearest sentence often answers it.
            out.answer = self.decline(question, result, timings, closest=chosen[:1],
                                      why=NOT_ANSWERED if still_far or not no_number else NO_NUMBER)
            yield out.answer.answer
            return
        if s.writer == "selector" or not s.generate:
            yield from self._selected(query, chosen, result, contexts, timings, started, out)
            return
        # A follow-up reaches the model with its pronoun resolved ("Who introduced a VAE?"): a 135M model
        # cannot be relied on to look back at the earlier question by itself.
        messages = build_messages(query.asked, query.history, contexts)
        # Each sentence is shown once it is finished and checked against its passage, with its final citation
        # number: what the learner reads is never taken back. If none passes, nothing was shown, and the answer is
        # a decline or the extractive one.
        stats = GenerationStats()
        raw_parts: list[str] = []
        numbering, shown, seen = Numbering(), [], 0

        def newly_checked(sentences: list[str]) -> Iterator[str]:
            nonlocal seen
            for sentence in sentences[seen:]:
                seen += 1
                checked = self.check(sentence, contexts)
                if checked:
                    shown.append(numbering.render(checked))
                    if timings["first_token_s"] is None:
                        timings["first_token_s"] = time.perf_counter() - started
                    yield (" " if len(shown) > 1 else "") + shown[-1]

        for piece in (self.generator.stream(messages, stats, s) if s.generate else ()):
            raw_parts.append(piece)
            yield from newly_checked(finished_sentences("".join(raw_parts)))
        raw = "".join(raw_parts).strip()
        sentences = [x for x in split_sentences(raw) if strip_citations(x)]
        yield from newly_checked(sentences)
        timings["new_tokens"] = stats.new_tokens
        timings["model_first_token_s"] = stats.first_token_s
        text, citations, mode = " ".join(shown), numbering.citations, "generated"
        if not shown:
            model_declined = DECLINE.lower().rstrip(".") in raw.lower()
            closest = max((c.relevance for c in contexts), default=0.0)
            # The model's own "not covered" is trusted only when no passage or sentence is close.
            if (model_declined and result.top_similarity < s.trust_decline_below
                    and closest < s.trust_decline_sentence):
                out.answer = self.decline(question, result, timings)
                out.answer.raw = raw
                timings["total_s"] = time.perf_counter() - started
                yield out.answer.answer
                return
            # A decline despite close passages is the small model's error (it over-declines unfamiliar
            # question forms): the extractive answer is grounded either way.
            text, citations = self.extractive(query, contexts)
            mode = "extractive"
            timings["first_token_s"] = time.perf_counter() - started
            yield text
        timings["total_s"] = time.perf_counter() - started
        out.answer = Answer(question, text, False, citations, result.passages, timings, mode, raw, result.notices,
                            prompt_sources=[c.passage.chunk_id for c in contexts])
