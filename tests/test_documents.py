"""The document reader on real files built in each test: every format, every error."""

from __future__ import annotations

import collections
import hashlib
import http.server
import os
import re
import shutil
import tempfile
import threading
import time
import warnings
import zipfile
from pathlib import Path

import pymupdf
import pytest

from cvjd_desktop import documents
from cvjd_desktop.documents import (
    SUPPORTED_EXTENSIONS,
    Document,
    clean_text,
    document_from_text,
    guess_kind,
    iter_supported_files,
    read_document,
    truncate_for_context,
)
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
from tests.doc_factory import (
    make_docx,
    make_epub,
    make_image_pdf,
    make_many_page_pdf,
    make_pdf,
    make_positioned_pdf,
    make_xps,
    make_zip,
    write_text,
)

CV_LINES = [
    "Jane Roe",
    "jane.roe@example.com | +44 20 7946 0000",
    "Experience",
    "Senior engineer at Acme, 2019 - 2023",
    "Education",
    "MSc Computer Science",
]


def _raises(exc_type: type[DocumentError], path: Path, **kwargs: int) -> str:
    """Read ``path`` expecting ``exc_type``; return the message after the shared checks."""
    with pytest.raises(exc_type) as info:
        read_document(path, **kwargs)
    message = info.value.message
    assert type(info.value) is exc_type
    assert path.name in message
    assert "\n" not in message
    return message


# --- PDF --------------------------------------------------------------------------------


def test_pdf_reads_text_pages_hash_and_kind(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "cv.pdf", [CV_LINES, ["Skills: Python, Go"]])
    doc = read_document(path)
    assert isinstance(doc, Document)
    assert doc.path == path
    assert doc.name == "cv.pdf"
    assert doc.pages == 2
    assert doc.source_format == "pdf"
    assert doc.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert doc.kind_guess == "cv"
    assert doc.warnings == ()
    assert doc.text.index("Jane Roe") < doc.text.index("Skills: Python, Go")
    assert doc.raw_chars >= len(doc.text) > 0


def test_two_column_pdf_reads_header_then_left_column_then_right(tmp_path: Path) -> None:
    left = ["SKILLS", "Python", "Kubernetes", "", "LANGUAGES", "English", "Spanish"]
    right = ["EXPERIENCE", "Acme Corp, staff engineer", "Built the billing platform", ""]
    right += ["EDUCATION", "University of Leeds, BSc"]
    path = make_pdf(
        tmp_path / "two.pdf", (left, right), two_column=True, header=["Jane Roe", "Data engineer"]
    )
    # The stream order is wrong on purpose: prove it, so this test can fail.
    with pymupdf.open(path) as raw:
        stream_text = raw[0].get_text()
    assert stream_text.index("EXPERIENCE") < stream_text.index("SKILLS")
    assert stream_text.index("Jane Roe") > stream_text.index("SKILLS")

    lines = read_document(path).text.split("\n")
    order = [lines.index(line) for line in ["Jane Roe", "Data engineer", *left, *right] if line]
    assert order == sorted(order)


def test_date_column_beside_entries_reads_row_by_row(tmp_path: Path) -> None:
    # A date in a left margin beside each entry (moderncv style) belongs to its row,
    # not to a "date column" read after all the entries. The entries are written to
    # the stream bottom-up, so stream order alone would be wrong.
    heading = [(120, 100, "Experience")]
    first = [(40, 130, "2019 - 2023"), (120, 130, "Staff engineer, Acme")]
    first += [(120, 144, "Led the payments team")]
    second = [(40, 180, "2015 - 2019"), (120, 180, "Engineer, Globex")]
    second += [(120, 194, "Built the search service")]
    path = make_positioned_pdf(tmp_path / "rows.pdf", second + first + heading)
    with pymupdf.open(path) as raw:
        assert raw[0].get_text().startswith("2015 - 2019")
    lines = read_document(path).text.split("\n")
    assert lines == [text for _, _, text in heading + first + second]


def test_encrypted_pdf_is_password_protected(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "cv.pdf", CV_LINES, encrypted=True)
    message = _raises(PasswordProtectedError, path)
    assert message == "cv.pdf is password-protected; remove the password and try again"


def test_image_only_pdf_needs_ocr(tmp_path: Path) -> None:
    path = make_image_pdf(tmp_path / "scan.pdf", pages=2)
    message = _raises(NoTextLayerError, path)
    assert "OCR" in message


def test_pdf_with_some_scanned_pages_warns(tmp_path: Path) -> None:
    text_pdf = make_pdf(tmp_path / "a.pdf", CV_LINES)
    image_pdf = make_image_pdf(tmp_path / "b.pdf")
    with pymupdf.open(text_pdf) as merged, pymupdf.open(image_pdf) as scan:
        merged.insert_pdf(scan)
        merged.save(tmp_path / "mixed.pdf")
    doc = read_document(tmp_path / "mixed.pdf")
    assert doc.pages == 2
    assert "Jane Roe" in doc.text
    assert len(doc.warnings) == 1
    assert "page 2" in doc.warnings[0]
    assert "OCR" in doc.warnings[0]


def test_truncated_pdf_is_corrupt(tmp_path: Path) -> None:
    data = make_pdf(tmp_path / "full.pdf", [CV_LINES, CV_LINES]).read_bytes()
    for size in (9, 60, len(data) // 5):
        path = tmp_path / "cut.pdf"
        path.write_bytes(data[:size])
        message = _raises(CorruptFileError, path)
        assert "damaged" in message


def test_pdf_cut_near_the_end_is_repaired_with_a_warning(tmp_path: Path) -> None:
    data = make_pdf(tmp_path / "full.pdf", CV_LINES).read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: len(data) - 40])
    doc = read_document(path)
    assert "Jane Roe" in doc.text
    assert any("repaired" in w for w in doc.warnings)


def test_random_bytes_named_pdf_are_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(bytes(range(256)) * 8)
    message = _raises(CorruptFileError, path)
    assert message.startswith("cv.pdf is not a PDF file")


def test_windows_program_renamed_pdf_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 50 + b"This program cannot")
    message = _raises(UnsupportedTypeError, path)
    assert message == "invoice.pdf is a program, not a document"


def test_docx_named_pdf_is_read_as_docx(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "cv.pdf", CV_LINES)
    doc = read_document(path)
    assert doc.source_format == "docx"
    assert doc.text.split("\n") == CV_LINES
    assert doc.warnings == ("cv.pdf is really a Word (.docx) file; it was read as one",)


def test_pdf_named_docx_is_read_as_pdf(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "cv.docx", CV_LINES)
    doc = read_document(path)
    assert doc.source_format == "pdf"
    assert "Jane Roe" in doc.text
    assert "really a PDF" in doc.warnings[0]


def test_plain_text_named_pdf_is_read_as_text(tmp_path: Path) -> None:
    path = write_text(tmp_path / "cv.pdf", "\n".join(CV_LINES))
    doc = read_document(path)
    assert doc.source_format == "text"
    assert doc.text.split("\n") == CV_LINES
    assert "plain text" in doc.warnings[0]


def test_page_limit(tmp_path: Path) -> None:
    path = make_many_page_pdf(tmp_path / "long.pdf", pages=5, lines_per_page=2)
    message = _raises(FileTooLargeError, path, max_pages=4)
    assert message == "long.pdf has 5 pages; the limit is 4"
    assert read_document(path, max_pages=5).pages == 5


def test_byte_limit(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "cv.pdf", CV_LINES)
    size = path.stat().st_size
    message = _raises(FileTooLargeError, path, max_bytes=size - 1)
    assert "limit" in message
    assert read_document(path, max_bytes=size).pages == 1


def test_500_page_pdf_reads_in_reasonable_time(tmp_path: Path) -> None:
    path = make_many_page_pdf(tmp_path / "book.pdf", pages=500, lines_per_page=4)
    start = time.perf_counter()
    doc = read_document(path)
    elapsed = time.perf_counter() - start
    assert doc.pages == 500
    assert "Page 500 line 4" in doc.text
    assert doc.text.index("Page 9 line 1") < doc.text.index("Page 10 line 1")
    assert elapsed < 15


def test_epub_is_read_through_pymupdf(tmp_path: Path) -> None:
    path = make_epub(tmp_path / "cv.epub", ["Jane Roe, data engineer", "Experience at Acme"])
    doc = read_document(path)
    assert doc.source_format == "epub"
    assert doc.text.index("Jane Roe") < doc.text.index("Experience at Acme")


def test_xps_is_read_through_pymupdf(tmp_path: Path) -> None:
    path = make_xps(tmp_path / "cv.xps", [["Jane Roe", "Experience at Acme"], ["Skills: Go"]])
    doc = read_document(path)
    assert doc.source_format == "xps"
    assert doc.pages == 2
    assert doc.text.split("\n") == ["Jane Roe", "Experience at Acme", "", "Skills: Go"]


def test_concurrent_reads_from_threads_agree(tmp_path: Path) -> None:
    # PyMuPDF is not thread-safe; the reader serialises it. The window reads from a pool.
    paths = [make_pdf(tmp_path / f"cv{i}.pdf", [*CV_LINES, f"marker {i}"]) for i in range(6)]
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for _ in range(5):
                results[i] = read_document(paths[i]).text
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert all(results[i].endswith(f"marker {i}") for i in range(6))


# --- DOCX ---------------------------------------------------------------------------


def test_docx_order_header_body_textbox_table_footer(tmp_path: Path) -> None:
    path = make_docx(
        tmp_path / "cv.docx",
        ["Summary: data engineer", "Experience at Acme"],
        header=["Jane Roe"],
        header_textbox=["jane@example.com", "Skills: Python, SQL"],
        bullets=["Built the billing platform"],
        textbox=["Certified Kubernetes admin"],
        table=[["Language", "Level"], ["Spanish", "Fluent"]],
        after_table=["References on request"],
        footer=["Page footer text"],
    )
    doc = read_document(path)
    assert doc.source_format == "docx"
    assert doc.pages == 1
    assert doc.text.split("\n") == [
        "Jane Roe",
        "jane@example.com",
        "Skills: Python, SQL",
        "Summary: data engineer",
        "Experience at Acme",
        "- Built the billing platform",
        "Certified Kubernetes admin",
        "Language | Level",
        "Spanish | Fluent",
        "References on request",
        "Page footer text",
    ]


def test_docx_text_box_is_read_once_not_from_its_vml_fallback(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "cv.docx", ["Body"], textbox=["Only once please"])
    with zipfile.ZipFile(path) as archive:
        assert archive.read("word/document.xml").count(b"Only once please") == 2
    assert read_document(path).text.count("Only once please") == 1


def test_docx_table_cells_with_several_lines_are_kept_in_order(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "cv.docx", table=[["2019 - 2023", "Acme\nStaff engineer"]])
    assert read_document(path).text.split("\n") == ["2019 - 2023", "Acme", "Staff engineer"]


def test_macro_enabled_word_file_is_read_too(tmp_path: Path) -> None:
    # python-docx refuses the .docm content type; the reader falls back to the XML.
    source = make_docx(tmp_path / "cv.docx", ["Body text"], header=["Jane Roe"], footer=["End"])
    target = tmp_path / "cv.docm"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as out:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                content = content.replace(
                    b"wordprocessingml.document.main+xml",
                    b"ms-word.document.macroEnabled.main+xml",
                )
                assert b"macroEnabled" in content
            out.writestr(info, content)
    doc = read_document(target)
    assert doc.text.split("\n") == ["Jane Roe", "Body text", "End"]
    assert doc.source_format == "docx"
    assert doc.warnings == ()


def test_docx_not_a_zip_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "cv.docx"
    path.write_bytes(b"this is not a zip file at all, just some words " * 3 + b"\x00\x01")
    message = _raises(CorruptFileError, path)
    assert "not a Word (.docx) file" in message


def test_docx_zip_with_garbage_inside_is_corrupt(tmp_path: Path) -> None:
    path = make_zip(
        tmp_path / "cv.docx",
        {"[Content_Types].xml": b"\x00garbage<<<", "word/document.xml": b"<w:document><unclosed"},
    )
    message = _raises(CorruptFileError, path)
    assert "damaged" in message


def test_docx_zip_without_a_document_is_corrupt(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "cv.docx", {"hello.txt": "hi"})
    assert _raises(CorruptFileError, path) == "cv.docx is damaged: it has no Word document inside"


def test_truncated_docx_is_corrupt(tmp_path: Path) -> None:
    data = make_docx(tmp_path / "full.docx", CV_LINES).read_bytes()
    path = tmp_path / "cut.docx"
    path.write_bytes(data[: len(data) // 2])
    assert "damaged" in _raises(CorruptFileError, path)


def test_docx_without_text_is_empty(tmp_path: Path) -> None:
    path = make_docx(tmp_path / "blank.docx", ["", "   "])
    assert _raises(EmptyFileError, path) == "blank.docx contains no text"


def test_old_word_and_encrypted_office_files(tmp_path: Path) -> None:
    ole_header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    old = tmp_path / "cv.doc"
    old.write_bytes(ole_header + b"WordDocument".ljust(64, b"\x00"))
    assert "old Office 97-2003 file" in _raises(UnsupportedTypeError, old)
    locked = tmp_path / "cv.docx"
    locked.write_bytes(ole_header + "EncryptedPackage".encode("utf-16-le"))
    assert "password-protected" in _raises(PasswordProtectedError, locked)


# --- text and HTML --------------------------------------------------------------------

LATIN = "Jürgen Müller, Zürich — café, naïve, façade; Erfahrung: 5 Jahre"


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", False),
        ("utf-8", True),
        ("utf-16-le", True),
        ("utf-16-be", True),
        ("utf-16-le", False),
        ("cp1252", False),
    ],
)
def test_text_encodings(tmp_path: Path, encoding: str, bom: bool) -> None:
    path = write_text(tmp_path / "cv.txt", LATIN + "\n", encoding, bom=bom)
    doc = read_document(path)
    assert doc.text == LATIN
    assert doc.source_format == "text"
    assert doc.pages == 1


def test_latin1_bytes_read_correctly(tmp_path: Path) -> None:
    text = "Señor Núñez, Ingeniero — año 2020, Málaga"
    path = write_text(tmp_path / "cv.txt", text.replace("—", "-"), "latin-1")
    assert read_document(path).text == text.replace("—", "-")


def test_utf8_with_a_stray_byte_stays_utf8(tmp_path: Path) -> None:
    text = "Jürgen Müller — Zürich, café, naïve, façade, Ærø, Øresund"
    path = tmp_path / "cv.txt"
    path.write_bytes(text.encode() + b" \xff end")
    assert read_document(path).text == text + " end"


def test_markdown_is_read_as_text(tmp_path: Path) -> None:
    path = write_text(tmp_path / "jd.md", "# Backend engineer\n\n* Go\n* Postgres\n")
    assert read_document(path).text == "# Backend engineer\n\n- Go\n- Postgres"


def test_50_mb_text_file_is_read_up_to_the_text_cap(tmp_path: Path) -> None:
    line = "Senior engineer at Acme, developed   scalable services — Zürich\n"
    path = tmp_path / "huge.txt"
    count = 50_000_000 // len(line.encode())
    path.write_text(line * count, encoding="utf-8")
    assert path.stat().st_size <= 50 * 1024 * 1024
    start = time.perf_counter()
    doc = read_document(path)
    assert time.perf_counter() - start < 20
    assert doc.raw_chars <= documents.MAX_TEXT_CHARS
    assert doc.text.startswith("Senior engineer at Acme, developed scalable services — Zürich\n")
    assert doc.text.endswith("Zürich")
    assert doc.warnings == (
        f"huge.txt: only the first {doc.raw_chars:,} characters were read "
        "(more than any model's context holds)",
    )


def test_text_cap_cuts_at_a_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(documents, "MAX_TEXT_CHARS", 100)
    path = write_text(tmp_path / "cv.txt", "".join(f"line {i:03}\n" for i in range(50)))
    doc = read_document(path)
    assert doc.text.split("\n") == [f"line {i:03}" for i in range(11)]
    assert len(doc.warnings) == 1


def test_binary_data_named_txt_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "cv.txt"
    path.write_bytes(b"\x00\x01\x02\x03binary\x00\x00" * 50)
    assert "binary data" in _raises(CorruptFileError, path)


def test_html_keeps_visible_text_as_lines_and_drops_code(tmp_path: Path) -> None:
    page = """<!DOCTYPE html><html><head><title>Job: Backend engineer</title>
    <style>body { color: red }</style><script>var secret = "SCRIPT-TEXT";</script>
    <script type="application/ld+json">{"title": "LD-JSON-TEXT"}</script></head>
    <body><nav>Home</nav><h1>Backend   engineer</h1>
    <p>We are looking for an engineer.<br>Remote &amp; hybrid.</p>
    <noscript>NOSCRIPT-TEXT</noscript><template><p>TEMPLATE-TEXT</p></template>
    <div hidden>HIDDEN-TEXT</div>
    <ul><li>Go</li><li>Postgres</li></ul>
    <table><tr><td>Salary</td><td>60k</td></tr></table></body></html>"""
    path = write_text(tmp_path / "jd.html", page)
    doc = read_document(path)
    assert doc.source_format == "html"
    for hidden in ("SCRIPT", "LD-JSON", "NOSCRIPT", "TEMPLATE", "HIDDEN", "color: red"):
        assert hidden not in doc.text
    assert doc.text.split("\n") == [
        "Job: Backend engineer",
        "Home",
        "Backend engineer",
        "We are looking for an engineer.",
        "Remote & hybrid.",
        "- Go",
        "- Postgres",
        "Salary",
        "60k",
    ]
    assert doc.kind_guess == "jd"


def test_html_loads_nothing_remote(tmp_path: Path) -> None:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        page = (
            f'<html><head><link rel="stylesheet" href="{url}/a.css">'
            f'<script src="{url}/a.js"></script><meta http-equiv="refresh" content="0;{url}/r">'
            f'</head><body><img src="{url}/i.png"><iframe src="{url}/f"></iframe>'
            f'<object data="{url}/o"></object><p>Visible job text</p></body></html>'
        )
        doc = read_document(write_text(tmp_path / "jd.htm", page))
        assert doc.text == "Visible job text"
        # Prove the server works, so an empty hit list means nothing was fetched.
        import urllib.request

        with urllib.request.urlopen(f"{url}/probe", timeout=5):
            pass
    finally:
        server.shutdown()
        server.server_close()
    assert hits == ["/probe"]


def test_html_meta_charset_is_honoured(tmp_path: Path) -> None:
    page = '<html><head><meta charset="windows-1252"></head><body><p>Café “Zürich”</p></body>'
    path = tmp_path / "jd.html"
    path.write_bytes(page.encode("cp1252"))
    assert read_document(path).text == "Café “Zürich”"


def test_html_content_in_txt_file_is_parsed_as_html(tmp_path: Path) -> None:
    path = write_text(tmp_path / "jd.txt", "<!doctype html><p>Hello</p><script>x()</script>")
    assert read_document(path).text == "Hello"


# --- errors from the file system -----------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "cv.pdf"
    path.write_bytes(b"")
    assert _raises(EmptyFileError, path) == "cv.pdf is empty (0 bytes)"


def test_whitespace_only_file(tmp_path: Path) -> None:
    path = write_text(tmp_path / "cv.txt", " \n\t\r\n  \u00a0\n")
    assert "no text" in _raises(EmptyFileError, path)


def test_missing_file(tmp_path: Path) -> None:
    message = _raises(FileUnreadableError, tmp_path / "gone.pdf")
    assert message == "gone.pdf was not found (moved or deleted?)"


def test_path_through_a_file_is_unreadable(tmp_path: Path) -> None:
    blocker = write_text(tmp_path / "notes.txt", "x")
    message = _raises(FileUnreadableError, blocker / "cv.pdf")
    assert "was not found" in message


def test_folder_is_unreadable(tmp_path: Path) -> None:
    folder = tmp_path / "cvs.pdf"
    folder.mkdir()
    assert _raises(FileUnreadableError, folder) == "cvs.pdf is a folder, not a file"


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    outcome: list[BaseException] = []
    reader = threading.Thread(target=lambda: _capture(outcome, fifo), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert isinstance(outcome[0], FileUnreadableError)
    assert "not a regular file" in str(outcome[0])


def _capture(outcome: list[BaseException], path: Path) -> None:
    try:
        read_document(path)
    except BaseException as exc:
        outcome.append(exc)


def test_symlink_loop_is_unreadable(tmp_path: Path) -> None:
    loop = tmp_path / "cv.pdf"
    loop.symlink_to(tmp_path / "cv.pdf")
    assert "loops" in _raises(FileUnreadableError, loop)


def test_no_read_permission(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        locked = write_text(tmp_path / "secret.txt", "Jane Roe, engineer")
        locked.chmod(0)
        assert _raises(FileUnreadableError, locked) == (
            "secret.txt cannot be read: permission denied"
        )
        return
    # Root reads anything: drop to an unprivileged user in a forked child, where the
    # kernel really refuses the open. The folder is world-traversable (pytest's own
    # tmp folders are not), and a readable neighbour proves the mode is the reason.
    base = Path(tempfile.mkdtemp(prefix="cvjd-perm-"))
    try:
        base.chmod(0o755)
        write_text(base / "open.txt", "Jane Roe, engineer").chmod(0o644)
        write_text(base / "secret.txt", "Jane Roe, engineer").chmod(0)
        assert _as_nobody(base) == [
            "read",
            "FileUnreadableError|secret.txt cannot be read: permission denied",
        ]
    finally:
        shutil.rmtree(base)


def _as_nobody(base: Path) -> list[str]:
    """Read open.txt and secret.txt as uid 65534 in a forked child; what happened to each."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns about fork() in a process with threads; the child only
        # reads two files and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        results = []
        try:
            os.setgid(65534)
            os.setuid(65534)
            for name in ("open.txt", "secret.txt"):
                try:
                    read_document(base / name)
                    results.append("read")
                except BaseException as exc:
                    results.append(f"{type(exc).__name__}|{exc}")
        except OSError as exc:
            results = [f"could not drop privileges: {exc}"]
        finally:
            os.write(write_end, "\n".join(results).encode())
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        output = pipe.read().decode()
    os.waitpid(pid, 0)
    return output.split("\n")


def test_unsupported_types(tmp_path: Path) -> None:
    csv = write_text(tmp_path / "table.csv", "a,b\n1,2\n")
    assert "not supported" in _raises(UnsupportedTypeError, csv)
    rtf = write_text(tmp_path / "cv.rtf", r"{\rtf1\ansi Jane Roe}")
    assert "RTF" in _raises(UnsupportedTypeError, rtf)
    archive = make_zip(tmp_path / "bundle.zip", {"a.txt": "x"})
    assert "ZIP archive" in _raises(UnsupportedTypeError, archive)
    gz = tmp_path / "cv.txt"
    gz.write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 20)
    assert "compressed" in _raises(UnsupportedTypeError, gz)


def test_image_file_needs_ocr(tmp_path: Path) -> None:
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 8, 8), False)
    path = tmp_path / "scan.pdf"
    path.write_bytes(pix.tobytes("png"))
    assert _raises(NoTextLayerError, path) == (
        "scan.pdf is an image (PNG), not a text document; it needs OCR first"
    )


def test_name_with_spaces_accents_and_emoji(tmp_path: Path) -> None:
    path = make_pdf(tmp_path / "José Müller CV 🚀.pdf", CV_LINES)
    assert read_document(str(path)).name == "José Müller CV 🚀.pdf"


def test_supported_extensions_are_lowercase_with_dot() -> None:
    assert {".pdf", ".docx", ".txt", ".md", ".html", ".htm", ".epub", ".xps"} <= set(
        SUPPORTED_EXTENSIONS
    )
    assert all(e.startswith(".") and e == e.lower() for e in SUPPORTED_EXTENSIONS)


# --- pasted text ----------------------------------------------------------------------


def test_document_from_text() -> None:
    text = "Jane Roe\njane@example.com\n\nExperience:  led   the team"
    doc = document_from_text(text)
    assert doc.path is None
    assert doc.name == "Pasted text"
    assert doc.pages == 1
    assert doc.source_format == "text"
    assert doc.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert doc.text == "Jane Roe\njane@example.com\n\nExperience: led the team"
    assert doc.raw_chars == len(text)
    assert doc.kind_guess == "cv"
    with pytest.raises(EmptyFileError, match="Pasted text is empty"):
        document_from_text(" \n\u200b ")


# --- cleaning ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("ﬁnance and eﬀort", "finance and effort"),
        ("Ｆｕｌｌ－ｗｉｄｔｈ", "Full-width"),
        ("pro\u00adgram\u00adming", "programming"),
        ("soft\u00ad\nhyphen", "softhyphen"),
        ("\uf0e0 jane@example.com \U000f0001x", "jane@example.com x"),
        ("zero\u200bwidth\ufeff text\u2060", "zerowidth text"),
        ("develop-\nment of software", "development of software"),
        ("self-\nmotivated", "self-motivated"),
        ("full-stack work, a full-\nstack team", "full-stack work, a full-stack team"),
        ("Java-\nScript and 2019-\n2021", "Java-\nScript and 2019-\n2021"),
        ("• Python\n● Go\n▪ Rust\n◦ C\n‣ Zig\n· Lua", "- Python\n- Go\n- Rust\n- C\n- Zig\n- Lua"),
        ("* one\n- two\n-5% cost\n*args", "- one\n- two\n-5% cost\n*args"),
        ("•\nLed the team", "- Led the team"),
        ("\uf0b7 Word bullet", "- Word bullet"),
        ("a  \t b\u00a0\u2003c   \n\n\n\n  d  ", "a b c\n\nd"),
        ("line\r\nnext\rlast\u2028end", "line\nnext\nlast\nend"),
        ("Go • Python • Rust", "Go • Python • Rust"),
        (
            "Skills ............ 5\n==========\n____\n---\nwait...",
            "Skills ... 5\n===\n___\n---\nwait...",
        ),
        ("ctrl\x00\x07chars\x1b", "ctrlchars"),
        ("", ""),
    ],
)
def test_clean_text_rules(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_clean_text_keeps_every_word() -> None:
    raw = (
        "Senior  Engineer   at  Acme\u00a0Corp\n\n\n\n• Built   the  billing   platform  \n"
        "●  Reduced costs by 20%\t\t(2019–2021)\n \n Zürich, 日本語のテキスト, Москва  \n"
        "\uf0e0  jane@example.com  \n  Team   lead   "
    )
    words = collections.Counter(re.findall(r"\w+", raw))
    cleaned = clean_text(raw)
    assert collections.Counter(re.findall(r"\w+", cleaned)) == words
    assert len(cleaned) <= 0.9 * len(raw)


def test_clean_text_is_fast_on_large_input() -> None:
    # Many hyphenation breaks too: each one must not trigger a search of the whole text.
    block = "Developed   scalable  services\u00a0for   payments  •  ﬁnance develop-\nment\n\n\n"
    start = time.perf_counter()
    cleaned = clean_text(block * 50_000)
    assert time.perf_counter() - start < 10
    assert cleaned.count("finance development") == 50_000


# --- kind guess ---------------------------------------------------------------------------

CV_TEXTS = [
    "John Smith\njohn@example.com\n+1 415 555 0100\nExperience\nSoftware Engineer, Acme "
    "2018 - 2022\n- Developed APIs\n- Led a team of 4\nEducation\nBSc Computer Science\nSkills",
    "Curriculum Vitae\nMaría López\nExperiencia laboral\nIngeniera en BBVA 2019 - 2023\n"
    "Formación académica\nUniversidad de Lima",
    "Lebenslauf\nMax Mustermann\nBerufserfahrung\n2015 - 2020 Entwickler\nAusbildung\n"
    "Kenntnisse: Java",
    "Резюме\nИван Петров\nОпыт работы\n2018 - 2023 Разработчик\nОбразование\nМГУ\nНавыки",
    "个人简历\n张三\n教育背景\n北京大学\n工作经历\n2019 - 2023 软件工程师\n专业技能",
    "履歴書\n山田太郎\n学歴\n東京大学\n職歴\n2018 - 2022 エンジニア\n資格",
]
JD_TEXTS = [
    "Backend Engineer\nWe are looking for a backend engineer to join our team.\n"
    "Responsibilities\n- You will build APIs\nRequirements\n- 5+ years of Go\n"
    "Benefits\n- Competitive salary\nApply now!",
    "Desarrollador Full Stack\nBuscamos un desarrollador.\nResponsabilidades\n- Diseñar APIs\n"
    "Requisitos\n- 3 años de experiencia\nOfrecemos\n- Salario competitivo",
    "Softwareentwickler (m/w/d)\nWir suchen Verstärkung.\nIhre Aufgaben\n- Entwicklung\n"
    "Ihr Profil\n- Anforderungen: Java\nWir bieten\n- 30 Tage Urlaub",
    "Вакансия: Python-разработчик\nОбязанности\n- разработка\nТребования\n- опыт 3 года\n"
    "Мы предлагаем\n- зарплата от 200000",
    "职位描述\n后端工程师\n岗位职责\n- 开发服务\n任职要求\n- 三年经验\n福利\n- 薪资面议",
    "求人: エンジニア募集\n仕事内容\n- 開発\n応募資格\n- 必須: Python\n歓迎\n給与: 年収600万円",
]


@pytest.mark.parametrize("text", CV_TEXTS)
def test_guess_kind_cv(text: str) -> None:
    assert guess_kind(text) == "cv"


@pytest.mark.parametrize("text", JD_TEXTS)
def test_guess_kind_jd(text: str) -> None:
    assert guess_kind(text) == "jd"


def test_guess_kind_tie_uses_file_name_then_defaults_to_cv() -> None:
    neutral = "Python and Go"
    assert guess_kind(neutral) == "cv"
    assert guess_kind(neutral, name="backend_job_posting.txt") == "jd"
    assert guess_kind(neutral, name="jd-42.pdf") == "jd"
    assert guess_kind(neutral, name="resume.pdf") == "cv"


def test_read_document_guesses_jd_from_content_not_name(tmp_path: Path) -> None:
    path = write_text(tmp_path / "cv.txt", JD_TEXTS[0])
    assert read_document(path).kind_guess == "jd"


# --- file lists ---------------------------------------------------------------------------


def test_iter_supported_files_walks_folders_sorted_and_skips_junk(tmp_path: Path) -> None:
    root = tmp_path / "drop"
    (root / "b" / "deep").mkdir(parents=True)
    (root / "a").mkdir()
    (root / ".git").mkdir()
    for rel in ["z.PDF", "a/cv.docx", "b/deep/jd.md", "b/x.txt", "a/notes.csv", ".git/x.txt"]:
        (root / rel).write_text("x")
    (root / "a" / "~$cv.docx").write_text("lock")
    (root / ".hidden.txt").write_text("x")
    explicit = write_text(tmp_path / "table.csv", "a,b")
    found = iter_supported_files([explicit, root, root / "z.PDF"])
    assert found == [
        explicit,
        root / "z.PDF",
        root / "a" / "cv.docx",
        root / "b" / "x.txt",
        root / "b" / "deep" / "jd.md",
    ]


def test_iter_supported_files_survives_symlink_loops(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "cv.pdf").write_text("x")
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)
    (root / "self.pdf").symlink_to(root / "self.pdf")
    found = iter_supported_files([root])
    assert found == [root / "self.pdf", root / "sub" / "cv.pdf"]
    with pytest.raises(FileUnreadableError):
        read_document(found[0])


def test_iter_supported_files_returns_missing_explicit_paths(tmp_path: Path) -> None:
    assert iter_supported_files([tmp_path / "nope.pdf"]) == [tmp_path / "nope.pdf"]


def test_folder_of_1000_files_is_fast(tmp_path: Path) -> None:
    root = tmp_path / "many"
    for d in range(10):
        sub = root / f"d{d}"
        sub.mkdir(parents=True)
        for i in range(100):
            (sub / f"cv{i:03}.txt").write_text(f"Jane {d} {i}\nExperience")
    start = time.perf_counter()
    found = iter_supported_files([root])
    assert time.perf_counter() - start < 5
    assert len(found) == 1000
    assert found[0] == root / "d0" / "cv000.txt"
    start = time.perf_counter()
    docs = [read_document(p) for p in found]
    assert time.perf_counter() - start < 20
    assert docs[-1].text == "Jane 9 99\nExperience"


# --- context budget ------------------------------------------------------------------------


def test_truncate_leaves_fitting_text_alone() -> None:
    text = "short\ntext"
    assert truncate_for_context(text, 100) == (text, None)


def test_truncate_cuts_at_a_line_and_says_so() -> None:
    lines = [f"line {i:05} of the curriculum vitae" for i in range(5000)]
    text = "\n".join(lines)
    cut, warning = truncate_for_context(text, 2000)
    assert estimate_tokens(cut) <= 2000
    assert estimate_tokens(cut) > 1900
    assert text.startswith(cut)
    assert cut.split("\n")[-1] in lines
    assert warning == (
        f"text cut to fit the model's context: {len(cut):,} of {len(text):,} characters sent"
    )


def test_truncate_counts_non_ascii_like_the_estimate() -> None:
    text = "履歴書の内容です。\n" * 2000
    cut, warning = truncate_for_context(text, 500)
    assert warning is not None
    assert 450 < estimate_tokens(cut) <= 500


def test_truncate_with_no_budget() -> None:
    cut, warning = truncate_for_context("some text", 0)
    assert cut == ""
    assert warning == "text cut to fit the model's context: 0 of 9 characters sent"


def test_nothing_but_document_errors_escape_for_odd_paths(tmp_path: Path) -> None:
    for odd in ["", "bad\x00name.pdf", tmp_path / ("x" * 300 + ".pdf")]:
        with pytest.raises(DocumentError):
            read_document(odd)
