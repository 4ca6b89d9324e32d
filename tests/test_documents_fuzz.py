"""Fuzzing the document reader: whatever the bytes, a Document or a DocumentError, promptly.

Random bytes under every name, and truncations, byte flips and garbled parts of real
PDFs, DOCX and EPUB files made by the fixture builders. A hang fails the test: each
read runs in a thread that must finish within ``_TIME_LIMIT`` seconds.
"""

from __future__ import annotations

import functools
import io
import tempfile
import threading
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cvjd_desktop.documents import Document, read_document
from cvjd_desktop.errors import DocumentError
from tests.doc_factory import make_docx, make_epub, make_pdf, make_xps

_TIME_LIMIT = 20.0
_SETTINGS = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
_NAMES = ["cv.pdf", "cv.docx", "cv.txt", "jd.md", "jd.html", "cv.epub", "cv.xps", "cv", "cv.PDF"]


@functools.cache
def _seed_files() -> dict[str, bytes]:
    """Real documents to damage, built once per test session."""
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        lines = ["Jane Roe", "jane@example.com", "Experience", "Engineer at Acme 2019 - 2023"]
        pdf = make_pdf(base / "a.pdf", [lines, ["Skills: Python"]])
        columns = make_pdf(
            base / "b.pdf", (["SKILLS", "Go"], ["EXPERIENCE", "Acme"]), two_column=True
        )
        docx_path = make_docx(
            base / "c.docx",
            lines,
            header=["Jane Roe"],
            textbox=["Box text"],
            table=[["a", "b"], ["c", "d"]],
        )
        epub = make_epub(base / "d.epub", ["Jane Roe", "Experience"])
        xps = make_xps(base / "e.xps", [lines])
        return {
            "cv.pdf": pdf.read_bytes(),
            "two.pdf": columns.read_bytes(),
            "cv.docx": docx_path.read_bytes(),
            "cv.epub": epub.read_bytes(),
            "cv.xps": xps.read_bytes(),
        }


def _read_within_limit(path: Path) -> Document | DocumentError:
    """Read in a thread; fail on a hang or on any exception that is not a DocumentError."""
    outcome: list[object] = []

    def work() -> None:
        try:
            outcome.append(read_document(path, max_bytes=1024 * 1024, max_pages=50))
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(_TIME_LIMIT)
    assert not thread.is_alive(), f"read_document hung on {path.name}"
    result = outcome[0]
    if isinstance(result, DocumentError):
        assert result.message
        assert "\n" not in result.message
        assert path.name in result.message
        return result
    assert isinstance(result, Document), f"{type(result).__name__}: {result}"
    assert result.text.strip()
    assert len(result.sha256) == 64
    return result


@_SETTINGS
@given(data=st.binary(max_size=4096), name=st.sampled_from(_NAMES))
def test_random_bytes(tmp_path: Path, data: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    _read_within_limit(path)


@_SETTINGS
@given(
    data=st.sampled_from(["%PDF-1.7\n", "PK\x03\x04", "MZ", "{\\rtf1", "\ufeff", "<html>"]).map(
        lambda s: s.encode("utf-8")
    ),
    tail=st.binary(max_size=2048),
    name=st.sampled_from(_NAMES),
)
def test_magic_prefix_then_noise(tmp_path: Path, data: bytes, tail: bytes, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(data + tail)
    _read_within_limit(path)


@_SETTINGS
@given(
    seed=st.sampled_from(["cv.pdf", "two.pdf", "cv.docx", "cv.epub", "cv.xps"]),
    cut=st.floats(min_value=0.0, max_value=1.0),
    flips=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=1.0), st.integers(0, 255)), max_size=12
    ),
    name=st.sampled_from(["cv.pdf", "cv.docx", "cv.epub", "cv.txt"]),
)
def test_damaged_real_documents(
    tmp_path: Path, seed: str, cut: float, flips: list[tuple[float, int]], name: str
) -> None:
    original = _seed_files()[seed]
    data = bytearray(original[: max(1, int(len(original) * cut))] if cut < 0.97 else original)
    for where, value in flips:
        data[min(int(where * len(data)), len(data) - 1)] = value
    path = tmp_path / name
    path.write_bytes(bytes(data))
    _read_within_limit(path)


@_SETTINGS
@given(
    seed=st.sampled_from(["cv.docx", "cv.epub", "cv.xps"]),
    member=st.integers(min_value=0, max_value=50),
    garbage=st.binary(max_size=512),
    keep=st.floats(min_value=0.0, max_value=1.0),
)
def test_zip_documents_with_a_garbled_part(
    tmp_path: Path, seed: str, member: int, garbage: bytes, keep: float
) -> None:
    """A structurally valid ZIP whose one part is cut short and followed by junk."""
    source = zipfile.ZipFile(io.BytesIO(_seed_files()[seed]))
    infos = source.infolist()
    target = infos[member % len(infos)].filename
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for info in infos:
            content = source.read(info.filename)
            if info.filename == target:
                content = content[: int(len(content) * keep)] + garbage
            out.writestr(info, content)
    path = tmp_path / seed
    path.write_bytes(buffer.getvalue())
    _read_within_limit(path)


def test_seed_files_read_cleanly(tmp_path: Path) -> None:
    """The undamaged seeds read, so the fuzzing above starts from working files."""
    for name, data in _seed_files().items():
        path = tmp_path / name
        path.write_bytes(data)
        result = _read_within_limit(path)
        assert isinstance(result, Document), result
