"""Answer-quality metrics on a question file (the format of shared/eval/dev_questions.jsonl)."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from .answer import Answer, Tutor
from .citations import cited_numbers, split_sentences, strip_citations


def load_questions(path: Path) -> list[dict]:
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            row = json.loads(line)
            row.setdefault("id", n)
            row.setdefault("kind", "in_scope")
            row.setdefault("answers", [])
            row.setdefault("history", [])
            rows.append(row)
    return rows


def contains_answer(text: str, answers: list[str]) -> bool:
    low = text.lower()
    return any(a.lower() in low for a in answers)


def format_ok(raw: str, n_sources: int) -> bool:
    """Every sentence of the model's own text carries at least one [n] within 1..n_sources."""
    sentences = [s for s in split_sentences(raw) if strip_citations(s)]
    return bool(sentences) and all(
        cited_numbers(s) and all(1 <= n <= n_sources for n in cited_numbers(s)) for s in sentences
    )


@dataclass
class Record:
    question: dict
    answer: Answer


def first_source_holds(answer: Answer, answers: list[str]) -> bool | None:
    """Whether the passage an answer cites as [1] holds one of the reference answers: the source a learner reads
    first (the app lists an answer's sources in citation order, the lead sentence's first). None for a decline, an
    answer citing nothing, or a question without reference answers."""
    first = next((c for c in answer.citations if c.n == 1), None)
    if answer.declined or first is None or not answers:
        return None
    return contains_answer(first.text, answers)


@dataclass
class Report:
    records: list[Record] = field(default_factory=list)

    def metrics(self, tutor: Tutor) -> dict:
        answerable = [r for r in self.records if r.question["kind"] != "out_of_scope"]
        follow = [r for r in self.records if r.question["kind"] == "follow_up"]
        oos = [r for r in self.records if r.question["kind"] == "out_of_scope"]
        correct = [r for r in answerable if not r.answer.declined and contains_answer(r.answer.answer, r.question["answers"])]

        good = total = 0
        raw_good = raw_total = 0
        for r in answerable:
            ans = r.answer
            by_n = {c.n: c for c in ans.citations}
            for sentence in split_sentences(ans.answer):
                for n in cited_numbers(sentence):
                    total += 1
                    c = by_n.get(n)
                    if c and (contains_answer(c.text, r.question["answers"])
                              or tutor.checker.support(sentence, c.text).score >= tutor.settings.support_threshold):
                        good += 1
            if ans.raw and not ans.declined:
                by_id = {p.chunk_id: p for p in ans.passages}
                shown = [by_id[i] for i in ans.prompt_sources if i in by_id]  # the model's [1]..[n]
                for sentence in split_sentences(ans.raw):
                    for n in cited_numbers(sentence):
                        raw_total += 1
                        if 1 <= n <= len(shown) and (
                            contains_answer(shown[n - 1].text, r.question["answers"])
                            or tutor.checker.support(sentence, shown[n - 1].text).score
                            >= tutor.settings.support_threshold
                        ):
                            raw_good += 1
        generated = [r for r in answerable if r.answer.raw]
        firsts = [r.answer.timings["first_token_s"] for r in self.records if r.answer.timings.get("first_token_s")]
        totals = [r.answer.timings["total_s"] for r in self.records if r.answer.raw]
        rates = [r.answer.timings["new_tokens"] / r.answer.timings["total_s"] for r in self.records
                 if r.answer.raw and r.answer.timings.get("new_tokens")]

        def share(a, b):
            return round(a / b, 3) if b else None

        # Retrieval, from the passages each answer was built on: the rank of the first one holding an answer.
        ranks = [next((i for i, p in enumerate(r.answer.passages, 1) if contains_answer(p.text, r.question["answers"])),
                      None) for r in answerable if r.question["answers"]]
        words = [len(strip_citations(r.answer.answer).split()) for r in answerable if not r.answer.declined]
        sources_first = [held for r in answerable
                         if (held := first_source_holds(r.answer, r.question["answers"])) is not None]

        def med(xs):
            return round(statistics.median(xs), 3) if xs else None

        return {
            "questions": len(self.records),
            "answer_accuracy": share(len(correct), len(answerable)),
            "citation_precision": share(good, total),
            "citations": total,
            "raw_citation_precision": share(raw_good, raw_total),
            "raw_citations": raw_total,
            "format_compliance": share(
                sum(format_ok(r.answer.raw, len(r.answer.prompt_sources))
                    for r in generated), len(generated)),
            "extractive_fallbacks": sum(r.answer.mode == "extractive" for r in answerable),
            "recaps_shown": sum(bool(r.answer.recap) for r in answerable),
            "decline_accuracy": share(sum(r.answer.declined for r in oos), len(oos)),
            "false_decline_rate": share(sum(r.answer.declined for r in answerable), len(answerable)),
            "follow_up_accuracy": share(sum(r in correct for r in follow), len(follow)),
            "retrieval_top1": share(sum(k == 1 for k in ranks), len(ranks)),
            "retrieval_top5": share(sum(k is not None and k <= 5 for k in ranks), len(ranks)),
            "retrieval_mrr": share(sum(1 / k for k in ranks if k), len(ranks)),
            # of the answered course questions: the source cited [1] holds an answer (what the learner opens first)
            "first_source_holds": share(sum(sources_first), len(sources_first)),
            "median_words": med(words),
            "median_first_token_s": med(firsts),
            "median_total_s": med(totals),
            "median_tokens_per_s": med(rates),
        }


def mid_chat(questions: list[dict]) -> list[dict]:
    """Each out-of-scope question asked again after a course question, as a learner does in the middle of a chat:
    with the nearest in-scope question before it (one with no history of its own) as the earlier turn, else the
    set's first one. A question set asks its out-of-scope questions in fresh chats only; these copies check that
    the conversation's subject does not make them answerable."""
    opening = [i for i, q in enumerate(questions) if q["kind"] == "in_scope" and not q.get("history")]
    out = []
    for i, q in enumerate(questions):
        if q["kind"] != "out_of_scope" or not opening:
            continue
        before = max((j for j in opening if j < i), default=opening[0])
        out.append({**q, "history": [questions[before]["question"]]})
    return out


def run_eval(tutor: Tutor, questions: list[dict], progress=None) -> Report:
    report = Report()
    for i, q in enumerate(questions, 1):
        report.records.append(Record(q, tutor.ask(q["question"], q.get("history") or [])))
        if progress:
            progress(i, len(questions), report.records[-1])
    return report
