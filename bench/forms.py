"""Counts by question form, from a records file of ``bench/answers.py --records DIR``: for each kind and form of
question (the set's ``form`` field: scenario, everyday, follow-up...), how many there are, how many are answered
right (out of scope: declined) and how many course questions are declined.

    python bench/forms.py DIR SET [MODE]

It prints counts, never a question: a report set can be read this way, to see which form is weak, without anyone
reading its questions (which would make it a tuning set).
"""
from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from answers import SETS  # noqa: E402
from rag_tutor.evaluate import load_questions  # noqa: E402  (answers.py put the repository on the path)


def by_form(records: Path, questions: Path) -> dict[tuple[str, str], dict[str, int]]:
    """(kind, form) -> {"questions", "right", "declined"}; "right" is "declined" for out-of-scope questions."""
    forms = {str(q["id"]): q.get("form") or "-" for q in load_questions(questions)}
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"questions": 0, "right": 0, "declined": 0})
    for line in records.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        row = counts[(r["kind"], forms.get(str(r["id"]), "-"))]
        row["questions"] += 1
        row["declined"] += bool(r["declined"])
        row["right"] += bool(r["declined"]) if r["kind"] == "out_of_scope" else bool(r["correct"])
    return dict(counts)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3) or argv[1] not in SETS:
        print("usage: python bench/forms.py DIR SET [MODE]; SET: one of " + ", ".join(SETS), file=sys.stderr)
        return 2
    folder, name = Path(argv[0]), argv[1]
    mode = argv[2] if len(argv) == 3 else "extractive"
    records = folder / f"{name}-{mode}.jsonl"
    if not records.is_file():
        print(f"no records at {records}; run bench/answers.py --sets {name} --modes {mode} --records {folder}",
              file=sys.stderr)
        return 2
    print("| kind | form | questions | right | declined |\n|---|---|---|---|---|")
    for (kind, form), row in sorted(by_form(records, SETS[name]).items()):
        print(f"| {kind} | {form} | {row['questions']} | {row['right']} | {row['declined']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
