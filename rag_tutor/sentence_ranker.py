"""The selector's second stage: a learned score for how likely a candidate sentence answers the question.

A logistic regression over a few properties of the sentence and the question (``FEATURES``), trained on question
sets whose answers are known: a candidate is a positive when it contains one of the question's answers. Its weights
are a small JSON file shipped with the package (``WEIGHTS``); nothing in it names a question or a document, so it
carries over to a changed corpus, and ``python -m rag_tutor.sentence_ranker --questions FILE ...`` retrains it (on
question sets written for that corpus, in the format of ``bench/data``).

Without the weights file (or with the rule ``learned_sentence_ranker`` off) the selector falls back to its
hand-set score: the cosine, a shape bonus and a rank penalty (``answer.Tutor.hand_score``).
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .answer import Candidate
    from .query import Query

WEIGHTS = Path(__file__).with_name("sentence_ranker.json")

# A sentence giving a reason ("because", "so that") or a way ("by", "using"): only counted for a why/how question.
_CAUSE = re.compile(r"\b(because|since|so that|so|due to|therefore|which means|this is why|as a result|thus|lets|"
                    r"allows|makes)\b", re.I)
_MEANS = re.compile(r"\b(by|using|through|then|first|each step|iteratively)\b", re.I)

# Not its length: with it, longer sentences won (they hold an answer's words more often), answers grew from a median
# of 67 to 77 words on tune, and the sentence chosen first was no more often the answering one.
FEATURES = (
    "similarity",          # cosine between the question and the sentence (MiniLM)
    "behind_best",         # that cosine minus the best candidate's for this question
    "passage_rank",        # 0 for the first passage, 1 for the second...
    "shaped",              # has the shape asked for: a year for "when", a name for "who"
    "position",            # where the sentence sits in its passage, 0 (first) .. 1 (seventh or later)
    "glossary",            # it is from a glossary entry
    "keyword_share",       # share of the question's keywords (stemmed, no stopwords) in the sentence
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
)


def features(query: Query, candidate: Candidate, best: float, idf: Callable[[str], float],
             keywords: Callable[[str], list[str]]) -> list[float]:
    """The ``FEATURES`` of one candidate (``best``: the best candidate's cosine for this question)."""
    sentence = candidate.chosen.sentence
    context = candidate.chosen.context
    asked = set(keywords(query.search_text))
    found = asked & set(keywords(sentence))
    weight = sum(idf(w) for w in asked) or 1.0
    glossary = context.passage.topic == "glossary"
    low = sentence.lower()
    return [
        candidate.similarity,
        candidate.similarity - best,
        float(context.n - 1),
        float(candidate.shaped),
        min(candidate.position, 6) / 6,
        float(glossary),
        len(found) / max(1, len(asked)),
        float(any(t.lower() in low for t in query.course_terms)),
        float(len(candidate.chosen.quotes) > 1),
        float(query.explains and bool(_CAUSE.search(sentence))),
        float(query.explains and glossary),
        float(query.asks == "definition" and glossary),
        float(query.explains and bool(_MEANS.search(sentence))),
        context.relevance - candidate.similarity,
        sum(idf(w) for w in found) / weight,
        float(bool(re.search(r"\d", sentence))),
        float(candidate.position == 0),
    ]


@dataclass
class SentenceRanker:
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

    def save(self, path: Path = WEIGHTS) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path = WEIGHTS) -> "SentenceRanker | None":
        """The shipped ranker; None when the file is missing or was made for other features."""
        try:
            ranker = cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None
        return ranker if tuple(ranker.features) == FEATURES and len(ranker.weights) == len(FEATURES) else None


def fit(rows: list[list[float]], labels: list[int], trained_on: str = "", c: float = 1.0) -> SentenceRanker:
    """A logistic regression on the rows (positives weighted up to balance them), L2 strength 1/c."""
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(rows, dtype="float64")
    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit((x - mean) / scale, labels)
    return SentenceRanker([round(float(v), 6) for v in mean], [round(float(v), 6) for v in scale],
                          [round(float(v), 6) for v in model.coef_[0]], round(float(model.intercept_[0]), 6),
                          list(FEATURES), trained_on)


def training_rows(tutor, questions: list[dict]) -> tuple[list[list[float]], list[int], list[int]]:
    """Each candidate's features and label (it contains an answer) for the questions the tutor would answer;
    the third list gives each row's question."""
    from .evaluate import contains_answer

    rows, labels, groups = [], [], []
    for i, q in enumerate(questions):
        if q.get("kind") == "out_of_scope" or not q.get("answers"):
            continue
        result = tutor.retrieve(tutor.retriever.understand(q["question"], q.get("history") or []))
        if result.top_similarity < tutor.settings.decline_threshold:
            continue
        candidates = tutor.candidates(result.query, tutor.contexts(result))
        for cand, row in zip(candidates, tutor.feature_rows(result.query, candidates)):
            rows.append(row)
            labels.append(int(contains_answer(cand.chosen.sentence, q["answers"])))
            groups.append(i)
    return rows, labels, groups


def main(argv: list[str] | None = None) -> int:
    """Train the selector's sentence ranker on question sets with known answers; write its weights."""
    from .answer import Tutor
    from .config import load_settings

    ap = argparse.ArgumentParser(prog="python -m rag_tutor.sentence_ranker", description=main.__doc__)
    ap.add_argument("--questions", nargs="+", required=True, type=Path,
                    help="JSONL question sets: question, kind, answers (strings an answer must contain), history")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    ap.add_argument("--c", type=float, default=1.0, help="inverse L2 strength of the logistic regression")
    args = ap.parse_args(argv)
    tutor = Tutor(load_settings().with_overrides(generate=False))
    questions = [json.loads(line) for f in args.questions for line in f.read_text().splitlines() if line.strip()]
    rows, labels, groups = training_rows(tutor, questions)
    if not rows or sum(labels) == 0:
        raise SystemExit("no candidate sentence contains a known answer: nothing to learn from")
    ranker = fit(rows, labels, " + ".join(f.name for f in args.questions), args.c)
    ranker.save(args.out)
    scores = ranker.scores(rows)
    best = {}
    for g, s, y in zip(groups, scores, labels):
        if g not in best or s > best[g][0]:
            best[g] = (s, y)
    print(f"{len(rows)} candidates of {len(best)} questions ({sum(labels)} hold an answer); the top-scored one holds "
          f"it for {sum(y for _, y in best.values())} of {len(best)} (training fit). Wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
