"""Issue 6's bad-file matrix through a drop on the window.

Each broken file must end as a failed row with its one-line message and 0 tokens,
no provider call may be made for it, the good files of the same drop must finish,
and the GUI thread must keep ticking throughout.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from cvjd_desktop.ui.main_window import MainWindow
from cvjd_desktop.usage import Ledger
from tests.doc_factory import make_docx, make_image_pdf, make_pdf, make_zip, write_text
from tests.fakes import FakeOllama, Fault
from tests.test_ui_window import CV_TEXT, drop, statuses

pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints|raise)\(\)"
)


class Heartbeat:
    """Records the gaps between ticks of a 10 ms timer on the GUI thread."""

    def __init__(self, parent: MainWindow) -> None:
        self.ticks: list[float] = []
        self.timer = QTimer(parent)
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.ticks.append(time.monotonic()))
        self.timer.start()

    def longest_gap(self) -> float:
        self.timer.stop()
        return max(b - a for a, b in itertools.pairwise(self.ticks))


def test_a_drop_of_broken_files_fails_each_row_and_the_good_ones_finish(
    qtbot, window: MainWindow, fake_ollama: FakeOllama, ledger: Ledger, tmp_path: Path
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    good_pdf = make_pdf(folder / "good cv.pdf", CV_TEXT.splitlines())
    make_docx(folder / "good.docx", CV_TEXT.splitlines())
    (folder / "zero.pdf").write_bytes(b"")
    (folder / "random.pdf").write_bytes(os.urandom(3000))
    (folder / "program.pdf").write_bytes(b"MZ\x90\x00" + bytes(800))
    make_pdf(folder / "locked.pdf", ["secret"], encrypted=True)
    make_image_pdf(folder / "scan.pdf")
    (folder / "broken.docx").write_bytes(os.urandom(700))
    make_zip(folder / "garbage.docx", {"word/document.xml": "<<<", "[Content_Types].xml": "?"})
    write_text(folder / "latin1 José.txt", CV_TEXT + "Señor Müller\n", encoding="latin-1")
    write_text(folder / "utf16 🚀.txt", CV_TEXT, encoding="utf-16-le", bom=True)
    loop = folder / "loop.txt"
    loop.symlink_to(loop)
    bad = {
        "zero.pdf": "empty",
        "random.pdf": "not a PDF",
        "program.pdf": "program",
        "locked.pdf": "password",
        "scan.pdf": "OCR",
        "broken.docx": "not a Word",
        "garbage.docx": "damaged",
        "loop.txt": "loops",
    }
    good = {"good cv.pdf", "good.docx", "latin1 José.txt", "utf16 🚀.txt"}
    beat = Heartbeat(window)

    drop(window.cv_zone, [folder])
    qtbot.waitUntil(lambda: window.jobs.rowCount() == len(bad) + len(good), timeout=5000)
    qtbot.waitUntil(lambda: all(s in {"done", "failed"} for s in statuses(window)), timeout=20000)

    assert beat.longest_gap() < 0.5
    by_name = {job.name: job for job in window.jobs.jobs()}
    assert {n for n, j in by_name.items() if j.status == "done"} == good
    for name, words in bad.items():
        job = by_name[name]
        assert job.status == "failed", name
        assert job.result is not None
        assert words.lower() in (job.result.error or "").lower(), job.result.error
        assert "\n" not in (job.result.error or "")
        assert job.result.token_usage.total_tokens == 0
    # Only the good files reached the model, and only they are in the ledger.
    assert len(fake_ollama.chat_requests) == len(good)
    assert ledger.count_rows() == len(good)
    assert good_pdf.exists()


def test_a_file_deleted_between_drop_and_read(
    qtbot, window: MainWindow, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    first = write_text(tmp_path / "first.txt", CV_TEXT)
    second = write_text(tmp_path / "second.txt", CV_TEXT)
    fake_ollama.enqueue(Fault.hang())  # Ollama runs one job at a time: the second waits
    drop(window.cv_zone, [first, second])
    qtbot.waitUntil(lambda: len(fake_ollama.chat_requests) == 1, timeout=5000)
    second.unlink()
    fake_ollama.release()
    qtbot.waitUntil(lambda: statuses(window) == ["done", "failed"], timeout=10000)
    error = window.jobs.job_at(1).result.error
    assert error == "second.txt was not found (moved or deleted?)"


def test_a_folder_of_a_thousand_files_keeps_the_window_responsive(
    qtbot, window: MainWindow, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    folder = tmp_path / "thousand"
    folder.mkdir()
    for i in range(1000):
        (folder / f"empty-{i:04}.txt").write_bytes(b"")
    beat = Heartbeat(window)
    drop(window.cv_zone, [folder])
    qtbot.waitUntil(lambda: window.jobs.rowCount() == 1000, timeout=10000)
    qtbot.waitUntil(lambda: statuses(window).count("failed") == 1000, timeout=30000)
    assert beat.longest_gap() < 0.5
    assert fake_ollama.chat_requests == []
    assert window.progress.value() == 1000
