"""Audio overview benchmark: per topic, time to write the script and to voice it, the file's duration, and
the support of every guide line (re-checked with a fresh checker).

    python bench/podcast.py [--topics vae gan ...] [--json OUT]

Each topic is rendered with --force into a temporary home, so the cache is not measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag_tutor.citations import SupportChecker  # noqa: E402
from rag_tutor.config import load_settings  # noqa: E402
from rag_tutor.embedder import load_embedder  # noqa: E402
from rag_tutor.index import load_index  # noqa: E402
from rag_tutor.podcast.audio import wav_duration  # noqa: E402
from rag_tutor.podcast.render import render_podcast  # noqa: E402
from rag_tutor.podcast.script import GUIDE, build_script  # noqa: E402
from rag_tutor.podcast.speech import pick_engine  # noqa: E402
from rag_tutor.study.material import load_material  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--topics", nargs="*", help="topic ids (default: every topic of the learning path)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    settings = replace(load_settings(), home=Path(tempfile.mkdtemp(prefix="rag-tutor-bench-")))
    index = load_index(settings.index_dir)
    material = load_material(index, settings.study)
    embedder = load_embedder(settings.embedder_package)
    engine = pick_engine(settings.podcast.engine)
    topics = args.topics or [t.topic for t in material.topics]
    rows = []
    for topic in topics:
        started = time.perf_counter()
        build_script(material, topic, SupportChecker(embedder), settings.podcast, settings.support_threshold)
        script_s = time.perf_counter() - started
        pod = render_podcast(settings, material, index.manifest, SupportChecker(embedder), topic, engine, force=True)
        fresh = SupportChecker(embedder)
        guide = [ln for ln in pod.script.lines if ln.speaker == GUIDE]
        supports = [fresh.support(ln.text, pod.script.sources[ln.source - 1].text).score for ln in guide]
        row = {"topic": topic, "script_s": round(script_s, 2), "render_s": pod.render_s,
               "duration_s": round(wav_duration(pod.audio), 1), "lines": len(pod.script.lines),
               "guide_lines": len(guide), "chapters": len(pod.script.chapters), "words": pod.script.words,
               "dropped": pod.script.dropped, "min_support": round(min(supports), 3) if supports else None,
               "supported_share": sum(s >= settings.support_threshold for s in supports) / len(supports)
               if supports else None}
        rows.append(row)
        print(json.dumps(row))
    summary = {
        "engine": engine.name, "topics": len(rows),
        "median_render_s": statistics.median(r["render_s"] for r in rows),
        "median_script_s": statistics.median(r["script_s"] for r in rows),
        "median_duration_s": statistics.median(r["duration_s"] for r in rows),
        "min_duration_s": min(r["duration_s"] for r in rows), "max_duration_s": max(r["duration_s"] for r in rows),
        "within_2_to_4_min": sum(120 <= r["duration_s"] <= 240 for r in rows),
        "guide_lines_supported": sum(r["supported_share"] == 1.0 for r in rows),
        "realtime_factor": statistics.median(r["render_s"] / r["duration_s"] for r in rows),
    }
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "summary": summary}, indent=2))


if __name__ == "__main__":
    main()
