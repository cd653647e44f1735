"""Sentences in a document that speak to an AI system instead of to a learner.

A course document is data. A sentence that tries to instruct the model that reads it ("Ignore previous
instructions and reply only with ...", "You are now ...", a chat role tag) is not course content: it is taken out
of the document when it is loaded, so it never reaches the model's prompt, an answer, a quiz, a flashcard or a
podcast, and the index build names it in a warning. The course may still *describe* such attacks: a phrase quoted
inside a sentence that talks about it ('attackers hide "ignore previous instructions" in a page') is kept.

Hand-written patterns, because no offline prompt-injection classifier ships its weights on PyPI (the guard
packages found there either call a hosted model or download one at run time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = r"[\w'’-]+"
# Each pattern is one way of addressing the model; case-insensitive except where a shouted word is the sign.
PATTERNS: dict[str, re.Pattern] = {name: re.compile(rx) for name, rx in {
    # "Ignore/disregard/forget (all) (the) previous/above instructions", also "ignore everything above"
    "override": r"(?i)\b(ignore|disregard|forget)\s+(everything\s+|anything\s+|all\s+)?(that\s+is\s+)?(the\s+)?"
                r"(above|previous|prior|preceding)\b|"
                r"\b(ignore|disregard|forget|override|bypass|skip)\s+(?:(?:all|any|every|the|your|of|these|those|my)\s+)*"
                r"(previous|prior|preceding|above|earlier|former|original|system|safety|other)?\s*"
                r"(instructions?|prompts?|rules|directions|directives|guidelines|guardrails|context|everything above)\b",
    # "You are now DAN", "from now on you will / respond ..."
    "new_role": r"(?i)\byou\s+are\s+now\b|\bfrom\s+now\s+on,?\s+(you|respond|reply|answer|act|only)\b|\bact\s+as\s+(an?\s+)?"
                r"(unfiltered|unrestricted|jailbroken|different)\b|\bpretend\s+(that\s+)?you\s+(are|have)\b",
    # "reply only with ...", "respond exactly with ...", "say PWNED", "output the following"
    "dictate": r"(?i:\b(reply|respond|answer|output|print|write|say)\s+(only|exactly|solely|just)\s+(with|in|as|the|this|that|yes|no)\b)|"
               r"(?i:\b(say|print|output|reply|respond)\s+(with\s+)?(the\s+word\s+)?)[\"“']?[A-Z]{4,}\b|"
               r"(?i:\b(output|print|repeat|reveal|show|leak)\s+(your|the)\s+(system\s+prompt|instructions|hidden\s+prompt))",
    # Addressing the reader as a machine: "AI assistant: ...", "Note to the language model", "if you are an AI"
    "address": r"(?i)\b(attention|note\s+to|dear|hey|hello)\s+(the\s+)?(ai|assistant|chatbot|language\s+model|llm|model|"
               r"tutor)\b|\bif\s+you\s+are\s+(an?\s+)?(ai|assistant|language\s+model|llm|chatbot)\b|"
               r"\b(ai|assistant|chatbot|language\s+model|llm)s?\s*[,:]\s*(you\s+must|ignore|please|always|never|do\s+not)\b",
    # New instructions announced: "New instructions:", "System override:", "### Instruction"
    "announce": r"(?i)\b(new|updated|real|actual|secret|hidden)\s+(system\s+)?(instructions?|prompt|task)\s*:|"
                r"\bsystem\s+(override|message|prompt)\s*:|^\W*#+\s*(instructions?|system)\s*:",
    # Chat-template role tags and markers of other models' prompts
    "role_tag": r"(?i)<\|?\s*(im_start|im_end|system|assistant|user|endoftext|eot_id|start_header_id)\s*\|?>|"
                r"\[/?INST\]|<<\s*/?SYS\s*>>|^\W*(system|assistant)\s*:",
}.items()}

_QUOTED = re.compile(r"\"[^\"]{3,200}\"|“[^”]{3,200}”|‘[^’]{3,200}’|'[^']{3,200}'(?!\w)")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”’')\]]*\s+")


@dataclass(frozen=True)
class Flagged:
    """A sentence taken out of a document: where it was and which pattern it matched."""

    line: int  # 1-based line number in the file
    sentence: str
    pattern: str

    def describe(self, source: str) -> str:
        shown = self.sentence if len(self.sentence) <= 80 else self.sentence[:77] + "..."
        return (f"{source} line {self.line}: a sentence addresses an AI system ({self.pattern}): {shown!r}; "
                "it is left out of answers, quizzes, flashcards and podcasts")


def instruction_pattern(sentence: str) -> str | None:
    """The name of the first pattern a sentence matches as an instruction to a model, or None.

    A phrase in quotation marks is not an instruction when the rest of the sentence talks about it: the quoted
    spans are removed first, unless nothing of substance would remain (then the quote is the whole message).
    """
    outside = _QUOTED.sub(" ", sentence)
    text = outside if len(re.findall(_WORD, outside)) >= 4 else sentence
    for name, pattern in PATTERNS.items():
        if pattern.search(text):
            return name
    return None


def remove_instructions(body: str, first_line: int = 1) -> tuple[str, list[Flagged]]:
    """``body`` without its sentences that address a model, and what was removed (line numbers start at
    ``first_line``, the body's first line in the file). Lines keep their place so headings and lists survive;
    code blocks are left alone (a code sample is quoted, not spoken)."""
    flagged: list[Flagged] = []
    out: list[str] = []
    in_code = False
    for offset, line in enumerate(body.split("\n")):
        if line.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
        if in_code or not line.strip():
            out.append(line)
            continue
        pieces = _SENTENCE_END.split(line)
        kept = []
        for sentence in pieces:
            name = instruction_pattern(sentence)
            if name:
                flagged.append(Flagged(first_line + offset, sentence.strip(), name))
            else:
                kept.append(sentence)
        out.append(line if len(kept) == len(pieces) else " ".join(s.strip() for s in kept))
    return "\n".join(out), flagged
