"""Shared fixtures: tiny corpora written on the fly, the real embedder, and an index of the shipped corpus."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

from rag_tutor.config import load_settings  # noqa: E402

GLOSSARY = """---
title: Tiny glossary
topic: glossary
---

# Tiny glossary

## Mode collapse
- **Definition:** A GAN failure in which the generator produces only a few kinds of output.
- **Topic:** gan
- **Related:** Generator, Discriminator

## Generator
- **Definition:** The GAN network that maps random noise to samples and tries to fool the discriminator.
- **Topic:** gan
- **Related:** Discriminator, Mode collapse

## Discriminator
- **Definition:** The GAN network that learns to tell real training samples from fakes made by the generator.
- **Topic:** gan
- **Related:** Generator
"""

VAE = """---
title: Variational autoencoders
topic: vae
order: 5
---

# Variational autoencoders

A short introduction.

## Who introduced the VAE

The variational autoencoder was introduced by Kingma and Welling in 2013.

## The ELBO objective

A VAE is trained by maximizing the evidence lower bound (ELBO): a reconstruction term minus a KL divergence to the prior.
"""

DIFFUSION = """---
title: Diffusion models
topic: diffusion
---

# Diffusion models

## The forward process

The forward process gradually corrupts an image with Gaussian noise over many steps.

## The reverse process

A network learns to denoise step by step; sampling starts from pure noise and runs the reverse process.
"""


@pytest.fixture
def tiny_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "glossary.md").write_text(GLOSSARY)
    (corpus / "05-vae.md").write_text(VAE)
    (corpus / "07-diffusion.md").write_text(DIFFUSION)
    return corpus


@pytest.fixture
def settings_for(tmp_path: Path):
    """Settings pointing at a given corpus and a fresh index folder under tmp_path."""

    def make(corpus: Path, **overrides):
        return load_settings(env={}, corpus_dirs=[corpus], index_dir=tmp_path / "index", home=tmp_path / "home",
                             **overrides)

    return make


@pytest.fixture(scope="session")
def embedder():
    from rag_tutor.embedder import load_embedder

    return load_embedder(load_settings(env={}).embedder_package)


@pytest.fixture(scope="session")
def course_index(tmp_path_factory, embedder):
    """The shipped corpus indexed once for the whole session."""
    from rag_tutor.index import build_index

    settings = load_settings(env={}, index_dir=tmp_path_factory.mktemp("course") / "index")
    build_index(settings, embedder=embedder)
    return settings


@pytest.fixture(scope="session")
def course_retriever(course_index, embedder):
    from rag_tutor.index import load_index
    from rag_tutor.retrieval import Retriever

    return Retriever(load_index(course_index.index_dir), embedder, course_index)


@pytest.fixture
def cli():
    """Run `python -m rag_tutor ...` in a subprocess, as a user would."""
    import subprocess

    def run(*args: str, env: dict | None = None, timeout: float = 300, input: str | None = None):
        full_env = {**os.environ, **(env or {})}
        return subprocess.run([sys.executable, "-m", "rag_tutor", *map(str, args)], capture_output=True, text=True,
                              env=full_env, timeout=timeout, cwd=ROOT, input=input)

    return run


@pytest.fixture(scope="session")
def rendered(course_index, tmp_path_factory):
    """The real podcast of one topic, rendered once with the Piper voice into a temporary home."""
    from rag_tutor.podcast.speech import PiperEngine

    if not PiperEngine.available():
        pytest.fail("the Piper engine is part of the setup (requirements.lock); run `make setup`")
    from rag_tutor.podcast.render import make_podcast

    settings = replace(course_index, home=tmp_path_factory.mktemp("podcast-home"))
    shares = []
    podcast = make_podcast(settings, "diffusion", progress=lambda share, text: shares.append(share))
    return settings, podcast, shares
