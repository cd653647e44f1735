from rag_tutor.chunking import chunk_document, clean_markup, without_related
from rag_tutor.documents import load_corpus, load_document


def _chunks(corpus, name, size=1200, overlap=150):
    return chunk_document(load_document(corpus / name, corpus), size, overlap)


def test_every_chunk_knows_its_source_title_and_section(tiny_corpus):
    chunks = _chunks(tiny_corpus, "05-vae.md")
    by_section = {c.section: c for c in chunks}
    assert "Kingma and Welling" in by_section["Who introduced the VAE"].text
    assert "ELBO" in by_section["The ELBO objective"].text
    assert all(c.source == "corpus/05-vae.md" and c.title == "Variational autoencoders" for c in chunks)
    assert all(c.topic == "vae" for c in chunks)
    assert "Variational autoencoders - Who introduced the VAE" in by_section["Who introduced the VAE"].search_text


def test_glossary_entries_stay_whole_one_chunk_each(tiny_corpus):
    chunks = _chunks(tiny_corpus, "glossary.md", size=60, overlap=0)  # far smaller than an entry
    entries = [c for c in chunks if c.section in {"Mode collapse", "Generator", "Discriminator"}]
    assert len(entries) == 3
    mode = next(c for c in entries if c.section == "Mode collapse")
    assert mode.text == ("Mode collapse: A GAN failure in which the generator produces only a few kinds of output. "
                         "Related terms: Generator, Discriminator.")
    assert without_related(mode.text) == ("Mode collapse: A GAN failure in which the generator produces only a few "
                                          "kinds of output.")


def test_long_sections_are_split_and_keep_their_heading(tiny_corpus):
    body = " ".join(f"Sentence {i} about the reverse diffusion process." for i in range(80))
    (tiny_corpus / "long.md").write_text(f"# Long\n\n## The reverse process in depth\n\n{body}\n")
    chunks = _chunks(tiny_corpus, "long.md", size=400, overlap=50)
    assert len(chunks) > 5
    assert all(c.section == "The reverse process in depth" and len(c.text) <= 400 for c in chunks)
    assert len({c.id for c in chunks}) == len(chunks)


def test_html_and_doc_builder_markup_is_removed():
    text = '<!--Copyright notice-->\n# Title\n<Tip warning={true}>\nUse LoRA.\n</Tip>\n[[autodoc]] LoraConfig\n'
    cleaned = clean_markup(text)
    assert "Use LoRA." in cleaned and "<Tip" not in cleaned and "autodoc" not in cleaned and "Copyright" not in cleaned


def test_external_peft_docs_chunk_with_real_section_anchors():
    from pathlib import Path

    peft = Path(__file__).resolve().parents[2] / "shared" / "external" / "peft-docs"
    report = load_corpus([peft])
    chunks = [c for d in report.documents for c in chunk_document(d, 1200, 150)]
    assert len(report.documents) >= 20 and len(chunks) > 100
    assert not any("<!--" in c.text or "[[autodoc]]" in c.text for c in chunks)
    quick = [c for c in chunks if c.source == "peft-docs/quicktour.md"]
    assert quick and all(c.section for c in quick)


def test_a_code_block_keeps_its_indentation(tiny_corpus):
    (tiny_corpus / "code.md").write_text(
        "# Code\n\n## Boiling in a loop\n\nThe kettle is polled until it boils:\n\n```python\n"
        "while not kettle.boiled():\n    wait(1)  # one second\n    if kettle.empty():\n\tbreak\n```\n\n"
        "1. In a list, a block sits under its item:\n\n   ```\n   for cup in cups:\n       pour(cup)\n   ```\n\n"
        "Then tea is made.\n")
    [chunk] = _chunks(tiny_corpus, "code.md")
    assert "while not kettle.boiled():\n    wait(1)  # one second\n    if kettle.empty():\n\tbreak\n```" in chunk.text
    assert "```\nfor cup in cups:\n    pour(cup)\n```" in chunk.text  # dedented to its fence
    assert chunk.text.startswith("The kettle is polled until it boils:") and "Then tea is made." in chunk.text


def test_a_piece_cut_inside_a_code_block_is_fenced_and_keeps_its_indentation(tiny_corpus):
    steps = "\n".join(f"    kettle.step({i})  # heat a little more" for i in range(40))
    (tiny_corpus / "long_code.md").write_text(
        f"# Code\n\n## Heating\n\nThe kettle heats in steps:\n\n```python\ndef heat(kettle):\n{steps}\n```\n\n"
        "After the loop the water is hot. It is poured at once.\n")
    chunks = _chunks(tiny_corpus, "long_code.md", size=400, overlap=50)
    assert len(chunks) >= 4
    for chunk in chunks:
        lines = chunk.text.split("\n")
        fences = [i for i, line in enumerate(lines) if line.startswith("```")]
        assert len(fences) % 2 == 0 and fences, chunk.text  # every piece of the example shows as code
        code = lines[fences[0] + 1:fences[1]]
        assert all(line.startswith("    kettle.step(") for line in code if "kettle.step" in line)  # indented
    assert chunks[-1].text.endswith("After the loop the water is hot. It is poured at once.")
    assert "```python" not in chunks[-1].text.split("\n")[-1]


def test_the_peft_docs_cut_no_code_block_open():
    from pathlib import Path

    peft = Path(__file__).resolve().parents[2] / "shared" / "external" / "peft-docs"
    chunks = [c for d in load_corpus([peft]).documents for c in chunk_document(d, 1200, 150)]
    opened = [c.id for c in chunks if sum(line.lstrip().startswith("```") for line in c.text.split("\n")) % 2]
    assert not opened
