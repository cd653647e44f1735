"""rag-tutor: an offline tutor for Generative AI, grounded in its course material."""

__version__ = "0.1.0"
