"""Vet a new question set before it is committed: drop near copies of every set we have, and questions the
repository already quotes.

    python bench/new_questions.py OUT.jsonl NEW.jsonl [NEW.jsonl ...] [--cosine 0.9]

A question is dropped when its MiniLM cosine to a question of ``bench/data/*.jsonl`` or ``../shared/eval/*.jsonl``
(or to one kept before it) reaches ``--cosine``, when it is one of them word for word, or when it or an earlier turn
of its chat occurs in a tracked file outside ``bench/data`` (``git grep``). Every kept in-scope question must have
answer strings found in its source document. Prints what was written, dropped and why.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from rag_tutor.evaluate import load_questions  # noqa: E402


def existing_questions() -> list[str]:
    files = [*sorted((ROOT / "bench" / "data").glob("*.jsonl")),
             *sorted((ROOT.parent / "shared" / "eval").glob("*.jsonl"))]
    return [q["question"] for f in files for q in load_questions(f) if q.get("question")]  # not the teach replies


def quoted_in_repository(text: str) -> bool:
    found = subprocess.run(["git", "-C", str(ROOT), "grep", "-F", "-i", "-q", text.strip(), "--", ".",
                            ":!bench/data"], capture_output=True)
    return found.returncode == 0


def answers_found(q: dict) -> bool:
    if q.get("kind") == "out_of_scope":
        return not q.get("answers")
    doc = ROOT / "corpus" / q.get("source", "")
    if not (q.get("answers") and doc.is_file()):
        return False
    text = doc.read_text(encoding="utf-8").lower()
    return all(a.lower() in text for a in q["answers"])


def main() -> int:
    from rag_tutor.config import load_settings
    from rag_tutor.embedder import load_embedder

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("new", type=Path, nargs="+")
    ap.add_argument("--cosine", type=float, default=0.9, help="a near copy from this MiniLM cosine up")
    args = ap.parse_args()
    new = [q for f in args.new for q in load_questions(f)]
    old = existing_questions()
    embedder = load_embedder(load_settings().embedder_package)
    old_vectors = embedder.embed(old)
    new_vectors = embedder.embed([q["question"] for q in new])
    old_texts = {t.strip().lower() for t in old}
    kept, kept_vectors, dropped = [], [], {"near copy": 0, "quoted in the repository": 0, "answer not found": 0}
    for q, v in zip(new, new_vectors):
        near = (old_vectors @ v).max(initial=-1.0) >= args.cosine or q["question"].strip().lower() in old_texts or any(
            float(k @ v) >= args.cosine for k in kept_vectors)
        if near:
            dropped["near copy"] += 1
        elif any(quoted_in_repository(t) for t in [q["question"], *q.get("history", [])]):
            dropped["quoted in the repository"] += 1
        elif not answers_found(q):
            dropped["answer not found"] += 1
        else:
            kept.append(q)
            kept_vectors.append(v)
    ids = [q["id"] for q in kept]
    if len(ids) != len(set(ids)):
        print("error: ids repeat", file=sys.stderr)
        return 1
    args.out.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n" for q in kept), encoding="utf-8")
    print(f"{len(new)} written, {len(kept)} kept in {args.out}; dropped: "
          + ", ".join(f"{n} {why}" for why, n in dropped.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
