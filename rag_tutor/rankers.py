"""The learned second stage: which passages come first, and which of their sentences answer.

Two linear scores over a few properties of a passage (``PASSAGE_FEATURES``) or a sentence (``SENTENCE_FEATURES``) and
the question, trained on question sets whose answers are known: a passage or a candidate sentence is a positive when
it contains one of the question's answers. The passage ranker is a logistic regression (``fit``). The sentence ranker
learns which of a question's candidates to put first (``fit_listwise``: a softmax over each question's candidates),
then calibrates that score into log-odds; with it came the feature ``passage_behind``. On the sets none of the weights
was trained on this answered more: with everything else the same, 563 instead of 558 of 650 in-scope questions right
(154 instead of 143 of 225 in everyday wording), with 17 instead of 24 course questions declined and 158 instead of
162 of 188 out-of-scope ones (2026-12-06; bench/HISTORY.md). Their weights are small JSON files shipped with the
package (``ranker_weights/``); nothing in them names a question or a document, so they carry over to a changed corpus,
and ``python -m rag_tutor.rankers --questions FILE ...`` retrains both (on question sets written for that corpus, in
the format of ``bench/data``): the passage ranker first, since the sentences are chosen from its passages, and the
reader (reader.py) last, on the sentence ranker's training candidates.

Neither looks at a passage's or a sentence's length: a longer text holds an answer's words more often, and with
length the sentence ranker chose longer sentences (tune answers grew from a median of 67 to 77 words) without
choosing the answering one first more often.

Without its weights file (or with the rule ``learned_passage_ranker`` / ``learned_sentence_ranker`` off) each stage
falls back to the hand-set order: the fused dense and BM25 ranks for passages, and for sentences the cosine, a
shape bonus and a rank penalty (``answer.Tutor.hand_score``).
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import math
import pickle
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

import numpy as np

from .files import write_atomically
from .vocabulary import term_case

if TYPE_CHECKING:  # pragma: no cover
    from .candidates import Candidate
    from .query import Query

WEIGHTS_DIR = Path(__file__).with_name("ranker_weights")
PASSAGE_WEIGHTS = WEIGHTS_DIR / "passages.json"
SENTENCE_WEIGHTS = WEIGHTS_DIR / "sentences.json"
# The first stage's best passages the passage ranker orders (the rest stay below them). The shipped weights were
# fitted on pools of 12; a pool of 50 lets it lift an answering passage the first stage put 12th to 50th. Tuning sets
# (bench/answers.py, 15 sets, extractive): 12 -> 20 -> 30 -> 50 answered 564 -> 566 -> 568 -> 569 of the nine sets'
# 650 right (chains, wide, plain_check, whowhen; nothing lost), everyday2 and far unchanged; 100 the same as 50.
# Retrieval time unchanged (~20 ms median).
PASSAGE_CANDIDATES = 50
# The first stage's best passages the passage ranker learns from (passage_rows). Pools of 12, as the shipped weights
# were fitted: a retrain on today's training sets writes them back within 0.008 per weight, while a retrain on pools
# of 50 (the pool it orders) moved weights by up to 0.5 and answered 559 instead of 569 of the nine tuning sets' 650
# right (bench/HISTORY.md): many far passages teach it to tell apart what never reaches the top.
PASSAGE_TRAINING_POOL = 12

# A sentence giving a reason ("because", "so that") or a way ("by", "using"): only counted for a why/how question.
_CAUSE = re.compile(r"\b(because|since|so that|so|due to|therefore|which means|this is why|as a result|thus|lets|"
                    r"allows|makes)\b", re.I)
_MEANS = re.compile(r"\b(by|using|through|then|first|each step|iteratively)\b", re.I)

PASSAGE_FEATURES = (
    "log_fused_rank",      # log(1 + its rank in the first stage's fused ranking)
    "similarity",          # cosine between the question and the passage (MiniLM)
    "log_dense_rank",      # log(1 + its rank by that cosine)
    "bm25",                # its BM25 score over the question's best
    "log_bm25_rank",       # log(1 + its BM25 rank)
    "glossary",            # a glossary entry
    "best_sentence",       # cosine of its sentence closest to the question
    "second_sentence",     # ... and of the next closest
    "keyword_share",       # share of the question's keywords (stemmed, no stopwords) in the passage
    "rare_keyword_share",  # the same, each keyword weighted by its rarity in the corpus (idf)
    "heading_share",       # share of the question's keywords in the passage's title and section heading
    "explains_glossary",   # the question asks why/how and the passage is a glossary entry
    "defines_glossary",    # the question asks for a definition and the passage is a glossary entry
    "defined_entry",       # the glossary entry of the term a definition question asks for
)

SENTENCE_FEATURES = (
    "similarity",          # cosine between the question and the sentence (MiniLM)
    "behind_best",         # that cosine minus the best candidate's for this question
    "passage_rank",        # 0 for the first passage, 1 for the second...
    "shaped",              # has the shape asked for: a year for "when", a name for "who"
    "position",            # where the sentence sits in its passage, 0 (first) .. 1 (seventh or later)
    "glossary",            # it is from a glossary entry
    "keyword_share",       # share of the question's keywords in the sentence
    "names_term",          # it names a course term the question names
    "is_list",             # a list's lead-in shown with its items
    "reason_given",        # the question asks why/how and the sentence gives a reason
    "explains_glossary",   # the question asks why/how and the sentence is a glossary entry's
    "defines_glossary",    # the question asks for a definition and the sentence is a glossary entry's
    "means_given",         # the question asks why/how and the sentence says by what means
    "passage_best_gap",    # its passage's closest sentence's cosine minus this one's
    "rare_keyword_share",  # like keyword_share, each keyword weighted by its rarity in the corpus (idf)
    "has_digits",          # a number or a year
    "first_sentence",      # the first sentence of its passage
    "matched",             # the matcher's cosine (matcher.py: MiniLM tuned on questions with known answers)
    "matched_behind_best", # that cosine minus the best candidate's matcher cosine for this question
    "passage_behind",      # its passage's score minus the first passage's (the passage ranker's log-odds; >= -8)
)

Words = Callable[[str], list[str]]


def keyword_idf(texts: Sequence[frozenset[str]]) -> dict[str, float]:
    """Each keyword's rarity over the texts (each given as its set of keywords): log((n + 1) / (texts holding it +
    1))."""
    held: dict[str, int] = {}
    for words in texts:
        for word in words:
            held[word] = held.get(word, 0) + 1
    return {w: math.log((len(texts) + 1) / (k + 1)) for w, k in held.items()}


@dataclass
class Shared:
    """What the question shares with a text: the share of its keywords, and that share weighted by rarity."""

    share: float
    rare_share: float

    @classmethod
    def of(cls, asked: set[str], text_words: set[str], idf: Callable[[str], float]) -> "Shared":
        found = asked & text_words
        weight = sum(idf(w) for w in asked) or 1.0
        return cls(len(found) / max(1, len(asked)), sum(idf(w) for w in found) / weight)


def names_a_term(sentence: str, terms: Sequence[str]) -> bool:
    """Whether a sentence names one of the course terms ``terms`` as a word of its own, an abbreviation in its own
    capitals: "GANs were introduced in 2014" names GAN; "DCGAN", "began" and "VQ-VAE" name neither GAN nor VAE, and
    "on average" names no RAG. (A plain substring had counted all of these.)"""
    return any(re.search(rf"(?<![\w-]){re.escape(term)}s?\b", sentence, term_case(term))
               for term in terms)


def passage_features(query: Query, glossary: bool, fused_rank: int, similarity: float, dense_rank: int,
                     bm25: float, bm25_rank: int, sentence_cosines: Sequence[float], shared: Shared,
                     heading_share: float, defined: bool) -> list[float]:
    """The ``PASSAGE_FEATURES`` of one passage (``bm25``: its score over the best passage's)."""
    closest = sorted(sentence_cosines, reverse=True) or [similarity]
    return [
        math.log1p(fused_rank), similarity, math.log1p(dense_rank), bm25, math.log1p(bm25_rank), float(glossary),
        closest[0], closest[1] if len(closest) > 1 else closest[0], shared.share, shared.rare_share, heading_share,
        float(query.explains and glossary), float(query.asks == "definition" and glossary), float(defined),
    ]


def sentence_features(query: Query, asked: set[str], candidate: Candidate, best: float,
                      idf: Callable[[str], float], keywords: Words, matched: float,
                      best_matched: float, top_passage: float) -> list[float]:
    """The ``SENTENCE_FEATURES`` of one candidate (``asked``: the keywords of the searched text; ``best``: the best
    candidate's cosine for this question; ``matched`` / ``best_matched``: the same two by the matcher;
    ``top_passage``: the best ``Passage.score`` among the candidates' passages)."""
    sentence = candidate.chosen.sentence
    context = candidate.chosen.context
    shared = Shared.of(asked, set(keywords(sentence)), idf)
    glossary = context.passage.topic == "glossary"
    return [
        candidate.similarity,
        candidate.similarity - best,
        float(context.n - 1),
        float(candidate.shaped),
        min(candidate.position, 6) / 6,
        float(glossary),
        shared.share,
        float(names_a_term(sentence, query.course_terms)),
        float(len(candidate.chosen.quotes) > 1),
        float(query.explains and bool(_CAUSE.search(sentence))),
        float(query.explains and glossary),
        float(query.asks == "definition" and glossary),
        float(query.explains and bool(_MEANS.search(sentence))),
        context.relevance - candidate.similarity,
        shared.rare_share,
        float(bool(re.search(r"\d", sentence))),
        float(candidate.position == 0),
        matched,
        matched - best_matched,
        max(-8.0, context.passage.score - top_passage),
    ]


@dataclass
class LinearRanker:
    """Standardise the features, then a linear score (the logistic regression's log-odds)."""

    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float
    features: list[str]
    trained_on: str = ""  # what it was trained on, for the record

    def scores(self, rows: Sequence[Sequence[float]]) -> np.ndarray:
        if not len(rows):
            return np.zeros(0)
        x = (np.asarray(rows, dtype="float64") - np.asarray(self.mean)) / np.asarray(self.scale)
        return x @ np.asarray(self.weights) + self.bias

    def save(self, path: Path) -> None:
        write_atomically(path, (json.dumps(asdict(self), indent=1) + "\n").encode())

    @classmethod
    def load(cls, path: Path, features: Sequence[str]) -> "LinearRanker | None":
        """The ranker in ``path``; None when the file is missing or was made for other features."""
        try:
            ranker = cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        return ranker if tuple(ranker.features) == tuple(features) and len(ranker.weights) == len(features) else None


def fit(rows: list[list[float]], labels: list[int], features: Sequence[str], trained_on: str = "",
        c: float = 1.0) -> LinearRanker:
    """A logistic regression on the rows (positives weighted up to balance them), L2 strength 1/c."""
    from sklearn.linear_model import LogisticRegression

    z, mean, scale = _standardised(rows)
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(z, labels)
    return _rounded(mean, scale, model.coef_[0], float(model.intercept_[0]), features, trained_on)


def _standardised(rows: list[list[float]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows standardised per feature (a constant feature keeps scale 1), with the mean and scale used."""
    x = np.asarray(rows, dtype="float64")
    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    return (x - mean) / scale, mean, scale


def _rounded(mean: np.ndarray, scale: np.ndarray, weights: np.ndarray, bias: float, features: Sequence[str],
             trained_on: str) -> LinearRanker:
    """A ranker with its numbers rounded to 6 places (the weights files stay short and diff well)."""
    return LinearRanker([round(float(v), 6) for v in mean], [round(float(v), 6) for v in scale],
                        [round(float(v), 6) for v in weights], round(bias, 6), list(features), trained_on)


def fit_listwise(rows: list[list[float]], labels: list[int], groups: list[int], features: Sequence[str],
                 trained_on: str = "", l2: float = 10.0) -> LinearRanker:
    """A ranker that learns which candidate of a question comes first, then what its score says on its own.

    The weights maximise each question's chance of putting an answering candidate first: a softmax over that
    question's candidates (the positives' share of it), over the questions with both positives and negatives, with
    L2 strength ``l2``. Such a score orders a question's candidates but says nothing across questions, so a logistic
    regression on it alone (positives weighted up, as in ``fit``) turns it into log-odds that a candidate answers:
    the scale ``unanswered`` judges. The calibration is monotone, so the order is the softmax's."""
    from scipy.optimize import minimize
    from sklearn.linear_model import LogisticRegression

    z, mean, scale = _standardised(rows)
    y = np.asarray(labels, dtype=bool)
    numbers = np.asarray(groups)
    members = [np.flatnonzero(numbers == g) for g in np.unique(numbers)]
    members = [m for m in members if y[m].any() and not y[m].all()]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.5 * l2 * float(w @ w), l2 * w
        for m in members:
            s = z[m] @ w
            e = np.exp(s - s.max())
            p = e / e.sum()
            hit = np.where(y[m], e, 0.0)
            total -= math.log(hit.sum() / e.sum())
            grad = grad - (hit / hit.sum() - p) @ z[m]
        return total, grad

    w = minimize(loss, np.zeros(z.shape[1]), jac=True, method="L-BFGS-B").x
    calibration = LogisticRegression(max_iter=5000, class_weight="balanced").fit((z @ w)[:, None], y.astype(int))
    return _rounded(mean, scale, w * float(calibration.coef_[0][0]), float(calibration.intercept_[0]), features,
                    trained_on)


def _answerable(tutor, questions: list[dict]):
    """(question, retrieval result) for the questions with known answers that the tutor would not decline for
    distance."""
    from .query import too_far

    for q in questions:
        if q.get("kind") == "out_of_scope" or not q.get("answers"):
            continue
        result = tutor.retrieve(tutor.retriever.understand(q["question"], q.get("history") or []))
        if not too_far(result.query, result.top_similarity, tutor.settings):
            yield q, result


def passage_rows(tutor, questions: list[dict]) -> tuple[list[list[float]], list[int], list[int]]:
    """Each passage candidate's features and label (it contains an answer); the third list numbers the questions.
    The candidates are the first stage's best ``PASSAGE_TRAINING_POOL`` (``Retriever.first_stage``, then the e5
    stage if it is on)."""
    from .evaluate import contains_answer

    rows, labels, groups = [], [], []
    retriever = tutor.retriever
    for i, (q, result) in enumerate(_answerable(tutor, questions)):
        stage = retriever.first_stage(retriever.understand(q["question"], q.get("history") or []))
        head = np.argsort(-retriever.rerank(stage.query, stage.fused), kind="stable")[:PASSAGE_TRAINING_POOL]
        for index, row in zip(head, retriever.passage_rows(stage, head)):
            rows.append(row)
            labels.append(int(contains_answer(retriever.index.chunks[int(index)].text, q["answers"])))
            groups.append(i)
    return rows, labels, groups


@dataclass
class Group:
    """One question's candidate sentences (candidates.Candidate) and whether each holds one of its answers."""

    query: Query
    candidates: list
    labels: list[int]


def sentence_groups(tutor, questions: list[dict]) -> list[Group]:
    """The candidate sentences of each answerable question, as the tutor chooses among them."""
    from .evaluate import contains_answer

    groups = []
    for q, result in _answerable(tutor, questions):
        candidates = tutor.candidates(result.query, tutor.contexts(result))
        groups.append(Group(result.query, candidates,
                            [int(contains_answer(c.chosen.sentence, q["answers"])) for c in candidates]))
    return groups


def sentence_rows(tutor, groups: list[Group], matched: list[list[float]] | None = None
                  ) -> tuple[list[list[float]], list[int], list[int]]:
    """Each candidate sentence's features and label; the third list numbers the questions. ``matched``: each
    group's matcher cosines (else the tutor's own matcher, or MiniLM's cosine without one)."""
    rows, labels, numbers = [], [], []
    for i, group in enumerate(groups):
        given = matched[i] if matched is not None else None
        rows.extend(tutor.feature_rows(group.query, group.candidates, given))
        labels.extend(group.labels)
        numbers.extend([i] * len(group.candidates))
    return rows, labels, numbers


def readings(groups: Sequence[Group]) -> list:
    """The sentence groups as the reader (reader.py) learns from them: each candidate read under its section."""
    from .reader import Reading, read_text

    return [Reading(g.query.plain, tuple(read_text(c.chosen.context.passage.section, c.chosen.sentence)
                                         for c in g.candidates), tuple(g.labels)) for g in groups]


# Matchers trained on all the questions, one per seed, averaged into one (matcher.train_seeds). One
# seed's answers swing with its luck: with the rankers then shipped, 8 matchers trained on dev, heldout and train
# (seeds 0-7) answered 538 to 554 (mean 545.5) of the 650 in-scope questions of the sets not trained on (tune,
# followup, nearmiss, wide, whowhen, chains, peft, names_check, plain_check); the means of seeds 0-3 and of
# 4-7 answered 548 and 545, of all 8 545 (2026-12-05). Averaging buys a retrain that lands near the mean, not a
# better one. With bench/data/everyday_questions.jsonl added to the training sets, seeds 0-2 answered 558, 554 and
# 550, the mean of seeds 0-3 551; the shipped matcher is seed 0 (``--matcher-seeds 1``).
MATCHER_SEEDS = 4
MATCHER_POSITIVES = 2  # answering candidates per question a matcher learns from
MATCHER_NEGATIVES = 4  # ... each against this many other candidates, the closest to the question by MiniLM first


def matcher_triplets(tutor, groups: Sequence[Group]) -> list:
    """The matcher's training examples: (question, an answering candidate, a candidate that does not answer), each
    candidate as the text its cosine is taken on (``Tutor.scored_text``)."""
    from .matcher import Triplet

    out = []
    for group in groups:
        ranked = sorted(zip(group.candidates, group.labels), key=lambda t: -t[0].similarity)
        answers = list(dict.fromkeys(tutor.scored_text(c) for c, y in ranked if y))[:MATCHER_POSITIVES]
        others = [t for t in dict.fromkeys(tutor.scored_text(c) for c, y in ranked if not y) if t not in answers]
        out += [Triplet(group.query.plain, a, o) for a in answers for o in others[:MATCHER_NEGATIVES]]
    return out


def out_of_fold_matched(tutor, groups: list[Group], folds: int, progress=None) -> list[list[float]]:
    """Each group's matcher cosines from a matcher trained on the other folds' questions, so that the sentence
    ranker learns how much the cosine is worth on questions the matcher has not seen."""
    from .matcher import train

    matched: list[list[float]] = [[] for _ in groups]
    for k in range(folds):
        held = [i for i in range(len(groups)) if i % folds == k]
        matcher = train(tutor.settings.embedder_package,
                        matcher_triplets(tutor, [g for i, g in enumerate(groups) if i % folds != k]),
                        progress=progress)
        for i in held:
            matched[i] = tutor.matched(groups[i].query, groups[i].candidates, matcher)
        print(f"matcher fold {k + 1} of {folds}: trained without {len(held)} questions", flush=True)
    return matched


T = TypeVar("T")


def cached(path: Path | None, key: str, compute: Callable[[], T]) -> T:
    """``compute()``, or what it returned before for the same ``key``, kept in ``path`` (a pickle this module
    wrote: load only your own). Without a path, always computed; a missing, unreadable or stale file is replaced."""
    if path is not None:
        try:
            with path.open("rb") as f:
                saved_key, value = pickle.load(f)
            if saved_key == key:
                print(f"reusing {path}: nothing it depends on has changed", flush=True)
                return value
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError, TypeError, ValueError):
            pass
    value = compute()
    if path is not None:
        write_atomically(path, pickle.dumps((key, value)))
    return value


def groups_key(question_files: Sequence[Path], passage_weights: Path, settings, folds: int) -> str:
    """What the sentence groups and their out-of-fold matcher cosines depend on: the questions, the built index, the
    passage ranker they were ordered by, the settings, the number of folds, and the code that makes them: every
    module of the package but this one, and this one's functions that build the groups and train the matchers.
    Not the sentence ranker's features or its fit, which are computed from the groups afterwards: changing those
    is what reusing the groups is for."""
    from .index import current_build

    h = hashlib.sha256()
    for f in question_files:
        h.update(f.read_bytes())
    h.update(passage_weights.read_bytes() if passage_weights.is_file() else b"-")
    build = current_build(settings.index_dir)
    for f in sorted(build.rglob("*")) if build is not None else []:
        if f.is_file():
            h.update(f.name.encode() + f.read_bytes())
    h.update(repr(settings).encode() + str(folds).encode())
    for f in sorted(Path(__file__).parent.glob("*.py")):
        if f.name != Path(__file__).name:
            h.update(f.read_bytes())
    for fn in (sentence_groups, _answerable, out_of_fold_matched, matcher_triplets):
        h.update(inspect.getsource(fn).encode())
    h.update(f"{MATCHER_POSITIVES} {MATCHER_NEGATIVES}".encode())
    return h.hexdigest()


def _train(name: str, data: tuple[list[list[float]], list[int], list[int]],
           fitter: Callable[[list[list[float]], list[int], list[int]], LinearRanker], path: Path) -> dict[int, int]:
    """Fit one ranker on (rows, labels, question numbers), save it to ``path`` and say how well it fits. Returns,
    for each question number, whether its top-scored candidate holds an answer (1) or not (0)."""
    rows, labels, groups = data
    if not sum(labels):
        raise SystemExit(f"{name}: no candidate contains a known answer: nothing to learn from")
    ranker = fitter(rows, labels, groups)
    ranker.save(path)
    best: dict[int, tuple[float, int]] = {}
    for g, s, y in zip(groups, ranker.scores(rows), labels):
        if g not in best or s > best[g][0]:
            best[g] = (float(s), y)
    print(f"{name}: {len(rows)} candidates of {len(best)} questions ({sum(labels)} hold an answer); the top-scored "
          f"one holds it for {sum(y for _, y in best.values())} of {len(best)} (training fit); wrote {path}")
    return {g: y for g, (_, y) in best.items()}


def _groups_and_matched(tutor, questions: list[dict], folds: int, matcher: bool
                        ) -> tuple[list[Group], list[list[float]] | None]:
    """The sentence groups of the questions, with their out-of-fold matcher cosines (None without a matcher)."""
    groups = sentence_groups(tutor, questions)
    return groups, (out_of_fold_matched(tutor, groups, folds) if matcher else None)


def main(argv: list[str] | None = None) -> int:
    """Train the passage ranker, then the matcher, the sentence ranker and the reader, on question sets with known
    answers; write their weights."""
    from .answer import Tutor
    from .config import load_settings
    from .matcher import MATCHER_DIR, train_seeds
    from .reader import READER_DIR, NotLearned, Training, train as train_reader

    ap = argparse.ArgumentParser(prog="python -m rag_tutor.rankers", description=main.__doc__)
    ap.add_argument("--questions", nargs="+", required=True, type=Path,
                    help="JSONL question sets: question, kind, answers (strings an answer must contain), history")
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR,
                    help="directory for passages.json, sentences.json and the matcher's and reader's adapters")
    ap.add_argument("--c", type=float, default=1.0,
                    help="inverse L2 strength of the passage ranker's logistic regression")
    ap.add_argument("--l2", type=float, default=10.0,
                    help="L2 strength of the sentence ranker's softmax (fit_listwise)")
    ap.add_argument("--folds", type=int, default=5,
                    help="matchers trained for the sentence ranker's out-of-fold cosines (~3 min each)")
    ap.add_argument("--matcher-seeds", type=int, default=MATCHER_SEEDS,
                    help="matchers trained on all the questions, one per seed, shipped as their mean (~6 min each); "
                         "the out-of-fold ones use one seed")
    ap.add_argument("--reuse", type=Path, metavar="FILE",
                    help="keep the sentence groups and out-of-fold matcher cosines (most of the time) in FILE and "
                         "reuse them while nothing they depend on changes (groups_key): for trying the sentence "
                         "ranker's features or fit in minutes; a pickle, so only a file this command wrote")
    ap.add_argument("--reader-epochs", type=int, default=Training.epochs, help="passes over the reader's questions")
    ap.add_argument("--reader-learning-rate", type=float, default=Training.learning_rate,
                    help="the reader's peak learning rate (lower it if the reader is not written for not learning)")
    ap.add_argument("--no-reader", action="store_true",
                    help="train no reader (reader.py, ~30 min on 500 questions); a reader in --out is removed")
    ap.add_argument("--no-matcher", action="store_true",
                    help="train no matcher (quick: ~1 min); the sentence ranker learns with MiniLM's cosine in its "
                         "place, and a matcher in --out is removed")
    args = ap.parse_args(argv)
    questions = [json.loads(line) for f in args.questions for line in f.read_text().splitlines() if line.strip()]
    trained_on = " + ".join(f.name for f in args.questions)
    settings = load_settings().with_overrides(generate=False)

    # The passage ranker learns from the first stage's order (its own off), the sentence ranker from the passages
    # the new passage ranker puts first (its own off): each as it will be used.
    tutor = Tutor(settings.with_overrides(learned_passage_ranker=False, learned_sentence_ranker=False))
    _train("passages", passage_rows(tutor, questions),
           lambda rows, labels, _: fit(rows, labels, PASSAGE_FEATURES, trained_on, args.c),
           args.out / PASSAGE_WEIGHTS.name)
    tutor = Tutor(settings.with_overrides(learned_sentence_ranker=False))
    tutor.retriever.passage_weights = args.out / PASSAGE_WEIGHTS.name
    key = groups_key(args.questions, tutor.retriever.passage_weights, settings, 0 if args.no_matcher else args.folds)
    groups, matched = cached(args.reuse, key, lambda: _groups_and_matched(tutor, questions, args.folds,
                                                                          not args.no_matcher))
    matcher_dir = args.out / MATCHER_DIR.name
    if args.no_matcher:
        # this tutor has no matcher (its sentence ranker is off): MiniLM's cosine stands in
        if matcher_dir.exists():
            shutil.rmtree(matcher_dir)
    else:
        train_seeds(settings.embedder_package, matcher_triplets(tutor, groups), matcher_dir, args.matcher_seeds)
        print(f"matcher: trained on {len(groups)} questions with {max(1, args.matcher_seeds)} seed(s); wrote {matcher_dir}")
    held = _train("sentences", sentence_rows(tutor, groups, matched),
           lambda rows, labels, numbers: fit_listwise(rows, labels, numbers, SENTENCE_FEATURES, trained_on, args.l2),
           args.out / SENTENCE_WEIGHTS.name)
    reader_dir = args.out / READER_DIR.name
    if args.no_reader:
        if reader_dir.exists():
            shutil.rmtree(reader_dir)
    else:
        # The reader is kept only if it puts an answer first for at least as many of the questions it learns from
        # (those with answering and other candidates) as the sentence ranker just fitted does: else it has not
        # learned (reader.train), and the tutor orders by the sentence ranker alone.
        read = readings(groups)
        taught = [i for i, r in enumerate(read) if r.teaches]
        bar = sum(held.get(i, 0) for i in taught)
        try:
            train_reader(settings.embedder_package, read, reader_dir,
                         Training(args.reader_epochs, args.reader_learning_rate), least_fit=bar)
        except NotLearned as e:
            if reader_dir.exists():
                shutil.rmtree(reader_dir)
            print(f"reader: not written: {e} (the sentence ranker's count); the tutor orders by that ranker alone "
                  f"(try a lower --reader-learning-rate, or more epochs on few questions)")
            return 1
        print(f"reader: trained on {len(groups)} questions, an answer first for at least {bar} of the {len(taught)} "
              f"it learned from; wrote {reader_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
