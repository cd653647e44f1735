"""Answer benchmark: the product's answer modes side by side on several question sets, beside a plain LangChain RAG.

    python bench/answers.py [--sets tune,dev,peft] [--modes extractive,base,adapter,plain] [--ablate]
                            [--without RULE ...] [--limit N] [--every K] [--json OUT]

Sets: ``tune`` (bench/data/tune_questions.jsonl: choose between variants here), ``dev``
(../shared/eval/dev_questions.jsonl), ``heldout`` (bench/data/heldout_questions.jsonl, tuned on in the past),
``peft`` (bench/data/peft_questions.jsonl, answered from an index of ../shared/external/peft-docs built once under
/tmp/rag-tutor-bench), ``train`` (bench/data/train_questions.jsonl: with dev, heldout and ``everyday``
(bench/data/everyday_questions.jsonl, in a learner's everyday words), the learned rankers' training data, so
their scores are a training fit), ``blind`` (bench/data/blind_questions.jsonl) and ``followup``
(bench/data/followup_questions.jsonl: follow-up chains and out-of-scope questions asked mid-chat, for choosing
like ``tune``), ``whowhen`` (bench/data/whowhen_questions.jsonl: bare "who introduced X?" / "when was X released?"
questions, and out-of-scope ones of the same form), ``nearmiss`` (bench/data/nearmiss_questions.jsonl:
out-of-scope questions sharing words or topics with the course, fresh and mid-chat, and in-scope questions in the
same styles; choose here) and ``nearmiss_check`` (its other half). **Score ``blind`` and ``nearmiss_check`` only to
report a finished change, never to choose between variants.**

Modes, all on the same index and question:
- ``extractive``: no model; the passages' most relevant sentences, each cited (setting generate=false).
- ``base``: SmolLM2-135M-Instruct without the project's LoRA adapter, through the whole answer path.
- ``adapter``: the shipped product (base + LoRA adapter; the answer written as settings.writer says).
- ``adapter-writes`` / ``base-writes``: the model (with / without the adapter) writing the whole answer from the
  sources, only its checked sentences kept (writer=model: the design before the selector wrote the answers).
- ``plain``: the peer, a plain LangChain RAG as in the tutorials: raw files, RecursiveCharacterTextSplitter(1000, 200),
  MiniLM, FAISS top 4, the question alone, the base model prompted to answer from numbered context with [n]
  citations; no rules, no checks, no declines except what the model writes.

``--ablate`` adds, on ``tune`` only and in extractive mode (no model: a rule's effect on which passages and
sentences are chosen, without the model's noise), one column per policy rule of rag_tutor/query.py switched off.
``--without RULE`` switches rules off for every column.

Metrics are those of ``rag-tutor eval`` (rag_tutor/evaluate.py): an answer is correct if it contains one of the
question's reference answers and is not a decline; retrieval ranks are those of the passages the answer was built on.
``declined_mid_chat``: the out-of-scope questions asked again after a course question (``evaluate.mid_chat``), the
share declined (product modes only; the plain RAG reads the question alone).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag_tutor.answer import Tutor  # noqa: E402
from rag_tutor.config import load_settings  # noqa: E402
from rag_tutor.evaluate import load_questions, mid_chat, run_eval  # noqa: E402
from rag_tutor.query import RULES, without  # noqa: E402

from retrieval import hit, langchain_store  # noqa: E402  (bench/retrieval.py, beside this file)

SETS = {
    "tune": ROOT / "bench" / "data" / "tune_questions.jsonl",
    "dev": ROOT.parent / "shared" / "eval" / "dev_questions.jsonl",
    "heldout": ROOT / "bench" / "data" / "heldout_questions.jsonl",
    "peft": ROOT / "bench" / "data" / "peft_questions.jsonl",
    "blind": ROOT / "bench" / "data" / "blind_questions.jsonl",
    "train": ROOT / "bench" / "data" / "train_questions.jsonl",  # the rankers' training data: a training fit
    "everyday": ROOT / "bench" / "data" / "everyday_questions.jsonl",  # training data too, in everyday words
    "everyday2": ROOT / "bench" / "data" / "everyday2_questions.jsonl",  # everyday words: tuning (trained on, not kept)
    "followup": ROOT / "bench" / "data" / "followup_questions.jsonl",  # follow-up chains: choose here, like tune
    "whowhen": ROOT / "bench" / "data" / "whowhen_questions.jsonl",  # bare who/when questions about course things
    "wide": ROOT / "bench" / "data" / "wide_questions.jsonl",  # 308 over every document; first scored untuned
    "chains": ROOT / "bench" / "data" / "chains_questions.jsonl",  # third turns whose pronoun means the first subject
    "nearmiss": ROOT / "bench" / "data" / "nearmiss_questions.jsonl",  # near misses and controls: choose here
    "nearmiss_check": ROOT / "bench" / "data" / "nearmiss_check_questions.jsonl",  # like blind: report only
    "names_check": ROOT / "bench" / "data" / "names_check_questions.jsonl",  # names listed together: report only
    "preface_check": ROOT / "bench" / "data" / "preface_check_questions.jsonl",  # "I read about X, what is it?"
    "plain_check": ROOT / "bench" / "data" / "plain_check_questions.jsonl",  # everyday words, near misses: report
    "plain_check2": ROOT / "bench" / "data" / "plain_check2_questions.jsonl",  # the same kind again: report only
    "final_check": ROOT / "bench" / "data" / "final_check_questions.jsonl",  # every form, fresh: report only
    "fresh_check": ROOT / "bench" / "data" / "fresh_check_questions.jsonl",  # every form, fresher: report only
    "fresh_check2": ROOT / "bench" / "data" / "fresh_check2_questions.jsonl",  # report only; scored twice: used up
    "far": ROOT / "bench" / "data" / "far_questions.jsonl",  # unlike every other set: tuning
    "far_check": ROOT / "bench" / "data" / "far_check_questions.jsonl",  # its other half: report only; used up
    "unseen_check": ROOT / "bench" / "data" / "unseen_check_questions.jsonl",  # report only; scored once
    "reserve_check": ROOT / "bench" / "data" / "reserve_check_questions.jsonl",  # report only; scored once
    "next_check": ROOT / "bench" / "data" / "next_check_questions.jsonl",  # report only; scored once (2026-12-06, 4fe3095)
    "late_check": ROOT / "bench" / "data" / "late_check_questions.jsonl",  # report only; scored twice: used up
    "dec_check": ROOT / "bench" / "data" / "dec_check_questions.jsonl",  # report only; scored once (2026-12-07, 10310ae)
    "winter_check": ROOT / "bench" / "data" / "winter_check_questions.jsonl",  # report only; scored twice: used up
    "dawn_check": ROOT / "bench" / "data" / "dawn_check_questions.jsonl",  # report only; scored twice (9e1e240, ec8874b): used up
    "spring": ROOT / "bench" / "data" / "spring_questions.jsonl",  # unlike every other set, as winter_check: tuning
    "thaw": ROOT / "bench" / "data" / "thaw_questions.jsonl",  # fresh details and follow-ups: tuning
    "thaw_check": ROOT / "bench" / "data" / "thaw_check_questions.jsonl",  # its other half: report only
    "frost": ROOT / "bench" / "data" / "frost_questions.jsonl",  # fresh details and out of scope: tuning
    "frost_check": ROOT / "bench" / "data" / "frost_check_questions.jsonl",  # its other half: report only; used up
    "gale": ROOT / "bench" / "data" / "gale_questions.jsonl",  # fresh details and out of scope: tuning
    "gale_check": ROOT / "bench" / "data" / "gale_check_questions.jsonl",  # its other half: report only; used up
    "scenario": ROOT / "bench" / "data" / "scenario_questions.jsonl",  # a learner's situation, then a question: tuning
    "scenario_check": ROOT / "bench" / "data" / "scenario_check_questions.jsonl",  # its other half: report only
}
PEFT_DOCS = ROOT.parent / "shared" / "external" / "peft-docs"
PEFT_INDEX = Path("/tmp/rag-tutor-bench/peft-index")
MODES = ("extractive", "base", "adapter", "adapter-writes", "base-writes", "plain")
ROWS = ["questions", "answer_accuracy", "follow_up_accuracy", "citation_precision", "decline_accuracy",
        "declined_mid_chat", "false_decline_rate", "retrieval_top1", "retrieval_mrr", "retrieval_top5",
        "first_source_holds", "median_words", "extractive_fallbacks", "recaps_shown", "out_of_range_markers",
        "median_total_s"]


def settings_for(name: str, rules_off: list[str]):
    settings = without(load_settings(), *rules_off)
    if name != "peft":
        return settings
    from rag_tutor.index import build_index

    settings = settings.with_overrides(corpus_dirs=[PEFT_DOCS], index_dir=PEFT_INDEX)
    PEFT_INDEX.mkdir(parents=True, exist_ok=True)
    build_index(settings)  # incremental: only the first run embeds
    return settings


def product(settings, questions: list[dict], mode: str, records: Path | None = None) -> dict:
    if mode == "extractive":
        tutor = Tutor(settings.with_overrides(generate=False))
    elif mode.endswith("-writes"):
        tutor = Tutor(settings.with_overrides(writer="model"), use_adapter=mode == "adapter-writes")
    else:
        tutor = Tutor(settings, use_adapter=mode == "adapter")
    report = run_eval(tutor, questions)
    later = mid_chat(questions)
    declined = [tutor.ask(q["question"], q["history"]).declined for q in later]
    for r in report.records:
        print(f"[{mode}] {r.question['id']!s:<6} {r.answer.mode:<10} {r.answer.answer[:110]!r}", file=sys.stderr)
    if records:  # one line per question, to read where two columns differ
        with records.open("w", encoding="utf-8") as f:
            for r in report.records:
                f.write(json.dumps({"id": r.question["id"], "kind": r.question["kind"], "mode": r.answer.mode,
                                    "declined": r.answer.declined, "correct": correct(r), "answer": r.answer.answer,
                                    "raw": r.answer.raw, "recap": r.answer.recap, "sources": r.answer.prompt_sources}) + "\n")
    return {**report.metrics(tutor),
            "declined_mid_chat": round(sum(declined) / len(declined), 3) if declined else None}


def correct(record) -> bool | None:
    q, a = record.question, record.answer
    if q["kind"] == "out_of_scope":
        return a.declined
    return not a.declined and hit(a.answer, q["answers"])


_DECLINE = re.compile(r"\b(i (do not|don't) know|not (mentioned|covered|provided|in the context)|cannot answer|"
                      r"no information)\b", re.I)


def plain_langchain(settings, questions: list[dict]) -> dict:
    """The peer: the tutorial LangChain RAG with the base model. Scored like the product where it applies."""
    from rag_tutor.embedder import load_embedder
    from rag_tutor.generator import load_generator

    store = langchain_store(settings.corpus_dirs, load_embedder(settings.embedder_package))
    gen = load_generator(settings, use_adapter=False)

    answerable = [q for q in questions if q["kind"] != "out_of_scope"]
    correct, follow_correct, declined_oos, false_declines, markers, bad_markers = 0, 0, 0, 0, 0, 0
    ranks, words, totals = [], [], []
    for q in questions:
        history = " ".join(t if isinstance(t, str) else t.get("content", "") for t in (q.get("history") or [])
                           if isinstance(t, str) or t.get("role") == "user")
        found = store.similarity_search(q["question"], k=4)
        context = "\n\n".join(f"[{i}] {d.page_content}" for i, d in enumerate(found, 1))
        messages = [{"role": "system", "content": "Answer the question using only the context. Cite the sources "
                                                  "you use as [n]. If the context does not answer it, say you "
                                                  "don't know."},
                    {"role": "user", "content": f"Context:\n{context}\n\n"
                                                + (f"Earlier question: {history}\n" if history else "")
                                                + f"Question: {q['question']}"}]
        start = time.perf_counter()
        text, _ = gen.generate(messages, settings)
        totals.append(time.perf_counter() - start)
        print(f"[plain] {q['id']!s:<6} {text[:110]!r}", file=sys.stderr)
        declined = bool(_DECLINE.search(text))
        numbers = [int(n) for n in re.findall(r"\[(\d+)\]", text)]
        markers += len(numbers)
        bad_markers += sum(not 1 <= n <= len(found) for n in numbers)
        if q["kind"] == "out_of_scope":
            declined_oos += declined
            continue
        false_declines += declined
        right = hit(text, q["answers"]) and not declined
        correct += right
        follow_correct += right and q["kind"] == "follow_up"
        words.append(len(text.split()))
        if q["answers"]:
            ranks.append(next((i for i, d in enumerate(found, 1) if hit(d.page_content, q["answers"])), None))
    follow = [q for q in questions if q["kind"] == "follow_up"]
    oos = len(questions) - len(answerable)

    def share(a, b):
        return round(a / b, 3) if b else None

    return {
        "questions": len(questions),
        "answer_accuracy": share(correct, len(answerable)),
        "follow_up_accuracy": share(follow_correct, len(follow)),
        "citation_precision": None,
        "decline_accuracy": share(declined_oos, oos),
        "false_decline_rate": share(false_declines, len(answerable)),
        "retrieval_top1": share(sum(k == 1 for k in ranks), len(ranks)),
        "retrieval_mrr": share(sum(1 / k for k in ranks if k), len(ranks)),
        "retrieval_top5": share(sum(k is not None for k in ranks), len(ranks)),  # top 4 shown
        "median_words": statistics.median(words) if words else None,
        "out_of_range_markers": f"{bad_markers}/{markers}",
        "median_total_s": round(statistics.median(totals), 3) if totals else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sets", default="tune,dev,peft", help="comma-separated: " + ", ".join(SETS))
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated: " + ", ".join(MODES))
    ap.add_argument("--ablate", action="store_true", help="one extractive column per rule switched off (tune only)")
    ap.add_argument("--without", action="append", default=[], choices=[r.name for r in RULES])
    ap.add_argument("--limit", type=int, help="only the first N questions of each set (smoke runs)")
    ap.add_argument("--every", type=int, default=1, help="every K-th question of each set: a smaller sample with "
                                                          "every kind of question in it, for the slow columns")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--records", type=Path, help="a folder: one JSONL per column, each question's answer and score")
    args = ap.parse_args()
    sets = [s for s in args.sets.split(",") if s]
    modes = [m for m in args.modes.split(",") if m]
    for name in sets + modes:
        if name not in SETS and name not in MODES:
            ap.error(f"unknown set or mode {name!r}")

    columns: dict[str, dict] = {}
    for name in sets:
        questions = load_questions(SETS[name])[:: args.every][: args.limit]
        settings = settings_for(name, args.without)
        for mode in modes:
            started = time.perf_counter()
            metrics = (plain_langchain(settings, questions) if mode == "plain"
                       else product(settings, questions, mode, records_path(args.records, f"{name}-{mode}")))
            columns[f"{name}/{mode}"] = metrics
            print(f"{name}/{mode}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            save(columns, args.json)
        if args.ablate and name == "tune":
            for rule in RULES:
                columns[f"tune/extractive-{rule.name}"] = product(
                    without(settings, rule.name), questions, "extractive",
                    records_path(args.records, f"tune-extractive-{rule.name}"))
                save(columns, args.json)
    print(table(columns))


def table(columns: dict[str, dict]) -> str:
    lines = [f"| metric | {' | '.join(columns)} |", f"|---|{'---|' * len(columns)}"]
    for row in ROWS:
        cells = [columns[c].get(row) for c in columns]
        lines.append(f"| {row} | {' | '.join('–' if v is None else str(v) for v in cells)} |")
    return "\n".join(lines)


def records_path(folder: Path | None, column: str) -> Path | None:
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{column}.jsonl"


def save(columns: dict[str, dict], path: Path | None) -> None:
    """Each finished column at once (a long run that stops keeps what it measured)."""
    if path:
        path.write_text(json.dumps(columns, indent=2))
        path.with_suffix(".md").write_text(table(columns) + "\n")


if __name__ == "__main__":
    main()
