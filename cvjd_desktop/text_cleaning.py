"""Turn raw extracted text into fewer, cleaner characters without losing words.

Every character sent to a model is paid for, and extractors leave a lot of noise:
runs of spaces from justified PDF lines, icon-font glyphs, ligatures, soft hyphens,
words split across lines. This module also decodes the bytes of plain-text files and
strips HTML down to its visible text, because both are "bytes to clean text" jobs
that carry no dependency beyond the standard library.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from html.parser import HTMLParser

# Bullets that start list lines; "-" and "*" only count when a space follows them
# (so "-5%" and "*args" stay as they are).
_BULLET_CHARS = "•●▪■◦‣·∙⁃○◆◇❖➢➤►▶▸✓✔✗☐□"
# Symbol/Wingdings bullets as Word writes them into PDFs: private-use code points
# that would otherwise be dropped with the icon glyphs and take the list marker along.
_PUA_BULLETS = "\uf0b7\uf0a7\uf076\uf0d8\uf0fc\uf0a8\uf06e\uf0e8"

_ODD_NEWLINES = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_NEWLINES = re.compile(rf"\r\n?|[{_ODD_NEWLINES}]")
_LINE_PUA_BULLET = re.compile(rf"^[ \t]*[{_PUA_BULLETS}][ \t]*", re.MULTILINE)
# Private use (icon fonts), zero-width and bidi marks, BOMs, replacement and object
# characters, and C0/C1 controls other than tab and newline. ZWJ/ZWNJ stay: they
# carry meaning in Indic and Persian scripts and emoji, and removing them can merge
# two words into one.
_DROP = re.compile(
    "[\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
    "\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufffc\ufffd"
    "\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]"
)
_SOFT_HYPHEN_BREAK = re.compile(r"\u00ad[ \t]*\n[ \t]*")
_COMPOUND = re.compile(r"\b\w+-\w+\b")
_HYPHEN_BREAK = re.compile(r"\b(\w+)[-\u2010]\n(\w+)")
_SPACES = re.compile(" {2,}")
_BLANK_LINES = re.compile(r"\n{3,}")
# Dot leaders, rules and underlines ("Skills ........ 5", "=====", "_____"): no words,
# many tokens. Three are kept so Markdown rules and ellipses still read as such.
_PUNCT_RUNS = re.compile(r"([-_=.~*#+•·])\1{3,}")
# A bullet starts a line, alone on its line (PDFs often put the glyph on its own), or
# before the text; "-" and "*" only with a space after them.
_BULLET_LINE = re.compile(rf"^(?:[{_BULLET_CHARS}][ \n]?|[-*] )(?=\S)", re.MULTILINE)

# Left halves of English compounds that keep their hyphen when split across lines
# ("self-\nmotivated" is "self-motivated", not "selfmotivated").
_COMPOUND_HEADS = frozenset(
    {"self", "cross", "full", "part", "well", "real", "co", "non", "long", "short", "high"}
)


def clean_text(text: str) -> str:
    """Shrink extracted text to what carries meaning, keeping every word.

    NFKC (ligatures, full-width forms and odd spaces become plain characters), drop
    icon-font and invisible characters, rejoin words hyphenated across lines, turn
    bullets into ``- `` list lines, and collapse runs of blank space and of
    decorative punctuation (dot leaders, rules).
    """
    if not text:
        return ""
    # Each step is skipped when a cheap substring test shows it has nothing to do:
    # a regex pass costs a few hundred microseconds on a CV, str.__contains__ almost
    # nothing, and this runs on every document.
    if any(ch in text for ch in _ODD_NEWLINES):
        text = _NEWLINES.sub("\n", text)
    if any(ch in text for ch in _PUA_BULLETS):
        text = _LINE_PUA_BULLET.sub("• ", text)
    if "\u00ad" in text:
        text = _SOFT_HYPHEN_BREAK.sub("", text).replace("\u00ad", "")
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = _DROP.sub("", text)
    text = _PUNCT_RUNS.sub(r"\1\1\1", text)
    # After NFKC the only blanks left besides " " and "\n" are tabs and the Ogham mark.
    for blank in ("\t", "\u1680"):
        if blank in text:
            text = text.replace(blank, " ")
    if "  " in text:
        text = _SPACES.sub(" ", text)
    text = text.replace(" \n", "\n").replace("\n ", "\n")
    if "-\n" in text or "\u2010\n" in text:
        text = _rejoin_hyphenated(text)
    text = _BULLET_LINE.sub("- ", text)
    if "\n\n\n" in text:
        text = _BLANK_LINES.sub("\n\n", text)
    return text.strip()


def _rejoin_hyphenated(text: str) -> str:
    """``develop-\\nment`` becomes ``development``; real compounds keep the hyphen.

    Only a lowercase letter on both sides counts as a hyphenation break (``Java-\\nScript``
    or ``2019-\\n2021`` are left alone). When the hyphenated compound also appears on a
    single line elsewhere in the text, or starts with a common compound head, the hyphen
    stays and only the line break goes.
    """

    # One pass for the compounds written on one line; a search per break would be
    # quadratic on long texts full of breaks.
    compounds = set(_COMPOUND.findall(text))

    def join(match: re.Match[str]) -> str:
        left, right = match.group(1), match.group(2)
        if not (left[-1].isalpha() and left[-1].islower() and right[0].islower()):
            return match.group(0)
        compound = f"{left}-{right}"
        if left.lower() in _COMPOUND_HEADS or compound in compounds:
            return compound
        return left + right

    return _HYPHEN_BREAK.sub(join, text)


# --- bytes of plain-text files -----------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode a text file's bytes; returns (text, encoding name used).

    A BOM decides when there is one; then UTF-8 (forgiving a few stray bytes in an
    otherwise UTF-8 text); then UTF-16 without a BOM
    when every other byte is NUL (Windows tools write that); then cp1252, which is
    what Latin-1 text from Windows almost always is. Bytes cp1252 leaves undefined
    fall back to their Latin-1 meaning, so decoding never fails.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data.decode(encoding, errors="replace"), encoding
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # UTF-8 with a few stray bytes (text pasted together from several sources): keep
    # the UTF-8 reading when valid multi-byte characters far outnumber the bad bytes.
    # Latin-1 text has no valid multi-byte sequences at all, so it never gets here.
    lenient = data.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd")
    non_ascii = len(lenient) - len(lenient.encode("ascii", "ignore"))
    if non_ascii - bad > 4 * bad:
        return lenient, "utf-8-lenient"
    sample = data[:4096]
    if len(sample) >= 4:
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
            return data.decode("utf-16-le", errors="replace"), "utf-16-le"
        if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
            return data.decode("utf-16-be", errors="replace"), "utf-16-be"
    return data.decode("cp1252", errors="latin1_fallback"), "cp1252"


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    """The five bytes cp1252 leaves undefined read as their Latin-1 characters."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    chunk = error.object[error.start : error.end]
    return bytes(chunk).decode("latin-1"), error.end


codecs.register_error("latin1_fallback", _latin1_fallback)


def looks_binary(text: str) -> bool:
    """Whether decoded text is really binary data (controls and NULs, not prose)."""
    sample = text[:8192]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ch < " " and ch not in "\t\n\r\x0c")
    return "\x00" in sample or controls > 0.02 * len(sample)


# --- HTML ---------------------------------------------------------------------------

_HTML_SKIP = frozenset(
    {"script", "style", "noscript", "template", "svg", "math", "iframe", "object", "canvas"}
)
_HTML_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog",
        "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1",
        "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
        "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead",
        "title", "tr", "ul", "option", "caption", "legend", "label",
    }
)  # fmt: skip
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
     "track", "wbr", "param"}
)  # fmt: skip
_HTML_SPACE = re.compile(r"[ \t\r\n\f]+")
_HTML_LINE_BREAKS = re.compile(r"[ \t]*\n[ \t\n]*")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


class _TextExtractor(HTMLParser):
    """Collects visible text; never fetches anything (no resources are followed)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0
        self._skip_stack: list[str] = []
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID and tag != "br":
            return
        hidden = any(name == "hidden" for name, _ in attrs) or any(
            name == "aria-hidden" and value == "true" for name, value in attrs
        )
        if tag in _HTML_SKIP or hidden or self._skip_stack:
            if tag not in _VOID:
                self._skip_stack.append(tag)
            return
        if tag in _HTML_BLOCK:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag == "pre":
            self._pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and not self._skip_stack:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skip_stack:
            if tag in self._skip_stack:
                # Unwind to the matching open tag; browsers forgive missing end tags.
                while self._skip_stack and self._skip_stack.pop() != tag:
                    pass
            return
        if tag in _HTML_BLOCK:
            self.parts.append("\n")
        if tag == "pre" and self._pre:
            self._pre -= 1

    def handle_data(self, data: str) -> None:
        if self._skip_stack:
            return
        self.parts.append(data if self._pre else _HTML_SPACE.sub(" ", data))


def decode_html(data: bytes) -> str:
    """Decode HTML bytes: BOM, then a ``<meta charset>`` in the first 4 KB, then text rules."""
    if not any(data.startswith(bom) for bom, _ in _BOMS):
        match = _META_CHARSET.search(data[:4096])
        if match:
            try:
                encoding = codecs.lookup(match.group(1).decode("ascii")).name
            except LookupError:
                encoding = ""
            if encoding and "16" not in encoding and "32" not in encoding:
                try:
                    return data.decode(encoding)
                except UnicodeDecodeError:
                    pass
    return decode_text(data)[0]


def html_to_text(markup: str) -> str:
    """Visible text of an HTML page, one block element per line, scripts and styles dropped."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return _HTML_LINE_BREAKS.sub("\n", "".join(parser.parts))
