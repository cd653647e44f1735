"""A tiny course for the tests of the query stage: a few glossary entries and lesson passages, its vocabulary, and a
stand-in for MiniLM's cosine."""

from __future__ import annotations

from rag_tutor.chunking import Chunk
from rag_tutor.vocabulary import Vocabulary


def entry(chunk_id: str, name: str, definition: str) -> Chunk:
    """A glossary entry of the test vocabulary."""
    return Chunk(chunk_id, "corpus/glossary.md", "Glossary", name, "glossary", f"- **Definition:** {definition}")


CHUNKS = [
    entry("g#0", "Normalizing flow (NF)", "A model that maps data to noise with invertible layers."),
    entry("g#1", "Beam search", "A decoding method that keeps several candidate sequences."),
    entry("g#2", "Perplexity", "The exponential of the average negative log-likelihood per token."),
    Chunk("f#0", "corpus/08-flows.md", "Normalizing flows", "Why flows are exact", "flows",
          "Invertible layers let a flow compute exact likelihoods with the change of variables formula. "
          "Dinh and colleagues proposed early flows in 2014."),
    Chunk("d#0", "corpus/15-decoding.md", "Decoding", "Beam search versus sampling", "decoding",
          "Beam search keeps the best partial sequences, while sampling draws each token at random."),
]

VOCABULARY = Vocabulary(CHUNKS)


KINDS = [{"images", "audio", "text", "video"}, {"generator", "discriminator"}, {"greedy", "beam"}, {"sequences", "tokens"}]


def alike(text: str, phrases: list[str]) -> list[float]:
    def score(phrase: str) -> float:
        words = set(phrase.lower().split())
        same = any(text.lower() in kind and words & kind for kind in KINDS)
        return (0.6 if same else 0.05) - 0.01 * len(words)  # a longer phrase with the same word: a little less alike
    return [score(p) for p in phrases]
