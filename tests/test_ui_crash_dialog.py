"""An unexpected exception shows a copyable report instead of a silent death."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from cvjd_desktop.ui.crash_dialog import CrashReporter


def test_exception_is_logged_and_shown_once(qtbot, caplog, tmp_path) -> None:
    reporter = CrashReporter(tmp_path / "app.log")
    reporter.install()
    shown: list[str] = []

    def close_box() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        shown.append(box.detailedText())
        box.accept()

    try:
        assert sys.excepthook == reporter.handle
        QTimer.singleShot(50, close_box)
        with caplog.at_level(logging.ERROR):
            try:
                raise ValueError("boom in a slot")
            except ValueError:
                reporter.handle(*sys.exc_info())  # type: ignore[arg-type]
    finally:
        reporter.uninstall()
    assert sys.excepthook != reporter.handle
    assert len(shown) == 1
    assert "ValueError: boom in a slot" in shown[0]
    assert "boom in a slot" in caplog.text
