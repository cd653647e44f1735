"""Plain audio on NumPy arrays: read and write 16-bit WAV, pitch by resampling, loudness, joining clips."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from ..files import write_atomically


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A mono float32 signal in [-1, 1] and its sample rate (16-bit PCM; stereo is averaged)."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is read")
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype("float32") / 32768.0
        channels, rate = w.getnchannels(), w.getframerate()
    if channels > 1:
        raw = raw.reshape(-1, channels).mean(axis=1)
    return raw, rate


def write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    """16-bit mono WAV, written beside the target and renamed into place (never a half-written file)."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")

    def write(tmp: Path) -> None:
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm.tobytes())

    write_atomically(path, write)


def wav_duration(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def shift_pitch(audio: np.ndarray, factor: float) -> np.ndarray:
    """Raise (factor > 1) the pitch and formants by playing the clip faster; it gets shorter by ``factor``."""
    if factor == 1.0 or len(audio) < 2:
        return audio
    n = int(len(audio) / factor)
    return np.interp(np.arange(n) * factor, np.arange(len(audio)), audio).astype("float32")


def level(audio: np.ndarray, dbfs: float, peak: float) -> np.ndarray:
    """Bring the clip's RMS (over its voiced part) to ``dbfs``, then soft-limit peaks to ``peak``."""
    if not len(audio):
        return audio
    frame = 512
    usable = len(audio) // frame * frame
    frames = audio[:usable].reshape(-1, frame) if usable else audio.reshape(1, -1)
    energy = np.sqrt((frames ** 2).mean(axis=1))
    voiced = energy[energy > energy.max() * 0.1] if energy.max() > 0 else energy
    rms = float(np.sqrt((voiced ** 2).mean())) if len(voiced) else 0.0
    if rms < 1e-6:
        return audio
    out = audio * (10 ** (dbfs / 20) / rms)
    return (peak * np.tanh(out / peak)).astype("float32")


def silence(seconds: float, rate: int) -> np.ndarray:
    return np.zeros(int(round(seconds * rate)), dtype="float32")


def trim(audio: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    """The clip without silent lead-in and tail (engines pad differently)."""
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return audio[loud[0]: loud[-1] + 1] if len(loud) else audio[:0]
