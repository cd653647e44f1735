from pathlib import Path

import pytest

from rag_tutor.config import load_settings
from rag_tutor.documents import is_glossary, load_corpus, parse_glossary
from rag_tutor.errors import CorpusError

TOPICS = {"intro", "history", "concepts", "autoregressive", "vae", "gan", "diffusion", "flows", "theory", "latent",
          "compute", "adaptation", "alignment", "applications", "sampling", "evaluation", "risks", "practice",
          "future"}


def _pdf(path: Path, text: str | None, password: str | None = None) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if password:
        writer.encrypt(password)
    with open(path, "wb") as fh:
        writer.write(fh)


def _text_pdf(path: Path, lines: list[str]) -> None:
    """A one-page PDF (Helvetica) with each of ``lines`` on its own line, as typesetting breaks them."""
    ops = ["BT /F1 11 Tf 14 TL 20 180 Td"]
    ops += [f"({line}) Tj T*" for line in lines]  # no parentheses or backslashes in the lines
    stream = "\n".join(ops + ["ET"]).encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 400 200] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))


def test_front_matter_gives_title_topic_and_order(tiny_corpus):
    docs = {d.source: d for d in load_corpus([tiny_corpus]).documents}
    vae = docs["corpus/05-vae.md"]
    assert (vae.title, vae.topic, vae.order) == ("Variational autoencoders", "vae", 5)
    assert not vae.text.startswith("---")


def test_txt_without_front_matter_gets_a_title_from_its_name(tiny_corpus):
    (tiny_corpus / "sampling-notes.txt").write_text("Temperature rescales the logits.")
    doc = next(d for d in load_corpus([tiny_corpus]).documents if d.kind == "text")
    assert doc.title == "Sampling notes"


def test_binary_undecodable_and_empty_files_are_skipped_with_a_reason(tiny_corpus):
    (tiny_corpus / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00garbage")
    (tiny_corpus / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (tiny_corpus / "empty.md").write_text("   \n")
    report = load_corpus([tiny_corpus])
    assert len(report.documents) == 3
    reasons = "\n".join(report.skipped)
    assert "image.md: binary file" in reasons
    assert "latin1.txt: not valid UTF-8" in reasons
    assert "empty.md: empty file" in reasons


def test_a_word_a_pdf_breaks_at_a_line_end_is_whole_again(tiny_corpus):
    """"gener-" / "ative" reads "generative"; a word the text hyphenates elsewhere, or a compound, keeps its hyphen."""
    _text_pdf(tiny_corpus / "kettles.pdf", ["A kettle is a gener-", "ative vessel for pre-", "boiled water, as",
                                            "pre-boiled water is a state-of-the-", "art drink. A dash -", "stays."])
    doc = next(d for d in load_corpus([tiny_corpus]).documents if d.kind == "pdf")
    assert "a generative vessel for pre-boiled water" in " ".join(doc.text.split())
    assert "a state-of-the-art drink" in " ".join(doc.text.split())
    assert "A dash -\nstays." in doc.text


def test_empty_and_encrypted_pdfs_are_skipped(tiny_corpus):
    _pdf(tiny_corpus / "blank.pdf", None)
    _pdf(tiny_corpus / "locked.pdf", None, password="secret")
    _ = (tiny_corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    report = load_corpus([tiny_corpus])
    reasons = "\n".join(report.skipped)
    assert "blank.pdf: PDF has no extractable text" in reasons
    assert "locked.pdf: encrypted PDF" in reasons
    assert "broken.pdf:" in reasons
    assert len(report.documents) == 3


def test_missing_folder_and_empty_corpus_are_errors(tmp_path):
    with pytest.raises(CorpusError, match="does not exist"):
        load_corpus([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="no readable"):
        load_corpus([tmp_path / "empty"])


def test_several_corpus_folders_are_read_together(tiny_corpus, tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "notes.md").write_text("# Notes\n\nSome notes.")
    sources = {d.source for d in load_corpus([tiny_corpus, extra]).documents}
    assert "extra/notes.md" in sources and "corpus/05-vae.md" in sources


def test_shipped_corpus_covers_the_course():
    docs = load_corpus(load_settings(env={}).corpus_dirs).documents
    topic_docs = [d for d in docs if not is_glossary(d)]
    assert len(topic_docs) >= 15
    assert TOPICS <= {d.topic for d in topic_docs}
    assert all(d.title and d.summary and d.order for d in topic_docs)


def test_shipped_glossary_has_120_terms_with_topic_and_related_terms():
    docs = load_corpus(load_settings(env={}).corpus_dirs).documents
    glossary = next(d for d in docs if is_glossary(d))
    entries = parse_glossary(glossary)
    assert len(entries) >= 120
    terms = {e.term for e in entries}
    assert len(terms) == len(entries), "duplicate glossary terms"
    for e in entries:
        assert e.topic in TOPICS, e.term
        assert 20 <= len(e.definition) <= 600, e.term
        assert e.related and set(e.related) <= terms, (e.term, set(e.related) - terms)


def test_front_matter_with_an_unquoted_colon_is_still_read(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    (corpus / "a.md").write_text("---\ntitle: Theory: the basics\ntopic: theory\norder: 9\n---\n# X\n\nBody.\n")
    doc = load_corpus([corpus]).documents[0]
    assert (doc.title, doc.topic, doc.order) == ("Theory: the basics", "theory", 9)
