"""The sentences an answer may be made of: which passage sentences can stand alone, lists read with their lead-in,
formulas with the line that explains them, and the ``Candidate`` the selector scores."""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from .citations import logical_lines
from .prompts import Context
from .vocabulary import term_case


class Chosen(NamedTuple):
    """One sentence of the selector's answer, and the passage sentences it is made of: itself, or a list's lead-in
    and items (``list_sentence``), each of which the app marks in the passage."""

    context: Context
    sentence: str
    quotes: tuple[str, ...]


# A reading list's entry: a bold "Authors (year), "Title"." opening. It tells where to read, and explains nothing.
_READING_ENTRY = re.compile(r"^\*\*[^*]{1,200}\((?:1[89]|20)\d\d[a-z]?\)[^*]*\*\*")


def reading_entry(sentence: str) -> bool:
    """Whether a sentence is a reading list's entry (see ``_READING_ENTRY``)."""
    return bool(_READING_ENTRY.match(sentence.lstrip("- ")))


# A sentence's first word, after a list's dash, bold marks and an article
_OPENING = re.compile(r"^[-\s]*(?:\*\*)?(?:(?:the|a|an)\s+)?(?P<first>[\w·-]+)", re.I)


def about_a_variant(sentence: str, term: str, question: str = "") -> bool:
    """Whether a sentence opens with another thing named after a term, a name holding it as a part: "DCGAN" or
    "StyleGAN" for GAN, "beta-VAE" for VAE, "CLIPScore" for CLIP. Its person or year is that thing's, not the
    term's. An abbreviation is matched in its own capitals; a term of several words is never a part; a name the
    question uses too ("GPT-3" in "Who wrote GPT-3?") is what it asks about."""
    m = _OPENING.match(sentence)
    if not m or " " in term:
        return False
    flags = term_case(term)
    first, name = m.group("first"), re.escape(term)
    if re.search(rf"(?<![\w-]){re.escape(first)}(?![\w-])", question, re.I):
        return False
    # the term itself, a plural, or the term as a qualifier ("GAN-based", "VAE-style") is no other thing
    return bool(re.search(name, first, flags)) and not re.fullmatch(rf"{name}(?:s|es|(?-i:-[a-z]+))?", first, flags)


# Sentences about the course itself ("This lesson explains...") answer no question about the subject.
_META = re.compile(r"^(this|the|each|every) (lesson|document|section|chapter|article|page|course)\b", re.I)
# A line that continues the one before it, most often a formula ("where w is the guidance scale"): no sentence alone.
_CONTINUATION = re.compile(r"^(?:where|and|or|but|with|which|whereas|so)\b")


class Candidate(NamedTuple):
    """A sentence the selector may choose, before it is scored."""

    similarity: float  # cosine to the question
    chosen: Chosen  # as it would be shown
    position: int  # of its sentence (a list's lead-in) in the passage
    vector: np.ndarray  # its sentence's embedding
    group: tuple[int, int]  # (passage number, the list's lead-in or the sentence itself)
    shaped: bool  # has the shape the question asks for (a year for "when", a name for "who")


def informative(sentence: str) -> bool:
    """Whether a passage sentence can answer something on its own: not about the course itself, not a
    list's lead-in ("...two terms with clear roles:"), not mostly a formula, not the rest of a line before it
    ("where w is the guidance scale")."""
    words = sentence.split()
    prose = sum(bool(re.fullmatch(r"[A-Za-z][a-z'-]*[,.;]?", w)) for w in words)
    return (not _META.match(sentence) and not _CONTINUATION.match(sentence) and not sentence.startswith("Related terms")
            and not sentence.rstrip(" []0-9").endswith(":") and prose >= 0.5 * len(words))


def ended(sentence: str) -> str:
    """A list item or heading closed with a full stop, so that excerpts joined on one line stay sentences
    ("...GAN architectures. GANs remained hard to train", not "...GAN architectures GANs remained...")."""
    body = sentence.rstrip()
    return body if body[-1:] in ".!?" else body.rstrip(":;,") + "."


_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def list_blocks(passage: str, sentences: list[str]) -> dict[int, list[int]]:
    """A passage's lists and the sentence that announces each ("Several factors drove this:"), as
    {position of the lead-in: positions of its items}; ``sentences`` are the passage's, in order."""
    items = {_ITEM.sub("", line).strip() for line in logical_lines(passage) if _ITEM.match(line)}
    blocks: dict[int, list[int]] = {}
    for i, sent in enumerate(sentences):
        if sent.rstrip().endswith(":"):
            run = []
            for j in range(i + 1, len(sentences)):
                if sentences[j].strip() not in items:
                    break
                run.append(j)
            if len(run) >= 2:
                blocks[i] = run
    return blocks


def formula_sentence(sents: list[str], pos: int) -> tuple[str, tuple[str, ...]] | None:
    """A "where ..." line explaining the formula just before it, as one sentence with the formula and its lead-in
    (one ending with ":"): "The objective is roughly: r - beta x KL, where beta controls how far it may move.", and
    the passage sentences it is made of. None for any other sentence."""
    formula = pos >= 1 and (not informative(sents[pos - 1]) or " = " in sents[pos - 1])
    if not formula or not re.match(r"where\b", sents[pos]):
        return None
    lead = (sents[pos - 2],) if pos >= 2 and sents[pos - 2].rstrip().endswith(":") else ()
    parts = (*lead, sents[pos - 1], sents[pos])
    return " ".join(p.strip() for p in parts[:-1]).rstrip(" .,;") + ", " + sents[pos].strip(), parts


def list_sentence(lead: str, items: list[str]) -> str:
    """A lead-in and its items as one sentence: "Three things: a; b; and c."."""
    body = [re.sub(r"[.;,]+$", "", item.strip()) for item in items]
    return f"{lead.rstrip()} {'; '.join(body)}."
