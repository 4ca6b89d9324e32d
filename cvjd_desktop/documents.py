"""Read a CV or job description from a file (or pasted text) into clean text.

The type is judged by the bytes, not the name: a DOCX named ``.pdf`` is read as
DOCX, a program renamed ``.pdf`` is refused. Every failure, whatever the input,
ends as one of the ``DocumentError`` subclasses with a one-line message that names
the file; nothing else escapes ``read_document``.

PyMuPDF is not thread-safe, and the window reads files from a worker pool, so every
call into it holds ``_MUPDF_LOCK``; the layout and cleaning work happens outside it.
PyMuPDF and python-docx are imported on first use so that the CLI and the window
start without paying for them.
"""

from __future__ import annotations

import errno
import hashlib
import io
import itertools
import os
import re
import stat
import threading
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

from cvjd_desktop.errors import (
    CorruptFileError,
    DocumentError,
    EmptyFileError,
    FileTooLargeError,
    FileUnreadableError,
    NoTextLayerError,
    PasswordProtectedError,
    UnsupportedTypeError,
)
from cvjd_desktop.llm.base import estimate_tokens
from cvjd_desktop.text_cleaning import (
    clean_text,
    decode_html,
    decode_text,
    html_to_text,
    looks_binary,
)

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "Document",
    "clean_text",
    "document_from_text",
    "guess_kind",
    "iter_supported_files",
    "read_document",
    "truncate_for_context",
]

Kind = Literal["cv", "jd"]

_PYMUPDF_TYPES = {".pdf": "pdf", ".xps": "xps", ".oxps": "xps", ".epub": "epub"}
_TEXT_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".text"})
_HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml"})
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset(
    {*_PYMUPDF_TYPES, ".docx", ".docm", *_TEXT_EXTENSIONS, *_HTML_EXTENSIONS}
)
_FORMAT_LABELS = {
    ".pdf": "PDF",
    ".xps": "XPS",
    ".oxps": "XPS",
    ".epub": "EPUB",
    ".docx": "Word (.docx)",
    ".docm": "Word (.docm)",
}
# Encodings that only decode real text: a file named .pdf that decodes with one of
# them is text, anything else (cp1252 decodes any bytes) is a damaged file.
_STRICT_ENCODINGS = frozenset({"utf-8", "utf-8-sig", "utf-16", "utf-32"})
_SAME_FORMAT = {".oxps": ".xps", ".docm": ".docx"}
_SUPPORTED_HINT = "use PDF, DOCX, TXT, Markdown, HTML, EPUB or XPS"
_MAX_UNZIPPED = 512 * 1024 * 1024
MAX_TEXT_CHARS = 8_000_000
"""Text beyond this is dropped with a warning: about 2M tokens, more than any model takes,
and cleaning a 50 MB text file whole would cost seconds and most of a gigabyte."""
_MUPDF_LOCK = threading.Lock()


@dataclass(frozen=True)
class Document:
    """A file read into clean text, ready to be sent to a model."""

    path: Path | None
    name: str
    text: str
    pages: int
    sha256: str
    kind_guess: Kind
    source_format: str
    warnings: tuple[str, ...] = ()
    raw_chars: int = 0


# --- public API -----------------------------------------------------------------------


def read_document(
    path: Path | str, *, max_bytes: int = 50 * 1024 * 1024, max_pages: int = 2000
) -> Document:
    """Read one file into a ``Document``; raises only ``DocumentError`` subclasses."""
    path = Path(path)
    name = path.name or str(path)
    try:
        data = _read_bytes(path, name, max_bytes)
        raw, pages, fmt, warnings = _extract(data, path, name, max_pages)
        if len(raw) > MAX_TEXT_CHARS:
            raw = _cut_at_line(raw, MAX_TEXT_CHARS)
            warnings.append(
                f"{name}: only the first {len(raw):,} characters were read "
                "(more than any model's context holds)"
            )
        text = clean_text(raw)
        if not text:
            raise EmptyFileError(f"{name} contains no text")
        return Document(
            path=path,
            name=name,
            text=text,
            pages=pages,
            sha256=hashlib.sha256(data).hexdigest(),
            kind_guess=guess_kind(text, name=name),
            source_format=fmt,
            warnings=tuple(warnings),
            raw_chars=len(raw),
        )
    except DocumentError:
        raise
    except MemoryError:
        raise FileTooLargeError(f"{name} is too large to read into memory") from None
    except RecursionError:
        raise CorruptFileError(f"{name} is nested too deeply to read (damaged?)") from None
    except OSError as exc:
        raise _os_error(name, exc) from exc
    except Exception as exc:
        # Parsers raise a zoo of types on damaged input (RuntimeError from MuPDF,
        # KeyError and lxml errors from python-docx, zlib errors...): all mean damage.
        raise CorruptFileError(
            f"{name} could not be read; the file looks damaged ({type(exc).__name__})"
        ) from exc


def document_from_text(text: str, name: str = "Pasted text") -> Document:
    """A ``Document`` from text pasted into the window (no file behind it)."""
    cleaned = clean_text(text)
    if not cleaned:
        raise EmptyFileError(f"{name} is empty")
    return Document(
        path=None,
        name=name,
        text=cleaned,
        pages=1,
        sha256=hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest(),
        kind_guess=guess_kind(cleaned, name=name),
        source_format="text",
        raw_chars=len(text),
    )


def iter_supported_files(paths: Iterable[Path | str]) -> list[Path]:
    """Files as given, plus the supported files of folders, walked recursively.

    Files named explicitly always come back (``read_document`` then explains what is
    wrong with them). Inside folders, unsupported files, hidden entries and Word's
    ``~$`` lock files are skipped, symlinked folders are followed once (loops are
    safe), and each folder's files come sorted. A file reached twice is listed once.
    """
    result: list[Path] = []
    seen: set[str] = set()

    def add(p: Path) -> None:
        try:
            key = os.path.realpath(p)
        except (OSError, ValueError):
            key = str(p)
        if key not in seen:
            seen.add(key)
            result.append(p)

    for item in paths:
        p = Path(item)
        try:
            is_dir = p.is_dir()
        except (OSError, ValueError):
            is_dir = False
        if not is_dir:
            add(p)
            continue
        for found in _walk_folder(p):
            add(found)
    return result


def _walk_folder(root: Path) -> Iterator[Path]:
    visited: set[tuple[int, int]] = set()
    for folder, dirnames, filenames in os.walk(root, followlinks=True):
        try:
            st = os.stat(folder)
        except OSError:
            dirnames[:] = []
            continue
        key = (st.st_dev, st.st_ino)
        if key in visited:
            dirnames[:] = []
            continue
        visited.add(key)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for filename in sorted(filenames):
            if filename.startswith((".", "~$")):
                continue
            if os.path.splitext(filename)[1].lower() in SUPPORTED_EXTENSIONS:
                yield Path(folder, filename)


def _cut_at_line(text: str, limit: int) -> str:
    cut = text[:limit]
    newline = cut.rfind("\n")
    return cut[:newline] if newline >= limit // 2 else cut


def truncate_for_context(text: str, max_tokens: int) -> tuple[str, str | None]:
    """Cut ``text`` at a line boundary so its token estimate fits ``max_tokens``.

    Returns the text (unchanged when it fits) and a warning for the result, or None.
    """
    # Every 4 characters cost at least one token, so a long text needs no full count.
    if (len(text) + 3) // 4 <= max_tokens and estimate_tokens(text) <= max_tokens:
        return text, None
    limit = _longest_prefix_within(text, max(max_tokens, 0))
    cut = _cut_at_line(text, limit)
    if len(cut) == limit and cut.rfind(" ") >= limit // 2:
        cut = cut[: cut.rfind(" ")]  # no line break near the end: at least keep words whole
    cut = cut.rstrip()
    warning = f"text cut to fit the model's context: {len(cut):,} of {len(text):,} characters sent"
    return cut, warning


def _longest_prefix_within(text: str, max_tokens: int) -> int:
    """Length of the longest prefix whose ``estimate_tokens`` is at most ``max_tokens``.

    One pass with the estimate's own arithmetic, stopping early: a prefix longer than
    4 x max_tokens + 4 characters can never fit, so long texts cost little.
    """
    ascii_count = non_ascii = 0
    best = 0
    for i, ch in enumerate(text[: 4 * max_tokens + 8]):
        if ord(ch) > 127:
            non_ascii += 1
        else:
            ascii_count += 1
        if (ascii_count + 3) // 4 + (non_ascii + 2) // 3 > max_tokens:
            break
        best = i + 1
    return best


# --- kind guess ---------------------------------------------------------------------

# Each signal is a set of phrases with a weight. Latin and Cyrillic phrases match
# whole words (the text is reduced to words between single spaces); CJK phrases
# match anywhere, since those scripts put no spaces between words. Counting with
# str.count keeps this to a fraction of a millisecond per document.
_CV_SIGNALS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (4, ("curriculum vitae", "resume", "résumé", "lebenslauf", "curriculum", "currículum")),
    (4, ("резюме", "履歴書", "職務経歴書", "简历", "履历")),
    (3, ("work experience", "professional experience", "employment history")),
    (1, ("education", "skills", "certifications", "languages", "projects")),
    (0.5, ("experience",)),
    (1, ("hobbies", "interests", "references", "achievements", "certificates")),
    (2, ("berufserfahrung", "ausbildung", "persönliche daten", "kenntnisse", "geburtsdatum")),
    (3, ("experiencia laboral", "experiencia profesional", "formación académica")),
    (3, ("datos personales", "formacion academica")),
    (2, ("опыт работы", "образование", "навыки", "личные качества")),
    (2, ("工作经历", "教育背景", "项目经历", "个人信息", "专业技能", "学歴", "職歴", "免許")),
    (1, ("expérience professionnelle", "formation", "compétences")),
    (0.3, ("i", "my")),
)
_JD_SIGNALS: tuple[tuple[float, tuple[str, ...]], ...] = (
    (2, ("responsibilities", "requirements", "qualifications", "responsibility")),
    (3, ("we are looking", "we re looking", "we are seeking", "we are hiring", "join our team")),
    (2, ("you will", "you ll", "your role", "the role", "what you", "ideal candidate")),
    (2, ("benefits", "salary", "compensation", "we offer", "perks", "paid time off")),
    (1, ("apply", "applicants", "candidate", "candidates", "job description", "position")),
    (1, ("must have", "nice to have", "preferred", "required", "equal opportunity")),
    (0.5, ("full time", "part time", "hybrid", "remote")),
    (1, ("at least", "ability to", "familiarity with", "years of experience", "you have")),
    (0.3, ("you", "your")),
    (2, ("responsabilidades", "requisitos", "funciones", "buscamos", "ofrecemos", "vacante")),
    (2, ("convocatoria", "beneficios", "salario", "sueldo", "postular", "postúlate")),
    (2, ("aufgaben", "anforderungen", "wir bieten", "ihr profil", "dein profil", "wir suchen")),
    (2, ("stellenangebot", "m w d", "ihre aufgaben", "deine aufgaben")),
    (2, ("обязанности", "требования", "мы предлагаем", "вакансия", "зарплата", "условия")),
    (2, ("岗位职责", "任职要求", "职位描述", "福利", "薪资", "仕事内容", "応募資格", "必須")),
    (2, ("歓迎", "給与", "募集", "求人")),
    (2, ("missions", "profil recherché", "nous recherchons", "avantages", "postuler")),
)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")
_NON_WORD = re.compile(r"[\W_]+")
# ASCII punctuation to spaces, on UTF-8 bytes: bytes.translate is a table lookup per
# byte, a regex over the text costs thirty times more.
_PUNCT_TO_SPACE = bytes.maketrans(b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\t\n\r", b" " * 35)
_DATE_RANGE = re.compile(
    r"(?:19|20)\d\d ?[-–—] ?(?:(?:19|20)\d\d|present|current|now|heute|actualidad)\b"
)
_PAST_TENSE_BULLET = re.compile(
    r"^(?:- )?(?:led|built|developed|designed|managed|implemented|created|improved|"
    r"delivered|launched|reduced|increased|mentored|architected|migrated)\b",
    re.MULTILINE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"\+?\d[\d ()./-]{7,}\d")
_NAME_CV = re.compile(r"(?:^|[^a-z])(?:cv|resume|lebenslauf|curriculum|vitae|bewerbung)", re.I)
_NAME_JD = re.compile(
    r"(?:^|[^a-z])(?:jd|job|posting|vacancy|offer|oferta|stelle|description)", re.I
)


def guess_kind(text: str, *, name: str = "") -> Kind:
    """CV or job description, judged locally from the words (no model call).

    Each phrase counts at most three times so one repeated word cannot decide.
    Contact details near the top, date ranges and bullets that start with a past-tense
    verb are CV signs. On a tie the file name decides (``cv``, ``resume`` / ``jd``,
    ``job``...), and then "cv".
    """
    sample = text[:6000].lower()
    tokens = sample.encode("utf-8", "ignore").translate(_PUNCT_TO_SPACE).decode("utf-8", "ignore")
    split = tokens.split()
    seen = set(split)
    words = f" {' '.join(split)} "
    cv = _score(_CV_KEYS, sample, words, seen)
    jd = _score(_JD_KEYS, sample, words, seen)
    cv += min(len(_DATE_RANGE.findall(sample)), 3)
    cv += min(len(_PAST_TENSE_BULLET.findall(sample)), 3) * 0.5
    top = sample[:400]
    if _EMAIL.search(top):
        cv += 2
    if _PHONE.search(top):
        cv += 1.5
    if abs(cv - jd) < 0.01:
        if _NAME_JD.search(name) and not _NAME_CV.search(name):
            return "jd"
        return "cv"
    return "cv" if cv > jd else "jd"


def _score(signals: list[tuple[float, str, str]], raw: str, words: str, seen: set[str]) -> float:
    """Sum of capped phrase counts; a phrase whose first word is absent is skipped unsearched."""
    total = 0.0
    for weight, key, first in signals:
        if not first:
            total += min(raw.count(key), 3) * weight
        elif first in seen:
            total += min(words.count(key), 3) * weight
    return total


def _prepare(
    signals: tuple[tuple[float, tuple[str, ...]], ...],
) -> list[tuple[float, str, str]]:
    """(weight, search key, first word) per phrase; CJK phrases have no first word.

    Non-CJK keys are padded with spaces to match whole words only.
    """
    prepared = []
    for weight, phrases in signals:
        for phrase in phrases:
            if _CJK.search(phrase):
                prepared.append((weight, phrase, ""))
            else:
                key = _NON_WORD.sub(" ", phrase).strip()
                prepared.append((weight, f" {key} ", key.split()[0]))
    return prepared


_CV_KEYS = _prepare(_CV_SIGNALS)
_JD_KEYS = _prepare(_JD_SIGNALS)


# --- reading bytes --------------------------------------------------------------------


def _read_bytes(path: Path, name: str, max_bytes: int) -> bytes:
    """Read a regular file, refusing folders, FIFOs and devices before they can block."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except (OSError, ValueError) as exc:
        raise _os_error(name, exc) from exc
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise FileUnreadableError(f"{name} is a folder, not a file")
        if not stat.S_ISREG(st.st_mode):
            raise FileUnreadableError(f"{name} is not a regular file (a pipe or a device?)")
        if st.st_size > max_bytes:
            raise FileTooLargeError(
                f"{name} is {_size(st.st_size)}; the limit is {_size(max_bytes)}"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            # The size from fstat, not the limit: read(n) allocates n bytes up front.
            data = handle.read((st.st_size or max_bytes) + 1)
    except OSError as exc:
        raise _os_error(name, exc) from exc
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise FileTooLargeError(f"{name} is larger than the limit of {_size(max_bytes)}")
    if not data:
        raise EmptyFileError(f"{name} is empty (0 bytes)")
    return data


def _os_error(name: str, exc: BaseException) -> FileUnreadableError:
    if isinstance(exc, ValueError):  # a NUL byte in the path
        return FileUnreadableError(f"{name} is not a valid file name")
    code = getattr(exc, "errno", None)
    if code in (errno.ENOENT, errno.ENOTDIR):
        return FileUnreadableError(f"{name} was not found (moved or deleted?)")
    if code == errno.EISDIR:
        return FileUnreadableError(f"{name} is a folder, not a file")
    if code in (errno.EACCES, errno.EPERM):
        return FileUnreadableError(f"{name} cannot be read: permission denied")
    if code == errno.ELOOP:
        return FileUnreadableError(f"{name} is a symbolic link that loops back on itself")
    reason = getattr(exc, "strerror", None) or type(exc).__name__
    return FileUnreadableError(f"{name} cannot be read: {reason}")


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


# --- type sniffing and dispatch -----------------------------------------------------

_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_PROGRAM_MAGIC = (b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xfe\xed\xfa\xcf", b"\xca\xfe\xba\xbe")
_ARCHIVE_MAGIC = (b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!\x1a\x07", b"BZh")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_HTML_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<(?:!doctype\s+html|html[\s>]|head[\s>])", re.I)


def _extract(data: bytes, path: Path, name: str, max_pages: int) -> tuple[str, int, str, list[str]]:
    """Pick the reader by the bytes; returns (raw text, pages, format, warnings)."""
    ext = path.suffix.lower()
    head = data[:1024]
    if b"%PDF-" in head:
        return _renamed(_read_pymupdf(data, "pdf", name, max_pages), ext, ".pdf", name)
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _read_zip(data, ext, name, max_pages)
    if data.startswith(_OLE2):
        if _ENCRYPTED_PACKAGE in data:
            raise PasswordProtectedError(
                f"{name} is password-protected; remove the password and try again"
            )
        raise UnsupportedTypeError(
            f"{name} is an old Office 97-2003 file; save it as .docx or PDF and try again"
        )
    if (data.startswith(b"MZ") and b"\x00" in head) or data.startswith(_PROGRAM_MAGIC):
        raise UnsupportedTypeError(f"{name} is a program, not a document")
    for magic, label in _IMAGE_MAGIC:
        if data.startswith(magic):
            raise NoTextLayerError(
                f"{name} is an image ({label}), not a text document; it needs OCR first"
            )
    if data.startswith(b"{\\rtf"):
        raise UnsupportedTypeError(f"{name} is an RTF file; save it as .docx or PDF and try again")
    if data.startswith(_ARCHIVE_MAGIC):
        raise UnsupportedTypeError(f"{name} is a compressed archive; unpack it first")

    if ext in _HTML_EXTENSIONS or _HTML_START.match(head):
        return html_to_text(decode_html(data)), 1, "html", []
    if ext in _TEXT_EXTENSIONS or ext == "":
        return _read_plain(data, name), 1, "text", []
    if ext in _FORMAT_LABELS:
        text, encoding = decode_text(data)
        if encoding in _STRICT_ENCODINGS and not looks_binary(text) and text.strip():
            label = _FORMAT_LABELS[ext]
            note = f"{name} is plain text, not a {label} file; it was read as text"
            return text, 1, "text", [note]
        label = _FORMAT_LABELS[ext]
        raise CorruptFileError(
            f"{name} is not {_article(label)} {label} file "
            "(damaged, or another kind of file renamed)"
        )
    raise UnsupportedTypeError(f"{name}: {ext} files are not supported ({_SUPPORTED_HINT})")


def _renamed(
    result: tuple[str, int, str, list[str]], ext: str, real_ext: str, name: str
) -> tuple[str, int, str, list[str]]:
    """Note on the result when the content is not what the extension says."""
    if ext and ext != real_ext and _SAME_FORMAT.get(ext) != real_ext:
        label = _FORMAT_LABELS.get(real_ext, real_ext)
        result[3].append(f"{name} is really {_article(label)} {label} file; it was read as one")
    return result


def _article(label: str) -> str:
    return "an" if label[0] in "AEIOUX" else "a"


def _read_plain(data: bytes, name: str) -> str:
    text, _ = decode_text(data)
    if looks_binary(text):
        raise CorruptFileError(f"{name} is not a text file (it holds binary data)")
    if not text.strip():
        raise EmptyFileError(f"{name} has no text (only blank space)")
    return text


def _read_zip(data: bytes, ext: str, name: str, max_pages: int) -> tuple[str, int, str, list[str]]:
    """DOCX, EPUB and XPS are ZIP containers; tell them apart by what is inside."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            if sum(info.file_size for info in infos) > _MAX_UNZIPPED:
                raise FileTooLargeError(f"{name} unpacks to more than {_size(_MAX_UNZIPPED)}")
            mimetype = archive.read("mimetype")[:64] if "mimetype" in names else b""
    except zipfile.BadZipFile as exc:
        raise CorruptFileError(
            f"{name} is damaged or truncated (its ZIP container is broken)"
        ) from exc
    if "word/document.xml" in names:
        return _renamed(_read_docx(data, name), ext, ".docx", name)
    if mimetype.startswith(b"application/epub+zip"):
        return _renamed(_read_pymupdf(data, "epub", name, max_pages), ext, ".epub", name)
    if any(n.lower().endswith(".fdseq") for n in names):
        return _renamed(_read_pymupdf(data, "xps", name, max_pages), ext, ".xps", name)
    if ext in (".docx", ".docm"):
        raise CorruptFileError(f"{name} is damaged: it has no Word document inside")
    if ext in _FORMAT_LABELS:
        raise CorruptFileError(f"{name} is damaged or not a real {_FORMAT_LABELS[ext]} file")
    if mimetype.startswith(b"application/vnd.oasis.opendocument") or any(
        n.startswith(("xl/", "ppt/")) for n in names
    ):
        raise UnsupportedTypeError(f"{name} is not a supported document; {_SUPPORTED_HINT}")
    raise UnsupportedTypeError(f"{name} is a ZIP archive, not a document; unpack it first")


# --- PDF, XPS, EPUB (PyMuPDF) ------------------------------------------------------------


class _Block(NamedTuple):
    x0: float
    y0: float
    x1: float
    y1: float
    text: str


def _read_pymupdf(
    data: bytes, filetype: str, name: str, max_pages: int
) -> tuple[str, int, str, list[str]]:
    import pymupdf

    warnings: list[str] = []
    page_blocks: list[list[_Block]] = []
    unreadable: list[int] = []
    scanned: list[int] = []
    label = filetype.upper()
    with _MUPDF_LOCK:
        pymupdf.TOOLS.mupdf_display_errors(False)
        pymupdf.TOOLS.mupdf_display_warnings(False)
        try:
            doc = pymupdf.open(stream=data, filetype=filetype)
        except Exception as exc:
            raise CorruptFileError(
                f"{name} is damaged or not a real {label} file; it could not be opened"
            ) from exc
        try:
            if doc.needs_pass:
                raise PasswordProtectedError(
                    f"{name} is password-protected; remove the password and try again"
                )
            count = doc.page_count
            if count == 0:
                raise CorruptFileError(f"{name} is damaged or truncated: no pages could be read")
            if count > max_pages:
                raise FileTooLargeError(f"{name} has {count:,} pages; the limit is {max_pages:,}")
            repaired = filetype == "pdf" and bool(doc.is_repaired)
            if repaired:
                warnings.append(
                    f"{name} was damaged and has been repaired; some text may be missing"
                )
            for number in range(count):
                try:
                    page = doc.load_page(number)
                    raw_blocks = page.get_text("blocks", flags=_TEXT_FLAGS)
                    blocks = [
                        _Block(b[0], b[1], b[2], b[3], b[4])
                        for b in raw_blocks
                        if b[6] == 0 and b[4].strip()
                    ]
                    if not blocks and filetype == "pdf" and page.get_images():
                        scanned.append(number + 1)
                except Exception:
                    unreadable.append(number + 1)
                    blocks = []
                page_blocks.append(blocks)
        finally:
            doc.close()
    if len(unreadable) == count:
        raise CorruptFileError(f"{name} is damaged: none of its pages could be read")
    text = "\n\n".join("\n".join(_reading_order(blocks)) for blocks in page_blocks)
    if not text.strip():
        if repaired:
            raise CorruptFileError(f"{name} is damaged or truncated; no text could be read")
        raise NoTextLayerError(f"{name} has no text layer (a scanned image?); it needs OCR first")
    sample = text[:20000]
    unknown = sample.count("\ufffd")
    if unknown and unknown > 0.5 * (len(sample) - sum(map(sample.count, " \n\t"))):
        raise NoTextLayerError(
            f"{name} has no readable text layer (its fonts have no Unicode map); it needs OCR first"
        )
    if unreadable:
        warnings.append(f"{name}: {_page_list(unreadable)} damage and could not be read")
    if scanned:
        warnings.append(f"{name}: {_page_list(scanned)} only images, no text (OCR needed)")
    return text, count, filetype, warnings


_TEXT_FLAGS = (
    1 | 2 | 64
)  # PRESERVE_LIGATURES | PRESERVE_WHITESPACE | MEDIABOX_CLIP: get_text()'s own


def _page_list(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:10])
    more = f" and {len(numbers) - 10} more" if len(numbers) > 10 else ""
    if len(numbers) == 1:
        return f"page {shown} has"
    return f"pages {shown}{more} have"


# Reading order. MuPDF gives blocks in content-stream order, which for HTML-to-PDF
# and design-tool CVs is often nonsense (the name last). A recursive XY cut puts them
# back: split into rows at full-width horizontal gaps; a run of rows sharing a
# vertical gutter is read column by column when the two sides are independent (their
# gaps do not line up: a sidebar beside a main column), and row by row when they line
# up (a date column beside each entry, a label beside each value). It costs about
# 0.1 ms a page. pymupdf4llm (with pymupdf_layout) was measured as the alternative:
# about 0.6 s for a one-page CV, ten times plain get_text(), and it still interleaved
# the two columns of a sidebar CV; ``get_text(sort=True)`` interleaves them line by line.

_ROW_TOLERANCE = 1.0
_MIN_GUTTER = 6.0
_MAX_LAYOUT_BLOCKS = 2000
_ALIGN_TOLERANCE = 1.5


def _reading_order(blocks: list[_Block]) -> list[str]:
    if len(blocks) > _MAX_LAYOUT_BLOCKS:
        return [b.text.strip("\n") for b in sorted(blocks, key=lambda b: (b.y0, b.x0))]
    return [b.text.strip("\n") for b in _xy_cut(blocks, 0)]


def _xy_cut(blocks: list[_Block], depth: int) -> list[_Block]:
    if len(blocks) <= 1 or depth > 60:
        return sorted(blocks, key=lambda b: (b.y0, b.x0))
    rows = _split_rows(blocks)
    if len(rows) == 1:
        gutter = _widest_gutter(blocks)
        if gutter is None:
            return sorted(blocks, key=lambda b: (b.y0, b.x0))
        left, right = _split_columns(blocks, gutter)
        return _xy_cut(left, depth + 1) + _xy_cut(right, depth + 1)
    out: list[_Block] = []
    i = 0
    while i < len(rows):
        end, gutter = _run_with_gutter(rows, i)
        if gutter is not None and end - i >= 2:
            region = [b for row in rows[i:end] for b in row]
            left, right = _split_columns(region, gutter)
            if _independent_columns(left, right):
                out += _xy_cut(left, depth + 1) + _xy_cut(right, depth + 1)
                i = end
                continue
        out += _xy_cut(rows[i], depth + 1)
        i += 1
    return out


def _split_rows(blocks: list[_Block]) -> list[list[_Block]]:
    rows: list[list[_Block]] = []
    bottom = float("-inf")
    for block in sorted(blocks, key=lambda b: (b.y0, b.x0)):
        if not rows or block.y0 > bottom - _ROW_TOLERANCE:
            rows.append([block])
            bottom = block.y1
        else:
            rows[-1].append(block)
            bottom = max(bottom, block.y1)
    return rows


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for lo, hi in sorted(intervals):
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


def _holes(intervals: list[tuple[float, float]], min_size: float) -> list[tuple[float, float]]:
    """Gaps between the merged intervals, at least ``min_size`` wide."""
    merged = _merge(intervals)
    return [(a[1], b[0]) for a, b in itertools.pairwise(merged) if b[0] - a[1] >= min_size]


def _widest_gutter(blocks: list[_Block]) -> tuple[float, float] | None:
    holes = _holes([(b.x0, b.x1) for b in blocks], _MIN_GUTTER)
    return max(holes, key=lambda h: h[1] - h[0]) if holes else None


def _run_with_gutter(
    rows: list[list[_Block]], start: int
) -> tuple[int, tuple[float, float] | None]:
    """The longest run of rows from ``start`` that shares a vertical gutter, and that gutter."""
    covered: list[tuple[float, float]] = []  # merged, so it stays a handful of spans
    best: tuple[float, float] | None = None
    end = start
    for j in range(start, len(rows)):
        covered = _merge(covered + [(b.x0, b.x1) for b in rows[j]])
        holes = [(a[1], b[0]) for a, b in itertools.pairwise(covered) if b[0] - a[1] >= _MIN_GUTTER]
        if not holes:
            break
        best = max(holes, key=lambda h: h[1] - h[0])
        end = j + 1
    return end, best


def _split_columns(
    blocks: list[_Block], gutter: tuple[float, float]
) -> tuple[list[_Block], list[_Block]]:
    middle = (gutter[0] + gutter[1]) / 2
    left = [b for b in blocks if b.x1 <= middle]
    right = [b for b in blocks if b.x1 > middle]
    return left, right


def _independent_columns(left: list[_Block], right: list[_Block]) -> bool:
    """Whether two sides are separate columns rather than the cells of table rows.

    Look at the blank bands that run across both sides within the height they share.
    In table-like rows (a date beside each entry) the next blocks on both sides start
    together below such a band; beside a sidebar, the bands fall where one side just
    happens to have space, and what follows on the two sides does not line up.
    """
    if len(left) < 2 or len(right) < 2:
        return False
    lo = max(min(b.y0 for b in left), min(b.y0 for b in right))
    hi = min(max(b.y1 for b in left), max(b.y1 for b in right))
    if hi <= lo:
        return False
    spans = [(max(b.y0, lo), min(b.y1, hi)) for b in left + right if b.y1 > lo and b.y0 < hi]
    bands = _holes(spans, 0.01)
    if not bands:
        return False
    aligned = 0
    for _, band_end in bands:
        top_left = min((b.y0 for b in left if b.y0 >= band_end - 0.5), default=None)
        top_right = min((b.y0 for b in right if b.y0 >= band_end - 0.5), default=None)
        if top_left is not None and top_right is not None:
            aligned += abs(top_left - top_right) <= _ALIGN_TOLERANCE
    return aligned < 0.5 * len(bands)


# --- DOCX (python-docx) -----------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_SKIP_PARTS = frozenset(
    {"Fallback", "del", "moveFrom", "instrText", "delText", "rPr", "pPr", "sectPr",
     "tblPr", "tblGrid", "trPr", "tcPr", "proofErr", "bookmarkStart", "bookmarkEnd"}
)  # fmt: skip
_HEADER_RELS = ("/header", "/footer")


def _read_docx(data: bytes, name: str) -> tuple[str, int, str, list[str]]:
    """Paragraphs and tables in order, with headers, footers and text boxes.

    python-docx opens the package and resolves the parts; the text itself is walked
    straight off the XML, because its paragraph API misses text boxes
    (``w:txbxContent``), content controls and the runs inside hyperlinks.
    """
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except ValueError as exc:
        if "is not a Word file" not in str(exc):
            raise
        # python-docx refuses macro-enabled documents and templates (.docm, .dotx) by
        # their content type; their XML is the same, so read the parts straight.
        headers, body, footers, has_images = _docx_parts_from_zip(data)
    else:
        parts: dict[str, Any] = {}
        for rel in document.part.rels.values():
            if not rel.is_external and rel.reltype.endswith(_HEADER_RELS):
                parts[str(rel.target_part.partname)] = rel.target_part.element
        headers = [e for n, e in sorted(parts.items()) if "header" in n]
        footers = [e for n, e in sorted(parts.items()) if "header" not in n]
        body = document.element.body
        has_images = any("/media/" in str(p.partname) for p in document.part.package.iter_parts())
    lines: list[str] = []
    seen: set[str] = set()
    for element in headers:
        _add_part_text(element, lines, seen)
    _walk_blocks(body, lines)
    for element in footers:
        _add_part_text(element, lines, seen)
    text = "\n".join(lines)
    if not text.strip():
        if has_images:
            raise NoTextLayerError(f"{name} holds only images, no text; it needs OCR first")
        raise EmptyFileError(f"{name} contains no text")
    return text, 1, "docx", []


def _docx_parts_from_zip(data: bytes) -> tuple[list[Any], Any, list[Any], bool]:
    """(headers, body, footers, has images) read from the ZIP with python-docx's parser."""
    from docx.oxml import parse_xml

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        document = parse_xml(archive.read("word/document.xml"))
        headers = [parse_xml(archive.read(n)) for n in names if _HEADER_PART.fullmatch(n)]
        footers = [parse_xml(archive.read(n)) for n in names if _FOOTER_PART.fullmatch(n)]
    body = document.find(f"{_W}body")
    return (
        headers,
        body if body is not None else document,
        footers,
        any(n.startswith("word/media/") for n in names),
    )


_HEADER_PART = re.compile(r"word/header\d*\.xml")
_FOOTER_PART = re.compile(r"word/footer\d*\.xml")


def _add_part_text(element: Any, lines: list[str], seen: set[str]) -> None:
    """Header and footer text, once: sections often repeat the same header."""
    part_lines: list[str] = []
    _walk_blocks(element, part_lines)
    text = "\n".join(line for line in part_lines if line.strip())
    if text and text not in seen:
        seen.add(text)
        lines.extend(part_lines)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _walk_blocks(element: Any, lines: list[str]) -> None:
    for child in element:
        name = _local(child.tag)
        if name == "p":
            _paragraph(child, lines)
        elif name == "tbl":
            _table(child, lines)
        elif name == "AlternateContent":
            _walk_choice(child, lines)
        elif name not in _SKIP_PARTS:
            _walk_blocks(child, lines)


def _walk_choice(element: Any, lines: list[str]) -> None:
    """Word writes text boxes twice (DrawingML choice + VML fallback): read one."""
    for child in element:
        if _local(child.tag) == "Choice":
            _walk_blocks(child, lines)
            return


def _paragraph(p: Any, lines: list[str]) -> None:
    parts: list[str] = []
    boxes: list[Any] = []
    _inline(p, parts, boxes)
    text = "".join(parts)
    if text.strip():
        style = p.find(f"{_W}pPr/{_W}pStyle")
        style_name = style.get(f"{_W}val", "") if style is not None else ""
        if p.find(f"{_W}pPr/{_W}numPr") is not None or style_name.startswith("List"):
            text = "- " + text.lstrip()
        lines.extend(text.split("\n"))
    for box in boxes:
        _walk_blocks(box, lines)


def _inline(element: Any, parts: list[str], boxes: list[Any]) -> None:
    for child in element:
        name = _local(child.tag)
        if name == "t":
            parts.append(child.text or "")
        elif name == "tab":
            parts.append("\t")
        elif name in ("br", "cr"):
            parts.append("\n")
        elif name == "noBreakHyphen":
            parts.append("-")
        elif name == "txbxContent":
            boxes.append(child)
        elif name == "AlternateContent":
            for option in child:
                if _local(option.tag) == "Choice":
                    _inline(option, parts, boxes)
                    break
        elif name not in _SKIP_PARTS:
            _inline(child, parts, boxes)


def _table(tbl: Any, lines: list[str]) -> None:
    """One line per row (``cell | cell``) when every cell is one line, else cell by cell."""
    for row in _children(tbl, "tr"):
        cells: list[list[str]] = []
        for cell in _children(row, "tc"):
            cell_lines: list[str] = []
            _walk_blocks(cell, cell_lines)
            cells.append([line for line in cell_lines if line.strip()])
        filled = [c for c in cells if c]
        if filled and all(len(c) == 1 for c in filled):
            lines.append(" | ".join(c[0].strip() for c in filled))
        else:
            for c in filled:
                lines.extend(c)


def _children(element: Any, wanted: str) -> Iterator[Any]:
    """Direct children named ``wanted``, looking through content controls and the like."""
    for child in element:
        name = _local(child.tag)
        if name == wanted:
            yield child
        elif name not in _SKIP_PARTS and name not in ("tbl", "tr", "tc", "p"):
            yield from _children(child, wanted)
