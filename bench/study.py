"""Study-tools benchmark: how much quiz and flashcard material the corpus yields, how sound it is, how fast.

    python bench/study.py [--index-dir DIR] [--seeds N] [--json OUT]

Uses the served index (``rag-tutor index`` builds it). For every topic and for the
whole course it generates quizzes of 10 questions with ``--seeds`` different seeds
and the largest quiz each topic allows, then reports:
  * questions and cards generated (distinct ones);
  * the share of questions whose answer is found in the cited passage (for a
    true/false item: the statement's definition is in the passage, and the passage
    is the stated term's entry exactly when the answer is True);
  * the share of questions with a duplicate or empty option;
  * the time to generate one quiz of 10 questions (no LLM; the corpus material is
    read from the index once, timed separately).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag_tutor.config import load_settings  # noqa: E402
from rag_tutor.index import load_index  # noqa: E402
from rag_tutor.study.cards import build_deck  # noqa: E402
from rag_tutor.config import StudyConfig  # noqa: E402
from rag_tutor.study.material import load_material, normalise  # noqa: E402
from rag_tutor.study.quiz import TRUE_FALSE, generate_quiz  # noqa: E402


def answer_in_passage(q) -> bool:
    passage = normalise(q.citation.text)
    if q.kind == TRUE_FALSE:
        return normalise(q.evidence) in passage and (q.citation.section == q.concept) == (q.answer == "True")
    return bool(q.answer.strip()) and normalise(q.answer) in passage


def bad_options(q) -> bool:
    if not q.options:
        return False
    norm = [normalise(o) for o in q.options]
    return any(not o for o in norm) or len(set(norm)) != len(norm)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index-dir", type=Path)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    settings = load_settings(**({"index_dir": args.index_dir} if args.index_dir else {}))
    config = StudyConfig()

    t = time.perf_counter()
    index = load_index(settings.index_dir)
    load_index_s = time.perf_counter() - t
    t = time.perf_counter()
    material = load_material(index, config)
    material_s = time.perf_counter() - t

    topics = [None] + [tp.topic for tp in material.topics]
    questions, timings = [], []
    for topic in topics:
        for seed in range(args.seeds):
            t = time.perf_counter()
            quiz = generate_quiz(material, topic, 10, seed, config)
            timings.append(time.perf_counter() - t)
            questions.extend(quiz)
        questions.extend(generate_quiz(material, topic, config.max_quiz_questions, 0, config))
    distinct = {(q.kind, q.question, tuple(q.options)) for q in questions}
    per_topic_max = {tp: len(generate_quiz(material, tp, config.max_quiz_questions, 0, config)) for tp in topics[1:]}
    deck = build_deck(material)
    kinds = {k: sum(1 for q in questions if q.kind == k) for k in ("mcq", "true_false", "short")}
    cards_cited = sum(normalise(c.answer) in normalise(c.citation.text) for c in deck) / len(deck)
    ms = sorted(1000 * x for x in timings)
    report = {
        "topics": len(material.topics),
        "glossary_terms": len(material.terms),
        "key_facts": len(material.facts),
        "questions_generated": len(questions),
        "distinct_questions": len(distinct),
        "questions_by_kind": kinds,
        "max_quiz_size_per_topic": per_topic_max,
        "cards": len(deck),
        "cards_by_kind": {k: sum(1 for c in deck if c.kind == k) for k in ("term", "definition", "fact")},
        "answer_in_cited_passage": sum(map(answer_in_passage, questions)) / len(questions),
        "cards_answer_in_cited_passage": cards_cited,
        "duplicate_or_empty_option": sum(map(bad_options, questions)) / len(questions),
        "quiz10_ms": {"mean": statistics.mean(ms), "p50": statistics.median(ms), "p95": ms[int(0.95 * (len(ms) - 1))],
                      "max": ms[-1], "quizzes": len(ms)},
        "load_index_s": load_index_s,
        "load_material_s": material_s,
    }
    print(f"corpus: {report['topics']} topics, {report['glossary_terms']} glossary terms, "
          f"{report['key_facts']} key facts (index {settings.index_dir})")
    print(f"questions generated: {report['questions_generated']} ({report['distinct_questions']} distinct) "
          f"in {len(ms)} quizzes of 10 + one largest quiz per topic; by kind {kinds}")
    print(f"largest quiz per topic: min {min(per_topic_max.values())}, max {max(per_topic_max.values())} questions")
    print(f"cards: {report['cards']} {report['cards_by_kind']}")
    print(f"answer found in the cited passage: {100 * report['answer_in_cited_passage']:.1f}% of questions, "
          f"{100 * cards_cited:.1f}% of cards")
    print(f"questions with a duplicate or empty option: {100 * report['duplicate_or_empty_option']:.1f}%")
    q = report["quiz10_ms"]
    print(f"time per quiz of 10 questions (no LLM): mean {q['mean']:.1f} ms, p50 {q['p50']:.1f} ms, "
          f"p95 {q['p95']:.1f} ms, max {q['max']:.1f} ms (target <= 2000 ms)")
    print(f"one-time loading: index {load_index_s:.2f} s, study material from the index {material_s:.2f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
