"""The window reads documents in a child process (``ui.reader_process``).

Why it exists: reading a long PDF in a worker thread made the GUI thread lose the
GIL for ~100 ms at a time. These tests check that the child really does the reading,
that its errors and crashes reach the row as one-line messages, and that cancel and
close stay prompt and leave no child behind.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cvjd_desktop import documents
from cvjd_desktop.errors import CorruptFileError, DocumentError, NoTextLayerError
from cvjd_desktop.ui.main_window import MainWindow
from cvjd_desktop.ui.reader_process import ProcessReader, ReadCancelledError
from tests import reader_targets
from tests.doc_factory import make_image_pdf, make_pdf
from tests.test_ui_window import CV_TEXT, drop, statuses, write

pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support (propagateSizeHints|raise)\(\)"
)

CV_PAGES = [["Ada Lovelace", "Analytical Engine programmer", "Python, mathematics"]] * 3


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def reader() -> Iterator[ProcessReader]:
    r = ProcessReader(reader_targets.slow_read, max_workers=1)
    yield r
    r.shutdown()


def test_the_window_reads_files_in_a_child_process(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    reader = window.runner.reader
    assert isinstance(reader, ProcessReader)
    assert not reader.started  # nothing is spawned until a file is read
    pdf = make_pdf(tmp_path / "ada.pdf", CV_PAGES)
    drop(window.cv_zone, [pdf])
    qtbot.waitUntil(lambda: statuses(window) == ["done"], timeout=20000)
    (job,) = window.jobs.jobs()
    assert job.result is not None and job.result.pages == 3
    assert reader.started
    pids = reader.child_pids()
    assert pids and os.getpid() not in pids
    # What the child returns is what an in-process read gives, field for field.
    assert reader.read(pdf) == documents.read_document(pdf)

    window.close()
    assert not any(alive(pid) for pid in pids)


def test_a_document_error_in_the_child_reaches_the_row_with_its_message(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    scan = make_image_pdf(tmp_path / "scan.pdf", pages=2)
    with pytest.raises(NoTextLayerError) as in_process:
        documents.read_document(scan)
    drop(window.cv_zone, [scan])
    qtbot.waitUntil(lambda: statuses(window) == ["failed"], timeout=20000)
    (job,) = window.jobs.jobs()
    assert job.result is not None
    assert job.result.error_kind == "no_text"
    assert job.result.error == in_process.value.message


def test_a_child_crash_fails_that_file_clearly_and_later_files_still_work(
    qtbot, window: MainWindow, tmp_path: Path
) -> None:
    window.runner.reader = ProcessReader(reader_targets.crash_on_crash_files, max_workers=1)
    bad = write(tmp_path, "crash me.txt", CV_TEXT)
    drop(window.cv_zone, [bad])
    qtbot.waitUntil(lambda: statuses(window) == ["failed"], timeout=20000)
    job = window.jobs.jobs()[0]
    assert job.result is not None and job.result.error_kind == "corrupt_file"
    assert job.result.error is not None
    assert job.result.error.startswith("crash me.txt could not be read: the reader crashed")
    assert "\n" not in job.result.error

    good = write(tmp_path, "ada.txt", CV_TEXT)
    drop(window.cv_zone, [good])
    qtbot.waitUntil(lambda: statuses(window) == ["failed", "done"], timeout=20000)


def test_cancel_during_a_slow_read_returns_promptly(reader: ProcessReader, tmp_path: Path) -> None:
    path = write(tmp_path, "slow.txt", CV_TEXT)
    cancel = threading.Event()
    raised: list[BaseException] = []
    returned = threading.Event()

    def read() -> None:
        try:
            reader.read(path, cancel=cancel)
        except DocumentError as exc:
            raised.append(exc)
        returned.set()

    thread = threading.Thread(target=read)
    thread.start()
    deadline = time.monotonic() + 20
    while not reader.child_pids() and time.monotonic() < deadline:
        returned.wait(0.05)  # the child is spawned by the submit, in that thread
    (pid,) = reader.child_pids()
    cancel.set()
    started = time.monotonic()
    assert returned.wait(2)
    assert time.monotonic() - started < 1.0  # polls every 50 ms; slack for a busy CI
    thread.join()
    assert isinstance(raised[0], ReadCancelledError)
    assert raised[0].kind == "cancelled"
    reader.shutdown()
    assert not alive(pid)


def test_document_errors_cross_the_process_boundary_intact(tmp_path: Path) -> None:
    reader = ProcessReader(max_workers=1)
    try:
        with pytest.raises(NoTextLayerError) as got:
            reader.read(make_image_pdf(tmp_path / "scan.pdf"))
        assert got.value.message == got.value.args[0]
        assert "scan.pdf" in got.value.message
        with pytest.raises(CorruptFileError):
            reader.read(write(tmp_path, "broken.pdf", "%PDF-1.7 not really"))
    finally:
        reader.shutdown()


def test_closing_the_window_during_a_slow_read_is_prompt_and_stops_the_child(
    qtbot, window: MainWindow, reader: ProcessReader, tmp_path: Path
) -> None:
    window.runner.reader = reader
    drop(window.cv_zone, [write(tmp_path, "slow.txt", CV_TEXT)])
    qtbot.waitUntil(lambda: bool(reader.child_pids()), timeout=20000)
    (pid,) = reader.child_pids()
    started = time.monotonic()
    assert window.close()
    assert time.monotonic() - started < 2.5  # as the close-during-work test
    assert window.shutdown_clean is True
    assert not alive(pid)
    qtbot.waitUntil(lambda: statuses(window) == ["cancelled"], timeout=2000)


def test_a_read_that_never_ends_is_killed_at_the_time_limit(tmp_path: Path) -> None:
    reader = ProcessReader(reader_targets.slow_read, max_workers=1, timeout_s=1.5)
    try:
        path = write(tmp_path, "stuck.pdf", CV_TEXT)
        started = time.monotonic()
        with pytest.raises(CorruptFileError, match=r"stuck\.pdf could not be read in 1\.5 s"):
            reader.read(path)
        assert time.monotonic() - started < 10
        assert reader.child_pids() == []  # the stuck child was killed
        assert not reader.started  # and the next read gets a fresh one
    finally:
        reader.shutdown()
