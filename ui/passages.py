"""A course passage as safe HTML: its Markdown rendered (lists, emphasis, code blocks), the sentences an answer
rests on highlighted whole.

No Streamlit calls, so it is tested on its own. markdown-it-py parses (raw HTML in a passage stays text, images
become their alt text, links their words); what no library does is mark a sentence that runs across emphasis,
inline code and soft line breaks, so that part is written here: each paragraph's rendered text is split with the
library's own sentence splitter (rag_tutor.citations.split_sentences), a quote is found in it word by word, and
every sentence it touches is wrapped in <mark>, piece by piece, inside the markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import lru_cache

from markdown_it import MarkdownIt

from rag_tutor.citations import MARKDOWN_LINK, split_sentences

_WORD = re.compile(r"\w+")
_TABLE_ROW = re.compile(r"\|.*\|")  # a quote that is a table row, as the sentence splitter keeps one
MIN_OVERLAP = 0.6  # a quote not found word for word marks the sentence sharing this share of its words, if any

CSS = """<style>
.rt-passage {font-size: 0.92rem; line-height: 1.5; overflow-wrap: anywhere;}
.rt-passage p, .rt-passage ul, .rt-passage ol {margin: 0 0 0.5rem 0;}
.rt-passage ul, .rt-passage ol {padding-left: 1.3rem;}
.rt-passage h1, .rt-passage h2, .rt-passage h3, .rt-passage h4 {font-size: 1rem; margin: 0.3rem 0;}
.rt-passage pre {background: rgba(128,128,128,0.12); border-radius: 0.4rem; padding: 0.5rem 0.7rem;
  overflow-x: auto; margin: 0 0 0.5rem 0; line-height: 1.35;}
.rt-passage pre code {background: none; padding: 0; white-space: pre; font-size: 0.85rem;}
.rt-passage code {font-family: "Source Code Pro", ui-monospace, monospace; font-size: 0.85em;
  background: rgba(128,128,128,0.12); border-radius: 0.25rem; padding: 0 0.2rem;}
.rt-passage mark.rt-hl {background: #fde68a; color: #1f2937; padding: 0 1px; border-radius: 2px;}
.rt-passage mark.rt-hl.rt-now {background: #fbbf24; box-shadow: 0 0 0 2px #f59e0b;}
</style>"""


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    """One parser for every passage: its render rules keep no state (each token carries its own place)."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    md.add_render_rule("link_open", lambda *a: "")  # a link keeps its words, never its address
    md.add_render_rule("link_close", lambda *a: "")
    md.add_render_rule("image", lambda self, tokens, idx, options, env: html.escape(tokens[idx].content))
    md.add_render_rule("text", _text_rule)
    md.add_render_rule("code_inline", _code_inline_rule)
    md.add_render_rule("fence", _code_block_rule)
    md.add_render_rule("code_block", _code_block_rule)
    return md


@dataclass
class _Block:
    """One paragraph, heading, list item or code line as the reader sees it, and its highlighted spans."""

    text: str = ""
    marks: list[tuple[int, int, str, str]] = field(default_factory=list)  # (start, end, sentence id, quote ids)


def _marked(block: _Block, start: int, content: str) -> str:
    """``content``, which starts at ``start`` in ``block.text``, escaped, with each highlighted part in <mark>."""
    out, at, end = [], 0, len(content)
    for a, b, sid, qids in block.marks:
        a, b = max(a - start, at), min(b - start, end)
        if a >= b:
            continue
        out.append(html.escape(content[at:a]))
        out.append(f'<mark class="rt-hl" data-s="{sid}" data-q="{qids}">{html.escape(content[a:b])}</mark>')
        at = b
    out.append(html.escape(content[at:]))
    return "".join(out)


def _located(token) -> str:
    where = token.meta.get("rt")
    if where is None:
        return html.escape(token.content)
    block, start = where
    return _marked(block, start, token.content)


def _text_rule(self, tokens, idx, options, env) -> str:
    return _located(tokens[idx])


def _code_inline_rule(self, tokens, idx, options, env) -> str:
    return f"<code>{_located(tokens[idx])}</code>"


def _code_block_rule(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    lines = token.meta.get("rt_lines")
    body = ("".join(_marked(b, 0, b.text) + "\n" for b in lines) if lines is not None
            else html.escape(token.content))
    lang = (token.info or "").split()[0] if token.info else ""
    cls = f' class="language-{html.escape(lang, quote=True)}"' if re.fullmatch(r"[\w+#.-]{1,20}", lang) else ""
    return f"<pre><code{cls}>{body}</code></pre>\n"


def _blocks(tokens) -> list[_Block]:
    """Each inline run and each code line as a block of plain text; every text token remembers where it sits."""
    blocks: list[_Block] = []
    for token in tokens:
        if token.type == "inline":
            block, children = _Block(), token.children or []
            for k, child in enumerate(children):
                if child.type in ("text", "code_inline"):
                    child.meta = {**(child.meta or {}), "rt": (block, len(block.text))}
                    block.text += child.content
                elif child.type == "softbreak":
                    block.text += " "  # a wrapped line continues its sentence
                elif child.type == "hardbreak":
                    # The chunker joins a document's lines with hard breaks: one that a lower-case word continues
                    # is a wrapped sentence, any other a new line (a list, a heading, a line of its own).
                    after = next((c.content for c in children[k + 1 :] if c.content), "")
                    block.text += " " if after[:1].islower() and block.text[-1:].isalnum() else "\n"
            blocks.append(block)
        elif token.type in ("fence", "code_block"):
            lines = [_Block(line) for line in token.content.rstrip("\n").split("\n")]
            token.meta = {**(token.meta or {}), "rt_lines": lines}
            blocks.extend(lines)
    return blocks


def _sentences(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``, as the library's splitter cuts them."""
    found = list(_WORD.finditer(text))
    words = [m.group() for m in found]
    spans, at = [], 0
    for sentence in split_sentences(text):
        want = _WORD.findall(sentence)
        if not want or at >= len(words):
            continue
        # the splitter drops a leading "1." or "-" as a list bullet: find the sentence's words from here on
        at = next((j for j in range(at, len(words) - len(want) + 1) if words[j : j + len(want)] == want), at)
        last = min(at + len(want), len(words)) - 1
        end = found[last].end()
        while end < len(text) and text[end] in ".!?\"')]:;":
            end += 1
        start = found[at].start()
        while start > (spans[-1][1] if spans else 0) and not text[start - 1].isspace():
            start -= 1  # an opening quote, bracket or "<" belongs to the sentence
        spans.append((start, end))
        at = last + 1
    return spans


def _shown_words(markdown: str) -> list[str]:
    """The words of a quote (or a table cell) as the rendered passage shows them, lower case: a link as its words."""
    return [w.lower() for w in _WORD.findall(MARKDOWN_LINK.sub(r"\1", markdown))]


def _find(quote: str, blocks: list[_Block]) -> list[tuple[int, int, int]]:
    """[(block, first word, last word)] where the quote's words occur in order; else the sentence sharing most of
    its words (MIN_OVERLAP at least); [] when none. A link in the quote is its words, as the passage shows it. A
    table row ("| a | b |") is found as its cells, each a block of its own, side by side (else as any quote: a
    piece of a table cut from its header is no table)."""
    row = _row(quote.strip().strip("|").split("|"), blocks) if _TABLE_ROW.fullmatch(quote.strip()) else []
    if row:
        return row
    want = _shown_words(quote)
    if not want:
        return []
    best, best_share = [], MIN_OVERLAP
    for i, block in enumerate(blocks):
        words = [m.group().lower() for m in _WORD.finditer(block.text)]
        for j in range(len(words) - len(want) + 1):
            if words[j : j + len(want)] == want:
                return [(i, j, j + len(want) - 1)]
        for a, b in _sentences(block.text):
            got = [m.group().lower() for m in _WORD.finditer(block.text[a:b])]
            share = len(set(want) & set(got)) / len(set(want))
            if share > best_share:
                first = len(_WORD.findall(block.text[:a]))
                best, best_share = [(i, first, first + len(got) - 1)], share
    return best


def _row(cells: list[str], blocks: list[_Block]) -> list[tuple[int, int, int]]:
    """The run of blocks whose words are the cells' words, one cell each (empty cells and all): each whole."""
    want = [_shown_words(c) for c in cells]
    if not any(want):
        return []
    have = [[w.lower() for w in _WORD.findall(b.text)] for b in blocks]
    for i in range(len(blocks) - len(want) + 1):
        if have[i : i + len(want)] == want:
            return [(i + k, 0, len(w) - 1) for k, w in enumerate(want) if w]
    return []


def _highlight(blocks: list[_Block], quotes: list[str]) -> None:
    """Every sentence a quote touches, marked whole, labelled with the positions of the quotes that chose it."""
    chosen: dict[tuple[int, int], list[int]] = {}
    for q, quote in enumerate(quotes):
        for i, first, last in _find(quote, blocks):
            text = blocks[i].text
            words = [m.span() for m in _WORD.finditer(text)]
            a, b = words[first][0], words[last][1]
            for s, (sa, sb) in enumerate(_sentences(text)):
                if sa < b and a < sb:
                    chosen.setdefault((i, s), []).append(q)
    for (i, s), qs in sorted(chosen.items()):
        sa, sb = _sentences(blocks[i].text)[s]
        blocks[i].marks.append((sa, sb, f"{i}.{s}", " ".join(map(str, qs))))


def passage_html(text: str, quotes: list[str] | str = "", anchor: str = "") -> str:
    """The passage as HTML for st.html: Markdown rendered with nothing raw or fetched, each quoted sentence
    marked whole. ``anchor`` becomes the box's id (the answer's [n] links point at it)."""
    quotes = [quotes] if isinstance(quotes, str) else list(quotes)
    md = _parser()
    tokens = md.parse(text or "")
    _highlight(_blocks(tokens), [q for q in quotes if q and q.strip()])
    body = md.renderer.render(tokens, md.options, {})
    ident = f' id="{html.escape(anchor, quote=True)}"' if anchor else ""
    return f"{CSS}<div class='rt-passage'{ident}>{body}</div>"
