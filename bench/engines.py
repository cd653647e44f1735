"""The engines side by side: the same prompts, the same merged weights, one run.

    .venv/bin/python bench/engines.py [--questions FILE] [--n 8] [--engines LIST] [--json OUT]
    .venv/bin/python bench/engines.py --quality FILE [--engines transformers,llama]

Engines (``--engines``, comma-separated; the default is all four):

  transformers       the product's fallback: fp32, the LoRA adapter merged by peft (rag_tutor.generator.Generator)
  transformers-bf16  the same in bfloat16
  llama              the product's engine: the merged q8_0 GGUF run by ik_llama.cpp, our decode loop
                     (rag_tutor/engines.py; threads from the settings, RAG_TUTOR_LLAMA_THREADS / _BATCH_THREADS)
  binding            the peer: ik-llama-cpp-python's own high-level API on the SAME q8_0 file, as many threads as
                     ours at most (settings.llama_threads):
                     ``IkLlama(...).generate(ids, temperature=0)``. Its ``create_chat_completion`` cannot be the
                     peer: it has no ``stream`` argument and renders every model's prompt in Gemma's chat format,
                     so it is given the same prompt ids as ours (ChatML, from the transformers tokenizer). It has
                     no streaming, so its first token is timed as ``generate(ids, max_tokens=1)`` and its decode
                     rate from a second, full ``generate``; it has no repetition penalty either.

The prompts are the product's: ``Tutor.retrieve`` + ``Tutor.contexts`` + ``build_messages`` for the first ``--n``
questions of the file that are not out of scope. Each engine runs in its own process (a crash stays there, and
its memory is its own); the prompts are answered in turn, each prompt by every engine before the next, so that a
machine that gets busier halfway through slows all engines alike. Each engine answers one prompt first to warm
up (both product engines keep the system turn's keys and values from one prompt to the next; the binding
recomputes the whole prompt every time). Greedy decoding, the settings' max_new_tokens.

Figures (medians over the prompts): first token (prompt in, first text out), decode tokens/s after the first
token, the whole answer's time, the peak RSS of the engine's process while answering (its high-water mark reset
after loading), and for the two ik_llama.cpp engines llama.cpp's own timer of its decode calls (tokens/s with
no Python in it). "differ" counts greedy answers not identical to transformers fp32's.

``--quality FILE`` runs ``rag-tutor eval``'s metrics (rag_tutor/evaluate.py run_eval) with each product engine
writing the answers (``writer="model"``) on FILE and lists every answer that changed from the first engine's.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"
ENGINES = ("transformers", "transformers-bf16", "llama", "binding")
REFERENCE = "transformers"  # the engine the others' greedy answers are compared with
METRICS = ["answer_accuracy", "citation_precision", "raw_citation_precision", "format_compliance",
           "decline_accuracy", "false_decline_rate", "follow_up_accuracy", "extractive_fallbacks",
           "median_first_token_s", "median_total_s", "median_tokens_per_s"]


# ---------------------------------------------------------------- one engine, in its own process

def _rss_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (peak since start or the last reset) of this process, in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux: clear_refs 5); False where that is refused."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class _Binding:
    """The peer: ik_llama_cpp's high-level ``IkLlama`` on the product's q8_0 file, with the binding's own
    prefill, sampler and decode loop (greedy), with the most threads ours may use (``llama_threads``)."""

    def __init__(self, settings) -> None:
        import ik_llama_cpp
        from transformers import AutoTokenizer

        from rag_tutor.engines import fast_model_path
        from rag_tutor.generator import converted_model_dir

        self.settings = settings
        self.tokenizer = AutoTokenizer.from_pretrained(converted_model_dir(settings))
        # Kept referenced: the bindings segfault when the object that owns the model is collected.
        self.llm = ik_llama_cpp.IkLlama(str(fast_model_path(settings)), n_ctx=4096, n_threads=settings.llama_threads,
                                        flash_attn=False, verbose=False)

    def answer(self, messages: list[dict]) -> dict:
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = self.llm.tokenize(text, add_bos=False, special=True)
        start = time.perf_counter()
        self.llm.generate(ids, max_tokens=1, temperature=0.0)
        first = time.perf_counter() - start
        start = time.perf_counter()
        out = self.llm.generate(ids, max_tokens=self.settings.max_new_tokens, temperature=0.0)
        total = time.perf_counter() - start
        perf = self.llm._context.perf()  # reset by generate(): this call's prefill and decode calls
        return {"text": self.llm.detokenize(out), "first_token_s": first, "total_s": total,
                "new_tokens": len(out) + 1,  # + the end-of-turn token, which ours counts too
                "prompt_tokens": len(ids), "cpp_eval_tok_s": _rate(perf["n_eval"], perf["t_eval_ms"])}


class _Product:
    """A product engine as the product loads it (rag_tutor.generator.make_generator), streamed."""

    def __init__(self, settings) -> None:
        from rag_tutor.generator import make_generator

        self.settings = settings
        self.gen = make_generator(settings, use_adapter=True)
        if self.gen.engine != settings.engine:
            raise SystemExit(f"the {settings.engine} engine is not available: {self.gen.notice}")

    def answer(self, messages: list[dict]) -> dict:
        from rag_tutor.generator import GenerationStats

        api = getattr(self.gen, "_api", None)  # the llama engine: llama.cpp's own timer of its decode calls
        if api is not None:
            api.llama_reset_timings(self.gen._ctx)
        stats = GenerationStats()
        text = "".join(self.gen.stream(messages, stats, self.settings))
        ids = self.gen.prompt_ids(messages)  # token ids (llama) or the tokenizer's tensors (transformers)
        out = {"text": text, "first_token_s": stats.first_token_s, "total_s": stats.total_s,
               "new_tokens": stats.new_tokens, "threads": stats.threads,
               "prompt_tokens": len(ids) if api is not None else ids["input_ids"].shape[1]}
        if api is not None:
            perf = api.llama_get_timings(self.gen._ctx)
            out["cpp_eval_tok_s"] = _rate(perf.n_eval, perf.t_eval_ms)
        return out


def _rate(n: int, ms: float) -> float | None:
    return n / (ms / 1000) if n and ms > 0 else None


def worker(engine: str) -> int:
    """Answer the prompts sent as JSON lines on stdin, one JSON line each on stdout; "null" ends it with the
    process's figures. Anything a library prints goes to stderr."""
    from rag_tutor.config import load_settings

    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    settings = load_settings(temperature=0.0)
    started = time.perf_counter()
    if engine == "binding":
        runner = _Binding(settings)
    else:
        dtype = "bfloat16" if engine == "transformers-bf16" else "float32"
        runner = _Product(settings.with_overrides(engine=engine.split("-")[0], generator_dtype=dtype))
    load_s = time.perf_counter() - started
    print(json.dumps({"ready": True, "load_s": load_s, "rss_loaded_mb": _rss_mb("VmRSS")}), file=out, flush=True)
    warmed = False
    for line in sys.stdin:
        messages = json.loads(line)
        if messages is None:
            break
        if not warmed:  # the first prompt once untimed (system-turn cache, file pages); then the peak is reset
            runner.answer(messages)
            warmed = _reset_peak_rss() or True
        print(json.dumps(runner.answer(messages)), file=out, flush=True)
    print(json.dumps({"peak_rss_mb": _rss_mb("VmHWM")}), file=out, flush=True)
    return 0


class Engine:
    """The parent's handle on one worker process."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker", name], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.info = self._read()
        self.results: list[dict] = []

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.name} engine's process ended (exit code {self.proc.wait()}); "
                               "its messages are above")
        return json.loads(line)

    def answer(self, messages: list[dict]) -> dict:
        self.proc.stdin.write(json.dumps(messages) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("null\n")
                self.proc.stdin.flush()
                self.info.update(self._read())
            except (OSError, RuntimeError):
                pass
            self.proc.stdin.close()
            self.proc.wait()


# ---------------------------------------------------------------- the run

def prompts(tutor, questions: list[dict]) -> list[list[dict]]:
    """The prompts the product builds for these questions (as Tutor._run does: a follow-up asked standing alone)."""
    from rag_tutor.prompts import build_messages

    out = []
    for q in questions:
        query = tutor.retriever.understand(q["question"], q.get("history") or [])
        result = tutor.retrieve(query)
        out.append(build_messages(query.asked, query.history, tutor.contexts(result)))
    return out


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(engine: Engine, reference: list[str] | None) -> dict:
    rs = engine.results
    row = {
        "first_token_s": _median(r["first_token_s"] for r in rs),
        "decode_tok_s": _median((r["new_tokens"] - 1) / (r["total_s"] - r["first_token_s"])
                                for r in rs if r["new_tokens"] > 1 and r["total_s"] > r["first_token_s"]),
        "answer_s": _median(r["total_s"] for r in rs),
        "new_tokens": _median(r["new_tokens"] for r in rs),
        "prompt_tokens": _median(r["prompt_tokens"] for r in rs),
        "cpp_eval_tok_s": _median(r.get("cpp_eval_tok_s") for r in rs),
        "peak_rss_mb": engine.info.get("peak_rss_mb"),
        "load_s": engine.info.get("load_s"),
    }
    if reference is not None:
        pairs = list(zip(reference, (r["text"] for r in rs)))
        row["differ"] = sum(a != b for a, b in pairs)
        row["first_sentence_differs"] = sum(_first_sentence(a) != _first_sentence(b) for a, b in pairs)
    return row


def _fmt(value, digits: int = 2) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def speed(args, questions: list[dict]) -> dict:
    from rag_tutor.answer import Tutor
    from rag_tutor.config import load_settings

    settings = load_settings()
    chosen = [q for q in questions if q.get("kind") != "out_of_scope"][: args.n]
    messages = prompts(Tutor(settings), chosen)
    engines = []
    try:
        for name in args.engines:
            print(f"loading {name}…", file=sys.stderr, flush=True)
            engines.append(Engine(name))
        for engine in engines:  # warm-up: the first prompt once, untimed
            engine.answer(messages[0])
        for i, m in enumerate(messages, 1):
            for engine in engines:
                engine.results.append(engine.answer(m))
            print(f"prompt {i}/{len(messages)} done", file=sys.stderr, flush=True)
    finally:
        for engine in engines:
            engine.close()
    by_name = {e.name: e for e in engines}
    reference = [r["text"] for r in by_name[REFERENCE].results] if REFERENCE in by_name else None
    rows = {e.name: summarize(e, reference if e.name != REFERENCE else None) for e in engines}

    print(f"\n{len(messages)} prompts ({args.questions}: the first {len(messages)} not out of scope), "
          f"median prompt {_fmt(_median(r['prompt_tokens'] for r in rows.values()), 0)} tokens, greedy, "
          f"max_new_tokens {settings.max_new_tokens}; ours: llama_threads {settings.llama_threads}, "
          f"llama_batch_threads {settings.llama_batch_threads} (fewer while other tasks hold cores); binding: "
          f"{settings.llama_threads} threads\n")
    print("| engine | first token s | decode tok/s | answer s | tokens | llama.cpp decode tok/s | peak RSS MB "
          f"| differ from {REFERENCE} (first sentence) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, row in rows.items():
        differ = "–" if "differ" not in row else f"{row['differ']}/{len(messages)} ({row['first_sentence_differs']})"
        print(f"| {name} | {_fmt(row['first_token_s'])} | {_fmt(row['decode_tok_s'], 1)} | {_fmt(row['answer_s'])} "
              f"| {_fmt(row['new_tokens'], 0)} | {_fmt(row['cpp_eval_tok_s'], 1)} | {_fmt(row['peak_rss_mb'], 0)} "
              f"| {differ} |")
    ratios = {}
    for a, b in (("llama", "binding"), ("llama", "transformers"), ("llama", "transformers-bf16"),
                 ("transformers-bf16", "transformers")):
        if a in rows and b in rows:
            for key in ("decode_tok_s", "first_token_s"):
                if rows[a][key] and rows[b][key]:
                    ratios[f"{key} {a} / {b}"] = rows[a][key] / rows[b][key]
    cpp = {name: rows[name]["cpp_eval_tok_s"] for name in ("llama", "binding") if name in rows}
    if len(cpp) == 2 and all(cpp.values()):
        ratios["llama.cpp's own decode timer, llama / binding"] = cpp["llama"] / cpp["binding"]
    print()
    for key, value in ratios.items():
        print(f"- {key}: {value:.2f}")
    if "llama" in by_name:
        print(f"- threads ours wrote each answer with: {[r.get('threads') for r in by_name['llama'].results]}")
    return {"prompts": len(messages), "engines": rows, "ratios": ratios,
            "texts": {e.name: [r["text"] for r in e.results] for e in engines}}


def quality(args) -> dict:
    from rag_tutor.answer import Tutor
    from rag_tutor.config import load_settings
    from rag_tutor.evaluate import load_questions, run_eval
    from rag_tutor.retrieval import Retriever

    path = Path(args.quality)
    if path.name.startswith("blind") and not args.allow_blind:
        raise SystemExit(f"{path} is reserved for the lead's final report; pass --allow-blind if you are the lead")
    questions = load_questions(path)
    settings = load_settings()
    retriever = Retriever.load(settings)
    engines = [e for e in args.engines if e != "binding"]  # the peer has no place in the product's answer path
    metrics, answers = {}, {}
    for name in engines:
        dtype = "bfloat16" if name == "transformers-bf16" else "float32"
        # the model writes every answer (the shipped selector runs no model, so it would compare nothing)
        tutor = Tutor(settings.with_overrides(engine=name.split("-")[0], generator_dtype=dtype, writer="model"),
                      retriever)
        if tutor.generator.engine != name.split("-")[0]:
            raise SystemExit(f"the {name} engine is not available: {tutor.generator.notice}")
        started = time.perf_counter()
        report = run_eval(tutor, questions)
        print(f"{name}: {len(questions)} questions in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        metrics[name] = report.metrics(tutor)
        answers[name] = [r.answer for r in report.records]
        tutor._generator = None
    print(f"\n{len(questions)} questions ({path})\n")
    print("| metric | " + " | ".join(engines) + " |")
    print("|---|" + "---:|" * len(engines))
    for key in METRICS:
        print(f"| {key} | " + " | ".join(_fmt(metrics[e][key], 3) for e in engines) + " |")
    first = engines[0]
    changed = []
    for other in engines[1:]:
        for q, a, b in zip(questions, answers[first], answers[other]):
            if a.answer != b.answer:
                changed.append({"id": q["id"], "kind": q["kind"], first: a.answer, other: b.answer,
                                "modes": [a.mode, b.mode]})
    print(f"\n{len(changed)} answers changed from {first}'s:")
    for c in changed:
        other = [k for k in c if k not in ("id", "kind", "modes", first)][0]
        print(f"\n- id {c['id']} ({c['kind']}; {c['modes'][0]} -> {c['modes'][1]})\n  {first}: {c[first]}\n"
              f"  {other}: {c[other]}")
    return {"questions": len(questions), "metrics": metrics, "changed": changed}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--questions", default=str(DEFAULT_QUESTIONS), help="question file the prompts come from")
    ap.add_argument("--n", type=int, default=8, help="prompts (the first N questions not out of scope)")
    ap.add_argument("--engines", default=",".join(ENGINES), help=f"comma-separated, of: {', '.join(ENGINES)}")
    ap.add_argument("--quality", metavar="FILE", help="run the eval metrics with each engine on FILE instead")
    ap.add_argument("--allow-blind", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, help="also write the figures (and every answer) here")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args.worker)
    args.engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(args.engines) - set(ENGINES)
    if unknown:
        ap.error(f"unknown engine(s) {', '.join(sorted(unknown))}; use: {', '.join(ENGINES)}")
    if args.quality:
        result = quality(args)
    else:
        from rag_tutor.evaluate import load_questions

        result = speed(args, load_questions(Path(args.questions)))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=lambda o: getattr(o, "__dict__", str(o))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
