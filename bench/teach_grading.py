"""How often the teach-me grader agrees with hand-graded replies (right / partial / wrong).

    .venv/bin/python bench/teach_grading.py bench/data/teach_replies_tune.jsonl [--show]

Each line of the file: topic, idea (a lesson idea's key, study/lesson.py), key_fact (its key
sentence, for the reader), reply, label. The lesson is rebuilt from the shipped index and the
reply graded as the chat grades it (study/teach_grading.py, thresholds from StudyConfig).
Prints agreement overall and per label, and the confusion table; --show lists disagreements.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag_tutor.config import load_settings  # noqa: E402
from rag_tutor.embedder import load_embedder  # noqa: E402
from rag_tutor.index import load_index  # noqa: E402
from rag_tutor.study.lesson import build_lesson  # noqa: E402
from rag_tutor.study.material import load_material  # noqa: E402
from rag_tutor.study.teach_grading import PARTIAL, RIGHT, WRONG, Grader  # noqa: E402

LABELS = (RIGHT, PARTIAL, WRONG)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--show", action="store_true", help="list the replies graded differently")
    args = parser.parse_args()
    settings = load_settings()
    material = load_material(load_index(settings.index_dir), settings.study)
    grader = Grader(material, load_embedder(settings.embedder_package), settings.study)
    rows = [json.loads(line) for line in args.file.read_text().splitlines() if line.strip()]
    ideas = {i.key: i for topic in {r["topic"] for r in rows} for i in build_lesson(material, topic, settings.study)}
    table: Counter = Counter()
    missing = 0
    for r in rows:
        idea = ideas.get(r["idea"])
        if idea is None:
            missing += 1
            print(f"no idea {r['idea']} in the lesson any more", file=sys.stderr)
            continue
        verdict = grader.grade(idea, r["reply"])
        table[r["label"], verdict.label] += 1
        if args.show and verdict.label != r["label"]:
            other = f" (as {verdict.confused_with.name})" if verdict.confused_with else ""
            print(f"- {r['label']:>7} -> {verdict.label:<7}{other} sim {verdict.similarity:.2f} found {verdict.found} "
                  f"| {idea.concept} | {r['reply']}")
    total = sum(table.values())
    agree = sum(table[label, label] for label in LABELS)
    print(f"{args.file.name}: {total} replies, agreement {agree}/{total} = {agree / max(1, total):.1%}"
          + (f" ({missing} not found)" if missing else ""))
    for label in LABELS:
        n = sum(table[label, g] for g in LABELS)
        print(f"  {label:>7}: {table[label, label]}/{n} = {table[label, label] / max(1, n):.1%}")
    print("  confusion (rows: my label, columns: grader)")
    print("  " + " " * 9 + "".join(f"{g:>9}" for g in LABELS))
    for label in LABELS:
        print(f"  {label:>9}" + "".join(f"{table[label, g]:>9}" for g in LABELS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
