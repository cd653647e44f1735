"""`rag-tutor podcast`: render (or reuse) a topic's audio overview and print its transcript."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from ..config import Settings
from ..errors import RagTutorError
from ..index import load_index
from ..study.material import load_material
from ..study.path import resolve_topic
from .render import make_podcast, podcast_status
from .script import PodcastError


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("podcast", help="a 2-4 minute two-voice audio overview of a topic (WAV + transcript)")
    p.add_argument("--topic", required=True, help="topic, e.g. vae or 'diffusion models'")
    p.add_argument("--out", type=Path, help="also copy the audio to this file")
    p.add_argument("--force", action="store_true", help="render again even if the cached podcast is fresh")
    p.add_argument("--index-dir", type=Path, help="index folder (default: index/)")
    p.add_argument("--json", action="store_true", help="print the podcast as JSON (audio path, transcript, chapters)")


def _bar(share: float, text: str) -> None:
    width = 30
    filled = int(share * width)
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {share:4.0%} {text[:60]:60}", end="", file=sys.stderr,
          flush=True)
    if share >= 1.0:
        print(file=sys.stderr)


def cmd_podcast(args: argparse.Namespace, settings: Settings) -> int:
    material = load_material(load_index(settings.index_dir, settings.verify_index_hashes), settings.study)
    topic = resolve_topic(args.topic, material)
    if topic is None:
        known = ", ".join(t.topic for t in material.topics)
        raise PodcastError(f'no course topic matches "{args.topic}"; pass one of: {known}')
    status = podcast_status(settings, topic)
    if status.stale and not args.json:
        print(f"The cached podcast is out of date ({status.reason}); rendering it again.", file=sys.stderr)
    podcast = make_podcast(settings, topic, force=args.force, progress=None if args.json else _bar)
    if args.out:
        try:
            shutil.copyfile(podcast.audio, args.out)
        except OSError as exc:
            raise RagTutorError(f"cannot write {args.out}: {exc.strerror}") from None
    if args.json:
        print(json.dumps({
            "topic": topic, "title": podcast.script.title, "audio": str(args.out or podcast.audio),
            "duration_s": round(podcast.duration_s, 2), "engine": podcast.engine, "voices": podcast.voices,
            "reused": podcast.reused, "render_s": podcast.render_s,
            "chapters": [{"title": c.title, "start_s": c.start_s} for c in podcast.script.chapters],
            "lines": [{"speaker": ln.speaker, "text": ln.text, "start_s": ln.start_s, "end_s": ln.end_s,
                       "source": ln.source} for ln in podcast.script.lines],
            "sources": [{"n": n, **c.to_dict(), "title": c.title} for n, c in enumerate(podcast.script.sources, 1)],
        }, ensure_ascii=False))
        return 0
    how = "cached" if podcast.reused else f"rendered in {podcast.render_s:.0f} s"
    print(f"# {podcast.script.title}: audio overview ({podcast.duration_s / 60:.1f} min, {podcast.engine}, {how})")
    print(f"audio: {args.out or podcast.audio}\n")
    print(podcast.transcript())
    return 0


HANDLERS = {"podcast": cmd_podcast}
