"""The course's vocabulary, read from the indexed chunks: the names it uses and the words it does not.

Glossary terms under each of their names and the specific ones that mark a question as on-topic, the abbreviations
the documents spell out, the words and names of a question no document uses (signs that it is about something
else), and a question's misspelt words and initialisms read as the course's own.
"""

from __future__ import annotations

import re
from functools import cached_property, lru_cache

from .asks import ASKS, EXPLAINS, word_stems
from .chunking import without_related
from .follow_ups import POINTING


# another name a glossary definition gives its term: "...; also called nucleus sampling."
_ALSO_CALLED = re.compile(r"\balso (?:called|known as) (?:the |an? )?([\w-]+(?: [\w-]+){0,3}?)\s*(?:[.;,)]|$)", re.I)


def entry_names(chunk) -> list[str]:
    """The names a glossary entry goes by ("Variational autoencoder (VAE)" -> both, and a name its definition says
    it is also called); none for other chunks."""
    if chunk.topic != "glossary" or not chunk.section or chunk.section == chunk.title:
        return []
    m = re.match(r"^(.*?)\s*\(([^)]+)\)\s*$", chunk.section)
    names = [m.group(1), m.group(2)] if m else [chunk.section]
    also = _ALSO_CALLED.search(without_related(chunk.text))  # in the definition, not a related term's
    return [n.strip() for n in names + ([also.group(1)] if also else []) if n.strip()]


def glossary_names(chunks) -> list[str]:
    """Every glossary term under each of its names, in corpus order."""
    return list(dict.fromkeys(name for c in chunks for name in entry_names(c)))


def course_term_patterns(chunks, ordinary: frozenset[str] | None = None) -> dict[str, re.Pattern]:
    """Glossary terms specific enough to mark a question as on-topic: multi-word terms and abbreviations.

    The small embedder scores terse acronym questions ("What is the ELBO?") low; naming a course
    term is a second, independent sign that the material covers the question.
    """
    patterns: dict[str, re.Pattern] = {}
    ordinary = ordinary_words(chunks) if ordinary is None else ordinary
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


# Words an abbreviation skips when it is spelt out ("reinforcement learning from human feedback", RLHF).
_LINKING = frozenset("a an and by for from in of on the to with".split())
_LETTER = r"[^\W\d_]"  # a letter, accented ones too ("Fréchet")
_LETTERS = _LETTER + "+"


def is_abbreviation(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Z][A-Za-z0-9-]*[A-Z][A-Za-z0-9-]*", name))


def term_case(term: str) -> int:
    """The regex flags a course term is matched with in an answer's sentence: an abbreviation in its own capitals
    ("GAN", not "began"), any other term in any case."""
    return 0 if is_abbreviation(term) else re.I


def in_running_text(name: str) -> str:
    """A glossary name as a sentence writes it: "Classifier-free guidance" -> "classifier-free guidance", but
    "LLM-as-judge" and "Jensen-Shannon divergence" as they are (``is_abbreviation``)."""
    return name if is_abbreviation(name.split()[0]) else name[0].lower() + name[1:]


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


# A definition question and its subject: "What is a latent space in a VAE?", "Define FID.",
# "What does RLHF stand for?", "What does a GAN do?", "What exactly is X?", "What's the purpose (point, role, job,
# gist, main idea) of X?", "What's the idea behind X?", "Tell me about X", "Can you tell me what X is?".
_DEFINITION = re.compile(
    r"^(?:(?:can you |could you |please )?(?:what(?:'s| is| are) the (?:purpose|point|role|job|gist|"
    r"(?:main |basic |key |core |big |general )?idea) (?:of|behind)|"
    r"what(?:\s+exactly|\s+really)?(?:'s| is| are)|define|explain|describe|tell me about)\s+(?:(?:a|an|the)\s+)?"
    r"(?P<x>.+?)|(?:can you |could you |please )?tell me what (?:(?:a|an|the)\s+)?(?P<z>.+?)\s+(?:is|are)"
    r"|what (?:does|do) (?:(?:a|an|the)\s+)?(?P<y>.+?)\s+(?:mean|stand for|refer to|do)"
    r"(?:\s+or\s+(?:mean|stand for|refer to))?)\s*[?.!]*$", re.I)
# What may follow the term for it to be the subject ("a latent space in a VAE", "BLEU used for"),
# rather than a word of a longer one ("transformer decoder", "GAN training").
_QUALIFIED = re.compile(r"(?:s|es)?(?:$|\s*[,(:?]|\s+(?:in|of|for|from|when|with|within|on|during|under|used|"
                        r"exactly|actually|really|and|or)\b)", re.I)


_TOKEN_EDGES = "\"'`()[]{}<>,;:!?¿¡*“”‘’"


def names_in(question: str) -> list[str]:
    """Words of a question written as names: JAX, SageMaker, llama.cpp, hits@k, or Capitalized inside a sentence
    (Keras, Mixtral), a possessive without its 's. Not a sentence's first word, a single letter, a contraction, or
    anything with a digit (numbers, sizes and versions such as 1B or 22.04 qualify a question rather than name its subject)."""
    names: list[str] = []
    initial = True
    for raw in question.split():
        word = re.sub(r"['’]s$", "", raw.strip(_TOKEN_EDGES).rstrip("."))  # a possessive names its owner: Fick's -> Fick
        starts = initial
        initial = raw.rstrip("\"'”’)]").endswith((".", "?", "!", ":"))
        if len(word) < 2 or "'" in word or "’" in word or any(ch.isdigit() for ch in word):
            continue
        if (word.isupper() or re.search(r"[a-z][A-Z]", word) or "." in word or "@" in word
                or (word[0].isupper() and not starts)):
            names.append(word)
    return list(dict.fromkeys(names))


def beside_known(question: str, unknown: list[str]) -> list[str]:
    """The names among ``unknown`` in a list of several people or things, joined by "and", "or" or commas, that also
    names one the documents mention ("Did Vaswani and Polosukhin write it?", "Vaswani, Noam Shazeer and Polosukhin",
    "Edward Hu and Yelong Shen"): the question asks about them all, not about the unknown one, as "Can I use PEFT
    with JAX?" does. Not a name on its own ("Google Brain", "Hamiltonian Monte Carlo": the unknown word is the
    thing asked about, and a first name before a known surname looks the same)."""
    names = set(names_in(question))
    lists: list[list[list[str]]] = [[]]  # lists of names joined by "and", "or" or commas; each name a run of words
    joined = False
    for token in re.findall(r"[\w'’.-]+|[,&/]", question):
        word = re.sub(r"['’]s$", "", token.strip(_TOKEN_EDGES).rstrip("."))
        if word in names:
            if lists[-1] and not joined:
                lists[-1][-1].append(word)
            else:
                lists[-1].append([word])
            joined = False
        elif token.lower() in (",", "and", "or", "&", "/") and lists[-1]:
            joined = True
        else:
            lists.append([])  # any other word ends the list
            joined = False
    beside = {name for listed in lists if len(listed) >= 2 and any(n not in unknown for run in listed for n in run)
              for run in listed for name in run if name in unknown}
    return [n for n in unknown if n in beside]


RESPELL_MIN_LETTERS = 5  # shorter words are too often another word one edit away ("bake" / "base", "thru")
INITIALISM_MIN_WORDS = 3  # shorter ones are too often something else: "TF", "GP", "FM"
# a whole word that may be an initialism ("cfg", not "cfg-style")
INITIALISM_WORD = re.compile(r"(?<![\w'’-])[A-Za-z]{3,8}(?![\w'’-])")
_ENDINGS = ("s", "es", "ed", "ing", "er", "ers", "y", "ly", "ily", "ness", "ful", "less", "able")
# Contractions typed without their apostrophe: words, not misspellings.
_BARE_CONTRACTIONS = frozenset("whats thats theres heres hows whys wheres whos dont doesnt didnt isnt arent wasnt "
                               "werent cant couldnt wont wouldnt shouldnt havent hasnt youre theyre".split())
# Chat spellings and interjections: no subject in them, like stop words ("any downsides tho?").
_CHAT_WORDS = frozenset("tho thx pls plz btw idk imo tbh lol gonna wanna kinda sorta gotta dunno lemme cuz coz "
                        "yeah yep nope okay huh hmm thanks thank wow gotcha hey hello alright anyways".split())
# Idioms of chat, with no subject in them either ("how does it work under the hood?"): their words are not foreign.
_CHAT_IDIOMS = re.compile(r"\b(?:under the hood|in a nutshell|in layman'?s terms)\b", re.I)
RESPELL_TWO_EDITS = 8  # from this length a word may be two edits from the course's
LOWER_WORD = re.compile(r"(?<![\w'’-])[a-z]+(?![\w'’-])")  # a word typed in lower case, not part of a longer one


def spells(words: list[str], capitals: str) -> bool:
    """Whether the words spell the capitals in order, each word but a linking one ("of", "and") giving its first
    letter and maybe more of its letters after it: "variational autoencoder" spells VAE, "Contrastive
    Language-Image Pre-training" CLIP; "generative model" does not spell GAN."""
    capitals = capitals.lower()

    @lru_cache(maxsize=None)
    def rest(i: int, j: int) -> bool:  # words[i:] spell capitals[j:]
        if i == len(words):
            return j == len(capitals)
        word = words[i].lower()
        if word in _LINKING and rest(i + 1, j):
            return True
        if j == len(capitals) or word[:1] != capitals[j]:
            return False
        # the word gives its first letter, then any of the next capitals found in order in the rest of it
        at, k = 1, j + 1
        while True:
            if rest(i + 1, k):
                return True
            if k == len(capitals) or (at := word.find(capitals[k], at) + 1) == 0:
                return False
            k += 1

    return rest(0, 0)


def edits(a: str, b: str, most: int) -> int:
    """The number of single-letter insertions, deletions, substitutions and swaps of neighbours that turn a into b
    (optimal string alignment), or ``most + 1`` once it is sure to exceed ``most``."""
    if abs(len(a) - len(b)) > most:
        return most + 1
    before, row = None, list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > most:
            return most + 1
        before, row = row, current
    return row[-1]


# The subject of a question asking what something is, how it works or who made it, as its first two words after the
# article: "How does <qualifier> <kind> ...", "What is a <qualifier> <kind>?", "Who proposed <qualifier> <kind>?";
# the question may open the text or follow a sentence or a clause ("I have five photos. How does ...").
_SUBJECT = re.compile(r"(?:^|(?<=[.?!,;:])\s)\W*(?:(?:so|and|ok|okay),?\s+)?"
                      r"(?:how (?:does|do|is|are|can|did)|what(?:'s|’s|s| is| are| was| were)|"
                      r"who (?:proposed|introduced|invented|created|came up with)|explain|describe)\s+"
                      r"(?:(?:an?|the)\s+)?(?P<q>[\w][\w-]*)\s+(?P<k>[\w][\w-]*)", re.I)


# The most glossary terms a follow-up's "that <word>" may end like for it to name one of them (part_by_head): "trick"
# ends one, "penalty" two; "model" ends fourteen and means whichever model the learner has in mind.
_PARTS_BY_HEAD = 2


def _singular_word(word: str) -> str:
    return word[:-1] if word.endswith("s") and not word.endswith("ss") and len(word) > 3 else word


class Vocabulary:
    """The course's names, read from the indexed chunks: glossary terms under each of their names, the
    specific ones that mark a question as on-topic, and the whole text (to tell a name the course never uses)."""

    def __init__(self, chunks, english: frozenset[str] = frozenset()) -> None:
        self.chunks = chunks
        self.english = english  # words known to be spelt right though the course never uses them (respell)
        self._counts: dict[str, int] | None = None  # how often the documents use each word, made on first need
        self._english_stems: set[str] = set()  # the stems of ``english``, made with _counts
        ordinary = self.ordinary = frozenset(ordinary_words(chunks))  # the words the documents write in lower case
        self.term_patterns = course_term_patterns(chunks, ordinary)
        self.names = terms_pattern(glossary_names(chunks), ordinary)  # any glossary term: the subject of a turn
        self._text = "\n".join(f"{c.title}\n{c.section}\n{c.text}" for c in chunks).lower()
        self.entries: dict[str, int] = {}  # each name of a glossary term, lower case -> its entry's chunk index
        self._exact: set[str] = set()  # names spelt like an ordinary word (IS, CLIP): only in capitals
        for i, c in enumerate(chunks):
            for name in entry_names(c):
                self.entries.setdefault(name.lower(), i)
                if is_abbreviation(name) and name.lower() in ordinary:
                    self._exact.add(name)
        self._longest_first = sorted(self.entries, key=len, reverse=True)
        self._stems: set[str] | None = None  # every word stem the documents use, made on first need

    def foreign_words(self, question: str) -> list[str]:
        """Words of a question whose stem no document uses, besides stop words (bm25s's and scikit-learn's English
        lists: "else", "everyone", "seems"), chat spellings ("tho", "thx") and the words that say what is asked
        ("drawbacks") and chat idioms ("under the hood"): "banana", "bread", "tonight". Signs that the question is
        about something else."""
        from bm25s.stopwords import STOPWORDS_EN_PLUS
        from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

        from .index import english_stemmer

        stemmer = english_stemmer()
        if self._stems is None:
            self._stems = set(stemmer.stemWords(sorted(set(re.findall(r"[a-z][a-z0-9]*", self._text)))))
        words = [w for w in dict.fromkeys(re.findall(r"[a-z][a-z0-9]*", _CHAT_IDIOMS.sub(" ", question).lower()))
                 if len(w) >= 3 and w not in STOPWORDS_EN_PLUS and w not in ENGLISH_STOP_WORDS
                 and w not in _CHAT_WORDS and not POINTING.match(w)
                 and not EXPLAINS.search(w) and not any(pattern.search(w) for _, pattern in ASKS)]
        return [w for w, stem in zip(words, stemmer.stemWords(words)) if stem not in self._stems]

    @cached_property
    def initialisms(self) -> dict[str, str]:
        """The initialisms of glossary terms of ``INITIALISM_MIN_WORDS`` or more words or hyphenated parts that no
        document writes, each of one term only: "CFG" for "classifier-free guidance". Not "EBM", which the documents
        write, nor one two terms share."""
        found: dict[str, list[str]] = {}
        for name in glossary_names(self.chunks):
            words = re.split(r"[\s-]+", re.sub(r"\s*\(.*?\)", "", name).strip())
            if len(words) >= INITIALISM_MIN_WORDS and all(w.isalpha() for w in words):
                found.setdefault("".join(w[0] for w in words).upper(), []).append(name)
        return {abbr: in_running_text(names[0]) for abbr, names in found.items()
                if len(names) == 1 and not self.mentions(abbr)}

    def initialisms_in(self, question: str) -> dict[str, str]:
        """The initialisms of ``initialisms`` a question uses and the terms they stand for, in capitals or, when no
        English word either, in lower case ("cfg")."""
        out: dict[str, str] = {}
        for word in dict.fromkeys(INITIALISM_WORD.findall(question)):
            term = self.initialisms.get(word.upper())
            if term and (word.isupper() or (word.islower() and word not in self.english)):
                out[word] = term
        return out

    def respell(self, question: str) -> dict[str, str]:
        """Misspelt words of a question and the course's word each stands for: "halucination" -> "hallucination".

        Only a word in lower case (not a name: "Keras" stays what it is) of at least ``RESPELL_MIN_LETTERS`` letters
        that the documents never use and that is no English word the embedder knows ("baking" stays), and only for
        a course word with the same first letter one edit away (two for a word of ``RESPELL_TWO_EDITS`` letters or
        more; a swap of neighbours is one edit); of several, the one the documents use most."""
        from .index import english_stemmer

        stem = english_stemmer().stemWord
        if self._counts is None:
            counts: dict[str, int] = {}
            for w in re.findall(r"[a-z]+", self._text):
                counts[w] = counts.get(w, 0) + 1
            self._counts = counts
            self._english_stems = {stem(w) for w in self.english}
        out: dict[str, str] = {}
        for word in dict.fromkeys(LOWER_WORD.findall(question)):
            if (len(word) < RESPELL_MIN_LETTERS or word in _BARE_CONTRACTIONS or word in self._counts
                    or not self.foreign_words(word) or self._english(word, stem)):
                continue  # a word the course uses in some form ("diverges"), or an English word ("bounding")
            most = 2 if len(word) >= RESPELL_TWO_EDITS else 1
            near = [(n, w) for w, n in self._counts.items()
                    if w[0] == word[0] and abs(len(w) - len(word)) <= most and edits(word, w, most) <= most]
            if near:
                out[word] = max(near)[1]
        return out

    def _english(self, word: str, stem) -> bool:
        """Whether a word is English though not a whole word of the embedder: a form of one ("invent", "bounding"),
        one with a common ending ("crispy"), or two of at least four letters joined ("lifelike", "overtake"; a
        misspelling often splits into two shorter pieces of the embedder's vocabulary: "modles", "mod" + "les")."""
        if stem(word) in self._english_stems:
            return True
        if any(word.endswith(end) and word[:-len(end)] in self.english for end in _ENDINGS):
            return True
        return any(word[:i] in self.english and word[i:] in self.english for i in range(4, len(word) - 3))

    def entry(self, name: str) -> int | None:
        """The glossary entry (chunk index) of a course term, by any of its names, singular or plural."""
        key = re.sub(r"^(a|an|the)\s+", "", name.strip().lower())
        for form in (key, key[:-2] if key.endswith("es") else key, key[:-1] if key.endswith("s") else key):
            if form in self.entries:
                return self.entries[form]
        return None

    def part_of(self, part: str, whole: str) -> bool:
        """Whether the glossary's definition of ``part`` ("the decoder") names ``whole`` ("a VAE") by any of its
        names: "the part of a VAE that reconstructs an input" (rule parts_of_subjects). Not its related terms, nor a
        whole whose name shares a word with the part's ("the guidance scale" already says which guidance)."""
        i, j = self.entry(part), self.entry(whole)
        if i is None or j is None or i == j:
            return False
        words = [set(re.findall(r"[a-z]{4,}", " ".join(entry_names(self.chunks[k])).lower())) for k in (i, j)]
        if words[0] & words[1]:
            return False  # "the guidance scale" names classifier-free guidance itself: nothing to add
        return self._definition_names(i, j)

    def part_by_head(self, head: str, whole: str) -> str | None:
        """The one glossary term of two or more words ending in ``head`` ("function") whose definition names ``whole``
        ("energy-based model"), as a follow-up's "that function" means, as running text writes it: "partition function"
        (rule heads_of_parts). None when no term or several do, or ``head`` names a course term itself ("the prior")."""
        j = self.entry(whole)
        if j is None or self.entry(head) is not None:
            return None
        ending = self._terms_by_last_word.get(_singular_word(head.lower()), [])
        if len(ending) > _PARTS_BY_HEAD:
            return None  # a word many terms end in is the learner's own ("the model"), not one term's
        found = [name for name in ending if (i := self.entry(name)) is not None and i != j and self._definition_names(i, j)]
        return in_running_text(found[0]) if len(found) == 1 else None

    def _definition_names(self, i: int, j: int) -> bool:
        """Whether glossary entry ``i``'s definition names entry ``j`` by any of its names; not its related terms (the
        chunk reads "Name: definition Related terms: ...")."""
        names = terms_pattern(entry_names(self.chunks[j]), self.ordinary)
        return bool(names and names.search(without_related(self.chunks[i].text)))

    @cached_property
    def _terms_by_last_word(self) -> dict[str, list[str]]:
        """Glossary terms of two or more words by their last word, singular and lower case ("function": the partition
        function and the energy function, if both are terms)."""
        out: dict[str, list[str]] = {}
        for name in glossary_names(self.chunks):
            if len(name.split()) >= 2:
                out.setdefault(_singular_word(name.split()[-1].lower()), []).append(name)
        return out

    def in_capitals(self, text: str) -> list[str]:
        """The glossary's abbreviations spelt like an ordinary word (CLIP, IS) that the text writes in capitals."""
        return [name for name in sorted(self._exact) if re.search(rf"\b{re.escape(name)}\b", text)]

    def defined_entry(self, question: str) -> int | None:
        """The glossary entry a definition question asks for, when the term opens its subject and ends it or is
        qualified ("What is X in Y?" -> X), but not when the subject is something else about the term ("What is
        a weakness of X?") or a longer term that starts with it ("What is X decoder?")."""
        m = _DEFINITION.match(question.strip())
        if not m:
            return None
        subject = m.group("x") or m.group("y") or m.group("z")
        low = subject.lower()
        for key in self._longest_first:
            if low.startswith(key) and _QUALIFIED.match(subject, len(key)):
                if any(name.lower() == key and not subject.startswith(name) for name in self._exact):
                    continue  # "what is clip" is not CLIP
                return self.entries[key]
        return None

    def mentions(self, name: str) -> bool:
        """Whether any document names this (as a whole word, case-insensitive, a plural 's' allowed), it
        abbreviates the opening words of an abbreviation the documents spell out (``short_forms``), or it joins with
        hyphens such names and words the documents use. A name opening with a hyphen ("its -L form") is the end of
        a hyphenated one, mentioned when a document ends a name so ("ROUGE-L")."""
        low = name.lower()
        if low.startswith("-"):
            return bool(re.search(rf"\w{re.escape(low)}(?![\w-])", self._text))
        forms = {low, low[:-1]} if low.endswith("s") and len(low) > 3 else {low}
        return (any(re.search(rf"(?<![\w-]){re.escape(f)}(?![\w-])", self._text) for f in forms)
                or name.upper() in self.short_forms
                # a compound of words the documents use ("RLHF-tuned", "RL-trained"); not "Zorblax-style"
                or ("-" in name.strip("-") and all(self._known_part(part) for part in name.strip("-").split("-"))))

    def _known_part(self, part: str) -> bool:
        return self.mentions(part) or (part.islower() and not self.foreign_words(part))

    @cached_property
    def short_forms(self) -> frozenset[str]:
        """Abbreviations of the opening or closing words of one the documents spell out, when those words also stand
        on their own in the documents: "reinforcement learning from human feedback (RLHF)" and "reinforcement
        learning" elsewhere give RL; "large language model (LLM)" and "a language model" elsewhere give LM. Not GA
        from "generative adversarial network (GAN)" when "generative adversarial" always goes on to "network"."""
        text = " ".join(c.text for c in self.chunks)
        found: set[str] = set()
        for m in re.finditer(r"\(([A-Z]{3,8})\)", text):
            abbr = m.group(1)
            words = [w for w in re.findall(r"[A-Za-z]+", text[max(0, m.start() - 120):m.start()])
                     if w.lower() not in _LINKING]
            words = words[-len(abbr):]
            if len(words) < len(abbr) or "".join(w[0] for w in words).upper() != abbr:
                continue
            for k in range(2, len(abbr)):
                opening = r"[\s-]+".join(re.escape(w.lower()) for w in words[:k])
                if re.search(rf"\b{opening}\b(?![\s-]+(?:\w+\s+)?{re.escape(words[k].lower())})", self._text):
                    found.add(abbr[:k])
            for k in range(1, len(abbr) - 1):
                closing = r"[\s-]+".join(re.escape(w.lower()) for w in words[k:])
                before = re.escape(words[k - 1].lower())
                if any(not re.search(rf"\b{before}[\s-]+(?:\w+\s+)?$", self._text[max(0, c.start() - 40):c.start()])
                       for c in re.finditer(rf"\b{closing}\b", self._text)):
                    found.add(abbr[k:])
        return frozenset(found)

    @cached_property
    def kinds(self) -> frozenset[str]:
        """The last word of each glossary term, singular and lower case, and of its last hyphenated part: the kinds of
        thing the course names ("sampling" of top-k sampling, "prompting", "distillation", "vae" of Beta-VAE)."""
        heads: set[str] = set()
        for name in glossary_names(self.chunks):
            last = name.lower().split()[-1]
            heads.update(_singular_word(w) for w in (last, last.split("-")[-1]))
        return frozenset(heads)

    def unnamed_kind(self, question: str) -> str | None:
        """The subject of a question asking what, how or who made something (``_SUBJECT``), when it is a kind of
        thing the course names (``kinds``) qualified by a word no document uses, and the documents never write the
        two together: "How does tail-free sampling work?" -> "tail-free sampling" (the course teaches top-k and top-p
        sampling, never tail-free). None otherwise."""
        for m in _SUBJECT.finditer(question.strip()):
            kind = self._unnamed(m.group("q"), m.group("k"))
            if kind:
                return kind
        return None

    def _unnamed(self, qualifier: str, kind: str) -> str | None:
        low, head = qualifier.lower(), _singular_word(kind.lower())
        if head not in self.kinds or not self._unused(low, head):
            return None
        words = r"[-\s]+".join(re.escape(w) for w in low.split("-") + [head])  # "tail free sampling" too
        if re.search(rf"(?<![\w-]){words}", self._text):
            return None
        # a misspelling of a word the documents write before that kind ("varational autoencoder") is no other kind
        most = 2 if len(low) >= RESPELL_TWO_EDITS else 1
        before = set(re.findall(rf"([\w-]+)[-\s]+{re.escape(head)}", self._text))
        return None if any(edits(low, w, most) <= most for w in before) else f"{qualifier} {kind}"

    def _unused(self, word: str, head: str) -> bool:
        """A word no document uses and no English one (``foreign_words``, ``english``: "zorbic", not "vanilla"), or
        a compound of words none writes, when no sentence of the documents holds its parts and ``head`` either (the
        course describes "text-conditioned diffusion" in other words, never "tail-free sampling"), one of its parts a
        word of three letters or more that says something (not "go-to")."""
        from bm25s.stopwords import STOPWORDS_EN_PLUS

        from .index import english_stemmer

        if "-" not in word:
            return bool(self.foreign_words(word)) and word not in self.english
        parts = [p for p in word.split("-") if p not in STOPWORDS_EN_PLUS]
        if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", self._text) or not any(len(p) >= 3 for p in parts):
            return False
        stems = set(english_stemmer().stemWords(parts + [head]))
        return not any(stems <= sentence for sentence in self._sentence_stems)

    @cached_property
    def _sentence_stems(self) -> list[frozenset[str]]:
        """The word stems of each sentence of the documents."""
        return [word_stems(s) for c in self.chunks for s in re.split(r"(?<=[.!?])\s+", c.text.lower())]

    def unknown_names(self, question: str) -> list[str]:
        """Names in the question that no document of the index mentions; not a two-letter English word in capitals
        ("OK", "US"), which is how such words are often written, not a name."""
        return [name for name in names_in(question) if not self.mentions(name)
                and not (len(name) == 2 and name.isupper() and name.lower() in self.english)]

    def known_names(self, text: str) -> list[str]:
        """Names in the text that a document of the index mentions (``unknown_names``' other half)."""
        return [name for name in names_in(text) if self.mentions(name)]

    @cached_property
    def long_forms(self) -> dict[str, tuple[re.Pattern, str]]:
        """Each abbreviation the documents spell out, the first time they do ("large language model (LLM)",
        "Low-Rank Adaptation (LoRA)": the capitals are the initials of the words before it, linking words aside;
        "**BLEU** (Bilingual Evaluation Understudy)", a glossary entry "FID: Fréchet Inception Distance: …": words
        that spell it): the pattern that finds it in a question (any case, unless the documents use it as an
        ordinary word) and what it stands for. Bold and quotation marks are read as plain text."""
        text = re.sub(r"\*\*|[\"“”]", "", " ".join(c.text for c in self.chunks))
        ordinary = self.ordinary
        found: dict[str, tuple[re.Pattern, str]] = {}

        def initials(words: list[str]) -> str:
            return "".join(w[0].upper() for w in words if w.lower() not in _LINKING)

        def add(abbr: str, long: str) -> None:
            if abbr.endswith("s") and is_abbreviation(abbr[:-1]):  # "GANs": the singular, spelt out singular
                abbr, long = abbr[:-1], re.sub(r"s$", "", long)
            if abbr not in found:
                flags = 0 if abbr.lower() in ordinary else re.I
                # not a version of what it names ("VQ-VAE-2" is one model, not the family spelt out)
                found[abbr] = (re.compile(rf"\b{re.escape(abbr)}(s?)\b(?!-\d)", flags), long)

        def forms_of(capitals: str) -> tuple[str, ...]:  # "GANs": the singular's letters too
            return tuple(dict.fromkeys((capitals, capitals.rstrip("S"))))

        def spelled(words: list[str], forms: tuple[str, ...], inside: bool) -> bool:
            """The words' initials are one of the forms or, ``inside``, they spell one in order from the start of
            each word; not one plain word: "a clip (CLIP)" spells nothing out, "text-to-speech (TTS)" does."""
            if not inside:
                return initials([p for w in words for p in w.split("-")]) in forms
            return (len(words) >= 2 or "-" in words[0]) and any(spells(words, form) for form in forms)

        def spelt_by(long: str, capitals: str) -> bool:  # "LoRA (Low-Rank Adaptation)", "BLEU (Bilingual ...)"
            words = re.findall(rf"{_LETTERS}(?:-{_LETTERS})*", long)
            forms = forms_of(capitals)
            return spelled(words, forms, False) or (len(words) >= 2 and spelled(words, forms, True))

        for m in re.finditer(rf"\b([A-Z][A-Za-z-]{{1,7}})\s+\(({_LETTER}(?:{_LETTER}|[ -]){{4,80}}?)[,;)]"
                             r"|\(([A-Z][A-Za-z-]{1,7})\)", text):
            abbr = m.group(1) or m.group(3)
            capitals = "".join(ch for ch in abbr if ch.isupper())
            if len(capitals) < 2 or not is_abbreviation(abbr) or abbr.endswith("-"):
                continue
            if m.group(1):
                if spelt_by(m.group(2), capitals):
                    add(abbr, m.group(2).strip())
                continue
            # "large language model (LLM)": the fewest words before it whose initials are the capitals; else the
            # fewest that spell them in order, each word from its first letter ("variational autoencoder (VAE)",
            # "Language-Image Pre-training": a hyphenated word as one)
            before = text[max(0, m.start() - 120):m.start()]
            words = list(re.finditer(rf"{_LETTERS}(?:-{_LETTERS})*", before))
            forms = forms_of(capitals)
            for inside in (False, True):
                for k in range(1, min(len(words), 2 * len(capitals)) + 1):
                    span = words[-k:]
                    if (spelled([w.group(0) for w in span], forms, inside) and span[0].group(0).lower() not in _LINKING
                            and not re.search(r"[^\w\s-]", before[span[0].start():])):
                        add(abbr, before[span[0].start():].strip())
                        break
                if abbr in found:
                    break
        for chunk in self.chunks:  # a glossary entry "BLEU: Bilingual Evaluation Understudy: an automatic metric ..."
            for name in entry_names(chunk):
                m = re.match(rf"(?:{re.escape(name)}|- Definition):\s*([^:,;.(]{{5,80}})[:,;.(]",
                             chunk.text.replace("**", ""))
                capitals = "".join(ch for ch in name if ch.isupper())
                if m and is_abbreviation(name) and "-" not in name and spelt_by(m.group(1), capitals):
                    add(name, m.group(1).strip())
        return found

    def spell_out(self, text: str) -> str:
        """The text with each abbreviation the documents spell out followed by what it stands for ("why do LLMs
        hallucinate?" -> "why do LLMs (large language models) hallucinate?"): the small embedder places a bare
        abbreviation far from the passages that spell it out."""
        for pattern, long in self.long_forms.values():
            if long.lower() not in text.lower():
                text = pattern.sub(lambda m: f"{m.group(0)} ({long}{m.group(1)})", text)
        return text

    def course_terms(self, text: str) -> list[str]:
        return [name for name, pattern in self.term_patterns.items() if pattern.search(text)]
