"""Question (+ conversation) -> passages: dense FAISS and BM25 rankings fused by weighted RRF."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .config import Settings
from .errors import EmptyQuestionError
from .index import LoadedIndex, keyword_tokens, load_index

# Words that point back into the conversation ("Who introduced it?").
_ANAPHORA = re.compile(
    r"\b(it|its|it's|they|them|their|theirs|this|that|these|those|he|she|his|her|the same|one|ones|there|"
    r"the (model|method|technique|approach|idea|paper|family|process|metric|term)s?)\b",
    re.I,
)


@dataclass
class Passage:
    """One retrieved chunk, ready to show and cite."""

    source: str
    title: str
    section: str
    text: str
    score: float  # fused reciprocal-rank score (higher is better)
    chunk_id: str = ""
    topic: str = ""
    similarity: float = 0.0  # cosine between the (expanded) question and the passage

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RetrievalResult:
    passages: list[Passage]
    query: str  # the question as searched (history-expanded for a follow-up)
    top_similarity: float  # best cosine over the whole index: the decline signal
    uses_history: bool = False
    notices: list[str] = field(default_factory=list)
    course_terms: list[str] = field(default_factory=list)  # glossary terms the question names
    resolved: str | None = None  # a follow-up with its pronoun replaced by the earlier subject
    unknown_names: list[str] = field(default_factory=list)  # names in the question that no document mentions


def entry_names(chunk) -> list[str]:
    """The names a glossary entry goes by ("Variational autoencoder (VAE)" -> both); none for other chunks."""
    if chunk.topic != "glossary" or not chunk.section or chunk.section == chunk.title:
        return []
    m = re.match(r"^(.*?)\s*\(([^)]+)\)\s*$", chunk.section)
    return [n.strip() for n in ([m.group(1), m.group(2)] if m else [chunk.section]) if n.strip()]


def glossary_names(chunks) -> list[str]:
    """Every glossary term under each of its names, in corpus order."""
    return list(dict.fromkeys(name for c in chunks for name in entry_names(c)))


def course_term_patterns(chunks) -> dict[str, re.Pattern]:
    """Glossary terms specific enough to mark a question as on-topic: multi-word terms and abbreviations.

    The small embedder scores terse acronym questions ("What is the ELBO?") low; naming a course
    term is a second, independent sign that the material covers the question.
    """
    patterns: dict[str, re.Pattern] = {}
    ordinary = ordinary_words(chunks)
    for name in glossary_names(chunks):
        if is_abbreviation(name):  # GAN, VAE, LoRA, RLHF
            # Learners type "lora" and "llms": an abbreviation matches in any case unless the documents also
            # use it as an ordinary lower-case word ("clip" in "an audio clip" is not CLIP).
            flags = 0 if name.lower() in ordinary else re.I
            patterns[name] = re.compile(rf"\b{re.escape(name)}s?\b", flags)
        elif len(name.split()) >= 2:
            patterns[name] = re.compile(rf"\b{re.escape(name)}s?\b", re.I)
    return patterns


def ordinary_words(chunks) -> set[str]:
    """Words the documents write in lower case ("is", "clip"): an abbreviation spelt like one (IS, the Inception
    Score; CLIP) is that abbreviation only when written in capitals."""
    return set(re.findall(r"\b[a-z][a-z-]*\b", "\n".join(c.text for c in chunks)))


def is_abbreviation(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*", name))


def terms_pattern(names: list[str], ordinary: set[str] = frozenset()) -> re.Pattern | None:
    """One pattern matching any of the names, singular or plural, with its article if any ("a VAE");
    longest names first, so that "Diffusion model" wins over "Diffusion". Case is ignored, except for an
    abbreviation that is also an ordinary word: "What is X?" does not name IS (the Inception Score)."""
    if not names:
        return None

    def alternative(name: str) -> str:
        exact = is_abbreviation(name) and name.lower() in ordinary
        return f"(?-i:{re.escape(name)})" if exact else re.escape(name)

    alternatives = "|".join(alternative(n) for n in sorted(names, key=lambda n: (-len(n), n)))
    return re.compile(r"\b(?:(?:a|an|the)\s+)?(?:" + alternatives + r")(?:s|es)?\b", re.I)


def depends_on_history(question: str, names: re.Pattern | None = None) -> bool:
    """A question that refers back (pronoun, "the model"), or is too short to stand alone: given the course's
    terms, a short question naming none of them ("any weaknesses I should know about?"), else 3 words or fewer."""
    words = re.findall(r"\w+", question)
    if _ANAPHORA.search(question):
        return True
    if names is None:
        return len(words) <= 3
    return len(words) <= 8 and not names.search(question)  # "What about GANs?" names its own subject


_ASKS = re.compile(
    r"^(?:(?:can|could) you |please )?(?:what (?:is|are|was|were|does|do)|who (?:is|was|are|were)|"
    r"tell me (?:more )?about|explain|describe|define|how (?:do|does|did|is|are)|why (?:do|does|is|are)|"
    r"i (?:want|would like|'d like) to (?:learn|know|understand) about|let's talk about|what about)\s+", re.I)
_PRONOUN = re.compile(r"\b(it|they|them|its|their)\b", re.I)


def subject_of(turn: str, names: re.Pattern | None = None) -> str | None:
    """What an earlier question was about: the longest course term it names ("Why are diffusion models
    so popular?" -> "diffusion models"), else the object of a plain question ("What is a VAE?" -> "a VAE");
    None when neither is clear."""
    if names is not None:
        found = [m.group(0) for m in names.finditer(turn)]
        if found:
            return max(found, key=len)
    text = turn.strip().rstrip("?.! ")
    m = _ASKS.match(text)
    subject = re.sub(r"\s+(work|mean|do|used for)$", "", text[m.end():]) if m else ""
    return subject if subject and len(subject.split()) <= 6 else None


def resolve_follow_up(question: str, history: list[str], names: re.Pattern | None = None) -> str | None:
    """The follow-up made to stand alone: its first pronoun replaced by the earlier subject ("Who introduced
    it?" after "What is a VAE?" -> "Who introduced a VAE?"), or, with no pronoun, the subject put in front
    ("About FID: any weaknesses?"); None if the earlier subject is unclear or the question names its own."""
    subject = next((s for s in (subject_of(t, names) for t in reversed(history)) if s), None)
    if subject is None:
        return None
    if not _PRONOUN.search(question):
        if names is None or (names.search(question) and not _ANAPHORA.search(question)):
            return None  # it names its own subject
        if subject.lower() in question.lower():
            return None
        return f"About {subject}: {question}"

    def name(m: re.Match) -> str:
        if m.group(1).lower() in ("its", "their"):
            return f"{subject}'" if subject.endswith("s") else f"{subject}'s"
        return subject

    return _PRONOUN.sub(name, question, count=1)


# A definition question and its subject: "What is a sample in generative modeling?", "Define DDPM.",
# "What does RLHF stand for?".
_DEFINITION = re.compile(
    r"^(?:(?:can you |could you |please )?(?:what(?:'s| is| are)|define|explain|describe)\s+(?:(?:a|an|the)\s+)?"
    r"(?P<x>.+?)|what (?:does|do) (?:(?:a|an|the)\s+)?(?P<y>.+?)\s+(?:mean|stand for|refer to)"
    r"(?:\s+or\s+(?:mean|stand for|refer to))?)\s*[?.!]*$", re.I)
# What may follow the term for it to be the subject ("a sample in generative modeling", "BLEU used for"),
# rather than a word of a longer one ("transformer decoder", "GAN training").
_QUALIFIED = re.compile(r"(?:s|es)?(?:$|\s*[,(:?]|\s+(?:in|of|for|from|when|with|within|on|during|under|used|"
                        r"exactly|actually|really|and|or)\b)", re.I)


_TOKEN_EDGES = "\"'`()[]{}<>,;:!?¿¡*“”‘’"


def names_in(question: str) -> list[str]:
    """Words of a question written as names: JAX, SageMaker, llama.cpp, or Capitalized inside a sentence
    (Keras, Mixtral). Not a sentence's first word, a single letter, a contraction, or anything with a digit
    (numbers, sizes and versions such as 1B or 22.04 qualify a question rather than name its subject)."""
    names: list[str] = []
    initial = True
    for raw in question.split():
        word = raw.strip(_TOKEN_EDGES).rstrip(".")
        starts = initial
        initial = raw.rstrip("\"'”’)]").endswith((".", "?", "!", ":"))
        if len(word) < 2 or "'" in word or "’" in word or any(ch.isdigit() for ch in word):
            continue
        if (word.isupper() or re.search(r"[a-z][A-Z]", word) or "." in word
                or (word[0].isupper() and not starts)):
            names.append(word)
    return list(dict.fromkeys(names))


def clean_question(question: str, max_chars: int) -> tuple[str, list[str]]:
    """Strip and bound a question; raises EmptyQuestionError for a blank one."""
    text = " ".join((question or "").split())
    if not text:
        raise EmptyQuestionError("the question is empty; type a question about the course")
    notices = []
    if len(text) > max_chars:
        notices.append(f"Your question was {len(text):,} characters long; only the first {max_chars:,} were used.")
        text = text[:max_chars]
    return text, notices


class Retriever:
    """Hybrid search over a loaded index. The same object serves the CLI, the answer pipeline and the UI."""

    def __init__(self, index: LoadedIndex, embedder, settings: Settings) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.term_patterns = course_term_patterns(index.chunks)
        ordinary = ordinary_words(index.chunks)
        # any glossary term: the subject of a turn
        self.names = terms_pattern(glossary_names(index.chunks), ordinary)
        self._text = "\n".join(f"{c.title}\n{c.section}\n{c.text}" for c in index.chunks).lower()
        self.entries: dict[str, int] = {}  # each name of a glossary term, lower case -> its entry's chunk index
        self._exact: set[str] = set()  # names spelt like an ordinary word (IS, CLIP): only in capitals
        for i, c in enumerate(index.chunks):
            for name in entry_names(c):
                self.entries.setdefault(name.lower(), i)
                if is_abbreviation(name) and name.lower() in ordinary:
                    self._exact.add(name)
        self._longest_first = sorted(self.entries, key=len, reverse=True)

    def entry(self, name: str) -> int | None:
        """The glossary entry (chunk index) of a course term, by any of its names, singular or plural."""
        key = re.sub(r"^(a|an|the)\s+", "", name.strip().lower())
        for form in (key, key[:-2] if key.endswith("es") else key, key[:-1] if key.endswith("s") else key):
            if form in self.entries:
                return self.entries[form]
        return None

    def defined_entry(self, question: str) -> int | None:
        """The glossary entry a definition question asks for, when the term opens its subject and ends it or is
        qualified: "What is a sample in generative modeling?" -> Sample; not "What is a known weakness of GANs?"
        (the subject is a weakness) nor "What is a transformer decoder?" (a longer term)."""
        m = _DEFINITION.match(question.strip())
        if not m:
            return None
        subject = m.group("x") or m.group("y")
        low = subject.lower()
        for key in self._longest_first:
            if low.startswith(key) and _QUALIFIED.match(subject, len(key)):
                if any(name.lower() == key and not subject.startswith(name) for name in self._exact):
                    continue  # "what is clip" is not CLIP
                return self.entries[key]
        return None

    def mentions(self, name: str) -> bool:
        """Whether any document names this (as a whole word, case-insensitive, a plural 's' allowed)."""
        low = name.lower()
        forms = {low, low[:-1]} if low.endswith("s") and len(low) > 3 else {low}
        return any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", self._text) for f in forms)

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question that no document of the index mentions (JAX, SageMaker, Mixtral...)."""
        return [name for name in names_in(question) if not self.mentions(name)]

    def course_terms(self, text: str) -> list[str]:
        return [name for name, pattern in self.term_patterns.items() if pattern.search(text)]

    @classmethod
    def load(cls, settings: Settings) -> "Retriever":
        from .embedder import load_embedder
        from .index import check_embedder

        index = load_index(Path(settings.index_dir), settings.verify_index_hashes)  # fails fast, before the model loads
        embedder = load_embedder(settings.embedder_package)
        check_embedder(index, embedder.info.name, Path(settings.index_dir))
        return cls(index, embedder, settings)

    # -- single rankings

    def dense_scores(self, text: str) -> np.ndarray:
        query = self.embedder.embed_query(text)[None, :]
        n = self.index.vectors.ntotal
        scores, ids = self.index.vectors.search(query, n)
        out = np.full(n, -1.0, dtype="float32")
        out[ids[0]] = scores[0]
        return out

    def bm25_scores(self, text: str) -> np.ndarray:
        vocab = self.index.bm25.vocab_dict
        tokens = [t for t in keyword_tokens(text) if t in vocab]
        if not tokens:
            return np.zeros(len(self.index.chunks), dtype="float32")
        return np.asarray(self.index.bm25.get_scores(tokens), dtype="float32")

    @staticmethod
    def _rrf(scores: np.ndarray, weight: float, rrf_k: int, positive_only: bool) -> np.ndarray:
        order = np.argsort(-scores, kind="stable")
        ranks = np.empty(len(scores), dtype="float64")
        ranks[order] = np.arange(1, len(scores) + 1)
        fused = weight / (rrf_k + ranks)
        if positive_only:
            fused[scores <= 0] = 0.0
        return fused

    # -- the public call

    def retrieve(self, question: str, k: int | None = None, history: list[str] | None = None) -> RetrievalResult:
        s = self.settings
        k = k or s.k
        question, notices = clean_question(question, s.max_question_chars)
        n = len(self.index.chunks)
        if n == 0:
            return RetrievalResult([], question, 0.0, notices=notices)

        dense_q = self.dense_scores(question)
        fused = self._rrf(dense_q, s.dense_weight, s.rrf_k, False)
        fused += self._rrf(self.bm25_scores(question), s.bm25_weight, s.rrf_k, True)
        similarity = dense_q
        query = question
        turns = [t for t in (history or []) if t and t.strip()][-s.history_turns :]
        uses_history = bool(turns) and depends_on_history(question, self.names)
        resolved = resolve_follow_up(question, turns, self.names) if uses_history else None
        if uses_history:
            query = resolved or " ".join(turns + [question])
            dense_h = self.dense_scores(query)
            # The expanded query carries the subject the question points back to: it leads.
            fused *= 1.0 - s.history_weight
            fused += s.history_weight * self._rrf(dense_h, s.dense_weight, s.rrf_k, False)
            fused += s.history_weight * self._rrf(self.bm25_scores(query), s.bm25_weight, s.rrf_k, True)
            similarity = np.maximum(dense_q, dense_h)

        # A definition question gets the term's glossary entry first: the embedder often ranks a lesson that
        # uses the term above the entry that defines it ("What is a sample in generative modeling?").
        defined = self.defined_entry(resolved or question)
        if defined is not None:
            fused[defined] = fused.max() + 1e-6
        top = np.argsort(-fused, kind="stable")[:k]
        passages = []
        for i in top:
            c = self.index.chunks[int(i)]
            passages.append(
                Passage(c.source, c.title, c.section, c.text, float(fused[i]), c.id, c.topic, float(similarity[i]))
            )
        return RetrievalResult(passages, query, float(similarity.max()), uses_history, notices,
                               self.course_terms(query), resolved, self.unknown_names(question))

    def search(self, question: str, k: int | None = None, history: list[str] | None = None) -> list[Passage]:
        return self.retrieve(question, k, history).passages
