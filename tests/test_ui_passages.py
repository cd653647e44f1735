"""A cited passage as the learner sees it (ui/passages.py) and an answer's [n] links (ui/common.py): Markdown
rendered with nothing raw, each quoted sentence marked whole. No models: our own small passages, then every
passage of the shipped corpus as the chunker cuts it."""

from __future__ import annotations

import html
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rag_tutor.chunking import chunk_document
from rag_tutor.citations import split_sentences
from rag_tutor.config import load_settings
from rag_tutor.documents import load_corpus

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "ui"))  # the app's own modules, as `streamlit run ui/app.py` sees them

import common  # noqa: E402
from passages import passage_html  # noqa: E402


class _Marks(HTMLParser):
    """The text of each highlighted sentence (its <mark> pieces joined), the text outside marks, and the tags."""

    def __init__(self) -> None:
        super().__init__()
        self.sentences: dict[str, str] = {}
        self.quotes: dict[str, set[str]] = {}
        self.tags: list[str] = []
        self.text = ""
        self._in: str | None = None
        self._pre = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if tag == "mark":
            self._in = attrs["data-s"]
            self.sentences.setdefault(self._in, "")
            self.quotes.setdefault(self._in, set()).update(attrs["data-q"].split())
        if tag == "pre":
            self._pre += 1

    def handle_endtag(self, tag):
        if tag == "mark":
            self._in = None
        if tag == "pre":
            self._pre -= 1

    def handle_data(self, data):
        self.text += data
        if self._in is not None:
            self.sentences[self._in] += data
        elif self.sentences and not self._pre:  # a soft line break between two marks of one sentence
            last = next(reversed(self.sentences))
            if data.strip() == "" and self.sentences[last]:
                self.sentences[last] += " "


def marks_of(html: str) -> _Marks:
    parser = _Marks()
    parser.feed(html[html.index("<div"):])
    return parser


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


PASSAGE = (
    "Sampling draws each token from the model's distribution\n"
    "instead of always taking the most likely one. **Temperature** rescales the `logits` first. "
    "Lower values make the output more predictable:  \n"
    "- **Top-k** keeps the *k* most likely tokens.\n"
    "- **Top-p** keeps the smallest set whose probability reaches p.\n\n"
    "```python\n"
    "def sample(logits, t=0.8):\n"
    "    z = logits / t\n"
    "    return softmax(z)\n"
    "```\n"
    "A <b>bold</b> tag, ![a diagram](http://example.org/d.png) and [a link](http://example.org) stay text."
)


def test_markdown_is_rendered_not_shown_raw():
    html = passage_html(PASSAGE)
    page = marks_of(html)
    assert "<strong>Temperature</strong>" in html and "<em>k</em>" in html and "<code>logits</code>" in html
    assert page.tags.count("li") == 2 and "ul" in page.tags
    assert '<pre><code class="language-python">def sample(logits, t=0.8):\n    z = logits / t\n' in html
    assert "```" not in page.text and "**" not in page.text and not re.search(r"(?m)^\s*python\s*$", page.text)
    # nothing raw, nothing fetched: a tag is text, an image is its alt text, a link its words
    assert "<b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    assert "<img" not in html and "http://example.org" not in html and "a diagram" in page.text
    assert "<a " not in html and "a link" in page.text


def test_each_quoted_sentence_is_marked_whole_across_line_breaks_and_markup():
    quotes = ["Sampling draws each token from the model's distribution",  # half a sentence: a wrapped line
              "Temperature rescales the logits first.", "Top-p keeps the smallest set whose probability reaches p."]
    page = marks_of(passage_html(PASSAGE, quotes))
    got = sorted(page.sentences.values())
    assert [words(s) for s in got] == [words(s) for s in sorted([
        "Sampling draws each token from the model's distribution instead of always taking the most likely one.",
        "Temperature rescales the logits first.", "Top-p keeps the smallest set whose probability reaches p."])]
    assert sorted(page.quotes.values(), key=sorted) == [{"0"}, {"1"}, {"2"}]


def test_two_answer_sentences_on_one_passage_sentence_share_its_mark():
    page = marks_of(passage_html(PASSAGE, ["Temperature rescales the logits", "It rescales the logits first"]))
    assert list(page.quotes.values()) == [{"0", "1"}]


def test_a_highlight_inside_a_code_block_keeps_the_block_whole():
    html = passage_html(PASSAGE, ["z = logits / t"])
    assert html.count("<pre>") == 1 and html.count("</pre>") == 1
    code = html[html.index("<pre>"): html.index("</pre>")]
    assert '<mark class="rt-hl"' in code and "    <mark" in code  # the indentation stays outside the mark
    assert [s.strip() for s in marks_of(html).sentences.values()] == ["z = logits / t"]


def test_a_quoted_sentence_with_a_link_is_marked_by_the_words_the_passage_shows():
    link = "[the care guide](https://docs.example.org/en/latest/appliances/kettle/maintenance/descaling-guide.html)"
    text = f"Descale the kettle often. For the steps, see {link}\nthat came in the box. Rinse it twice."
    page = marks_of(passage_html(text, [f"For the steps, see {link} that came in the box."]))
    assert [words(s) for s in page.sentences.values()] == [words("For the steps, see the care guide that came in "
                                                                 "the box.")]


def test_a_quoted_table_row_marks_each_of_its_cells():
    text = "Parts of a kettle:\n\n| part | job |\n| --- | --- |\n| lid | keeps the heat in |\n| base | heats the water |"
    page = marks_of(passage_html(text, ["| lid | keeps the heat in |"]))
    assert sorted(words(s) for s in page.sentences.values()) == [["keeps", "the", "heat", "in"], ["lid"]]
    piece = "| lid | keeps the heat in |\n| base | heats the water |"  # cut from its header: no table, one paragraph
    marked = [words(s) for s in marks_of(passage_html(piece, ["| lid | keeps the heat in |"])).sentences.values()]
    assert len(marked) == 1 and marked[0][:5] == ["lid", "keeps", "the", "heat", "in"]


def test_a_quote_not_in_the_passage_marks_nothing():
    assert "<mark" not in passage_html(PASSAGE, ["Diffusion models reverse a noising process step by step."])


def test_answer_marks_link_to_their_source_and_to_the_sentence_that_cites_it():
    text = "Noise is added [1]. A network removes it [2][1]. Text [3]."
    linked = common.cited_markdown(text, "src-7", [1, 2])
    assert linked == ("Noise is added [[1]](#src-7-1-q0). A network removes it [[2]](#src-7-2-q0)[[1]](#src-7-1-q1)."
                      " Text \\[3\\].")


@pytest.fixture(scope="module")
def corpus_chunks():
    s = load_settings()
    report = load_corpus([Path(d) for d in s.corpus_dirs])
    return [c for doc in report.documents for c in chunk_document(doc, s.chunk_size, s.chunk_overlap)]


def test_every_sentence_of_every_corpus_passage_can_be_marked_whole(corpus_chunks):
    """What an answer may quote (the splitter's sentences of the raw passage) is found and marked, and each mark
    is one whole sentence of the rendered passage: it starts a sentence and ends at its stop."""
    assert len(corpus_chunks) > 100
    missed, cut = [], []
    for chunk in corpus_chunks:
        quotes = [q for q in split_sentences(chunk.text) if len(words(q)) >= 3]
        page = marks_of(passage_html(chunk.text, quotes))
        found = set().union(*page.quotes.values()) if page.quotes else set()
        missed += [(chunk.id, q) for i, q in enumerate(quotes) if str(i) not in found]
        for sentence in page.sentences.values():
            s = sentence.strip()
            if "\n" not in s and not re.search(r"[.!?:;)\]\"'\w]$", s):
                cut.append((chunk.id, s))
    assert not missed, missed[:5]
    assert not cut, cut[:5]


def test_a_corpus_code_example_opens_with_its_indentation(corpus_chunks):
    """The header splitter strips every line; the chunker gives a code block its lines back (chunking.py), so a
    loop's body shows under its loop."""
    blocks = [re.search(r"<pre><code[^>]*>(.*?)</code></pre>", passage_html(c.text), re.S) for c in corpus_chunks
              if "```" in c.text]
    assert blocks and all(blocks)
    assert any(re.search(r":\n {4}\S", html.unescape(b.group(1))) for b in blocks)
