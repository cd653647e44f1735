"""The reader: a cross-encoder that reads a question and a candidate sentence together and scores how well the
sentence answers it.

The matcher (matcher.py) embeds the question and the sentence apart and compares the two vectors; the reader feeds
both through MiniLM at once, so each word of the question attends to each word of the sentence (is this the reason
asked for, or the thing's strengths?). No cross-encoder ships its weights on PyPI, so it is MiniLM itself (the
embedder's weights) with a one-number head and a LoRA adapter, trained here on the same questions with known
answers as the rankers: each question's candidate sentences are one softmax, and the loss is that of the
candidates that hold an answer (as the sentence ranker's ``fit_listwise``). A candidate is read under its passage's
section heading, which says what the sentence is about when the sentence itself does not.

The selector orders its candidates by the sentence ranker's log-odds plus ``reader_weight`` times the reader's
score (answer.Tutor.selection); whether to answer at all is still judged on the ranker's log-odds alone.

The adapter and head (~0.7 M weights, rank 16) are trained by ``python -m rag_tutor.rankers`` and shipped in
``ranker_weights/reader``; loading merges them into a copy of MiniLM, and one question's candidates cost one MiniLM
pass over (question, sentence) pairs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from .embedder import loaded_once
from .files import save_adapter
from .rankers import WEIGHTS_DIR

READER_DIR = WEIGHTS_DIR / "reader"
LORA_RANK = 16
LORA_ALPHA = 32
LORA_TARGETS = ["query", "key", "value", "dense"]  # BERT's attention, feed-forward and pooler projections
MAX_TOKENS = 160  # question and sentence together; longer pairs lose the sentence's end


@dataclass(frozen=True)
class Reading:
    """One question's candidates as the reader learns from them: each read as ``read_text`` gives it, and whether
    each holds one of the question's answers."""

    question: str
    texts: tuple[str, ...]
    labels: tuple[int, ...]

    @property
    def teaches(self) -> bool:
        """Whether it teaches anything about choosing among candidates: some hold an answer and some do not."""
        return 0 < sum(self.labels) < len(self.labels)


@dataclass(frozen=True)
class Training:
    """How the reader is trained (one configuration, measured against a full fine-tune at 3e-5 for 2 epochs, which
    it beat on the tuning sets; no search over these values)."""

    epochs: int = 3
    learning_rate: float = 3e-4
    seed: int = 0


class NotLearned(RuntimeError):
    """A trained reader that puts an answering candidate first for fewer of its own training questions than it was
    asked to (``train``'s ``least_fit``): it is not saved."""


def firsts_held(reader: "Reader", readings: Sequence[Reading]) -> int:
    """For how many of the readings the reader scores a candidate that holds an answer highest."""
    return sum(r.labels[int(np.argmax(reader.scores(r.question, r.texts)))] == 1 for r in readings)


def read_text(section: str, sentence: str) -> str:
    """A candidate as the reader reads it: under its passage's section heading."""
    return f"{section}: {sentence}" if section else sentence


def _fresh_model(package: str):
    """MiniLM (the embedder's weights) with a new one-number head, and its tokenizer."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging

    from .embedder import MODEL_LOAD_LOCK, package_model_path

    path = str(package_model_path(package))
    # The head is new by design: no "newly initialized ... MISSING" report. Transformers' verbosity is global, so it
    # is lowered and restored under the load lock: two loads at once (the app's preload and its first question) had
    # let the second load report at the first one's restored verbosity, and leave the first one's lowered one behind.
    with MODEL_LOAD_LOCK:
        verbosity = logging.get_verbosity()
        logging.set_verbosity_error()
        try:
            return (AutoModelForSequenceClassification.from_pretrained(path, num_labels=1),
                    AutoTokenizer.from_pretrained(path))
        finally:
            logging.set_verbosity(verbosity)


class Reader:
    """Scores (question, candidate) pairs: higher for a candidate more likely to be the one that answers."""

    def __init__(self, model, tokenizer) -> None:
        self.model = model
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, package: str, directory: Path = READER_DIR) -> "Reader | None":
        """The reader whose adapter is in ``directory`` (None when there is none), merged into MiniLM."""
        if not (directory / "adapter_config.json").is_file():
            return None
        from peft import PeftModel

        model, tokenizer = _fresh_model(package)
        model = PeftModel.from_pretrained(model, str(directory)).merge_and_unload()
        model.eval()
        return cls(model, tokenizer)

    def scores(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """Each text's score for the question (a logit: only the differences between a question's texts mean
        anything)."""
        if not texts:
            return np.zeros(0, dtype="float32")
        import torch

        with torch.no_grad():
            batch = self.tokenizer([question] * len(texts), list(texts), truncation=True, max_length=MAX_TOKENS,
                                   padding=True, return_tensors="pt")
            return self.model(**batch).logits[:, 0].float().numpy()


@loaded_once
def load_reader(package: str, directory: Path = READER_DIR) -> Reader | None:
    """``Reader.load``, once per process (the app's preload and its first question share it)."""
    return Reader.load(package, directory)


def reader_for(settings) -> Reader | None:
    """The shipped reader when the settings use it: rule ``learned_reader``, which only the sentence ranker's
    order reads."""
    if not (settings.learned_reader and settings.learned_sentence_ranker and settings.reader_weight):
        return None
    return load_reader(settings.embedder_package)


def train(package: str, readings: Sequence[Reading], out: Path | None = None, training: Training = Training(),
          progress: Callable[[int, int, float], None] | None = None, least_fit: int = 0) -> Reader:
    """Train the head and a LoRA adapter on the readings, one question per step; save them to ``out`` (replacing
    what is there only once complete). A question none or all of whose candidates hold an answer teaches nothing
    about choosing among them and is left out. ``progress(step, steps, loss)`` is called after each step.

    Training can fail to learn: the same recipe on 879 questions instead of 459 left a reader that put an answer
    first for 49 of 150 of its own training questions, where the shipped one does for 120 (2026-12-06). So when it
    puts an answering candidate first for fewer than ``least_fit`` of the questions it learned from, nothing is
    saved and ``NotLearned`` is raised."""
    import torch
    from peft import LoraConfig, get_peft_model

    examples = [r for r in readings if r.teaches]
    if not examples:
        raise ValueError("no question has both a candidate that answers it and one that does not")
    torch.manual_seed(training.seed)
    order = random.Random(training.seed)
    model, tokenizer = _fresh_model(package)
    # task SEQ_CLS makes peft train and save the classification head itself (naming it again listed it twice)
    model = get_peft_model(model, LoraConfig(r=LORA_RANK, lora_alpha=LORA_ALPHA, target_modules=LORA_TARGETS,
                                             lora_dropout=0.05, task_type="SEQ_CLS"))
    steps = training.epochs * len(examples)
    warmup = max(1, steps // 10)
    optimiser = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=training.learning_rate,
                                  weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then linear decay to 0
        optimiser, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup)))
    model.train()
    step = 0
    for _ in range(training.epochs):
        order.shuffle(examples)
        for r in examples:
            batch = tokenizer([r.question] * len(r.texts), list(r.texts), truncation=True, max_length=MAX_TOKENS,
                              padding=True, return_tensors="pt")
            logits = model(**batch).logits[:, 0]
            answers = torch.tensor(r.labels, dtype=torch.bool)
            loss = torch.logsumexp(logits, 0) - torch.logsumexp(logits[answers], 0)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if progress:
                progress(step, steps, loss.item())
    model.eval()
    if least_fit:
        fit = firsts_held(Reader(model, tokenizer), examples)
        if fit < least_fit:
            raise NotLearned(f"the trained reader puts an answer first for {fit} of the {len(examples)} questions it "
                             f"learned from, fewer than {least_fit}")
    if out is not None:
        save_adapter(model, package, out)
    return Reader(model.merge_and_unload(), tokenizer)
