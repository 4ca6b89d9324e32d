"""Prompt economy (issue 7, item 6): what every request pays besides the document,
and what cleaning saves on the document itself, in characters and tokens.

Tokens: counted with OpenAI's o200k_base encoding (GPT-4o family) when the
``bpe-openai`` package is installed (it ships its vocabularies, no download);
otherwise the figures are ``llm.base.estimate_tokens`` (about 4 characters a token,
erring high) and the rows say "est. tokens". Local models use other vocabularies;
ratios carry over well between BPE tokenizers, absolute counts less so.

Fixed part: the system message exactly as the Ollama provider sends it (the
extraction instructions plus the schema, compact, one line) and the empty document
wrapper. Baseline: the same with pydantic's default ``model_json_schema()`` (titles,
defaults, descriptions) as ``json.dumps`` writes it, what a straightforward
implementation sends. The floor, "as small as the fields allow", is the field names
alone, comma-separated: no schema can name its fields in less.

Document: cleaned (``read_document``) versus raw ``page.get_text()`` text of CV
PDFs. The no-words-lost check: the words of a text are its maximal runs of ``\\w``
characters after NFKC normalisation (ligatures such as "ﬁ" become "fi") with soft
hyphens removed. The multisets of raw and cleaned words must be equal, except that
a word split at a line-end hyphen in the raw text ("distrib-" newline "uted") may
appear joined ("distributed") in the cleaned one: each such join found in the raw
text cancels one "distrib" and one "uted" against one "distributed". Anything else
that differs counts as a word lost or changed. (``bench_documents`` reports the
same files in characters.)
"""

from __future__ import annotations

import collections
import json
import random
import re
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._support import cv_html, make_cv_pdf, row
from cvjd_desktop.extraction import fixed_prompt_tokens, system_prompt, wrap_document
from cvjd_desktop.llm.base import estimate_tokens
from cvjd_desktop.llm.output import schema_instructions
from cvjd_desktop.schemas import SCHEMAS

_WORD = re.compile(r"\w+")
_LINE_HYPHEN = re.compile(r"(\w+)[-\u2010][ \t]*\n[ \t]*(\w+)")


def _tokenizer() -> tuple[Callable[[str], int], str]:
    try:
        import bpe_openai
    except ImportError:
        return estimate_tokens, "est. tokens"
    encoding = bpe_openai.get_encoding("o200k_base")
    return (lambda text: len(encoding.encode(text))), "tokens"


def run() -> list[dict[str, Any]]:
    count, unit = _tokenizer()
    rows = _fixed_rows(count, unit)
    with tempfile.TemporaryDirectory(prefix="cvjd-bench-prompt-") as tmp:
        rows += _document_rows(Path(tmp), count, unit)
    return rows


# --- the fixed part ------------------------------------------------------------------


def _fixed_part(kind: str, schema_text: str | None = None) -> str:
    model = SCHEMAS[kind]
    instructions = schema_instructions(model)
    if schema_text is not None:
        compact = instructions.rsplit("Schema: ", 1)[0]
        instructions = f"{compact}Schema: {schema_text}"
    return f"{system_prompt(kind)}\n\n{instructions}" + wrap_document("")  # type: ignore[arg-type]


def _field_names(node: Any, out: list[str]) -> list[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                out.extend(value)
            _field_names(value, out)
    elif isinstance(node, list):
        for item in node:
            _field_names(item, out)
    return out


def _fixed_rows(count: Callable[[str], int], unit: str) -> list[dict[str, Any]]:
    rows = []
    for kind in ("cv", "jd"):
        model = SCHEMAS[kind]
        sent = _fixed_part(kind)
        naive = _fixed_part(kind, json.dumps(model.model_json_schema()))
        floor = ",".join(_field_names(model.model_json_schema(), []))
        label = "CV" if kind == "cv" else "JD"
        rows.append(
            row(
                f"fixed part of every {label} request",
                float(count(sent)),
                unit,
                float(count(naive)),
                None,
                f"{len(sent):,} chars (naive {len(naive):,}); engine's own estimate "
                f"{fixed_prompt_tokens(kind)} (its budget figure); baseline: pydantic's "
                "default schema",  # type: ignore[arg-type]
            )
        )
        rows.append(
            row(
                f"fixed part of a {label} request vs its field names alone",
                float(count(sent)),
                unit,
                float(count(floor)),
                None,
                f"baseline: the {len(floor.split(','))} field names, comma-separated "
                "(a floor no schema can beat); the rest is types, nesting and instructions",
            )
        )
    return rows


# --- the document --------------------------------------------------------------------


def _words(text: str) -> collections.Counter[str]:
    text = unicodedata.normalize("NFKC", text.replace("\u00ad", ""))
    return collections.Counter(_WORD.findall(text))


def words_lost(raw: str, cleaned: str) -> int:
    """Words lost or changed by cleaning, by the definition in the module docstring."""
    before, after = _words(raw), _words(cleaned)
    lost, gained = before - after, after - before
    normal = unicodedata.normalize("NFKC", raw.replace("\u00ad", ""))
    for match in _LINE_HYPHEN.finditer(normal):
        left, right = match.group(1), match.group(2)
        # "\w+" splits "self-motivated"; only the word touching the break joins.
        head, tail = left, right
        joined = head + tail
        if gained[joined] and lost[head] and lost[tail]:
            gained[joined] -= 1
            lost[head] -= 1
            lost[tail] -= 1
    return sum((+lost).values()) + sum((+gained).values())


def _hyphenated_cv_pdf(path: Path, seed: int) -> Path:
    """A CV set like LaTeX sets it: justified, narrow, hyphenated, with ligatures."""
    import pymupdf

    rnd = random.Random(seed)

    def hyphenate(match: re.Match[str]) -> str:
        word = match.group(0)
        cuts = sorted(rnd.sample(range(3, len(word) - 2), k=min(2, len(word) - 5)))
        parts = [word[a:b] for a, b in zip([0, *cuts], [*cuts, len(word)], strict=True)]
        return "&shy;".join(parts)

    body = re.sub(r"(?<![&#\w])[a-z]{8,}(?![\w;])", hyphenate, cv_html(seed, 6))
    html = f"<div style='text-align:justify; font-family:serif'>{body}</div>"
    mediabox = pymupdf.paper_rect("a4")
    writer = pymupdf.DocumentWriter(str(path))
    story = pymupdf.Story(html=html)
    column = pymupdf.Rect(150, 60, mediabox.width - 150, mediabox.height - 60)
    more = True
    while more:
        device = writer.begin_page(mediabox)
        more, _ = story.place(column)
        story.draw(device)
        writer.end_page()
    writer.close()
    return path


def _raw(path: Path) -> str:
    import pymupdf

    with pymupdf.open(path) as doc:
        return "".join(page.get_text() for page in doc)


def _document_rows(folder: Path, count: Callable[[str], int], unit: str) -> list[dict[str, Any]]:
    from cvjd_desktop.documents import read_document

    samples = (
        ("2-page CV PDF (HTML layout)", make_cv_pdf(folder / "cv-2.pdf", 2, seed=2)),
        ("10-page CV PDF (HTML layout)", make_cv_pdf(folder / "cv-10.pdf", 10, seed=10)),
        ("hyphenated, justified CV PDF", _hyphenated_cv_pdf(folder / "cv-tex.pdf", seed=3)),
    )
    rows = []
    for label, path in samples:
        raw = _raw(path)
        cleaned = read_document(path).text
        lost = words_lost(raw, cleaned)
        rows.append(
            row(
                f"cleaned document, {label}",
                float(count(cleaned)),
                unit,
                float(count(raw)),
                0.9,
                f"{len(cleaned):,} vs {len(raw):,} chars; words lost or changed: {lost}; "
                "baseline: raw get_text()",
                target_on_ratio=True,
                explain=(
                    "Modern PDF producers already emit one space between words and no "
                    "runs of blanks, so the raw text is nearly as tight as the cleaned one; "
                    "cleaning removes what exists (hyphenation, ligatures, bullets, icons)"
                ),
            )
        )
        rows.append(
            row(
                f"words lost by cleaning, {label}",
                float(lost),
                "words",
                None,
                0,
                "multiset check as defined in bench_prompt; hyphen joins allowed",
            )
        )
    return rows
