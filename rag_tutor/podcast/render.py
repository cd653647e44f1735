"""Render a topic's script to one WAV file, cache it, and tell when it has gone stale.

Cache layout, under ``Settings.home/podcasts``::

    <topic>.json            the manifest: script with line and chapter times, key, voices, hashes
    <topic>-<key>.wav       the audio; <key> hashes the script text, the engine and its voices

A podcast is stale when a document it was written from (the topic's own document or the
glossary) no longer has the hash it had; it is re-rendered on demand, never silently.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..citations import SupportChecker
from ..config import Settings
from ..documents import load_document
from ..files import write_atomically
from ..errors import RagTutorError
from ..study.material import Material
from .audio import level, silence, trim, wav_duration, write_wav
from .script import GUIDE, HOST, PodcastError, Script, build_script
from .speech import Engine, pick_engine

SAME_SPEAKER_GAP_S = 0.2  # between two sentences of one turn
Progress = Callable[[float, str], None]  # share done (0..1), what is happening


@dataclass
class Podcast:
    topic: str
    audio: Path
    duration_s: float
    script: Script
    engine: str
    voices: dict[str, dict]
    key: str
    render_s: float
    created: float
    reused: bool = False  # True when served from the cache

    def transcript(self) -> str:
        """The transcript as text: time, speaker, line, and the guide's source number."""
        out = []
        for line in self.script.lines:
            cite = f" [{line.source}]" if line.source else ""
            out.append(f"{_clock(line.start_s)}  {line.speaker.upper():5}  {line.text}{cite}")
        out.append("")
        out += [f"[{n}] {c.title} › {c.section} ({c.source})" for n, c in enumerate(self.script.sources, 1)]
        return "\n".join(out)


@dataclass
class PodcastStatus:
    topic: str
    podcast: Podcast | None  # the cached one, if any (even when stale)
    stale: bool
    reason: str  # why it is stale, "" otherwise


def _clock(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def podcast_dir(settings: Settings) -> Path:
    return settings.home / settings.podcast.dir_name


def _manifest_path(settings: Settings, topic: str) -> Path:
    return podcast_dir(settings) / f"{topic}.json"


def _indexed(index_manifest: dict, sources: list[str]) -> dict[str, dict]:
    """source -> {"path", "sha256"} as the index recorded them, for the given documents."""
    docs = index_manifest["documents"]
    return {s: {"path": str(docs[s]["path"]), "sha256": docs[s]["sha256"]} for s in sources if s in docs}


def _disk_hash(path: Path) -> str | None:
    try:
        return load_document(path, path.parent).sha256
    except (RagTutorError, OSError):
        return None


def script_sources(material: Material, topic: str) -> list[str]:
    """The documents a topic's script reads: the topic's own and the glossary files."""
    info = material.topic(topic)
    own = [info.source] if info else []
    glossaries = sorted({t.citation.source for t in material.terms})
    return own + [g for g in glossaries if g not in own]


def load_cached(settings: Settings, topic: str) -> Podcast | None:
    path = _manifest_path(settings, topic)
    try:
        data = json.loads(path.read_text())
        script = Script.from_dict(data["script"])
        audio = podcast_dir(settings) / data["audio"]
        if not audio.is_file():
            return None
        return Podcast(topic, audio, data["duration_s"], script, data["engine"], data["voices"], data["key"],
                       data["render_s"], data["created"], reused=True)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or unreadable: rendered again


def podcast_status(settings: Settings, topic: str) -> PodcastStatus:
    """The cached podcast of a topic and whether a document it came from has changed since (cheap: hashes only)."""
    podcast = load_cached(settings, topic)
    if podcast is None:
        return PodcastStatus(topic, None, False, "")
    if not podcast.script.documents:
        return PodcastStatus(topic, podcast, True, "it was made by an earlier version of rag-tutor")
    for source, recorded in podcast.script.documents.items():
        current = _disk_hash(Path(recorded["path"]))
        if current != recorded["sha256"]:
            what = "was removed or cannot be read" if current is None else "has changed"
            return PodcastStatus(topic, podcast, True, f"{source} {what} since this podcast was made")
    return PodcastStatus(topic, podcast, False, "")


def _write_manifest(settings: Settings, podcast: Podcast) -> None:
    manifest = {"topic": podcast.topic, "audio": podcast.audio.name, "duration_s": podcast.duration_s,
                "engine": podcast.engine, "voices": podcast.voices, "key": podcast.key,
                "render_s": podcast.render_s, "created": podcast.created, "script": podcast.script.to_dict()}
    write_atomically(_manifest_path(settings, podcast.topic), json.dumps(manifest, indent=1))


def _key(script: Script, engine: str, voices: dict, settings: Settings) -> str:
    cfg = settings.podcast
    payload = {
        "lines": [(ln.speaker, ln.text, ln.chapter) for ln in script.lines], "engine": engine, "voices": voices,
        "audio": [cfg.gap_s, cfg.chapter_gap_s, cfg.loudness_dbfs, cfg.peak, SAME_SPEAKER_GAP_S],
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def _assemble(script: Script, clips: list[np.ndarray], rate: int, settings: Settings) -> np.ndarray:
    """Clips levelled and joined with pauses; sets each line's and chapter's start and end times."""
    cfg = settings.podcast
    parts: list[np.ndarray] = [silence(0.3, rate)]
    t = 0.3
    previous = None
    for line, clip in zip(script.lines, clips):
        if previous is not None:
            gap = (cfg.chapter_gap_s if line.chapter != previous.chapter else
                   cfg.gap_s if line.speaker != previous.speaker else SAME_SPEAKER_GAP_S)
            parts.append(silence(gap, rate))
            t += gap
        if previous is None or line.chapter != previous.chapter:
            script.chapters[line.chapter].start_s = round(t, 2)
        clip = level(trim(clip), cfg.loudness_dbfs, cfg.peak)
        line.start_s = round(t, 2)
        t += len(clip) / rate
        line.end_s = round(t, 2)
        parts.append(clip)
        previous = line
    parts.append(silence(0.5, rate))
    return np.concatenate(parts)


def render_podcast(settings: Settings, material: Material, index_manifest: dict, checker: SupportChecker,
                   topic: str, engine: Engine | None = None, force: bool = False,
                   progress: Progress | None = None) -> Podcast:
    """The topic's podcast: from the cache when it is fresh, else written, voiced, levelled and saved."""
    cfg = settings.podcast
    status = podcast_status(settings, topic)
    if status.podcast is not None and not status.stale and not force:
        return status.podcast
    documents = _indexed(index_manifest, script_sources(material, topic))
    for source, doc in documents.items():
        if _disk_hash(Path(doc["path"])) != doc["sha256"]:
            raise PodcastError(f"{source} changed since the index was built; rebuild it first (`rag-tutor index` "
                               "or the Library page)")
    started = time.perf_counter()
    say = progress or (lambda share, text: None)
    say(0.0, "Writing the script from the course material")
    script = build_script(material, topic, checker, cfg, settings.support_threshold)
    script.documents = documents
    engine = engine or pick_engine(cfg.engine)
    voices = engine.voices(cfg)
    voice_settings = {role: dataclasses.asdict(v) for role, v in voices.items()}
    key = _key(script, engine.name, voice_settings, settings)
    cached = status.podcast
    if cached is not None and cached.key == key and cached.audio.is_file():
        # The documents changed but not what is said (another topic's glossary entry, say): the audio stands.
        cached.script.documents = documents
        _write_manifest(settings, cached)
        say(1.0, "The script is unchanged; the recorded audio is kept")
        return cached

    clips: list[np.ndarray | None] = [None] * len(script.lines)
    rate = 22050
    total = len(script.lines)
    done = {HOST: 0, GUIDE: 0}
    for role in (GUIDE, HOST):
        rows = [i for i, ln in enumerate(script.lines) if ln.speaker == role]

        def tick(n: int, role: str = role) -> None:
            done[role] = n
            say(0.05 + 0.9 * sum(done.values()) / total, f"Recording the {role}'s lines ({n} of {len(rows)})")

        audio, rate = engine.synthesize([script.lines[i].text for i in rows], voices[role], tick)
        for i, clip in zip(rows, audio):
            clips[i] = clip
    say(0.96, "Levelling and joining the audio")
    mix = _assemble(script, [c for c in clips if c is not None], rate, settings)

    out_dir = podcast_dir(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    audio_path = out_dir / f"{topic}-{key}.wav"
    write_wav(audio_path, mix, rate)
    duration = wav_duration(audio_path)
    podcast = Podcast(topic, audio_path, duration, script, engine.name, voice_settings, key,
                      round(time.perf_counter() - started, 2), time.time())
    _write_manifest(settings, podcast)
    for old in out_dir.glob(f"{topic}-*.wav"):  # earlier renders of this topic
        if old != audio_path and re.fullmatch(rf"{re.escape(topic)}-[0-9a-f]{{16}}", old.stem):
            old.unlink(missing_ok=True)
    say(1.0, f"Done: {_clock(duration)}")
    return podcast


def make_podcast(settings: Settings, topic: str, force: bool = False, engine: Engine | None = None,
                 progress: Progress | None = None) -> Podcast:
    """`render_podcast` on the served index: loads the index, its study material and the embedder."""
    from ..embedder import load_embedder
    from ..index import check_embedder, load_index
    from ..study.material import load_material

    status = podcast_status(settings, topic)
    if status.podcast is not None and not status.stale and not force:
        return status.podcast
    index = load_index(settings.index_dir, settings.verify_index_hashes)
    embedder = load_embedder(settings.embedder_package)
    check_embedder(index, embedder.info.name, settings.index_dir)
    material = load_material(index, settings.study)
    checker = SupportChecker.for_index(embedder, index)
    return render_podcast(settings, material, index.manifest, checker, topic, engine, force, progress)
