"""The matcher: the embedder with a small LoRA adapter, trained to put a question's answering sentence above the
other candidate sentences of the passages retrieved for it.

MiniLM was trained to find texts on the same subject; among the sentences of the right passage it often prefers
one that repeats the question's words (a family's strengths for a question on why it is slow) to the one that
answers. The matcher learns that difference from questions with known answers: each (question, a candidate that
holds an answer, a candidate that does not) is one training example, and each question's own candidates are its hard
negatives. Its cosine is a feature of the sentence ranker (rankers.py), which weighs it against the others.

The adapter (peft, rank 8, ~150 k weights) is trained by ``python -m rag_tutor.rankers`` and shipped in
``ranker_weights/matcher``; it is merged into a copy of the embedder when loaded, so it costs one MiniLM pass per
question and per candidate sentence (candidates are corpus sentences: their vectors are cached). Trained with
several seeds (``train_seeds``), the directory holds one adapter per seed (``seed-0``, ``seed-1``, ...), and the
matcher is the embedder with the mean of their merged weights: one model still, whose answers depend less on the
luck of one seed's initialisation and batch order.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .embedder import loaded_once
from .files import save_adapter, write_folder_atomically
from .rankers import WEIGHTS_DIR

MATCHER_DIR = WEIGHTS_DIR / "matcher"
LORA_RANK = 8
LORA_ALPHA = 16
LORA_TARGETS = ["query", "key", "value", "dense"]  # BERT's attention and feed-forward projections
SCALE = 20.0  # cosines are multiplied by this before the softmax over a batch's candidates (sentence-transformers' default)


@dataclass(frozen=True)
class Triplet:
    """One training example: a question, a candidate sentence that answers it and one that does not."""

    question: str
    answer: str
    other: str


@dataclass(frozen=True)
class Training:
    """How the adapter is trained (the one configuration tried: no search over these values)."""

    epochs: int = 2
    learning_rate: float = 5e-4
    batch: int = 16
    seed: int = 0


def _fresh_model(package: str):
    """A new copy of the embedder's SentenceTransformer (the shared one must stay as it is)."""
    from .embedder import MODEL_LOAD_LOCK, Embedder

    with MODEL_LOAD_LOCK:
        return Embedder(package).model


class Matcher:
    """Cosines between a question and candidate sentences, from the embedder with the adapter merged in."""

    def __init__(self, model) -> None:
        self.model = model
        self._vectors: dict[str, np.ndarray] = {}

    @classmethod
    def load(cls, package: str, directory: Path = MATCHER_DIR) -> "Matcher | None":
        """The matcher whose adapter is in ``directory``, or the mean of the adapters in its subdirectories (one per
        seed, ``adapter_dirs``); None when there is none."""
        adapters = adapter_dirs(directory)
        if not adapters:
            return None
        import torch
        from peft import PeftModel
        from peft.tuners.lora.layer import LoraLayer

        # each layer's weight plus the mean of the adapters' changes to it (peft's deltas, which merging one adds)
        model = _fresh_model(package)
        names = [f"seed{i}" for i in range(len(adapters))]
        wrapped = PeftModel.from_pretrained(model[0].model, str(adapters[0]), adapter_name=names[0])
        for name, adapter in zip(names[1:], adapters[1:]):
            wrapped.load_adapter(str(adapter), adapter_name=name)
        with torch.no_grad():
            for layer in wrapped.modules():
                if isinstance(layer, LoraLayer):
                    layer.get_base_layer().weight += sum(layer.get_delta_weight(n) for n in names) / len(names)
        model[0].model = wrapped.unload()
        model.eval()
        return cls(model)

    def _encode(self, texts: list[str]) -> np.ndarray:
        return self.model.encode(texts, normalize_embeddings=True, convert_to_numpy=True).astype("float32")

    def similarities(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """The cosine of each text to the question."""
        missing = sorted({t for t in texts if t not in self._vectors})
        if missing:
            if len(self._vectors) > 50_000:  # a long-running app: start the cache afresh
                self._vectors.clear()
            self._vectors.update(zip(missing, self._encode(missing)))
        if not texts:
            return np.zeros(0, dtype="float32")
        return np.stack([self._vectors[t] for t in texts]) @ self._encode([question])[0]


def adapter_dirs(directory: Path) -> list[Path]:
    """The adapters a matcher is made of: ``directory`` itself when it holds one, else its subdirectories that do
    (one per seed), in name order; [] for none."""
    if (directory / "adapter_config.json").is_file():
        return [directory]
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if (p / "adapter_config.json").is_file())


@loaded_once
def load_matcher(package: str, directory: Path = MATCHER_DIR) -> Matcher | None:
    """``Matcher.load``, once per process (the app's tutor and the CLI's preload share it)."""
    return Matcher.load(package, directory)


def matcher_for(settings) -> Matcher | None:
    """The shipped matcher when the settings use it: rule ``learned_matcher``, which only the sentence ranker reads."""
    if not (settings.learned_matcher and settings.learned_sentence_ranker):
        return None
    return load_matcher(settings.embedder_package)


def train(package: str, triplets: Sequence[Triplet], out: Path | None = None, training: Training = Training(),
          progress: Callable[[int, int, float], None] | None = None) -> Matcher:
    """Train an adapter on the triplets; save it to ``out`` (replacing what is there only once it is complete).

    Each batch's softmax runs over every candidate in it: a question's own other candidate and the other questions'
    candidates are its negatives, except those of the same question (another sentence that answers it).
    ``progress(step, steps, loss)`` is called after each step."""
    import torch
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(training.seed)
    order = random.Random(training.seed)
    model = _fresh_model(package)
    model[0].model = get_peft_model(model[0].model, LoraConfig(
        r=LORA_RANK, lora_alpha=LORA_ALPHA, target_modules=LORA_TARGETS, lora_dropout=0.0))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=training.learning_rate)

    def embed(texts: list[str]):
        return model(model.preprocess(texts))["sentence_embedding"]  # normalised by the model's last module

    examples = list(triplets)
    steps = training.epochs * -(-len(examples) // training.batch)
    step = 0
    for _ in range(training.epochs):
        order.shuffle(examples)
        for start in range(0, len(examples), training.batch):
            batch = examples[start:start + training.batch]
            q = embed([t.question for t in batch])
            docs = embed([t.answer for t in batch] + [t.other for t in batch])
            logits = SCALE * q @ docs.T
            n = len(batch)
            same = torch.tensor([[batch[i].question == batch[j].question and i != j for j in range(n)]
                                 for i in range(n)])
            mask = torch.cat([same, torch.zeros(n, n, dtype=torch.bool)], dim=1)
            loss = torch.nn.functional.cross_entropy(logits.masked_fill(mask, -1e4), torch.arange(n))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            step += 1
            if progress:
                progress(step, steps, loss.item())
    model.eval()
    if out is not None:
        save_adapter(model[0].model, package, out)
    model[0].model = model[0].model.merge_and_unload()
    return Matcher(model)


def train_seeds(package: str, triplets: Sequence[Triplet], out: Path, seeds: int, training: Training = Training(),
                progress: Callable[[int, int, float], None] | None = None) -> Matcher:
    """``train`` once per seed (``training.seed``, the next, ...), each adapter saved in ``out``/seed-<seed>; the
    matcher is their mean (``Matcher.load``). What was in ``out`` is replaced only once all are trained. One seed:
    ``train`` itself, its adapter in ``out``."""
    if seeds <= 1:
        return train(package, triplets, out, training, progress)

    def fill(folder: Path) -> None:
        for seed in range(training.seed, training.seed + seeds):
            train(package, triplets, folder / f"seed-{seed}", replace(training, seed=seed), progress)

    write_folder_atomically(out, fill)
    matcher = Matcher.load(package, out)
    assert matcher is not None  # just written
    return matcher
