"""The two-voice script of a topic's audio overview, written from the indexed course material.

The host asks what a learner would ask, in the order of the topic's own sections (what
is it, where does it come from, how does it work, why does it matter, what goes wrong,
how does it connect to the rest of the course). The guide answers only with sentences
of the topic's passages and its glossary entry, each line carrying the passage it comes
from, and each line is checked against that passage with the answers' support checker:
a line that does not pass is not spoken. Nothing here runs the LLM, so a script is
quick, repeatable, and never says what the course does not.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace

from ..citations import MARKDOWN_LINK, SupportChecker
from ..config import PodcastConfig
from ..errors import RagTutorError
from ..study.material import DANGLING, Citation, Material, Term, aliases, mentions, sentences_of

HOST, GUIDE = "host", "guide"
_WH = ("how", "why", "what", "where", "when", "which", "who")
_INTENTS = [  # first match wins, on the section heading
    ("origin", r"origin|histor|introduc|invent|milestone|early|beginning|timeline"),
    ("wrong", r"limitation|weakness|pitfall|risk|problem|fail|challenge|collapse|instabilit|hard|bias|"
              r"hallucinat|difficult|harm|misuse|danger|attack"),
    ("why", r"strength|advantage|why|benefit|application|\buse|matter|impact"),
    ("relate", r"compar|versus|\bvs\b|relat|today|connect|\bas the\b|beyond|future|other|stand"),
    ("how", r"how|work|train|objective|process|trick|architecture|mechanism|step|loss|generat|sampl|build"),
]
_QUESTIONS = {
    "origin": ["Where does it come from?", "How did it all start?"],
    "how": ["How does it work?", "What actually happens there?", "Walk me through it."],
    "why": ["Why does it matter?", "What makes it useful?"],
    "wrong": ["What can go wrong?", "Where does it struggle?"],
    "relate": ["How does this fit with the rest of the course?"],
    "more": ["What should I know there?", "What's the key idea there?"],
}
_LEADS = ["Let's turn to {m}.", "Next up: {m}.", "Now, {m}.", "What about {m}?"]
_SPEECH = [  # written forms read badly aloud
    (MARKDOWN_LINK, r"\1"),  # Markdown links and images: their words
    (re.compile(r"\*\*|__|`"), ""),
    (re.compile(r"\be\.g\.,?", re.I), "for example,"),
    (re.compile(r"\bi\.e\.,?", re.I), "that is,"),
    (re.compile(r"\bet al\.", re.I), "and colleagues"),
    (re.compile(r"\bvs\.?(?=\s)", re.I), "versus"),
    (re.compile(r"≈|~(?=\d)"), "about "),
    (re.compile(r"→|->"), " to "),
    (re.compile(r"\s+"), " "),
]


class PodcastError(RagTutorError):
    """A podcast cannot be made for this topic or this index."""

    exit_code = 7


@dataclass
class Line:
    speaker: str  # HOST or GUIDE
    text: str  # what is spoken
    chapter: int  # index into Script.chapters
    source: int | None = None  # 1-based number into Script.sources (guide lines only)
    support: float | None = None  # the support checker's score against that source
    start_s: float = 0.0  # set when the audio is rendered
    end_s: float = 0.0


@dataclass
class Chapter:
    title: str
    start_s: float = 0.0


@dataclass
class Script:
    topic: str
    title: str
    lines: list[Line]
    chapters: list[Chapter]
    sources: list[Citation]
    dropped: int = 0  # guide lines removed because the checker found no support
    documents: dict[str, dict] = field(default_factory=dict)  # source -> {"path", "sha256"} it was written from

    @property
    def words(self) -> int:
        return sum(len(line.text.split()) for line in self.lines)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Script":
        return cls(data["topic"], data["title"], [Line(**x) for x in data["lines"]],
                   [Chapter(**x) for x in data["chapters"]], [Citation(**x) for x in data["sources"]],
                   data.get("dropped", 0), data.get("documents", {}))


def speech_text(sentence: str) -> str:
    """A sentence as it should be read aloud: no Markdown, abbreviations spelled out."""
    for pattern, repl in _SPEECH:
        sentence = pattern.sub(repl, sentence)
    return sentence.strip()


def speakable(text: str) -> list[str | None]:
    """The sentences of a passage worth reading aloud, in order; None where one was left out (a list
    header, a formula, a table...), since the sentence after a gap may lean on what was skipped."""
    out: list[str | None] = []
    for block in re.split(r"\n\s*\n", text):
        if "```" in block or block.lstrip().startswith("|"):
            out.append(None)
            continue
        units, prose = [], []
        for line in block.splitlines():
            bullet = re.match(r"^\s*(?:[-*+]|\d+[.)])\s+(.*)", line)
            if bullet:  # each list item stands alone
                if prose:
                    units.append(" ".join(prose))
                    prose = []
                units.append(bullet.group(1))
            elif line.strip():
                prose.append(line.strip())
        if prose:
            units.append(" ".join(prose))
        for unit in units:
            for sentence in sentences_of(unit):
                if (len(sentence.split()) < 5 or sentence.rstrip().endswith(":")
                        or re.search(r"https?://|\$|\||\\", sentence)):
                    out.append(None)
                else:
                    out.append(speech_text(sentence))
    return out


def _run(sentences: list[str | None]) -> list[str]:
    """The first run of sentences with nothing left out between them, not opening on a dangling reference."""
    run: list[str] = []
    for s in sentences:
        if s is None or (not run and DANGLING.match(s)):
            if run:
                break
            continue
        run.append(s)
    return run


def section_intent(heading: str) -> str:
    """What a section answers, from its heading: origin, wrong, why, relate, how or more."""
    low = heading.lower()
    return next((name for name, pattern in _INTENTS if re.search(pattern, low)), "more")


def _lower_first(text: str) -> str:
    word = text.split()[0] if text.split() else ""
    if len(word) > 1 and (word[1:].lower() != word[1:] or word.isupper()):
        return text  # an acronym or a name: keep it
    return text[:1].lower() + text[1:]


def host_question(heading: str, intent: str, turn: int, other: str | None = None) -> str:
    """The host's question for a section: its heading turned into speech, and what a learner asks about it."""
    heading = heading.strip().rstrip(".?")
    if heading.split()[0].lower() in _WH and ":" not in heading:
        return f"{['Next, tell me', 'So, tell me', 'Tell me'][turn % 3]} {_lower_first(heading)}."
    main = heading.split(":")[0].strip()
    lead = _LEADS[turn % len(_LEADS)].format(m=_lower_first(main))
    if intent == "relate" and other:
        return f"{lead} How does this connect to {other}?"
    options = _QUESTIONS[intent]
    return f"{lead} {options[turn % len(options)]}"


def main_term(material: Material, topic: str, title: str) -> Term | None:
    """The glossary entry the topic is about ("Variational autoencoder (VAE)" for "Variational Autoencoders")."""
    named = [t for t in material.terms_for(topic) if mentions(title, t.aliases)]
    return max(named, key=lambda t: len(t.name)) if named else None


@dataclass
class _Turn:
    heading: str  # chapter title
    question: str
    citation: Citation
    sentences: list[str]  # candidates, in passage order
    taken: int = 0


def _sections(material: Material, source: str, title: str) -> list[tuple[str, Citation]]:
    """The first passage of each section of a document, in reading order."""
    seen: dict[str, Citation] = {}
    for chunk in material.chunks:
        if chunk.source == source and chunk.section and chunk.section != title and chunk.section not in seen:
            seen[chunk.section] = Citation.from_chunk(chunk)
    return list(seen.items())


def _other_topic(material: Material, topic: str, text: str) -> str | None:
    """The title of another course topic the passage names (for the host's "how does this connect" question)."""
    for other in material.topics:
        if other.topic != topic and mentions(text, aliases(re.sub(r"\s*\([^)]*\)", "", other.title))):
            return other.title
    return None


def build_script(material: Material, topic: str, checker: SupportChecker, config: PodcastConfig,
                 support_threshold: float) -> Script:
    info = material.topic(topic)
    if info is None:
        known = ", ".join(t.topic for t in material.topics) or "none"
        raise PodcastError(f"no topic {topic!r} in the index (topics: {known})")
    turns: list[_Turn] = []
    term = main_term(material, topic, info.title)
    if term is not None:
        bare = aliases(term.name)[1] if len(aliases(term.name)) > 1 else term.name
        turns.append(_Turn("What it is", f"First things first: what exactly is the {_lower_first(bare)}?",
                           term.citation, [speech_text(s) for s in sentences_of(term.definition) if len(s.split()) >= 4]))
    for i, (heading, citation) in enumerate(_sections(material, info.source, info.title)):
        intent = "origin" if i == 0 and section_intent(heading) == "more" else section_intent(heading)
        sents = _run(speakable(citation.text))
        if sents:
            other = _other_topic(material, topic, citation.text) if intent == "relate" else None
            turns.append(_Turn(heading, host_question(heading, intent, len(turns), other), citation, sents))
    if not turns:
        raise PodcastError(f"the topic {topic!r} has no passages to read; check its document and rebuild the index")

    intro = (f"Welcome to your audio overview. Today's lesson is {speech_text(info.title)}. "
             "I'll ask the questions, and our guide answers from the course material.")
    outro = (f"That's our overview of {speech_text(info.title)}. Check the sources in the transcript, "
             "then try the quiz on this topic to test yourself.")

    def seconds(chosen: list[_Turn]) -> float:
        words = len(intro.split()) + len(outro.split())
        words += sum(len(t.question.split()) + sum(len(s.split()) for s in t.sentences[: t.taken]) for t in chosen)
        return words / config.words_per_s + config.chapter_gap_s * (len(chosen) + 1) + config.gap_s * len(chosen)

    # Breadth first: one sentence per section while the time allows, then a second, a third...
    chosen: list[_Turn] = []
    for turn in turns:
        turn.taken = 1
        if chosen and seconds(chosen + [turn]) > config.target_s:
            turn.taken = 0
            break
        chosen.append(turn)
    grew = True
    while grew:
        grew = False
        for turn in chosen:
            if turn.taken >= min(len(turn.sentences), config.max_turn_sentences):
                continue
            nxt = turn.sentences[turn.taken]
            if sum(len(s.split()) for s in turn.sentences[: turn.taken]) + len(nxt.split()) > config.max_turn_words:
                continue
            turn.taken += 1
            if seconds(chosen) > config.target_s:
                turn.taken -= 1
                continue
            grew = True

    chapters = [Chapter("Introduction")]
    lines = [Line(HOST, intro, 0)]
    sources: list[Citation] = []
    dropped = 0
    for turn in chosen:
        spoken = []
        for sentence in turn.sentences[: turn.taken]:
            score = checker.support(sentence, turn.citation.text).score
            if score >= support_threshold:
                spoken.append((sentence, score))
            else:
                dropped += 1
        if not spoken:
            continue
        if turn.citation not in sources:
            sources.append(turn.citation)
        n = sources.index(turn.citation) + 1
        chapters.append(Chapter(turn.heading))
        c = len(chapters) - 1
        lines.append(Line(HOST, turn.question, c))
        lines += [Line(GUIDE, sentence, c, n, round(score, 3)) for sentence, score in spoken]
    chapters.append(Chapter("Wrap-up"))
    lines.append(Line(HOST, outro, len(chapters) - 1))
    return merge_thin_chapters(Script(topic, info.title, lines, chapters, sources, dropped),
                               config.min_chapter_lines)


# A line that only gestures at things ("Several techniques were developed to fix this.") without naming one: the
# vague phrase is what the sentence is about (it opens it, or follows "proposed", "developed"...).
_VAGUE = re.compile(
    r"(?:^(?:[^,]{0,40},\s*)?|\b(?:proposed|developed|introduced|explored|tried|suggested|are|were)\s+)"
    r"(?:several|various|many|numerous|multiple|some|different|a (?:number|variety|range|host) of)\s+"
    r"(?:\w+\s+)?(?:techniques|methods|approaches|ways|variants|models|improvements|ideas|tricks|strategies|"
    r"works|papers|extensions|applications|solutions|architectures|changes|innovations|advances|modifications)\b",
    re.I)
_NAMING = re.compile(r"\b(?:such as|including|like|for (?:example|instance)|namely|e\.g\.)\b|:", re.I)


def informative(text: str) -> bool:
    """Whether a guide line says something of its own: not a "several techniques…" line that names none."""
    return not (_VAGUE.search(text) and not _NAMING.search(text))


def merge_thin_chapters(script: Script, min_lines: int) -> Script:
    """Fold every chapter with fewer than ``min_lines`` informative guide lines into the chapter before it, so no
    chapter button leads to lines that say nothing. The lines stay, in order; only the chapter break goes. The
    wrap-up is never merged, and a script whose every chapter is thin is left as it is."""
    last = len(script.chapters) - 1
    thin = {c for c in range(1, last)
            if sum(1 for line in script.lines if line.chapter == c and line.speaker == GUIDE
                   and informative(line.text)) < min_lines}
    if not thin or len(thin) == last - 1:
        return script
    kept = [c for c in range(len(script.chapters)) if c not in thin]
    number = {c: sum(1 for k in kept if k <= c) - 1 for c in range(len(script.chapters))}  # the nearest kept one
    lines = [replace(line, chapter=number[line.chapter]) for line in script.lines]  # at or before it
    return replace(script, lines=lines, chapters=[script.chapters[c] for c in kept])
