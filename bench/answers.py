"""Answer benchmark: base model vs LoRA adapter side by side, the two engines, and decode speed vs llama.cpp.

    python bench/answers.py [--questions FILE] [--runs N] [--json OUT] [--llama-cpp] [--speed-only] [--engines-only]

Quality metrics are those of `rag-tutor eval` (see rag_tutor/evaluate.py). Latency
figures are medians over all questions of the last run; peak RSS is this process's.
With --llama-cpp (needs `CMAKE_ARGS=-DGGML_NATIVE=OFF pip install llama-cpp-python`, ~5 min of compiling; a
native build died of a general protection fault in libggml-cpu here; it
is not a dependency of the product), the same prompts are decoded by llama.cpp from
the same GGUF file and tokens/s are compared in the same run.
The engine comparison (always run; alone with --engines-only) answers the same 8 prompts with the adapter on
both engines, transformers (fp32) and llama (the merged q8_0 file run by ik_llama.cpp, rag_tutor/engines.py):
first token, decode rate, answer time (medians) and how many greedy answers differ. Peak RSS is per process:
compare the engines' memory by running each alone (RAG_TUTOR_ENGINE=... rag-tutor ask ...).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag_tutor.answer import Tutor, build_messages  # noqa: E402
from rag_tutor.config import load_settings  # noqa: E402
from rag_tutor.evaluate import load_questions, run_eval  # noqa: E402
from rag_tutor.generator import ENGINES, GenerationStats, load_generator, package_gguf  # noqa: E402

DEFAULT_QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
KEYS = ["answer_accuracy", "citation_precision", "raw_citation_precision", "format_compliance",
        "decline_accuracy", "false_decline_rate", "follow_up_accuracy", "extractive_fallbacks",
        "median_first_token_s", "median_total_s", "median_tokens_per_s"]


def _prompts(tutor: Tutor, questions: list[dict]) -> list[list[dict]]:
    """The prompts the answers use: Tutor.retrieve and Tutor.contexts, then build_messages."""
    prompts = []
    for q in questions:
        result = tutor.retrieve(q["question"], q.get("history"))
        prompts.append(build_messages(q["question"], q.get("history") or [], tutor.contexts(result)))
    return prompts


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


def engine_comparison(tutor: Tutor, questions: list[dict]) -> dict:
    """Both engines, with the adapter, on the same prompts: medians of first token (prompt in, first text out),
    decode rate (tokens after the first / time after the first) and answer time; greedy answers that differ."""
    settings = tutor.settings
    prompts = _prompts(tutor, questions)
    out: dict = {}
    texts: dict[str, list[str]] = {}
    for engine in ENGINES:
        gen = load_generator(settings.with_overrides(engine=engine), use_adapter=True)
        if gen.engine != engine:  # the llama engine fell back (its notice is on stderr)
            continue
        gen.generate(prompts[0], settings)  # warm-up: both engines compute the shared system turn once
        firsts, rates, totals, texts[engine] = [], [], [], []
        for messages in prompts:
            text, stats = gen.generate(messages, settings)
            texts[engine].append(text)
            firsts.append(stats.first_token_s)
            totals.append(stats.total_s)
            if stats.new_tokens > 1:
                rates.append((stats.new_tokens - 1) / (stats.total_s - stats.first_token_s))
        out[f"{engine}_first_token_s"] = statistics.median(firsts)
        out[f"{engine}_decode_tok_s"] = statistics.median(rates)
        out[f"{engine}_answer_s"] = statistics.median(totals)
    if len(texts) == 2:
        pairs = list(zip(texts["transformers"], texts["llama"]))
        out["prompts"] = len(prompts)
        out["greedy_answers_differ"] = sum(a != b for a, b in pairs)
        out["first_sentences_differ"] = sum(_first_sentence(a) != _first_sentence(b) for a, b in pairs)
        out["decode_llama_over_transformers"] = out["llama_decode_tok_s"] / out["transformers_decode_tok_s"]
        for a, b in pairs:
            if a != b:
                print(f"[transformers] {a!r}\n[llama]        {b!r}", file=sys.stderr)
    return out


def decode_speed(tutor: Tutor, questions: list[dict], llama_cpp: bool) -> dict:
    """tokens/s of transformers vs llama.cpp on identical prompts (prefill excluded from decode rate), and the
    time from prompt to first token of each (both reuse the system turn computed for the previous prompt)."""
    settings = tutor.settings
    gen = load_generator(settings.with_overrides(engine="transformers"), use_adapter=False)
    prompts = _prompts(tutor, questions)
    hf, hf_first = [], []
    for messages in prompts:
        stats = GenerationStats()
        for _ in gen.stream(messages, stats):
            pass
        hf_first.append(stats.first_token_s)
        if stats.new_tokens > 1:
            hf.append((stats.new_tokens - 1) / (stats.total_s - stats.first_token_s))
    out = {"transformers_decode_tok_s": statistics.median(hf),
           "transformers_first_token_s": statistics.median(hf_first)}  # prompt in, first token out (no retrieval)
    if llama_cpp:
        from llama_cpp import Llama

        llm = Llama(model_path=str(package_gguf(settings.generator_package)), n_ctx=2048, n_threads=2, verbose=False)
        rates, firsts = [], []
        for messages in prompts:
            first = None
            n = 0
            start = time.perf_counter()
            for _ in llm.create_chat_completion(messages=messages, max_tokens=settings.max_new_tokens,
                                                temperature=0.0, repeat_penalty=settings.repetition_penalty,
                                                stream=True):
                n += 1
                if first is None:
                    first = time.perf_counter()
                    firsts.append(first - start)
            if n > 2:
                rates.append((n - 2) / (time.perf_counter() - first))
        out["llama_cpp_decode_tok_s"] = statistics.median(rates)
        out["llama_cpp_first_token_s"] = statistics.median(firsts)
        out["transformers_vs_llama_cpp"] = out["transformers_decode_tok_s"] / out["llama_cpp_decode_tok_s"]
        out["first_token_llama_cpp_over_transformers"] = out["llama_cpp_first_token_s"] / out["transformers_first_token_s"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", default=str(DEFAULT_QUESTIONS))
    ap.add_argument("--runs", type=int, default=1, help="repeat the whole set; latency medians use the last run")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--llama-cpp", action="store_true")
    ap.add_argument("--speed-only", action="store_true", help="only the decode-speed comparison (8 prompts)")
    ap.add_argument("--engines-only", action="store_true", help="only the engine comparison (8 prompts)")
    args = ap.parse_args()
    questions = load_questions(Path(args.questions))
    settings = load_settings()

    if args.engines_only:
        for key, value in engine_comparison(Tutor(settings), questions[:8]).items():
            print(f"{key:<32}{value:>10.2f}")
        print(f"{'peak_rss_gb (both engines)':<32}{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:>10.2f}")
        return
    if args.speed_only:
        for key, value in decode_speed(Tutor(settings, use_adapter=False), questions[:8], args.llama_cpp).items():
            print(f"{key:<26}{value:>10.2f}")
        return
    table = {}
    for label, adapter in (("base", False), ("adapter", True)):
        tutor = Tutor(settings, use_adapter=adapter)
        for _ in range(args.runs):
            report = run_eval(tutor, questions)
        table[label] = report.metrics(tutor)
        for r in report.records:
            a = r.answer
            print(f"[{label}] {r.question['id']:<5} {a.mode:<10} {a.answer[:100]!r}", file=sys.stderr)
    peak_rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    # The quality table first: a llama.cpp build that crashes (a native build once died of a general protection
    # fault in libggml-cpu here) must not take the whole run with it.
    print(f"{len(questions)} questions ({args.questions})")
    print(f"{'metric':<26}{'base':>10}{'adapter':>10}")
    for key in KEYS:
        print(f"{key:<26}{str(table['base'][key]):>10}{str(table['adapter'][key]):>10}")
    print(f"{'peak_rss_gb (answering)':<26}{peak_rss_gb:>10.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"metrics": table, "peak_rss_gb": peak_rss_gb}, indent=2))
    speed = decode_speed(Tutor(settings, use_adapter=False), questions[:8], args.llama_cpp)
    for key, value in speed.items():
        print(f"{key:<26}{value:>10.2f}")
    engines = engine_comparison(Tutor(settings), questions[:8])
    for key, value in engines.items():
        print(f"{key:<32}{value:>10.2f}")
    if args.json:
        args.json.write_text(json.dumps({"metrics": table, "speed": speed, "engines": engines,
                                         "peak_rss_gb": peak_rss_gb}, indent=2))


if __name__ == "__main__":
    main()
