"""Audio overviews made in the background, so that the learner's next topic usually has its podcast ready.

The Learn page starts the job for the topic the adaptive path suggests; a Streamlit rerun (any page, any
session) reads the job's progress from here. One render at a time, in a thread of its own at a lower CPU
priority, so that answering questions comes first on a small machine.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from rag_tutor.config import Settings
from rag_tutor.podcast import make_podcast, podcast_status

NICE = 10  # added to the render thread's niceness (Linux: per thread); the tutor's answers keep the CPU


@dataclass
class Job:
    topic: str
    share: float = 0.0  # 0..1, as make_podcast reports it
    text: str = "Loading the course material…"  # make_podcast reports once the index and embedder are loaded
    future: Future = field(default_factory=Future)

    @property
    def running(self) -> bool:
        return not self.future.done()

    @property
    def error(self) -> BaseException | None:
        return self.future.exception() if self.future.done() else None


_JOBS: dict[tuple[str, str, str], Job] = {}
_LOCK = threading.Lock()
_RUNNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="podcast-maker")


def _key(settings: Settings, topic: str) -> tuple[str, str, str]:
    return str(settings.home), str(settings.index_dir), topic


def _make(settings: Settings, job: Job):
    try:
        nice = min(19, os.getpriority(os.PRIO_PROCESS, os.getpid()) + NICE)
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError):
        pass  # not Linux, or not allowed: render at normal priority

    def progress(share: float, text: str) -> None:
        job.share, job.text = min(1.0, share), text

    return make_podcast(settings, job.topic, progress=progress)


def start(settings: Settings, topic: str) -> Job | None:
    """Start making the topic's podcast unless a fresh one is cached or it is already being made (a failed job
    is not retried in the background: the Podcast tab's button does that). The job, or None if none is needed."""
    key = _key(settings, topic)
    with _LOCK:
        job = _JOBS.get(key)
        if job is not None:
            return job
        status = podcast_status(settings, topic)
        if status.podcast is not None and not status.stale:
            return None
        job = Job(topic)
        job.future = _RUNNER.submit(_make, settings, job)
        _JOBS[key] = job
        return job


def current(settings: Settings, topic: str) -> Job | None:
    """The background job of the topic, if one was started in this app process."""
    with _LOCK:
        return _JOBS.get(_key(settings, topic))


def forget(settings: Settings, topic: str) -> None:
    """Drop a finished job (its podcast is on disk, or the learner asked to make it again)."""
    with _LOCK:
        job = _JOBS.get(_key(settings, topic))
        if job is not None and not job.running:
            del _JOBS[_key(settings, topic)]
