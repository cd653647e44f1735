"""Retrieval benchmark: accuracy of dense / BM25 / hybrid vs a plain LangChain RAG, build times, latency.

    python bench/retrieval.py [--questions FILE] [--corpus DIR ...] [--index DIR] [--rerank NAME] [--runs N]
                              [--json OUT] [--skip-builds] [--skip-baseline]

The hybrid ranking is shown without and with the second stage (rag_tutor/rerank.py; --rerank, default the
setting ``rerank``, "none" leaves it out). --index scores an index already built (e.g. ``index``) instead of
building one in a temporary folder.

A passage counts as correct if it contains any of the question's ``answers``
(case-insensitive), as in open-domain QA top-k accuracy. Out-of-scope questions
have no answers and are left out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag_tutor.config import load_settings  # noqa: E402
from rag_tutor.embedder import load_embedder  # noqa: E402
from rag_tutor.index import build_index, load_index  # noqa: E402
from rag_tutor.retrieval import Retriever  # noqa: E402

DEFAULT_QUESTIONS = ROOT.parent / "shared" / "eval" / "dev_questions.jsonl"


def hit(text: str, answers: list[str]) -> bool:
    low = text.lower()
    return any(a.lower() in low for a in answers)


def score(ranked_texts: list[list[str]], questions: list[dict]) -> dict:
    top1 = top5 = rr = 0.0
    for texts, q in zip(ranked_texts, questions):
        ranks = [i for i, t in enumerate(texts[:10], 1) if hit(t, q["answers"])]
        top1 += bool(ranks and ranks[0] == 1)
        top5 += bool(ranks and ranks[0] <= 5)
        rr += 1.0 / ranks[0] if ranks else 0.0
    n = len(questions)
    return {"top1": top1 / n, "top5": top5 / n, "mrr": rr / n}


def langchain_store(corpus_dirs: list[Path], embedder):
    """The tutorial pipeline's index: raw files, RecursiveCharacterTextSplitter(1000, 200), MiniLM, FAISS."""
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_core.embeddings import Embeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    class MiniLM(Embeddings):
        def embed_documents(self, texts):
            return embedder.model.encode(texts, batch_size=32).tolist()

        def embed_query(self, text):
            return embedder.model.encode([text])[0].tolist()

    docs = []
    for root in corpus_dirs:
        for path in sorted(Path(root).rglob("*")):
            if path.suffix in (".md", ".txt"):
                docs.append(Document(page_content=path.read_text(encoding="utf-8"), metadata={"source": str(path)}))
    chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    return FAISS.from_documents(chunks, MiniLM())


def langchain_baseline(corpus_dirs: list[Path], embedder, questions: list[dict]) -> list[list[str]]:
    """The tutorial pipeline, searched with the question only."""
    store = langchain_store(corpus_dirs, embedder)
    return [[d.page_content for d in store.similarity_search(q["question"], k=10)] for q in questions]


def timed_builds(settings, embedder, runs: int) -> dict:
    """Median full-build time, and incremental rebuild after appending a sentence to one document."""
    fulls, incs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(settings.corpus_dirs[0], corpus)
        s = replace(settings, corpus_dirs=[corpus], index_dir=Path(tmp) / "index")
        target = sorted(corpus.glob("*.md"))[5]
        for run in range(runs):
            fulls.append(build_index(s, full=True, embedder=embedder).seconds)
            with open(target, "a", encoding="utf-8") as fh:
                fh.write(f"\n\nA benchmark edit, run {run}.\n")
            summary = build_index(s, embedder=embedder)
            assert summary.changed == 1 and summary.unchanged > 0, summary.line()
            incs.append(summary.seconds)
    full, inc = statistics.median(fulls), statistics.median(incs)
    return {"full_build_s": full, "incremental_build_s": inc, "incremental_ratio": inc / full}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", default=str(DEFAULT_QUESTIONS))
    ap.add_argument("--corpus", action="append", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--skip-builds", action="store_true")
    ap.add_argument("--skip-baseline", action="store_true", help="leave out the plain LangChain RAG")
    ap.add_argument("--index", type=Path, help="an index already built for these corpus folders")
    ap.add_argument("--rerank", help="second stage to compare with the hybrid (default: the setting)")
    args = ap.parse_args()

    questions = [json.loads(line) for line in open(args.questions) if line.strip()]
    questions = [q for q in questions if q.get("answers")]
    overrides = {"corpus_dirs": args.corpus} if args.corpus else {}
    if args.rerank:
        overrides["rerank"] = args.rerank
    settings = load_settings(**overrides)
    embedder = load_embedder(settings.embedder_package)

    with tempfile.TemporaryDirectory() as tmp:
        s = replace(settings, index_dir=args.index or Path(tmp) / "index")
        if not args.index:
            build_index(s, full=True, embedder=embedder)
        index = load_index(s.index_dir)
        first = replace(s, rerank="none")
        modes = {
            "dense": replace(first, bm25_weight=0.0),
            "bm25": replace(first, dense_weight=0.0),
            "hybrid": first,
        }
        if s.rerank != "none":
            modes[f"hybrid+{s.rerank}"] = s
        results = {}
        latencies: dict[str, list[float]] = {}
        for name, ms in modes.items():
            retriever = Retriever(index, embedder, ms)
            if name.startswith("hybrid+") and retriever.reranker is None:
                continue  # its package is missing: the notice is on stderr
            ranked = []
            for q in questions:
                t = time.perf_counter()
                passages = retriever.search(q["question"], k=10, history=q.get("history"))
                if name.startswith("hybrid"):
                    latencies.setdefault(name, []).append(time.perf_counter() - t)
                ranked.append([p.text for p in passages])
            results[name] = score(ranked, questions)
            if name.startswith("hybrid"):
                for _ in range(args.runs):
                    for q in questions:
                        t = time.perf_counter()
                        retriever.search(q["question"], history=q.get("history"))
                        latencies[name].append(time.perf_counter() - t)
    if not args.skip_baseline:
        results["langchain_baseline"] = score(langchain_baseline(settings.corpus_dirs, embedder, questions),
                                              questions)

    def percentiles(xs: list[float]) -> dict:
        xs = sorted(xs)
        return {"p50": 1000 * statistics.median(xs), "p95": 1000 * xs[int(0.95 * (len(xs) - 1))]}

    report = {
        "questions": len(questions),
        "accuracy": results,
        "latency_ms": {name: percentiles(xs) for name, xs in latencies.items()},
    }
    if not args.skip_builds:
        report["builds"] = timed_builds(settings, embedder, args.runs)

    print(f"{len(questions)} questions with gold answers ({args.questions})")
    print(f"{'method':<20}{'top-1':>8}{'top-5':>8}{'MRR':>8}")
    for name, r in results.items():
        print(f"{name:<20}{r['top1']:>8.3f}{r['top5']:>8.3f}{r['mrr']:>8.3f}")
    for name, lat in report["latency_ms"].items():
        print(f"{name} query latency: p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms")
    if "builds" in report:
        b = report["builds"]
        print(f"full build {b['full_build_s']:.2f} s, incremental (one edited document) {b['incremental_build_s']:.2f} s "
              f"= {100 * b['incremental_ratio']:.1f}% of full (medians of {args.runs}; embedder already loaded)")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
