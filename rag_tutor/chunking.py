"""Documents -> chunks that each know their citation anchor (source, title, section).

Markdown is split on headings with LangChain's ``MarkdownHeaderTextSplitter``;
sections longer than ``chunk_size`` are split again with
``RecursiveCharacterTextSplitter``. Glossary entries are never split: one
``## Term`` entry is one chunk. A fenced code block keeps its indentation, which
the header splitter strips from every line (``with_code_indentation``).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from .documents import Document, glossary_fields, is_glossary

# Bump when the chunking code changes what chunks it makes: the index then rebuilds fully.
CHUNKER_VERSION = 5  # 3: code blocks keep their indentation; 4: a piece cut inside a code block is fenced;
# 5: a word a PDF broke at a line end is whole again (documents.rejoin_broken_words)
HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]

# Doc-builder and HTML markup seen in real documentation sets (e.g. the PEFT docs):
# comments, tags and [[autodoc]] directives carry no prose worth retrieving.
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?>")
_AUTODOC = re.compile(r"^\s*\[\[autodoc\]\].*$", re.M)
_ANCHOR = re.compile(r"\s*\[\[[^\]]*\]\]\s*$")


@dataclass
class Chunk:
    """A retrievable passage and its citation anchor."""

    id: str  # "<source>#<n>", stable while the document is unchanged
    source: str  # document id, e.g. "corpus/05-variational-autoencoders.md"
    title: str  # document title
    section: str  # heading the passage sits under ("" for plain text)
    topic: str
    text: str  # the passage as shown to the learner

    @property
    def search_text(self) -> str:
        """What is embedded and keyword-indexed: the anchor gives short passages their context."""
        head = f"{self.title} - {self.section}" if self.section and self.section != self.title else self.title
        return f"{head}\n{self.text}"

    def to_dict(self) -> dict:
        return asdict(self)


def clean_markup(text: str) -> str:
    text = _HTML_COMMENT.sub("", text)
    text = _AUTODOC.sub("", text)
    text = _HTML_TAG.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def _as_split(line: str) -> str:
    """A line as LangChain's header splitter leaves it: stripped, without unprintable characters (tabs)."""
    return "".join(filter(str.isprintable, line.strip()))


def fenced_blocks(lines: list[str]) -> list[tuple[int, int, int]]:
    """The fenced code blocks among ``lines``: (opening fence, closing fence or len(lines), the fence's indent)."""
    out, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(m.group(1)):
            j += 1
        out.append((i, j, len(lines[i]) - len(lines[i].lstrip())))
        i = j + 1
    return out


def code_blocks(text: str) -> dict[tuple[str, ...], list[str]]:
    """Each fenced code block of a Markdown text, keyed by its lines as the header splitter leaves them, with its
    lines as written (dedented to its fence, as a block inside a list item is)."""
    lines = text.splitlines()
    return {tuple(_as_split(line) for line in lines[i + 1:j]):
            [line[indent:] if not line[:indent].strip() else line.strip() for line in lines[i + 1:j]]
            for i, j, indent in fenced_blocks(lines)}


def with_code_indentation(body: str, blocks: dict[tuple[str, ...], list[str]]) -> str:
    """A section as the header splitter gives it, each fenced code block given back its lines as written
    (``code_blocks`` of the whole document): without its indentation, code that a learner opens from a citation
    reads wrong ("while not finished(tokens):" with its body at the same depth). A block not found stays as it is."""
    lines = body.split("\n")
    for i, j, _ in reversed(fenced_blocks(lines)):
        inner = lines[i + 1:j]
        lines[i + 1:j] = blocks.get(tuple(_as_split(line) for line in inner), inner)
    return "\n".join(lines)


def with_fences(body: str, pieces: list[str]) -> list[str]:
    """The pieces the character splitter cut ``body`` into, each closed over its code: a piece that begins inside a
    fenced code block opens with that block's fence ("```python"), and one that ends inside a block closes it.
    Without them a piece cut inside an example shows its code as prose (a comment line as a heading) and the prose
    after it as code, in the app and to the sentence splitter."""
    lines = body.split("\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    # each block: where its opening fence line starts and ends, where its closing fence starts, and that opening line
    spans = [(starts[i], starts[i + 1] - 1, starts[j] if j < len(lines) else len(body) + 1, lines[i].strip())
             for i, j, _ in fenced_blocks(lines)]
    out, at = [], 0
    for piece in pieces:
        begin = body.find(piece, at)
        if begin < 0:  # not found as written: left as it is
            out.append(piece)
            continue
        at, end = begin + 1, begin + len(piece)
        opened = next((fence for _, code, close, fence in spans if code < begin < close), None)
        closed = next((fence for _, code, close, fence in spans if code < end <= close), None)
        if any(begin == close for _, _, close, _ in spans):  # it begins with a closing fence: that line opens nothing
            piece = piece.partition("\n")[2]
        elif opened:  # the splitter strips a piece's first line: code gets its indentation back
            indent = body[body.rfind("\n", 0, begin) + 1:begin]
            piece = f"{opened}\n{indent if not indent.strip() else ''}{piece}"
        if any(start < end <= code for start, code, _, _ in spans):  # it ends with an opening fence alone
            piece = piece.rpartition("\n")[0]
        out.append(piece)
        if closed:
            out[-1] += "\n" + _FENCE.match(closed).group(1)
    return out


RELATED_TERMS = "Related terms:"  # what a glossary passage lists its related terms after (glossary_passage)


def without_related(passage: str) -> str:
    """A glossary passage (``glossary_passage``) without its related terms: "Term: definition"."""
    return re.split(rf"\s*{RELATED_TERMS}", passage, maxsplit=1)[0]


def glossary_passage(term: str, body: str) -> str:
    """"Term: definition Related terms: a, b." from a glossary entry's bullet fields."""
    fields = glossary_fields(body)
    if "definition" not in fields:
        return f"{term}: {body}"
    text = f"{term}: {fields['definition']}"
    if fields.get("related"):
        text += f" {RELATED_TERMS} {fields['related'].rstrip('.')}."
    return text


def _section_name(meta: dict, title: str) -> str:
    for key in ("h3", "h2"):
        if meta.get(key):
            name = _ANCHOR.sub("", meta[key]).strip()
            if key == "h3" and meta.get("h2"):
                return f"{_ANCHOR.sub('', meta['h2']).strip()} › {name}"
            return name
    return _ANCHOR.sub("", meta.get("h1", "")).strip() or title


def _pieces(doc: Document, size: int, overlap: int) -> list[tuple[str, str]]:
    """(section, text) pairs for one document."""
    recursive = RecursiveCharacterTextSplitter(chunk_size=size, chunk_overlap=overlap)
    if doc.kind == "pdf":
        out = []
        for number, page in enumerate(doc.pages, 1):
            out.extend((f"page {number}", piece) for piece in recursive.split_text(page) if piece.strip())
        return out
    if doc.kind == "text":
        return [("", piece) for piece in recursive.split_text(doc.text)]
    splitter = MarkdownHeaderTextSplitter(headers_to_split_on=HEADERS, strip_headers=True)
    glossary = is_glossary(doc)
    text = clean_markup(doc.text)
    blocks = code_blocks(text)
    out = []
    for section_doc in splitter.split_text(text):
        body = with_code_indentation(section_doc.page_content.strip(), blocks)
        if not body:
            continue
        section = _section_name(section_doc.metadata, doc.title)
        if glossary and section_doc.metadata.get("h2"):
            # A glossary entry stays whole, as plain prose with its term, so a citation reads alone.
            out.append((section, glossary_passage(section, body)))
            continue
        out.extend((section, piece) for piece in with_fences(body, recursive.split_text(body)) if piece.strip())
    return out


def chunk_document(doc: Document, chunk_size: int, chunk_overlap: int) -> list[Chunk]:
    return [
        Chunk(f"{doc.source}#{i}", doc.source, doc.title, section, doc.topic, text)
        for i, (section, text) in enumerate(_pieces(doc, chunk_size, chunk_overlap))
    ]
