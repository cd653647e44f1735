"""One line per records folder of ``bench/answers.py --records DIR --modes extractive``: of the sets no ranker was
trained on, in-scope answers right, out-of-scope questions declined and course questions declined.

    python bench/tally.py DIR [DIR ...]

The sum over the nine tuning sets is steadier than any one of them: a retrained matcher seed alone moves it by about
±4 of 650, so compare variants by the mean of two or three seeds.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

# the sets none of the shipped weights was trained on, and which no report is made from
TUNING = ("tune", "followup", "nearmiss", "wide", "whowhen", "chains", "names_check", "plain_check", "peft")


def tally(folder: Path, sets: tuple[str, ...] = TUNING) -> dict[str, int]:
    out = {"in_scope": 0, "right": 0, "out_of_scope": 0, "declined": 0, "false_declines": 0, "sets": 0}
    for name in sets:
        path = folder / f"{name}-extractive.jsonl"
        if not path.is_file():
            continue
        out["sets"] += 1
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r["kind"] == "out_of_scope":
                out["out_of_scope"] += 1
                out["declined"] += bool(r["declined"])
            else:
                out["in_scope"] += 1
                out["right"] += bool(r["correct"])
                out["false_declines"] += bool(r["declined"])
    return out


def main(argv: list[str]) -> int:
    for folder in argv:
        t = tally(Path(folder))
        print(f"{folder}: {t['sets']} sets; right {t['right']} of {t['in_scope']}; out of scope declined "
              f"{t['declined']} of {t['out_of_scope']}; false declines {t['false_declines']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
