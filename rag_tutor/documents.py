"""Load course documents (.md, .txt, .pdf) and the glossary from corpus folders."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import CorpusError
from .injection import Flagged, remove_instructions

SUFFIXES = (".md", ".markdown", ".txt", ".pdf")
FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


@dataclass
class Document:
    """One source file, decoded to text, with what its front matter declares."""

    source: str  # stable id: "<corpus folder name>/<path inside it>"
    path: Path
    title: str
    topic: str
    text: str  # body, front matter removed
    kind: str  # "markdown" | "text" | "pdf"
    sha256: str  # hash of the raw bytes: what the incremental index compares
    order: int | None = None
    summary: str = ""
    pages: list[str] = field(default_factory=list)  # PDFs: text per page
    flagged: list[Flagged] = field(default_factory=list)  # sentences addressing an AI, taken out of ``text``


@dataclass
class LoadReport:
    documents: list[Document]
    skipped: list[str]  # one human-readable line per skipped file


@dataclass
class GlossaryEntry:
    term: str
    definition: str
    topic: str
    related: list[str]
    source: str


def _title_from_path(path: Path) -> str:
    stem = re.sub(r"^\d+[-_ ]*", "", path.stem)
    return stem.replace("-", " ").replace("_", " ").strip().capitalize() or path.stem


def split_front_matter(raw: str) -> tuple[dict, str]:
    """Return (front matter dict, body). Malformed front matter is treated as body text."""
    m = FRONT_MATTER.match(raw)
    if not m:
        return {}, raw
    try:
        meta = yaml.safe_load(m.group(1)) or {}
    except yaml.YAMLError:
        meta = None
    if not isinstance(meta, dict):
        # Hand-written front matter often has an unquoted colon in a value ("summary: a: b"),
        # which is invalid YAML; read it as plain "key: value" lines instead.
        meta = {}
        for line in m.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep and re.fullmatch(r"[A-Za-z_][\w-]*", key.strip()):
                meta[key.strip()] = value.strip().strip("'\"")
        if not meta:
            return {}, raw
    return meta, raw[m.end():]


def _first_heading(body: str) -> str | None:
    m = re.search(r"^#\s+(.+?)\s*#*\s*$", body, re.M)
    return m.group(1).strip() if m else None


def _looks_binary(data: bytes) -> bool:
    return b"\x00" in data[:8192]


# A word a PDF broke at a line end: "gener-" then "ative" on the next line.
_BROKEN_WORD = re.compile(r"(?<![\w-])([A-Za-z]+(?:-[A-Za-z]+)*)-[ \t]*\n[ \t]*([a-z]+)(?![\w-])")


def rejoin_broken_words(text: str) -> str:
    """A PDF's text with the words typesetting hyphenated at line ends made whole again ("gener-" / "ative" ->
    "generative"), so that a sentence reads and searches as its words. The hyphen stays where the text writes that
    word with a hyphen elsewhere ("pre-" / "trained" -> "pre-trained" when "pre-trained" occurs) and in a compound
    that already has one ("state-of-the-" / "art")."""
    hyphenated = {m.group(0).lower() for m in re.finditer(r"(?<![\w-])[A-Za-z]+-[a-z]+(?![\w-])", text)}

    def whole(m: re.Match) -> str:
        head, tail = m.group(1), m.group(2)
        kept = "-" in head or f"{head.rsplit('-', 1)[-1]}-{tail}".lower() in hyphenated
        return f"{head}-{tail}" if kept else head + tail

    return _BROKEN_WORD.sub(whole, text)


def _read_pdf(path: Path) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            # An empty user password opens many "protected" PDFs; anything else we cannot read.
            try:
                if not reader.decrypt(""):
                    raise CorpusError("encrypted PDF (needs a password)")
            except Exception:
                raise CorpusError("encrypted PDF (needs a password)") from None
        return [rejoin_broken_words((page.extract_text() or "").strip()) for page in reader.pages]
    except CorpusError:
        raise
    except (PdfReadError, ValueError, OSError, KeyError) as exc:
        raise CorpusError(f"unreadable PDF ({exc})") from None


def load_document(path: Path, root: Path) -> Document:
    """Read one file; raises CorpusError with a short reason if it cannot be used."""
    source = f"{root.name}/{path.relative_to(root).as_posix()}"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"cannot read ({exc.strerror})") from None
    digest = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        pages = _read_pdf(path)
        text = "\n\n".join(p for p in pages if p)
        if not text.strip():
            raise CorpusError("PDF has no extractable text (scanned or empty)")
        text, flagged = remove_instructions(text)  # line numbers of the extracted text
        pages = [remove_instructions(p)[0] for p in pages]
        return Document(source, path, _title_from_path(path), "", text, "pdf", digest, pages=pages, flagged=flagged)
    if _looks_binary(data):
        raise CorpusError("binary file, not text")
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CorpusError("not valid UTF-8 text") from None
    raw = raw.replace("\r\n", "\n")
    meta, body = split_front_matter(raw)
    if not body.strip():
        raise CorpusError("empty file")
    body, flagged = remove_instructions(body, first_line=raw[: len(raw) - len(body)].count("\n") + 1)
    kind = "markdown" if suffix in (".md", ".markdown") else "text"
    title = str(meta.get("title") or (_first_heading(body) if kind == "markdown" else None) or _title_from_path(path))
    order = meta.get("order")
    return Document(
        source=source,
        path=path,
        title=title,
        topic=str(meta.get("topic") or ""),
        text=body,
        kind=kind,
        sha256=digest,
        order=int(order) if isinstance(order, (int, float, str)) and str(order).isdigit() else None,
        summary=str(meta.get("summary") or ""),
        flagged=flagged,
    )


def iter_corpus_files(corpus_dirs: list[Path], warnings: list[str] | None = None) -> list[tuple[Path, Path]]:
    """(file, corpus root) pairs for every supported file, sorted; raises if a folder is missing.

    Symlinked folders are followed once: a link back to a folder already walked (a loop, or a second path to
    the same folder) is skipped, with a line in ``warnings``.
    """
    found: list[tuple[Path, Path]] = []
    for root in corpus_dirs:
        root = Path(root)
        if not root.exists():
            raise CorpusError(f"corpus folder {root} does not exist; pass an existing folder with --corpus")
        if not root.is_dir():
            raise CorpusError(f"corpus path {root} is not a folder; pass a folder with --corpus")
        seen, here = {os.path.realpath(root)}, []
        for folder, dirs, files in os.walk(root, followlinks=True):
            kept = []
            for name in sorted(dirs):
                path = Path(folder) / name
                real = os.path.realpath(path)
                if name.startswith("."):
                    continue
                if real in seen:
                    if warnings is not None:
                        warnings.append(f"skipped {path}: a symlink back to {real}, which is already indexed (a loop)")
                    continue
                seen.add(real)
                kept.append(name)
            dirs[:] = kept
            for name in files:
                path = Path(folder) / name
                if name.startswith(".") or path.suffix.lower() not in SUFFIXES:
                    continue
                if path.is_file():
                    here.append((path, root))
                elif path.is_symlink() and warnings is not None:
                    warnings.append(f"skipped {path}: a symlink that loops or points to nothing")
        found.extend(sorted(here))
    return found


def load_corpus(corpus_dirs: list[Path]) -> LoadReport:
    """Load every usable document; unusable files are skipped with a reason, never fatal."""
    documents: list[Document] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for path, root in iter_corpus_files(corpus_dirs, skipped):
        try:
            doc = load_document(path, root)
        except CorpusError as exc:
            skipped.append(f"skipped {path}: {exc}")
            continue
        if doc.source in seen:
            skipped.append(f"skipped {path}: another corpus folder already has {doc.source}")
            continue
        seen.add(doc.source)
        documents.append(doc)
    if not documents:
        where = ", ".join(str(d) for d in corpus_dirs)
        raise CorpusError(f"no readable .md, .txt or .pdf documents in {where}; add course documents and run again")
    return LoadReport(documents, skipped)


_FIELD = re.compile(r"^\s*[-*]\s*\*\*(Definition|Topic|Related):\*\*\s*(.*)$", re.I | re.M)


def glossary_fields(body: str) -> dict[str, str]:
    """The ``- **Definition:** ...``, ``Topic`` and ``Related`` lines of one glossary entry."""
    return {key.lower(): value.strip() for key, value in _FIELD.findall(body)}


def parse_glossary(doc: Document) -> list[GlossaryEntry]:
    """Entries of a glossary document: one ``## Term`` heading each, with Definition/Topic/Related lines."""
    entries: list[GlossaryEntry] = []
    for block in re.split(r"^##\s+", doc.text, flags=re.M)[1:]:
        head, _, rest = block.partition("\n")
        fields = glossary_fields(rest)
        if "definition" not in fields:
            continue
        related = [r.strip() for r in fields.get("related", "").split(",") if r.strip()]
        entries.append(GlossaryEntry(head.strip(), fields["definition"], fields.get("topic", ""), related, doc.source))
    return entries


def is_glossary(doc: Document) -> bool:
    return doc.topic == "glossary" or doc.path.stem.lower() == "glossary"
